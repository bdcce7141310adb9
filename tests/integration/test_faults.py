"""Fault injection (issue 6): the Compute API misbehaving during provision.yml, and the
worker failing under a job: the job container killed, the SSH connection dropped, the
VM stopping, the disk full.

For each fault: a clear failure (or a completed retry), a re-run that converges, and
nothing left behind or lost; the worktree of a failed job stays when
offload_keep_worktree asks for it. The jobs here use PRs 20-39 of an upstream of this
module's own, so they never meet other tests' jobs on the shared Docker engine.
"""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from fixtures_cosworker import CosWorker
from fixtures_offload import Streamed, Worker, docker, pr_upstream, small_disk_worker, wait_for
# the provision fixture: a fresh worker name, alias file and maintainer stand-in per test
from test_provision import ZONE as PROV_ZONE, provision  # noqa: F401 pylint: disable=unused-import

FAULT_PRS = range(20, 40)


@pytest.fixture(scope='module')
def upstream(tmp_path_factory):
    """make-upstream's repository plus pull refs 20-39."""
    return pr_upstream(tmp_path_factory.mktemp('fault-upstream'), FAULT_PRS, 'faults')


@pytest.fixture
def cos(tmp_path, upstream, job_image):
    """A COS-like worker over SSH of this test's own (the tests stop it, cut its connections)."""
    (tmp_path / 'host').mkdir()
    host = CosWorker(tmp_path / 'host')
    w = Worker(tmp_path, upstream, job_image, data_root=host.data_root, inventory=host.inventory,
               secrets_dir=host.secrets_dir)
    w.host = host
    yield w
    for name in w.job_containers():
        docker('rm', '-f', name, check=False)
    docker('rm', '-f', w.maintainer, check=False)
    host.stop()


def worktrees_in_git(worker):
    """`git worktree list` of the main clone (through the maintainer container), one line a worktree."""
    return docker('exec', worker.maintainer, 'git', '-C', '/home/node/dev/main', 'worktree', 'list').stdout


def job_name(pr, action='review'):
    return 'offload-%d-%s' % (pr, action)


def assert_rerun_converges(w, pr, host='local-worker'):
    """The re-run of the same PR succeeds and leaves nothing: no container, no worktree,
    no registration but the main clone's."""
    again = w.playbook('-e', 'pr=%d' % pr)
    assert again.returncode == 0, again.stdout
    assert 'job %s on %s succeeded' % (job_name(pr), host) in again.stdout
    assert w.job_containers() == [] and not os.path.exists(w.worktree(pr))
    assert worktrees_in_git(w).count('\n') == 1


# ---- the job container killed ----------------------------------------------------------------

@pytest.mark.parametrize('keep', [False, True], ids=['removed', 'kept'])
def test_a_killed_job_container_fails_clearly_and_a_rerun_succeeds(local, keep):
    pr = 20 + keep
    name = job_name(pr)
    job = local.start_blocking_job(pr, extra={'offload_keep_worktree': keep})
    try:
        docker('kill', name)  # SIGKILL, as the out-of-memory killer would
        out = job.communicate(timeout=120)[0]
    finally:
        local.reap(job, pr)
    assert job.returncode != 0
    assert 'job %s on local-worker was killed by SIGKILL (exit code 137) from outside' % name in out, out
    # the log: kept on the worker with its exit code, and fetched
    [log] = local.logs()
    assert open(log).read().startswith('JOB-STARTED') and log in out
    files = run_files(local, name)
    assert files['exit'] == '137\n' and files['command.exit'] == '137\n'
    # nothing left: no container; the worktree removed, or kept (unlocked) when asked
    assert local.job_containers() == []
    listed = worktrees_in_git(local)
    if keep:
        assert os.path.exists(os.path.join(local.worktree(pr), 'calc.py'))
        assert name in listed and 'locked' not in listed
    else:
        assert not os.path.exists(local.worktree(pr)) and name not in listed
    # a re-run succeeds (the repository's tests), and leaves nothing either
    assert_rerun_converges(local, pr)


def ssh_sessions(host):
    """Host PIDs of the worker's SSH session processes (not the listening sshd)."""
    out = docker('top', host.name, '-eo', 'pid,args').stdout.splitlines()[1:]
    return [int(line.split(None, 1)[0]) for line in out
            if line.split(None, 1)[1].startswith(('sshd: worker', 'sshd-session: worker'))]


def cut_ssh(host):
    """Kill the worker's SSH sessions (sshd's per-connection processes): the connection drops
    as when a network goes away or sshd restarts; the listening sshd stays."""
    pids = ssh_sessions(host)
    assert pids, 'no SSH session on %s to cut' % host.name
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def run_files(worker, name):
    """The worker's files of the job's newest run: {suffix: text} (log, exit, state...)."""
    folder = os.path.join(worker.data_root, 'logs', name)
    stamp = sorted(f for f in os.listdir(folder) if f.endswith('.state'))[-1][:-len('.state')]
    return {f[len(stamp) + 1:]: open(os.path.join(folder, f)).read() for f in os.listdir(folder) if f.startswith(stamp)}


