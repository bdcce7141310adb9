"""Units for compute_firewall: input rules (never the whole Internet unless forced), comparison, the plan."""

from __future__ import annotations

import pytest
from google.cloud import compute_v1

from ansible_collections.gcli.offload.plugins.module_utils import _gcp_firewall as fw
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError

IAP = '35.235.240.0/20'


def params(**kw):
    base = dict(name='gcli-offload-ssh-from-iap', network='default', source_ranges=[IAP], allow_any_source=False,
                ports=['22'], target_tags=['gcli-offload-ssh'], allow_all_instances=False, priority=1000,
                description='SSH to gcli.offload workers (managed by gcli.offload)')
    base.update(kw)
    return base


def existing(**kw):
    base = dict(name='gcli-offload-ssh-from-iap',
                network='https://www.googleapis.com/compute/v1/projects/p/global/networks/default',
                direction='INGRESS', priority=1000, source_ranges=[IAP], target_tags=['gcli-offload-ssh'],
                allowed=[compute_v1.Allowed(I_p_protocol='tcp', ports=['22'])],
                description='SSH to gcli.offload workers (managed by gcli.offload)',
                self_link='https://www.googleapis.com/compute/v1/projects/p/global/firewalls/gcli-offload-ssh-from-iap')
    base.update(kw)
    return fw.current_rule(compute_v1.Firewall(**base))


@pytest.mark.parametrize('world', ['0.0.0.0/0', '::/0', '0.0.0.0/0 ', '1.2.3.4/0'])
def test_the_whole_internet_is_refused(world):
    with pytest.raises(InputError, match='whole Internet.*allow_any_source=true'):
        fw.desired_rule(params(source_ranges=[IAP, world]))


@pytest.mark.parametrize('world', [
    ['0.0.0.0/1', '128.0.0.0/1'], ['::/1', '8000::/1'], [IAP, '0.0.0.0/2', '64.0.0.0/2', '128.0.0.0/1'],
    ['128.0.0.0/1', '0.0.0.0/1', '10.0.0.0/8'], ['0.0.0.0/1', '128.0.0.0/2', '192.0.0.0/2'],
])
def test_ranges_that_together_cover_the_whole_internet_are_refused(world):
    with pytest.raises(InputError, match='whole Internet.*allow_any_source=true'):
        fw.desired_rule(params(source_ranges=world))
    assert fw.desired_rule(params(source_ranges=world, allow_any_source=True))['source_ranges']


@pytest.mark.parametrize('almost', [['0.0.0.0/1', '128.0.0.0/2'], ['0.0.0.0/1', '::/1', '8000::/2'],
                                    ['0.0.0.0/1', '8000::/1']])
def test_ranges_that_leave_addresses_out_are_allowed(almost):
    assert fw.desired_rule(params(source_ranges=almost))['source_ranges']


def test_the_whole_internet_when_forced():
    assert fw.desired_rule(params(source_ranges=['0.0.0.0/0'], allow_any_source=True))['source_ranges'] == ['0.0.0.0/0']


def test_default_rule_is_ssh_from_iap_to_the_tag():
    want = fw.desired_rule(params())
    assert want['source_ranges'] == [IAP] and want['ports'] == ['22'] and want['direction'] == 'INGRESS'
    assert want['target_tags'] == ['gcli-offload-ssh']


@pytest.mark.parametrize('ranges,expected', [
    (['35.235.240.0/20', '10.0.0.0/8'], ['10.0.0.0/8', '35.235.240.0/20']),
    (['35.235.240.7/20'], ['35.235.240.0/20']),  # host bits dropped, as GCE stores it
    (['203.0.113.5'], ['203.0.113.5/32']),
    (['2001:db8::/32', '10.0.0.0/8', '10.0.0.0/8'], ['10.0.0.0/8', '2001:db8::/32']),
])
def test_ranges_are_canonical_and_sorted(ranges, expected):
    assert fw.normalize_ranges(ranges, False) == expected


@pytest.mark.parametrize('bad', [[], ['not-a-range'], ['10.0.0.0/33'], ['35.235.240.0/20; rm -rf /']])
def test_bad_ranges(bad):
    with pytest.raises(InputError, match='source_ranges'):
        fw.normalize_ranges(bad, False)


@pytest.mark.parametrize('ports,expected', [(['22'], ['22']), (['2222', '22', '22'], ['22', '2222']),
                                            (['8000-8010', '22'], ['22', '8000-8010']), (['22-22'], ['22'])])
