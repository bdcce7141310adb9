"""The job container's sandbox against a hostile pull request: bounded resources (memory,
processes, CPUs, the data disk's reserve).

Each test makes the job do what a hostile or broken PR would (allocate past its memory,
fork past its process limit, start on a nearly full disk) and checks that the limit holds
and that the failure says which limit it was. The jobs use PRs 60-79 of an upstream of
this module's own, so they never meet other tests' jobs on the shared Docker engine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from fixtures_offload import Worker, docker, pr_upstream, small_disk_worker

SANDBOX_PRS = range(60, 80)
MIB = 1024 ** 2


@pytest.fixture(scope='module')
def sandbox_upstream(tmp_path_factory):
    """make-upstream's repository plus pull refs 60-79."""
    return pr_upstream(tmp_path_factory.mktemp('sandbox-upstream'), SANDBOX_PRS, 'sandbox')


@pytest.fixture
def local(tmp_path, sandbox_upstream, job_image):
    w = Worker(tmp_path, sandbox_upstream, job_image)
    w.host_name = 'local-worker'
    yield w
    for name in w.job_containers():
        docker('rm', '-f', name, check=False)
    w.cleanup()


@pytest.fixture
def cos(cos_worker_host, tmp_path, sandbox_upstream, job_image):
    """The COS-like worker over SSH (the host's Docker engine, through its socket)."""
    w = Worker(tmp_path, sandbox_upstream, job_image, data_root=cos_worker_host.data_root,
               inventory=cos_worker_host.inventory, secrets_dir=cos_worker_host.secrets_dir)
    w.host_name = 'cos-worker'
    yield w
    for name in w.job_containers():
        docker('rm', '-f', name, check=False)
    docker('rm', '-f', w.maintainer, check=False)
    subprocess.run(['find', cos_worker_host.data_root, '-mindepth', '1', '-delete'], check=False)


@pytest.fixture(params=['local', 'cos'])
def any_worker(request):
    return request.getfixturevalue(request.param)


def job(pr, action='review'):
    return 'offload-%d-%s' % (pr, action)


def run_job(w, pr, command, **extra):
    return w.playbook('-e', 'pr=%d' % pr, extra=dict({'offload_job_command': ['sh', '-c', command]}, **extra))


def meminfo_bytes():
    with open('/proc/meminfo') as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith('MemTotal:'))


# ---- resources --------------------------------------------------------------------------------

def test_every_job_gets_limits_derived_from_the_worker(any_worker):
    w = any_worker
    pr = 60 if w.host_name == 'local-worker' else 61
    proc = w.start_blocking_job(pr)
    try:
        host = json.loads(docker('container', 'inspect', '--format', '{{json .HostConfig}}', job(pr)).stdout)
    finally:
        out = w.finish(proc, pr)
    assert proc.returncode == 0, out
    cpus = os.cpu_count()
    # 3/4 of the worker's memory and CPUs (at least one), 1024 processes and threads per CPU, no swap
    assert host['Memory'] == int(meminfo_bytes() * 0.75) // MIB * MIB
    assert host['MemorySwap'] == host['Memory']
    assert host['NanoCpus'] == int(max(1.0, round(cpus * 0.75, 2)) * 1e9)
    assert host['PidsLimit'] == 1024 * cpus
    assert w.job_containers() == []  # removed after the run (no --rm: the runner removes it)


def test_a_job_past_its_memory_limit_is_killed_and_the_message_names_the_limit(any_worker):
    w = any_worker
    pr = 62 if w.host_name == 'local-worker' else 63
    hog = 'echo JOB-STARTED; python3 -c "a = b\'x\' * (256 * 1024 * 1024); print(len(a))"'
    proc = run_job(w, pr, hog, offload_job_memory='64m')
    assert proc.returncode != 0
    assert ('job %s on %s was killed by the out-of-memory killer: it reached its memory limit of 64 MiB '
            '(offload_job_memory; %s has ' % (job(pr), w.host_name, w.host_name)) in proc.stdout, proc.stdout
    assert w.job_containers() == []
    # the control: the same job with room enough succeeds, so the limit is what killed it
    assert run_job(w, pr, hog, offload_job_memory='1g').returncode == 0


def test_a_job_forking_past_its_process_limit_fails_naming_the_limit(local):
    w = local
    pr = 64
    forks = 'echo JOB-STARTED; i=0; while [ $i -lt 100 ]; do sleep 1 & i=$((i + 1)); done; wait'
    proc = run_job(w, pr, forks, offload_job_pids='32')
    assert proc.returncode != 0
    assert ('job %s on local-worker failed with exit code 2, and its log shows processes or threads it could '
            'not create (Resource temporarily unavailable): it most likely reached its limit of 32 processes and '
            'threads (offload_job_pids)' % job(pr)) in proc.stdout, proc.stdout
    [log] = w.logs()
    assert 'Cannot fork' in open(log).read()
    # the control: 100 processes at once are fine under the default limit
    assert run_job(w, pr, forks).returncode == 0


def test_limits_beyond_the_worker_are_refused_before_the_job_starts(local):
    w = local
    pr = 65
    marker = 'touch /home/node/dev/worktree/RAN'
    proc = run_job(w, pr, marker, offload_job_cpus=str(os.cpu_count() + 1))
    assert proc.returncode != 0
    assert 'offload_job_cpus: must be at most %d, the CPUs of local-worker' % os.cpu_count() in proc.stdout
    assert w.logs() == [] and w.job_containers() == []


# ---- the data disk ----------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path, sandbox_upstream, job_image):
    """A local worker whose data root is a small tmpfs."""
    with small_disk_worker(tmp_path, sandbox_upstream, job_image, '32m') as w:
        yield w


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_a_job_does_not_start_when_the_data_disk_is_below_its_reserve(small_disk):
    w = small_disk
    pr = 66
    marker = 'echo JOB-RAN; touch RAN'
    assert run_job(w, pr, 'true').returncode == 0  # the clone
    # leave 4 MiB free: a job needs 8 MiB to start
    filler = os.path.join(w.mount, 'filler')
    subprocess.run(['dd', 'if=/dev/zero', 'of=' + filler, 'bs=1M', 'count=%d' % (free_bytes(w.mount) // MIB - 4)],
                   capture_output=True, check=True)
    proc = run_job(w, pr, marker, offload_job_disk_reserve='8m', offload_keep_worktree=True)
    assert proc.returncode != 0
    assert re.search(r'job %s not started: the data disk of local-worker has [34](\.[0-9])? MiB free at %s, less '
                     r'than the 8 MiB that offload_job_disk_reserve keeps free for the other jobs and the logs'
                     % (job(pr), re.escape(w.data_root)), proc.stdout), proc.stdout
    assert not os.path.exists(os.path.join(w.worktree(pr), 'RAN')) and w.job_containers() == []
    # once there is room again the same job runs
    os.unlink(filler)
    again = run_job(w, pr, marker, offload_job_disk_reserve='8m')
    assert again.returncode == 0, again.stdout
    assert 'JOB-RAN' in open(w.logs()[-1]).read()
