# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fidelity: the real gcloud CLI driven at the emulator (through the same
endpoint-override variables the collection reads)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

pytestmark = pytest.mark.skipif(shutil.which('gcloud') is None, reason='the gcloud CLI is not installed')

ZONE = 'us-central1-a'


@pytest.fixture
def gcloud(emulator, tmp_path):
    env = emulator.gcloud_env(tmp_path)

    def run(*args, ok=True, env_extra=None):
        proc = subprocess.run(['gcloud', *args], env=dict(env, **(env_extra or {})), capture_output=True, text=True,
                              timeout=180, check=False)
        if ok:
            assert proc.returncode == 0, 'gcloud %s: %s' % (' '.join(args), proc.stderr)
        return proc

    return run


def describe(gcloud, name):
    return json.loads(gcloud('compute', 'instances', 'describe', name, '--format=json').stdout)


def test_gcloud_instance_lifecycle(gcloud, emulator):
    mark = emulator.mark()
    out = gcloud('compute', 'instances', 'create', 'gc-1', '--machine-type=e2-medium', '--image-family=cos-stable',
                 '--image-project=cos-cloud', '--labels=role=worker', '--tags=ssh', '--boot-disk-size=20GB',
                 '--metadata=enable-oslogin=TRUE').stdout
    assert 'gc-1' in out and 'RUNNING' in out
    insert = [e for e in emulator.requests(mark, bodies=True) if e['method'] == 'POST'][0]
    body = insert['body']
    source = body['disks'][0]['initializeParams']['sourceImage']
    assert source.endswith('/cos-cloud/zones/-/imageFamilyViews/cos-stable')
    assert body['networkInterfaces'][0]['accessConfigs'][0]['type'] == 'ONE_TO_ONE_NAT'

    inst = describe(gcloud, 'gc-1')
    assert inst['status'] == 'RUNNING' and inst['labels'] == {'role': 'worker'} and inst['tags']['items'] == ['ssh']
    assert inst['disks'][0]['diskSizeGb'] == '20'
    assert inst['disks'][0]['source'].endswith('/disks/gc-1')

    listed = gcloud('compute', 'instances', 'list', '--format=value(name,status)').stdout.split()
    assert listed == ['gc-1', 'RUNNING']

    gcloud('compute', 'instances', 'add-labels', 'gc-1', '--labels=team=offload')
    assert describe(gcloud, 'gc-1')['labels'] == {'role': 'worker', 'team': 'offload'}
    gcloud('compute', 'instances', 'add-metadata', 'gc-1', '--metadata=k=v')      # get + setMetadata(fingerprint)
    items = {i['key']: i['value'] for i in describe(gcloud, 'gc-1')['metadata']['items']}
    assert items == {'enable-oslogin': 'TRUE', 'k': 'v'}

    gcloud('compute', 'instances', 'stop', 'gc-1')
    assert describe(gcloud, 'gc-1')['status'] == 'TERMINATED'
    gcloud('compute', 'instances', 'set-machine-type', 'gc-1', '--machine-type=n2-standard-8')
    gcloud('compute', 'instances', 'start', 'gc-1')
    inst = describe(gcloud, 'gc-1')
    assert inst['status'] == 'RUNNING' and inst['machineType'].endswith('/n2-standard-8')

    gcloud('compute', 'instances', 'delete', 'gc-1', '--quiet')
    gone = gcloud('compute', 'instances', 'describe', 'gc-1', ok=False)
    assert gone.returncode != 0 and "instances/gc-1' was not found" in gone.stderr


def test_gcloud_create_with_container_sends_the_konlet_declaration(gcloud, emulator):
    """gcloud 528 still sends create-with-container (the refusal for new VMs since
    2026-07-31 is on Google's side); this records what it sends."""
    mark = emulator.mark()
    gcloud('compute', 'instances', 'create-with-container', 'gc-c', '--machine-type=e2-medium',
           '--container-image=us-docker.pkg.dev/p/r/maintainer:latest', '--container-env=A=1',
           '--container-mount-host-path=host-path=/mnt/disks/data,mount-path=/data,mode=rw',
           '--container-restart-policy=always', '--container-privileged', '--container-stdin', '--container-tty')
    requests = emulator.requests(mark, bodies=True)
    image_list = [e for e in requests if e['path'] == '/compute/v1/projects/cos-cloud/global/images']
    assert image_list, 'gcloud lists cos-cloud images to pick the newest cos-stable'
    body = [e for e in requests if e['method'] == 'POST' and e['path'].endswith('/instances')][0]['body']
    assert body['disks'][0]['initializeParams']['sourceImage'].endswith('/global/images/cos-stable-125-19216-0-94')
    assert body['labels']['container-vm'] == 'cos-stable-125-19216-0-94'
    meta = {i['key']: i['value'] for i in body['metadata']['items']}
    assert meta['google-logging-enabled'] == 'true'
    spec = yaml.safe_load(meta['gce-container-declaration'])['spec']
    container = spec['containers'][0]
    assert container['image'] == 'us-docker.pkg.dev/p/r/maintainer:latest'
    assert container['env'] == [{'name': 'A', 'value': '1'}]
    assert container['securityContext'] == {'privileged': True}
    assert container['stdin'] is True and container['tty'] is True
    assert container['volumeMounts'][0]['mountPath'] == '/data'
    assert spec['volumes'][0]['hostPath'] == {'path': '/mnt/disks/data'}
    assert spec['restartPolicy'] == 'Always'
    assert body['scheduling']['automaticRestart'] is True
    inst = describe(gcloud, 'gc-c')
    assert inst['labels']['container-vm'] == 'cos-stable-125-19216-0-94'
    assert inst['serviceAccounts'][0]['email'].endswith('-compute@developer.gserviceaccount.com')


