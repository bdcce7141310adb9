"""Units for _gcp_iam: the options, the bindings plan, and the read-modify-write with its etag retries."""

from __future__ import annotations

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _gcp_iam as iam
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import GcpApiError
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError

MEMBER = 'serviceAccount:w-account@p.iam.gserviceaccount.com'
ROLES = ['roles/artifactregistry.reader', 'roles/logging.logWriter']


def params(**kw):
    return dict(dict(account_id='w-account', display_name='w', roles=list(ROLES), api_endpoint=None), **kw)


def test_plan_adds_only_what_is_missing_and_keeps_everyone_else():
    policy = {'etag': 'e1', 'bindings': [{'role': 'roles/logging.logWriter', 'members': ['user:a@x.org']},
                                         {'role': 'roles/artifactregistry.reader', 'members': [MEMBER]},
                                         {'role': 'roles/logging.logWriter', 'members': [MEMBER],
                                          'condition': {'expression': 'false'}}]}
    missing, wanted = iam.plan_bindings(policy, MEMBER, ROLES)
    assert missing == ['roles/logging.logWriter']  # a conditional binding does not count
    assert wanted['etag'] == 'e1' and wanted['bindings'][0]['members'] == ['user:a@x.org', MEMBER]
    assert policy['bindings'][0]['members'] == ['user:a@x.org']  # not changed in place
    assert iam.plan_bindings(wanted, MEMBER, ROLES)[0] == []


@pytest.mark.parametrize('kw, match', [({'account_id': 'ab'}, 'account_id'), ({'account_id': 'A-count'}, 'account_id'),
                                       ({'account_id': 'w-account-'}, 'account_id'),
                                       ({'roles': ['owner']}, 'roles'), ({'roles': ['roles/x;y']}, 'roles'),
                                       ({'display_name': 'x' * 101}, 'display_name'),
                                       ({'api_endpoint': 'http://u:p@h:1/'}, 'api_endpoint')])
def test_refusals_name_the_option(kw, match):
    with pytest.raises(InputError, match=match):
        iam.validate(params(**kw))


def test_endpoints_take_gclouds_override_form():
    assert iam.endpoints('http://127.0.0.1:8080/') == ('http://127.0.0.1:8080', 'http://127.0.0.1:8080')
    assert iam.endpoints(None) == (iam.IAM_ENDPOINT, iam.CRM_ENDPOINT)


class FakeApi:
    project = 'p'

    def __init__(self, account=None, conflicts=0):
        self.account = account
        self.policy = {'etag': 'e0', 'bindings': []}
        self.conflicts = conflicts
        self.sets = []
        self.created = []

    def get_account(self, email):
        return self.account

    def create_account(self, account_id, display):
        self.created.append(account_id)
        self.account = {'email': '%s@p.iam.gserviceaccount.com' % account_id, 'uniqueId': '1' * 21}
        return self.account

    def get_policy(self):
        return dict(self.policy)

    def set_policy(self, policy):
        if self.conflicts:
            self.conflicts -= 1
            self.policy = dict(self.policy, etag=self.policy['etag'] + 'x')  # another writer came first
            raise GcpApiError('set: ABORTED', code=409)
        assert policy['etag'] == self.policy['etag']
        self.sets.append(policy)
        self.policy = dict(policy, etag=policy['etag'] + '+')
        return self.policy


def test_check_mode_sends_nothing_and_predicts():
    api = FakeApi()
    result = iam.converge(api, params(), check_mode=True, diff=True)
    assert result['changed'] and result['created'] and result['roles_added'] == ROLES
    assert api.created == [] and api.sets == []
    assert result['diff']['before'] == {'service_account': None, 'roles': []}


def test_create_grant_then_converged():
    api = FakeApi()
    first = iam.converge(api, params())
    assert first['created'] and first['roles_added'] == ROLES and len(api.sets) == 1
    assert first['member'] == MEMBER and first['unique_id'] == '1' * 21
    again = iam.converge(api, params())
    assert not again['changed'] and api.created == ['w-account'] and len(api.sets) == 1  # no setIamPolicy


