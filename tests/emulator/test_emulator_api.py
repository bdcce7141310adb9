# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The emulator over plain HTTP: each validation rule, status transitions,
operations, faults, the control API, Cloud Build triggers, metadata and
token endpoints, auth, the request log and the answer time."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime

import harness
import pytest
import requests

PROJECT = 'emu-project'
ZONE = 'us-central1-a'
IMAGE = 'projects/cos-cloud/global/images/family/cos-stable'


class Api:
    def __init__(self, emu):
        self.emu = emu
        self.session = requests.Session()

    def call(self, method, path, body=None, params=None, headers=None, base=None):
        url = (base or self.emu.compute_endpoint) + path.lstrip('/')
        return self.session.request(method, url, json=body, params=params, headers=headers, timeout=30)

    def ok(self, method, path, body=None, params=None):
        resp = self.call(method, path, body, params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def error(self, method, path, body=None, params=None, status=400, reason=None):
        resp = self.call(method, path, body, params)
        assert resp.status_code == status, resp.text
        err = resp.json()['error']
        assert err['code'] == status and err['message'] and err['status']
        assert err['errors'][0]['domain'] == 'global'
        if reason:
            assert err['errors'][0]['reason'] == reason, err
        return err

    def wait(self, op):
        scope = 'zones/%s' % op['zone'].rsplit('/', 1)[1] if 'zone' in op else 'global'
        if 'region' in op:
            scope = 'regions/%s' % op['region'].rsplit('/', 1)[1]
        done = self.ok('POST', 'projects/%s/%s/operations/%s/wait' % (PROJECT, scope, op['name']))
        assert done['status'] == 'DONE', done
        return done

    def inst(self, name, suffix=''):
        return 'projects/%s/zones/%s/instances/%s%s' % (PROJECT, ZONE, name, suffix)

    def create(self, name='w1', **extra):
        body = instance_body(name, **extra)
        op = self.ok('POST', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE), body)
        done = self.wait(op)
        assert 'error' not in done, done
        return self.ok('GET', self.inst(name))

    def stop(self, name):
        self.wait(self.ok('POST', self.inst(name, '/stop')))


def instance_body(name, external=True, **extra):
    nic = {'network': 'global/networks/default'}
    if external:
        nic['accessConfigs'] = [{'type': 'ONE_TO_ONE_NAT', 'name': 'External NAT'}]
    body = {
        'name': name, 'machineType': 'zones/%s/machineTypes/e2-medium' % ZONE,
        'disks': [{'boot': True, 'autoDelete': True, 'initializeParams': {'sourceImage': IMAGE, 'diskSizeGb': '20'}}],
        'networkInterfaces': [nic],
        'metadata': {'items': [{'key': 'enable-oslogin', 'value': 'TRUE'}]},
        'labels': {'role': 'worker'}, 'tags': {'items': ['ssh']},
        'serviceAccounts': [{'email': 'default', 'scopes': ['https://www.googleapis.com/auth/cloud-platform']}],
    }
    body.update(extra)
    return body


@pytest.fixture
def api(emulator):
    return Api(emulator)


def b64ok(value):
    return base64.b64decode(value, validate=False) and base64.b64encode(base64.b64decode(value)).decode() == value


# -- process, request log ----------------------------------------------------

def test_run_prints_ready_and_logs_json_lines_without_token(tmp_path):
    emu = harness.start_emulator(tmp_path)
    try:
        assert emu.url.startswith('http://127.0.0.1:') and emu.port > 0
        requests.get(emu.compute_endpoint + 'projects/%s/zones/%s' % (PROJECT, ZONE), timeout=10,
                     headers={'Authorization': 'Bearer secret-token-value'})
        requests.get(emu.compute_endpoint + 'projects/%s/zones/nowhere-1z' % PROJECT, params={'alt': 'json'},
                     timeout=10)
        with open(emu.request_log, encoding='utf-8') as handle:
            text = handle.read()
        lines = [json.loads(x) for x in text.splitlines()]
        assert [(x['method'], x['status'], x['auth']) for x in lines] == [('GET', 200, 'bearer'), ('GET', 404, 'none')]
        assert set(lines[0]) >= {'method', 'path', 'status', 'query', 'auth'}
        assert lines[1]['query'] == {'alt': 'json'}
        assert 'secret-token-value' not in text
    finally:
        emu.stop()
    assert not emu.alive()


def test_answers_well_under_10ms(api, emulator):
    api.create('perf')
    mark = emulator.mark()
    client = []
    for _round in range(200):
        started = time.perf_counter()
        api.ok('GET', api.inst('perf'))
        client.append((time.perf_counter() - started) * 1000)
    server = sorted(e['ms'] for e in emulator.requests(mark))
    client.sort()
    assert len(server) == 200
    assert server[189] < 10, 'server p95 %.2f ms' % server[189]
    assert client[100] < 10, 'client median %.2f ms' % client[100]


# -- images -------------------------------------------------------------------

def test_cos_images_and_family(api):
    images = api.ok('GET', 'projects/cos-cloud/global/images')['items']
    stable = [i for i in images if i['name'].startswith('cos-stable-')]
    assert len(stable) >= 3 and len({i['creationTimestamp'] for i in stable}) == len(stable)
    newest = api.ok('GET', 'projects/cos-cloud/global/images/family/cos-stable')
    assert newest['family'] == 'cos-stable'
    live = [i for i in stable if 'deprecated' not in i]
    assert newest['name'] == max(live, key=lambda i: datetime.fromisoformat(i['creationTimestamp']))['name']
    assert newest['name'] != max(i['name'] for i in live)      # by timestamp, not by name
    assert api.ok('GET', 'projects/cos-cloud/global/images/' + newest['name'])['id'] == newest['id']
    assert {i['family'] for i in images} >= {'cos-stable', 'cos-beta', 'cos-dev'}
    api.error('GET', 'projects/cos-cloud/global/images/family/cos-nothing', status=404, reason='notFound')
    api.error('GET', 'projects/cos-cloud/global/images/cos-stable-1-2-3', status=404, reason='notFound')


