"""Units for the cloud-init rendering of the declared container."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.gcli.offload.plugins.module_utils import _cloud_init as ci
from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError
from ansible_collections.gcli.offload.plugins.module_utils._maintainer import maintainer_run_args, spec_hash
from ansible_collections.gcli.offload.plugins.module_utils import _image_ref as image_ref

IMAGE = 'us-docker.pkg.dev/proj/offload/maintainer:latest'


def container(**kw):
    return ci.normalize_container(dict({'image': IMAGE}, **kw))


def test_default_container_is_exactly_the_maintainer_container():
    c = container()
    assert ci.container_run_args(c, '/mnt/disks/offload') == maintainer_run_args(
        'maintainer-worker', IMAGE, '/mnt/disks/offload')
    assert ci.container_spec_hash(c, '/mnt/disks/offload') == spec_hash(
        maintainer_run_args('maintainer-worker', IMAGE, '/mnt/disks/offload'))


def test_run_args_with_every_option():
    c = container(name='w', command=['/bin/app', '--serve'], args=['x y'], env={'B': '2', 'A': '$HOME'},
                  mounts=[{'mount_path': '/cache', 'tmpfs': True},
                          {'mount_path': '/etc/conf', 'host_path': '/var/lib/conf', 'read_only': True}],
                  restart_policy='OnFailure', privileged=True, stdin=True, tty=True)
    args = ci.container_run_args(c, '/mnt/disks/d')
    assert args[args.index('--restart') + 1] == 'on-failure'
    assert args[:2] == ['--name', 'w']
    assert '--privileged' in args and '--interactive' in args and '--tty' in args
    assert args[args.index('--env') + 1] == 'A=$HOME'
    assert 'type=tmpfs,target=/cache' in args and 'type=bind,source=/var/lib/conf,target=/etc/conf,readonly' in args
    assert 'type=bind,source=/mnt/disks/d,target=/home/node/dev' in args
    assert args[-5:] == ['--entrypoint', '/bin/app', IMAGE, '--serve', 'x y']


def test_args_without_command_keep_the_image_entrypoint():
    args = ci.container_run_args(container(args=['a']), '/mnt/disks/d')
    assert args[-2:] == [IMAGE, 'a'] and '--entrypoint' not in args


@pytest.mark.parametrize('options,variable', [
    ({'image': 'Bad Image'}, 'container.image'),
    ({'image': IMAGE, 'name': '-x'}, 'container.name'),
    ({'image': IMAGE, 'command': 'sh -c x'}, 'container.command'),
    ({'image': IMAGE, 'env': {'A-B': '1'}}, 'container.env'),
    ({'image': IMAGE, 'mounts': [{'mount_path': '/x'}]}, 'container.mounts[0]'),
    ({'image': IMAGE, 'mounts': [{'mount_path': '/x', 'host_path': '/y', 'tmpfs': True}]}, 'container.mounts[0]'),
    ({'image': IMAGE, 'mounts': [{'mount_path': '/x/../etc', 'host_path': '/y'}]}, 'container.mounts[0].mount_path'),
    ({'image': IMAGE, 'mounts': [{'mount_path': '/home/node/dev/x', 'host_path': '/y'}]},
     'container.mounts[0].mount_path'),
    ({'image': IMAGE, 'restart_policy': 'Sometimes'}, 'container.restart_policy'),
])
def test_invalid_container_options_are_refused(options, variable):
    with pytest.raises(JobInputError) as info:
        ci.normalize_container(options)
    assert info.value.variable == variable


def test_env_list_form():
    assert container(env=[{'name': 'A', 'value': 1}])['env'] == {'A': '1'}


def systemd_split(text):
    # systemd's Exec quoting with %% and $$ undone is shell-compatible for our words.
    return shlex.split(text.replace('%%', '%').replace('$$', '$'))


@pytest.mark.parametrize('word', ['plain', 'a b', 'q"uote', 'back\\slash', '100%', '$HOME', "it's", ''])
def test_systemd_quote_round_trips(word):
    assert systemd_split(ci.systemd_quote(word)) == [word]
    assert '%' not in ci.systemd_quote(word).replace('%%', '')


def test_cloud_config_is_yaml_with_unit_and_runcmd():
    c = container()
    text = ci.render_cloud_config(c, 'offload')
    assert text.startswith('#cloud-config\n')
    doc = yaml.safe_load(text)
    (entry,) = doc['write_files']
    assert entry['path'] == '/etc/systemd/system/gcli-offload-maintainer-worker.service'
    assert doc['runcmd'] == [['systemctl', 'daemon-reload'],
                             ['systemctl', 'start', 'gcli-offload-maintainer-worker.service']]
    unit = entry['content']
    assert unit == ci.render_unit(c, 'offload')
    lines = unit.splitlines()
    run = [line for line in lines if line.startswith('ExecStart=')][0][len('ExecStart='):]
    argv = systemd_split(run)
    wanted = maintainer_run_args('maintainer-worker', IMAGE, '/mnt/disks/offload')
    assert argv == ['/usr/bin/docker', 'run', '--detach', '--label', 'gcli.offload.spec=%s' % spec_hash(wanted)] \
        + wanted
    assert 'ExecStartPre=/usr/bin/docker-credential-gcr configure-docker --registries=us-docker.pkg.dev' in lines
    assert any('mountpoint -q /mnt/disks/offload || mount' in line for line in lines)
    assert 'Requires=docker.service dev-disk-by\\x2did-google\\x2doffload.device' in lines


def test_unit_quotes_hostile_env_values():
    c = container(env={'X': 'a b; rm -rf / $(id) %n "q"'})
    run = [line for line in ci.render_unit(c, 'data').splitlines() if line.startswith('ExecStart=')][0]
    argv = systemd_split(run[len('ExecStart='):])
    assert 'X=a b; rm -rf / $(id) %n "q"' in argv


def test_no_credential_helper_for_other_registries():
    c = container(image='docker.io/library/busybox:1')
    assert 'docker-credential-gcr' not in ci.render_unit(c, 'data')


def test_device_name_is_validated():
    with pytest.raises(JobInputError):
        ci.render_unit(container(), 'Bad;name')


def test_legacy_declaration_matches_gcloud_format():
    mounts = [{'mount_path': '/c', 'tmpfs': True}, {'mount_path': '/h', 'host_path': '/var/h', 'read_only': True}]
    c = container(name='app', command=['run'], args=['-v'], env={'A': '1'}, privileged=True, tty=True,
                  mounts=mounts, restart_policy='Never')
    text = ci.render_declaration(c)
    assert text.startswith('# DISCLAIMER:\n')
    spec = yaml.safe_load(text)['spec']
    assert spec['restartPolicy'] == 'Never'
    (ctr,) = spec['containers']
    assert ctr == {'name': 'app', 'image': IMAGE, 'command': ['run'], 'args': ['-v'],
                   'env': [{'name': 'A', 'value': '1'}], 'securityContext': {'privileged': True}, 'stdin': False,
                   'tty': True, 'volumeMounts': [{'name': 'tmpfs-0', 'mountPath': '/c'},
                                                 {'name': 'host-path-0', 'mountPath': '/h', 'readOnly': True}]}
    assert spec['volumes'] == [{'name': 'tmpfs-0', 'emptyDir': {'medium': 'Memory'}},
                               {'name': 'host-path-0', 'hostPath': {'path': '/var/h'}}]
    assert yaml.safe_load(ci.render_declaration(container()))['spec']['restartPolicy'] == 'Always'


def test_image_helpers():
    assert image_ref.registry_of(IMAGE) == 'us-docker.pkg.dev'
    assert image_ref.registry_of('busybox') is None and image_ref.registry_of('library/busybox') is None
    assert image_ref.registry_of('127.0.0.1:5000/x') == '127.0.0.1:5000'
    assert image_ref.digest_of('x@sha256:' + 'a' * 64) == 'sha256:' + 'a' * 64
    assert image_ref.digest_of(IMAGE) is None


@pytest.mark.skipif(shutil.which('systemd-analyze') is None, reason='systemd-analyze is not installed')
def test_systemd_accepts_the_unit(tmp_path):
    c = container(env={'X': 'a b %n $HOME "q"'}, command=['/bin/app', "it's"],
                  mounts=[{'mount_path': '/c', 'tmpfs': True}])
    path = tmp_path / ci.unit_name(c)
    path.write_text(ci.render_unit(c, 'offload'))
    proc = subprocess.run(['systemd-analyze', 'verify', '--man=no', str(path)], capture_output=True, text=True,
                          check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert 'gcli-offload' not in proc.stderr  # no warning about our unit


def test_idle_stop_timer_is_rendered_into_the_cloud_config_only_when_asked():
    import yaml

    from ansible_collections.gcli.offload.plugins.module_utils import _cloud_init as cloud_init
    from ansible_collections.gcli.offload.plugins.module_utils import _idle_stop as idle_stop

    container = cloud_init.normalize_container({'image': 'us-docker.pkg.dev/p/r/maintainer:latest'})
    plain = yaml.safe_load(cloud_init.render_cloud_config(container, 'offload'))
    assert [f['path'] for f in plain['write_files']] == ['/etc/systemd/system/gcli-offload-maintainer-worker.service']
    doc = cloud_init.render_cloud_config(container, 'offload', idle_stop_minutes=45)
    assert doc.startswith('#cloud-config\n')
    parsed = yaml.safe_load(doc)
    files = {f['path']: f for f in parsed['write_files']}
    assert files[idle_stop.SCRIPT_PATH]['content'].rstrip('\n') == idle_stop.SCRIPT.rstrip('\n')
    assert files[idle_stop.SCRIPT_PATH]['permissions'] == '0755'
    assert 'Environment=OFFLOAD_IDLE_MINUTES=45' in files['/etc/systemd/system/' + idle_stop.SERVICE]['content']
    assert parsed['runcmd'] == [['systemctl', 'daemon-reload'],
                                ['systemctl', 'start', 'gcli-offload-maintainer-worker.service'],
                                ['systemctl', 'start', idle_stop.TIMER]]
    # without the option, the cloud-config is byte for byte what it was
    assert cloud_init.render_cloud_config(container, 'offload', 0) == cloud_init.render_cloud_config(container, 'offload')


# A stand-in for blkid or mkfs.ext4: records its name and arguments, exits with a fixed code.
FAKE_TOOL = """#!/bin/sh
printf '%%s\\n' "$0 $*" >> "$CALLS"
exit %d
"""


def _format_argv(device_name='offload'):
    """The argv of the unit's format step, as systemd will run it."""
    lines = ci.render_unit(container(), device_name).splitlines()
    (line,) = [entry for entry in lines if entry.startswith('ExecStartPre=') and 'blkid' in entry]
    return systemd_split(line[len('ExecStartPre='):])


