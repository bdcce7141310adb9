#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: pr_comment
short_description: Post a review job's result as one comment on its pull request, updated in place
version_added: 0.2.0
description:
  - Writes each part's status (O(parts), as job_container returns them) and the AI review's text (the O(part) lines of
    the job's log O(log)) as one comment on the pull request, through the GitHub API, on the controller.
  - The comment starts with a hidden marker (C(<!-- gcli.offload:review pr=N -->)); a re-run finds it and updates that
    comment instead of adding another.
  - 5xx answers and rate limits are retried (bounded); a token without the permission says which, with the token link.
options:
  pr:
    description: The pull request number.
    type: raw
    required: true
  upstream_url:
    description: The URL of the repository holding the pull request (OWNER/NAME is taken from it).
    type: str
    default: ''
  repo:
    description: That repository as OWNER/NAME; empty derives it from O(upstream_url).
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
  job:
    description: The job's name, for the comment.
    type: str
    default: ''
  rc:
    description: The job's exit code.
    type: int
  parts:
    description: The job's parts and their states (what job_container returns as C(parts)).
    type: dict
    default: {}
  log:
    description: The job's log on the controller.
    type: path
    default: ''
  part:
    description: The part whose lines are the review's text (all the log for a one-part job).
    type: str
    default: ai_review
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
- name: Post the review of PR 123
  gcli.offload.pr_comment:
    pr: 123
    upstream_url: https://github.com/octo/calc.git
    token: "{{ lookup('ansible.builtin.env', 'OFFLOAD_GH_TOKEN') }}"
    rc: "{{ offload_job_result.rc }}"
    parts: "{{ offload_job_result.parts }}"
    log: "{{ offload_job_result.log }}"
'''

RETURN = r'''
created:
  description: Whether a new comment was made (false, an existing one was updated).
  returned: success
  type: bool
comment_id:
  description: The comment's id.
  returned: success
  type: int
comment_url:
  description: The comment's page.
  returned: success
  type: str
body:
  description: The comment that would be posted.
  returned: in check mode
  type: str
'''