def test_zones_and_machine_types(api):
    assert api.ok('GET', 'projects/%s/zones/%s' % (PROJECT, ZONE))['region'].endswith('/regions/us-central1')
    names = [z['name'] for z in api.ok('GET', 'projects/%s/zones' % PROJECT)['items']]
    assert ZONE in names
    mt = api.ok('GET', 'projects/%s/zones/%s/machineTypes/n2-standard-8' % (PROJECT, ZONE))
    assert (mt['guestCpus'], mt['memoryMb']) == (8, 32768)
    api.error('GET', 'projects/%s/zones/%s/machineTypes/n9-huge' % (PROJECT, ZONE), status=404)
    api.error('GET', 'projects/%s/zones/mars-north1-a' % PROJECT, status=404, reason='notFound')


# -- instances: lifecycle -----------------------------------------------------

def test_instance_lifecycle_and_status_transitions(api, emulator):
    emulator.inject(operation_delay=1.0, path='/instances$')
    op = api.ok('POST', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE), instance_body('life'))
    assert op['status'] in ('PENDING', 'RUNNING') and op['operationType'] == 'insert'
    assert op['targetLink'].endswith('/' + api.inst('life'))
    seen = [api.ok('GET', api.inst('life'))['status']]
    deadline = time.monotonic() + 10
    while seen[-1] != 'RUNNING':          # poll the status through its transitions
        assert time.monotonic() < deadline, seen
        status = api.ok('GET', api.inst('life'))['status']
        if status != seen[-1]:
            seen.append(status)
        time.sleep(0.01)                  # poll interval, not a synchronisation
    assert seen == ['PROVISIONING', 'STAGING', 'RUNNING']
    assert api.wait(op)['progress'] == 100
    inst = api.ok('GET', api.inst('life'))
    assert inst['status'] == 'RUNNING' and inst['id'].isdigit() and inst['selfLink'].startswith(emulator.url)
    nic = inst['networkInterfaces'][0]
    assert nic['networkIP'].startswith('10.128.0.') and nic['accessConfigs'][0]['natIP']
    boot = inst['disks'][0]
    assert boot['boot'] and boot['autoDelete'] and boot['diskSizeGb'] == '20'
    assert any(lic.endswith('/projects/cos-cloud/global/licenses/cos') for lic in boot['licenses'])
    assert inst['serviceAccounts'][0]['email'].endswith('-compute@developer.gserviceaccount.com')
    assert inst['scheduling'] == {'onHostMaintenance': 'MIGRATE', 'automaticRestart': True, 'preemptible': False,
                                  'provisioningModel': 'STANDARD'}
    assert inst['metadata']['items'] == [{'key': 'enable-oslogin', 'value': 'TRUE'}]
    for fp in (inst['metadata']['fingerprint'], inst['labelFingerprint'], inst['tags']['fingerprint']):
        assert b64ok(fp)
    disk = api.ok('GET', 'projects/%s/zones/%s/disks/life' % (PROJECT, ZONE))
    assert disk['users'] == [inst['selfLink']] and disk['sourceImage'].endswith('cos-stable-125-19216-0-94')

    emulator.inject(operation_delay=0.5, path='/stop$')
    op = api.ok('POST', api.inst('life', '/stop'))
    assert api.ok('GET', api.inst('life'))['status'] == 'STOPPING'
    api.wait(op)
    assert api.ok('GET', api.inst('life'))['status'] == 'TERMINATED'
    api.wait(api.ok('POST', api.inst('life', '/start')))
    assert api.ok('GET', api.inst('life'))['status'] == 'RUNNING'

    listed = api.ok('GET', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE))['items']
    assert [i['name'] for i in listed] == ['life']
    agg = api.ok('GET', 'projects/%s/aggregated/instances' % PROJECT)['items']
    assert [i['name'] for i in agg['zones/' + ZONE]['instances']] == ['life']
    assert agg['zones/us-east1-b']['warning']['code'] == 'NO_RESULTS_ON_PAGE'

    api.wait(api.ok('DELETE', api.inst('life')))
    api.error('GET', api.inst('life'), status=404, reason='notFound')
    api.error('GET', 'projects/%s/zones/%s/disks/life' % (PROJECT, ZONE), status=404)   # autoDelete


def test_no_external_ip_without_access_config(api):
    inst = api.create('internal', external=False)
    assert 'accessConfigs' not in inst['networkInterfaces'][0]


def test_list_pagination_and_filter(api):
    for name in ('a-1', 'a-2', 'b-1'):
        api.create(name, labels={'group': name[0]})
    first = api.ok('GET', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE), params={'maxResults': 2})
    assert len(first['items']) == 2 and first['nextPageToken']
    second = api.ok('GET', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE),
                    params={'maxResults': 2, 'pageToken': first['nextPageToken']})
    assert [i['name'] for i in second['items']] == ['b-1'] and 'nextPageToken' not in second
    got = api.ok('GET', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE), params={'filter': 'labels.group = a'})
    assert [i['name'] for i in got['items']] == ['a-1', 'a-2']
    got = api.ok('GET', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE), params={'filter': 'name eq b-.*'})
    assert [i['name'] for i in got['items']] == ['b-1']
    api.error('GET', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE), params={'filter': '((('})


# -- instances: validation ----------------------------------------------------

@pytest.mark.parametrize('name', ['Upper', '1abc', 'a' * 64, 'ends-', 'under_score', 'a.b'])
def test_invalid_names(api, name):
    err = api.error('POST', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE), instance_body(name),
                    reason='invalid')
    assert "'resource.name'" in err['message']


def test_name_of_63_characters_is_valid(api):
    api.create('a' * 63)


@pytest.mark.parametrize('field', ['name', 'machineType', 'disks'])
def test_required_fields(api, field):
    body = instance_body('req')
    del body[field]
    err = api.error('POST', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE), body, reason='required')
    assert field in err['message']


