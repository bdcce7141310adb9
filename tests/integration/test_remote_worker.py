"""offload.yml over SSH on a COS-like worker: no Python, no git on the host (issue 5)."""

from __future__ import annotations

import os

from fixtures_offload import docker


def test_the_worker_really_has_no_python_and_no_git(cos_worker):
    proc = cos_worker.host.ssh('sh', '-c', 'command -v python3 python git; echo end')
    assert proc.stdout.strip() == 'end'


def test_the_full_offload_flow_over_ssh(cos_worker):
    proc = cos_worker.playbook('-e', 'pr=1')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'job offload-1-review on cos-worker succeeded' in proc.stdout
    log = open(cos_worker.logs()[0]).read()
    assert 'Ran 2 tests' in log
    assert not os.path.exists(cos_worker.worktree(1))
    assert cos_worker.job_containers() == []


def test_a_failing_job_over_ssh_shows_the_log_and_cleans_up(cos_worker):
    proc = cos_worker.playbook('-e', 'pr=2')
    assert proc.returncode != 0
    assert 'AssertionError: -1 != 5' in proc.stdout
    assert not os.path.exists(cos_worker.worktree(2))
    assert docker('ps', '-aq', '--filter', 'name=^offload-2-review$').stdout.strip() == ''


def test_attach_gives_a_command_that_reaches_the_running_job(cos_worker):
    import json
    import shlex
    import subprocess

    job = cos_worker.start_blocking_job(pr=1)
    try:
        proc = cos_worker.playbook('-e', 'pr=1', playbook='attach.yml', extra={}, env={'ANSIBLE_STDOUT_CALLBACK': 'json'})
        assert proc.returncode == 0, proc.stdout
        result = json.loads(proc.stdout)['plays'][0]['tasks'][0]['hosts']['cos-worker']
        argv = result['argv']
        assert argv[:2] == ['ssh', '-t'] and argv[-1] == 'sudo docker exec -it offload-1-review /bin/bash'
        # run it without a terminal, with a command in place of the shell
        remote = shlex.split(argv[-1])
        remote[remote.index('-it')] = '-i'
        remote[-1:] = ['sh', '-c', 'pwd; id -u']
        argv = ['ssh', '-T', '-o', 'BatchMode=yes'] + [a for a in argv[1:-1] if a != '-t'] + [shlex.join(remote)]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert out.stdout.split() == ['/home/node/dev/worktree', '1000'], out.stderr
        missing = cos_worker.playbook('-e', 'pr=5', playbook='attach.yml')
        assert missing.returncode != 0 and 'offload-5-review is not running on cos-worker' in missing.stdout
    finally:
        cos_worker.finish(job)


def test_offload_attach_opens_a_shell_in_the_running_job(cos_worker):
    import os
    import subprocess

    from fixtures_offload import ROOT

    job = cos_worker.start_blocking_job(pr=1)
    try:
        argv = [os.path.join(ROOT, 'bin/offload-attach')] + cos_worker.command('attach.yml', None, ['-e', 'pr=1'])[2:]
        shell = subprocess.run(argv, input='pwd\nid -u\ngit log -1 --format=%s\nexit\n', capture_output=True,
                               text=True, timeout=120, cwd=ROOT, check=False)
        assert shell.returncode == 0, shell.stderr
        assert shell.stdout.split('\n')[:3] == ['/home/node/dev/worktree', '1000', 'calc: add mul']
    finally:
        cos_worker.finish(job)
