# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A pull request's worktree on the worker, made by git in the maintainer container."""

from __future__ import annotations

import re

from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    DEV,
    JOB_USER,
    MAX_GRACE,
    disk_full,
    disk_full_message,
    job_name,
    validate_container_name,
    validate_repo_url,
    validate_host_dir,
)
from ansible_collections.gcli.offload.plugins.module_utils._delivery import token_goes_to, validate_branch
from ansible_collections.gcli.offload.plugins.module_utils._github_api import DEFAULT_API, validate_api_url
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import LOGS, job_paths
from ansible_collections.gcli.offload.plugins.plugin_utils import _kv
from ansible_collections.gcli.offload.plugins.plugin_utils import _scripts
from ansible_collections.gcli.offload.plugins.plugin_utils._docker_cli import GIT_SCRIPT
from ansible_collections.gcli.offload.plugins.plugin_utils._log_dir import LOG_DIR_SCRIPT
from ansible_collections.gcli.offload.plugins.plugin_utils._supervisor import JOB_STATE, STATE_CHECK_SCRIPT, run_state
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import (
    JOB_ARGUMENT_SPEC,
    MAINTAINER_ARGUMENT_SPEC,
    WorkerAction,
)

# Whether the job runs and, when not, git's prepare (with the token file: git_token.sh), in one command.
PREPARE_SCRIPT = _scripts.load(LOG_DIR_SCRIPT, JOB_STATE, 'worktree_prepare.sh', 'git_token.sh', LOGS=LOGS)
GIT_START = re.compile(r'(\r?\ngit=start\r?\n)')


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        **JOB_ARGUMENT_SPEC,
        **MAINTAINER_ARGUMENT_SPEC,
        'repo_url': {'type': 'str'},
        'upstream_url': {'type': 'str'},
        'state': {'type': 'str', 'default': 'present', 'choices': ['present', 'absent', 'released']},
        'lock_grace': {'type': 'int', 'default': 120},
        'start_head': {'type': 'str'},
        'token_file': {'type': 'str', 'default': ''},
        'base_branch': {'type': 'str', 'default': ''},
        'issue_text': {'type': 'str', 'default': ''},
        'github_api': {'type': 'str', 'default': DEFAULT_API},
        'history': {'type': 'str', 'default': 'full', 'choices': ['full', 'blobless']},
        'keep_pull_refs': {'type': 'int', 'default': 50},
        'pull_ref_days': {'type': 'int', 'default': 30},
    }
    RANGES = {'lock_grace': (0, MAX_GRACE, 'seconds'), 'keep_pull_refs': (0, 100000, 'pull refs'),
              'pull_ref_days': (0, 36500, 'days')}

    @staticmethod
    def _token_file(args, repo_url, upstream):
        """The token file for git when one is given and the token goes to the GitHub it belongs
        to, never another host (every HTTPS URL is that GitHub's); else None."""
        if not args['token_file']:
            return None
        api = validate_api_url(args['github_api'], 'github_api')
        urls = [u for u in (repo_url, upstream) if u.startswith(('http://', 'https://'))]
        if urls and all(token_goes_to(u, api) for u in urls):
            return args['token_file']
        return None

    def act(self, args, task_vars):
        name = job_name(args['pr'], args['action'])
        maintainer = validate_container_name(args['maintainer'], 'maintainer')
        data_root = validate_host_dir(args['data_root'], 'data_root')
        worktree = job_paths(data_root, name)['worktree_dir']
        state = args['state']

        if state == 'present':
            repo_url = validate_repo_url(args['repo_url'], 'repo_url')
            upstream = validate_repo_url(args['upstream_url'], 'upstream_url', required=False)
            # lost (the 8th): the start of a lost run, whose hold is taken over; PREPARE_SCRIPT fills it in
            params = ['prepare', DEV, name, str(int(args['pr'])), repo_url, upstream, str(args['lock_grace']), '',
                      args['history'], str(args['keep_pull_refs']), str(args['pull_ref_days'])]
            if args['base_branch']:
                params += [validate_branch(args['base_branch'], 'base_branch'), args['issue_text'][:65536]]
            git_out = None
            if self._task.check_mode:
                # one round trip: the job container's state and the job's newest run
                rc, out, err = self.cli.sh(STATE_CHECK_SCRIPT, 'offload-state', [data_root, name, self.cli.docker_bin],
                                           'read the state of job %s' % name, check=False)
            else:
                # one round trip: the same, then (neither runs) git's prepare in the maintainer container
                rc, out, err = self.cli.sh(PREPARE_SCRIPT, 'offload-prepare',
                                           [data_root, name, self.cli.docker_bin, maintainer, JOB_USER,
                                            self._token_file(args, repo_url, upstream) or '', GIT_SCRIPT] + params,
                                           'prepare worktree %s' % name, check=False)
                # a terminal on the way (sudo with requiretty) makes the line ends \r\n
                out, marker, git_out = (GIT_START.split(out, maxsplit=1) + [None, None])[:3]
                if marker is not None:
                    rc, facts, err = self.cli.git_answer(maintainer, rc, git_out, err)
                else:
                    git_out = None
            if git_out is None and rc != 0:
                raise AnsibleActionFail('job %s not started: cannot read its runs on %s: %s' % (
                    name, self._worker_name(task_vars), (_kv.parse(out).get('error') or err or out).strip()[:300]))
            stamp, how, started = run_state(out)
            if how == 'running':
                # the job runs under its supervisor: the job's task attaches to it
                return {'changed': False, 'worktree': worktree, 'job': name, 'running': True, 'run': stamp}
            if 'status=running' in out.splitlines():
                raise AnsibleActionFail(
                    'job %s is already running on %s: follow it with logs.yml, or stop it with '
                    'clean.yml -e pr=%s -e force=true' % (name, self._worker_name(task_vars), args['pr']))
            if self._task.check_mode:
                return {'changed': True, 'worktree': worktree}
            del started  # PREPARE_SCRIPT gave git a lost run's start
            if git_out is None:
                raise AnsibleActionFail('job %s not started: the worktree script on %s said neither that the job '
                                        'runs nor what git did: %s' % (
                                            name, self._worker_name(task_vars),
                                            (err or out).strip()[:300] or 'exit %d' % rc))
        else:
            if self._task.check_mode:
                return {'changed': state == 'absent', 'worktree': worktree}
            params = ['remove' if state == 'absent' else 'release', DEV, name]
            rc, facts, err = self.cli.git(maintainer, params, '%s worktree %s' % (params[0], name))
        if rc != 0 and disk_full(err):
            raise AnsibleActionFail(disk_full_message(
                self._worker_name(task_vars), data_root, 'git %sd the worktree %s' % (params[0], name)))
        if rc != 0:
            reason = facts.get('error') or 'exit %d' % rc
            detail = [line for line in err.strip().splitlines() if not line.startswith('offload-git:')][-3:]
            raise AnsibleActionFail('git could not %s the worktree %s on %s: %s%s' % (
                params[0], name, self._worker_name(task_vars), reason,
                ''.join('\n  git: ' + line for line in detail)))
        result = {
            'changed': facts.get('changed') == '1',
            'worktree': worktree,
            'job': name,
        }
        if state == 'present':
            result.update(head=facts.get('head'), base=facts.get('base'), gitdir=facts.get('gitdir'), running=False)
        else:
            result['existed'] = facts.get('exists') == '1'
            if result['existed']:
                result['head'] = facts.get('head')
                result['dirty'] = facts.get('dirty') == '1'
                # What the job did to its worktree: moved HEAD or left changes.
                result['modified'] = result['dirty'] or bool(
                    args['start_head'] and args['start_head'] != result['head'])
                if state == 'released':
                    result['changed'] = result['modified']
                    result['tampered'] = facts.get('tampered') == '1'
                    if result['tampered']:
                        result['changed'] = True
                        result['warnings'] = [
                            'job %s rewrote the files that tell git where its repository is (.git, commondir, '
                            'gitdir, HEAD or index): its worktree was removed instead of kept' % name]
        return result
