"""The gcli.offload.gce_workers inventory plugin against the Compute Engine emulator, through `ansible-inventory --list`."""

from __future__ import annotations

import json
import os
import shlex
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = 'inv-project'
WORKER = {'type': 'offload-worker'}


def insert(emulator, name, zone, labels, external=True):
    body = {'name': name, 'machineType': 'zones/%s/machineTypes/e2-small' % zone, 'labels': labels,
            'disks': [{'boot': True, 'autoDelete': True,
                       'initializeParams': {'sourceImage': 'projects/cos-cloud/global/images/family/cos-stable'}}],
            'networkInterfaces': [{'network': 'global/networks/default'}]}
    if external:
        body['networkInterfaces'][0]['accessConfigs'] = [{'type': 'ONE_TO_ONE_NAT', 'name': 'External NAT'}]
    op = emulator.call('POST', '/compute/v1/projects/%s/zones/%s/instances' % (PROJECT, zone), body)
    wait(emulator, op, zone)
    return emulator.call('GET', '/compute/v1/projects/%s/zones/%s/instances/%s' % (PROJECT, zone, name))


def wait(emulator, op, zone):
    while op['status'] != 'DONE':  # the wait call itself blocks until DONE (bounded by the emulator)
        op = emulator.call('POST', '/compute/v1/projects/%s/zones/%s/operations/%s/wait' % (PROJECT, zone, op['name']))
    assert 'error' not in op, op


@pytest.fixture
def fleet(emulator):
    """Workers and non-workers in two zones; returns the instances by name."""
    made = {
        'w-a': insert(emulator, 'w-a', 'us-central1-a', WORKER),
        'w-b': insert(emulator, 'w-b', 'europe-west1-b', dict(WORKER, owner='bob'), external=False),
        'w-off': insert(emulator, 'w-off', 'us-central1-a', WORKER),
        'web': insert(emulator, 'web', 'us-central1-a', {'type': 'web'}),
        'twin-central': insert(emulator, 'twin', 'us-central1-a', WORKER),
        'twin-europe': insert(emulator, 'twin', 'europe-west1-b', WORKER),
    }
    op = emulator.call('POST', '/compute/v1/projects/%s/zones/us-central1-a/instances/w-off/stop' % PROJECT)
    wait(emulator, op, 'us-central1-a')
    return made


def inventory(emulator, tmp_path, config, name='test.gce_workers.yml', env=None):
    path = tmp_path / name
    path.write_text(json.dumps(dict({'plugin': 'gcli.offload.gce_workers', 'project': PROJECT}, **config)))
    run_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
                   CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=emulator.compute_endpoint,
                   GCP_AUTH_KIND='accesstoken', CLOUDSDK_AUTH_ACCESS_TOKEN='inv-test-token', **(env or {}))
    proc = subprocess.run(['ansible-inventory', '-i', str(path), '--list'], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=run_env, check=False)
    return proc


def plain(value):
    """ansible-inventory marks values that came from the API as unsafe ({"__ansible_unsafe": ...}): unwrap them."""
    if isinstance(value, dict):
        if list(value) == ['__ansible_unsafe']:
            return value['__ansible_unsafe']
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def listed(proc):
    assert proc.returncode == 0, proc.stderr
    data = plain(json.loads(proc.stdout))
    return data, data.get('_meta', {}).get('hostvars', {})


