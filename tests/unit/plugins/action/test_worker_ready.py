"""Units for worker_ready's loop on a fake worker: connection failures are retried
(resetting the connection), the deadline holds, the failure says why."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure

from ansible_collections.gcli.offload.plugins.action.worker_ready import ActionModule

DEFAULTS = {'container': 'maintainer-worker', 'timeout': 60, 'interval': 5}


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def make(worker):
    def make(answers, args=None, check_mode=False):
        """worker_ready on a fake worker whose `docker container inspect` answers (or raises)
        the given answers in turn (the last one repeats); each attempt takes 0.5 s."""
        clock = FakeClock()
        calls = []

        def answer(cmd):
            calls.append(cmd.argv[1:])
            clock.now += 0.5
            found = answers[min(len(calls), len(answers)) - 1]
            if isinstance(found, Exception):
                raise found
            return found

        worker.docker('container', 'inspect', answer=answer)
        action = worker.action(ActionModule, dict(DEFAULTS, **(args or {})), check_mode=check_mode)
        action._clock = clock.clock
        action._sleep = clock.sleep

        def run(task_vars=None):
            return action.run(task_vars=task_vars or {})
        return run, clock, calls, worker.connection

    return make


def test_running_at_once(make):
    run, clock, calls, dummy = make([(0, 'running\n', '')])
    result = run()
    assert result['status'] == 'running' and result['attempts'] == 1 and result['changed'] is False
    assert calls == [['container', 'inspect', '--format', '{{.State.Status}}', 'maintainer-worker']]
    assert clock.sleeps == []


def test_connection_failures_then_absent_then_running(make):
    answers = [AnsibleConnectionFailure('ssh: connect to host 10.0.0.2 port 22: Connection refused'),
               AnsibleConnectionFailure('Connection timed out'),
               (1, '', 'Error response from daemon: No such container: maintainer-worker'),
               (0, 'created', ''),
               (0, 'running', '')]
    run, clock, calls, connection = make(answers)
    result = run()
    assert result['attempts'] == 5
    assert connection.resets == 2  # the connection is reset after each failure
    assert clock.sleeps == [5, 5, 5, 5]


def test_timeout_says_what_was_seen_last(make):
    run, clock, calls, dummy = make([AnsibleConnectionFailure('ssh: connect to host 127.0.0.1 port 9: Connection '
                                                              'refused')], {'timeout': 12, 'interval': 5})
    with pytest.raises(AnsibleActionFail) as err:
        run({'inventory_hostname': 'gcli-offload-alice'})
    msg = err.value.message
    assert 'worker gcli-offload-alice was not ready after 12 s' in msg
    assert 'the connection failed: ssh: connect to host 127.0.0.1 port 9: Connection refused' in msg
    assert 'firewall' in msg
    assert clock.now - 1000.0 <= 12 + 0.5  # the deadline holds (within one attempt)
    assert sum(clock.sleeps) <= 12


def test_timeout_when_the_container_never_appears(make):
    run, clock, calls, dummy = make([(1, '', 'Error: No such container: maintainer-worker')],
                                    {'timeout': 3, 'interval': 1})
    with pytest.raises(AnsibleActionFail, match='no container maintainer-worker on the worker yet.*boot log'):
        run()


def test_timeout_when_the_container_is_stopped(make):
    run, clock, calls, dummy = make([(0, 'exited', '')], {'timeout': 3, 'interval': 1})
    with pytest.raises(AnsibleActionFail, match='container maintainer-worker is exited.*docker logs'):
        run()


def test_docker_error_is_reported(make):
    run, clock, calls, dummy = make([(1, '', 'permission denied while trying to connect to the Docker daemon socket')],
                                    {'timeout': 2, 'interval': 1})
    with pytest.raises(AnsibleActionFail, match='exit 1.*permission denied.*become'):
        run()


def test_check_mode_does_not_wait(make):
    run, clock, calls, dummy = make([(0, 'running', '')], check_mode=True)
    result = run()
    assert result['skipped'] is True and calls == []


@pytest.mark.parametrize('kw, variable', [(dict(timeout=0), 'timeout'), (dict(interval=0), 'interval'),
                                          (dict(interval=100, timeout=10), 'interval'),
                                          (dict(container='bad name;rm'), 'container')])
def test_bad_arguments_are_refused(make, kw, variable):
    run, clock, calls, dummy = make([(0, 'running', '')], kw)
    with pytest.raises(AnsibleActionFail, match='^%s: ' % variable):
        run()
    assert calls == []