def test_insert_rules(api, emulator):
    url = 'projects/%s/zones/%s/instances' % (PROJECT, ZONE)
    api.error('POST', 'projects/%s/zones/mars-1a/instances' % PROJECT, instance_body('x'), status=404)
    err = api.error('POST', url, instance_body('x', machineType='zones/%s/machineTypes/n9-huge' % ZONE))
    assert 'does not exist' in err['message']
    api.error('POST', url, instance_body('x', machineType='zones/us-east1-b/machineTypes/e2-medium'))
    api.error('POST', url, instance_body('x', machineType='e2-medium'))
    body = instance_body('x')
    body['disks'][0]['initializeParams']['sourceImage'] = 'projects/cos-cloud/global/images/cos-nope'
    api.error('POST', url, body, status=404, reason='notFound')
    body['disks'][0]['initializeParams'] = {'sourceImage': IMAGE, 'diskSizeGb': '5'}
    assert 'smaller than the image' in api.error('POST', url, body)['message']
    api.error('POST', url, instance_body('x', networkInterfaces=[]))
    api.error('POST', url, instance_body('x', labels={'Bad': 'x'}))
    api.error('POST', url, instance_body('x', labels={'ok': 'UPPER'}))
    api.error('POST', url, instance_body('x', tags={'items': ['Not_Valid']}))
    api.error('POST', url, instance_body('x', metadata={'items': [{'key': 'a', 'value': '1'},
                                                                  {'key': 'a', 'value': '2'}]}))
    api.error('POST', url, instance_body('x', metadata={'items': [{'key': 'bad key', 'value': '1'}]}))
    api.error('POST', url, instance_body('x', scheduling={'provisioningModel': 'SPOT', 'automaticRestart': True}))
    api.error('POST', url, instance_body('x', scheduling={'provisioningModel': 'SPOT',
                                                          'onHostMaintenance': 'MIGRATE'}))
    assert emulator.state()['compute']['instances'] == {}
    api.create('x')
    api.error('POST', url, instance_body('x'), status=409, reason='alreadyExists')


def test_spot_defaults(api):
    inst = api.create('spot', scheduling={'provisioningModel': 'SPOT'})
    assert inst['scheduling']['automaticRestart'] is False
    assert inst['scheduling']['onHostMaintenance'] == 'TERMINATE'
    assert inst['scheduling']['preemptible'] is True


def test_unknown_instance_and_operation_are_404(api):
    for method, suffix in (('GET', ''), ('DELETE', ''), ('POST', '/stop'), ('POST', '/start')):
        api.error(method, api.inst('ghost', suffix), status=404, reason='notFound')
    api.error('GET', 'projects/%s/zones/%s/operations/operation-1-x' % (PROJECT, ZONE), status=404)
    api.error('POST', 'projects/%s/global/operations/operation-1-x/wait' % PROJECT, status=404)


# -- fingerprints -------------------------------------------------------------

@pytest.mark.parametrize('verb,payload,fp_of', [
    ('setMetadata', {'items': [{'key': 'k', 'value': 'v'}]}, lambda i: ('fingerprint', i['metadata']['fingerprint'])),
    ('setLabels', {'labels': {'k': 'v'}}, lambda i: ('labelFingerprint', i['labelFingerprint'])),
    ('setTags', {'items': ['web']}, lambda i: ('fingerprint', i['tags']['fingerprint'])),
])
def test_fingerprints(api, verb, payload, fp_of):
    inst = api.create('fp')
    key, current = fp_of(inst)
    err = api.error('POST', api.inst('fp', '/' + verb), dict(payload, **{key: 'AAAAAAAAAAA='}), status=412,
                    reason='conditionNotMet')
    assert err['status'] == 'FAILED_PRECONDITION'
    api.error('POST', api.inst('fp', '/' + verb), payload, status=400, reason='required')
    api.error('POST', api.inst('fp', '/' + verb), dict(payload, **{key: 'not base64!'}), status=400,
              reason='invalid')
    # gcloud (apitools) echoes fingerprints back in the URL-safe alphabet: same bytes, accepted
    urlsafe = current.replace('+', '-').replace('/', '_')
    api.wait(api.ok('POST', api.inst('fp', '/' + verb), dict(payload, **{key: urlsafe})))
    after = api.ok('GET', api.inst('fp'))
    new_key, new = fp_of(after)
    assert new != current and b64ok(new)
    if verb == 'setMetadata':
        assert after['metadata']['items'] == [{'key': 'k', 'value': 'v'}]
    elif verb == 'setLabels':
        assert after['labels'] == {'k': 'v'}
    else:
        assert after['tags']['items'] == ['web']
    api.error('POST', api.inst('fp', '/' + verb), dict(payload, **{key: current}), status=412)   # now stale


def test_project_common_metadata(api):
    proj = api.ok('GET', 'projects/%s' % PROJECT)
    fp = proj['commonInstanceMetadata']['fingerprint']
    url = 'projects/%s/setCommonInstanceMetadata' % PROJECT
    api.error('POST', url, {'items': [], 'fingerprint': 'AAAAAAAAAAA='}, status=412, reason='conditionNotMet')
    api.wait(api.ok('POST', url, {'items': [{'key': 'ssh-keys', 'value': 'u:ssh-ed25519 AAAA u'}],
                                  'fingerprint': fp}))
    after = api.ok('GET', 'projects/%s' % PROJECT)['commonInstanceMetadata']
    assert after['items'][0]['key'] == 'ssh-keys' and after['fingerprint'] != fp


# -- state rules --------------------------------------------------------------

