# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fidelity with the Google client libraries: google-cloud-compute (REST
transport) and google-auth (metadata server, service-account key)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1

PROJECT = 'emu-project'
ZONE = 'us-central1-a'


@pytest.fixture
def clients(emulator):
    kw = {'credentials': AnonymousCredentials(), 'client_options': ClientOptions(api_endpoint=emulator.url)}

    class Clients:
        instances = compute_v1.InstancesClient(**kw)
        zone_ops = compute_v1.ZoneOperationsClient(**kw)
        global_ops = compute_v1.GlobalOperationsClient(**kw)
        images = compute_v1.ImagesClient(**kw)
        firewalls = compute_v1.FirewallsClient(**kw)
        disks = compute_v1.DisksClient(**kw)
        projects = compute_v1.ProjectsClient(**kw)

        def wait(self, op, zone=ZONE):
            if zone:
                done = self.zone_ops.wait(project=PROJECT, zone=zone, operation=op.name)
            else:
                done = self.global_ops.wait(project=PROJECT, operation=op.name)
            assert done.status == compute_v1.Operation.Status.DONE
            return done

    return Clients()


def instance(name, image_link, **extra):
    return compute_v1.Instance(
        name=name, machine_type='zones/%s/machineTypes/e2-medium' % ZONE,
        disks=[compute_v1.AttachedDisk(boot=True, auto_delete=True, initialize_params=compute_v1.AttachedDiskInitializeParams(
            source_image=image_link, disk_size_gb=20))],
        network_interfaces=[compute_v1.NetworkInterface(
            network='global/networks/default',
            access_configs=[compute_v1.AccessConfig(type_='ONE_TO_ONE_NAT', name='External NAT')])],
        **extra)


def test_compute_client_instance_flow(clients, emulator):
    image = clients.images.get_from_family(project='cos-cloud', family='cos-stable')
    assert image.name == 'cos-stable-125-19216-0-94' and image.self_link.startswith(emulator.url)
    op = clients.instances.insert(project=PROJECT, zone=ZONE, instance_resource=instance(
        'lib-1', image.self_link, labels={'role': 'worker'},
        metadata=compute_v1.Metadata(items=[compute_v1.Items(key='user-data', value='#cloud-config\n')])))
    assert op.name.startswith('operation-')
    clients.wait(op)
    got = clients.instances.get(project=PROJECT, zone=ZONE, instance='lib-1')
    assert got.status == 'RUNNING' and got.labels == {'role': 'worker'}
    assert got.network_interfaces[0].access_configs[0].nat_i_p
    assert got.disks[0].disk_size_gb == 20 and got.disks[0].licenses

    with pytest.raises(exceptions.PreconditionFailed) as err:
        clients.instances.set_labels(project=PROJECT, zone=ZONE, instance='lib-1',
                                     instances_set_labels_request_resource=compute_v1.InstancesSetLabelsRequest(
                                         labels={'x': 'y'}, label_fingerprint='AAAAAAAAAAA='))
    assert 'fingerprint' in str(err.value)
    clients.wait(clients.instances.set_labels(
        project=PROJECT, zone=ZONE, instance='lib-1',
        instances_set_labels_request_resource=compute_v1.InstancesSetLabelsRequest(
            labels={'x': 'y'}, label_fingerprint=got.label_fingerprint)))
    assert clients.instances.get(project=PROJECT, zone=ZONE, instance='lib-1').labels == {'x': 'y'}

    with pytest.raises(exceptions.BadRequest):
        clients.instances.set_machine_type(
            project=PROJECT, zone=ZONE, instance='lib-1',
            instances_set_machine_type_request_resource=compute_v1.InstancesSetMachineTypeRequest(
                machine_type='zones/%s/machineTypes/n2-standard-8' % ZONE))
    with pytest.raises(exceptions.Conflict):
        clients.instances.insert(project=PROJECT, zone=ZONE, instance_resource=instance('lib-1', image.self_link))
    with pytest.raises(exceptions.NotFound):
        clients.instances.get(project=PROJECT, zone=ZONE, instance='ghost')

    clients.wait(clients.instances.delete(project=PROJECT, zone=ZONE, instance='lib-1'))
    with pytest.raises(exceptions.NotFound):
        clients.instances.get(project=PROJECT, zone=ZONE, instance='lib-1')


def test_compute_client_pagers(clients):
    image = clients.images.get_from_family(project='cos-cloud', family='cos-stable')
    ops = [clients.instances.insert(project=PROJECT, zone=ZONE, instance_resource=instance('p-%d' % i, image.self_link))
           for i in range(3)]
    for op in ops:
        clients.wait(op)
    listed = clients.instances.list(request=compute_v1.ListInstancesRequest(project=PROJECT, zone=ZONE, max_results=2))
    assert [i.name for i in listed] == ['p-0', 'p-1', 'p-2']       # pager followed nextPageToken
    agg = {k: [i.name for i in v.instances] for k, v in clients.instances.aggregated_list(project=PROJECT)
           if v.instances}
    assert agg == {'zones/' + ZONE: ['p-0', 'p-1', 'p-2']}