def test_ports(ports, expected):
    assert fw.normalize_ports(ports) == expected


@pytest.mark.parametrize('bad', [[], ['0'], ['65536'], ['ssh'], ['10-5'], ['22,80']])
def test_bad_ports(bad):
    with pytest.raises(InputError, match='ports'):
        fw.normalize_ports(bad)


@pytest.mark.parametrize('kw,match', [
    (dict(name='Bad_Name'), 'name'),
    (dict(name='x' * 64), 'name'),
    (dict(network='projects/p/global/networks/Bad'), 'network'),
    (dict(target_tags=['UPPER']), 'target_tags'),
    (dict(target_tags=[]), 'every instance'),
    (dict(priority=70000), 'priority'),
])
def test_refusals_name_the_option(kw, match):
    with pytest.raises(InputError, match=match):
        fw.desired_rule(params(**kw))


def test_all_instances_when_asked():
    assert fw.desired_rule(params(target_tags=[], allow_all_instances=True))['target_tags'] == []


def test_network_url_is_reduced_to_its_name():
    assert fw.desired_rule(params(network='projects/p/global/networks/vpc-1'))['network'] == 'vpc-1'


def test_converged_rule_plans_nothing():
    assert fw.plan(fw.desired_rule(params()), existing()) == 'none'


def test_missing_rule_is_created():
    assert fw.plan(fw.desired_rule(params()), None) == 'create'


@pytest.mark.parametrize('kw', [
    dict(source_ranges=['0.0.0.0/0']),
    dict(source_ranges=[IAP, '10.0.0.0/8']),
    dict(allowed=[compute_v1.Allowed(I_p_protocol='tcp', ports=['22', '80'])]),
    dict(target_tags=['other']),
    dict(priority=10),
    dict(description='hand edited'),
    dict(disabled=True),
    dict(source_tags=['anything']),                      # widens the rule: must go
    dict(target_service_accounts=['x@p.iam.gserviceaccount.com']),
    dict(allowed=[compute_v1.Allowed(I_p_protocol='tcp', ports=['22']), compute_v1.Allowed(I_p_protocol='udp')]),
])
def test_any_drift_is_an_update(kw):
    assert fw.plan(fw.desired_rule(params()), existing(**kw)) == 'update'


def test_another_network_is_a_recreate():
    assert fw.plan(fw.desired_rule(params()), existing(network='projects/p/global/networks/other')) == 'recreate'


def test_foreign_settings_are_shown():
    have = existing(source_tags=['web'], allowed=[compute_v1.Allowed(I_p_protocol='all')])
    assert fw.rule_view(have)['other_settings'] == ['allowed all (all ports)', 'source_tags']


def test_resource_is_what_was_asked():
    want = fw.desired_rule(params(ports=['2222', '22']))
    res = fw.firewall_resource(want, 'my-proj')
    assert res.network == 'projects/my-proj/global/networks/default'
    assert list(res.allowed[0].ports) == ['22', '2222'] and res.allowed[0].I_p_protocol == 'tcp'
    assert list(res.source_ranges) == [IAP] and res.direction == 'INGRESS'
    # What the API returns for what we send compares equal to what we want.
    echoed = fw.current_rule(compute_v1.Firewall(res))
    assert fw.plan(want, echoed) == 'none'


# -- default-allow-ssh ---------------------------------------------------------

def default_ssh(**kw):
    base = dict(name='default-allow-ssh', direction='INGRESS', priority=65534, source_ranges=['0.0.0.0/0'],
                network='https://www.googleapis.com/compute/v1/projects/p/global/networks/default',
                allowed=[compute_v1.Allowed(I_p_protocol='tcp', ports=['22'])], description='Allow SSH from anywhere')
    base.update(kw)
    return compute_v1.Firewall(**base)


@pytest.mark.parametrize('kw', [{}, {'source_ranges': ['10.0.0.0/8', '0.0.0.0/0']}, {'source_ranges': ['::/0']},
                                {'allowed': [compute_v1.Allowed(I_p_protocol='tcp', ports=['20-30'])]},
                                {'allowed': [compute_v1.Allowed(I_p_protocol='tcp')]},
                                {'allowed': [compute_v1.Allowed(I_p_protocol='all')]},
                                {'source_ranges': ['0.0.0.0/1', '128.0.0.0/1']}])
