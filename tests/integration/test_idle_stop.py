"""Idle auto-stop: the worker's script stops its VM through the metadata server's
token and the Compute API, here the emulator's (issue 5)."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import uuid

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _idle_stop as idle
from fixtures_emulator import create_running_instance
from fixtures_images import ensure
from fixtures_offload import docker

ZONE = 'us-central1-a'
PROJECT = 'emu-project'
ESTABLISHED_SSH = '   1: 0100007F:0016 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000 0 1 1\n'
LISTENING_SSH = '   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 0 1 1\n'
HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'


@pytest.fixture
def vm(emulator):
    name = 'idle-%s' % uuid.uuid4().hex[:6]
    create_running_instance(emulator, name, PROJECT, ZONE)
    emulator.set_metadata_server(project=PROJECT, zone=ZONE, name=name)
    emulator.configure(require_token=True)  # the stop must carry a token the metadata server issued
    return name


def _api_status(emulator, name):
    """The instance's status, read without a token (tokens are required again afterwards)."""
    emulator.configure(require_token=False)
    try:
        return emulator.call('GET', '/compute/v1/projects/%s/zones/%s/instances/%s' % (PROJECT, ZONE, name))['status']
    finally:
        emulator.configure(require_token=True)


@pytest.fixture
def run_script(tmp_path, emulator):
    script = tmp_path / 'idle-stop'
    script.write_text(idle.SCRIPT)
    net = tmp_path / 'net'
    net.mkdir()
    busy = tmp_path / 'busy'
    busy.mkdir()
    (net / 'tcp').write_text(HEADER + LISTENING_SSH)
    (net / 'tcp6').write_text(HEADER)

    def run(path_prefix=None):
        env = dict(os.environ, OFFLOAD_IDLE_MINUTES='1', OFFLOAD_IDLE_STATE=str(tmp_path / 'idle-since'),
                   OFFLOAD_IDLE_BUSY_DIR=str(busy),
                   OFFLOAD_METADATA_URL=emulator.url + '/computeMetadata/v1',
                   OFFLOAD_COMPUTE_URL=emulator.url + '/compute/v1', OFFLOAD_PROC_NET=str(net))
        if path_prefix:
            env['PATH'] = '%s:%s' % (path_prefix, env['PATH'])
        return subprocess.run(['sh', str(script)], env=env, capture_output=True, text=True, timeout=60, check=False)

    run.net = net
    run.busy = busy
    run.state = tmp_path / 'idle-since'
    return run


def backdate(state_file, seconds):
    state_file.write_text('%d\n' % (int(state_file.read_text()) - seconds))


def no_running_jobs():
    return docker('ps', '-q', '--filter', 'label=gcli.offload.managed=true', '--filter', 'status=running').stdout == ''


def test_idle_for_the_whole_period_stops_the_vm_with_its_own_token(vm, emulator, run_script):
    assert no_running_jobs()
    first = run_script()
    assert first.returncode == 0, first.stderr
    assert 'idle since now' in first.stdout
    assert _api_status(emulator, vm) == 'RUNNING'
    early = run_script()
    assert 'idle for' in early.stdout and _api_status(emulator, vm) == 'RUNNING'
    backdate(run_script.state, 61)
    since = emulator.mark()
    stop = run_script()
    assert stop.returncode == 0, stop.stderr + stop.stdout
    assert 'stopping %s in %s (%s)' % (vm, ZONE, PROJECT) in stop.stdout
    calls = [(r['method'], r['path'], r['auth']) for r in emulator.requests(since)]
    assert ('GET', '/computeMetadata/v1/instance/service-accounts/default/token', 'none') in calls
    assert ('POST', '/compute/v1/projects/%s/zones/%s/instances/%s/stop' % (PROJECT, ZONE, vm), 'bearer') in calls
    assert _api_status(emulator, vm) in ('STOPPING', 'TERMINATED')
    assert not run_script.state.exists()


