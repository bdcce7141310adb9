"""Dangerous places: the worker directories the collection mounts or writes, and the
controller folder the logs are fetched to."""

from __future__ import annotations

import os

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _jobs as jobs
from ansible_collections.gcli.offload.plugins.plugin_utils._checks import check_log_dest


@pytest.mark.parametrize('path', [
    '/etc', '/etc/gcli', '/proc', '/proc/1', '/sys', '/dev', '/dev/shm', '/run', '/run/docker.sock', '/var/run',
    '/var/run/docker', '/root', '/root/x', '/usr', '/usr/local/x', '/bin', '/boot', '/lib64', '/var/lib/docker',
    '/var/lib/docker/volumes/x', '/var/lib/docker-engine', '/var/lib/containerd', '/var/lib/containerd2/x',
    '/var/lib/kubelet/pods', '/var/snap/docker/x',
])
def test_system_kernel_and_runtime_directories_are_refused(path):
    with pytest.raises(jobs.JobInputError, match='^offload_gemini_dir: must not be .* or under it'):
        jobs.validate_host_dir(path, 'offload_gemini_dir')
    with pytest.raises(jobs.JobInputError):
        jobs.job_spec(pr=1, action='review', data_root=path, image='img')


@pytest.mark.parametrize('path', ['/mnt/disks/offload', '/var/tmp/gcli-offload', '/home/me/offload', '/var/lib/offload',
                                  '/srv/etc', '/tmp/proc', '/data/run', '/var/lib/offload-docker'])
def test_other_directories_are_allowed(path):
    assert jobs.validate_host_dir(path, 'offload_data_root') == path


def test_secrets_may_live_in_a_directory_of_their_own_under_dev_shm_only():
    assert jobs.validate_host_dir('/dev/shm/gcli-offload', 'offload_secrets_dir', secrets=True) == '/dev/shm/gcli-offload'
    for path in ('/dev/shm', '/dev/mqueue/x', '/run/secrets', '/etc/gcli'):
        with pytest.raises(jobs.JobInputError, match='/dev/shm/<name>'):
            jobs.validate_host_dir(path, 'offload_secrets_dir', secrets=True)
    with pytest.raises(jobs.JobInputError):
        jobs.validate_host_dir('/dev/shm/x', 'offload_data_root')  # not for anything else


def test_the_path_the_worker_resolves_is_checked_too():
    assert jobs.validate_host_dir('/var/tmp/link', 'offload_data_root', resolved='/var/tmp/real') == '/var/tmp/link'
    with pytest.raises(jobs.JobInputError, match=r"resolves to '/proc' on the worker"):
        jobs.validate_host_dir('/var/tmp/link', 'offload_gemini_dir', resolved='/proc')
    with pytest.raises(jobs.JobInputError, match='resolves to'):
        jobs.validate_host_dir('/dev/shm/link', 'gh_token_file', secrets=True, resolved='/etc/shadow')


def test_job_spec_checks_the_data_root_and_the_gemini_dir():
    with pytest.raises(jobs.JobInputError, match='^offload_gemini_dir: must not be /proc'):
        jobs.job_spec(pr=1, action='review', data_root='/mnt/disks/offload', image='img', gemini_dir='/proc')
    with pytest.raises(jobs.JobInputError, match='^offload_gemini_dir: must not be /var/run'):
        jobs.job_spec(pr=1, action='review', data_root='/mnt/disks/offload', image='img', gemini_dir='/var/run')


def test_the_log_folder_is_checked_on_the_controller(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    assert check_log_dest('~/logs') == str(tmp_path / 'logs')
    (tmp_path / 'a-file').write_text('x')
    link = tmp_path / 'to-etc'
    os.symlink('/etc', str(link))
    for value, words in (('logs', 'must be an absolute path'), ('/etc/gcli', 'must not be /etc'),
                         (str(link / 'x'), "resolves to '/etc/x'"), (str(tmp_path / 'a-file' / 'x'), 'is a file'),
                         ('', 'must be a folder'), (None, 'must be a folder')):
        with pytest.raises(jobs.JobInputError, match=words) as err:
            check_log_dest(value)
        assert err.value.variable == 'offload_log_dest'
    if os.geteuid() != 0:
        ro = tmp_path / 'ro'
        ro.mkdir(mode=0o500)
        with pytest.raises(jobs.JobInputError, match='not writable'):
            check_log_dest(str(ro / 'logs'))