def test_machine_type_and_service_account_only_when_terminated(api):
    api.create('rules')
    mt = {'machineType': 'zones/%s/machineTypes/n2-standard-8' % ZONE}
    sa = {'email': 'worker@emu-project.iam.gserviceaccount.com',
          'scopes': ['https://www.googleapis.com/auth/cloud-platform']}
    err = api.error('POST', api.inst('rules', '/setMachineType'), mt, reason='invalidResourceUsage')
    assert 'RUNNING' in err['message']
    api.error('POST', api.inst('rules', '/setServiceAccount'), sa, reason='invalidResourceUsage')
    api.error('POST', api.inst('rules', '/setScheduling'), {'provisioningModel': 'SPOT'},
              reason='invalidResourceUsage')
    keep_model = {'automaticRestart': False, 'onHostMaintenance': 'TERMINATE'}
    api.wait(api.ok('POST', api.inst('rules', '/setScheduling'), keep_model))
    api.stop('rules')
    api.error('POST', api.inst('rules', '/setMachineType'), {'machineType': 'zones/%s/machineTypes/x1' % ZONE})
    api.wait(api.ok('POST', api.inst('rules', '/setMachineType'), mt))
    api.wait(api.ok('POST', api.inst('rules', '/setServiceAccount'), sa))
    api.wait(api.ok('POST', api.inst('rules', '/setScheduling'), {'provisioningModel': 'SPOT'}))
    inst = api.ok('GET', api.inst('rules'))
    assert inst['machineType'].endswith('/machineTypes/n2-standard-8')
    assert inst['serviceAccounts'] == [sa]
    assert inst['scheduling']['provisioningModel'] == 'SPOT'


def test_start_while_stopping_is_not_ready(api, emulator):
    api.create('busy')
    emulator.inject(operation_delay=0.5, path='/stop$')
    op = api.ok('POST', api.inst('busy', '/stop'))
    api.error('POST', api.inst('busy', '/start'), reason='resourceNotReady')
    api.wait(op)


def test_deletion_protection(api):
    api.create('prot', deletionProtection=True)
    api.error('DELETE', api.inst('prot'))
    api.wait(api.ok('POST', api.inst('prot', '/setDeletionProtection'), params={'deletionProtection': 'false'}))
    api.wait(api.ok('DELETE', api.inst('prot')))


# -- disks --------------------------------------------------------------------

def test_data_disk_attach_in_use_and_survives_instance(api):
    disks = 'projects/%s/zones/%s/disks' % (PROJECT, ZONE)
    api.wait(api.ok('POST', disks, {'name': 'data', 'sizeGb': '200', 'type': 'zones/%s/diskTypes/pd-balanced' % ZONE}))
    assert api.ok('GET', disks + '/data')['status'] == 'READY'
    api.error('POST', disks, {'name': 'data', 'sizeGb': '10'}, status=409)
    api.create('one', disks=[
        {'boot': True, 'autoDelete': True, 'initializeParams': {'sourceImage': IMAGE}},
        {'source': disks + '/data', 'deviceName': 'data', 'autoDelete': False}])
    api.create('two')
    err = api.error('POST', api.inst('two', '/attachDisk'), {'source': disks + '/data'},
                    reason='resourceInUseByAnotherResource')
    assert 'instances/one' in err['message']
    api.error('DELETE', disks + '/data', reason='resourceInUseByAnotherResource')
    api.wait(api.ok('DELETE', api.inst('one')))
    disk = api.ok('GET', disks + '/data')
    assert disk['users'] == [] and disk['sizeGb'] == '200'
    api.wait(api.ok('POST', api.inst('two', '/attachDisk'), {'source': disks + '/data', 'deviceName': 'data'}))
    inst = api.ok('GET', api.inst('two'))
    assert [d['deviceName'] for d in inst['disks']] == ['two', 'data'] and inst['disks'][1]['index'] == 1
    api.wait(api.ok('POST', api.inst('two', '/detachDisk'), params={'deviceName': 'data'}))
    api.wait(api.ok('DELETE', disks + '/data'))


# -- networks and firewalls ---------------------------------------------------

def test_firewalls(api):
    url = 'projects/%s/global/firewalls' % PROJECT
    rule = {'name': 'allow-iap-ssh', 'network': 'global/networks/default', 'direction': 'INGRESS',
            'allowed': [{'IPProtocol': 'tcp', 'ports': ['22']}], 'sourceRanges': ['35.235.240.0/20'],
            'targetTags': ['offload-worker']}
    op = api.ok('POST', url, rule)
    assert 'zone' not in op and op['selfLink'].endswith('/global/operations/' + op['name'])
    api.wait(op)
    got = api.ok('GET', url + '/allow-iap-ssh')
    assert got['sourceRanges'] == ['35.235.240.0/20'] and got['priority'] == 1000
    api.error('POST', url, rule, status=409)
    api.wait(api.ok('PATCH', url + '/allow-iap-ssh', {'sourceRanges': ['10.0.0.0/8'], 'priority': 900}))
    got = api.ok('GET', url + '/allow-iap-ssh')
    assert (got['sourceRanges'], got['priority'], got['allowed']) == (['10.0.0.0/8'], 900, rule['allowed'])
    assert [f['name'] for f in api.ok('GET', url)['items']] == ['allow-iap-ssh', 'default-allow-icmp',
                                                                'default-allow-internal', 'default-allow-rdp',
                                                                'default-allow-ssh']
    api.wait(api.ok('DELETE', url + '/allow-iap-ssh'))
    api.error('GET', url + '/allow-iap-ssh', status=404)

    bad = [dict(rule, name='Bad_Name'), dict(rule, allowed=[], denied=[]),
           dict(rule, denied=[{'IPProtocol': 'tcp'}]), dict(rule, allowed=[{'IPProtocol': 'icmp', 'ports': ['1']}]),
           dict(rule, allowed=[{'IPProtocol': 'tcp', 'ports': ['70000']}]), dict(rule, sourceRanges=['300.0.0.0/8']),
           dict(rule, priority=70000), dict(rule, network='global/networks/nope')]
    for body in bad:
        resp = api.call('POST', url, body)
        assert resp.status_code in (400, 404), body
    open_rule = dict(rule, name='no-source')
    del open_rule['sourceRanges']
    api.wait(api.ok('POST', url, open_rule))
    assert api.ok('GET', url + '/no-source')['sourceRanges'] == ['0.0.0.0/0']     # GCE's default