def test_compute_client_firewall_and_operation_error(clients, emulator):
    rule = compute_v1.Firewall(name='iap-ssh', network='global/networks/default', direction='INGRESS',
                               source_ranges=['35.235.240.0/20'],
                               allowed=[compute_v1.Allowed(I_p_protocol='tcp', ports=['22'])])
    clients.wait(clients.firewalls.insert(project=PROJECT, firewall_resource=rule), zone=None)
    got = clients.firewalls.get(project=PROJECT, firewall='iap-ssh')
    assert list(got.source_ranges) == ['35.235.240.0/20'] and got.allowed[0].ports == ['22']

    emulator.inject(operation_error={'code': 'QUOTA_EXCEEDED', 'message': "Quota 'CPUS' exceeded."},
                    path='/instances$', http_status=403)
    image = clients.images.get_from_family(project='cos-cloud', family='cos-stable')
    op = clients.instances.insert(project=PROJECT, zone=ZONE, instance_resource=instance('quota', image.self_link))
    done = clients.wait(op)
    assert done.error.errors[0].code == 'QUOTA_EXCEEDED' and done.http_error_status_code == 403


def test_compute_client_faults(clients, emulator):
    # read calls: the client's own default retry absorbs a 503
    emulator.inject(status=503, path='/global/images/family/cos-stable$', times=1)
    assert clients.images.get_from_family(project='cos-cloud', family='cos-stable').name
    assert [e['status'] for e in emulator.requests()] == [503, 200]
    # mutating calls are not retried by the client: the caller sees the error
    emulator.inject(status=429, path='/global/firewalls$', method='POST', times=1)
    rule = compute_v1.Firewall(name='r', allowed=[compute_v1.Allowed(I_p_protocol='tcp', ports=['22'])],
                               source_ranges=['35.235.240.0/20'])
    with pytest.raises(exceptions.TooManyRequests):
        clients.firewalls.insert(project=PROJECT, firewall_resource=rule)


def _run_python(code, env):
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_google_auth_metadata_server_credentials(emulator):
    """GCE_METADATA_HOST/IP are read when google.auth is imported: a fresh interpreter."""
    emulator.configure(require_token=True)
    emulator.set_metadata_server(project='meta-proj')
    env = emulator.metadata_env()
    env.pop('GOOGLE_APPLICATION_CREDENTIALS', None)
    env['EMU_URL'] = emulator.url
    out = _run_python('''
        import json, os
        import google.auth
        import google.auth.transport.requests
        import requests
        request = google.auth.transport.requests.Request()
        creds, project = google.auth.default(scopes=['https://www.googleapis.com/auth/cloud-platform'])
        creds.refresh(request)
        resp = requests.get(os.environ['EMU_URL'] + '/compute/v1/projects/%s' % project,
                            headers={'Authorization': 'Bearer ' + creds.token}, timeout=10)
        print(json.dumps({'project': project, 'kind': type(creds).__name__, 'email': creds.service_account_email,
                          'status': resp.status_code}))
    ''', env)
    assert out == {'project': 'meta-proj', 'kind': 'Credentials', 'email': 'emu-sa@emu-project.iam.gserviceaccount.com',
                   'status': 200}
    assert [e['auth'] for e in emulator.requests() if e['path'].startswith('/compute/')] == ['bearer']


def test_google_auth_service_account_key(emulator, tmp_path):
    emulator.configure(require_token=True)
    key = tmp_path / 'key.json'
    key.write_text(json.dumps(emulator.service_account_info()))
    os.chmod(key, 0o600)
    from google.auth.transport.requests import AuthorizedSession, Request
    from google.oauth2 import service_account
    creds = service_account.Credentials.from_service_account_file(
        str(key), scopes=['https://www.googleapis.com/auth/cloud-platform'])
    creds.refresh(Request())                      # the JWT-bearer grant against /token
    assert creds.token.startswith('emu-sa-token-')
    resp = AuthorizedSession(creds).get(emulator.compute_endpoint + 'projects/%s' % PROJECT, timeout=10)
    assert resp.status_code == 200
    # what API clients do by default: a self-signed JWT, no token endpoint
    jwt_creds = service_account.Credentials.from_service_account_file(str(key))
    jwt_creds._create_self_signed_jwt('https://compute.googleapis.com/')
    client = compute_v1.ProjectsClient(credentials=jwt_creds,
                                       client_options=ClientOptions(api_endpoint=emulator.url))
    assert client.get(project=PROJECT).name == PROJECT
    assert [e['auth'] for e in emulator.requests() if e['path'].startswith('/compute/')] == ['bearer', 'bearer']
