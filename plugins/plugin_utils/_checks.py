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

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError, _shown, forbidden_place


def check_log_dest(value, variable='offload_log_dest'):
    """The controller folder the job logs are fetched to: absolute once ~ and $VARS are expanded,
    not a system directory (symlinks resolved), and a directory or creatable (its nearest
    existing parent a writable directory). Returns the expanded path; raises JobInputError.
    Checked before the job runs, so a bad one does not fail after it."""
    if not isinstance(value, str) or not value or '\0' in value or len(value) > 4096:
        raise JobInputError(variable, 'must be a folder on the controller, got %s' % _shown(value))
    path = os.path.normpath(os.path.expandvars(os.path.expanduser(value)))
    if not os.path.isabs(path):
        raise JobInputError(variable, 'must be an absolute path once ~ is expanded (it is resolved on the '
                                      'controller), got %s' % _shown(value))
    real = os.path.realpath(path)
    place = forbidden_place(real)
    if place:
        raise JobInputError(variable, 'must not be %s or under it (a system directory%s), got %s' % (
            place, '' if real == path else '; it resolves to %s' % _shown(real), _shown(value)))
    probe = real
    while not os.path.lexists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise JobInputError(variable, '%s is a file, not a folder: give a folder for the job logs, got %s' % (
            _shown(probe), _shown(value)))
    if not os.access(probe, os.W_OK | os.X_OK):
        raise JobInputError(variable, 'cannot be written: %s is not writable by this user, got %s' % (
            _shown(probe), _shown(value)))
    return path


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
