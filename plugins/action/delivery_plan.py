# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Before a job that makes commits: where they will be pushed (module_utils/_delivery.py),
from the pull request's metadata through the GitHub API, on the controller (which has the
token from its source; it never reaches the worker's argv). A token that cannot push
there fails here, before the job, with the link that creates one that can."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.gcli.offload.plugins.module_utils._delivery import plan, repo_of_url, token_goes_to
from ansible_collections.gcli.offload.plugins.module_utils._github import github_repo
from ansible_collections.gcli.offload.plugins.module_utils._github_api import (
    GITHUB_ARGUMENT_SPEC,
    GitHubAPI,
    GitHubError,
    token_link,
    validate_api_url,
    validate_repo,
)
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError
from ansible_collections.gcli.offload.plugins.module_utils._jobs import validate_action, validate_pr, validate_repo_url


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC = {
        'pr': {'type': 'raw', 'required': True},
        'action': {'type': 'raw', 'default': 'fix'},
        'upstream_url': {'type': 'str', 'required': True},
        'repo': {'type': 'str', 'default': ''},
        'fork': {'type': 'str', 'default': ''},
        'fork_url': {'type': 'str', 'default': ''},
        **GITHUB_ARGUMENT_SPEC,
    }

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        try:
            pr = validate_pr(args['pr'])
            action = validate_action(args['action'])
            api_url = validate_api_url(args['api_url'], 'offload_github_api')
            upstream_url = validate_repo_url(args['upstream_url'], 'offload_upstream_url')
            repo = validate_repo(args['repo'] or github_repo(upstream_url) or repo_of_url(upstream_url) or '',
                                 'offload_github_repo')
            fork = validate_repo(args['fork'], 'offload_fork') if args['fork'] else ''
            fork_url = validate_repo_url(args['fork_url'], 'offload_fork_url', required=False)
        except InputError as exc:
            raise AnsibleActionFail('invalid delivery input %s (no job was started)' % exc)
        repositories = [repo] + ([fork] if fork else [])
        link = token_link(api_url, repositories, args['token_name'])
        if not args['token']:
            raise AnsibleActionFail(
                'action=%s pushes its commits, which needs the GitHub token on the controller (OFFLOAD_GH_TOKEN, or '
                'offload_gh_token from Ansible Vault); no job was started. A fine-grained token with the rights a job '
                'needs: %s' % (action, link))
        api = GitHubAPI(args['token'], api_url, repositories=repositories, token_name=args['token_name'])
        try:
            where = plan(api, repo, pr, action, upstream_url, fork=fork or None, fork_url=fork_url or None, link=link)
        except GitHubError as exc:
            raise AnsibleActionFail('%s (pull request %d of %s)' % (exc, pr, repo))
        except InputError as exc:
            raise AnsibleActionFail('invalid delivery input %s (no job was started)' % exc)
        if not token_goes_to(where['url'], api_url):
            raise AnsibleActionFail(
                'the commits would be pushed to %s, which is not on the GitHub the token belongs to (%s): set '
                'offload_upstream_url (and offload_fork_url) to https URLs of that GitHub; no job was started'
                % (where['url'], api_url))
        result.update(where, changed=False, repo=repo)
        return result
