# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller-side base for the plugins that act on a worker: their options, checked
before anything reaches the worker, and their commands, through one DockerCLI
(_docker_cli.py) bound to the task's connection and docker client."""

from __future__ import annotations

import re

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    JobInputError,
    validate_docker_bin,
    validate_int,
)
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import MAINTAINER_NAME
from ansible_collections.gcli.offload.plugins.plugin_utils._docker_cli import DockerCLI, WorkerCommandError

__all__ = ['JOB_ARGUMENT_SPEC', 'MAINTAINER_ARGUMENT_SPEC', 'WORKER_ARGUMENT_SPEC', 'WorkerAction', 'WorkerCommandError']

# Options every worker plugin takes (also in doc_fragments/worker.py).
WORKER_ARGUMENT_SPEC = {
    'docker_bin': {'type': 'str', 'default': 'docker'},
}
# The options naming one job and its data root (doc_fragments/job.py), and the maintainer
# container (its MAINTAINER): a plugin adds them to its ARGUMENT_SPEC (`**JOB_ARGUMENT_SPEC`).
JOB_ARGUMENT_SPEC = {
    'pr': {'type': 'raw', 'required': True},
    'action': {'type': 'raw', 'default': 'review'},
    'data_root': {'type': 'str', 'required': True},
}
MAINTAINER_ARGUMENT_SPEC = {
    'maintainer': {'type': 'str', 'default': MAINTAINER_NAME},
}


# The host variable naming the worker's docker client configuration directory (set by
# provision.yml's add_host and the gce_workers inventory for a COS worker: the directory its
# boot unit writes with docker-credential-gcr); empty: the docker client's own.
DOCKER_CONFIG_VAR = 'offload_docker_config'
DOCKER_CONFIG_RE = re.compile(r'^(?:/[A-Za-z0-9_.][A-Za-z0-9._-]*)+\Z')


def docker_config_of(task_vars):
    """The checked offload_docker_config of the task's host ('' when unset)."""
    value = (task_vars or {}).get(DOCKER_CONFIG_VAR) or ''
    if value and (not isinstance(value, str) or not DOCKER_CONFIG_RE.match(value)
                  or '/../' in value + '/' or '/./' in value + '/'):
        raise JobInputError(DOCKER_CONFIG_VAR, 'must be an absolute directory path (letters, digits and . _ -, '
                                               'no .. component), got %r' % (value,))
    return value


class WorkerAction(ActionBase):
    """An action that runs argv commands on the worker (through self.cli), never a module."""

    TRANSFERS_FILES = False
    _requires_connection = True
    ARGUMENT_SPEC = {}
    # Whole-number options: name -> (minimum, maximum, unit). Checked on the value as
    # given (validate_int): the argument spec's int also takes '١٢٣', '1_0' and ' 5'.
    RANGES = {}
    cli = None  # the worker's DockerCLI, made by run() once the options are checked

    def _validated_args(self):
        """The options, all checked before any command reaches the worker."""
        spec = dict(WORKER_ARGUMENT_SPEC)
        spec.update(self.ARGUMENT_SPEC)
        validation, args = self.validate_argument_spec(argument_spec=spec)
        validate_docker_bin(args['docker_bin'])
        for name, (minimum, maximum, unit) in self.RANGES.items():
            if self._task.args.get(name) is not None:
                args[name] = validate_int(self._task.args[name], name, minimum, maximum, unit)
        return args

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            args = self._validated_args()
            self.cli = DockerCLI(self, args['docker_bin'], docker_config_of(task_vars))
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
