# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check image_pipeline.yml's inputs on the controller, before any request."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError
from ansible_collections.gcli.offload.plugins.module_utils._pipeline import DEFAULTS, pipeline_spec

# raw: the types are checked by pipeline_spec, whose messages name the playbook variable.
ARGUMENT_SPEC = {name: {'type': 'raw', 'default': default} for name, default in DEFAULTS.items()}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            spec = pipeline_spec(**args)
        except JobInputError as exc:
            raise AnsibleActionFail('invalid image pipeline input %s (nothing was changed)' % exc)
        result.update(changed=False, **spec)
        return result
