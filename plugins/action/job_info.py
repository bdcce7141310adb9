# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The jobs on a worker, and what reconciliation would remove."""

from __future__ import annotations

from ansible_collections.gcli.offload.plugins.module_utils._jobs import MAX_GRACE, validate_container_name
from ansible_collections.gcli.offload.plugins.module_utils._reconcile import leftovers
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import MAINTAINER_ARGUMENT_SPEC, WorkerAction


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        **MAINTAINER_ARGUMENT_SPEC,
        'grace': {'type': 'int', 'default': 600},
    }
    RANGES = {'grace': (0, MAX_GRACE, 'seconds')}

    def act(self, args, task_vars):
        maintainer = validate_container_name(args['maintainer'], 'maintainer')
        jobs, now = self.cli.jobs(maintainer)
        return {
            'changed': False,
            'jobs': jobs,
            'running': [j['job'] for j in jobs if j['state'] == 'running'],
            'leftovers': leftovers(jobs, now, args['grace']),
            'maintainer_running': self.cli.container_state(maintainer) == 'running',
        }