def test_gcloud_images_and_firewall_rules(gcloud, emulator):
    name = gcloud('compute', 'images', 'describe-from-family', 'cos-stable', '--project=cos-cloud',
                  '--format=value(name)').stdout.strip()
    assert name == 'cos-stable-125-19216-0-94'
    mark = emulator.mark()
    names = gcloud('compute', 'images', 'list', '--project=cos-cloud', '--no-standard-images',
                   '--filter=family=cos-stable', '--format=value(name)').stdout.split()
    assert sorted(names) == ['cos-stable-117-18613-75-37', 'cos-stable-121-18867-90-62', 'cos-stable-125-19216-0-94',
                             'cos-stable-97-16919-404-23']          # the DEPRECATED one hidden by gcloud
    sent = [e['query'].get('filter') for e in emulator.requests(mark)]
    assert sent == ['family eq ".*\\bcos\\-stable\\b.*"']   # gcloud's server-side rewrite, applied here
    gcloud('compute', 'firewall-rules', 'create', 'gc-iap-ssh', '--allow=tcp:22',
           '--source-ranges=35.235.240.0/20', '--target-tags=offload-worker')
    rule = json.loads(gcloud('compute', 'firewall-rules', 'describe', 'gc-iap-ssh', '--format=json').stdout)
    assert rule['sourceRanges'] == ['35.235.240.0/20'] and rule['allowed'] == [{'IPProtocol': 'tcp', 'ports': ['22']}]
    assert rule['targetTags'] == ['offload-worker'] and rule['direction'] == 'INGRESS'
    bad = gcloud('compute', 'firewall-rules', 'create', 'gc-bad', '--allow=icmp:22', ok=False)
    assert bad.returncode != 0 and 'Ports are only allowed' in bad.stderr


def test_gcloud_lists_the_default_networks_default_rules(gcloud):
    """A new project's default network comes with Compute Engine's four rules, as gcloud shows them."""
    rows = gcloud('compute', 'firewall-rules', 'list', '--format=json').stdout
    rules = {r['name']: r for r in json.loads(rows)}
    assert sorted(rules) == ['default-allow-icmp', 'default-allow-internal', 'default-allow-rdp', 'default-allow-ssh']
    ssh = rules['default-allow-ssh']
    assert ssh['sourceRanges'] == ['0.0.0.0/0'] and ssh['priority'] == 65534
    assert ssh['allowed'] == [{'IPProtocol': 'tcp', 'ports': ['22']}]
    assert ssh['network'].endswith('/global/networks/default') and 'targetTags' not in ssh
    assert rules['default-allow-internal']['sourceRanges'] == ['10.128.0.0/9']
    table = gcloud('compute', 'firewall-rules', 'describe', 'default-allow-rdp',
                   '--format=value(allowed[].map().firewall_rule().list())').stdout.strip()
    assert table == 'tcp:3389'


def test_gcloud_sees_google_errors_and_faults(gcloud, emulator):
    bad = gcloud('compute', 'instances', 'create', 'Bad_Name', '--image-family=cos-stable',
                 '--image-project=cos-cloud', ok=False)
    assert bad.returncode != 0
    gcloud('compute', 'instances', 'create', 'gc-f', '--image-family=cos-stable', '--image-project=cos-cloud')
    dup = gcloud('compute', 'instances', 'create', 'gc-f', '--image-family=cos-stable', '--image-project=cos-cloud',
                 ok=False)
    assert dup.returncode != 0 and 'already exists' in dup.stderr
    emulator.inject(operation_error={'code': 'ZONE_RESOURCE_POOL_EXHAUSTED', 'message': 'The zone does not have '
                                     'enough resources available to fulfill the request.'}, path='/instances$')
    failed = gcloud('compute', 'instances', 'create', 'gc-g', '--image-family=cos-stable',
                    '--image-project=cos-cloud', ok=False)
    assert failed.returncode != 0 and 'does not have enough resources' in failed.stderr
    running = gcloud('compute', 'instances', 'set-machine-type', 'gc-f', '--machine-type=e2-small', ok=False)
    assert running.returncode != 0 and 'must be stopped' in running.stderr


