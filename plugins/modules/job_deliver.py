#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: job_deliver
short_description: Bring an offload job's commits back and push them where delivery_plan said
version_added: 0.2.0
description:
  - After a job whose worktree was kept, reads the job's new commits (from the commit the job started from,
    recorded in the main clone's own refs, to the worktree's C(HEAD)) with the maintainer container's pinned git;
    nothing of the worktree's config, hooks or C(.git) pointer is used, and a worktree whose git files were rewritten
    delivers nothing. A C(HEAD) that does not descend from the start delivers nothing either.
  - Writes them as a git bundle and a patch series, copied to O(log_dest) on the controller whatever happens next.
  - Then pushes that one ref, nothing else (no tags), to O(url)'s O(branch) (O(mode)); the token reaches git through a
    credential helper reading the worker's memory-backed token file (O(token_file)), never a URL, argv or a file on
    disk. Once pushed, the worktree is removed (unless O(keep_worktree)); commits that could not be pushed keep it,
    and the task fails saying where the commits are.
options:
  mode:
    description:
      - C(lease) pushes to O(branch) only while it is still at the commit the job started from
        (C(--force-with-lease)); C(new) pushes a new branch O(branch)C(-<the head's first 12 hex digits>);
        C(none) only brings the commits back.
    type: str
    choices: [lease, new, none]
    default: none
  url:
    description: The https URL of the repository to push to (from delivery_plan).
    type: str
    default: ''
  branch:
    description: The branch to push to (from delivery_plan).
    type: str
    default: ''
  compare_base:
    description: With C(new), the compare URL up to the branch name (from delivery_plan), returned completed.
    type: str
    default: ''
  token_file:
    description: The worker's token file (C(<offload_secrets_dir>/gh_token)); empty, or missing on the worker, pushes
      without a token.
    type: str
    default: ''
  log_dest:
    description: Controller directory the bundle and the patches are copied to (C(<log_dest>/<worker>/<job>/)).
    type: path
    default: ~/.cache/gcli-offload/logs
  stamp:
    description: The run's stamp, naming the copies (C(<stamp>.bundle), C(<stamp>.patch)).
    type: str
    default: results
  keep_worktree:
    description: Keep the worktree after its commits are pushed.
    type: bool
    default: false
extends_documentation_fragment:
  - gcli.offload.job
  - gcli.offload.job.maintainer
  - ansible.builtin.action_common_attributes
  - gcli.offload.worker
  - gcli.offload.worker.attributes
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Push what the fix job committed
  gcli.offload.job_deliver:
    pr: 123
    action: fix
    data_root: /mnt/disks/offload
    mode: "{{ offload_delivery.mode }}"
    url: "{{ offload_delivery.url }}"
    branch: "{{ offload_delivery.branch }}"
    token_file: /dev/shm/gcli-offload/gh_token
'''

RETURN = r'''
job:
  description: The job's name.
  returned: always
  type: str
commits:
  description: How many new commits the job made.
  returned: always
  type: int
start:
  description: The commit the job started from.
  returned: when the worktree was there
  type: str
head:
  description: The job's HEAD.
  returned: when the worktree was there
  type: str
pushed:
  description: Whether the commits were pushed.
  returned: always
  type: bool
branch:
  description: The branch they were pushed to.
  returned: when there were commits to push
  type: str
compare_url:
  description: With C(new), the page that opens a pull request from the branch.
  returned: when pushed with C(new)
  type: str
bundle:
  description: The git bundle of the commits on the controller (C(git fetch BUNDLE refs/offload/result)).
  returned: when there were commits
  type: str
patch:
  description: The commits as patches on the controller (C(git am PATCH)).
  returned: when there were commits
  type: str
kept:
  description: Whether the worktree was kept.
  returned: when there were commits
  type: bool
'''
