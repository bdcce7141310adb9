#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: job_log
short_description: An offload job's newest log, brought back from the worker
version_added: 0.1.0
description:
  - Copies the newest log of C(offload-<pr>-<action>) from C(<data_root>/logs/) on the worker to O(log_dest) and
    returns its last O(lines) lines, with the job's exit code when it has ended.
  - With O(follow), waits first for a running job to end (at most O(timeout) seconds). Ansible shows a task's
    output when the task ends, so this is not a live stream; for that, C(tail -f) the returned RV(worker_log) on the
    worker, or open a shell with C(attach.yml).
options:
  follow:
    description: For a running job, show its output as it comes (through the task's display, a line about a round
      trip after the job printed it), then return its end.
    type: bool
    default: false
  timeout:
    description: Seconds O(follow) waits at most.
    type: int
    default: 3600
  lines:
    description: How many of the last lines to return; 0 for all.
    type: int
    default: 200
  part:
    description: Return the log of one part of the newest run instead of the job's (C(build), C(checks),
      C(ai_review), C(ready), C(fix), C(implement), C(command)).
    type: str
  log_dest:
    description: Controller directory the log is copied to.
    type: path
    default: ~/.cache/gcli-offload/logs
extends_documentation_fragment:
  - gcli.offload.job
  - ansible.builtin.action_common_attributes
  - gcli.offload.worker
  - gcli.offload.worker.attributes
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: PR 123's review log, once the job has ended
  gcli.offload.job_log:
    pr: 123
    data_root: /mnt/disks/offload
    follow: true
'''

RETURN = r'''
job:
  description: The job's name.
  returned: always
  type: str
running:
  description: Whether the job still runs.
  returned: always
  type: bool
exit_code:
  description: The job's exit code, when it has ended (not C(rc), which would make the task fail).
  returned: always
  type: int
log:
  description: The log on the controller.
  returned: always
  type: str
worker_log:
  description: The log on the worker.
  returned: always
  type: str
log_lines:
  description: The log's last lines.
  returned: always
  type: list
  elements: str
truncated:
  description: Whether older lines were left out.
  returned: always
  type: bool
'''
