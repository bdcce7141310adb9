# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller-side base for the plugins that only check inputs (job_spec,
worker_vm_spec, pipeline_spec): no connection, no command, no request.

A subclass names its argument spec, the module_utils function that applies the
rules (it raises JobInputError naming the variable), and what the inputs are
for; a refusal reads `invalid <what> input <variable>: <why> (<nothing done>)`.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError


class CheckAction(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC = {}
    NOTHING_DONE = 'nothing was changed'

    def check(self, args):  # pragma: no cover - abstract
        """The checked inputs as the task's result (a dict), or JobInputError."""
        raise NotImplementedError

    def what(self, args):  # pragma: no cover - abstract
        """What the inputs are for, as in 'invalid <what> input'."""
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        try:
            checked = self.check(args)
        except JobInputError as exc:
            raise AnsibleActionFail('invalid %s input %s (%s)' % (self.what(args), exc, self.NOTHING_DONE))
        result.update(checked, changed=False)
        return result
