"""The github_auth role: the token on the worker's tmpfs, in jobs, and nowhere else (issue 5)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess

import pytest

from fixtures_offload import docker

TOKEN = 'github_pat_11TESTTOKEN0000000000_%s' % hashlib.sha256(os.urandom(16)).hexdigest()[:40]


def auth(worker, token=TOKEN, *args, extra=None):
    env = {'OFFLOAD_GH_TOKEN': token} if token is not None else {}
    return worker.playbook(*args, playbook='github_auth.yml', extra=extra, env=env)


def test_no_token_fails_with_the_prefilled_creation_link(worker):
    proc = auth(worker, token='', extra={'offload_repo_url': 'https://github.com/me/gemini-cli.git',
                                         'offload_upstream_url': 'https://github.com/google-gemini/gemini-cli'})
    assert proc.returncode != 0
    assert ('https://github.com/settings/personal-access-tokens/new?name=gcli-offload-local-worker'
            '&repositories[]=google-gemini/gemini-cli&repositories[]=me/gemini-cli'
            '&contents=write&pull_requests=write&metadata=read') in proc.stdout.replace('\n', '').replace(' ', '')
    assert not os.path.exists(os.path.join(worker.secrets_dir, 'gh_token'))


def test_token_mirrored_to_tmpfs_idempotent_rotated_and_wiped(worker):
    path = os.path.join(worker.secrets_dir, 'gh_token')
    first = auth(worker)
    assert first.returncode == 0, first.stdout
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 1000
    assert stat.S_IMODE(os.stat(worker.secrets_dir).st_mode) == 0o700
    assert open(path).read() == TOKEN
    assert 'changed=1' in first.stdout.replace(' ', '')
    again = auth(worker)
    assert again.returncode == 0 and 'changed=0' in again.stdout.replace(' ', ''), again.stdout
    rotated = auth(worker, TOKEN + 'x')
    assert rotated.returncode == 0 and 'changed=1' in rotated.stdout.replace(' ', '')
    assert open(path).read() == TOKEN + 'x'
    wiped = auth(worker, None, extra={'offload_github_auth_state': 'absent'})
    assert wiped.returncode == 0 and 'changed=1' in wiped.stdout.replace(' ', ''), wiped.stdout
    assert not os.path.exists(path)
    for proc in (first, again, rotated, wiped):
        assert TOKEN not in proc.stdout + proc.stderr


def test_a_secret_is_refused_on_a_persistent_disk(worker, tmp_path):
    disk_dir = str(tmp_path / 'on-disk')
    proc = auth(worker, extra={'offload_secrets_dir': disk_dir})
    assert proc.returncode != 0
    # no_log hides the module's message: the task's failure is reported without the secret
    assert TOKEN not in proc.stdout + proc.stderr
    assert not os.path.exists(os.path.join(disk_dir, 'gh_token'))


def test_the_job_gets_the_token_as_a_read_only_file(worker):
    assert auth(worker).returncode == 0
    probe = ['sh', '-c', 'echo "file=$OFFLOAD_GH_TOKEN_FILE"; sha256sum "$OFFLOAD_GH_TOKEN_FILE"; '
                         'if echo x >"$OFFLOAD_GH_TOKEN_FILE"; then echo TOKEN-WRITABLE; fi']
    proc = worker.playbook('-e', 'pr=1', extra={'offload_job_command': probe, 'offload_job_command_token': True})
    log = open(worker.logs()[0]).read()
    assert proc.returncode == 0, proc.stdout + log
    assert 'file=/run/secrets/gh_token' in log
    assert hashlib.sha256(TOKEN.encode()).hexdigest() in log
    assert 'TOKEN-WRITABLE' not in log


def _processes_with(needle):
    found = []
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    if needle.encode() in f.read():
                        found.append(pid)
            except OSError:
                pass
    return found


def _grep_files(root, needle):
    proc = subprocess.run(['grep', '-rlF', '--', needle, root], capture_output=True, text=True, check=False)
    return [p for p in proc.stdout.splitlines() if p]


@pytest.mark.parametrize('verbosity', ['-vvvv'])
def test_the_token_never_leaks_on_the_ssh_worker(cos_worker, verbosity):
    """Planted token: not in -vvvv output, process arguments, docker inspect, or any persistent file."""
    setup = auth(cos_worker, TOKEN, verbosity)
    assert setup.returncode == 0, setup.stdout[-3000:]
    job = cos_worker.start_blocking_job(pr=1, before='test -s "$OFFLOAD_GH_TOKEN_FILE" || exit 3; ',
                                        args=(verbosity,), extra={'offload_job_command_token': True}, drain=True)
    try:
        # process arguments: nothing on this machine (host, worker, containers) carries it
        assert _processes_with(TOKEN) == []
        # container metadata of every container on the engine
        ids = docker('ps', '-aq').stdout.split()
        assert TOKEN not in docker('inspect', *ids).stdout
        out = cos_worker.finish(job)
    finally:
        cos_worker.reap(job)
    assert job.returncode == 0, out[-3000:]
    assert 'JOB-DONE' in open(cos_worker.logs()[-1]).read()
    # at maximum verbosity, neither run printed it
    assert TOKEN not in setup.stdout + setup.stderr
    assert TOKEN not in out
    # files: not on the data disk, not in the controller's logs, not in the worker's own file system
    assert _grep_files(cos_worker.data_root, TOKEN) == []
    assert _grep_files(cos_worker.log_dest, TOKEN) == []
    in_worker = cos_worker.host.ssh('sudo', 'grep', '-rlF', '--exclude-dir=proc', '--exclude-dir=sys',
                                    '--exclude-dir=dev', '--exclude-dir=mnt', '--', TOKEN, '/').stdout.split()
    assert in_worker == []
    # ...but it is there, on the tmpfs, for jobs
    assert json.dumps(open(os.path.join(cos_worker.secrets_dir, 'gh_token')).read()) == json.dumps(TOKEN)


def _typed_at_the_prompt(worker, wait=60):
    """Run github_auth.yml in a pty, type TOKEN at its hidden prompt; return (prompted, exit code, output).

    A run whose prompt never showed within `wait` seconds is stopped: prompted is then False."""
    import pty
    import select
    import termios
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: ansible-playbook in the pty
        env = {k: v for k, v in os.environ.items() if k != 'OFFLOAD_GH_TOKEN'}
        env.update(ANSIBLE_NOCOLOR='1')
        os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        argv = worker.command('github_auth.yml', {'offload_gh_token_prompt': True})
        os.execvpe(argv[0], argv, env)
    seen, typed, typed_at = b'', 0, 0.0
    deadline = time.monotonic() + wait
    while typed or time.monotonic() < deadline:
        ready, _w, _x = select.select([fd], [], [], 1)
        if not ready:
            if typed and time.monotonic() > deadline + 120:
                break
            if 0 < typed < 3 and time.monotonic() - typed_at > 10:
                # ansible-core shows the prompt, then turns echo off and flushes the
                # terminal's input: typing in between is thrown away. Type it again.
                os.write(fd, TOKEN.encode() + b'\r')
                typed, typed_at = typed + 1, time.monotonic()
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if not typed and b'input hidden' in seen:
            # wait until the prompt has turned echo off (the hidden input mode)
            while termios.tcgetattr(fd)[3] & termios.ECHO and time.monotonic() < deadline:
                time.sleep(0.01)
            os.write(fd, TOKEN.encode() + b'\r')
            typed, typed_at = 1, time.monotonic()
    done, status = os.waitpid(pid, os.WNOHANG)
    while not done and time.monotonic() < deadline + 130:  # its output ended: it is exiting
        time.sleep(0.05)
        done, status = os.waitpid(pid, os.WNOHANG)
    if not done:  # still running: stop it, and show what it printed
        os.kill(pid, 9)
        status = os.waitpid(pid, 0)[1]
    os.close(fd)
    return bool(typed), (os.waitstatus_to_exitcode(status) if done else None), seen.decode(errors='replace')


def test_the_token_can_be_typed_at_a_hidden_prompt(worker):
    """In a terminal (a pty here), with no OFFLOAD_GH_TOKEN, the role asks for the token."""
    typed, code, seen = _typed_at_the_prompt(worker)
    assert typed, 'no prompt within 60 s:\n' + seen[-2000:]
    assert code == 0, seen[-2000:]
    assert TOKEN not in seen  # not echoed, not logged
    assert open(os.path.join(worker.secrets_dir, 'gh_token')).read() == TOKEN
