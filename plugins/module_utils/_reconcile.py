# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What is on a worker, job by job, and which of it is left over.

Pure functions over what the worker reported (job containers, worktrees and
their holds), so the rules are tested without a worker. Live work is never a
leftover: a running container is never proposed for removal, and a worktree
held by a run is left alone for `grace` seconds.
"""

from __future__ import annotations

import calendar
import re
import time


def parse_docker_time(value):
    """Docker's RFC 3339 time (nanoseconds, Z) -> epoch seconds, or None."""
    match = re.match(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)', value or '')
    if not match or value.startswith('0001-'):
        return None
    return calendar.timegm(time.strptime(match.group(1), '%Y-%m-%dT%H:%M:%S'))


def jobs_on_worker(containers, worktrees, now):
    """Merge containers and worktrees into one record per job name."""
    jobs = {}
    for c in containers:
        name = c.get('job') or c['name']
        started = parse_docker_time(c.get('started'))
        if name in jobs:  # another part of the same job (a review's build, checks, ai_review)
            job = jobs[name]
            job['containers'].append(c['name'])
            if c['state'] == 'running' and job['state'] != 'running':
                job.update(state='running', container=c['name'], age=int(now - started) if started else None)
            continue
        jobs[name] = {
            'containers': [c['name']],
            'job': name, 'pr': c.get('pr'), 'action': c.get('action'), 'container': c['name'],
            'state': c['state'], 'age': int(now - started) if started and c['state'] == 'running' else None,
            'image': c.get('image'), 'image_id': c.get('image_id'), 'image_digests': c.get('image_digests', []),
            'worktree': False, 'head': None, 'held_since': None,
        }
    for w in worktrees:
        job = jobs.setdefault(w['name'], {
            'job': w['name'], 'pr': None, 'action': None, 'container': None, 'containers': [], 'state': 'none',
            'age': None,
            'image': None, 'image_id': None, 'image_digests': [],
        })
        parts = w['name'].split('-')
        if job['pr'] is None and len(parts) == 3:
            job['pr'], job['action'] = parts[1], parts[2]
        job.update(worktree=True, head=w.get('head'), held_since=w.get('held_since') or None)
    return [jobs[name] for name in sorted(jobs)]


def leftovers(jobs, now, grace, include_kept=False):
    """Which containers and worktrees reconciliation removes, and what it leaves, with why."""
    remove_containers, remove_worktrees, kept = [], [], []
    for job in jobs:
        running = job['state'] == 'running'
        if job['container'] and not running:
            remove_containers.extend(job.get('containers') or [job['container']])  # stopped: never live work
        if running and not job['worktree']:
            kept.append({'job': job['job'], 'why': 'container running without a worktree: never killed by '
                                                   'reconciliation (clean.yml -e force=true stops it)'})
        if not job['worktree'] or running:
            continue
        held = job['held_since']
        if held and now - held < grace:
            kept.append({'job': job['job'], 'why': 'worktree held by a run for %ds (< grace %ds)' % (now - held, grace)})
        elif held:
            remove_worktrees.append(job['job'])  # stale hold: its run died
        elif include_kept:
            remove_worktrees.append(job['job'])
        else:
            kept.append({'job': job['job'], 'why': 'kept worktree (offload_keep_worktree); include_kept removes it'})
    return {'containers': remove_containers, 'worktrees': remove_worktrees, 'kept': kept}
