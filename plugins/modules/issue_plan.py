#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: issue_plan
short_description: Before an implement job, read the issue and decide its branch
version_added: 0.2.0
description:
  - Reads the issue through the GitHub API on the controller (refusing a pull request's number), the repository's
    default branch (where the job starts), and where the job's new branch will be pushed (your fork when known, else
    the repository), on the GitHub the token belongs to only.
  - Fails before any job when the token cannot push there, with the pre-filled token link.
options:
  issue:
    description: The issue number.
    type: raw
    required: true
  upstream_url:
    description: The https URL of the repository holding the issue, as the worker clones it.
    type: str
    required: true
  repo:
    description: That repository as OWNER/NAME; empty derives it from O(upstream_url).
    type: str
    default: ''
  fork:
    description: Your fork (OWNER/NAME) to push the branch to; empty pushes to the repository itself.
    type: str
    default: ''
  fork_url:
    description: The fork's https URL; empty derives it.
    type: str
    default: ''
  api_url:
    description: The GitHub API, C(https://api.github.com) or a GitHub Enterprise Server's C(https://HOST/api/v3).
    type: str
    default: https://api.github.com
  token:
    description: The GitHub token (from OFFLOAD_GH_TOKEN or Ansible Vault), never logged (C(no_log)).
    type: str
    default: ''
  token_name:
    description: The name the token link pre-fills.
    type: str
    default: gcli-offload
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Plan the implementation of issue 42
  gcli.offload.issue_plan:
    issue: 42
    upstream_url: https://github.com/octo/calc.git
    token: "{{ lookup('ansible.builtin.env', 'OFFLOAD_GH_TOKEN') }}"
  register: offload_issue
'''

RETURN = r'''
issue:
  description: The issue number.
  returned: always
  type: int
title:
  description: The issue's title.
  returned: always
  type: str
text:
  description: The issue's title and body, as the agent gets them (C(.offload-issue.md) in the worktree).
  returned: always
  type: str
base_branch:
  description: The repository's default branch, where the job starts.
  returned: always
  type: str
url:
  description: The repository the branch will be pushed to.
  returned: always
  type: str
target:
  description: That repository, OWNER/NAME.
  returned: always
  type: str
branch:
  description: The branch prefix (job_deliver appends the head's sha).
  returned: always
  type: str
mode:
  description: C(new), for job_deliver.
  returned: always
  type: str
'''
