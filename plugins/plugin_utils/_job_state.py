# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read the jobs on a worker: containers (docker) and worktrees (git in the maintainer)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.module_utils._jobs import DEV
from ansible_collections.gcli.offload.plugins.module_utils._reconcile import jobs_on_worker


def read_jobs(action, maintainer, docker_bin):
    """-> (jobs, worker_now): one record per job, and the worker's clock."""
    containers = action.job_containers(docker_bin)
    rc, out, err = action.worker_run(['date', '+%s'], 'read the clock')
    now = int(out.strip())
    worktrees = []
    if action.container_state(maintainer, docker_bin) == 'running':
        rc, facts, err = action.git_script(maintainer, ['list', DEV, '-'], docker_bin, 'list worktrees')
        if rc != 0:
            raise AnsibleActionFail('cannot list the worktrees: %s' % (facts.get('error') or err.strip()))
        for line in facts['_lines']:
            if line.startswith('worktree='):
                name, head, since = (line[len('worktree='):].split() + ['', '0'])[:3]
                worktrees.append({'name': name, 'head': head, 'held_since': int(since or 0)})
    return jobs_on_worker(containers, worktrees, now), now
