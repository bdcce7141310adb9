"""Units for worker_vm_spec: provision.yml's and teardown.yml's inputs, checked by the
modules' own rules before any request, each refusal naming the role variable."""

from __future__ import annotations

import pytest

from ansible_collections.gcli.offload.plugins.module_utils._gcp_instance import validate_options
from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError
from ansible_collections.gcli.offload.plugins.module_utils._worker_vm import (
    DEFAULTS,
    INSTANCE_VARIABLES,
    worker_vm_spec,
)

BASE = {'worker_name': 'gcli-offload-me', 'maintainer_image': 'us-docker.pkg.dev/p/r/maintainer:latest',
        'ssh_user': 'me'}


def spec(**kw):
    return worker_vm_spec(**dict(BASE, **kw))


def test_the_role_defaults_pass_and_come_back_checked():
    result = spec()
    assert result['instance']['data_disk'] == {'name': 'gcli-offload-me-data', 'device_name': 'offload',
                                               'size_gb': 200, 'type': 'pd-balanced'}
    assert result['instance']['labels'] == {'type': 'offload-worker'}
    assert result['firewall']['source_ranges'] == ['35.235.240.0/20'] and result['firewall']['ports'] == ['22']
    assert result['ssh']['port'] == 22 and result['ssh']['access'] == 'iap'


def test_strings_from_extra_vars_are_taken_as_numbers_and_booleans():
    result = spec(boot_disk_size_gb='20', data_disk_size_gb='500', ssh_port='2222', spot='true', wait_timeout='60')
    assert result['instance']['provisioning_model'] == 'SPOT'
    assert result['instance']['data_disk']['size_gb'] == 500 and result['ssh']['port'] == 2222


@pytest.mark.parametrize('inputs,variable', [
    ({'worker_name': ''}, 'offload_worker_name'),
    ({'worker_name': 'Bad_Name'}, 'offload_worker_name'),
    ({'project': '$(touch x)'}, 'offload_project'),
    ({'zone': '../../zones/x'}, 'offload_zone'),
    ({'machine_type': 'e2;touch x'}, 'offload_machine_type'),
    ({'machine_type': '../../machineTypes/x'}, 'offload_machine_type'),
    ({'cos_image': 'projects/../x'}, 'offload_cos_image'),
    ({'boot_disk_size_gb': 1}, 'offload_boot_disk_size_gb'),
    ({'boot_disk_size_gb': 2 ** 64}, 'offload_boot_disk_size_gb'),
    ({'data_disk_name': '../disk'}, 'offload_data_disk_name'),
    ({'data_disk_size_gb': -200}, 'offload_data_disk_size_gb'),
    ({'data_disk_size_gb': 'big'}, 'offload_data_disk_size_gb'),
    ({'data_root': '/mnt/disks/../../etc'}, 'offload_data_root'),
    ({'spot': 'cheap'}, 'offload_spot'),
    ({'network': 'default;touch x'}, 'offload_network'),
    ({'subnetwork': 'a b'}, 'offload_subnetwork'),
    ({'network_tags': ['../x']}, 'offload_network_tags'),
    ({'network_tags': 'gcli-offload-ssh'}, 'offload_network_tags'),
    ({'worker_labels': {'owner': 'j\u043ehn'}}, 'offload_worker_labels'),
    ({'worker_labels': ['x']}, 'offload_worker_labels'),
    ({'maintainer_image': ''}, 'offload_maintainer_image'),
    ({'maintainer_image': 'img;touch x'}, 'offload_maintainer_image'),
    ({'maintainer_name': 'a b'}, 'offload_maintainer_name'),
    ({'idle_stop_minutes': -1}, 'offload_idle_stop_minutes'),
    ({'worker_service_account': 'sa;touch x'}, 'offload_worker_service_account'),
    ({'firewall_name': '../../routes/x'}, 'offload_firewall_name'),
    ({'ssh_source_ranges': ['0.0.0.0/0']}, 'offload_ssh_source_ranges'),
    ({'ssh_source_ranges': ['everywhere']}, 'offload_ssh_source_ranges'),
    ({'ssh_allow_any_source': 'maybe'}, 'offload_ssh_allow_any_source'),
    ({'ssh_access': 'telnet'}, 'offload_ssh_access'),
    ({'ssh_host': 'h;touch x'}, 'offload_ssh_host'),
    ({'ssh_port': 0}, 'offload_ssh_port'),
    ({'ssh_user': 'me\nProxyCommand x'}, 'offload_ssh_user'),
    ({'ssh_key': '/k\n  ProxyCommand touch x'}, 'offload_ssh_key'),
    ({'ssh_known_hosts': '/k"x'}, 'offload_ssh_known_hosts'),
    ({'ssh_alias': '-oProxyCommand=x'}, 'offload_ssh_alias'),
    ({'ssh_config': ''}, 'offload_ssh_config'),
    ({'gcloud_bin': 'gcloud;touch x'}, 'offload_gcloud_bin'),
    ({'wait_timeout': 0}, 'offload_wait_timeout'),
    ({'wait_interval': 'soon'}, 'offload_wait_interval'),
    # the union of the ranges is everything, as surely as 0.0.0.0/0
    ({'ssh_source_ranges': ['0.0.0.0/1', '128.0.0.0/1']}, 'offload_ssh_source_ranges'),
    ({'ssh_source_ranges': ['35.235.240.0/20', '::/1', '8000::/1']}, 'offload_ssh_source_ranges'),
    # found only when the instance was created, after the firewall rule was made
    ({'cos_image': 'projects/Bad_Project/global/images/cos-1'}, 'offload_cos_image'),
    ({'cos_image': 'projects/p/zones/images/cos-1'}, 'offload_cos_image'),
    ({'api_endpoint': 'http://user:secret@127.0.0.1:1/compute/v1/'}, 'offload_api_endpoint'),
    ({'api_endpoint': '-oproxy:1'}, 'offload_api_endpoint'),
    ({'maintainer_image': '-l.x/y'}, 'offload_maintainer_image'),
    ({'maintainer_image_pin': 'perhaps'}, 'offload_maintainer_image_pin'),
    ({'registry_plain_http': 'perhaps'}, 'offload_registry_plain_http'),
    ({'worker_become': 'perhaps'}, 'offload_worker_become'),
    ({'docker_bin': 'docker;touch x'}, 'offload_docker_bin'),
])
def test_each_bad_value_is_refused_naming_its_variable(inputs, variable):
    with pytest.raises(JobInputError) as caught:
        spec(**inputs)
    assert caught.value.variable == variable
    assert str(caught.value).startswith(variable + ': ')


