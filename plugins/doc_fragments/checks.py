# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The input checks (job_spec, worker_vm_spec, pipeline_spec): they run on the
    # controller, touch no host and send no request.
    DOCUMENTATION = r'''
notes:
  - "Runs on the controller only (an action plugin): it connects to no host, runs no command and sends no
    request, so it is safe in any play and in check mode. A refusal fails the task with
    C(invalid <what> input <variable>: <why>), naming the variable at fault."
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
'''
