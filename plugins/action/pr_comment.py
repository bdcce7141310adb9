# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""After a review: its result as one comment on the pull request (each part's status and
the AI review's text), found again by a hidden marker and updated in place by a re-run.
On the controller, through the GitHub API (module_utils/_github_api.py)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.gcli.offload.plugins.module_utils._delivery import (
    repo_of_url,
    review_comment,
    review_text,
    upsert_comment,
)
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
from ansible_collections.gcli.offload.plugins.module_utils._jobs import validate_pr, validate_repo_url


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC = {
        'pr': {'type': 'raw', 'required': True},
        'upstream_url': {'type': 'str', 'default': ''},
        'repo': {'type': 'str', 'default': ''},
        'job': {'type': 'str', 'default': ''},
        'rc': {'type': 'int'},
        'parts': {'type': 'dict', 'default': {}},
        'log': {'type': 'path', 'default': ''},
        'part': {'type': 'str', 'default': 'ai_review'},
        **GITHUB_ARGUMENT_SPEC,
    }

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        try:
            pr = validate_pr(args['pr'])
            api_url = validate_api_url(args['api_url'], 'offload_github_api')
            url = validate_repo_url(args['upstream_url'], 'offload_upstream_url', required=False)
            repo = validate_repo(args['repo'] or github_repo(url) or repo_of_url(url) or '', 'offload_github_repo')
        except InputError as exc:
            raise AnsibleActionFail('invalid input %s (nothing was posted)' % exc)
        if not args['token']:
            raise AnsibleActionFail('offload_post=comment needs the GitHub token on the controller (OFFLOAD_GH_TOKEN); '
                                    'nothing was posted. A token with the rights it needs: %s'
                                    % token_link(api_url, [repo], args['token_name']))
        text = ''
        if args['log']:
            with open(args['log'], 'rb') as f:
                text = review_text(to_text(f.read(), errors='surrogate_or_replace'), args['part'])
        body = review_comment(pr, args['parts'], text, args['job'], args['rc'])
        if self._task.check_mode:
            result.update(changed=True, body=body)
            return result
        api = GitHubAPI(args['token'], api_url, repositories=[repo], token_name=args['token_name'])
        try:
            comment, created = upsert_comment(api, repo, pr, body)
        except GitHubError as exc:
            raise AnsibleActionFail('cannot post the review on pull request %d of %s: %s' % (pr, repo, exc))
        result.update(changed=True, created=created, comment_id=comment.get('id'), comment_url=comment.get('html_url'),
                      msg='%s the review comment on pull request %d: %s' % (
                          'posted' if created else 'updated', pr, comment.get('html_url')))
        return result