def test_networks_and_subnetworks(api):
    nets = 'projects/%s/global/networks' % PROJECT
    assert api.ok('GET', nets + '/default')['autoCreateSubnetworks'] is True
    api.wait(api.ok('POST', nets, {'name': 'offload', 'autoCreateSubnetworks': False}))
    api.error('POST', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE),
              instance_body('nosub', networkInterfaces=[{'network': 'global/networks/offload'}]))
    subs = 'projects/%s/regions/us-central1/subnetworks' % PROJECT
    op = api.ok('POST', subs, {'name': 'offload-sub', 'network': 'global/networks/offload',
                               'ipCidrRange': '10.20.0.0/24'})
    assert op['region'].endswith('/regions/us-central1')
    api.wait(op)
    api.error('POST', subs, {'name': 'x', 'network': 'global/networks/default', 'ipCidrRange': '10.9.0.0/24'})
    api.error('POST', subs, {'name': 'y', 'network': 'global/networks/offload', 'ipCidrRange': '10.9.0.0/99'})
    inst = api.create('sub', networkInterfaces=[{'subnetwork': 'regions/us-central1/subnetworks/offload-sub'}])
    assert inst['networkInterfaces'][0]['networkIP'].startswith('10.20.0.')
    assert inst['networkInterfaces'][0]['network'].endswith('/global/networks/offload')
    api.error('DELETE', nets + '/offload', reason='resourceInUseByAnotherResource')


# -- operations and faults ----------------------------------------------------

def test_operation_error_fault_ends_done_with_error_and_no_effect(api, emulator):
    emulator.inject(operation_error={'code': 'ZONE_RESOURCE_POOL_EXHAUSTED', 'message': 'no capacity'},
                    path='/instances$', method='POST')
    op = api.ok('POST', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE), instance_body('fail'))
    done = api.wait(op)
    assert done['error']['errors'] == [{'code': 'ZONE_RESOURCE_POOL_EXHAUSTED', 'message': 'no capacity'}]
    assert done['httpErrorStatusCode'] == 400
    api.error('GET', api.inst('fail'), status=404)
    api.create('fail')      # times defaults to 1


def test_operation_delay_and_wait_timeout(api, emulator):
    api.create('slow')
    emulator.configure(wait_timeout=0.3)
    emulator.inject(operation_delay=2.0, path='/slow/stop$')
    op = api.ok('POST', api.inst('slow', '/stop'))
    started = time.monotonic()
    early = api.ok('POST', 'projects/%s/zones/%s/operations/%s/wait' % (PROJECT, ZONE, op['name']))
    waited = time.monotonic() - started
    assert early['status'] == 'RUNNING' and 0.25 <= waited < 1.5
    assert api.ok('GET', 'projects/%s/zones/%s/operations/%s' % (PROJECT, ZONE, op['name']))['status'] == 'RUNNING'
    emulator.configure(wait_timeout=10)
    assert api.wait(op)['endTime']
    assert time.monotonic() - started >= 1.9
    assert api.ok('GET', api.inst('slow'))['status'] == 'TERMINATED'


@pytest.mark.parametrize('status,reason', [(429, 'rateLimitExceeded'), (503, 'backendError'), (500, 'backendError')])
def test_status_fault_hits_the_next_n_matching_requests(api, emulator, status, reason):
    api.create('f1')
    fault = emulator.inject(status=status, path='/instances/f1$', method='GET', times=2)
    assert fault['id'] and fault['times'] == 2
    for _round in range(2):
        api.error('GET', api.inst('f1'), status=status, reason=reason)
    api.ok('GET', api.inst('f1'))
    statuses = [(e['method'], e['status']) for e in emulator.requests() if e['path'].endswith('/instances/f1')]
    assert statuses == [('GET', 200), ('GET', status), ('GET', status), ('GET', 200)]


def test_fault_method_filter_headers_and_control_api_untouched(api, emulator):
    emulator.inject(status=429, path='.*', method='POST', headers={'Retry-After': '1'}, message='slow down')
    resp = api.call('POST', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE), instance_body('m'))
    assert resp.status_code == 429 and resp.headers['Retry-After'] == '1'
    assert resp.json()['error']['message'] == 'slow down'
    api.ok('GET', 'projects/%s/zones/%s' % (PROJECT, ZONE))       # GET unaffected
    emulator.inject(status=503, path='.*', times=5)
    assert emulator.state()['faults']                            # control API unaffected
    emulator.reset()
    assert emulator.state()['faults'] == []
    api.create('m')


def test_bad_fault_specs_are_refused(emulator):
    for spec in ({}, {'status': 200}, {'status': 503, 'path': '('}, {'operation_delay': -1},
                 {'operation_error': {}}, {'status': 503, 'times': 0}):
        with pytest.raises(harness.EmulatorError):
            emulator.inject(**spec)


def test_reset_forgets_state(api, emulator):
    api.create('gone')
    emulator.reset()
    api.error('GET', api.inst('gone'), status=404)
    assert emulator.requests() == [e for e in emulator.requests() if e['path'].endswith('/gone')]


def test_mutating_requests(api, emulator):
    api.create('mut')
    mark = emulator.mark()
    api.ok('GET', api.inst('mut'))
    assert emulator.mutating_requests(since=mark) == []
    api.wait(api.ok('POST', api.inst('mut', '/stop')))
    assert [e['path'].rsplit('/', 1)[1] for e in emulator.mutating_requests(since=mark)] == ['stop']
    sent = emulator.mutating_requests(since=mark, bodies=True)
    assert sent[0]['body'] is None
    first = emulator.requests(bodies=True)[0]
    assert first['body']['name'] == 'mut'


# -- auth ---------------------------------------------------------------------

def test_require_token(api, emulator):
    emulator.configure(require_token=True)
    url = 'projects/%s/zones/%s' % (PROJECT, ZONE)
    resp = api.call('GET', url)
    assert resp.status_code == 401 and resp.json()['error']['errors'][0]['reason'] == 'required'
    resp = api.call('GET', url, headers={'Authorization': 'Bearer made-up'})
    assert resp.status_code == 401 and resp.json()['error']['status'] == 'UNAUTHENTICATED'
    token = emulator.issue_token()
    assert api.call('GET', url, headers={'Authorization': 'Bearer ' + token}).status_code == 200
    assert [e['auth'] for e in emulator.requests()] == ['none', 'bearer', 'bearer']
    with open(emulator.request_log, encoding='utf-8') as handle:
        assert token not in handle.read()


