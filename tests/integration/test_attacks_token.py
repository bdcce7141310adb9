"""The GitHub token against the pull request's own build and tests, performed through real
offload.yml runs on the local and the COS-like SSH worker; each test fails if the attack
works. See docs/security.md, "Where tokens live".

The attacker is the pull request: its `make test` (the build part of a review, the same uid
as every part) looks for the token everywhere it could be: the mounted file, the environment,
every process's environment and root it can see under /proc (the parts that need the token,
`gh pr checks` and the AI review, run at the same time). What it finds it prints reversed
(the log's mask only knows the token as it is) and leaves in the kept worktree.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from fixtures_offload import git

TOKEN = 'github_pat_11ATTACK000000000000_%s' % uuid.uuid4().hex
LOOT = ''.join([
    'test:\n',
    '\t@for f in /run/secrets/gh_token "$$OFFLOAD_GH_TOKEN_FILE" /proc/[0-9]*/environ /proc/[0-9]*/root/run/secrets/gh_token \\\n',
    '\t  /proc/[0-9]*/root/proc/[0-9]*/environ; do cat "$$f" 2>/dev/null; echo; done | tr \'\\0\' \'\\n\' >loot\n',
    '\t@env >>loot\n',
    '\t@sleep 2; for f in /proc/[0-9]*/environ /proc/[0-9]*/root/run/secrets/gh_token; do cat "$$f" 2>/dev/null; echo; done \\\n',
    "\t  | tr '\\0' '\\n' >>loot\n",
    '\t@echo "LOOT-BEGIN $$(rev <loot | tr \'\\n\' \' \') LOOT-END"\n',
    '\tpython3 -m unittest -v\n',
])


@pytest.fixture(params=['local', 'ssh'])
def any_worker(request):
    return request.getfixturevalue('worker' if request.param == 'local' else 'cos_worker')


def hostile_pr(upstream_dir, tmp_path, pr, makefile=LOOT, files=None):
    """Pull request `pr` of the upstream: PR 1 with the Makefile above (or `makefile`), and
    `files` ({path: text}) added."""
    repo = str(upstream_dir / 'upstream.git')
    work = str(tmp_path / ('pr-%d' % pr))
    git('clone', '-q', repo, work)
    git('-C', work, 'fetch', '-q', 'origin', 'refs/pull/1/head')
    git('-C', work, 'checkout', '-q', 'FETCH_HEAD')
    with open(os.path.join(work, 'Makefile'), 'w') as f:
        f.write(makefile)
    for name, text in (files or {}).items():
        os.makedirs(os.path.dirname(os.path.join(work, name)) or work, exist_ok=True)
        with open(os.path.join(work, name), 'w') as f:
            f.write(text)
        git('-C', work, 'add', '-f', name)
    env = dict(os.environ, GIT_AUTHOR_NAME='a', GIT_AUTHOR_EMAIL='a@example.invalid', GIT_COMMITTER_NAME='a',
               GIT_COMMITTER_EMAIL='a@example.invalid')
    subprocess.run(['git', '-C', work, 'commit', '-q', '-am', 'hostile make test'], check=True, env=env)
    git('-C', work, 'push', '-q', 'origin', 'HEAD:refs/pull/%d/head' % pr)


def with_token(worker):
    os.makedirs(worker.secrets_dir, exist_ok=True)
    proc = worker.playbook(playbook='github_auth.yml', env={'OFFLOAD_GH_TOKEN': TOKEN})
    assert proc.returncode == 0, proc.stdout[-3000:]


def found(worker, pr, action='review'):
    """Whether the token reached the attacker: in its reversed print (fetched log) or its loot file."""
    text = ''.join(open(path, errors='replace').read() for path in worker.logs())
    loot = os.path.join(worker.worktree(pr, action), 'loot')
    if os.path.exists(loot):
        text += open(loot, errors='replace').read()
    return TOKEN in text or TOKEN[::-1] in text, text


def test_the_prs_build_never_gets_the_token_while_the_parts_that_need_it_do(any_worker, upstream_dir, tmp_path,
                                                                            private_pr):
    w = any_worker
    with_token(w)
    pr = private_pr()
    hostile_pr(upstream_dir, tmp_path, pr)
    proc = w.playbook('-e', 'pr=%d' % pr, extra={'offload_keep_worktree': True})
    assert proc.returncode == 0, proc.stdout[-3000:]
    leaked, text = found(w, pr)
    assert 'LOOT-BEGIN' in text and '[build] LOOT-BEGIN' in text  # the attack ran, in the build part
    # the job had the token: its checks part read it (the demo image has no gh: it stops there)
    assert '[checks] ==> GitHub token read from /run/secrets/gh_token' in text, text
    assert not leaked, 'the pull request\'s make test got the GitHub token'


def test_control_a_part_given_the_token_is_caught_by_the_same_attack(any_worker, upstream_dir, tmp_path, private_pr):
    """The same make test, run as a custom command given the token: the attack works and the
    check above sees it (so that check can fail)."""
    w = any_worker
    with_token(w)
    pr = private_pr()
    hostile_pr(upstream_dir, tmp_path, pr)
    proc = w.playbook('-e', 'pr=%d' % pr, extra={'offload_keep_worktree': True, 'offload_job_command': ['make', 'test'],
                                                 'offload_job_command_token': True})
    assert proc.returncode == 0, proc.stdout[-3000:]
    leaked, _text = found(w, pr)
    assert leaked
