# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_gcp_operations: waiting for an operation (its zone, the timeout, its error)."""

from __future__ import annotations

import types

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _gcp_operations as ops
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import GcpApiError, RetryPolicy


# ---- a fake clock ----

class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def policy(clock, retries=3, deadline=None):
    return RetryPolicy(retries=retries, initial=1.0, maximum=4.0, deadline=deadline, sleep=clock.sleep,
                       rand=lambda: 1.0, clock=clock)


# ---- operations ------------------------------------------------------------------------------

def operation(status='RUNNING', zone='https://x/zones/z1', errors=None):
    error = types.SimpleNamespace(errors=[types.SimpleNamespace(code=c, message=m) for c, m in errors]) \
        if errors else None
    return types.SimpleNamespace(name='op-1', status=types.SimpleNamespace(name=status), zone=zone, region='',
                                 error=error, http_error_status_code=0, http_error_message='')


class FakeOps:
    def __init__(self, answers, clock, hold=0.0):
        self.answers = answers
        self.calls = []
        self.clock = clock
        self.hold = hold

    def wait(self, **kw):
        self.calls.append(kw)
        self.clock.now += min(self.hold, kw['timeout'])
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class FakeApi:
    project = 'p'

    def __init__(self, fake, clock):
        self.fake = fake
        self.clock = clock

    def client(self, kind):
        assert kind == 'zone_operations'
        return self.fake

    def policy(self, deadline=None):
        return policy(self.clock, deadline=deadline)


def test_wait_loops_until_done_on_the_operation_zone():
    clock = Clock()
    fake = FakeOps([operation(), operation(), operation('DONE')], clock, hold=1)
    done = ops.wait_for_operation(FakeApi(fake, clock), operation(), 'start instance w', 60)
    assert done.status.name == 'DONE'
    assert [c['zone'] for c in fake.calls] == ['z1', 'z1', 'z1'] and fake.calls[0]['operation'] == 'op-1'
    assert fake.calls[0]['timeout'] <= 60


def test_wait_times_out_clearly():
    clock = Clock()
    fake = FakeOps([operation()], clock, hold=30)
    with pytest.raises(GcpApiError, match=r'operation op-1 did not finish within timeout=100s') as info:
        ops.wait_for_operation(FakeApi(fake, clock), operation(), 'start instance w', 100)
    assert info.value.status == 'TIMEOUT' and clock.now <= 100 + 1e-9


def test_wait_reports_operation_error():
    clock = Clock()
    errors = [('ZONE_RESOURCE_POOL_EXHAUSTED', 'The zone does not have enough resources')]
    fake = FakeOps([operation('DONE', errors=errors)], clock)
    with pytest.raises(GcpApiError, match=r'^cannot create instance w: The zone does not have enough resources '
                                          r'\(operation op-1 ended with ZONE_RESOURCE_POOL_EXHAUSTED\)$'):
        ops.wait_for_operation(FakeApi(fake, clock), operation(), 'create instance w', 60)


def test_wait_done_operation_makes_no_call():
    clock = Clock()
    fake = FakeOps([operation('DONE')], clock)
    ops.wait_for_operation(FakeApi(fake, clock), operation('DONE'), 'x', 60)
    assert fake.calls == []