def _jwt(claims, alg='RS256'):
    def enc(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b'=').decode()
    return '%s.%s.%s' % (enc({'alg': alg, 'typ': 'JWT'}), enc(claims), 'c2ln')


def test_token_endpoint(api, emulator):
    now = int(time.time())
    good = {'iss': 'sa@p.iam.gserviceaccount.com', 'aud': emulator.token_uri, 'iat': now, 'exp': now + 3600,
            'scope': 'https://www.googleapis.com/auth/cloud-platform'}
    grant = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
    resp = requests.post(emulator.token_uri, data={'grant_type': grant, 'assertion': _jwt(good)}, timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {'access_token', 'expires_in', 'token_type'} and body['token_type'] == 'Bearer'
    emulator.configure(require_token=True)
    assert api.call('GET', 'projects/%s' % PROJECT,
                    headers={'Authorization': 'Bearer ' + body['access_token']}).status_code == 200
    for assertion in ('not-a-jwt', _jwt({k: v for k, v in good.items() if k != 'iss'}),
                      _jwt(dict(good, exp=now - 3600)), _jwt(good, alg='none'),
                      _jwt({k: v for k, v in good.items() if k != 'scope'})):
        resp = requests.post(emulator.token_uri, data={'grant_type': grant, 'assertion': assertion}, timeout=10)
        assert resp.status_code == 400 and resp.json()['error'] in ('invalid_grant', 'invalid_scope'), assertion
    resp = requests.post(emulator.token_uri, data={'grant_type': 'password'}, timeout=10)
    assert resp.json()['error'] == 'unsupported_grant_type'
    resp = requests.post(emulator.token_uri, data={'grant_type': 'refresh_token', 'refresh_token': 'r',
                                                   'client_id': 'c', 'client_secret': 's'}, timeout=10)
    assert resp.status_code == 200 and resp.json()['access_token']


def test_metadata_server(emulator):
    flavor = {'Metadata-Flavor': 'Google'}
    root = requests.get(emulator.url + '/', headers=flavor, timeout=10)
    assert root.status_code == 200 and root.headers['Metadata-Flavor'] == 'Google'
    assert requests.get(emulator.url + '/', timeout=10).status_code == 403
    base = emulator.url + '/computeMetadata/v1/'
    assert requests.get(base + 'project/project-id', timeout=10).status_code == 403
    emulator.set_metadata_server(project='meta-proj', zone='europe-west1-b', name='box')
    assert requests.get(base + 'project/project-id', headers=flavor, timeout=10).text == 'meta-proj'
    assert requests.get(base + 'instance/zone', headers=flavor, timeout=10).text.endswith('/zones/europe-west1-b')
    assert requests.get(base + 'instance/name', headers=flavor, timeout=10).text == 'box'
    email = requests.get(base + 'instance/service-accounts/default/email', headers=flavor, timeout=10)
    assert email.text.endswith('.iam.gserviceaccount.com') and email.headers['Metadata-Flavor'] == 'Google'
    info = requests.get(base + 'instance/service-accounts/default/', params={'recursive': 'true'}, headers=flavor,
                        timeout=10).json()
    assert info['email'] == email.text and info['scopes']
    token = requests.get(base + 'instance/service-accounts/default/token', headers=flavor, timeout=10).json()
    assert token['access_token'] and token['expires_in'] > 0 and token['token_type'] == 'Bearer'
    assert requests.get(base + 'instance/nothing', headers=flavor, timeout=10).status_code == 404


# -- Cloud Build triggers -----------------------------------------------------

def trigger_body(name='maintainer-main', **extra):
    body = {'name': name, 'description': 'push to main',
            'github': {'owner': 'octo', 'name': 'repo', 'push': {'branch': '^main$'}},
            'filename': '.gcp/maintainer-worker.yml', 'substitutions': {'_REPO': 'offload'}}
    body.update(extra)
    return body


@pytest.mark.parametrize('prefix', ['v1/projects/%s/' % PROJECT, 'v1/projects/%s/locations/us-central1/' % PROJECT])
def test_triggers_crud(api, emulator, prefix):
    base = emulator.cloudbuild_endpoint

    def call(method, path, body=None, params=None):
        return api.call(method, prefix + path, body, params, base=base)

    resp = call('POST', 'triggers', trigger_body())
    assert resp.status_code == 200, resp.text
    created = resp.json()
    assert len(created['id']) == 36 and created['createTime'].endswith('Z')
    assert created['resourceName'].endswith('/triggers/' + created['id'])
    dup = call('POST', 'triggers', trigger_body())
    assert dup.status_code == 409 and dup.json()['error']['status'] == 'ALREADY_EXISTS'
    pr = trigger_body('maintainer-pr', github={'owner': 'octo', 'name': 'repo', 'pullRequest': {
        'branch': '^main$', 'commentControl': 'COMMENTS_ENABLED'}})
    assert call('POST', 'triggers', pr).status_code == 200
    assert call('GET', 'triggers/' + created['id']).json() == created
    assert call('GET', 'triggers/maintainer-main').json()['id'] == created['id']      # by name too
    listed = call('GET', 'triggers').json()['triggers']
    assert [t['name'] for t in listed] == ['maintainer-main', 'maintainer-pr']
    paged = call('GET', 'triggers', params={'pageSize': 1}).json()
    assert len(paged['triggers']) == 1 and paged['nextPageToken']

    masked = call('PATCH', 'triggers/' + created['id'], {'description': 'new', 'filename': 'ignored.yml'},
                  {'updateMask': 'description'})
    assert masked.status_code == 200, masked.text
    assert (masked.json()['description'], masked.json()['filename']) == ('new', '.gcp/maintainer-worker.yml')
    full = call('PATCH', 'triggers/' + created['id'], trigger_body(substitutions={'_REPO': 'x'}))
    assert full.json()['substitutions'] == {'_REPO': 'x'} and full.json()['description'] == 'push to main'
    assert full.json()['createTime'] == created['createTime']
    bad = call('PATCH', 'triggers/' + created['id'], {'filename': 'x.yml'}, {'updateMask': 'id'})
    assert bad.status_code == 400
    assert call('DELETE', 'triggers/' + created['id']).status_code == 200
    assert call('GET', 'triggers/' + created['id']).status_code == 404
    assert call('DELETE', 'triggers/' + created['id']).status_code == 404


@pytest.mark.parametrize('change', [
    {'name': ''}, {'name': 'bad name'}, {'name': '-dash'}, {'name': 'x' * 65},
    {'github': {'owner': 'o', 'name': 'r'}},
    {'github': {'owner': 'o', 'name': 'r', 'push': {'branch': 'main'}, 'pullRequest': {'branch': 'main'}}},
    {'github': {'owner': 'o', 'name': 'r', 'push': {}}},
    {'github': {'owner': 'o', 'name': 'r', 'push': {'branch': '('}}},
    {'github': {'owner': 'o', 'name': 'r', 'pullRequest': {'branch': 'main', 'commentControl': 'SOMETIMES'}}},
    {'github': {'name': 'r', 'push': {'branch': 'main'}}},
    {'filename': None}, {'build': {'steps': []}},
    {'substitutions': {'REPO': 'x'}}, {'substitutions': {'_repo': 'x'}}, {'substitutions': {'_N': 1}},
    {'unknownField': 1},
])
def test_trigger_validation(api, emulator, change):
    body = trigger_body(**change)
    body = {k: v for k, v in body.items() if v is not None}
    resp = api.call('POST', 'v1/projects/%s/triggers' % PROJECT, body, base=emulator.cloudbuild_endpoint)
    assert resp.status_code == 400, (change, resp.text)
    err = resp.json()['error']
    assert err['status'] == 'INVALID_ARGUMENT' and err['message']


def test_reset_releases_a_blocked_wait(api, emulator):
    api.create('held')
    emulator.inject(operation_delay=30, path='/stop$')
    op = api.ok('POST', api.inst('held', '/stop'))
    result = {}

    def waiter():
        result['op'] = api.call('POST', 'projects/%s/zones/%s/operations/%s/wait' % (PROJECT, ZONE, op['name']))

    import threading
    thread = threading.Thread(target=waiter)
    started = time.monotonic()
    thread.start()
    deadline = time.monotonic() + 10
    while emulator.state()['compute']['waiting'] == 0:      # poll until the wait is in flight
        assert time.monotonic() < deadline and not result
        time.sleep(0.01)                                     # poll interval
    emulator.reset()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 10
    assert result['op'].json()['status'] == 'RUNNING'


def test_concurrent_clients(api, emulator):
    from concurrent.futures import ThreadPoolExecutor

    def one(i):
        session = Api(emulator)
        inst = session.create('par-%d' % i)
        session.stop(inst['name'])
        return session.ok('GET', session.inst(inst['name']))['status']

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(16)))
    assert statuses == ['TERMINATED'] * 16
    ips = {i['networkInterfaces'][0]['networkIP'] for i in
           api.ok('GET', 'projects/%s/zones/%s/instances' % (PROJECT, ZONE))['items']}
    assert len(ips) == 16