def test_an_open_firewall_names_the_role_variable_that_forces_it():
    with pytest.raises(JobInputError, match='offload_ssh_allow_any_source=true'):
        spec(ssh_source_ranges=['0.0.0.0/0'])
    assert spec(ssh_source_ranges=['0.0.0.0/0'], ssh_allow_any_source=True)['firewall']['source_ranges'] == [
        '0.0.0.0/0']


def test_teardown_checks_only_what_it_uses():
    result = worker_vm_spec(state='absent', worker_name='w1', zone='europe-west1-b')
    assert result['instance'] == {'name': 'w1', 'zone': 'europe-west1-b', 'data_disk': 'w1-data'}
    for inputs, variable in (({'data_disk_name': '../d'}, 'offload_data_disk_name'),
                             ({'firewall_name': 'A'}, 'offload_firewall_name'),
                             ({'ssh_alias': 'a b'}, 'offload_ssh_alias'),
                             ({'project': 'X'}, 'offload_project'),
                             ({'api_endpoint': 'http://u:p@h/'}, 'offload_api_endpoint'),
                             ({'delete_data_disk': 'perhaps'}, 'offload_delete_data_disk'),
                             ({'delete_firewall': 'perhaps'}, 'offload_delete_firewall')):
        with pytest.raises(JobInputError) as caught:
            worker_vm_spec(state='absent', worker_name='w1', **inputs)
        assert caught.value.variable == variable


def test_an_unknown_variable_is_refused():
    with pytest.raises(JobInputError, match='offload_machine: is not a variable of the worker_vm role'):
        spec(machine='e2')


def test_every_option_cos_instance_can_refuse_maps_to_a_role_variable():
    """validate_options names options; each one the role passes has a role variable behind it."""
    for option, name in INSTANCE_VARIABLES.items():
        assert name in DEFAULTS, option
    # and the mapping is the one the module uses: the same failure through both paths
    with pytest.raises(JobInputError) as direct:
        validate_options({'name': 'w1', 'zone': 'us-central1-a', 'state': 'started', 'machine_type': 'e2;x',
                          'container': {'image': 'img:1'}})
    assert direct.value.variable == 'machine_type'


@pytest.mark.parametrize('image, project', [
    ('', 'cos-cloud'), ('cos-stable-121', 'cos-cloud'), ('projects/my-images/global/images/cos-1', 'my-images'),
    ('projects/my-images/global/images/family/cos-dev', 'my-images'),
    ('https://www.googleapis.com/compute/v1/projects/cos-cloud/global/images/cos-1', 'cos-cloud'),
])
def test_the_cos_image_and_its_project_are_read_before_any_request(image, project):
    from ansible_collections.gcli.offload.plugins.module_utils._gcp_instance import parse_cos_image
    assert spec(cos_image=image)
    assert parse_cos_image(image)[0] == project


@pytest.mark.parametrize('given, expected', [
    ({}, False), ({'ssh_access': 'direct'}, True), ({'external_ip': 'yes'}, True),
    ({'external_ip': 'false', 'ssh_access': 'direct'}, False), ({'external_ip': ''}, False)])
def test_an_external_ip_only_when_asked_or_for_direct_access(given, expected):
    assert spec(**given)['instance']['external_ip'] is expected


def test_restrict_default_ssh_is_a_checked_bool():
    assert spec()['firewall']['restrict_default_ssh'] is False
    assert spec(restrict_default_ssh='yes')['firewall']['restrict_default_ssh'] is True
    with pytest.raises(Exception, match='offload_restrict_default_ssh'):
        spec(restrict_default_ssh='maybe')