def test_a_concurrent_change_is_retried_with_a_fresh_read():
    api = FakeApi(conflicts=2)
    result = iam.converge(api, params())
    assert result['roles_added'] == ROLES and len(api.sets) == 1


def test_too_many_conflicts_fail():
    api = FakeApi(conflicts=iam.ETAG_ATTEMPTS)
    with pytest.raises(GcpApiError):
        iam.converge(api, params())


@pytest.mark.parametrize('role, ok', [('roles/logging.logWriter', True), ('projects/my-proj/roles/selfStop', True),
                                      ('projects/Bad_P/roles/x1y', False), ('projects/p/roles/x', False)])
def test_custom_roles_name_a_valid_project(role, ok):
    if ok:
        assert iam.validate(params(roles=[role]))[2] == [role]
    else:
        with pytest.raises(InputError, match='roles'):
            iam.validate(params(roles=[role]))


class FakeRoles:
    """The custom role calls of IamApi, recorded."""
    project = 'p'

    def __init__(self, role=None):
        self.role = role
        self.calls = []

    def get_role(self, role_id):
        return self.role

    def create_role(self, role_id, role):
        self.calls.append(('create', role_id, role['includedPermissions']))

    def undelete_role(self, role_id, etag):
        self.calls.append(('undelete', role_id))
        return dict(self.role, deleted=False)

    def patch_role(self, role_id, role):
        self.calls.append(('patch', role_id, role['includedPermissions'], role['etag']))


@pytest.mark.parametrize('role, calls', [
    (None, [('create', 'r-id', ['compute.instances.stop'])]),
    ({'includedPermissions': ['compute.instances.stop'], 'stage': 'GA', 'etag': 'e'}, []),
    ({'includedPermissions': ['compute.instances.stop', 'compute.instances.delete'], 'stage': 'GA', 'etag': 'e'},
     [('patch', 'r-id', ['compute.instances.stop'], 'e')]),
    ({'includedPermissions': ['compute.instances.stop'], 'stage': 'GA', 'etag': 'e', 'deleted': True},
     [('undelete', 'r-id')]),
])
def test_the_stop_role_holds_exactly_compute_instances_stop(role, calls):
    api = FakeRoles(role)
    name, changed = iam.ensure_stop_role(api, 'r-id')
    assert name == 'projects/p/roles/r-id' and api.calls == calls and changed == bool(calls)
    checked = FakeRoles(role)
    assert iam.ensure_stop_role(checked, 'r-id', check_mode=True) == (name, bool(calls)) and checked.calls == []


def test_an_instance_policy_read_modify_write_retries_computes_412_and_refuses_a_missing_instance():
    policies = [{'etag': 'a'}, {'etag': 'b'}]
    writes = []

    def write(policy):
        writes.append(policy['etag'])
        if len(writes) == 1:
            raise GcpApiError('stale', code=412)

    added = iam._read_modify_write(lambda: policies[len(writes)], write, MEMBER, ['projects/p/roles/r'], False)
    assert added == ['projects/p/roles/r'] and writes == ['a', 'b']
    assert iam._read_modify_write(lambda: None, write, MEMBER, ['r'], True) == ['r']  # check mode: would add
    with pytest.raises(GcpApiError, match='create it first'):
        iam._read_modify_write(lambda: None, write, MEMBER, ['r'], False, missing='instance x: create it first')


@pytest.mark.parametrize('kw, match', [({'stop_instance': {'name': 'Bad_Name', 'zone': 'us-central1-a'}},
                                        'stop_instance.name'),
                                       ({'stop_instance': {'name': 'w', 'zone': 'us central'}}, 'stop_instance.zone'),
                                       ({'stop_instance': {'name': 'w', 'zone': 'z-1'}, 'stop_role_id': 'a/b'},
                                        'stop_role_id'),
                                       ({'compute_endpoint': 'http://u:p@h:1/compute/v1/'}, 'compute_endpoint')])
def test_stop_instance_refusals_name_the_option(kw, match):
    with pytest.raises(InputError, match=match):
        iam.validate(params(**kw))
