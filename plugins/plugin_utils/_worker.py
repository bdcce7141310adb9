# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller-side base for the plugins that act on a worker.

A worker may be a Container-Optimized OS host: Docker, a POSIX shell and
coreutils, but no Python and no git. So nothing here ships a module to the
worker. Every step is one command run through the task's connection (local,
ssh, docker...), built from an argv list and quoted with shlex at the
connection boundary; secrets travel on the command's standard input.
"""

from __future__ import annotations

import shlex

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    JobInputError,
    MANAGED_LABEL,
)

# Options every worker plugin takes (also in doc_fragments/worker.py).
WORKER_ARGUMENT_SPEC = {
    'docker_bin': {'type': 'str', 'default': 'docker'},
}


class WorkerCommandError(Exception):
    def __init__(self, what, argv, rc, stdout, stderr):
        detail = (stderr or stdout or '').strip().splitlines()
        tail = ' '.join(detail[-3:]) if detail else 'no output'
        super().__init__('%s failed (exit %d): %s' % (what, rc, tail))
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr


class WorkerAction(ActionBase):
    """An action that runs argv commands on the worker, never a module."""

    TRANSFERS_FILES = False
    _requires_connection = True
    ARGUMENT_SPEC = {}

    def _validated_args(self):
        spec = dict(WORKER_ARGUMENT_SPEC)
        spec.update(self.ARGUMENT_SPEC)
        validation, args = self.validate_argument_spec(argument_spec=spec)
        return args

    def worker_run(self, argv, what, stdin=None, check=True):
        """Run argv on the worker; return (rc, stdout, stderr) as text.

        With check, a non-zero exit raises WorkerCommandError naming `what`.
        """
        argv = [to_text(a) for a in argv]
        result = self._low_level_execute_command(
            shlex.join(argv), sudoable=True, in_data=None if stdin is None else to_bytes(stdin))
        rc = result.get('rc', 1)
        stdout = to_text(result.get('stdout', ''))
        stderr = to_text(result.get('stderr', ''))
        if check and rc != 0:
            raise WorkerCommandError(what, argv, rc, stdout, stderr)
        return rc, stdout, stderr

    def docker(self, args, what, docker_bin, stdin=None, check=True):
        return self.worker_run([docker_bin] + list(args), what, stdin=stdin, check=check)

    def container_state(self, name, docker_bin):
        """'running', 'exited', 'created'... or None when no such container."""
        rc, out, err = self.docker(
            ['container', 'inspect', '--format', '{{.State.Status}}', name],
            'inspect container %s' % name, docker_bin, check=False)
        if rc != 0:
            if 'no such' in (err + out).lower():
                return None
            raise WorkerCommandError('inspect container %s' % name, [], rc, out, err)
        return out.strip() or None

    def managed_containers(self, docker_bin, label=None):
        """Names of the containers this collection made (optionally one more label filter)."""
        args = ['ps', '-a', '--no-trunc', '--filter', 'label=%s=true' % MANAGED_LABEL, '--format', '{{.Names}}']
        if label:
            args[4:4] = ['--filter', 'label=%s' % label]
        rc, out, err = self.docker(args, 'list offload containers', docker_bin)
        return [line for line in out.splitlines() if line]

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            args = self._validated_args()
            result.update(self.act(args, task_vars or {}))
        except JobInputError as exc:
            raise AnsibleActionFail(str(exc))
        except WorkerCommandError as exc:
            raise AnsibleActionFail('%s on worker %s' % (exc, self._worker_name(task_vars)))
        return result

    def _worker_name(self, task_vars):
        return (task_vars or {}).get('inventory_hostname', 'the worker')

    def act(self, args, task_vars):  # pragma: no cover - abstract
        raise NotImplementedError
