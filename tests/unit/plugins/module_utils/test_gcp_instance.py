"""Units for cos_instance's desired state and plan (no API)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleParserError
from google.cloud import compute_v1

from ansible_collections.gcli.offload.plugins.inventory import gce_workers
from ansible_collections.gcli.offload.plugins.module_utils import _gcp_auth as auth
from ansible_collections.gcli.offload.plugins.module_utils import _gcp_instance as gi
from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError
from ansible_collections.gcli.offload.plugins.module_utils._worker_vm import worker_vm_spec
from ansible_collections.gcli.offload.plugins.modules import cos_instance

IMAGE = 'us-docker.pkg.dev/p/offload/maintainer:latest'


def options(**kw):
    spec = cos_instance.argument_spec()
    params = {}
    for key, value in spec.items():
        params[key] = value.get('default')
    params['data_disk'] = {'name': None, 'device_name': 'offload', 'size_gb': 200, 'type': 'pd-balanced'}
    params.update(name='w1', zone='us-central1-a', container={'image': IMAGE})
    params.update(kw)
    return params


def wanted(**kw):
    return gi.validate_options(options(**kw))


def converged(w, status='RUNNING'):
    """An instance as GCE would return it after creating `w`."""
    sched = {'provisioning_model': 'STANDARD', 'automatic_restart': True, 'on_host_maintenance': 'MIGRATE',
             'preemptible': False}
    meta = dict(w['metadata'], **{gi.COS_IMAGE_KEY: 'cos-stable-1'})
    return compute_v1.Instance({
        'name': w['name'], 'status': status, 'zone': 'https://x/zones/' + w['zone'],
        'machine_type': 'https://x/zones/%s/machineTypes/%s' % (w['zone'], w['machine_type']),
        'metadata': {'fingerprint': 'fp1', 'items': [{'key': k, 'value': v} for k, v in meta.items()]},
        'labels': w['labels'], 'label_fingerprint': 'lfp', 'tags': {'fingerprint': 'tfp', 'items': w['tags']},
        'scheduling': sched,
        'service_accounts': [{'email': '123-compute@developer.gserviceaccount.com',
                              'scopes': w['service_account_scopes']}],
        'network_interfaces': [{'network': 'https://x/global/networks/default', 'network_i_p': '10.0.0.2',
                                'access_configs': [{'name': 'External NAT', 'nat_i_p': '34.1.1.1'}]}],
        'disks': [{'boot': True, 'device_name': 'boot'}, {'device_name': 'offload'}],
    })


def test_create_plan():
    steps, before, after, _warnings = gi.plan_instance(wanted(), None)
    assert steps == ['insert'] and before == {'state': 'absent'}
    assert after['state'] == 'RUNNING' and after['metadata']['user-data'].startswith('#cloud-config')
    assert gi.plan_instance(wanted(state='stopped'), None)[0] == ['insert', 'stop']
    assert gi.plan_instance(wanted(state='absent'), None)[0] == []


def test_converged_instance_has_an_empty_plan():
    w = wanted(labels={'type': 'offload-worker'}, tags=['offload-ssh'])
    steps, before, after, warnings = gi.plan_instance(w, converged(w))
    assert (steps, before, after, warnings) == ([], {}, {}, [])


def test_unmanaged_metadata_keys_are_kept():
    w = wanted()
    current = converged(w)
    current.metadata.items.append(compute_v1.Items(key='ssh-keys', value='me:ssh-ed25519 AAAA'))
    assert gi.plan_instance(w, current)[0] == []


def test_metadata_drift_restarts_for_the_container():
    w = wanted()
    current = converged(wanted(container={'image': IMAGE.replace('latest', 'v1')}))
    steps, before, after, warnings = gi.plan_instance(w, current)
    assert steps == ['setMetadata', 'stop', 'start']
    assert list(before['metadata']) == ['user-data'] and 'maintainer:latest' in after['metadata']['user-data']
    assert 'restarted' in warnings[0]
    w = wanted(restart_for_container=False)
    assert gi.plan_instance(w, current)[0] == ['setMetadata']


def test_extra_metadata_drift_is_in_place():
    w = wanted(metadata={'team': 'a'})
    steps, before, after, _warnings = gi.plan_instance(w, converged(wanted()))
    assert steps == ['setMetadata'] and before == {'metadata': {}} and after == {'metadata': {'team': 'a'}}


def test_legacy_declaration_added_and_removed():
    legacy = wanted(container_declaration='legacy')
    assert 'gce-container-declaration' in legacy['metadata']
    steps, _before, after, _warnings = gi.plan_instance(legacy, converged(wanted()))
    assert steps[0] == 'setMetadata' and list(after['metadata']) == ['gce-container-declaration']
    steps, before, _after, _warnings = gi.plan_instance(wanted(), converged(legacy))
    assert list(before['metadata']) == ['gce-container-declaration']


def test_labels_merge_or_purge():
    current = converged(wanted(labels={'a': '1', 'b': '2'}))
    assert gi.plan_instance(wanted(labels={'a': '1'}), current)[0] == []
    steps, before, after, _warnings = gi.plan_instance(wanted(labels={'a': '1'}, purge_labels=True), current)
    assert steps == ['setLabels'] and after['labels'] == {'a': '1'}
    steps, _before, after, _warnings = gi.plan_instance(wanted(labels={'a': '9'}), current)
    assert after['labels'] == {'a': '9', 'b': '2'}


def test_tags_drift():
    steps, before, after, _warnings = gi.plan_instance(wanted(tags=['b', 'a']), converged(wanted(tags=['a'])))
    assert steps == ['setTags'] and after == {'tags': ['a', 'b']}


def test_machine_type_and_service_account_need_stop_start():
    current = converged(wanted())
    steps, before, after, warnings = gi.plan_instance(wanted(machine_type='n2-standard-8'), current)
    assert steps == ['stop', 'setMachineType', 'start']
    assert before['machine_type'] == 'e2-standard-4' and after['status'] == 'RUNNING'
    assert 'setMachineType' in warnings[-1]
    steps, before, after, _warnings = gi.plan_instance(wanted(worker_service_account='bot@p.iam.gserviceaccount.com'), current)
    assert steps == ['stop', 'setServiceAccount', 'start']
    assert after['service_account']['email'] == 'bot@p.iam.gserviceaccount.com'


def test_offline_change_on_a_stopped_instance_does_not_start_it():
    current = converged(wanted(), status='TERMINATED')
    assert gi.plan_instance(wanted(machine_type='n2-standard-8'), current)[0] == ['setMachineType']
    assert gi.plan_instance(wanted(machine_type='n2-standard-8', state='started'), current)[0] == \
        ['setMachineType', 'start']


def test_scheduling_spot_needs_stop():
    steps, before, after, _warnings = gi.plan_instance(wanted(provisioning_model='SPOT'), converged(wanted()))
    assert steps == ['stop', 'setScheduling', 'start'] and after['scheduling']['provisioning_model'] == 'SPOT'


def test_scheduling_in_place():
    current = converged(wanted())
    current.scheduling.automatic_restart = False
    steps, before, after, _warnings = gi.plan_instance(wanted(), current)
    assert steps == ['setScheduling'] and before['scheduling']['automatic_restart'] is False


def test_states():
    running, stopped = converged(wanted()), converged(wanted(), status='TERMINATED')
    assert gi.plan_instance(wanted(state='stopped'), running)[0] == ['stop']
    assert gi.plan_instance(wanted(state='started'), stopped)[0] == ['start']
    assert gi.plan_instance(wanted(state='present'), stopped)[0] == []
    assert gi.plan_instance(wanted(state='absent'), running)[0] == ['delete']


def test_deletion_protection_drift():
    steps, _before, after, _warnings = gi.plan_instance(wanted(deletion_protection=True), converged(wanted()))
    assert steps == ['setDeletionProtection'] and after == {'deletion_protection': True}


def test_unfixable_drift_is_warned():
    w = wanted(external_ip=False, network='other')
    steps, _before, _after, warnings = gi.plan_instance(w, converged(wanted()))
    assert steps == []
    assert any('network default, not other' in m for m in warnings)
    assert any('external IP' in m for m in warnings)


@pytest.mark.parametrize('kw,variable', [
    ({'name': 'Bad_Name'}, 'name'),
    ({'zone': 'us central'}, 'zone'),
    ({'container': None}, 'container'),
    ({'metadata': {'user-data': 'x'}}, 'metadata'),
    ({'tags': ['UPPER']}, 'tags'),
    ({'machine_type': 'zones/x/machineTypes/n1'}, 'machine_type'),
    ({'boot_disk_size_gb': 5}, 'boot_disk_size_gb'),
    ({'data_disk': {'device_name': 'x;y'}}, 'data_disk.device_name'),
])
def test_invalid_options(kw, variable):
    with pytest.raises(JobInputError) as info:
        wanted(**kw)
    assert info.value.variable == variable


def test_instance_view():
    w = wanted(container={'image': 'r.io/p/i@sha256:' + 'a' * 64})
    view = gi.instance_view(converged(w), w)
    assert view['internal_ip'] == '10.0.0.2' and view['external_ip'] == '34.1.1.1'
    assert view['image_digest'] == 'sha256:' + 'a' * 64 and view['cos_image'] == 'cos-stable-1'
    assert view['machine_type'] == 'e2-standard-4' and view['status'] == 'RUNNING'


def test_power_only_plans_start_or_stop_and_nothing_else():
    from types import SimpleNamespace

    from ansible_collections.gcli.offload.plugins.module_utils import _gcp_instance as gi
    from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError

    def wanted(state):
        return gi.validate_options({'name': 'w', 'zone': 'us-central1-a', 'state': state, 'machine_type': 'e2-small'})

    stopped = SimpleNamespace(status='TERMINATED')
    running = SimpleNamespace(status='RUNNING')
    assert wanted('started')['power_only']
    assert gi.plan_instance(wanted('started'), stopped)[0] == ['start']
    assert gi.plan_instance(wanted('started'), running)[0] == []
    assert gi.plan_instance(wanted('stopped'), running)[0] == ['stop']
    assert gi.plan_instance(wanted('stopped'), stopped)[0] == []
    try:
        gi.plan_instance(wanted('started'), None)
    except JobInputError as exc:
        assert 'does not exist' in str(exc)
    else:
        raise AssertionError('a missing instance must be refused')


@pytest.mark.parametrize('zone', ['foo', 'us-central1', 'us-central1-a/../x', 'US-CENTRAL1-A', 'us-central1-a\n',
                                  'x' * 100000, ['us-central1-a'], 7])
def test_zone_is_the_collections_one_zone_rule(zone):
    """cos_instance, worker_vm_spec and the gce_workers inventory refuse the same zones, and never echo one whole."""
    refusals = []
    for check in (lambda: wanted(zone=zone),
                  lambda: worker_vm_spec(worker_name='w1', ssh_user='me', maintainer_image=IMAGE, zone=zone)):
        with pytest.raises(JobInputError) as info:
            check()
        refusals.append(str(info.value))
    inventory = gce_workers.InventoryModule()
    inventory.get_option = {'zones': [zone]}.get
    with pytest.raises(AnsibleParserError) as info:
        inventory._fetch()  # refused before any client is made
    refusals.append(str(info.value))
    assert refusals[0].startswith('zone: must be a zone name such as us-central1-a, got ')
    assert refusals[1].startswith('offload_zone: must be a zone name such as us-central1-a, got ')
    assert refusals[2].startswith('gce_workers: zones: must be a zone name such as us-central1-a, got ')
    assert all(len(text) < 200 for text in refusals)


@pytest.mark.parametrize('zone', ['us-central1-a', 'europe-west4-b', 'northamerica-northeast1-c', 'me-central2-a'])
def test_real_zones_pass_every_zone_check(zone):
    assert wanted(zone=zone)['zone'] == zone
    assert worker_vm_spec(worker_name='w1', ssh_user='me', maintainer_image=IMAGE, zone=zone)['instance']['zone'] == zone


@pytest.mark.parametrize('params,environ,refused', [
    ({'service_account_email': 'a@p.iam.gserviceaccount.com', 'auth_kind': 'application'}, {}, True),
    ({'service_account_email': 'a@p.iam.gserviceaccount.com', 'auth_kind': 'accesstoken'}, {}, True),
    ({'service_account_email': 'a@p.iam.gserviceaccount.com', 'auth_kind': 'machineaccount'}, {}, False),
    ({'service_account_email': 'a@p.iam.gserviceaccount.com', 'auth_kind': 'application'},
     {'GCP_SERVICE_ACCOUNT_EMAIL': 'a@p.iam.gserviceaccount.com'}, False),  # the variable's fallback
    ({'service_account_email': None, 'auth_kind': 'application'}, {}, False),
])
def test_the_credentials_account_is_never_taken_for_the_vms(params, environ, refused):
    if refused:
        with pytest.raises(JobInputError, match='^service_account_email: .* worker_service_account$'):
            gi.check_auth_account(params, environ)
    else:
        gi.check_auth_account(params, environ)


def test_the_vms_account_option_is_worker_service_account():
    spec = cos_instance.argument_spec()
    assert spec['worker_service_account'] == {'type': 'str', 'default': 'default'}
    assert spec['service_account_email'] == auth.gcp_argument_spec()['service_account_email']


def disks_as_made(w, image='cos-stable-1'):
    """The boot and data disks as GCE returns them for an instance created from `w`."""
    zone = 'https://x/projects/p/zones/%s' % w['zone']
    return {'boot': compute_v1.Disk(name=w['name'], size_gb=w['boot_disk_size_gb'],
                                    type_='%s/diskTypes/%s' % (zone, w['boot_disk_type']),
                                    source_image='https://x/projects/cos-cloud/global/images/' + image),
            'data': compute_v1.Disk(name=w['data_disk']['name'], size_gb=w['data_disk']['size_gb'],
                                    type_='%s/diskTypes/%s' % (zone, w['data_disk']['type']))}


def test_disks_as_asked_give_no_warning():
    w = wanted(cos_image='cos-stable-1')
    assert gi.plan_instance(w, converged(w), disks_as_made(w)) == ([], {}, {}, [])


@pytest.mark.parametrize('options_now,warning', [
    ({'cos_image': 'cos-stable-2'}, 'instance w1 boots from image cos-stable-1, not cos-stable-2 (cos_image): the boot '
                                    'image is chosen at creation; re-create the instance (the data disk is kept) to '
                                    'change it'),
    ({'cos_image': 'projects/cos-cloud/global/images/cos-stable-2'}, 'boots from image cos-stable-1, not cos-stable-2'),
    ({'boot_disk_size_gb': 20}, 'instance w1 has a boot disk of size 10 GB, not 20 (boot_disk_size_gb): the boot '
                                'disk is made at creation; re-create the instance (the data disk is kept) to change it'),
    ({'boot_disk_type': 'pd-ssd'}, 'has a boot disk of type pd-balanced, not pd-ssd (boot_disk_type)'),
    ({'boot_disk_size_gb': 20, 'boot_disk_type': 'pd-ssd'},
     'has a boot disk of size 10 GB, not 20 (boot_disk_size_gb); type pd-balanced, not pd-ssd (boot_disk_type)'),
    ({'data_disk': {'name': None, 'device_name': 'offload', 'size_gb': 500, 'type': 'pd-balanced'}},
     'the data disk w1-data of instance w1 has size 200 GB, not 500 (data_disk.size_gb): those options apply to a new '
     'disk only; resize it (gcloud compute disks resize) or move the data to a new disk to change it'),
    ({'data_disk': {'name': None, 'device_name': 'offload', 'size_gb': 200, 'type': 'pd-ssd'}},
     'the data disk w1-data of instance w1 has type pd-balanced, not pd-ssd (data_disk.type)'),
])
def test_disk_differences_are_warned_and_change_nothing(options_now, warning):
    made = wanted(cos_image='cos-stable-1')
    steps, before, after, warnings = gi.plan_instance(wanted(**options_now), converged(made), disks_as_made(made))
    assert (steps, before, after) == ([], {}, {})
    assert len(warnings) == 1 and warning in warnings[0]


@pytest.mark.parametrize('cos_image', [None, 'family/cos-beta', 'projects/cos-cloud/global/images/family/cos-beta'])
def test_a_family_is_not_compared_with_the_boot_image(cos_image):
    """A family is resolved when the instance is created; the image of a running worker is not drift."""
    made = wanted(cos_image='cos-stable-1')
    assert gi.plan_instance(wanted(cos_image=cos_image), converged(made), disks_as_made(made))[3] == []
