#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: job_info
short_description: The offload jobs on a worker
version_added: 0.1.0
description:
  - Lists the job containers (by their C(gcli.offload.managed) label) and the worktrees on a worker, merged job by
    job, with state, age, the image and its digests, and whether the worktree is held by a run.
  - Also says what reconciliation (M(gcli.offload.job_cleanup) with C(scope=reconcile)) would remove and what it
    would leave, and why.
options:
  grace:
    description: Seconds during which a run's hold on a worktree counts as live work.
    type: int
    default: 600
  data_root:
    description: The worker's data directory, where each job's newest run and its parts are read from its logs.
    type: str
    default: /mnt/disks/offload
extends_documentation_fragment:
  - gcli.offload.job.maintainer
  - ansible.builtin.action_common_attributes
  - gcli.offload.worker
  - gcli.offload.worker.attributes
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: What runs on the worker
  gcli.offload.job_info:
  register: offload_status
'''

RETURN = r'''
jobs:
  description: One record per job.
  returned: always
  type: list
  elements: dict
  contains:
    job:
      description: The job's name.
      type: str
      sample: offload-123-review
    pr:
      description: The pull request.
      type: str
    action:
      description: The action.
      type: str
    state:
      description: The container's state (C(running), C(exited)...), or C(none).
      type: str
    age:
      description: Seconds the container has been running.
      type: int
    image:
      description: The image reference the job runs.
      type: str
    image_digests:
      description: The image's repository digests (C(name@sha256:...)); empty for an image never pushed or pulled.
      type: list
      elements: str
    worktree:
      description: Whether the job has a worktree.
      type: bool
    held_since:
      description: When a run took hold of the worktree (epoch seconds), if it holds it.
      type: int
    run:
      description: The job's newest run (its stamp in C(run), C(state) running, ended or lost,
        C(rc), C(started), C(ended) and C(parts)), or null.
      type: dict
    parts:
      description: The newest run's parts in one line (C(build ok 42s, checks running 12s)),
        else C(-).
      type: str
    summary:
      description: The job in one line, as C(status.yml) shows it (its newest run's state, parts,
        image and worktree).
      type: str
      sample: 'offload-123-review: ended, exit 0; parts: build ok 42s, checks ok 3s'
lines:
  description: Every job's C(summary), or the single line C(no jobs).
  returned: always
  type: list
  elements: str
running:
  description: The names of the running jobs.
  returned: always
  type: list
  elements: str
leftovers:
  description: What reconciliation would remove (C(containers), C(worktrees)) and leave (C(kept), with reasons).
  returned: always
  type: dict
maintainer_running:
  description: Whether the maintainer container runs.
  returned: always
  type: bool
'''
