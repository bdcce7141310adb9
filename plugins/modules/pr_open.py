#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: pr_open
short_description: Open a draft pull request from a pushed branch
version_added: 0.2.0
description:
  - After an implement job whose branch was pushed, opens a (draft) pull request from it on O(repo), through the
    GitHub API on the controller. A token without C(pull_requests=write) says so, with the token link.
options:
  repo:
    description: The repository the pull request is opened on, OWNER/NAME.
    type: str
    required: true
  head_repo:
    description: The repository holding the branch (O(repo) or your fork).
    type: str
    required: true
  branch:
    description: The pushed branch.
    type: str
    required: true
  base:
    description: The branch to merge into (the default branch).
    type: str
    required: true
  issue:
    description: The issue it closes.
    type: raw
    required: true
  title:
    description: The title; empty is the word Implement and the issue's number.
    type: str
    default: ''
  draft:
    description: Open it as a draft.
    type: bool
    default: true
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
- name: Open the draft pull request
  gcli.offload.pr_open:
    repo: octo/calc
    head_repo: octo/calc
    branch: offload/issue-42-0123456789ab
    base: main
    issue: 42
    token: "{{ lookup('ansible.builtin.env', 'OFFLOAD_GH_TOKEN') }}"
'''

RETURN = r'''
number:
  description: The pull request's number.
  returned: success
  type: int
url:
  description: Its page.
  returned: success
  type: str
draft:
  description: Whether it is a draft.
  returned: success
  type: bool
'''
