"""Units for the gce_workers inventory plugin: parsing, filtering, naming, addresses, the IAP ProxyCommand."""

from __future__ import annotations

import shlex

import pytest
import yaml
from ansible.errors import AnsibleError

from ansible_collections.gcli.offload.plugins.inventory import gce_workers as inv

ZONE_URL = 'https://www.googleapis.com/compute/v1/projects/p-123456/zones/'


def instance(name, zone='us-central1-a', status='RUNNING', labels=None, nat='34.1.2.3', internal='10.128.0.2',
             ident=42):
    nic = {'networkIP': internal, 'accessConfigs': [{'name': 'External NAT', 'natIP': nat}] if nat else []}
    return {
        'id': str(ident), 'name': name, 'zone': ZONE_URL + zone, 'status': status,
        'machineType': ZONE_URL + zone + '/machineTypes/n2-standard-8',
        'labels': {'type': 'offload-worker'} if labels is None else labels,
        'tags': {'items': ['gcli-offload-ssh']},
        'networkInterfaces': [nic] if internal or nat else [],
        'selfLink': ZONE_URL + zone + '/instances/' + name,
    }


def test_worker_record_reads_the_api_shape():
    record = inv.worker_record(instance('gcli-offload-alice'), 'p-123456')
    assert record == {
        'gce_name': 'gcli-offload-alice', 'gce_id': '42', 'gce_project': 'p-123456', 'gce_zone': 'us-central1-a',
        'gce_status': 'RUNNING', 'gce_machine_type': 'n2-standard-8', 'gce_labels': {'type': 'offload-worker'},
        'gce_network_tags': ['gcli-offload-ssh'], 'gce_internal_ip': '10.128.0.2', 'gce_external_ip': '34.1.2.3',
        'gce_self_link': ZONE_URL + 'us-central1-a/instances/gcli-offload-alice',
    }


def test_record_of_a_bare_instance():
    record = inv.worker_record({'name': 'x', 'status': 'PROVISIONING'}, 'p')
    assert record['gce_internal_ip'] is None and record['gce_external_ip'] is None
    assert record['gce_labels'] == {} and record['gce_network_tags'] == [] and record['gce_id'] == ''


@pytest.mark.parametrize('labels,statuses,expected', [
    ({'type': 'offload-worker'}, ['RUNNING'], ['a', 'c']),
    ({'type': 'offload-worker'}, [], ['a', 'b', 'c']),
    ({'type': 'offload-worker', 'owner': 'alice'}, [], ['c']),
    ({}, ['TERMINATED'], ['b', 'd']),
])
def test_workers_filters_by_labels_and_status(labels, statuses, expected):
    instances = [
        instance('a'),
        instance('b', status='TERMINATED'),
        instance('c', labels={'type': 'offload-worker', 'owner': 'alice'}),
        instance('d', status='TERMINATED', labels={'type': 'web'}),
    ]
    assert [r['gce_name'] for r in inv.workers(instances, 'p', labels, statuses)] == expected


def test_label_values_are_compared_as_strings():
    record = inv.worker_record(instance('a', labels={'type': 'offload-worker', 'gen': '2'}), 'p')
    assert inv.is_worker(record, {'gen': 2}, [])
    assert not inv.is_worker(record, {'gen': 3}, [])


def test_workers_are_sorted_by_zone_then_name():
    instances = [instance('b', zone='europe-west1-b'), instance('a', zone='us-east1-c'), instance('a2', zone='europe-west1-b')]
    assert [(r['gce_zone'], r['gce_name']) for r in inv.workers(instances, 'p', {}, [])] == [
        ('europe-west1-b', 'a2'), ('europe-west1-b', 'b'), ('us-east1-c', 'a')]


