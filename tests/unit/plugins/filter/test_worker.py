"""Units for the worker_hosts filter: a play's hosts must name hosts of the inventory
(strict_bool is in test_booleans.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.gcli.offload.plugins.filter.worker import worker_hosts

NO_INVENTORY = {'all': [], 'ungrouped': []}
ONE = {'all': ['w1'], 'ungrouped': [], 'offload_workers': ['w1'], 'other': []}


@pytest.mark.parametrize('pattern, groups', [
    ('offload_workers[0]', ONE),
    ('offload_workers[-1]', ONE),
    ('offload_workers', ONE),
    ('w1', ONE),
    ('localhost', NO_INVENTORY),
    # a host pattern is Ansible's to resolve
    ('web*:&prod', NO_INVENTORY),
])
def test_targets_that_name_hosts_pass_unchanged(pattern, groups):
    assert worker_hosts(pattern, groups) == pattern


@pytest.mark.parametrize('pattern, groups, message', [
    ('offload_workers[0]', NO_INVENTORY,
     'no worker to run on: the inventory has no group offload_workers (no inventory was found, or it is empty)'),
    ('offload_workers[0]', {'all': ['h'], 'ungrouped': ['h']},
     "the inventory has no group offload_workers (its hosts: 'h')"),
    ('offload_workers[0]', dict(ONE, offload_workers=[]), 'the group offload_workers has no host. Filled by the '
                                                          'gcli.offload.gce_workers inventory plugin'),
    # the plugin found the worker, stopped: say how to start it
    ('offload_workers[0]', dict(ONE, offload_workers=[], offload_workers_stopped=['w1']),
     "no worker VM runs. The gcli.offload.gce_workers inventory plugin found 'w1', which does not run"),
    ('offload_workers', dict(ONE, offload_workers=[], offload_workers_stopped=['w1']),
     're-run with -e offload_start_worker=true'),
    ('offload_workers[1]', ONE, "offload_worker is 'offload_workers[1]', but the group offload_workers has 1 host"),
    ('other', ONE, "offload_worker is the group 'other', which has no host"),
    ('w2', ONE, "offload_worker is 'w2', neither a host nor a group of the inventory (its hosts: 'w1')"),
    ('w1[0]', ONE, "offload_worker is 'w1[0]', neither a host nor a group"),
    ('', ONE, 'offload_worker must name the worker host or group'),
    (['w1'], ONE, 'offload_worker must name the worker host or group'),
])
def test_targets_that_name_no_host_fail_saying_what_to_define(pattern, groups, message):
    with pytest.raises(AnsibleFilterError) as exc:
        worker_hosts(pattern, groups)
    assert message in str(exc.value)
    if 'inventory has no group' in message:
        assert 'inventory/local.yml' in str(exc.value) and '-e offload_worker=HOST' in str(exc.value)


def test_a_huge_name_is_not_echoed_whole():
    with pytest.raises(AnsibleFilterError) as exc:
        worker_hosts('x' * 100000, ONE)
    assert len(str(exc.value)) < 1000


def test_many_hosts_are_listed_bounded():
    hosts = ['h%03d' % i for i in range(500)]
    with pytest.raises(AnsibleFilterError) as exc:
        worker_hosts('nope', {'all': hosts, 'ungrouped': hosts})
    assert 'and 490 more' in str(exc.value) and len(str(exc.value)) < 1000
