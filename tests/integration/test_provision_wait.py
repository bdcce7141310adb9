"""The worker wait of provision.yml (roles/worker_vm tasks/wait.yml, worker_ready) against real things:
a real sshd on a loopback port as the worker's SSH, and the local Docker engine as its docker.

What a COS VM adds and this cannot show: cloud-init starting the container, the IAP tunnel, OS Login, sudo.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest
from fixtures_provision import PlaybookRunner, docker, free_port, poll, recap

WAIT_PLAY = '''
- name: Wait for the worker
  hosts: worker
  gather_facts: false
  tasks:
    - name: Wait
      ansible.builtin.import_role:
        name: gcli.offload.worker_vm
        tasks_from: wait
'''


@pytest.fixture
def wait_run(tmp_path, sshd):
    """Runs the wait entry point against host `worker` = the loopback sshd (or another port)."""
    playbook = tmp_path / 'wait.yml'
    playbook.write_text(WAIT_PLAY)
    runner = PlaybookRunner(tmp_path)

    def run(container, port=None, timeout=20, interval=1, docker_bin='docker', popen=False):
        inventory = tmp_path / 'hosts.yml'
        inventory.write_text(
            'all:\n  hosts:\n    worker:\n      ansible_host: 127.0.0.1\n      ansible_port: %d\n'
            '      ansible_user: %s\n      ansible_ssh_private_key_file: %s\n'
            '      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n'
            % (port or sshd.port, sshd.user, sshd.key))
        extra = {'offload_maintainer_name': container, 'offload_wait_timeout': timeout,
                 'offload_wait_interval': interval, 'offload_docker_bin': docker_bin}
        if popen:
            varsfile = tmp_path / 'vars.json'
            varsfile.write_text(__import__('json').dumps(extra))
            return subprocess.Popen(['ansible-playbook', str(playbook), '-i', str(inventory), '-e', '@%s' % varsfile],
                                    cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=runner.env)
        return runner(str(playbook), extra, '-i', str(inventory))
    return run


def test_ready_when_the_container_runs(wait_run, maintainer_stand_in):
    name = maintainer_stand_in('running')
    proc = wait_run(name)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'container %s runs on the worker (after 1 attempt(s)' % name in proc.stdout
    assert recap(proc.stdout, 'worker') == dict(recap(proc.stdout, 'worker'), changed=0, failed=0)


def test_waits_until_the_container_starts(wait_run, maintainer_stand_in, tmp_path):
    """The container exists but is stopped when the wait begins; it is started once the wait has looked once."""
    name = maintainer_stand_in('created')
    calls = tmp_path / 'docker-calls'
    wrapper = tmp_path / 'docker-logged'
    wrapper.write_text('#!/bin/sh\necho "$*" >> %s\nexec docker "$@"\n' % calls)
    wrapper.chmod(0o755)
    proc = wait_run(name, timeout=60, interval=1, docker_bin=str(wrapper), popen=True)
    try:
        poll(lambda: calls.exists() and calls.read_text().count('inspect') >= 1 or proc.poll() is not None,
             60, 'the first check of the worker')
        assert proc.poll() is None, 'the wait ended before the container was started:\n' + proc.stdout.read()
        docker('start', name)
        out = proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    attempts = int(re.search(r'after (\d+) attempt\(s\)', out).group(1))
    assert attempts >= 2 and calls.read_text().count('inspect') == attempts


def test_times_out_when_the_container_never_appears(wait_run):
    start = time.monotonic()
    proc = wait_run('prov-absent-container', timeout=3, interval=1)
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    assert 'worker worker was not ready after 3 s' in proc.stdout
    assert 'no container prov-absent-container on the worker yet' in proc.stdout
    assert 'boot log' in proc.stdout
    assert elapsed < 60


def test_times_out_when_the_container_is_stopped(wait_run, maintainer_stand_in):
    name = maintainer_stand_in('created')
    proc = wait_run(name, timeout=3, interval=1)
    assert proc.returncode != 0
    assert 'container %s is created' % name in proc.stdout and 'docker logs %s' % name in proc.stdout


def test_times_out_when_nothing_answers(wait_run):
    """Nothing listens on the port: each attempt is a failed connection, retried until the deadline."""
    port = free_port()
    start = time.monotonic()
    proc = wait_run('maintainer-worker', port=port, timeout=4, interval=1)
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    assert 'worker worker was not ready after 4 s' in proc.stdout
    assert 'the connection failed' in proc.stdout and 'Connection refused' in proc.stdout
    assert 'firewall' in proc.stdout
    assert elapsed < 60
    # more than one attempt was made: a failed connection is not the end of the wait
    assert int(re.search(r'after 4 s \((\d+) attempts\)', proc.stdout).group(1)) >= 2