def test_set_scheduling_changes_only_the_fields_given(api):
    api.create('sched')
    api.wait(api.ok('POST', api.inst('sched', '/setScheduling'), {'onHostMaintenance': 'TERMINATE'}))
    assert api.ok('GET', api.inst('sched'))['scheduling'] == {
        'onHostMaintenance': 'TERMINATE', 'automaticRestart': True, 'preemptible': False,
        'provisioningModel': 'STANDARD'}
    api.stop('sched')
    api.wait(api.ok('POST', api.inst('sched', '/setScheduling'), {'provisioningModel': 'SPOT'}))
    spot = api.ok('GET', api.inst('sched'))['scheduling']
    assert (spot['provisioningModel'], spot['preemptible'], spot['automaticRestart']) == ('SPOT', True, False)
    api.wait(api.ok('POST', api.inst('sched', '/setScheduling'), {'instanceTerminationAction': 'DELETE'}))
    spot = api.ok('GET', api.inst('sched'))['scheduling']
    assert (spot['provisioningModel'], spot['instanceTerminationAction']) == ('SPOT', 'DELETE')
    standard = {'provisioningModel': 'STANDARD', 'automaticRestart': True, 'onHostMaintenance': 'MIGRATE'}
    api.wait(api.ok('POST', api.inst('sched', '/setScheduling'), standard))
    assert api.ok('GET', api.inst('sched'))['scheduling'] == {
        'onHostMaintenance': 'MIGRATE', 'automaticRestart': True, 'preemptible': False,
        'provisioningModel': 'STANDARD'}


def test_lost_answer_and_request_id(api, emulator):
    """A fault with after=true: the insert happens, its answer is a 503. A retry
    with the same requestId gets the first operation back; without it, 409."""
    url = 'projects/%s/zones/%s/instances' % (PROJECT, ZONE)
    emulator.inject(status=503, path='/instances$', method='POST', after=True)
    params = {'requestId': '6f1c1f9e-8a51-4c55-9a33-2f7f0d7c2d11'}
    resp = api.call('POST', url, instance_body('lost'), params)
    assert resp.status_code == 503
    assert api.ok('GET', api.inst('lost'))['name'] == 'lost'          # it did happen
    again = api.ok('POST', url, instance_body('lost'), params)
    assert again['operationType'] == 'insert' and again['targetLink'].endswith('/instances/lost')
    assert api.wait(again).get('error') is None
    api.error('POST', url, instance_body('lost'), status=409, reason='alreadyExists')
    assert len(emulator.state()['compute']['instances']) == 1


