#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: worker_ready
short_description: Wait until a worker answers and a container runs on it
version_added: 0.1.0
description:
  - Waits until the task's connection to the worker works and C(docker container inspect) says the container
    O(container) is C(running) there, polling every O(interval) seconds until O(timeout) seconds have passed.
  - Unlike M(ansible.builtin.wait_for_connection), it needs no Python on the worker (a Container-Optimized OS
    host has none), each attempt is one plain command. A failed connection (the VM still booting, sshd not up
    yet, an IAP tunnel not ready) counts as a failed attempt and the task goes on waiting.
  - At the deadline the task fails with what the last attempt saw (no connection, no such container, or its
    status) and where to look next.
  - Changes nothing. In check mode it does not wait.
options:
  container:
    description: The container that must be running.
    type: str
    default: maintainer-worker
  timeout:
    description: Seconds to wait in total before failing. One attempt may take up to the connection's own timeout.
    type: int
    default: 600
  interval:
    description: Seconds between attempts.
    type: int
    default: 5
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - gcli.offload.worker
attributes:
  check_mode:
    support: full
    details: Does not wait in check mode (the worker may not exist yet).
  diff_mode:
    support: none
  platform:
    platforms: posix
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Wait until the worker answers over SSH and its maintainer container runs
  gcli.offload.worker_ready:
    container: maintainer-worker
    timeout: 600
  become: true
'''

RETURN = r'''
container:
  description: The container waited for.
  returned: always
  type: str
  sample: maintainer-worker
status:
  description: The container's status (C(running) on success).
  returned: success
  type: str
  sample: running
attempts:
  description: How many attempts it took.
  returned: success
  type: int
  sample: 3
elapsed:
  description: Seconds waited.
  returned: success
  type: float
  sample: 12.4
'''
