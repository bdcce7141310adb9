"""Units for _gcp_fleet: which labelled VMs and disks no inventory knows, and which of them are safe to remove."""

from __future__ import annotations

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _gcp_fleet as fleet
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError

WORKER = {'type': 'offload-worker'}
ZONE = 'https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-a'
T0 = '2026-12-01T04:00:00.000-08:00'           # 12:00 UTC
NOW = fleet.parse_time('2026-12-01T14:00:00+00:00')  # two hours later


def vm(name, status='TERMINATED', labels=None, created=T0):
    return {'name': name, 'zone': ZONE, 'status': status, 'labels': WORKER if labels is None else labels,
            'creationTimestamp': created}


def disk(name, users=(), labels=None, created=T0, detached=None):
    out = {'name': name, 'zone': ZONE, 'labels': WORKER if labels is None else labels, 'creationTimestamp': created,
           'users': [ZONE + '/instances/' + u for u in users]}
    if detached:
        out['lastDetachTimestamp'] = detached
    return out


def decide(instances=(), disks=(), known=(), grace=3600, force=False):
    return {(r['kind'], r['name']): r for r in fleet.orphans(list(instances), list(disks), WORKER, set(known), NOW,
                                                             grace, force)}


def test_timestamps_with_offsets():
    assert NOW - fleet.parse_time(T0) == 7200
    assert fleet.parse_time('garbage') is None and fleet.parse_time(None) is None


def test_known_and_unlabelled_are_not_orphans():
    found = decide([vm('known'), vm('web', labels={'type': 'web'})], [disk('known-data'), disk('x', labels={})],
                   known=['known'])
    assert found == {}


def test_a_stopped_orphan_past_the_grace_is_removed():
    found = decide([vm('lost')])
    assert found[('instance', 'lost')]['remove'] is True and found[('instance', 'lost')]['age'] == 7200


@pytest.mark.parametrize('status', ['RUNNING', 'STAGING', 'PROVISIONING', 'STOPPING', 'REPAIRING', ''])
def test_an_orphan_that_is_not_stopped_is_kept_unless_forced(status):
    kept = decide([vm('live', status=status)])[('instance', 'live')]
    assert kept['remove'] is False and 'force=true' in kept['why']
    assert decide([vm('live', status=status)], force=True)[('instance', 'live')]['remove'] is True


def test_young_ones_are_kept_even_forced():
    young = '2026-12-01T13:30:00+00:00'
    found = decide([vm('new', status='RUNNING', created=young)], [disk('d', created=young)], force=True)
    assert not found[('instance', 'new')]['remove'] and 'grace' in found[('instance', 'new')]['why']
    assert not found[('disk', 'd')]['remove']


def test_a_disk_counts_from_its_last_detach():
    found = decide(disks=[disk('old', detached='2026-12-01T13:59:00+00:00'), disk('gone')])
    assert found[('disk', 'old')]['remove'] is False and found[('disk', 'old')]['age'] == 60
    assert found[('disk', 'gone')]['remove'] is True


def test_an_attached_disk_is_never_an_orphan():
    assert decide(disks=[disk('used', users=['lost'])]) == {}


def test_unknown_age_is_kept():
    found = decide([vm('x', created='')], [disk('y', created='')])
    assert not found[('instance', 'x')]['remove'] and not found[('disk', 'y')]['remove']


def params(**kw):
    return dict(dict(labels=WORKER, known=[], zones=[], grace=3600, remove=False, force=False), **kw)


@pytest.mark.parametrize('kw, match', [({'labels': {}}, 'labels: must name at least one label'),
                                       ({'labels': {'Type': 'x'}}, 'labels'),
                                       ({'known': ['a;b']}, 'known'), ({'zones': ['../x']}, 'zones'),
                                       ({'grace': -1}, 'grace'), ({'grace': 10 ** 12}, 'grace')])
def test_refusals_name_the_option(kw, match):
    with pytest.raises(InputError, match=match):
        fleet.validate(params(**kw))


class FakeClient:
    def __init__(self, items, deleted):
        self.items, self.deleted = items, deleted

    def list(self, project, zone, timeout):
        return self.items

    def delete_unary(self, project, zone, timeout, **kw):
        self.deleted.append(kw)
        return 'op'


class FakeType:
    @staticmethod
    def to_dict(item, preserving_proto_field_name):
        return item


class FakeTypes:
    Instance = Disk = FakeType


class FakeApi:
    project = 'p'
    request_timeout = 5
    types = FakeTypes

    def __init__(self, instances, disks):
        self.deleted = []
        self.clients = {'instances': FakeClient(instances, self.deleted), 'disks': FakeClient(disks, self.deleted)}

    def client(self, kind):
        return self.clients[kind]

    def call(self, fn, what):
        return fn()

    def wait(self, operation, what):
        assert operation == 'op'


def test_converge_lists_removes_and_honours_check_mode():
    api = FakeApi([vm('lost'), vm('live', status='RUNNING')], [disk('d')])
    listed = fleet.converge(api, params(zones=['us-central1-a']), now=NOW)
    assert (listed['changed'], listed['removed'], api.deleted) == (False, [], [])
    assert len(listed['kept']) == 3
    checked = fleet.converge(api, params(zones=['us-central1-a'], remove=True), check_mode=True, diff=True, now=NOW)
    assert checked['changed'] and api.deleted == []
    assert checked['removed'] == ['disk d (us-central1-a)', 'instance lost (us-central1-a)']
    assert 'instance live' in checked['diff']['after'] and 'instance lost' not in checked['diff']['after']
    done = fleet.converge(api, params(zones=['us-central1-a'], remove=True), now=NOW)
    assert done['changed'] and sorted(map(str, api.deleted)) == ["{'disk': 'd'}", "{'instance': 'lost'}"]
    assert done['kept'] == ['instance live (us-central1-a): ' + decide([vm('live', status='RUNNING')])[
        ('instance', 'live')]['why']]
