"""The host scripts that write and read a job's logs (the job's launch and supervisor,
its follower's poll, logs.yml's NEWEST) and the controller's check of a fetched log,
run here with sh and coreutils against links planted where they look."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.action.job_log import NEWEST
from ansible_collections.gcli.offload.plugins.plugin_utils._log_dir import fetch_log, measured
from ansible_collections.gcli.offload.plugins.plugin_utils._supervisor import (
    LAUNCH_POLL_SCRIPT,
    LAUNCH_SCRIPT,
    POLL_SCRIPT,
    STATE_CHECK_SCRIPT,
    SUPERVISOR_SCRIPT,
)

JOB = 'offload-1-review'
STAMP = '20260101T000000Z'


def facts(out):
    return dict(line.split('=', 1) for line in out.splitlines() if '=' in line)


def runner(data_root, command=('sh', '-c', 'echo from the job'), stamp=STAMP):
    """Launch the job's supervisor (no docker: `true`), wait until it ended; the launch's
    result, with stdout the launch's output and then the last poll's (its measure)."""
    proc = subprocess.run(['sh', '-c', LAUNCH_SCRIPT, 'offload-launch', str(data_root), JOB, stamp, SUPERVISOR_SCRIPT,
                           '10', '1', 'true', '', '', '1000:1000', '/dev', JOB, 'remove', '', '',
                           'command', 'c', '', str(len(command))] + list(command),
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0 or 'started=' not in proc.stdout:
        return proc
    deadline = time.monotonic() + 30
    while True:
        poll = subprocess.run(['sh', '-c', POLL_SCRIPT, 'offload-poll', str(data_root), JOB, stamp, '0', '2'],
                              capture_output=True, text=True, check=False)
        if 'alive=0' in poll.stdout.splitlines():
            break
        assert time.monotonic() < deadline, 'the supervisor never ended'
    proc.stdout += poll.stdout
    return proc


def newest(data_root, follow='0'):
    return subprocess.run(['sh', '-c', NEWEST, 'newest', str(data_root), JOB, follow, ''],
                          capture_output=True, text=True, check=False)


@pytest.fixture
def victim(tmp_path):
    """A file only its owner may read and write, outside the data root."""
    path = tmp_path / 'victim'
    path.write_text('VICTIM-CONTENT\n')
    path.chmod(0o600)
    return path


@pytest.mark.parametrize('script', [LAUNCH_SCRIPT, LAUNCH_POLL_SCRIPT, POLL_SCRIPT, STATE_CHECK_SCRIPT, SUPERVISOR_SCRIPT,
                                    NEWEST], ids=['launch', 'launch-poll', 'poll', 'run-state', 'supervisor', 'newest'])
def test_shellcheck_clean(tmp_path, script):
    if not shutil.which('shellcheck'):
        pytest.skip('shellcheck not installed')
    path = tmp_path / 'script.sh'
    path.write_text('#!/bin/sh\n' + script)
    subprocess.run(['shellcheck', str(path)], check=True)


def test_the_runner_makes_its_folders_and_measures_the_log(tmp_path):
    proc = runner(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = tmp_path / 'logs' / JOB
    assert (folder / (STAMP + '.log')).read_text() == 'from the job\n'
    assert (folder / (STAMP + '.exit')).read_text() == '0\n'
    assert measured(proc.stdout) == (13, hashlib.sha256(b'from the job\n').hexdigest())
    for d in (tmp_path / 'logs', folder):
        st = os.stat(d)
        assert st.st_uid == os.getuid() and st.st_mode & 0o022 == 0


@pytest.mark.parametrize('suffix', ['.log', '.exit', '.state'])
def test_the_runner_never_writes_through_a_planted_link(tmp_path, victim, suffix):
    runner(tmp_path, stamp='20250101T000000Z')  # the folders exist
    (tmp_path / 'logs' / JOB / (STAMP + suffix)).symlink_to(victim)
    proc = runner(tmp_path, command=('sh', '-c', 'echo JOB-RAN'))
    assert proc.returncode != 0
    assert 'exists already: refusing to write through it' in facts(proc.stdout)['error']
    assert victim.read_text() == 'VICTIM-CONTENT\n'
    assert not os.path.exists(tmp_path / 'logs' / JOB / (STAMP + '.command.log'))  # the job did not run either


@pytest.mark.parametrize('level', ['logs', 'job'])
def test_a_log_folder_that_is_a_link_is_refused(tmp_path, victim, level):
    target = tmp_path / 'elsewhere'
    target.mkdir()
    data_root = tmp_path / 'data'
    if level == 'logs':
        data_root.mkdir()
        (data_root / 'logs').symlink_to(target)
    else:
        (data_root / 'logs').mkdir(parents=True)
        (data_root / 'logs' / JOB).symlink_to(target)
    proc = runner(data_root)
    assert proc.returncode != 0
    assert 'is a link or not a directory: refusing to follow it' in facts(proc.stdout)['error']
    assert os.listdir(target) == []
    (target / (STAMP + '.log')).symlink_to(victim)
    proc = newest(data_root)
    assert proc.returncode != 0 and 'refusing to follow it' in proc.stdout and 'log=' not in proc.stdout


def test_a_log_folder_others_can_write_is_refused(tmp_path):
    (tmp_path / 'logs').mkdir()
    (tmp_path / 'logs').chmod(0o777)
    proc = runner(tmp_path)
    assert proc.returncode != 0
    assert 'that no one else can write' in facts(proc.stdout)['error']


@pytest.mark.skipif(os.getuid() != 0, reason='root takes back the folders of uid 1000')
def test_root_takes_back_a_log_folder_an_older_version_gave_uid_1000(tmp_path):
    (tmp_path / 'logs' / JOB).mkdir(parents=True)
    for d in (tmp_path / 'logs', tmp_path / 'logs' / JOB):
        os.chown(d, 1000, 1000)
    proc = runner(tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert os.stat(tmp_path / 'logs').st_uid == 0 and os.stat(tmp_path / 'logs' / JOB).st_uid == 0


def test_newest_refuses_a_log_that_is_a_link(tmp_path, victim):
    runner(tmp_path)
    (tmp_path / 'logs' / JOB / 'zzzz.log').symlink_to(victim)
    proc = newest(tmp_path)
    assert proc.returncode != 0 and 'is a link or not a regular file' in proc.stdout
    assert 'VICTIM' not in proc.stdout


def test_newest_prints_the_log_its_exit_code_and_its_measure(tmp_path):
    runner(tmp_path)
    out = facts(newest(tmp_path).stdout)
    assert out['log'] == '%s/logs/%s/%s.log' % (tmp_path, JOB, STAMP)
    assert out['rc'] == '0' and out['log_size'] == '13'
    assert newest(tmp_path / 'none').stdout == ''  # no log folder: no log


class FakeConnection:
    def __init__(self, source):
        self.source = source

    def fetch_file(self, worker_path, local_path):
        shutil.copyfile(self.source, local_path)


def test_a_fetched_log_is_kept_only_when_it_is_what_the_worker_measured(tmp_path, victim):
    log = tmp_path / 'job.log'
    log.write_bytes(b'line 1\nline 2\n')
    measure = 'log_size=7\nlog_sha256=%s\n' % hashlib.sha256(b'line 1\n').hexdigest()
    local = tmp_path / 'copy' / 'job.log'
    # the log grew after the measure: the copy keeps the measured bytes
    fetch_log(SimpleNamespace(_connection=FakeConnection(log)), str(log), str(local), measure, 'w')
    assert local.read_bytes() == b'line 1\n'
    # the path led elsewhere when it was fetched: refused, and the copy deleted
    with pytest.raises(AnsibleActionFail, match='is not the file the worker checked'):
        fetch_log(SimpleNamespace(_connection=FakeConnection(victim)), str(log), str(local), measure, 'w')
    assert not local.exists()
    with pytest.raises(AnsibleActionFail, match='did not say what its log'):
        fetch_log(SimpleNamespace(_connection=FakeConnection(log)), str(log), str(local), '', 'w')
