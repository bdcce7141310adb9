"""cos_instance and the real gcloud CLI on the same emulator: a VM gcloud made with
create-with-container (konlet) is taken over and converged; a VM the module made
reads back through gcloud as expected."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import SCOPE_ALIASES
from test_cos_instance import IMAGE, PROJECT, ZONE, base_env, get_instance, metadata_of, mutations, play, worker

pytestmark = pytest.mark.skipif(shutil.which('gcloud') is None, reason='the gcloud CLI is not installed')


@pytest.fixture
def gcloud(emulator, tmp_path):
    env = emulator.gcloud_env(tmp_path, project=PROJECT, zone=ZONE)

    def run(*args):
        proc = subprocess.run(['gcloud', *args], env=env, capture_output=True, text=True, timeout=180, check=False)
        assert proc.returncode == 0, 'gcloud %s: %s' % (' '.join(args), proc.stderr)
        return proc.stdout
    return run


def test_create_with_container_vm_is_converged_to_cloud_init(emulator, gcloud, tmp_path):
    gcloud('compute', 'instances', 'create-with-container', 'w1', '--container-image=' + IMAGE,
           '--container-env=A=1', '--machine-type=e2-medium')
    before = get_instance(emulator)
    assert 'gce-container-declaration' in metadata_of(before)

    mark = emulator.mark()
    env = base_env(emulator)
    results = play(tmp_path, [worker(), worker()], env).results
    first, second = results
    assert first.get('failed') is not True, first
    # the container moves to user-data (declaration removed), the VM restarts so cloud-init runs it;
    # the machine type and the service account's scopes need the stop anyway.
    assert first['actions'][0] == 'setMetadata'
    assert {'setLabels', 'setTags', 'stop', 'setMachineType', 'setServiceAccount', 'start'} <= set(first['actions'])
    assert first['actions'].index('stop') < first['actions'].index('setMachineType') < first['actions'].index('start')
    assert first['restarted'] is True
    assert any('no disk with device name offload' in w for w in first.get('warnings', []))
    calls = [c[1] for c in mutations(emulator, mark)]
    assert calls == [a if a != 'insert' else 'instances' for a in first['actions']]

    after = get_instance(emulator)
    meta = metadata_of(after)
    assert 'gce-container-declaration' not in meta and meta['user-data'].startswith('#cloud-config')
    assert after['labels']['type'] == 'offload-worker' and 'container-vm' in after['labels']  # merged, not purged
    assert after['machineType'].endswith('/e2-standard-4') and after['status'] == 'RUNNING'

    # converged: the second task sent nothing (its warning about the missing data disk stays)
    assert second['changed'] is False and second['actions'] == []
    assert len(calls) == len(first['actions'])


def test_gcloud_reads_what_the_module_made(emulator, gcloud, tmp_path):
    run = play(tmp_path, [worker(provisioning_model='SPOT', labels={'type': 'offload-worker'})],
               base_env(emulator)).result
    assert run['changed'] is True, run
    described = json.loads(gcloud('compute', 'instances', 'describe', 'w1', '--format=json'))
    assert described['status'] == 'RUNNING' and described['labels'] == {'type': 'offload-worker'}
    assert described['scheduling']['provisioningModel'] == 'SPOT'
    assert described['id'] == run['instance']['id']
    items = {i['key']: i['value'] for i in described['metadata']['items']}
    cloud = yaml.safe_load(items['user-data'])
    assert cloud['runcmd'][-1] == ['systemctl', 'start', 'gcli-offload-maintainer-worker.service']
    listed = gcloud('compute', 'instances', 'list', '--format=value(name,status)').split()
    assert listed == ['w1', 'RUNNING']
    # gcloud changes a label: the module merges (no call) unless asked to purge
    gcloud('compute', 'instances', 'add-labels', 'w1', '--labels=team=x')
    mark = emulator.mark()
    results = play(tmp_path, [worker(provisioning_model='SPOT'),
                              worker(provisioning_model='SPOT', purge_labels=True)], base_env(emulator)).results
    assert results[0]['changed'] is False
    assert results[1]['actions'] == ['setLabels']
    assert [c[1] for c in mutations(emulator, mark)] == ['setLabels']
    assert json.loads(gcloud('compute', 'instances', 'describe', 'w1', '--format=json'))['labels'] == {
        'type': 'offload-worker'}


def test_drift_made_with_gcloud_is_corrected_in_place(emulator, gcloud, tmp_path):
    assert play(tmp_path, [worker()], base_env(emulator)).result['changed'] is True
    gcloud('compute', 'instances', 'set-scheduling', 'w1', '--no-restart-on-failure')
    gcloud('compute', 'instances', 'add-metadata', 'w1', '--metadata=enable-oslogin=FALSE,extra=kept')
    gcloud('compute', 'instances', 'remove-tags', 'w1', '--tags=offload-ssh')
    mark = emulator.mark()
    results = play(tmp_path, [worker(), worker()], base_env(emulator), diff=True).results
    first = results[0]
    assert first['actions'] == ['setMetadata', 'setTags', 'setScheduling'] and first['restarted'] is False
    assert first['diff']['before']['metadata'] == {'enable-oslogin': 'FALSE'}
    assert first['diff']['after']['metadata'] == {'enable-oslogin': 'TRUE'}
    assert first['diff']['before']['scheduling']['automatic_restart'] is False
    assert results[1]['changed'] is False
    assert [c[1] for c in mutations(emulator, mark)] == ['setMetadata', 'setTags', 'setScheduling']
    described = json.loads(gcloud('compute', 'instances', 'describe', 'w1', '--format=json'))
    items = {i['key']: i['value'] for i in described['metadata']['items']}
    assert items['enable-oslogin'] == 'TRUE' and items['extra'] == 'kept'
    assert described['scheduling']['automaticRestart'] is True and described['tags']['items'] == ['offload-ssh']


def test_legacy_declaration_matches_what_gcloud_writes(emulator, gcloud, tmp_path):
    gcloud('compute', 'instances', 'create-with-container', 'w1', '--container-image=' + IMAGE,
           '--container-env=B=2,A=1', '--container-privileged', '--container-tty', '--container-stdin',
           '--container-mount-host-path=host-path=/var/h,mount-path=/h,mode=ro',
           '--container-mount-tmpfs=mount-path=/cache', '--container-restart-policy=on-failure',
           '--container-command=/bin/app', '--container-arg=-v', '--container-arg=x y')
    by_gcloud = metadata_of(get_instance(emulator))['gce-container-declaration']
    container = {'image': IMAGE, 'name': 'w1', 'env': {'B': '2', 'A': '1'}, 'privileged': True, 'tty': True,
                 'stdin': True, 'restart_policy': 'OnFailure', 'command': ['/bin/app'], 'args': ['-v', 'x y'],
                 'mounts': [{'host_path': '/var/h', 'mount_path': '/h', 'read_only': True},
                            {'mount_path': '/cache', 'tmpfs': True}]}
    run = play(tmp_path, [worker(name='w2', container=container, container_declaration='legacy')],
               base_env(emulator)).result
    assert run['changed'] is True, run
    by_module = metadata_of(get_instance(emulator, 'w2'))['gce-container-declaration']
    assert by_module.split('spec:')[0] == by_gcloud.split('spec:')[0]  # the same DISCLAIMER header
    ours, theirs = yaml.safe_load(by_module), yaml.safe_load(by_gcloud)
    for doc in (ours, theirs):  # env order is the user's in gcloud, sorted in ours
        doc['spec']['containers'][0]['env'].sort(key=lambda e: e['name'])
    assert ours == theirs


def test_scope_aliases_mean_what_they_mean_to_gcloud(emulator, gcloud, tmp_path):
    """Every alias gcloud documents for --scopes, given to gcloud for one instance and to the module for
    another: the emulator stores the same scope URLs for both."""
    aliases = sorted(SCOPE_ALIASES)
    gcloud('compute', 'instances', 'create', 'by-gcloud', '--image-family=cos-stable', '--image-project=cos-cloud',
           '--scopes=' + ','.join(aliases))
    run = play(tmp_path, [worker(name='by-module', service_account_scopes=aliases)], base_env(emulator)).result
    assert run['changed'] is True, run
    (by_gcloud,) = get_instance(emulator, 'by-gcloud')['serviceAccounts']
    (by_module,) = get_instance(emulator, 'by-module')['serviceAccounts']
    assert sorted(by_module['scopes']) == sorted(set(by_gcloud['scopes']))
    assert 'https://www.googleapis.com/auth/compute.readonly' in by_module['scopes']
    assert not [scope for scope in by_module['scopes'] if scope.endswith(('-ro', '-rw', '-write'))]
