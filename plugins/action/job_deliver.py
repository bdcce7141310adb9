# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""After a job: its new commits brought back to the controller (a git bundle and patches)
and pushed where delivery_plan said, by the maintainer container's git (git.sh deliver:
pinned, nothing of the worktree's config, hooks or .git pointer is used; the token from
the worker's tmpfs file through a credential helper). The worktree is removed once its
commits are pushed, and kept when they could not be."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.module_utils._delivery import validate_branch
from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    DEV,
    job_name,
    validate_container_name,
    validate_host_dir,
    validate_repo_url,
)
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import WORKTREES, job_paths
from ansible_collections.gcli.offload.plugins.plugin_utils._checks import check_log_dest
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import (
    JOB_ARGUMENT_SPEC,
    MAINTAINER_ARGUMENT_SPEC,
    WorkerAction,
)

RESULTS = '.offload-results'


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        **JOB_ARGUMENT_SPEC,
        **MAINTAINER_ARGUMENT_SPEC,
        'mode': {'type': 'str', 'default': 'none', 'choices': ['lease', 'new', 'none']},
        'url': {'type': 'str', 'default': ''},
        'branch': {'type': 'str', 'default': ''},
        'compare_base': {'type': 'str', 'default': ''},
        'token_file': {'type': 'str', 'default': ''},
        'log_dest': {'type': 'path', 'default': '~/.cache/gcli-offload/logs'},
        'stamp': {'type': 'str', 'default': 'results'},
        'keep_worktree': {'type': 'bool', 'default': False},
    }

    def act(self, args, task_vars):
        name = job_name(args['pr'], args['action'])
        maintainer = validate_container_name(args['maintainer'], 'maintainer')
        data_root = validate_host_dir(args['data_root'], 'data_root')
        log_dest = check_log_dest(args['log_dest'], 'log_dest')
        worker = self._worker_name(task_vars)
        mode = args['mode']
        if mode != 'none':
            validate_repo_url(args['url'], 'url')
            if not args['url'].startswith(('https://', 'http://')):
                raise AnsibleActionFail('url: the commits are pushed over https only, got %s' % args['url'][:80])
            validate_branch(args['branch'], 'branch')
        stamp = args['stamp'] if args['stamp'].replace('-', '').replace('T', '').replace('Z', '').isalnum() \
            else 'results'
        worktree = job_paths(data_root, name)['worktree_dir']
        if self._task.check_mode:
            return {'changed': False, 'job': name}
        params = ['deliver', DEV, name, args['url'] or '-', args['branch'] or '-', mode]
        rc, facts, err = self.cli.git(maintainer, params, 'deliver the commits of job %s' % name,
                                      token_file=args['token_file'] or None)
        result = {'changed': False, 'job': name, 'commits': int(facts.get('commits') or 0),
                  'start': facts.get('start'), 'head': facts.get('head'), 'pushed': facts.get('pushed') == '1'}
        if rc != 0:
            reason = facts.get('error') or (err.strip().splitlines() or ['exit %d' % rc])[-1]
            kept = facts.get('tampered') != '1'
            raise AnsibleActionFail('the commits of job %s on %s were not delivered: %s.%s' % (
                name, worker, reason, (' Its worktree is kept: %s' % worktree) if kept else ''))
        if not result['commits']:
            result['msg'] = 'job %s made no commits: nothing to deliver' % name
            self._remove(maintainer, name, args)
            return result
        local = os.path.join(os.path.expanduser(log_dest), worker, name)
        os.makedirs(local, mode=0o700, exist_ok=True)
        results = '%s/%s/%s/%s' % (data_root, WORKTREES, RESULTS, name)
        for kind in ('bundle', 'patch'):
            path = os.path.join(local, '%s.%s' % (stamp, kind))
            self._connection.fetch_file('%s/commits.%s' % (results, kind), path)
            result[kind] = path
        result['branch'] = facts.get('branch')
        got = ('the %d commit(s) are in %s (git fetch %s refs/offload/result, or git am %s)'
               % (result['commits'], result['bundle'], result['bundle'], result['patch']))
        if mode == 'none':
            result['msg'] = 'job %s made %d commit(s), not pushed; its worktree is kept at %s on %s; %s' % (
                name, result['commits'], worktree, worker, got)
            result['kept'] = True
            return result
        if not result['pushed']:
            detail = '; '.join(facts.all('push_error'))[:600]
            result['kept'] = True
            result['warnings'] = [
                'the %d commit(s) of job %s could not be pushed to %s of %s (%s): %s. Its worktree is kept at %s on %s '
                '(clean.yml -e pr=%s removes it).' % (
                    result['commits'], name, result['branch'], args['url'],
                    'its head moved since the job started: the lease refused to overwrite it'
                    if 'stale info' in detail or 'fetch first' in detail else 'refused', got, worktree, worker,
                    args['pr'])]
            result['msg'] = result['warnings'][0]
            result['failed'] = True
            result['push_error'] = detail
            return result
        result['changed'] = True
        if mode == 'new' and args['compare_base']:
            result['compare_url'] = args['compare_base'] + result['branch']
        result['msg'] = 'pushed %d commit(s) of job %s to %s of %s%s; %s' % (
            result['commits'], name, result['branch'], args['url'],
            ('; open a pull request from it: %s' % result['compare_url']) if result.get('compare_url') else '', got)
        result['kept'] = self._remove(maintainer, name, args) is False
        return result

    def _remove(self, maintainer, name, args):
        """Remove the worktree (delivered, or nothing to deliver) unless it is to be kept."""
        if args['keep_worktree']:
            return False
        rc, facts, err = self.cli.git(maintainer, ['remove', DEV, name], 'remove worktree %s' % name)
        return rc == 0
