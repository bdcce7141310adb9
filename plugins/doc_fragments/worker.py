# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r'''
options:
  docker_bin:
    description:
      - The docker client on the worker, a name on its C(PATH) or an absolute path.
    type: str
    default: docker
notes:
  - Runs on the worker through the task's connection (local, ssh, docker...) as plain commands
    built from argv lists; the worker needs a POSIX shell, coreutils and the docker CLI, and
    no Python (a Container-Optimized OS host qualifies). Use C(become) when the connection user
    cannot use docker.
  - Part of the C(gcli.offload.worker) action group, so C(module_defaults) can set these options once.
'''

    # The usual attributes of a worker plugin: full check mode, no diff, any POSIX worker.
    ATTRIBUTES = r'''
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
'''