def test_address_choice():
    both = inv.worker_record(instance('a'), 'p')
    internal_only = inv.worker_record(instance('b', nat=None), 'p')
    assert inv.choose_address(both, 'external') == '34.1.2.3'
    assert inv.choose_address(both, 'internal') == '10.128.0.2'
    assert inv.choose_address(internal_only, 'external') == '10.128.0.2'
    assert inv.choose_address(inv.worker_record({'name': 'c'}, 'p'), 'external') is None


def test_host_names_disambiguate_only_names_shared_by_zones():
    records = [inv.worker_record(instance('w', zone='us-central1-a'), 'p'),
               inv.worker_record(instance('w', zone='us-east1-b'), 'p'),
               inv.worker_record(instance('solo'), 'p')]
    assert inv.host_names(records) == ['w.us-central1-a', 'w.us-east1-b', 'solo']


def test_iap_args_are_one_proxy_command_ssh_parses():
    record = inv.worker_record(instance('gcli-offload-alice', ident=1234567), 'example.com:my-proj')
    args = shlex.split(inv.iap_ssh_args(record))
    assert args == ['-o', 'ProxyCommand=gcloud compute start-iap-tunnel gcli-offload-alice %p --listen-on-stdin '
                          '--project=example.com:my-proj --zone=us-central1-a --verbosity=warning',
                    '-o', 'HostKeyAlias=compute.1234567', '-o', 'StrictHostKeyChecking=accept-new']


@pytest.mark.parametrize('field,value', [
    ('gce_name', 'x;touch /tmp/pwn'),
    ('gce_zone', 'us-central1-a $(id)'),
    ('gce_project', 'p" -o ProxyCommand="sh'),
    ('gce_id', '12 34'),
])
def test_iap_args_refuse_anything_but_plain_names(field, value):
    record = inv.worker_record(instance('w'), 'my-project')
    record[field] = value
    with pytest.raises(AnsibleError, match='cannot build an IAP ProxyCommand'):
        inv.iap_ssh_args(record)


def test_iap_args_refuse_a_gcloud_path_with_shell_syntax():
    record = inv.worker_record(instance('w'), 'my-project')
    with pytest.raises(AnsibleError):
        inv.iap_ssh_args(record, gcloud_bin='gcloud;id')
    assert 'ProxyCommand=/opt/google/bin/gcloud compute ' in shlex.split(inv.iap_ssh_args(record, gcloud_bin='/opt/google/bin/gcloud'))[1]


@pytest.mark.parametrize('name,ok', [
    ('gce.yml', True), ('gce.yaml', True), ('prod.gce_workers.yml', True), ('x.gce_workers.yaml', True),
    ('local.yml', False), ('gce.json', False), ('mygce.yml', False),
])
def test_verify_file_accepts_only_its_config_names(tmp_path, name, ok):
    path = tmp_path / name
    path.write_text('plugin: gcli.offload.gce_workers\n')
    assert inv.InventoryModule().verify_file(str(path)) is ok


@pytest.mark.parametrize('status, group', [('RUNNING', 'offload_workers'), ('TERMINATED', 'offload_workers_stopped'),
                                           ('STOPPING', 'offload_workers_stopped'),
                                           ('SUSPENDED', 'offload_workers_stopped'),
                                           ('STAGING', 'offload_workers_stopped')])
def test_only_running_workers_go_in_the_group_the_others_in_its_stopped_group(status, group):
    """SSH reaches only a running worker; a stopped one is listed for offload_start_worker to find."""
    assert inv.worker_group(inv.worker_record(instance('w', status=status), 'p'), 'offload_workers') == group


def test_stopped_workers_are_listed_by_default():
    doc = yaml.safe_load(inv.DOCUMENTATION)
    assert doc['options']['statuses']['default'] == []
    records = inv.workers([instance('a'), instance('b', status='TERMINATED')], 'p', {'type': 'offload-worker'}, [])
    assert [(r['gce_name'], r['gce_status']) for r in records] == [('a', 'RUNNING'), ('b', 'TERMINATED')]