def _run_format_step(tmp_path, blkid_exit, mkfs_exit=0):
    """Run the rendered format step with a fake blkid (exiting `blkid_exit`) and mkfs.ext4 on PATH;
    (process, the calls the fakes recorded)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for tool, code in (('blkid', blkid_exit), ('mkfs.ext4', mkfs_exit)):
        (bin_dir / tool).write_text(FAKE_TOOL % code)
        (bin_dir / tool).chmod(0o755)
    calls = tmp_path / 'calls'
    calls.write_text('')
    env = {'PATH': '%s:/usr/bin:/bin' % bin_dir, 'CALLS': str(calls)}
    proc = subprocess.run(_format_argv(), env=env, capture_output=True, text=True, check=False, timeout=30)
    return proc, [line.split(' ', 1) for line in calls.read_text().splitlines()]


def test_format_step_is_sh_with_one_fixed_script():
    argv = _format_argv()
    assert argv[:2] == ['/bin/sh', '-c'] and len(argv) == 3
    assert argv[2] == ci.format_script('/dev/disk/by-id/google-offload')


def test_format_step_leaves_a_disk_with_a_file_system_alone(tmp_path):
    proc, calls = _run_format_step(tmp_path, blkid_exit=0)
    assert proc.returncode == 0, proc.stderr
    assert [(os.path.basename(tool), args) for tool, args in calls] == [
        ('blkid', '-p /dev/disk/by-id/google-offload')]


def test_format_step_formats_only_a_disk_with_no_signature(tmp_path):
    proc, calls = _run_format_step(tmp_path, blkid_exit=2)
    assert proc.returncode == 0, proc.stderr
    assert [(os.path.basename(tool), args) for tool, args in calls] == [
        ('blkid', '-p /dev/disk/by-id/google-offload'),
        ('mkfs.ext4', '-F -m 0 -E lazy_itable_init=0,lazy_journal_init=0,discard /dev/disk/by-id/google-offload')]


@pytest.mark.parametrize('blkid_exit', [1, 4, 8, 126])
def test_format_step_fails_and_never_formats_on_any_other_blkid_exit(tmp_path, blkid_exit):
    proc, calls = _run_format_step(tmp_path, blkid_exit=blkid_exit)
    assert proc.returncode != 0
    assert [os.path.basename(tool) for tool, _args in calls] == ['blkid']
    assert 'not formatting /dev/disk/by-id/google-offload: blkid -p exited %d' % blkid_exit in proc.stderr
    assert 'left untouched' in proc.stderr


def test_format_step_fails_when_mkfs_fails(tmp_path):
    proc, calls = _run_format_step(tmp_path, blkid_exit=2, mkfs_exit=1)
    assert proc.returncode == 1
    assert [os.path.basename(tool) for tool, _args in calls] == ['blkid', 'mkfs.ext4']