def test_a_deleted_instance_detaches_its_kept_disk_and_disks_are_listed_aggregated(api):
    disks = 'projects/%s/zones/%s/disks' % (PROJECT, ZONE)
    api.wait(api.ok('POST', disks, {'name': 'keep', 'sizeGb': '10', 'labels': {'type': 'offload-worker'}}))
    api.create('holder', disks=[
        {'boot': True, 'autoDelete': True,
         'initializeParams': {'sourceImage': 'projects/cos-cloud/global/images/family/cos-stable'}},
        {'source': disks + '/keep', 'autoDelete': False}])
    assert api.ok('GET', disks + '/keep')['users'][0].endswith('/instances/holder')
    api.wait(api.ok('DELETE', api.inst('holder')))
    kept = api.ok('GET', disks + '/keep')
    assert kept['users'] == [] and kept['lastDetachTimestamp'] >= kept['creationTimestamp']
    listed = api.ok('GET', 'projects/%s/aggregated/disks' % PROJECT)
    assert listed['kind'] == 'compute#diskAggregatedList'
    assert [d['name'] for d in listed['items']['zones/' + ZONE]['disks']] == ['keep']
    assert 'warning' in listed['items']['zones/europe-west1-b']


# -- IAM and the project's IAM policy ------------------------------------------

def test_iam_policy_etag_conflict_and_service_account_rules(api, emulator):
    base = emulator.iam_endpoint
    resp = api.call('POST', 'v1/projects/%s/serviceAccounts' % PROJECT, {'accountId': 'ab'}, base=base)
    assert resp.status_code == 400 and resp.json()['error']['status'] == 'INVALID_ARGUMENT'
    created = api.call('POST', 'v1/projects/%s/serviceAccounts' % PROJECT,
                       {'accountId': 'gcli-worker', 'serviceAccount': {'displayName': 'w'}}, base=base).json()
    assert created['email'] == 'gcli-worker@%s.iam.gserviceaccount.com' % PROJECT
    got = api.call('GET', 'v1/projects/-/serviceAccounts/' + created['uniqueId'], base=base)
    assert got.status_code == 200 and got.json()['email'] == created['email']
    policy = api.call('POST', 'v1/projects/%s:getIamPolicy' % PROJECT, {}, base=base).json()
    binding = {'role': 'roles/logging.logWriter', 'members': ['serviceAccount:' + created['email']]}
    first = api.call('POST', 'v1/projects/%s:setIamPolicy' % PROJECT,
                     {'policy': dict(policy, bindings=policy['bindings'] + [binding])}, base=base)
    assert first.status_code == 200 and first.json()['etag'] != policy['etag']
    # the same read-modify-write again, with the etag read before the first write: a concurrent change
    stale = api.call('POST', 'v1/projects/%s:setIamPolicy' % PROJECT, {'policy': policy}, base=base)
    assert stale.status_code == 409 and stale.json()['error']['status'] == 'ABORTED'
    now = api.call('POST', 'v1/projects/%s:getIamPolicy' % PROJECT, {}, base=base).json()
    assert binding in now['bindings'] and 'errors' not in stale.json()['error']  # one-platform error shape


def test_instance_iam_policy_etag_custom_roles_and_deletion(api, emulator):
    base = emulator.iam_endpoint
    api.create('iam-1')
    path = api.inst('iam-1', '/getIamPolicy')
    assert api.ok('GET', path) == {'version': 1, 'etag': 'ACAB'}
    account = api.call('POST', 'v1/projects/%s/serviceAccounts' % PROJECT, {'accountId': 'gcli-worker'},
                       base=base).json()
    member = 'serviceAccount:' + account['email']
    role = 'projects/%s/roles/stopper' % PROJECT
    unknown_role = api.call('POST', api.inst('iam-1', '/setIamPolicy'),
                            {'policy': {'etag': 'ACAB', 'bindings': [{'role': role, 'members': [member]}]}})
    assert unknown_role.status_code == 400 and 'does not exist' in unknown_role.text
    made = api.call('POST', 'v1/projects/%s/roles' % PROJECT,
                    {'roleId': 'stopper', 'role': {'includedPermissions': ['compute.instances.stop'], 'stage': 'GA'}},
                    base=base).json()
    assert made['name'] == role and made['includedPermissions'] == ['compute.instances.stop']
    ghost = api.call('POST', api.inst('iam-1', '/setIamPolicy'), {'policy': {'bindings': [
        {'role': role, 'members': ['serviceAccount:ghost@%s.iam.gserviceaccount.com' % PROJECT]}]}})
    assert ghost.status_code == 400 and 'does not exist' in ghost.text
    first = api.call('POST', api.inst('iam-1', '/setIamPolicy'),
                     {'policy': {'etag': 'ACAB', 'bindings': [{'role': role, 'members': [member]}]}})
    assert first.status_code == 200 and first.json()['etag'] != 'ACAB'
    # the etag read before the first write: a concurrent change, refused as Compute refuses a stale fingerprint
    stale = api.call('POST', api.inst('iam-1', '/setIamPolicy'), {'policy': {'etag': 'ACAB', 'bindings': []}})
    assert stale.status_code == 412 and stale.json()['error']['errors'][0]['reason'] == 'conditionNotMet'
    assert api.ok('GET', path)['bindings'] == [{'role': role, 'members': [member]}]
    assert emulator.state()['compute']['instance_policies']['%s/%s/iam-1' % (PROJECT, ZONE)]['bindings']
    api.wait(api.ok('DELETE', api.inst('iam-1')))
    api.create('iam-1')
    assert api.ok('GET', path) == {'version': 1, 'etag': 'ACAB'}  # gone with the instance


def test_a_policy_etag_sent_back_url_safe_is_the_same_etag(api, emulator):
    """gcloud sends an etag (a bytes field) back URL-safe base64-encoded: '-' and '_' for '+' and '/'."""
    base = emulator.iam_endpoint
    policy = api.call('POST', 'v1/projects/%s:getIamPolicy' % PROJECT, {}, base=base).json()
    for _attempt in range(200):  # until an etag has a character the two alphabets spell differently
        if set(policy['etag']) & set('+/'):
            break
        policy = api.call('POST', 'v1/projects/%s:setIamPolicy' % PROJECT, {'policy': policy}, base=base).json()
    assert set(policy['etag']) & set('+/')
    url_safe = policy['etag'].replace('+', '-').replace('/', '_')
    resp = api.call('POST', 'v1/projects/%s:setIamPolicy' % PROJECT, {'policy': dict(policy, etag=url_safe)}, base=base)
    assert resp.status_code == 200, resp.text
