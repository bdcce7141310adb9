#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: delivery_plan
short_description: Decide, before a job, where its commits will be pushed
version_added: 0.2.0
description:
  - Reads the pull request through the GitHub API on the controller (the token never reaches the worker's argv) and
    decides where a job's commits go, for job_deliver after the job.
  - The pull request's head branch when that is allowed (a same-repository pull request, or a fork's that lets
    maintainers push), with a lease on the head the job starts from; otherwise a new branch on the user's fork
    (O(fork), or the repository of O(fork_url)), with a compare URL.
  - The push URL is O(upstream_url) (or O(fork_url)) naming the target repository, never the API's C(clone_url), and
    only on the GitHub the token belongs to.
  - Fails, before any job, when the token cannot push there (it needs C(contents=write)), with the pre-filled link
    that creates a token that can; 5xx answers and rate limits are retried (bounded).
options:
  pr:
    description: The pull request number.
    type: raw
    required: true
  action:
    description: The job's action (names the fork branch, C(offload/pr-<pr>-<action>-<sha>)).
    type: raw
    default: fix
  upstream_url:
    description: The https URL of the repository holding the pull request, as the worker clones it.
    type: str
    required: true
  repo:
    description: That repository as OWNER/NAME; empty derives it from O(upstream_url).
    type: str
    default: ''
  fork:
    description: The user's fork (OWNER/NAME) for pull requests that do not let maintainers push.
    type: str
    default: ''
  fork_url:
    description: The fork's https URL; empty derives it from O(upstream_url) and O(fork).
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
- name: Where PR 123's fixes will go
  gcli.offload.delivery_plan:
    pr: 123
    upstream_url: https://github.com/octo/calc.git
    fork: me/calc
    token: "{{ lookup('ansible.builtin.env', 'OFFLOAD_GH_TOKEN') }}"
  register: offload_delivery
'''

RETURN = r'''
mode:
  description: C(lease) (the pull request's branch) or C(new) (a branch on the fork).
  returned: always
  type: str
url:
  description: The repository the commits will be pushed to.
  returned: always
  type: str
branch:
  description: The branch (with C(new), a prefix job_deliver completes with the head's sha).
  returned: always
  type: str
target:
  description: The repository pushed to, OWNER/NAME.
  returned: always
  type: str
why:
  description: Why there.
  returned: always
  type: str
pull:
  description: The pull request's facts (number, html_url, head_sha, head_repo, head_ref, base_ref, maintainer_can_modify).
  returned: always
  type: dict
compare_base:
  description: With C(new), the compare URL without the branch name.
  returned: with C(new)
  type: str
'''
