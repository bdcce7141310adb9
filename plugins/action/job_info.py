# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The jobs on a worker (their containers, worktrees and runs with their parts), and what
reconciliation would remove."""

from __future__ import annotations

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    MAX_GRACE,
    validate_container_name,
    validate_host_dir,
)
from ansible_collections.gcli.offload.plugins.module_utils._reconcile import leftovers
from ansible_collections.gcli.offload.plugins.plugin_utils._supervisor import RUNS_SCRIPT, parse_runs
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import MAINTAINER_ARGUMENT_SPEC, WorkerAction


def summary(job, now=None):
    """One line a person reads in status.yml: the job, what its newest run is doing (or did),
    its parts, the image it runs and whether it holds a worktree."""
    run = job.get('run')
    if run and run['state'] == 'running':
        since = ' %ds' % (now - run['started']) if now and run.get('started') else ''
        what = 'running%s' % since
    elif run and run['state'] == 'lost':
        what = 'lost (its supervisor ended without an exit status: the worker restarted?); a re-run starts anew'
    elif run:
        what = 'ended, exit %s' % ('?' if run.get('rc') is None else run['rc'])
    elif job.get('state') in (None, 'none'):
        what = 'no container'
    else:
        what = 'container %s%s' % (job['state'], ' %ds' % job['age'] if job.get('age') is not None else '')
    words = ['%s: %s' % (job['job'], what)]
    if job.get('parts') and job['parts'] != '-':
        words.append('parts: %s' % job['parts'])
    if job.get('image'):
        digests = job.get('image_digests') or []
        words.append('image %s%s' % (job['image'], ' (%s)' % digests[0] if digests else ''))
    if job.get('worktree'):
        words.append('worktree kept' if not run or run['state'] != 'running' else 'worktree held')
    return '; '.join(words)


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        **MAINTAINER_ARGUMENT_SPEC,
        'grace': {'type': 'int', 'default': 600},
        # where the runs' logs are (a worker without that folder has no runs)
        'data_root': {'type': 'str', 'default': '/mnt/disks/offload'},
    }
    RANGES = {'grace': (0, MAX_GRACE, 'seconds')}

    def act(self, args, task_vars):
        maintainer = validate_container_name(args['maintainer'], 'maintainer')
        jobs, now = self.cli.jobs(maintainer)
        data_root = validate_host_dir(args['data_root'], 'data_root')
        rc, out, err = self.cli.sh(RUNS_SCRIPT, 'offload-runs', [data_root], 'read the job runs')
        runs, _now = parse_runs(out)
        known = {j['job'] for j in jobs}
        for name in sorted(set(runs) - known):
            parts = name.split('-')
            jobs.append({'job': name, 'pr': parts[1] if len(parts) == 3 else None,
                         'action': parts[2] if len(parts) == 3 else None, 'container': None, 'containers': [],
                         'state': 'none', 'age': None, 'image': None, 'image_id': None, 'image_digests': [],
                         'worktree': False, 'head': None, 'held_since': None})
        for job in jobs:
            job['run'] = runs.get(job['job'])
            if job['run'] and job['run']['state'] == 'running' and job['state'] != 'running':
                job['state'] = 'running'  # between its parts, or releasing its worktree
            job['parts'] = ', '.join(
                '%s %s%s' % (part, r['state'], ' %ds' % r['duration'] if r['duration'] is not None else '')
                for part, r in (job['run']['parts'] if job['run'] else {}).items()) or '-'
        for job in jobs:
            job['summary'] = summary(job, _now or now)
        return {
            'changed': False,
            'jobs': jobs,
            'lines': [j['summary'] for j in jobs] or ['no jobs'],
            'running': [j['job'] for j in jobs if j['state'] == 'running'],
            'leftovers': leftovers(jobs, now, args['grace']),
            'maintainer_running': self.cli.container_state(maintainer) == 'running',
        }