def test_an_ssh_session_or_a_running_job_keeps_the_vm_up(vm, emulator, run_script):
    run_script()
    backdate(run_script.state, 3600)
    (run_script.net / 'tcp').write_text(HEADER + LISTENING_SSH + ESTABLISHED_SSH)
    busy = run_script()
    assert 'busy: an SSH session is open' in busy.stdout
    assert not run_script.state.exists()  # the idle period starts over
    (run_script.net / 'tcp').write_text(HEADER + LISTENING_SSH)

    name = 'offload-idle-%s' % uuid.uuid4().hex[:6]
    docker('run', '-d', '--rm', '--name', name, '--label', 'gcli.offload.managed=true', '--entrypoint', 'sleep',
           ensure('worker'), '600')
    try:
        run_script()
        busy = run_script()
        assert 'busy: a job container runs' in busy.stdout
    finally:
        docker('rm', '-f', name, check=False)
    assert _api_status(emulator, vm) == 'RUNNING'


def test_a_job_supervisor_keeps_the_vm_up_without_any_session_or_container(vm, emulator, run_script, tmp_path):
    """A detached job between its containers (or releasing its worktree), its SSH session long gone:
    its supervisor's lock counts; the file of one that died does not."""
    # no job container, whatever other tests run on the shared engine: a docker that lists none
    stub = tmp_path / 'stub-bin'
    stub.mkdir()
    (stub / 'docker').write_text('#!/bin/sh\nexit 0\n')
    (stub / 'docker').chmod(0o755)
    marker = run_script.busy / 'offload-1-review.20260101T000000Z'
    marker.write_text('')
    holder = os.open(str(marker), os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)   # what a supervisor holds from its start to its end (flock(1) locks)
    try:
        busy = run_script(str(stub))
        assert "busy: a job's supervisor runs" in busy.stdout, busy.stdout
        assert not run_script.state.exists()
    finally:
        os.close(holder)
    first = run_script(str(stub))  # the lock is free: a supervisor that died is no work
    assert 'idle since now' in first.stdout, first.stdout
    assert _api_status(emulator, vm) == 'RUNNING'


def test_the_token_goes_to_curl_on_stdin_never_in_its_arguments(vm, emulator, run_script, tmp_path):
    """A curl shim records every argv and stdin, then runs the real curl."""
    shim_dir = tmp_path / 'shim'
    shim_dir.mkdir()
    record = tmp_path / 'curl-calls'
    real = subprocess.run(['sh', '-c', 'command -v curl'], capture_output=True, text=True, check=False).stdout.strip()
    shim = shim_dir / 'curl'
    shim.write_text('#!/bin/sh\n'
                    'printf "ARGV %%s\\n" "$*" >>"%s"\n'
                    'case " $* " in *" @- "*) in=$(cat); printf "STDIN %%s\\n" "$in" >>"%s";'
                    ' printf "%%s\\n" "$in" | "%s" "$@"; exit $?;; esac\n'
                    'exec "%s" "$@"\n' % (record, record, real, real))
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    run_script()
    backdate(run_script.state, 61)
    proc = run_script(path_prefix=str(shim_dir))
    assert proc.returncode == 0, proc.stderr
    calls = record.read_text().splitlines()
    stdin = [c for c in calls if c.startswith('STDIN ')]
    assert len(stdin) == 1 and stdin[0].startswith('STDIN Authorization: Bearer ')
    token = stdin[0].split('Bearer ', 1)[1]
    assert len(token) > 10
    assert not any(token in c for c in calls if c.startswith('ARGV '))


def test_units_and_cloud_config_parts():
    units = idle.render_units(30)
    assert 'Environment=OFFLOAD_IDLE_MINUTES=30' in units[idle.SERVICE]
    assert 'ExecStart=/bin/sh /etc/gcli-offload/idle-stop' in units[idle.SERVICE]
    assert 'OnUnitActiveSec=1min' in units[idle.TIMER]
    files, runcmd = idle.cloud_config_parts(30)
    assert [f['path'] for f in files] == ['/etc/gcli-offload/idle-stop', '/etc/systemd/system/' + idle.SERVICE,
                                          '/etc/systemd/system/' + idle.TIMER]
    assert runcmd[-1] == ['systemctl', 'start', idle.TIMER]
    with pytest.raises(ValueError):
        idle.render_units(0)


def test_the_script_is_shellcheck_clean(tmp_path):
    path = tmp_path / 'idle-stop'
    path.write_text(idle.SCRIPT)
    subprocess.run(['shellcheck', str(path)], check=True)
