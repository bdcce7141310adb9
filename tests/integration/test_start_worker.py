"""offload.yml wakes a worker VM that stopped itself when idle, then waits for it (issue 5).

The VM is the emulator's; the machine SSH reaches is the COS-like worker. So the
test shows the start call, that the play waits on the worker by condition, and that
the job then runs."""

from __future__ import annotations

import json
import re
import os

from fixtures_emulator import create_running_instance
from fixtures_provision import poll as wait_for

ZONE = 'us-central1-a'
PROJECT = 'emu-project'


def gcp_env(emulator):
    env = {k: v for k, v in os.environ.items() if not k.startswith(('CLOUDSDK_', 'GCP_', 'GOOGLE_', 'GCE_METADATA'))}
    env.update(CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=emulator.compute_endpoint, CLOUDSDK_CORE_PROJECT=PROJECT,
               CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM=emulator.iam_endpoint,
               GCP_AUTH_KIND='accesstoken', CLOUDSDK_AUTH_ACCESS_TOKEN='unused-token')
    return env


def instance_path(name):
    return '/compute/v1/projects/%s/zones/%s/instances/%s' % (PROJECT, ZONE, name)


def test_offload_starts_a_stopped_worker_and_waits_for_it(cos_worker, emulator):
    name = 'gcli-offload-idle'
    create_running_instance(emulator, name, PROJECT, ZONE)
    # a first job makes the maintainer container, as cloud-init's unit would on the VM
    assert cos_worker.playbook('-e', 'pr=1').returncode == 0
    emulator.call('POST', instance_path(name) + '/stop')
    assert emulator.call('GET', instance_path(name))['status'] in ('STOPPING', 'TERMINATED')

    start = {'offload_start_worker': True, 'offload_worker_name': name, 'offload_zone': ZONE,
             'offload_wait_timeout': 120, 'offload_wait_interval': 1}
    since = emulator.mark()
    proc = cos_worker.playbook('-e', 'pr=1', extra=start, env=gcp_env(emulator))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert [(e['method'], e['path'].rsplit('/', 1)[-1]) for e in emulator.mutating_requests(since=since)] == [
        ('POST', 'start')]
    assert emulator.call('GET', instance_path(name))['status'] == 'RUNNING'
    assert 'is ready' in proc.stdout
    assert 'job offload-1-review on cos-worker succeeded' in proc.stdout

    # running already: no start call, same result
    since = emulator.mark()
    again = cos_worker.playbook('-e', 'pr=1', extra=start, env=gcp_env(emulator))
    assert again.returncode == 0, again.stdout[-4000:]
    assert emulator.mutating_requests(since=since) == []


def test_power_only_refuses_an_instance_that_does_not_exist(cos_worker, emulator):
    proc = cos_worker.playbook('-e', 'pr=1', env=gcp_env(emulator), extra={
        'offload_start_worker': True, 'offload_worker_name': 'no-such-worker', 'offload_zone': ZONE})
    assert proc.returncode != 0
    assert 'instance no-such-worker does not exist in us-central1-a: create it first' in proc.stdout


def test_status_shows_the_vm_from_the_api_and_the_jobs(cos_worker, emulator):
    name = 'gcli-offload-status'
    create_running_instance(emulator, name, PROJECT, ZONE)
    assert cos_worker.playbook('-e', 'pr=1').returncode == 0  # the maintainer container exists
    since = emulator.mark()
    proc = cos_worker.playbook(playbook='status.yml', env=gcp_env(emulator),
                               extra={'offload_worker_name': name, 'offload_zone': ZONE})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert '%s: RUNNING' % name in proc.stdout
    # the job ended: its run is listed as such, nothing runs
    assert re.search(r'offload-1-review: ended, exit 0; parts: [a-z_]+ ok \d+s', proc.stdout), proc.stdout
    assert ': running' not in proc.stdout, proc.stdout
    assert emulator.mutating_requests(since=since) == []


def test_offload_finds_a_stopped_worker_in_the_gce_inventory_and_starts_it(cos_worker, emulator, tmp_path):
    """gce_workers lists the worker that stopped itself (offload_workers_stopped, gce_status TERMINATED);
    offload_start_worker=true starts that VM (its name, zone and project from the inventory, no
    offload_worker_name) and runs the job on it."""
    name = 'gcli-offload-found'
    create_running_instance(emulator, name, PROJECT, ZONE, labels={'type': 'offload-worker'})
    assert cos_worker.playbook('-e', 'pr=1').returncode == 0  # the maintainer container, as the boot unit makes it
    emulator.call('POST', instance_path(name) + '/stop')
    host = cos_worker.host
    # SSH goes to the COS-like host standing in for the VM (compose), everything else from the API.
    config = tmp_path / 'found.gce_workers.yml'
    config.write_text(json.dumps({
        'plugin': 'gcli.offload.gce_workers', 'project': PROJECT, 'zones': [ZONE],
        'compose': {'ansible_host': "'127.0.0.1'", 'ansible_port': str(host.port), 'ansible_user': "'worker'",
                    'ansible_ssh_private_key_file': repr(host.key), 'ansible_become': 'true',
                    'ansible_ssh_common_args': "'-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"}}))
    cos_worker.inventory = str(config)
    env = gcp_env(emulator)
    wait_for(lambda: emulator.call('GET', instance_path(name))['status'] == 'TERMINATED', 30, 'the VM to stop')

    # Without asking to start it: refused, naming the stopped worker.
    refused = cos_worker.playbook('-e', 'pr=1', env=env)
    assert refused.returncode != 0
    assert "found 'gcli-offload-found', which does not run" in ' '.join((refused.stdout + refused.stderr).split())

    since = emulator.mark()
    proc = cos_worker.playbook('-e', 'pr=1', env=env, extra={'offload_start_worker': 'yes', 'offload_wait_timeout': 120,
                                                             'offload_wait_interval': 1})
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert [(e['method'], e['path'].rsplit('/', 2)[-2:]) for e in emulator.mutating_requests(since=since)] == [
        ('POST', [name, 'start'])]
    assert emulator.call('GET', instance_path(name))['status'] == 'RUNNING'
    assert 'job offload-1-review on %s succeeded' % name in proc.stdout
