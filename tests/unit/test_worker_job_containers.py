"""Units for DockerCLI.job_containers: the job list survives stray lines in docker's output
(over SSH with become, sudo's warnings share it)."""

from __future__ import annotations

import json

from ansible_collections.gcli.offload.plugins.plugin_utils._docker_cli import DockerCLI

SUDO_WARNING = 'sudo: unable to resolve host cos-vm-1: Name or service not known'
ID = 'a' * 64
IMAGE_ID = 'sha256:' + 'b' * 64


def make(answers):
    """A DockerCLI whose docker calls return the answer for their first argument."""
    action = DockerCLI(None)
    calls = []

    def docker(args, what, stdin=None, check=True):
        calls.append(list(args))
        return 0, answers[args[0]], ''
    action.docker = docker
    action.calls = calls
    return action


def inspect_line():
    labels = {'gcli.offload.managed': 'true', 'gcli.offload.job': 'offload-7-review', 'gcli.offload.pr': '7',
              'gcli.offload.action': 'review'}
    return ' '.join(json.dumps(v) for v in ('/offload-7-review', 'running', '2026-12-01T09:00:00Z', 'demo:latest',
                                            IMAGE_ID, labels))


def test_sudo_warnings_in_the_output_are_not_taken_for_containers():
    action = make({
        'ps': '%s\n%s\n' % (SUDO_WARNING, ID),
        'inspect': '%s\n%s\n' % (SUDO_WARNING, inspect_line()),
        'image': '%s\n%s %s\n' % (SUDO_WARNING, json.dumps(IMAGE_ID), json.dumps(['reg/demo@sha256:' + 'c' * 64])),
    })
    containers = action.job_containers()
    assert action.calls[1] == ['inspect', '--format', action.calls[1][2], ID]  # the warning's words are no ids
    assert containers == [{
        'name': 'offload-7-review', 'state': 'running', 'started': '2026-12-01T09:00:00Z', 'image': 'demo:latest',
        'image_id': IMAGE_ID, 'job': 'offload-7-review', 'pr': '7', 'action': 'review',
        'image_digests': ['reg/demo@sha256:' + 'c' * 64],
    }]


def test_no_containers_but_a_warning_is_no_containers():
    action = make({'ps': SUDO_WARNING + '\n'})
    assert action.job_containers() == []
    assert len(action.calls) == 1
