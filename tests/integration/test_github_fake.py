"""The loopback GitHub the delivery tests use holds what they rely on: git over HTTP needs
the token for clone, fetch and push (a read-only token cannot push), and the fake REST API
answers with the token's permissions, faults on demand and GitHub's error shapes."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

from fixtures_github import READ_TOKEN, WRITE_TOKEN


def git(*args, cwd=None, token=None):
    """Host git with the token given by a credential helper reading an environment variable."""
    helper = ['-c', 'credential.helper=', '-c',
              'credential.helper=!f() { echo username=x-access-token; echo "password=$TOKEN"; }; f'] if token else []
    env = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'HOME': '/nonexistent', 'GIT_TERMINAL_PROMPT': '0',
           'TOKEN': token or '', 'GIT_AUTHOR_NAME': 't', 'GIT_AUTHOR_EMAIL': 't@example.invalid',
           'GIT_COMMITTER_NAME': 't', 'GIT_COMMITTER_EMAIL': 't@example.invalid'}
    return subprocess.run(['git'] + helper + list(args), cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)


def api(hub, method, path, token=WRITE_TOKEN, body=None):
    req = urllib.request.Request(hub.api_url + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={'Authorization': 'Bearer ' + token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.load(resp), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err), dict(err.headers)


def test_git_needs_the_token_and_write_rights(github, tmp_path):
    url = github.git_url('up/calc')
    denied = git('clone', '-q', url, str(tmp_path / 'anon'))
    assert denied.returncode != 0 and not (tmp_path / 'anon').exists()
    assert github.requests[-1] == ('GET', '/up/calc.git/info/refs', None)
    wrong = git('clone', '-q', url, str(tmp_path / 'wrong'), token='github_pat_nope')
    assert wrong.returncode != 0
    ok = git('clone', '-q', '--filter=blob:none', url, str(tmp_path / 'c'), token=READ_TOKEN)
    assert ok.returncode == 0, ok.stderr
    work = str(tmp_path / 'c')
    assert git('commit', '-q', '--allow-empty', '-m', 'x', cwd=work).returncode == 0
    refused = git('push', 'origin', 'HEAD:refs/heads/new', cwd=work, token=READ_TOKEN)
    assert refused.returncode != 0 and '403' in refused.stderr
    assert github.ref('up/calc', 'refs/heads/new') == ''
    pushed = git('push', 'origin', 'HEAD:refs/heads/new', cwd=work, token=WRITE_TOKEN)
    assert pushed.returncode == 0, pushed.stderr
    assert github.ref('up/calc', 'refs/heads/new') == git('rev-parse', 'HEAD', cwd=work).stdout.strip()
    assert ('POST', '/up/calc.git/git-receive-pack', 'token') in github.requests


def test_pull_refs_follow_the_head_branch(github, tmp_path):
    # a fork's branch, its pull request on the upstream
    clone = str(tmp_path / 'c')
    assert git('clone', '-q', github.git_url('me/calc'), clone, token=WRITE_TOKEN).returncode == 0
    git('commit', '-q', '--allow-empty', '-m', 'feat', cwd=clone)
    assert git('push', '-q', 'origin', 'HEAD:refs/heads/feat', cwd=clone, token=WRITE_TOKEN).returncode == 0
    github.add_pull('up/calc', 7, head='feat', head_repo='me/calc', maintainer_can_modify=False)
    head = github.ref('me/calc', 'refs/heads/feat')
    assert github.ref('up/calc', 'refs/pull/7/head') == head
    git('commit', '-q', '--allow-empty', '-m', 'more', cwd=clone)
    assert git('push', '-q', 'origin', 'HEAD:refs/heads/feat', cwd=clone, token=WRITE_TOKEN).returncode == 0
    assert github.ref('up/calc', 'refs/pull/7/head') == github.ref('me/calc', 'refs/heads/feat') != head
    status, pull, _headers = api(github, 'GET', '/repos/up/calc/pulls/7')
    assert status == 200 and pull['head']['repo']['full_name'] == 'me/calc' and pull['head']['ref'] == 'feat'
    assert pull['maintainer_can_modify'] is False and pull['head']['repo']['fork'] is True
    assert pull['head']['sha'] == github.ref('me/calc', 'refs/heads/feat')


def test_api_permissions_comments_pulls_and_faults(github):
    github.add_issue('up/calc', 5, 'Add div', 'calc needs div')
    status, body, headers = api(github, 'POST', '/repos/up/calc/issues/5/comments', token=READ_TOKEN,
                                body={'body': 'x'})
    assert status == 403 and headers['X-Accepted-GitHub-Permissions'] in ('issues=write', 'pull_requests=write')
    assert api(github, 'GET', '/repos/up/calc', token='nope')[0] == 401
    status, comment, _headers = api(github, 'POST', '/repos/up/calc/issues/5/comments', body={'body': 'one'})
    assert status == 201
    assert api(github, 'PATCH', '/repos/up/calc/issues/comments/%d' % comment['id'], body={'body': 'two'})[0] == 200
    assert [c['body'] for c in api(github, 'GET', '/repos/up/calc/issues/5/comments')[1]] == ['two']
    status, pull, _headers = api(github, 'POST', '/repos/up/calc/pulls',
                                 body={'title': 't', 'head': 'main', 'base': 'main', 'draft': True})
    assert status == 201 and pull['draft'] is True and github.ref('up/calc', 'refs/pull/%d/head' % pull['number'])
    github.fail('GET', '/repos/up/calc', status=503, count=2, headers={'Retry-After': '0'})
    assert [api(github, 'GET', '/repos/up/calc')[0] for _try in range(3)] == [503, 503, 200]
    status, repo, _headers = api(github, 'GET', '/repos/up/calc', token=READ_TOKEN)
    assert repo['permissions']['push'] is False
