"""Attacks through the inputs, run for real on the local Docker worker (offload.yml,
github_auth.yml): each test performs the attack and fails if it works.

- the GitHub token: a malformed one is refused on the controller and never written;
  the pull request's own build and tests do not get it; whatever a job prints of it is
  *** in the stored log, the fetched copy, the failure message and -vvvv output; a
  token inside the repository URL is refused before anything touches the worker.
- dangerous places: a data root, gemini dir, secrets directory or log folder in a
  system, kernel or Docker directory is refused before the job, also behind a symlink
  that only the worker resolves; an existing shared directory is never chowned.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import uuid

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
    # the whole entrypoint in one container given the token (as a part that needs it would be):
    # inside it, only gh and the agent get it
    proc = worker.playbook('-e', 'pr=1', extra={'offload_job_command': entrypoint_command(before),
                                                'offload_job_command_token': True})
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
    proc = worker.playbook('-vvvv', '-e', 'pr=1',
                           extra={'offload_job_command': probe, 'offload_job_command_token': True})
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


# --- dangerous places --------------------------------------------------------------------

def job_ran(worker, proc):
    """Did the job container start (its marker in a log, or a container of this worker)?"""
    logs = ''.join(open(p).read() for p in worker.logs())
    return 'JOB-RAN' in proc.stdout + logs or bool(worker.job_containers())


PROBE = ['sh', '-c', 'echo JOB-RAN; ls -a /home/node/.gemini | head -5']


@pytest.mark.parametrize('gemini', ['/proc', '/var/run', '/var/lib/docker', '/etc'])
def test_a_system_directory_as_the_gemini_dir_is_refused_before_the_job(worker, gemini):
    """Mounted read-only in the job, /proc showed every host process's arguments and /var/run the Docker socket."""
    proc = worker.playbook('-e', 'pr=1', extra={'offload_gemini_dir': gemini, 'offload_job_command': PROBE})
    assert proc.returncode != 0
    assert 'offload_gemini_dir: must not be %s or under it' % gemini in proc.stdout, proc.stdout[-3000:]
    assert not job_ran(worker, proc)
    assert not os.path.exists(worker.data_root)


def test_a_gemini_dir_that_is_a_symlink_to_proc_is_refused_where_the_worker_resolves_it(worker, tmp_path):
    link = tmp_path / 'gemini-link'
    os.symlink('/proc', str(link))
    proc = worker.playbook('-e', 'pr=1', extra={'offload_gemini_dir': str(link), 'offload_job_command': PROBE})
    assert proc.returncode != 0
    assert "offload_gemini_dir: must not be /proc or under it (it resolves to '/proc' on the worker)" in proc.stdout, \
        proc.stdout[-3000:]
    assert not job_ran(worker, proc)


def test_a_data_root_that_is_a_symlink_into_run_is_refused_before_anything_is_made(worker, tmp_path):
    target = '/run/gcli-offload-attack-%s' % uuid.uuid4().hex[:8]
    link = tmp_path / 'data-link'
    os.symlink(target, str(link))
    worker.data_root = worker.vars['offload_data_root'] = str(link)
    try:
        proc = worker.playbook('-e', 'pr=1', extra={'offload_job_command': PROBE})
        assert proc.returncode != 0
        assert "data_root: must not be /run or under it (it resolves to '%s' on the worker)" % target in proc.stdout, \
            proc.stdout[-3000:]
        assert not os.path.lexists(target)  # no logs/, main/... made through the link
        assert not job_ran(worker, proc)
    finally:
        shutil.rmtree(target, ignore_errors=True)


@pytest.mark.parametrize('value, words', [
    ('/etc/gcli-offload-logs', 'offload_log_dest: must not be /etc or under it'),
    ('relative/logs', 'offload_log_dest: must be an absolute path'),
    ('__FILE__/logs', 'is a file, not a folder'),
])
def test_a_bad_log_folder_is_refused_before_the_job_runs(worker, tmp_path, value, words):
    afile = tmp_path / 'a-file'
    afile.write_text('x')
    proc = worker.playbook('-e', 'pr=1', extra={'offload_log_dest': value.replace('__FILE__', str(afile)),
                                                'offload_job_command': PROBE})
    assert proc.returncode != 0
    assert words in proc.stdout, proc.stdout[-3000:]
    assert not job_ran(worker, proc) and not os.path.exists(worker.data_root)
    assert not os.path.exists('/etc/gcli-offload-logs')


@pytest.fixture
def shared_tmpfs_dir():
    path = '/dev/shm/gcli-offload-shared-%s' % uuid.uuid4().hex[:8]
    os.mkdir(path)
    os.chmod(path, 0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_shared_tmpfs_directory_is_refused_as_secrets_dir_and_left_as_it_was(worker, shared_tmpfs_dir):
    before = os.stat(shared_tmpfs_dir)
    proc = auth(worker, extra={'offload_secrets_dir': shared_tmpfs_dir})
    assert proc.returncode != 0
    assert 'exists and others may write to it (1777)' in proc.stdout, proc.stdout[-3000:]
    after = os.stat(shared_tmpfs_dir)
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (
        before.st_uid, before.st_gid, stat.S_IMODE(before.st_mode)) == (before.st_uid, before.st_gid, 0o1777)
    assert os.listdir(shared_tmpfs_dir) == []
    assert TOKEN not in proc.stdout + proc.stderr


def test_an_existing_directory_of_ones_own_is_used_but_not_chowned(worker):
    os.makedirs(worker.secrets_dir, mode=0o755)
    proc = auth(worker)
    assert proc.returncode == 0, proc.stdout[-3000:]
    st = os.stat(worker.secrets_dir)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (os.getuid(), 0o755)  # as it was
    assert os.stat(token_file(worker)).st_uid == 1000 and stat.S_IMODE(os.stat(token_file(worker)).st_mode) == 0o600


@pytest.mark.parametrize('secrets', ['/dev/shm', '/run/gcli-offload-attack', '/etc/gcli-offload'])
def test_a_secrets_dir_in_a_system_directory_is_refused(worker, secrets):
    proc = auth(worker, extra={'offload_secrets_dir': secrets})
    assert proc.returncode != 0
    assert 'path: must not be' in proc.stdout and '/dev/shm/<name>' in proc.stdout, proc.stdout[-3000:]
    assert not os.path.lexists(secrets + '/gh_token') and not os.path.lexists('/run/gcli-offload-attack')


def test_a_secrets_dir_that_is_a_symlink_into_run_is_refused(worker):
    target = '/run/gcli-offload-attack-%s' % uuid.uuid4().hex[:8]
    link = '/dev/shm/gcli-offload-link-%s' % uuid.uuid4().hex[:8]
    os.symlink(target, link)
    try:
        proc = auth(worker, extra={'offload_secrets_dir': link})
        assert proc.returncode != 0
        assert "resolves to '%s' on the worker" % target in proc.stdout, proc.stdout[-3000:]
        assert not os.path.lexists(target)
    finally:
        os.unlink(link)
        shutil.rmtree(target, ignore_errors=True)
