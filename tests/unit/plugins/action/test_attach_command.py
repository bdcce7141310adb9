# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""attach_command against a fake worker: it checks that the target container
runs, then builds (never runs) the command that opens a terminal in it, for the
task's connection: the container and the shell stay separate words."""

from __future__ import annotations

import shlex

import pytest

from ansible_collections.gcli.offload.plugins.action.attach_command import ActionModule

SSH = {'host': '203.0.113.5', 'port': 2222, 'remote_user': 'alice', 'private_key_file': '/home/a/.ssh/id',
       'ssh_common_args': '-o StrictHostKeyChecking=yes'}


def test_local_connection_gives_docker_exec_in_the_job(worker):
    worker.docker('container', 'inspect', out='running\n')
    result = worker.run(ActionModule, {'pr': '12', 'action': 'implement'}, transport='local')
    assert result['argv'] == ['docker', 'exec', '-it', 'offload-12-implement', '/bin/bash']
    assert result['container'] == 'offload-12-implement' and result['changed'] is False
    assert result['command'] == shlex.join(result['argv'])
    assert worker.docker_calls() == [['container', 'inspect', '--format', '{{.State.Status}}', 'offload-12-implement']]


def test_ssh_connection_gives_one_ssh_command_with_the_remote_argv_quoted(worker):
    worker.docker('container', 'inspect', out='running\n')
    shell = ['/bin/sh', '-c', 'echo $HOME; id']
    result = worker.run(ActionModule, {'shell': shell}, transport='ssh', options=SSH, become=True)
    argv = result['argv']
    assert argv[:8] == ['ssh', '-t', '-p', '2222', '-i', '/home/a/.ssh/id', '-o', 'StrictHostKeyChecking=yes']
    assert argv[8:10] == ['alice@203.0.113.5', '--']
    # the remote side gets one string that its shell splits back into exactly this argv
    assert shlex.split(argv[10]) == ['sudo', 'docker', 'exec', '-it', 'maintainer-worker'] + shell
    assert len(argv) == 11


def test_ssh_without_user_or_port_uses_the_host_alone(worker):
    worker.docker('container', 'inspect', out='running\n')
    result = worker.run(ActionModule, {'maintainer': 'maint-2'}, transport='ansible.builtin.ssh',
                        options={'host': 'w1.example'})
    assert result['argv'] == ['ssh', '-t', 'w1.example', '--', 'docker exec -it maint-2 /bin/bash']


@pytest.mark.parametrize('answer, state', [
    ({'out': 'exited\n'}, 'exited'),
    ({'rc': 1, 'err': 'Error: No such container: offload-3-review'}, 'no such container'),
])
def test_a_target_that_does_not_run_is_an_error_saying_its_state(worker, answer, state):
    worker.docker('container', 'inspect', **answer)
    worker.fail(ActionModule, {'pr': '3'}, transport='local',
                match='offload-3-review is not running on w1 (%s): nothing to attach to' % state)


def test_another_connection_is_refused(worker):
    worker.docker('container', 'inspect', out='running\n')
    worker.fail(ActionModule, {}, transport='community.docker.docker',
                match='attach supports the local and ssh connections, not community.docker.docker')


def test_a_docker_error_is_a_failure_naming_the_worker(worker):
    worker.docker('container', 'inspect', rc=1, err='permission denied while trying to connect to the Docker daemon')
    worker.fail(ActionModule, {}, transport='local',
                match='inspect container maintainer-worker failed (exit 1): permission denied')


@pytest.mark.parametrize('bad, variable', [
    ({'shell': '/bin/bash -i'}, 'shell'),   # a string, not an argv
    ({'shell': []}, 'shell'),
    ({'maintainer': '--privileged'}, 'maintainer'),
    ({'maintainer': 'a b'}, 'maintainer'),
    ({'pr': '-1'}, 'pr'),
    ({'pr': '4', 'action': 'shell'}, 'action'),
])
def test_bad_options_are_refused_before_any_command(worker, bad, variable):
    msg = worker.fail(ActionModule, bad, transport='local')
    assert variable in msg
    assert worker.calls == []
