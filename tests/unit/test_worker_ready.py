"""Units for worker_ready's loop: connection failures are retried, the deadline holds, the failure says why."""

from __future__ import annotations

import types

import pytest
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure

from ansible_collections.gcli.offload.plugins.action.worker_ready import ActionModule
from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def make(answers, check_mode=False):
    """An ActionModule whose docker calls return (or raise) the given answers in turn (the last one repeats)."""
    action = ActionModule.__new__(ActionModule)
    clock = FakeClock()
    action._clock = clock.clock
    action._sleep = clock.sleep
    action._task = types.SimpleNamespace(check_mode=check_mode)
    resets = []
    action._connection = types.SimpleNamespace(reset=lambda: resets.append(1))
    calls = []

    def docker(args, what, docker_bin, stdin=None, check=True):
        calls.append(list(args))
        answer = answers[min(len(calls), len(answers)) - 1]
        clock.now += 0.5  # an attempt takes time
        if isinstance(answer, Exception):
            raise answer
        return answer

    action.docker = docker
    return action, clock, calls, resets


def args(**kw):
    base = {'container': 'maintainer-worker', 'timeout': 60, 'interval': 5, 'docker_bin': 'docker'}
    base.update(kw)
    return base


def test_running_at_once():
    action, clock, calls, dummy = make([(0, 'running\n', '')])
    result = action.act(args(), {})
    assert result['status'] == 'running' and result['attempts'] == 1 and result['changed'] is False
    assert calls == [['container', 'inspect', '--format', '{{.State.Status}}', 'maintainer-worker']]
    assert clock.sleeps == []


def test_connection_failures_then_absent_then_running():
    answers = [AnsibleConnectionFailure('ssh: connect to host 10.0.0.2 port 22: Connection refused'),
               AnsibleConnectionFailure('Connection timed out'),
               (1, '', 'Error response from daemon: No such container: maintainer-worker'),
               (0, 'created', ''),
               (0, 'running', '')]
    action, clock, calls, resets = make(answers)
    result = action.act(args(), {})
    assert result['attempts'] == 5
    assert len(resets) == 2  # the connection is reset after each failure
    assert clock.sleeps == [5, 5, 5, 5]


def test_timeout_says_what_was_seen_last():
    action, clock, calls, dummy = make([AnsibleConnectionFailure('ssh: connect to host 127.0.0.1 port 9: Connection refused')])
    with pytest.raises(AnsibleActionFail) as err:
        action.act(args(timeout=12, interval=5), {'inventory_hostname': 'gcli-offload-alice'})
    msg = err.value.message
    assert 'worker gcli-offload-alice was not ready after 12 s' in msg
    assert 'the connection failed: ssh: connect to host 127.0.0.1 port 9: Connection refused' in msg
    assert 'firewall' in msg
    assert clock.now - 1000.0 <= 12 + 0.5  # the deadline holds (within one attempt)
    assert sum(clock.sleeps) <= 12


def test_timeout_when_the_container_never_appears():
    action, clock, calls, dummy = make([(1, '', 'Error: No such container: maintainer-worker')])
    with pytest.raises(AnsibleActionFail, match='no container maintainer-worker on the worker yet.*boot log'):
        action.act(args(timeout=3, interval=1), {})


def test_timeout_when_the_container_is_stopped():
    action, clock, calls, dummy = make([(0, 'exited', '')])
    with pytest.raises(AnsibleActionFail, match='container maintainer-worker is exited.*docker logs'):
        action.act(args(timeout=3, interval=1), {})


def test_docker_error_is_reported():
    action, clock, calls, dummy = make([(1, '', 'permission denied while trying to connect to the Docker daemon socket')])
    with pytest.raises(AnsibleActionFail, match='exit 1.*permission denied.*become'):
        action.act(args(timeout=2, interval=1), {})


def test_check_mode_does_not_wait():
    action, clock, calls, dummy = make([(0, 'running', '')], check_mode=True)
    result = action.act(args(), {})
    assert result['skipped'] is True and calls == []


@pytest.mark.parametrize('kw', [dict(timeout=0), dict(interval=0), dict(interval=100, timeout=10),
                                dict(container='bad name;rm')])
def test_bad_arguments_are_refused(kw):
    action, clock, calls, dummy = make([(0, 'running', '')])
    with pytest.raises(JobInputError):
        action.act(args(**kw), {})
    assert calls == []
