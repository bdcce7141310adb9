# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The GitHub REST API, as the collection uses it (pull requests, issues, their comments,
opening a pull request), from the controller, which has the token from its source
(OFFLOAD_GH_TOKEN, Vault): the token stays off the worker's argv and out of every URL.

`api.github.com` or a GitHub Enterprise Server (`https://HOST/api/v3`). Retried, bounded:
5xx answers and rate limits (429, or 403 with `X-RateLimit-Remaining: 0` or a secondary
rate limit's message), waiting what `Retry-After` or `X-RateLimit-Reset` says, at most
`max_wait` seconds a time; a limit that lifts later than that fails at once saying when.
A refusal says what to do: a 401 that the token is not valid, a 403 which permission the
token lacks (GitHub's `X-Accepted-GitHub-Permissions`), with the pre-filled link that
creates a token with the rights a job needs.
"""

from __future__ import annotations

import json
import re
import time

from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit
from urllib.request import Request, build_opener, HTTPRedirectHandler

from ansible_collections.gcli.offload.plugins.module_utils._github import pat_link

DEFAULT_API = 'https://api.github.com'
# The options every GitHub-side action plugin takes: where the API is, the token, and the name
# its pre-filled creation link gives a new token.
GITHUB_ARGUMENT_SPEC = {
    'api_url': {'type': 'str', 'default': DEFAULT_API},
    'token': {'type': 'str', 'default': '', 'no_log': True},
    'token_name': {'type': 'str', 'default': 'gcli-offload'},
}
USER_AGENT = 'gcli.offload'
REPO_RE = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}\Z')
_LOOPBACK = re.compile(r'^(?:127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d+)?\Z')


class GitHubError(Exception):
    """A GitHub API call that failed, with what to do (`permission`: the one the token lacks)."""

    def __init__(self, message, status=None, permission=None):
        super().__init__(message)
        self.status, self.permission = status, permission


def validate_api_url(value, variable='offload_github_api'):
    """https://api.github.com, or a GitHub Enterprise Server API (https://HOST/api/v3);
    plain http only on loopback (a test server). No credentials, no query."""
    from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError, shown
    if not isinstance(value, str) or len(value) > 512:
        raise InputError(variable, 'must be the GitHub API URL (https://api.github.com or https://HOST/api/v3)')
    parts = urlsplit(value)
    ok_scheme = parts.scheme == 'https' or (parts.scheme == 'http' and _LOOPBACK.match(parts.netloc or ''))
    if not ok_scheme or not parts.netloc or '@' in parts.netloc or parts.query or parts.fragment \
            or re.search(r'[\s\'"`$;|&<>\\]', value):
        raise InputError(variable, 'must be an https URL of the GitHub API (https://api.github.com, or '
                         'https://HOST/api/v3 for GitHub Enterprise), without credentials; got %s' % shown(value))
    return value.rstrip('/')


def validate_repo(value, variable):
    from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError, shown
    if not isinstance(value, str) or not REPO_RE.match(value) or '..' in value:
        raise InputError(variable, 'must be a GitHub repository as OWNER/NAME, got %s' % shown(value))
    return value


def web_url(api_url):
    """The web side of an API: https://github.com for api.github.com, else the API's scheme and host."""
    parts = urlsplit(api_url)
    if parts.netloc == 'api.github.com':
        return 'https://github.com'
    return '%s://%s' % (parts.scheme, parts.netloc)


def token_host(api_url):
    """The host name the token belongs to (git sends it to that host only)."""
    return urlsplit(web_url(api_url)).hostname


def token_link(api_url, repositories, name='gcli-offload'):
    """The pre-filled link creating a fine-grained token with a job's rights, on that GitHub."""
    link = pat_link(name, repositories)
    return link.replace('https://github.com', web_url(api_url), 1)


class _NoRedirect(HTTPRedirectHandler):
    """A redirect is followed by the client itself, never with the token to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # pylint: disable=too-many-arguments
        return None


class GitHubAPI:
    """Calls to one GitHub's REST API with one token. `opener` and `sleep` are seams for tests."""

    def __init__(self, token, api_url=DEFAULT_API, retries=5, max_wait=60, timeout=30, repositories=(),
                 sleep=time.sleep, clock=time.time, opener=None, token_name='gcli-offload'):
        self.api_url = api_url.rstrip('/')
        self._token = token
        self.retries, self.max_wait, self.timeout = retries, max_wait, timeout
        self.repositories = [r for r in repositories if r]
        self._sleep, self._clock = sleep, clock
        self._opener = opener or build_opener(_NoRedirect)
        self.token_name = token_name
        self.waited = 0.0

    # -- the calls the collection makes ------------------------------------------------
    def repo(self, repo):
        return self.call('GET', '/repos/%s' % repo, need='metadata=read')

    def pull(self, repo, number):
        return self.call('GET', '/repos/%s/pulls/%d' % (repo, number), need='pull_requests=read')

    def issue(self, repo, number):
        return self.call('GET', '/repos/%s/issues/%d' % (repo, number), need='issues=read')

    def comments(self, repo, number):
        found, page = [], 1
        while True:
            batch = self.call('GET', '/repos/%s/issues/%d/comments?per_page=100&page=%d' % (repo, number, page),
                              need='pull_requests=read')
            found += batch
            if len(batch) < 100 or page >= 50:
                return found
            page += 1

    def create_comment(self, repo, number, body):
        return self.call('POST', '/repos/%s/issues/%d/comments' % (repo, number), {'body': body},
                         need='pull_requests=write')

    def update_comment(self, repo, comment_id, body):
        return self.call('PATCH', '/repos/%s/issues/comments/%d' % (repo, comment_id), {'body': body},
                         need='pull_requests=write')

    def create_pull(self, repo, head, base, title, body, draft=True):
        return self.call('POST', '/repos/%s/pulls' % repo,
                         {'head': head, 'base': base, 'title': title, 'body': body, 'draft': bool(draft)},
                         need='pull_requests=write')

    # -- the transport -----------------------------------------------------------------
    def link(self):
        return token_link(self.api_url, self.repositories, self.token_name)

    def call(self, method, path, body=None, need=None):
        """The decoded JSON answer of `method path`; GitHubError when it fails for good."""
        url = self.api_url + quote(path, safe='/?&=%')
        data = json.dumps(body).encode() if body is not None else None
        what = '%s %s' % (method, path.split('?')[0])
        attempt = 0
        while True:
            attempt += 1
            request = Request(url, data=data, method=method, headers={
                'Accept': 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28',
                'User-Agent': USER_AGENT, 'Authorization': 'Bearer %s' % self._token,
                **({'Content-Type': 'application/json'} if data is not None else {})})
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    raw = response.read()
                    return json.loads(raw) if raw else {}
            except HTTPError as err:
                status, headers = err.code, err.headers
                try:
                    payload = json.loads(err.read() or b'{}')
                except ValueError:
                    payload = {}
                message = payload.get('message', '') if isinstance(payload, dict) else ''
                wait = self._retry_wait(status, headers, message, attempt)
                if wait is None:
                    raise self._error(what, status, headers, message, need) from None
            except (URLError, OSError) as err:
                if attempt > self.retries:
                    raise GitHubError('cannot reach the GitHub API at %s (%s): %s' % (
                        self.api_url, what, getattr(err, 'reason', err))) from None
                wait = min(2 ** (attempt - 1), self.max_wait)
            self.waited += wait
            self._sleep(wait)

    def _retry_wait(self, status, headers, message, attempt):
        """Seconds to wait before trying again, or None: not to be retried (or no tries left)."""
        limited = status == 429 or (status == 403 and (
            headers.get('X-RateLimit-Remaining') == '0' or 'rate limit' in message.lower()))
        if not (limited or status >= 500) or attempt > self.retries:
            if limited and attempt > self.retries:
                raise GitHubError('the GitHub API at %s is still rate limiting after %d tries: %s' % (
                    self.api_url, attempt, message or status), status=status)
            return None
        wait = None
        if headers.get('Retry-After', '').strip().isdigit():
            wait = int(headers['Retry-After'])
        elif limited and headers.get('X-RateLimit-Reset', '').strip().isdigit():
            wait = max(0, int(headers['X-RateLimit-Reset']) - int(self._clock())) + 1
        if wait is None:
            wait = min(2 ** (attempt - 1), self.max_wait) if status >= 500 else 60
        if wait > self.max_wait:
            raise GitHubError('the GitHub API at %s is rate limiting this token for %d s more (more than the %d s '
                              'this run waits): try again later' % (self.api_url, wait, self.max_wait), status=status)
        return wait

    def _error(self, what, status, headers, message, need):
        if status == 401:
            return GitHubError('the GitHub token was refused by %s (401 %s): it is not valid (expired, revoked or '
                               'mistyped). Create one with the rights a job needs: %s' % (
                                   self.api_url, message or 'Bad credentials', self.link()), status=status)
        if status == 403:
            permission = headers.get('X-Accepted-GitHub-Permissions') or need or 'unknown'
            return GitHubError('the GitHub token may not %s (403 %s): it needs the permission %s on the repository. '
                               'Create a token with it: %s' % (what, message or 'Forbidden', permission, self.link()),
                               status=status, permission=permission)
        if status == 404:
            return GitHubError('%s: not found (404) at %s; for a private repository the token needs access to it '
                               '(%s): %s' % (what, self.api_url, need or 'metadata=read', self.link()), status=status)
        return GitHubError('%s failed at %s: %d %s' % (what, self.api_url, status, message), status=status)
