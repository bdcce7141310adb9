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
