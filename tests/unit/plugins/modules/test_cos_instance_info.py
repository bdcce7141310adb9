"""Units for cos_instance_info: checked options, one read through _gcp_instance, documentation that matches."""

import pytest
import yaml
from google.cloud import compute_v1

from ansible_collections.gcli.offload.plugins.module_utils import _gcp_instance as gi
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError
from ansible_collections.gcli.offload.plugins.modules import cos_instance, cos_instance_info


class NotFound(Exception):
    code = 404


class FakeApi:
    """What InstanceManager.read uses of a ComputeApi; records the calls."""

    project = 'p'
    request_timeout = 5

    def __init__(self, instance=None):
        self.instance = instance
        self.calls = []

    def client(self, name):
        assert name == 'instances'
        return self

    def get(self, project, zone, instance, timeout):
        self.calls.append(('get', project, zone, instance))
        if self.instance is None:
            raise NotFound()
        return self.instance

    def call(self, fn, what, hints=None):
        return fn()


def test_options_are_checked_as_cos_instance_checks_them():
    assert gi.validate_info_options({'name': 'w1', 'zone': 'us-central1-a'}) == {'name': 'w1', 'zone': 'us-central1-a'}
    with pytest.raises(InputError, match='^name: must be a Compute Engine name'):
        gi.validate_info_options({'name': 'w;1', 'zone': 'us-central1-a'})
    with pytest.raises(InputError, match='^zone: must be a zone name'):
        gi.validate_info_options({'name': 'w1', 'zone': '../x'})


def test_one_get_and_the_view_cos_instance_returns():
    instance = compute_v1.Instance(name='w1', id=7, status='RUNNING', zone='https://x/zones/us-central1-a',
                                   machine_type='https://x/machineTypes/e2-small',
                                   network_interfaces=[{'network_i_p': '10.0.0.2'}])
    api = FakeApi(instance)
    view = gi.read_instance(api, 'w1', 'us-central1-a')
    assert api.calls == [('get', 'p', 'us-central1-a', 'w1')]
    assert view == gi.instance_view(instance)
    assert view['status'] == 'RUNNING' and view['internal_ip'] == '10.0.0.2' and view['container_image'] is None


def test_a_missing_instance_is_none():
    assert gi.read_instance(FakeApi(), 'w1', 'us-central1-a') is None


def test_the_documentation_matches_the_spec_and_cos_instances_return():
    doc = yaml.safe_load(cos_instance_info.DOCUMENTATION)
    spec = cos_instance_info.argument_spec()
    assert set(doc['options']) == {'name', 'zone'} and {'name', 'zone'} <= set(spec)
    assert doc['attributes']['check_mode']['support'] == 'full'
    returned = yaml.safe_load(cos_instance_info.RETURN)['instance']['contains']
    assert set(returned) == set(yaml.safe_load(cos_instance.RETURN)['instance']['contains'])
    assert set(returned) == set(gi.instance_view(compute_v1.Instance(name='w')))
