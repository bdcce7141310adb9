#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: worker_secret
short_description: A secret file on an offload worker, in memory-backed storage only
version_added: 0.1.0
description:
  - Writes O(content) to O(path) on the worker, mode 0600, owned by O(owner) (its directory 0700), only when the
    file's content differs (compared by SHA-256 on the worker); a new content rotates it.
  - Refuses a directory that is not a C(tmpfs), so a secret never lands on a persistent disk.
  - The secret reaches the worker on the command's standard input, never in a process's arguments; the result
    never holds it. Use C(no_log) on the task as well.
options:
  path:
    description: The file, on a tmpfs (C(/dev/shm/...) or C(/run/...)).
    type: str
    required: true
  content:
    description: The secret, never logged (C(no_log)). Required with O(state=present).
    type: str
  owner:
    description: The numeric owner (the job user, uid 1000, in the job containers).
    type: int
    default: 1000
  state:
    description:
      - C(absent) removes the file.
      - C(query) changes nothing and returns RV(exists), whether the file is there (a tmpfs loses it at every
        reboot or stop of the worker).
    type: str
    default: present
    choices: [present, absent, query]
  format:
    description:
      - V(github_token) checks O(content) on the controller before anything reaches the worker, strips one trailing
        newline, and refuses a value that is not a GitHub token (letters, digits and C(_), 20 to 255 of them) with a
        message that never shows it; nothing is written then.
      - V(gemini_api_key) does the same for a Gemini API key (letters, digits, C(-) and C(_), 20 to 255 of them).
      - V(raw) writes O(content) as it is.
    type: str
    default: raw
    choices: [raw, github_token, gemini_api_key]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - gcli.offload.worker
  - gcli.offload.worker.attributes
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Mirror the GitHub token to the worker
  gcli.offload.worker_secret:
    path: /dev/shm/gcli-offload/gh_token
    content: "{{ offload_gh_token }}"
    format: github_token
  no_log: true
'''

RETURN = r'''
path:
  description: The file.
  returned: always
  type: str
  sample: /dev/shm/gcli-offload/gh_token
exists:
  description: Whether the file is on the worker.
  returned: with O(state=query)
  type: bool
rotated:
  description: Whether an existing, different secret was replaced.
  returned: when the file was written
  type: bool
'''
