# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""job_cleanup against a fake worker holding given job containers and worktrees:
what each scope removes and what it keeps (a running job only when forced),
check mode, the main clone and the job network, and the errors."""

from __future__ import annotations

import json

import pytest

from ansible_collections.gcli.offload.plugins.action.job_cleanup import ActionModule
from ansible_collections.gcli.offload.plugins.module_utils._jobs import DEV, MANAGED_LABEL

NOW = 1700000000


def holding(worker, containers=(), worktrees=(), maintainer='running'):
    """A worker with job containers [(job, state)] and worktrees [(job, held_since)]."""
    ids = {job: '%064x' % (i + 1) for i, (job, _state) in enumerate(containers)}
    worker.docker('ps', '-aq', out=''.join(ids[job] + '\n' for job, _state in containers))
    lines = []
    for job, state in containers:
        _prefix, pr, action = job.split('-')
        labels = {'gcli.offload.job': job, 'gcli.offload.pr': pr, 'gcli.offload.action': action}
        lines.append(' '.join(json.dumps(v) for v in (
            '/' + job, state, '2023-11-14T22:00:00.0Z', 'maint:1', 'sha256:aa', labels)))
    worker.docker('inspect', '--format', out='\n'.join(lines) + '\n')
    worker.docker('image', 'inspect', out='"sha256:aa" ["maint@sha256:bb"]\n')
    worker.on(lambda cmd: cmd.argv == ['date', '+%s'], out='%d\n' % NOW)
    worker.docker('container', 'inspect', out=maintainer + '\n')
    worker.git('list', out=''.join('worktree=%s abc %d\n' % (job, held) for job, held in worktrees))
    worker.docker('rm', '-f')
    worker.git('remove', out='changed=1\n')
    worker.git('remove-main', out='changed=1\n')
    return worker


def removed(worker):
    containers = [c[2:] for c in worker.docker_calls('rm', '-f')]
    worktrees = [c.params[2] for c in worker.commands(lambda c: c.argv[1:2] == ['exec'] and c.params[:1] == ['remove'])]
    return containers, worktrees


def test_one_job_removes_its_container_and_worktree_only(worker):
    holding(worker, [('offload-7-review', 'exited'), ('offload-8-review', 'exited')],
            [('offload-7-review', 0), ('offload-8-review', 0)])
    result = worker.run(ActionModule, {'scope': 'job', 'pr': '7'})
    assert removed(worker) == ([['offload-7-review']], ['offload-7-review'])
    assert result['changed'] is True and result['removed_containers'] == ['offload-7-review']
    assert result['removed_worktrees'] == ['offload-7-review'] and result['skipped'] == []
    (remove,) = worker.commands(lambda c: c.argv[1:2] == ['exec'] and c.params[:1] == ['remove'])
    assert remove.params == ['remove', DEV, 'offload-7-review']
    assert worker.docker_calls('ps')[0] == ['ps', '-aq', '--no-trunc', '--filter', 'label=%s=true' % MANAGED_LABEL]


def test_one_job_and_action_leaves_the_other_action_of_the_pr(worker):
    holding(worker, [('offload-7-review', 'exited'), ('offload-7-implement', 'exited')])
    worker.run(ActionModule, {'scope': 'job', 'pr': '7', 'action': 'implement'})
    assert removed(worker) == ([['offload-7-implement']], [])


def test_a_running_job_is_kept_unless_forced(worker):
    holding(worker, [('offload-7-review', 'running')], [('offload-7-review', NOW - 5)])
    result = worker.run(ActionModule, {'scope': 'all'})
    assert removed(worker) == ([], []) and result['changed'] is False
    assert result['skipped'] == [{'job': 'offload-7-review', 'why': 'running: clean.yml never stops a running job '
                                                                    'unless forced (-e force=true)'}]


def test_forced_removes_a_running_job(worker):
    holding(worker, [('offload-7-review', 'running')], [('offload-7-review', NOW - 5)])
    result = worker.run(ActionModule, {'scope': 'all', 'force': True})
    assert removed(worker) == ([['offload-7-review']], ['offload-7-review']) and result['changed'] is True


def test_nothing_to_remove_is_unchanged(worker):
    holding(worker)
    result = worker.run(ActionModule, {'scope': 'all'})
    assert result['changed'] is False and removed(worker) == ([], [])
    assert worker.docker_calls('inspect') == []   # no container to inspect: one docker call, not three


def test_reconcile_keeps_held_and_kept_worktrees_and_removes_stopped_containers(worker):
    holding(worker, [('offload-1-review', 'exited'), ('offload-2-review', 'running')],
            [('offload-3-review', NOW - 10), ('offload-4-review', NOW - 5000), ('offload-5-review', 0)])
    result = worker.run(ActionModule, {'scope': 'reconcile', 'grace': 600})
    assert removed(worker) == ([['offload-1-review']], ['offload-4-review'])
    assert [s['job'] for s in result['skipped']] == ['offload-2-review', 'offload-3-review', 'offload-5-review']


def test_reconcile_with_include_kept_removes_kept_worktrees(worker):
    holding(worker, [], [('offload-5-review', 0)])
    worker.run(ActionModule, {'scope': 'reconcile', 'include_kept': True})
    assert removed(worker) == ([], ['offload-5-review'])


def test_check_mode_says_what_would_go_and_removes_nothing(worker):
    holding(worker, [('offload-7-review', 'exited')], [('offload-7-review', 0)])
    result = worker.run(ActionModule, {'scope': 'all', 'remove_main': True}, check_mode=True)
    assert result['changed'] is True and result['removed_containers'] == ['offload-7-review']
    assert removed(worker) == ([], []) and not worker.commands(lambda c: 'remove-main' in c.params)


def test_a_stopped_maintainer_lists_no_worktrees(worker):
    holding(worker, [('offload-7-review', 'exited')], [('offload-7-review', 0)], maintainer='exited')
    result = worker.run(ActionModule, {'scope': 'all'})
    assert result['removed_worktrees'] == [] and not worker.commands(lambda c: c.params[:1] == ['list'])


def test_remove_main_goes_after_the_jobs_and_only_when_none_is_kept(worker):
    holding(worker, [('offload-7-review', 'exited')])
    result = worker.run(ActionModule, {'scope': 'all', 'remove_main': True})
    assert result['removed_main'] is True
    assert worker.commands()[-1].params == ['remove-main', DEV, '-']
    worker.calls.clear()
    holding(worker, [('offload-7-review', 'running')])
    result = worker.run(ActionModule, {'scope': 'all', 'remove_main': True})
    assert result['removed_main'] is False and result['msg'] == 'the main clone was kept: some jobs are still running'
    assert not worker.commands(lambda c: 'remove-main' in c.params)


def test_remove_network_reports_a_busy_network_as_skipped(worker):
    holding(worker)
    worker.script('net=removed', out='net=busy gcli-offload-jobs\n')
    result = worker.run(ActionModule, {'scope': 'all', 'remove_network': True})
    assert result['removed_network'] is False and result['changed'] is False
    assert result['skipped'][0]['job'] == 'network' and 'gcli-offload-jobs is in use' in result['skipped'][0]['why']
    (script,) = worker.scripts('net=removed')
    assert script.params == ['docker']


def test_remove_network_when_free(worker):
    holding(worker)
    worker.script('net=removed', out='net=removed\n')
    result = worker.run(ActionModule, {'scope': 'all', 'remove_network': True})
    assert result['removed_network'] is True and result['changed'] is True


def test_a_worktree_that_cannot_be_removed_is_an_error(worker):
    holding(worker, [], [('offload-7-review', 0)])
    worker.git('remove', rc=1, out='error=rm: Read-only file system\n')
    worker.fail(ActionModule, {'scope': 'all'},
                match='cannot remove the worktree offload-7-review: rm: Read-only file system')


def test_a_docker_failure_names_the_step_and_the_worker(worker):
    worker.docker('ps', '-aq', rc=1, err='Cannot connect to the Docker daemon')
    worker.fail(ActionModule, {'scope': 'all'},
                match='list job containers failed (exit 1): Cannot connect to the Docker daemon on worker w1')


@pytest.mark.parametrize('bad, msg', [
    ({'scope': 'job'}, 'pr is required to clean one job'),
    ({'scope': 'job', 'pr': '7;id'}, 'pr'),
    ({'scope': 'job', 'pr': '7', 'action': 'x'}, 'action'),
    ({'scope': 'job', 'pr': '7', 'remove_main': True}, 'remove_main goes with scope=all'),
    ({'scope': 'reconcile', 'remove_network': True}, 'remove_network goes with scope=all'),
    ({'scope': 'all', 'grace': -1}, 'grace'),
    ({'scope': 'all', 'maintainer': '--rm'}, 'maintainer'),
    ({'scope': 'everything'}, 'scope'),
])
def test_bad_options_are_refused_before_any_command(worker, bad, msg):
    assert msg in worker.fail(ActionModule, bad)
    assert worker.calls == []


def test_cleanup_fails_when_the_main_clone_could_not_be_removed(worker):
    holding(worker)
    worker.git('remove-main', rc=1, out='error=rm: cannot remove /home/node/dev/main: Read-only file system\n',
               err='offload-git: rm: cannot remove /home/node/dev/main: Read-only file system\n')
    msg = worker.fail(ActionModule, {'scope': 'all', 'remove_main': True})
    assert msg.startswith('cannot remove the main clone on w1: ')
    assert 'Read-only file system' in msg and 'removed_main' not in msg


def test_cleanup_without_remove_main_never_asks_for_it(worker):
    holding(worker)
    worker.git('remove-main', rc=1, out='error=rm: Read-only file system\n')
    result = worker.run(ActionModule, {'scope': 'all'})
    assert result['removed_main'] is False
    assert not worker.commands(lambda c: 'remove-main' in c.params)


def test_cleanup_reports_the_main_clone_removed_when_it_was(worker):
    holding(worker)
    result = worker.run(ActionModule, {'scope': 'all', 'remove_main': True})
    assert result['removed_main'] is True and result['changed'] is True
    assert worker.commands(lambda c: 'remove-main' in c.params)
