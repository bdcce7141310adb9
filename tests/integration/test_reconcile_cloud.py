"""reconcile.yml on the Google side, against the Compute Engine emulator: the worker VMs and disks
labelled by the collection that no inventory knows are listed, and removed with -e cloud=true after
the grace period; never a VM that is not stopped (unless -e force=true), never an attached disk."""

from __future__ import annotations

import json

import pytest
from fixtures_emulator import create_running_instance
from fixtures_provision import PlaybookRunner, poll

PROJECT = 'recon-project'
ZONE = 'us-central1-a'
WORKER = {'type': 'offload-worker'}


def path(kind, name=''):
    return '/compute/v1/projects/%s/zones/%s/%s%s' % (PROJECT, ZONE, kind, '/' + name if name else '')


def exists(emulator, kind, name):
    return name in [i['name'] for i in emulator.call('GET', path(kind)).get('items', [])]


@pytest.fixture
def fleet(emulator, tmp_path):
    """known-w (in the inventory), orphan-off (stopped), orphan-on (running), lost-data (an unattached
    labelled disk), other-disk (not labelled), web (a VM that is not a worker)."""
    for name in ('known-w', 'orphan-off', 'orphan-on'):
        create_running_instance(emulator, name, PROJECT, ZONE, labels=WORKER)
    create_running_instance(emulator, 'web', PROJECT, ZONE, labels={'type': 'web'})
    for name, labels in (('lost-data', WORKER), ('other-disk', {})):
        emulator.call('POST', path('disks'), dict({'name': name, 'sizeGb': '10'}, **({'labels': labels} if labels
                                                                                     else {})))
    emulator.call('POST', path('instances', 'orphan-off') + '/stop')
    poll(lambda: emulator.call('GET', path('instances', 'orphan-off'))['status'] == 'TERMINATED' and
         exists(emulator, 'disks', 'lost-data') and exists(emulator, 'disks', 'other-disk'), 30, 'the fleet')
    inventory = tmp_path / 'hosts.yml'
    # the known worker is in the inventory, in a group reconcile's worker play does not run on
    inventory.write_text(json.dumps({'all': {'children': {'elsewhere': {'hosts': {'known-w': {}}}}}}))
    runner = PlaybookRunner(tmp_path, env={
        'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE': emulator.compute_endpoint, 'GCP_AUTH_KIND': 'accesstoken',
        'CLOUDSDK_AUTH_ACCESS_TOKEN': 'recon-token', 'CLOUDSDK_CORE_PROJECT': PROJECT})

    def run(*args, **extra):
        return runner('reconcile.yml', extra, '-i', str(inventory), *args)
    return run


def deletions(emulator, since):
    return sorted((e['path'].split('/')[-2], e['path'].rsplit('/', 1)[-1])
                  for e in emulator.mutating_requests(since=since) if e['method'] == 'DELETE')


def test_orphans_are_listed_then_removed_after_the_grace_never_live_ones(fleet, emulator):
    # Listed only (cloud=false): the orphans and why, nothing sent.
    mark = emulator.mark()
    proc = fleet(cloud='false', cloud_grace=0)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    flat = ' '.join(proc.stdout.split())
    assert 'instance orphan-off (us-central1-a)' in flat and 'instance orphan-on (us-central1-a)' in flat
    assert 'disk lost-data (us-central1-a)' in flat and 'it is RUNNING and no inventory reaches it' in flat
    assert 'known-w' not in flat and 'web' not in flat and 'other-disk' not in flat
    assert emulator.mutating_requests(since=mark) == []

    # Within the grace period (the default, an hour): nothing is removed.
    proc = fleet(cloud='true')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'younger than the grace period' in ' '.join(proc.stdout.split())
    assert emulator.mutating_requests(since=mark) == []

    # Check mode and diff: what would go, nothing sent.
    proc = fleet('--check', '--diff', cloud='yes', cloud_grace=0)
    assert proc.returncode == 0 and emulator.mutating_requests(since=mark) == []
    assert '-instance orphan-off (us-central1-a)' in proc.stdout and '-disk lost-data' in proc.stdout

    # After the grace: the stopped orphan and the unattached disk go; the running orphan stays.
    proc = fleet(cloud='true', cloud_grace=0)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert deletions(emulator, mark) == [('disks', 'lost-data'), ('instances', 'orphan-off')]
    assert exists(emulator, 'instances', 'orphan-on') and exists(emulator, 'instances', 'known-w')
    assert exists(emulator, 'disks', 'other-disk')

    # force=true: the running orphan too.
    mark = emulator.mark()
    proc = fleet(cloud='true', cloud_grace=0, force='true')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert deletions(emulator, mark) == [('instances', 'orphan-on')]
    assert exists(emulator, 'instances', 'known-w') and exists(emulator, 'instances', 'web')


def test_a_data_disk_left_by_a_failed_worker_is_labelled_and_found(emulator, tmp_path, fleet):
    """cos_instance labels the data disk it creates, so the disk of a worker deleted by hand is found."""
    runner = PlaybookRunner(tmp_path, env={
        'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE': emulator.compute_endpoint, 'GCP_AUTH_KIND': 'accesstoken',
        'CLOUDSDK_AUTH_ACCESS_TOKEN': 'recon-token', 'CLOUDSDK_CORE_PROJECT': PROJECT})
    play = tmp_path / 'make.yml'
    play.write_text(json.dumps([{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'tasks': [
        {'gcli.offload.cos_instance': {'name': 'half-made', 'zone': ZONE, 'state': 'present',
                                       'labels': WORKER, 'container': {'image': 'us-docker.pkg.dev/p/r/m:1'},
                                       'data_disk': {'name': 'half-made-data'}}},
        {'gcli.offload.cos_instance': {'name': 'half-made', 'zone': ZONE, 'state': 'absent'}}]}]))
    proc = runner(str(play), {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    disk = emulator.call('GET', path('disks', 'half-made-data'))
    assert disk['labels'] == WORKER and not disk.get('users') and disk.get('lastDetachTimestamp')
    proc = fleet(cloud='false')
    assert 'disk half-made-data (us-central1-a)' in ' '.join(proc.stdout.split())