def ended(worker, name):
    """Whether the job's newest run ended on the worker (its state's last event)."""
    return run_files(worker, name).get('state', '').endswith('\n') and \
        run_files(worker, name)['state'].splitlines()[-1].startswith('end ')


@pytest.mark.parametrize('where', ['local', 'cos'])
def test_a_killed_playbook_leaves_the_job_running_to_its_end_and_a_rerun_converges(request, where):
    """ansible-playbook SIGKILLed mid-job (the laptop closed): the job runs on under its supervisor,
    its log and exit status complete on the worker, its worktree released, nothing left."""
    w = request.getfixturevalue(where)
    pr = 30 + (where == 'cos')
    name = job_name(pr)
    job = w.start_blocking_job(pr)
    try:
        job.kill()
        job.wait(timeout=60)
        assert w.job_state(name) == 'running'  # the job did not go with it
        open(os.path.join(w.worktree(pr), 'stop'), 'w').close()
        wait_for(lambda: ended(w, name), 120, 'the job %s to end on the worker' % name)
    finally:
        w.reap(job, pr)
    files = run_files(w, name)
    assert files['log'] == 'JOB-STARTED\nJOB-DONE\n' and files['exit'] == '0\n'
    assert files['state'].splitlines()[-1].startswith('end ')
    assert w.job_containers() == [] and not os.path.exists(w.worktree(pr))
    assert name not in worktrees_in_git(w)
    assert_rerun_converges(w, pr, 'local-worker' if where == 'local' else 'cos-worker')


def test_ssh_dropping_mid_job_changes_nothing_the_follower_reconnects(cos):
    """The SSH connection cut under the job: the job goes on; the playbook following it reaches
    the worker again and shows the job to its end."""
    pr = 22
    name = job_name(pr)
    job = Streamed(cos.start_blocking_job(pr))
    try:
        job.wait_for('JOB-STARTED')
        cut_ssh(cos.host)
        assert cos.job_state(name) == 'running'
        open(os.path.join(cos.worktree(pr), 'stop'), 'w').close()
        assert job.wait() == 0, job.text()
    finally:
        cos.reap(job.proc, pr)
    out = job.text()
    assert out.index('JOB-STARTED') < out.index('JOB-DONE') < out.index('job %s on cos-worker succeeded' % name)
    assert run_files(cos, name)['log'] == 'JOB-STARTED\nJOB-DONE\n'
    assert cos.job_containers() == [] and not os.path.exists(cos.worktree(pr))
    assert 'locked' not in worktrees_in_git(cos)
    assert_rerun_converges(cos, pr, 'cos-worker')


# ---- the VM stopping mid-job -----------------------------------------------------------------

def power_off_mid_job(cos, pr):
    """Start PR pr's job, then take the "VM" down under it as a VM going down does (every
    container on it dies, sshd and the job's supervisor too); return the run and its output."""
    job = cos.start_blocking_job(pr)
    try:
        cos.host.power_off(job_name(pr), cos.maintainer)
        out = job.communicate(timeout=240)[0]
    finally:
        cos.reap(job, pr)
    return job, out


def test_the_vm_stopping_mid_job_reports_the_job_lost_and_a_rerun_starts_cleanly(cos):
    pr = 24
    name = job_name(pr)
    job, out = power_off_mid_job(cos, pr)
    assert job.returncode != 0
    assert 'lost the connection to cos-worker while following job %s' % name in out, out
    assert 'and cannot reach it again' in out and 'clean.yml -e pr=%d' % pr in out
    # the job died with the VM; its stopped container stays (no --rm) until the next run or reconcile
    assert cos.job_state(name) in (None, 'exited')

    cos.host.power_on()
    # the run is reported lost, with what it printed
    logs = cos.playbook('-e', 'pr=%d' % pr, playbook='logs.yml')
    assert logs.returncode == 0, logs.stdout
    assert 'JOB-STARTED' in logs.stdout and 'lost (its supervisor died' in logs.stdout, logs.stdout
    # a re-run starts cleanly: the lost run's hold on the worktree is taken over at once (it starts
    # the maintainer container again on its way, as the VM's boot would), the job runs, nothing is left
    assert_rerun_converges(cos, pr, 'cos-worker')
    # the interrupted run's log stayed on the worker, beside the new one
    assert len([f for f in os.listdir(os.path.join(cos.data_root, 'logs', name)) if f.endswith('.state')]) == 2


# ---- the disk full ---------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path, upstream, job_image):
    """A local worker whose data root is a small tmpfs (a data disk that can fill up)."""
    with small_disk_worker(tmp_path, upstream, job_image, '24m') as w:
        yield w


def fill(path):
    """Fill the file system of `path` to the last byte; return the filler file."""
    filler = os.path.join(path, 'filler')
    proc = subprocess.run(['dd', 'if=/dev/zero', 'of=' + filler, 'bs=1M'], capture_output=True, text=True,
                          check=False)
    assert 'No space left on device' in proc.stderr, proc.stderr
    return filler


