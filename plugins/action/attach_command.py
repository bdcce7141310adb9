# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The command that opens a shell in a job or the maintainer container
(`gcloud compute ssh --container`'s equivalent): Ansible cannot hand a
terminal to its user, so this checks the target and builds the command."""

from __future__ import annotations

import shlex

from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    job_name,
    validate_command,
    validate_container_name,
)
from ansible_collections.gcli.offload.plugins.plugin_utils._terminal import terminal_argv
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import MAINTAINER_ARGUMENT_SPEC, WorkerAction


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        'pr': {'type': 'raw'},
        'action': {'type': 'raw', 'default': 'review'},
        **MAINTAINER_ARGUMENT_SPEC,
        # raw: a string is refused (a list would split it at commas)
        'shell': {'type': 'raw', 'default': ['/bin/bash']},
    }

    def act(self, args, task_vars):
        args['shell'] = validate_command(args['shell'], 'shell')
        if args['pr'] not in (None, ''):
            target = job_name(args['pr'], args['action'])
        else:
            target = validate_container_name(args['maintainer'], 'maintainer')
        state = self.cli.container_state(target)
        if state != 'running':
            raise AnsibleActionFail('%s is not running on %s (%s): nothing to attach to' % (
                target, self._worker_name(task_vars), state or 'no such container'))
        argv = terminal_argv(self, [self.cli.docker_bin, 'exec', '-it', target] + args['shell'], 'attach')
        return {'changed': False, 'container': target, 'argv': argv, 'command': shlex.join(argv)}
