"""The GitHub API client against the loopback fake (tests/fixtures/github_fake.py): the calls,
retries on 5xx and rate limits (waiting what the server says, bounded), and refusals that say
which permission the token lacks, with the token link."""

from __future__ import annotations

import os
import sys
import time

import pytest

from ansible_collections.gcli.offload.plugins.module_utils._github_api import (
    GitHubAPI,
    GitHubError,
    token_host,
    token_link,
    validate_api_url,
    web_url,
)
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures'))
from github_fake import FakeGitHub  # noqa: E402  pylint: disable=wrong-import-position

WRITE, READ = 'github_pat_write', 'github_pat_read'


@pytest.fixture
def hub(tmp_path):
    h = FakeGitHub(tmp_path)
    h.add_token(WRITE)
    h.add_token(READ, contents='read', pull_requests='read', issues='read')
    h.add_repo('up/calc')
    h.add_repo('me/calc', fork_of='up/calc')
    h.add_issue('up/calc', 3, 'Add div', 'calc needs div')
    yield h
    h.stop()


def client(hub, token=WRITE, **kw):
    waits = []
    api = GitHubAPI(token, hub.api_url, sleep=waits.append, repositories=['up/calc', 'me/calc'], **kw)
    return api, waits


def test_calls(hub):
    api, waits = client(hub)
    assert api.repo('up/calc')['default_branch'] == 'main'
    assert api.issue('up/calc', 3)['title'] == 'Add div'
    made = api.create_comment('up/calc', 3, 'first')
    api.update_comment('up/calc', made['id'], 'second')
    assert [c['body'] for c in api.comments('up/calc', 3)] == ['second']
    assert waits == []


def test_5xx_is_retried_with_backoff_then_succeeds(hub):
    hub.fail('GET', '/repos/up/calc', status=502, count=2)
    api, waits = client(hub)
    assert api.repo('up/calc')['full_name'] == 'up/calc'
    assert waits == [1, 2]
    assert [c[2] for c in hub.calls] == [502, 502, 200]


def test_5xx_gives_up_after_the_retries(hub):
    hub.fail('GET', '/repos/up/calc', status=503, count=10)
    api, waits = client(hub, retries=2)
    with pytest.raises(GitHubError, match='503'):
        api.repo('up/calc')
    assert len(waits) == 2


def test_rate_limits_wait_what_the_server_says(hub):
    hub.fail('GET', '/repos/up/calc', status=429, headers={'Retry-After': '7'})
    hub.fail('GET', '/repos/up/calc/issues/3', status=403, body={'message': 'API rate limit exceeded'},
             headers={'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': str(int(time.time()) + 20)})
    api, waits = client(hub)
    api.repo('up/calc')
    api.issue('up/calc', 3)
    assert waits[0] == 7 and 19 <= waits[1] <= 22


def test_a_rate_limit_longer_than_the_bound_fails_at_once(hub):
    hub.fail('GET', '/repos/up/calc', status=403, body={'message': 'API rate limit exceeded'},
             headers={'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': str(int(time.time()) + 3000)})
    api, waits = client(hub, max_wait=60)
    with pytest.raises(GitHubError, match='rate limiting this token for .* s more'):
        api.repo('up/calc')
    assert waits == []


def test_a_token_without_the_permission_says_which_with_the_link(hub):
    api, waits = client(hub, token=READ)
    with pytest.raises(GitHubError) as err:
        api.create_comment('up/calc', 3, 'x')
    assert err.value.permission in ('issues=write', 'pull_requests=write')
    assert 'needs the permission' in str(err.value)
    assert 'settings/personal-access-tokens/new?' in str(err.value) and 'repositories[]=up/calc' in str(err.value)
    assert waits == []  # a permission error is not retried
    assert READ not in str(err.value)


def test_a_bad_token_says_so(hub):
    api, _waits = client(hub, token='github_pat_nope')
    with pytest.raises(GitHubError, match='not valid') as err:
        api.repo('up/calc')
    assert 'github_pat_nope' not in str(err.value)


def test_unreachable_is_retried_then_named(hub):
    url = hub.api_url
    hub.stop()
    api = GitHubAPI(WRITE, url, sleep=lambda s: None, retries=1, timeout=2)
    with pytest.raises(GitHubError, match='cannot reach the GitHub API at %s' % url):
        api.repo('up/calc')


@pytest.mark.parametrize('url', ['https://api.github.com', 'https://ghe.example.com/api/v3', 'http://127.0.0.1:8080'])
def test_api_urls_accepted(url):
    assert validate_api_url(url) == url


@pytest.mark.parametrize('url', ['http://api.github.com', 'https://u:p@api.github.com', 'ftp://x', '',
                                 'https://x/?a=1', 'https://api.github.com;rm'])
def test_api_urls_refused(url):
    with pytest.raises(InputError, match='offload_github_api'):
        validate_api_url(url)


def test_enterprise_links_and_hosts():
    assert web_url('https://api.github.com') == 'https://github.com'
    assert token_host('https://ghe.example.com/api/v3') == 'ghe.example.com'
    assert token_link('https://ghe.example.com/api/v3', ['o/r']).startswith(
        'https://ghe.example.com/settings/personal-access-tokens/new?')
