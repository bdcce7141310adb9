"""Attacks through the inputs, run for real on the local Docker worker (offload.yml,
github_auth.yml): each test performs the attack and fails if it works.

- the GitHub token: a malformed one is refused on the controller and never written;
  the pull request's own build and tests do not get it; whatever a job prints of it is
  *** in the stored log, the fetched copy, the failure message and -vvvv output; a
  token inside the repository URL is refused before anything touches the worker.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from fixtures_offload import ROOT

TOKEN = 'github_pat_11ATTACK0000000000_%s' % hashlib.sha256(os.urandom(16)).hexdigest()[:40]
ENTRYPOINT = os.path.join(ROOT, 'docker', 'offload-entrypoint')


def auth(worker, token=TOKEN, *args, extra=None):
    return worker.playbook(*args, playbook='github_auth.yml', extra=extra, env={'OFFLOAD_GH_TOKEN': token})


def token_file(worker):
    return os.path.join(worker.secrets_dir, 'gh_token')


def entrypoint_command(before=''):
    """The repository's entrypoint (not the one baked into the shared image), after `before`."""
    with open(ENTRYPOINT, encoding='utf-8') as f:
        script = f.read()
    return ['sh', '-c', before + 'exec sh -c "$0" offload-entrypoint "$@"', script, '1', 'review']


# --- the token is checked before it is mirrored -------------------------------------

@pytest.mark.parametrize('bad, words', [
    ('ghp_Zq9SECRET abc0123456789012345', 'has characters a GitHub token never has'),
    ('ghp_Zq9SECRET0123456789012345;touch${IFS}/tmp/x', 'has characters a GitHub token never has'),
    ('ghp_Zq9SECRET$(id)0123456789012345678', 'has characters a GitHub token never has'),
    ('ghp_Zq9SECRET0123456789012345\nsecond-line', 'has characters a GitHub token never has'),
    ('ghp_Zq9SECRET' + 'A' * (1 << 20), 'has 1048589 characters'),
    ('ghp_Zq9SECRET', 'has 13 characters'),
], ids=['space', 'shell', 'subshell', 'two-lines', '1MB', 'short'])
def test_a_malformed_token_is_refused_on_the_controller_and_never_written(worker, bad, words):
    # as a variable (a 1 MB environment value is more than execve takes)
    proc = worker.playbook(playbook='github_auth.yml', extra={'offload_gh_token': bad})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-2000:]
    assert words in out and 'nothing was written to the worker' in out, out[-3000:]
    assert 'Zq9SECRET' not in out  # never echoed
    assert len(out) < 20000
    assert not os.path.lexists(token_file(worker))


def test_one_trailing_newline_is_stripped(worker):
    proc = auth(worker, TOKEN + '\n')
    assert proc.returncode == 0, proc.stdout[-2000:]
    with open(token_file(worker), encoding='utf-8') as f:
        assert f.read() == TOKEN


# --- only gh and git's credential helper get it ---------------------------------------

def test_the_pull_requests_build_and_tests_do_not_get_the_token(worker):
    """The PR's `make test` prints its environment and asks git for github.com credentials."""
    assert auth(worker).returncode == 0
    makefile = ('test:\n\t@echo "BUILD-GH_TOKEN=[$${GH_TOKEN:-}]"\n'
                '\t@printf "protocol=https\\nhost=github.com\\n\\n" | GIT_TERMINAL_PROMPT=0 git credential fill'
                ' 2>/dev/null | sed -n "s/^password=/BUILD-PASSWORD=/p"\n\t@echo BUILD-DONE\n')
    before = "printf '%%s' '%s' >Makefile; " % makefile  # the PR's Makefile (no ' in it)
    proc = worker.playbook('-e', 'pr=1', extra={'offload_job_command': entrypoint_command(before)})
    log = open(worker.logs()[-1]).read()
    assert 'BUILD-DONE' in log, proc.stdout[-3000:] + log
    assert 'GitHub token read from /run/secrets/gh_token' in log
    assert 'BUILD-GH_TOKEN=[]' in log, log
    assert 'BUILD-PASSWORD' not in log, log


# --- whatever reaches the log is masked ------------------------------------------------

def test_the_token_a_job_prints_is_masked_in_every_copy_of_its_log(worker):
    assert auth(worker).returncode == 0
    # The job (the PR's code) prints the token raw: from the file, inside a line, alone, twice.
    probe = ['sh', '-c', 't=$(cat "$OFFLOAD_GH_TOKEN_FILE"); echo "JOB-SAW:$t:$t:end"; cat "$OFFLOAD_GH_TOKEN_FILE"; '
                         'echo; printf "%s" "$t" | sha256sum; env | sed -n "s/^OFFLOAD_GH/ENV-OFFLOAD_GH/p"; exit 3']
    proc = worker.playbook('-vvvv', '-e', 'pr=1', extra={'offload_job_command': probe})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    stored = worker.worker_log('offload-1-review')
    fetched = open(worker.logs()[-1]).read()
    # the job did see it: its hash is in the log, the token itself nowhere
    assert hashlib.sha256(TOKEN.encode()).hexdigest() in stored
    for where, text in (('the stored log', stored), ('the fetched log', fetched), ('-vvvv output', out)):
        assert TOKEN not in text, where
    assert 'JOB-SAW:***:***:end' in stored and stored == fetched
    # the failure message's last lines show it masked
    assert 'JOB-SAW:***:***:end' in out and 'failed with exit code 3' in out
    # the next run reads it the same way: logs.yml
    shown = worker.playbook('-e', 'pr=1', playbook='logs.yml')
    assert 'JOB-SAW:***:***:end' in shown.stdout and TOKEN not in shown.stdout


# --- no token in the repository URL ------------------------------------------------------

@pytest.mark.parametrize('variable', ['offload_repo_url', 'offload_upstream_url'])
def test_a_token_inside_the_repository_url_is_refused(worker, variable):
    url = 'https://x-access-token:%s@github.com/me/repo.git' % TOKEN
    proc = worker.playbook('-vvvv', '-e', 'pr=1', extra={variable: url})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert '%s: must not carry credentials' % variable in out and 'github_auth.yml' in out, out[-3000:]
    assert TOKEN not in out
    assert not os.path.exists(worker.data_root)  # nothing reached the worker: no clone, no .git/config
