#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: job_cleanup
short_description: Remove offload jobs from a worker, or reconcile what is left over
version_added: 0.1.0
description:
  - O(scope=job) removes one pull request's jobs (all actions, or O(action)); O(scope=all) every job; each time its
    container and its worktree (C(git worktree remove) and C(prune)). A running job is never touched unless O(force).
  - O(scope=reconcile) removes what is left over in both directions, and never live work, never a running container
    - stopped job containers (with or without a worktree);
    - worktrees without a container whose run's hold is older than O(grace) (a run that died);
    - kept worktrees (no hold) only with O(include_kept).
  - Job logs stay on the worker.
options:
  scope:
    description: What to remove.
    type: str
    required: true
    choices: [job, all, reconcile]
  pr:
    description: The pull request, with O(scope=job).
    type: raw
  action:
    description: Only this action's job, with O(scope=job).
    type: raw
  force:
    description: Also stop and remove running jobs (O(scope=job) or O(scope=all)).
    type: bool
    default: false
  grace:
    description: Seconds during which a run's hold on a worktree counts as live work.
    type: int
    default: 600
  include_kept:
    description: With O(scope=reconcile), also remove kept worktrees.
    type: bool
    default: false
  remove_main:
    description:
      - With O(scope=all), also remove the main clone (kept when a job is still running).
      - The task fails, saying why, when the clone could not be removed.
    type: bool
    default: false
  remove_network:
    description:
      - With O(scope=all), also remove the job networks, the egress proxy container and the collection's firewall
        chains (C(GCLI-OFFLOAD-FWD), C(GCLI-OFFLOAD-IN)) and their jumps. Kept when a job is still running or
        attached; the next job makes them again before it starts.
    type: bool
    default: false
extends_documentation_fragment:
  - gcli.offload.job.maintainer
  - ansible.builtin.action_common_attributes
  - gcli.offload.worker
  - gcli.offload.worker.attributes
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Remove PR 123's jobs
  gcli.offload.job_cleanup:
    scope: job
    pr: 123

- name: Reconcile
  gcli.offload.job_cleanup:
    scope: reconcile
    grace: 600
'''

RETURN = r'''
removed_containers:
  description: Containers removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
removed_worktrees:
  description: Worktrees removed.
  returned: always
  type: list
  elements: str
removed_main:
  description: Whether the main clone was removed.
  returned: always
  type: bool
removed_network:
  description: Whether the job network, the egress proxy and the firewall chains were removed (O(remove_network)).
  returned: always
  type: bool
skipped:
  description: Jobs left alone, with why.
  returned: always
  type: list
  elements: dict
'''