def test_gcloud_with_access_token_and_required_auth(gcloud, emulator, tmp_path):
    emulator.configure(require_token=True)
    denied = gcloud('compute', 'zones', 'describe', ZONE, ok=False)
    assert denied.returncode != 0
    token_file = tmp_path / 'token'
    token_file.write_text(emulator.issue_token())
    env = emulator.gcloud_env(tmp_path / 'tok', access_token_file=token_file)
    proc = subprocess.run(['gcloud', 'compute', 'zones', 'describe', ZONE, '--format=value(name)'], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ZONE
    assert [e['auth'] for e in emulator.requests()][-1] == 'bearer'


def test_gcloud_builds_triggers(gcloud, emulator):
    import requests
    trigger = {'name': 'maintainer-pr', 'github': {'owner': 'octo', 'name': 'repo', 'pullRequest': {
        'branch': '^main$', 'commentControl': 'COMMENTS_ENABLED'}}, 'filename': '.gcp/maintainer-worker.yml'}
    resp = requests.post(emulator.cloudbuild_endpoint + 'v1/projects/emu-project/locations/global/triggers',
                         json=trigger, timeout=10)
    assert resp.status_code == 200, resp.text
    listed = gcloud('builds', 'triggers', 'list', '--format=value(name)').stdout.split()
    assert listed == ['maintainer-pr']
    got = yaml.safe_load(gcloud('builds', 'triggers', 'describe', 'maintainer-pr').stdout)
    assert got['github']['pullRequest']['commentControl'] == 'COMMENTS_ENABLED' and got['id'] == resp.json()['id']
    gcloud('builds', 'triggers', 'delete', 'maintainer-pr', '--quiet')
    assert gcloud('builds', 'triggers', 'list', '--format=value(name)').stdout.split() == []


def test_gcloud_acts_on_several_instances_in_one_command(gcloud, emulator):
    """gcloud sends several resources of one command as one multipart/mixed batch (POST /batch/compute/v1):
    two instances created and two deleted, each part handled and logged as a request of its own."""
    mark = emulator.mark()
    gcloud('compute', 'instances', 'create', 'gc-a', 'gc-b', '--image-family=cos-stable', '--image-project=cos-cloud')
    assert sorted(gcloud('compute', 'instances', 'list', '--format=value(name)').stdout.split()) == ['gc-a', 'gc-b']
    out = gcloud('compute', 'instances', 'delete', 'gc-a', 'gc-b', '--quiet')
    assert 'Deleted' in out.stderr and 'gc-a' in out.stderr and 'gc-b' in out.stderr, out.stderr
    assert gcloud('compute', 'instances', 'list', '--format=value(name)').stdout.split() == []
    log = emulator.requests(mark)
    batches = [e for e in log if e['path'] == '/batch/compute/v1']
    assert batches and all(e['method'] == 'POST' and e['status'] == 200 for e in batches)
    deletes = [e['path'].rsplit('/', 1)[-1] for e in log if e['method'] == 'DELETE']
    assert sorted(deletes) == ['gc-a', 'gc-b']
    assert [e for e in emulator.mutating_requests(mark) if e['path'].startswith('/batch/')] == []


def test_gcloud_service_accounts_and_the_project_iam_policy(gcloud):
    """IAM v1 and Resource Manager v1 as gcloud drives them: create, describe, a duplicate refused,
    the policy read, a binding added (gcloud's read-modify-write with the etag), an unknown account refused."""
    gcloud('iam', 'service-accounts', 'create', 'gcli-worker', '--display-name=gcli.offload worker')
    email = 'gcli-worker@emu-project.iam.gserviceaccount.com'
    account = json.loads(gcloud('iam', 'service-accounts', 'describe', email, '--format=json').stdout)
    assert account['email'] == email and account['displayName'] == 'gcli.offload worker'
    assert account['name'] == 'projects/emu-project/serviceAccounts/' + email and len(account['uniqueId']) == 21
    dup = gcloud('iam', 'service-accounts', 'create', 'gcli-worker', ok=False)
    assert dup.returncode != 0 and 'already exists' in dup.stderr
    missing = gcloud('iam', 'service-accounts', 'describe', 'nobody@emu-project.iam.gserviceaccount.com', ok=False)
    assert missing.returncode != 0 and 'NOT_FOUND' in missing.stderr

    policy = json.loads(gcloud('projects', 'get-iam-policy', 'emu-project', '--format=json').stdout)
    roles = {b['role']: b['members'] for b in policy['bindings']}
    assert roles['roles/owner'] == ['user:owner@example.com'] and policy['etag']
    assert any(m.endswith('-compute@developer.gserviceaccount.com') for m in roles['roles/editor'])
    gcloud('projects', 'add-iam-policy-binding', 'emu-project', '--member=serviceAccount:' + email,
           '--role=roles/logging.logWriter', '--condition=None')
    after = json.loads(gcloud('projects', 'get-iam-policy', 'emu-project', '--format=json').stdout)
    assert {b['role']: b['members'] for b in after['bindings']}['roles/logging.logWriter'] == [
        'serviceAccount:' + email]
    assert after['etag'] != policy['etag']
    unknown = gcloud('projects', 'add-iam-policy-binding', 'emu-project', '--condition=None',
                     '--member=serviceAccount:ghost@emu-project.iam.gserviceaccount.com', '--role=roles/viewer',
                     ok=False)
    assert unknown.returncode != 0 and 'does not exist' in unknown.stderr


def test_gcloud_custom_roles_and_an_instances_own_iam_policy(gcloud):
    """IAM v1 custom roles and Compute's instance-level policy as gcloud drives them: a role with one
    permission, an instance's empty policy (etag ACAB), a binding added with gcloud's read-modify-write,
    a role that does not exist refused, and the policy gone with the instance."""
    gcloud('iam', 'service-accounts', 'create', 'gcli-worker')
    member = 'serviceAccount:gcli-worker@emu-project.iam.gserviceaccount.com'
    gcloud('iam', 'roles', 'create', 'gcliOffloadStopper', '--project=emu-project', '--title=Stop an instance',
           '--permissions=compute.instances.stop', '--stage=GA')
    role = json.loads(gcloud('iam', 'roles', 'describe', 'gcliOffloadStopper', '--project=emu-project',
                             '--format=json').stdout)
    assert role['name'] == 'projects/emu-project/roles/gcliOffloadStopper'
    assert role['includedPermissions'] == ['compute.instances.stop'] and role['stage'] == 'GA'
    dup = gcloud('iam', 'roles', 'create', 'gcliOffloadStopper', '--project=emu-project',
                 '--permissions=compute.instances.stop', ok=False)
    assert dup.returncode != 0 and 'already exists' in dup.stderr

    gcloud('compute', 'instances', 'create', 'gc-iam', '--machine-type=e2-medium', '--image-family=cos-stable',
           '--image-project=cos-cloud')
    empty = json.loads(gcloud('compute', 'instances', 'get-iam-policy', 'gc-iam', '--format=json').stdout)
    assert empty == {'etag': 'ACAB', 'version': 1}
    gcloud('compute', 'instances', 'add-iam-policy-binding', 'gc-iam', '--member=' + member,
           '--role=projects/emu-project/roles/gcliOffloadStopper')
    policy = json.loads(gcloud('compute', 'instances', 'get-iam-policy', 'gc-iam', '--format=json').stdout)
    assert policy['bindings'] == [{'members': [member], 'role': 'projects/emu-project/roles/gcliOffloadStopper'}]
    assert policy['etag'] != 'ACAB'
    again = gcloud('compute', 'instances', 'add-iam-policy-binding', 'gc-iam', '--member=' + member,
                   '--role=projects/emu-project/roles/gcliOffloadStopper', '--format=json')
    assert json.loads(again.stdout)['bindings'] == policy['bindings']
    unknown = gcloud('compute', 'instances', 'add-iam-policy-binding', 'gc-iam', '--member=' + member,
                     '--role=projects/emu-project/roles/noSuchRole', ok=False)
    assert unknown.returncode != 0 and 'does not exist' in unknown.stderr
    gcloud('compute', 'instances', 'remove-iam-policy-binding', 'gc-iam', '--member=' + member,
           '--role=projects/emu-project/roles/gcliOffloadStopper')
    removed = json.loads(gcloud('compute', 'instances', 'get-iam-policy', 'gc-iam', '--format=json').stdout)
    assert 'bindings' not in removed and removed['etag'] not in ('ACAB', policy['etag'])

    gcloud('compute', 'instances', 'add-iam-policy-binding', 'gc-iam', '--member=' + member,
           '--role=projects/emu-project/roles/gcliOffloadStopper')
    gcloud('compute', 'instances', 'delete', 'gc-iam', '--quiet')
    gcloud('compute', 'instances', 'create', 'gc-iam', '--machine-type=e2-medium', '--image-family=cos-stable',
           '--image-project=cos-cloud')
    fresh = json.loads(gcloud('compute', 'instances', 'get-iam-policy', 'gc-iam', '--format=json').stdout)
    assert fresh == {'etag': 'ACAB', 'version': 1}
