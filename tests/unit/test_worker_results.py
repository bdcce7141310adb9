"""Units for what the worker plugins report back: job_cleanup's removal of the main
clone and job_container's log tail, against a fake worker connection (each command
the plugin sends is answered from a table, the way a worker would)."""

from __future__ import annotations

import types

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.action.job_cleanup import ActionModule as JobCleanup
from ansible_collections.gcli.offload.plugins.action.job_container import tail
from ansible_collections.gcli.offload.plugins.plugin_utils._docker_cli import DockerCLI


class FakeWorker:
    """Answers worker commands: `docker ps` lists no job container, the maintainer
    container runs, the git script's `list` finds no worktree, and `remove-main`
    exits with `remove_main_rc`."""

    def __init__(self, remove_main_rc=0):
        self.remove_main_rc = remove_main_rc
        self.calls = []

    def run(self, argv, what, stdin=None, check=True):
        self.calls.append(list(argv))
        if argv[:2] == ['date', '+%s']:
            return 0, '1700000000\n', ''
        if argv[1:3] == ['ps', '-aq']:
            return 0, '', ''
        if argv[1:3] == ['container', 'inspect']:
            return 0, 'running\n', ''
        if argv[1] == 'exec' and 'list' in argv:
            return 0, '', ''
        if argv[1] == 'exec' and 'remove-main' in argv:
            if self.remove_main_rc:
                return (self.remove_main_rc, 'error=rm: cannot remove /home/node/dev/main: Read-only file system\n',
                        'offload-git: rm: cannot remove /home/node/dev/main: Read-only file system\n')
            return 0, 'changed=1\n', ''
        raise AssertionError('unexpected worker command %s' % argv)


def cleanup(worker, **args):
    action = JobCleanup.__new__(JobCleanup)
    action._task = types.SimpleNamespace(check_mode=False)
    action.cli = DockerCLI(action, 'docker')
    action.cli.run = worker.run
    full = {'scope': 'all', 'pr': None, 'action': None, 'force': False, 'grace': 600, 'include_kept': False,
            'remove_main': True, 'maintainer': 'maint', 'docker_bin': 'docker'}
    full.update(args)
    return action.act(full, {'inventory_hostname': 'w1'})


def test_cleanup_reports_the_main_clone_removed_when_it_was():
    worker = FakeWorker()
    result = cleanup(worker)
    assert result['removed_main'] is True and result['changed'] is True
    assert any('remove-main' in call for call in worker.calls)


def test_cleanup_fails_when_the_main_clone_could_not_be_removed():
    worker = FakeWorker(remove_main_rc=1)
    with pytest.raises(AnsibleActionFail) as exc:
        cleanup(worker)
    msg = str(exc.value)
    assert msg.startswith('cannot remove the main clone on w1: ')
    assert 'Read-only file system' in msg and 'removed_main' not in msg


def test_cleanup_without_remove_main_never_asks_for_it():
    worker = FakeWorker(remove_main_rc=1)
    result = cleanup(worker, remove_main=False)
    assert result['removed_main'] is False
    assert not any('remove-main' in call for call in worker.calls)


@pytest.mark.parametrize('lines, expected', [
    (0, ''),
    (1, 'c'),
    (2, 'b\nc'),
    (40, 'a\nb\nc'),
])
def test_tail_returns_the_last_lines_and_none_for_zero(lines, expected):
    assert tail('a\nb\nc\n', lines) == expected


def test_tail_of_an_empty_log():
    assert tail('', 0) == '' and tail('', 5) == ''