def test_lists_running_workers_into_offload_workers(emulator, tmp_path, fleet):
    proc = inventory(emulator, tmp_path, {})
    data, hostvars = listed(proc)
    assert sorted(data['offload_workers']['hosts']) == ['twin.europe-west1-b', 'twin.us-central1-a', 'w-a', 'w-b']
    a, b = hostvars['w-a'], hostvars['w-b']
    nic_a = fleet['w-a']['networkInterfaces'][0]
    assert a['ansible_host'] == nic_a['accessConfigs'][0]['natIP']
    assert a['gce_internal_ip'] == nic_a['networkIP'] and a['gce_id'] == fleet['w-a']['id']
    assert a['gce_zone'] == 'us-central1-a' and a['gce_status'] == 'RUNNING' and a['gce_project'] == PROJECT
    assert a['gce_machine_type'] == 'e2-small' and a['gce_labels'] == WORKER
    # No external IP: the internal one.
    assert b['ansible_host'] == fleet['w-b']['networkInterfaces'][0]['networkIP'] and b['gce_external_ip'] is None
    assert 'ansible_ssh_common_args' not in a
    assert '_meta' in data and 'web' not in hostvars
    # The stopped worker is listed too, with its status, in the group of those that do not run.
    assert data['offload_workers_stopped']['hosts'] == ['w-off'] and hostvars['w-off']['gce_status'] == 'TERMINATED'


def test_options_zones_statuses_labels_address_iap_and_keyed_groups(emulator, tmp_path, fleet):
    mark = emulator.mark()
    proc = inventory(emulator, tmp_path, {
        'zones': ['us-central1-a'], 'statuses': [], 'labels': {}, 'address': 'internal', 'iap_tunnel': True,
        'group': 'my_workers', 'keyed_groups': [{'key': 'gce_labels.type', 'prefix': 'role'}],
        'compose': {'ansible_user': "'alice_example_com'"}}, name='gce.yml')
    data, hostvars = listed(proc)
    assert sorted(data['my_workers']['hosts']) == ['twin', 'w-a', 'web']
    assert data['my_workers_stopped']['hosts'] == ['w-off']
    assert sorted(data['role_offload_worker']['hosts']) == ['twin', 'w-a', 'w-off']
    assert data['role_web']['hosts'] == ['web']
    a = hostvars['w-a']
    assert a['ansible_host'] == a['gce_internal_ip'] and a['ansible_user'] == 'alice_example_com'
    args = shlex.split(a['ansible_ssh_common_args'])
    assert args[1] == ('ProxyCommand=gcloud compute start-iap-tunnel w-a %p --listen-on-stdin '
                       '--project=inv-project --zone=us-central1-a --verbosity=warning')
    assert 'HostKeyAlias=compute.%s' % fleet['w-a']['id'] in args
    # one zone listed with the zone's list call, not the aggregated one
    paths = [e['path'] for e in emulator.requests(since=mark)]
    assert any(p.endswith('/zones/us-central1-a/instances') for p in paths)
    assert not any('/aggregated/' in p for p in paths)


def test_retries_server_errors(emulator, tmp_path, fleet):
    emulator.inject(status=503, path='/aggregated/instances', method='GET', times=2)
    data, hostvars = listed(inventory(emulator, tmp_path, {}))
    assert 'w-a' in hostvars
    assert sum(1 for e in emulator.requests() if '/aggregated/instances' in e['path'] and e['status'] == 503) == 2


def test_an_api_error_is_one_readable_line(emulator, tmp_path, fleet):
    emulator.inject(status=403, path='/aggregated/instances', method='GET', times=1)
    proc = inventory(emulator, tmp_path, {}, env={'ANSIBLE_INVENTORY_UNPARSED_FAILED': 'true'})
    assert proc.returncode != 0
    err = ' '.join(proc.stderr.split())
    assert 'gce_workers: cannot list instances of project inv-project' in err
    assert 'HTTP 403' in err and 'grant the credentials' in err


def test_a_wrong_file_name_is_not_taken(emulator, tmp_path):
    proc = inventory(emulator, tmp_path, {}, name='workers.yml', env={'ANSIBLE_INVENTORY_UNPARSED_FAILED': 'true'})
    assert proc.returncode != 0
    assert 'workers.yml' in proc.stderr