def test_a_full_disk_fails_the_fetch_clearly_and_a_rerun_converges_once_space_is_freed(small_disk):
    w = small_disk
    assert w.playbook('-e', 'pr=26', extra={'offload_job_command': ['true']}).returncode == 0  # the clone
    filler = fill(w.mount)
    full = w.playbook('-e', 'pr=27')
    assert full.returncode != 0
    assert ('the disk of local-worker is full at %s (no space left on device while git prepared the worktree '
            'offload-27-review): free space there (clean.yml -e all=true' % w.data_root) in full.stdout, full.stdout
    assert 'not found' not in full.stdout and 'index-pack' not in full.stdout  # no misleading or raw git errors
    # nothing half-made: no worktree, no registration
    assert not os.path.exists(w.worktree(27)) and worktrees_in_git(w).count('\n') == 1
    os.unlink(filler)
    assert_rerun_converges(w, 27)


@pytest.mark.parametrize('keep', [False, True], ids=['removed', 'kept'])
def test_a_job_filling_the_disk_says_so_and_a_rerun_converges(small_disk, keep):
    w = small_disk
    pr = 28 + keep
    name = job_name(pr)
    hog = ['sh', '-c', 'echo JOB-STARTED; dd if=/dev/zero of=hog bs=1M']  # e.g. a build that fills the disk
    proc = w.playbook('-e', 'pr=%d' % pr, extra={'offload_keep_worktree': keep, 'offload_job_command': hog})
    assert proc.returncode != 0
    assert 'job %s on local-worker failed with exit code 1, and the disk of local-worker is full at %s (no space ' \
           'left on device while the job ran)' % (name, w.data_root) in proc.stdout, proc.stdout
    assert w.job_containers() == [] and 'locked' not in worktrees_in_git(w)
    [log] = w.logs()
    assert open(log).read().startswith('JOB-STARTED')
    # kept for inspection with what filled the disk, or removed and the space with it
    assert os.path.exists(os.path.join(w.worktree(pr), 'hog')) is keep
    # the re-run converges either way (a kept worktree the job changed is made anew, freeing its space)
    assert_rerun_converges(w, pr)


# ---- the Compute API misbehaving during provision.yml -----------------------------------------
# (cos_instance's own retries and errors: test_cos_instance.py, "faults"; here the whole playbook)

def names(emulator, kind):
    """The names of the project's instances or disks in the zone, as the API lists them."""
    listed = emulator.call('GET', '/compute/v1/projects/prov-project/zones/%s/%s' % (PROV_ZONE, kind))
    return sorted(item['name'] for item in listed.get('items', []))


def test_provision_rides_out_a_429_and_503_storm(provision, emulator):
    emulator.inject(status=429, path='/instances$', method='POST', times=3, reason='rateLimitExceeded')
    emulator.inject(status=503, path='/firewalls', method='GET', times=2)
    proc = provision()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    posts = [e['status'] for e in emulator.requests() if e['method'] == 'POST' and e['path'].endswith('/instances')]
    assert posts == [429, 429, 429, 200]
    mark = emulator.mark()
    again = provision()
    assert again.returncode == 0 and emulator.mutating_requests(since=mark) == []


def test_provision_after_a_lost_insert_answer_fails_clearly_and_a_rerun_converges(provision, emulator):
    # the insert takes effect but its answer is lost (a dropped connection): the retried insert meets the
    # instance it made, and the run fails naming it; the re-run adopts it: no duplicate, no orphan disk
    emulator.inject(status=503, path='/instances$', method='POST', after=True)
    first = provision()
    assert first.returncode != 0
    assert 'cannot create instance %s' % provision.name in first.stdout
    assert 'an instance named %s already exists' % provision.name in first.stdout
    again = provision()
    assert again.returncode == 0, again.stdout + again.stderr
    assert names(emulator, 'instances') == [provision.name]
    assert names(emulator, 'disks') == sorted([provision.name, provision.name + '-data'])  # boot and data
    mark = emulator.mark()
    assert provision().returncode == 0 and emulator.mutating_requests(since=mark) == []


def test_provision_after_a_failed_insert_operation_leaves_nothing_and_a_rerun_creates_it(provision, emulator):
    emulator.inject(operation_error={'code': 'ZONE_RESOURCE_POOL_EXHAUSTED',
                                     'message': 'The zone does not have enough resources available.'},
                    path='/instances$', method='POST')
    first = provision()
    assert first.returncode != 0
    assert 'cannot create instance %s' % provision.name in first.stdout
    assert 'The zone does not have enough resources available.' in first.stdout
    assert names(emulator, 'instances') == [] and names(emulator, 'disks') == []  # no orphan disk
    again = provision()
    assert again.returncode == 0, again.stdout + again.stderr
    assert names(emulator, 'instances') == [provision.name]
    assert names(emulator, 'disks') == sorted([provision.name, provision.name + '-data'])
