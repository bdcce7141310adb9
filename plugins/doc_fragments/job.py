# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The options naming one job (offload-<pr>-<action>) and where its files are on the worker:
    # job_spec, git_worktree, job_container and job_log. A module may redefine a key of an option
    # here (its own wins) when it checks the value differently.
    DOCUMENTATION = r'''
options:
  pr:
    description: The pull request number, a positive integer (a string of digits is accepted).
    type: raw
    required: true
  action:
    description: The job's action, one of V(review), V(fix), V(ready) or V(implement).
    type: raw
    default: review
  data_root:
    description: The worker's data directory, holding C(main/), C(worktrees/), C(logs/) and C(gemini/).
    type: str
    required: true
'''

    # The maintainer container the plugins run git (and read the worktrees) in:
    # git_worktree, job_cleanup, job_info and attach_command.
    MAINTAINER = r'''
options:
  maintainer:
    description: The maintainer container's name.
    type: str
    default: maintainer-worker
'''
