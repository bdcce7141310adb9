# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a job's commits go (decided on the controller, before the job, from the pull
request's metadata), and the rules for the names involved.

- The pull request's head branch when that is allowed: a same-repository pull request,
  or a fork's whose author lets maintainers push (`maintainer_can_modify`). Pushed with
  a lease on the head the job started from (`lease`): nobody's newer commits are
  overwritten.
- Otherwise a new branch on the user's fork (`offload_fork`, or the repository the
  worker clones when an upstream is set: the user's fork), `offload/pr-<n>-<action>-<sha>`
  (`new`), with a compare URL to open a pull request from it.

The push URL is never the API's `clone_url`: it is the configured repository URL with
the other repository's OWNER/NAME in its path, so the token goes to the configured host
only (and only when that is the GitHub the token belongs to).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible_collections.gcli.offload.plugins.module_utils._github_api import GitHubError, token_host
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError, shown

_PATH_REPO = re.compile(r'^(.*/)([A-Za-z0-9-]+)/([A-Za-z0-9._-]+?)(\.git)?/?\Z')
BRANCH_RE = re.compile(r'^(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/-]{1,200}(?<![./])(?<!\.lock)\Z')


def repo_of_url(url):
    """'OWNER/NAME' of an http(s) repository URL (the last two parts of its path), else None."""
    if not isinstance(url, str) or not re.match(r'^https?://', url):
        return None
    match = _PATH_REPO.match(urlsplit(url).path)
    return '%s/%s' % (match.group(2), match.group(3)) if match else None


def url_for(url, repo):
    """`url` (an http(s) repository URL) naming `repo` (OWNER/NAME) instead, on the same host."""
    parts = urlsplit(url)
    match = _PATH_REPO.match(parts.path)
    if not match:
        raise InputError('offload_upstream_url', 'must be an https URL ending in OWNER/NAME(.git) to push to, got %s'
                         % shown(url))
    path = '%s%s%s' % (match.group(1), repo, match.group(4) or '')
    return '%s://%s%s' % (parts.scheme, parts.netloc, path)


def token_goes_to(url, api_url):
    """May the token be sent to the host of `url`? Only to the GitHub it belongs to."""
    return bool(re.match(r'^https?://', url or '')) and urlsplit(url).hostname == token_host(api_url)


def validate_branch(value, variable):
    if not isinstance(value, str) or not BRANCH_RE.match(value):
        raise InputError(variable, 'must be a git branch name, got %s' % shown(value))
    return value


def plan(api, repo, pr, action, upstream_url, fork=None, fork_url=None, link=None):
    """-> dict: mode (lease|new), url, branch, target (OWNER/NAME), pull (number, html_url,
    head_sha, base_ref), compare_url (new only), why. GitHubError when the token cannot do it."""
    pull = api.pull(repo, pr)
    head = pull.get('head') or {}
    head_repo = (head.get('repo') or {}).get('full_name')
    same = head_repo == repo
    facts = {'number': pr, 'html_url': pull.get('html_url'), 'head_sha': head.get('sha'),
             'head_repo': head_repo, 'head_ref': head.get('ref'),
             'base_ref': (pull.get('base') or {}).get('ref'),
             'maintainer_can_modify': bool(pull.get('maintainer_can_modify'))}
    if head_repo and (same or pull.get('maintainer_can_modify')):
        target, url, branch, mode = head_repo, url_for(upstream_url, head_repo), head.get('ref'), 'lease'
        why = ('the pull request\'s own branch' if same else
               'the fork\'s branch (the pull request lets maintainers push to it)')
    else:
        target = fork or (repo_of_url(fork_url) if fork_url else None)
        if not target:
            raise GitHubError('pull request %d of %s comes from %s, which does not let maintainers push, and no fork '
                              'of yours is known to push the job\'s commits to: set offload_fork (OWNER/NAME)' % (
                                  pr, repo, head_repo or 'a deleted repository'))
        url = fork_url or url_for(upstream_url, target)
        branch, mode = 'offload/pr-%d-%s' % (pr, action), 'new'
        why = ('your fork %s (the pull request comes from %s, which does not let maintainers push)'
               % (target, head_repo or 'a deleted repository'))
    validate_branch(branch, 'the pull request\'s head branch')
    permissions = api.repo(target).get('permissions') or {}
    if not permissions.get('push'):
        raise GitHubError('the GitHub token cannot push to %s (%s needs the permission contents=write there), so '
                          'the job\'s commits could not be delivered; no job was started. Create a token with it: %s' % (
                              target, action, link or api.link()), status=403, permission='contents=write')
    result = {'mode': mode, 'url': url, 'branch': branch, 'target': target, 'pull': facts, 'why': why}
    if mode == 'new':
        base_html = ((pull.get('base') or {}).get('repo') or {}).get('html_url')
        owner = target.split('/')[0]
        # the branch gets the job's head's short sha appended when it is pushed (job_deliver)
        result['compare_base'] = '%s/compare/%s...%s:' % (base_html, facts['base_ref'], owner) if base_html else ''
    return result


