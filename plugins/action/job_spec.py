# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validate a job's inputs on the controller and return its derived spec."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    JobInputError,
    job_spec,
)

ARGUMENT_SPEC = {
    'pr': {'type': 'raw', 'required': True},
    'action': {'type': 'raw', 'default': 'review'},
    'data_root': {'type': 'raw', 'required': True},
    'image': {'type': 'raw', 'required': True},
    'repo_url': {'type': 'raw'},
    'upstream_url': {'type': 'raw'},
    'command': {'type': 'raw'},
    'timeout': {'type': 'raw', 'default': 3600},
    'gemini_dir': {'type': 'raw'},
    'keep_worktree': {'type': 'raw', 'default': False},
    'lock_grace': {'type': 'raw'},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            spec = job_spec(**args)
        except JobInputError as exc:
            raise AnsibleActionFail('invalid job input %s (nothing was done on the worker)' % exc)
        result.update(changed=False, job=spec)
        return result
