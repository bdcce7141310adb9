# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check provision.yml's and teardown.yml's inputs on the controller, before any request."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError
from ansible_collections.gcli.offload.plugins.module_utils._worker_vm import DEFAULTS, worker_vm_spec

ARGUMENT_SPEC = dict({name: {'type': 'raw'} for name in DEFAULTS},
                     state={'type': 'str', 'default': 'present', 'choices': ['present', 'absent']})


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            spec = worker_vm_spec(**args)
        except JobInputError as exc:
            raise AnsibleActionFail('invalid %s input %s (nothing was changed)' % (
                'provisioning' if args['state'] == 'present' else 'teardown', exc))
        result.update(changed=False, **spec)
        return result
