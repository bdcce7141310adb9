"""Where a job's commits go (delivery plan) and the review comment, against the loopback fake API."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.gcli.offload.plugins.module_utils._delivery import (
    COMMENT_LIMIT,
    plan,
    repo_of_url,
    review_comment,
    review_text,
    token_goes_to,
    upsert_comment,
    url_for,
    validate_branch,
)
from ansible_collections.gcli.offload.plugins.module_utils._github_api import GitHubAPI, GitHubError
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..')
sys.path.insert(0, os.path.join(ROOT, 'tests', 'fixtures'))
from github_fake import FakeGitHub  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def hub(tmp_path):
    seed = str(tmp_path / 'seed.git')
    subprocess.run([os.path.join(ROOT, 'tests', 'fixtures', 'make-upstream'), seed], check=True)
    h = FakeGitHub(tmp_path)
    h.add_token('w')
    h.add_token('r', contents='read')
    h.add_repo('up/calc', source=seed)
    h.add_repo('me/calc', fork_of='up/calc')
    h.add_repo('them/calc', fork_of='up/calc')
    for repo in ('up/calc', 'them/calc'):
        h.add_pull('up/calc', 1 if repo == 'up/calc' else 2, head='main', head_repo=repo, maintainer_can_modify=False)
    h.add_pull('up/calc', 3, head='main', head_repo='them/calc', maintainer_can_modify=True)
    yield h
    h.stop()


def api(hub, token='w'):
    return GitHubAPI(token, hub.api_url, sleep=lambda s: None)


URL = 'https://github.com/up/calc.git'


def test_a_same_repository_pull_request_is_pushed_to_with_a_lease(hub):
    where = plan(api(hub), 'up/calc', 1, 'fix', URL)
    assert (where['mode'], where['url'], where['branch']) == ('lease', URL, 'main')


def test_a_fork_that_lets_maintainers_push_is_pushed_to_on_the_configured_host(hub):
    where = plan(api(hub), 'up/calc', 3, 'fix', URL)
    assert (where['mode'], where['url'], where['target']) == ('lease', 'https://github.com/them/calc.git', 'them/calc')


def test_a_fork_that_does_not_goes_to_a_branch_of_yours(hub):
    where = plan(api(hub), 'up/calc', 2, 'fix', URL, fork='me/calc')
    assert (where['mode'], where['url'], where['branch']) == ('new', 'https://github.com/me/calc.git', 'offload/pr-2-fix')
    assert where['compare_base'].endswith('/up/calc/compare/main...me:')
    with pytest.raises(GitHubError, match='set offload_fork'):
        plan(api(hub), 'up/calc', 2, 'fix', URL)


def test_a_token_that_cannot_push_fails_with_the_link(hub):
    with pytest.raises(GitHubError, match='cannot push to up/calc .*contents=write.*personal-access-tokens'):
        plan(api(hub, 'r'), 'up/calc', 1, 'fix', URL)


def test_urls_and_names():
    assert repo_of_url('https://github.com/o/r.git') == 'o/r' and repo_of_url('file:///x/o/r') is None
    assert url_for('http://127.0.0.1:9/up/calc.git', 'me/calc') == 'http://127.0.0.1:9/me/calc.git'
    assert token_goes_to('https://github.com/o/r', 'https://api.github.com')
    assert not token_goes_to('https://evil.example/o/r', 'https://api.github.com')
    assert not token_goes_to('ssh://git@github.com/o/r', 'https://api.github.com')
    assert token_goes_to('https://ghe.example/o/r', 'https://ghe.example/api/v3')
    for bad in ('-x', 'a..b', 'a.lock', 'a b', 'a/', '@{x}', ''):
        with pytest.raises(InputError):
            validate_branch(bad, 'branch')
    assert validate_branch('offload/pr-1-fix', 'branch')


def test_the_review_text_and_comment():
    log = '[build] ok\n[ai_review] Looks good\n[ai_review] one nit\n==> review: build ok'
    assert review_text(log) == 'Looks good\none nit'
    assert review_text('plain\nlog') == 'plain\nlog'
    body = review_comment(5, {'build': {'state': 'ok', 'rc': 0, 'duration': 3},
                              'ai_review': {'state': 'failed', 'rc': 2, 'duration': 1}}, 'x ``` y', 'offload-5-review', 1)
    assert body.startswith('<!-- gcli.offload:review pr=5 -->')
    assert '| build | ok | 3 |' in body and '| ai_review | FAILED (exit 2) | 1 |' in body and "x ''' y" in body
    assert len(review_comment(5, {}, 'x' * 100000, 'j', 0)) <= COMMENT_LIMIT


def test_the_comment_is_updated_in_place(hub):
    first, created = upsert_comment(api(hub), 'up/calc', 1, review_comment(1, {}, 'one', 'j', 0))
    again, created_again = upsert_comment(api(hub), 'up/calc', 1, review_comment(1, {}, 'two', 'j', 0))
    assert created and not created_again and first['id'] == again['id']
    assert [c['body'].count('two') for c in hub.comments_on('up/calc', 1)] == [1]