def test_cache_answers_when_the_api_does_not(emulator, tmp_path, fleet):
    config = {'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile', 'cache_connection': str(tmp_path / 'cache'),
              'cache_timeout': 3600}
    first = listed(inventory(emulator, tmp_path, config))[1]
    mark = emulator.mark()
    emulator.inject(status=403, path='/instances$', method='GET')
    cached = listed(inventory(emulator, tmp_path, config))[1]
    assert cached == first and 'w-a' in cached
    assert emulator.requests(since=mark) == []  # not one API call: the cache answered


def test_the_shipped_example_inventory_works(emulator, tmp_path, fleet):
    """inventory/gce.yml as shipped (zone us-central1-a, IAP, compose), the project from the environment."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=emulator.compute_endpoint, GCP_AUTH_KIND='accesstoken',
               CLOUDSDK_AUTH_ACCESS_TOKEN='inv-test-token', CLOUDSDK_CORE_PROJECT=PROJECT, USER='alice_example_com')
    proc = subprocess.run(['ansible-inventory', '-i', 'inventory/gce.yml', '--list'], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env, check=False)
    data, hostvars = listed(proc)
    assert sorted(data['offload_workers']['hosts']) == ['twin', 'w-a']  # RUNNING workers of us-central1-a
    a = hostvars['w-a']
    assert a['ansible_user'] == 'alice_example_com' and a['ansible_become'] is True
    assert a['ansible_ssh_private_key_file'] == '~/.ssh/google_compute_engine'
    assert 'start-iap-tunnel w-a %p' in a['ansible_ssh_common_args']


def test_boolean_options_take_strings_and_refuse_what_is_not_one(emulator, tmp_path, fleet):
    data, hostvars = listed(inventory(emulator, tmp_path, {'iap_tunnel': 'yes', 'strict': 'False'}))
    assert 'ProxyCommand="gcloud compute start-iap-tunnel w-a ' in hostvars['w-a']['ansible_ssh_common_args']
    mark = emulator.mark()
    proc = inventory(emulator, tmp_path, {'iap_tunnel': 'maybe'}, env={'ANSIBLE_INVENTORY_UNPARSED_FAILED': 'true'})
    assert proc.returncode != 0
    assert 'gce_workers: iap_tunnel: must be a boolean (true/false, yes/no, on/off or 1/0), got \'maybe\'' in ' '.join(
        proc.stderr.split()), proc.stderr
    assert [e for e in emulator.requests(since=mark) if not e['path'].startswith('/_emulator/')] == []


def test_a_worker_group_left_empty_by_a_stopped_vm_fails_the_playbook(emulator, tmp_path):
    """The worker stopped itself (idle stop): the plugin lists it in offload_workers_stopped,
    so offload_workers is empty; offload.yml fails naming it and how to start it, not "no hosts matched"."""
    labels = dict(WORKER, owner='idle-test')
    insert(emulator, 'w-idle', 'us-central1-a', labels)
    op = emulator.call('POST', '/compute/v1/projects/%s/zones/us-central1-a/instances/w-idle/stop' % PROJECT)
    wait(emulator, op, 'us-central1-a')
    data, hostvars = listed(inventory(emulator, tmp_path, {'labels': labels}, name='idle.gce_workers.yml'))
    assert hostvars['w-idle']['gce_status'] == 'TERMINATED' and data['offload_workers_stopped']['hosts'] == ['w-idle']
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=emulator.compute_endpoint,
               GCP_AUTH_KIND='accesstoken', CLOUDSDK_AUTH_ACCESS_TOKEN='inv-test-token')
    proc = subprocess.run(['ansible-playbook', '-i', str(tmp_path / 'idle.gce_workers.yml'), 'offload.yml',
                           '-e', 'pr=1'], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env, check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    assert 'no worker to run on: the group offload_workers has no host' in text, text
    assert "found 'w-idle', which does not run" in ' '.join(text.split())
    assert 're-run with -e offload_start_worker=true' in ' '.join(text.split())