# The hidden marker of the review comment: a re-run finds it and updates that comment.
COMMENT_MARKER = '<!-- gcli.offload:review pr=%d -->'
COMMENT_LIMIT = 60000  # GitHub takes 65536 characters a comment
_ICONS = {'ok': 'ok', 'failed': 'FAILED', 'pending': 'pending', 'running': 'running', 'lost': 'lost'}


def review_text(log_text, part='ai_review'):
    """The AI review's text out of a job's merged log: the lines of `part` (`[part] ` prefix,
    removed), or, for a one-part job (no prefixes), the whole log."""
    prefix = '[%s] ' % part
    lines = log_text.splitlines()
    mine = [line[len(prefix):] for line in lines if line.startswith(prefix)]
    if mine:
        return '\n'.join(mine)
    if any(re.match(r'^\[[a-z_]+\] ', line) for line in lines):
        return ''
    return '\n'.join(lines)


def review_comment(pr, parts, text, job, rc):
    """The comment's Markdown: the marker, each part's status, the AI review's text (cut to fit)."""
    rows = ['| part | status | seconds |', '| --- | --- | --- |']
    for name, part in (parts or {}).items():
        rows.append('| %s | %s%s | %s |' % (name, _ICONS.get(part.get('state'), part.get('state')),
                                            '' if part.get('rc') in (0, None) else ' (exit %s)' % part.get('rc'),
                                            part.get('duration') if part.get('duration') is not None else ''))
    head = '%s\n### offload review of #%d: %s\n\n%s\n' % (
        COMMENT_MARKER % pr, pr, 'ok' if rc == 0 else 'failed (exit %s)' % rc, '\n'.join(rows))
    body = text.strip() or '(no review text)'
    room = COMMENT_LIMIT - len(head) - 200
    if len(body) > room:
        body = body[:room] + '\n[... cut: the whole log is in %s\'s log on the controller]' % job
    return '%s\n<details open><summary>AI review</summary>\n\n```text\n%s\n```\n</details>\n' % (
        head, body.replace('```', "'''"))


def upsert_comment(api, repo, pr, body):
    """Update the comment that carries the marker of `pr` (the first), else create one.
    -> (comment, created)."""
    marker = COMMENT_MARKER % pr
    for comment in api.comments(repo, pr):
        if (comment.get('body') or '').startswith(marker):
            return api.update_comment(repo, comment['id'], body), False
    return api.create_comment(repo, pr, body), True


def issue_plan(api, repo, issue, upstream_url, fork=None, fork_url=None, link=None):
    """implement: the issue's text, the branch to start from (the repository's default), and
    where the new branch goes (your fork when one is known, else the repository itself).
    GitHubError when it is no issue, or the token cannot push there."""
    found = api.issue(repo, issue)
    if found.get('pull_request'):
        raise GitHubError('#%d of %s is a pull request, not an issue: use -e pr=%d for it' % (issue, repo, issue))
    default = api.repo(repo).get('default_branch') or 'main'
    validate_branch(default, 'the default branch of %s' % repo)
    target = fork or (repo_of_url(fork_url) if fork_url else None) or repo
    url = fork_url or url_for(upstream_url, target)
    if not (api.repo(target).get('permissions') or {}).get('push'):
        raise GitHubError('the GitHub token cannot push to %s (implement needs the permission contents=write there, '
                          'and pull_requests=write on %s); no job was started. Create a token with them: %s' % (
                              target, repo, link or api.link()), status=403, permission='contents=write')
    title = found.get('title') or 'issue %d' % issue
    return {'issue': issue, 'title': title, 'base_branch': default, 'url': url, 'target': target,
            'branch': 'offload/issue-%d' % issue, 'html_url': found.get('html_url'),
            'text': '# %s (#%d)\n\n%s\n' % (title, issue, found.get('body') or '')}
