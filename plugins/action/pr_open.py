# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""After an implement job whose branch was pushed: a draft pull request from it, through the
GitHub API on the controller."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.gcli.offload.plugins.module_utils._delivery import validate_branch
from ansible_collections.gcli.offload.plugins.module_utils._github_api import (
    GITHUB_ARGUMENT_SPEC,
    GitHubAPI,
    GitHubError,
    validate_api_url,
    validate_repo,
)
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError
from ansible_collections.gcli.offload.plugins.module_utils._jobs import validate_pr


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC = {
        'repo': {'type': 'str', 'required': True},
        'head_repo': {'type': 'str', 'required': True},
        'branch': {'type': 'str', 'required': True},
        'base': {'type': 'str', 'required': True},
        'issue': {'type': 'raw', 'required': True},
        'title': {'type': 'str', 'default': ''},
        'draft': {'type': 'bool', 'default': True},
        **GITHUB_ARGUMENT_SPEC,
    }

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        try:
            repo = validate_repo(args['repo'], 'repo')
            head_repo = validate_repo(args['head_repo'], 'head_repo')
            branch = validate_branch(args['branch'], 'branch')
            base = validate_branch(args['base'], 'base')
            issue = validate_pr(args['issue'], 'issue')
            api_url = validate_api_url(args['api_url'], 'offload_github_api')
        except InputError as exc:
            raise AnsibleActionFail('invalid input %s (no pull request was opened)' % exc)
        head = branch if head_repo == repo else '%s:%s' % (head_repo.split('/')[0], branch)
        title = args['title'] or 'Implement #%d' % issue
        body = 'Closes #%d.\n\nImplemented by an offloaded agent job (gcli.offload): review it before marking it ready.' % (
            issue)
        if self._task.check_mode:
            result.update(changed=True)
            return result
        api = GitHubAPI(args['token'], api_url, repositories=[repo, head_repo], token_name=args['token_name'])
        try:
            pull = api.create_pull(repo, head, base, title, body, draft=args['draft'])
        except GitHubError as exc:
            raise AnsibleActionFail('the branch %s was pushed, but no pull request could be opened from it on %s: %s'
                                    % (head, repo, exc))
        result.update(changed=True, number=pull.get('number'), url=pull.get('html_url'), draft=pull.get('draft'),
                      msg='opened draft pull request #%s for issue %d: %s' % (
                          pull.get('number'), issue, pull.get('html_url')))
        return result
