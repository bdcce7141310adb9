# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Remove one job, all jobs, or what reconciliation finds left over."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    DEV,
    MAX_GRACE,
    validate_action,
    validate_container_name,
    validate_pr,
)
from ansible_collections.gcli.offload.plugins.module_utils._reconcile import leftovers
from ansible_collections.gcli.offload.plugins.plugin_utils import _kv
from ansible_collections.gcli.offload.plugins.plugin_utils._job_network import NETWORK_REMOVE_SCRIPT
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import MAINTAINER_ARGUMENT_SPEC, WorkerAction


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        'scope': {'type': 'str', 'required': True, 'choices': ['job', 'all', 'reconcile']},
        'pr': {'type': 'raw'},
        'action': {'type': 'raw'},
        'force': {'type': 'bool', 'default': False},
        'grace': {'type': 'int', 'default': 600},
        'include_kept': {'type': 'bool', 'default': False},
        'remove_main': {'type': 'bool', 'default': False},
        'remove_network': {'type': 'bool', 'default': False},
        **MAINTAINER_ARGUMENT_SPEC,
    }
    RANGES = {'grace': (0, MAX_GRACE, 'seconds')}

    def act(self, args, task_vars):
        maintainer = validate_container_name(args['maintainer'], 'maintainer')
        scope = args['scope']
        if scope == 'job':
            if args['pr'] in (None, ''):
                raise AnsibleActionFail('pr is required to clean one job (or use scope=all)')
            pr = str(validate_pr(args['pr']))
            action = validate_action(args['action']) if args['action'] not in (None, '') else None
        if args['remove_main'] and scope != 'all':
            raise AnsibleActionFail('remove_main goes with scope=all (every job is removed with the main clone)')
        if args.get('remove_network') and scope != 'all':
            raise AnsibleActionFail('remove_network goes with scope=all (no job may use the job network)')

        jobs, now = self.cli.jobs(maintainer)
        skipped = []
        if scope == 'reconcile':
            plan = leftovers(jobs, now, args['grace'], args['include_kept'])
            containers, worktrees, skipped = plan['containers'], plan['worktrees'], plan['kept']
        else:
            chosen = [j for j in jobs if scope == 'all' or (j['pr'] == pr and action in (None, j['action']))]
            containers, worktrees = [], []
            for job in chosen:
                if job['state'] == 'running' and not args['force']:
                    skipped.append({'job': job['job'], 'why': 'running: clean.yml never stops a running job '
                                                              'unless forced (-e force=true)'})
                    continue
                if job['container']:
                    containers.extend(job.get('containers') or [job['container']])
                if job['worktree']:
                    worktrees.append(job['job'])
        remove_main = args['remove_main'] and not skipped
        remove_network = bool(args.get('remove_network')) and not skipped

        if not self._task.check_mode:
            if containers:
                self.cli.docker(['rm', '-f'] + containers, 'remove containers %s' % ', '.join(containers))
            for name in worktrees:
                rc, facts, err = self.cli.git(maintainer, ['remove', DEV, name], 'remove worktree %s' % name)
                if rc != 0:
                    raise AnsibleActionFail('cannot remove the worktree %s: %s' % (name, facts.get('error') or err))
            if remove_main:
                rc, facts, err = self.cli.git(maintainer, ['remove-main', DEV, '-'], 'remove the main clone')
                if rc != 0:
                    raise AnsibleActionFail('cannot remove the main clone on %s: %s (the jobs were removed; re-run '
                                            'to retry)' % (self._worker_name(task_vars), facts.get('error') or
                                                           err.strip() or 'exit code %d' % rc))
            if remove_network:
                rc, out, err = self.cli.sh(NETWORK_REMOVE_SCRIPT, 'offload-network', [self.cli.docker_bin],
                                           'remove the job network', check=False)
                said = _kv.parse(out).all('net')
                busy = [value[len('busy '):] for value in said if value.startswith('busy ')]
                if busy or 'removed' not in said:
                    skipped.append({'job': 'network', 'why': 'the job network %s is in use (a job started '
                                                             'meanwhile): kept with its firewall' % ', '.join(busy)
                                    if busy else 'could not remove the job network: %s' % (err or out).strip()[:200]})
                    remove_network = False
        result = {
            'changed': bool(containers or worktrees or remove_main or remove_network),
            'removed_containers': containers,
            'removed_worktrees': worktrees,
            'removed_main': remove_main,
            'removed_network': remove_network,
            'skipped': skipped,
        }
        if args['remove_main'] and skipped:
            result['msg'] = 'the main clone was kept: some jobs are still running'
        return result