def test_rules_that_open_ssh_to_the_world(kw):
    assert fw._opens_ssh(fw.current_rule(default_ssh(**kw)))


@pytest.mark.parametrize('kw', [{'source_ranges': [IAP]}, {'disabled': True}, {'direction': 'EGRESS'},
                                {'allowed': [compute_v1.Allowed(I_p_protocol='tcp', ports=['3389'])]},
                                {'allowed': [compute_v1.Allowed(I_p_protocol='icmp')]},
                                {'source_ranges': ['0.0.0.0/1', '10.0.0.0/8']}])
def test_rules_that_do_not(kw):
    assert not fw._opens_ssh(fw.current_rule(default_ssh(**kw)))


class FakeFirewalls:
    def __init__(self, rule):
        self.rule = rule
        self.patches = []

    def get(self, project, firewall, timeout):
        if self.rule is None:
            raise fw.GcpApiError('get: not found', code=404)
        return self.rule

    def patch_unary(self, project, firewall, firewall_resource, timeout):
        self.patches.append((firewall, list(firewall_resource.source_ranges)))
        self.rule = compute_v1.Firewall(self.rule)
        self.rule.source_ranges = list(firewall_resource.source_ranges)
        return 'op'


class FakeApi:
    project = 'p'
    request_timeout = 5
    types = compute_v1

    def __init__(self, rule):
        self.firewalls = FakeFirewalls(rule)

    def client(self, name):
        assert name == 'firewalls'
        return self.firewalls

    def call(self, fn, what):
        return fn()

    def wait(self, operation, what):
        assert operation == 'op'


def ssh_params(**kw):
    return dict(dict(name='default-allow-ssh', network='default', target_tags=['gcli-offload-ssh'], restrict=False,
                     source_ranges=[IAP]), **kw)


def test_an_open_default_rule_is_reported_with_what_to_do():
    api = FakeApi(default_ssh())
    result = fw.converge_default_ssh(api, ssh_params())
    assert (result['state'], result['changed'], api.firewalls.patches) == ('open', False, [])
    assert 'default-allow-ssh of project p' in result['warning'] and '0.0.0.0/0' in result['warning']
    assert 'offload_restrict_default_ssh=true' in result['warning'] and 'firewall-rules delete' in result['warning']


def test_restrict_sets_the_sources_and_then_changes_nothing():
    api = FakeApi(default_ssh())
    predicted = fw.converge_default_ssh(api, ssh_params(restrict=True), check_mode=True, diff=True)
    assert predicted['state'] == 'restricted' and predicted['changed'] and api.firewalls.patches == []
    assert predicted['diff']['before']['source_ranges'] == ['0.0.0.0/0']
    assert predicted['diff']['after']['source_ranges'] == [IAP]
    done = fw.converge_default_ssh(api, ssh_params(restrict=True))
    assert done['changed'] and api.firewalls.patches == [('default-allow-ssh', [IAP])]
    assert done['firewall']['source_ranges'] == [IAP] and done['warning'] is None
    again = fw.converge_default_ssh(api, ssh_params(restrict=True))
    assert (again['state'], again['changed'], len(api.firewalls.patches)) == ('closed', False, 1)


@pytest.mark.parametrize('rule, state', [
    (None, 'absent'),
    (default_ssh(target_tags=['web']), 'closed'),
    (default_ssh(network='https://www.googleapis.com/compute/v1/projects/p/global/networks/other'), 'closed'),
    (default_ssh(target_tags=['web', 'gcli-offload-ssh']), 'restricted'),
])
def test_rules_that_do_not_reach_the_worker_are_left_alone(rule, state):
    api = FakeApi(rule)
    result = fw.converge_default_ssh(api, ssh_params(restrict=True))
    assert result['state'] == state and result['changed'] == (state == 'restricted')


@pytest.mark.parametrize('kw, match', [({'name': '../x'}, 'name'), ({'network': 'a;b'}, 'network'),
                                       ({'target_tags': ['t;x']}, 'target_tags'),
                                       ({'source_ranges': ['0.0.0.0/0']}, 'whole Internet'),
                                       ({'source_ranges': []}, 'source_ranges')])
def test_default_ssh_refusals(kw, match):
    with pytest.raises(InputError, match=match):
        fw.validate_default_ssh(ssh_params(**kw))
