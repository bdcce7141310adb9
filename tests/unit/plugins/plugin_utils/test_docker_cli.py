"""Units for plugin_utils/_docker_cli.py: the worker's commands, bound once to the
connection and the docker client, against a fake connection that runs what it is
given with the local sh (the way a worker's login shell would)."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.plugin_utils._docker_cli import (
    GIT_SCRIPT,
    DockerCLI,
    WorkerCommandError,
)
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WorkerAction, docker_config_of


class FakeAction:
    """What DockerCLI needs of an action: _low_level_execute_command, here run locally."""

    def __init__(self, answer=None):
        self.commands = []
        self.answer = answer

    def _low_level_execute_command(self, cmd, sudoable=True, in_data=None):
        self.commands.append((cmd, in_data))
        if self.answer:
            return self.answer(shlex.split(cmd), in_data)
        proc = subprocess.run(['sh', '-c', cmd], input=in_data, capture_output=True, check=False)
        return {'rc': proc.returncode, 'stdout': proc.stdout, 'stderr': proc.stderr}


def test_argv_is_quoted_once_at_the_connection_and_stdin_is_bytes():
    action = FakeAction()
    cli = DockerCLI(action, 'docker')
    rc, out, err = cli.run(['printf', '%s|', 'a b', "'; rm -rf /", '$HOME'], 'print')
    assert (rc, out, err) == (0, "a b|'; rm -rf /|$HOME|", '')
    rc, out, err = cli.run(['cat'], 'echo stdin', stdin='secret\n')
    assert out == 'secret\n' and action.commands[-1] == ('cat', b'secret\n')  # on stdin, not in the command


def test_a_failure_names_what_failed_unless_unchecked():
    cli = DockerCLI(FakeAction(), 'docker')
    with pytest.raises(WorkerCommandError, match=r'^list things failed \(exit 3\): boom$'):
        cli.run(['sh', '-c', 'echo boom >&2; exit 3'], 'list things')
    assert cli.run(['sh', '-c', 'exit 3'], 'x', check=False)[0] == 3


def test_docker_and_scripts_use_the_bound_client(tmp_path):
    docker = tmp_path / 'mydocker'
    docker.write_text('#!/bin/sh\necho "docker:$*"\n')
    docker.chmod(0o755)
    cli = DockerCLI(FakeAction(), str(docker))
    assert cli.docker(['ps', '-q'], 'list')[1] == 'docker:ps -q\n'
    rc, out, _err = cli.sh('echo "$0 $1 $#"', 'label', ['one two'], 'run a script', prefix=['timeout', '10'])
    assert out == 'label one two 1\n'


def test_a_docker_config_reaches_every_command_and_its_scripts_docker(tmp_path):
    """offload_docker_config (a COS worker's docker-credential-gcr config): DOCKER_CONFIG for every command,
    so the docker a fixed script or the job supervisor runs pulls with the same registry credentials."""
    docker = tmp_path / 'mydocker'
    docker.write_text('#!/bin/sh\necho "config:$DOCKER_CONFIG $*"\n')
    docker.chmod(0o755)
    action = FakeAction()
    cli = DockerCLI(action, str(docker), '/home/gcli-offload/.docker')
    assert cli.docker(['pull', 'x'], 'pull')[1] == 'config:/home/gcli-offload/.docker pull x\n'
    assert cli.sh('"$1" run', 'label', [str(docker)], 'script')[1] == 'config:/home/gcli-offload/.docker run\n'
    assert action.commands[0][0].startswith('env DOCKER_CONFIG=/home/gcli-offload/.docker ')
    assert DockerCLI(FakeAction(), str(docker)).docker(['ps'], 'ps')[1] == 'config: ps\n'  # unset: docker's own


@pytest.mark.parametrize('value', ['relative/dir', '/a/../etc', '/a/./b', '-x', '/a b', '/a;b', ['/a']])
def test_a_docker_config_that_is_no_plain_absolute_directory_is_refused(value):
    with pytest.raises(InputError, match='^offload_docker_config: must be an absolute directory path'):
        docker_config_of({'offload_docker_config': value})
    assert docker_config_of({}) == '' and docker_config_of({'offload_docker_config': '/home/u/.docker'}) == \
        '/home/u/.docker'


def test_container_state_reads_docker_and_none_for_no_such_container():
    answers = {'a': {'rc': 0, 'stdout': 'running\n'}, 'b': {'rc': 1, 'stderr': 'Error: No such container: b'},
               'c': {'rc': 1, 'stderr': 'permission denied on the socket'}}
    cli = DockerCLI(FakeAction(lambda argv, _in: answers[argv[-1]]), 'docker')
    assert cli.container_state('a') == 'running' and cli.container_state('b') is None
    with pytest.raises(WorkerCommandError, match='inspect container c failed'):
        cli.container_state('c')


def test_git_feeds_the_script_on_stdin_and_parses_its_facts():
    seen = []

    def answer(argv, in_data):
        seen.append((argv, in_data))
        return {'rc': 0, 'stdout': b'changed=1\nhead=abc\n', 'stderr': b''}

    cli = DockerCLI(FakeAction(answer), 'docker')
    rc, facts, err = cli.git('maint', ['prepare', '/dev', 'job'], 'prepare')
    assert rc == 0 and facts.get('head') == 'abc' and facts['changed'] == '1'
    argv, stdin = seen[0]
    assert argv == ['docker', 'exec', '--interactive', '--user', '1000:1000', 'maint', 'sh', '-s', '--',
                    'prepare', '/dev', 'job']
    assert stdin == GIT_SCRIPT.encode()


def test_git_in_a_maintainer_that_does_not_run_says_what_to_do():
    cli = DockerCLI(FakeAction(lambda argv, _in: {'rc': 1, 'stdout': '', 'stderr': 'Error: No such container: m'}))
    with pytest.raises(AnsibleActionFail, match='the maintainer container m is not running on the worker'):
        cli.git('m', ['list', '/dev', '-'], 'list')


def worker_with(maintainer, git_out=None):
    """Answers for jobs(): no job container, the clock, the maintainer's inspect
    (rc, output) and the git script's `list` (None: git must not run)."""
    def answer(argv, _in):
        if argv[:2] == ['date', '+%s']:
            return {'rc': 0, 'stdout': '1700000000\n'}
        if argv[1:3] == ['ps', '-aq']:
            return {'rc': 0, 'stdout': ''}
        if argv[1:3] == ['container', 'inspect']:
            return {'rc': maintainer[0], 'stdout': maintainer[1], 'stderr': maintainer[1]}
        if argv[1] == 'exec' and git_out is not None:
            return {'rc': 0, 'stdout': git_out}
        raise AssertionError(argv)
    return DockerCLI(FakeAction(answer))


def test_jobs_reads_containers_the_clock_and_worktrees():
    cli = worker_with((0, 'running\n'), 'worktree=offload-3-review abc 1699999000\nnoise\nworktree=offload-4-fix def 0\n')
    jobs, now = cli.jobs('maint')
    assert now == 1700000000
    assert sorted(j['job'] for j in jobs) == ['offload-3-review', 'offload-4-fix']
    assert all(j['container'] is None and j['worktree'] for j in jobs)


def test_jobs_without_a_running_maintainer_lists_no_worktree():
    assert worker_with((1, 'Error: No such container: maint')).jobs('maint') == ([], 1700000000)


# --- job_containers: the job list survives stray lines in docker's output (over SSH with become,
# sudo's warnings share it) ---

SUDO_WARNING = 'sudo: unable to resolve host cos-vm-1: Name or service not known'
ID = 'a' * 64
IMAGE_ID = 'sha256:' + 'b' * 64


@pytest.fixture
def make(worker):
    def make(answers):
        """A DockerCLI on a fake worker whose docker answers by the command's first word."""
        for word, out in answers.items():
            worker.docker(word, out=out)
        return DockerCLI(worker.action(WorkerAction, {}), 'docker')
    return make


def inspect_line():
    labels = {'gcli.offload.managed': 'true', 'gcli.offload.job': 'offload-7-review', 'gcli.offload.pr': '7',
              'gcli.offload.action': 'review'}
    return ' '.join(json.dumps(v) for v in ('/offload-7-review', 'running', '2026-12-01T09:00:00Z', 'demo:latest',
                                            IMAGE_ID, labels))


def test_sudo_warnings_in_the_output_are_not_taken_for_containers(make, worker):
    action = make({
        'ps': '%s\n%s\n' % (SUDO_WARNING, ID),
        'inspect': '%s\n%s\n' % (SUDO_WARNING, inspect_line()),
        'image': '%s\n%s %s\n' % (SUDO_WARNING, json.dumps(IMAGE_ID), json.dumps(['reg/demo@sha256:' + 'c' * 64])),
    })
    containers = action.job_containers()
    calls = worker.docker_calls()
    assert calls[1] == ['inspect', '--format', calls[1][2], ID]  # the warning's words are no ids
    assert containers == [{
        'name': 'offload-7-review', 'state': 'running', 'started': '2026-12-01T09:00:00Z', 'image': 'demo:latest',
        'image_id': IMAGE_ID, 'job': 'offload-7-review', 'pr': '7', 'action': 'review',
        'image_digests': ['reg/demo@sha256:' + 'c' * 64],
    }]


def test_no_containers_but_a_warning_is_no_containers(make, worker):
    action = make({'ps': SUDO_WARNING + '\n'})
    assert action.job_containers() == []
    assert len(worker.docker_calls()) == 1
