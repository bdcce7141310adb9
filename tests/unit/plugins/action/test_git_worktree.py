# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""git_worktree against a fake worker: the git script's subcommand and
parameters (run in the maintainer container as the job's user), how its
key=value answer becomes the result, check mode, and the errors."""

from __future__ import annotations

import pytest

from ansible_collections.gcli.offload.plugins.action.git_worktree import ActionModule
from ansible_collections.gcli.offload.plugins.module_utils._jobs import DEV, JOB_USER

JOB = 'offload-7-review'
PRESENT = {'pr': 7, 'repo_url': 'https://github.com/o/r.git', 'data_root': '/srv/offload'}


def not_running(worker, run='run=none'):
    worker.script('job_run', out='status=none\n%s\n' % run)


def test_present_prepares_the_worktree_with_the_script_in_the_maintainer(worker):
    not_running(worker)
    worker.git('prepare', out='head=abc\nbase=def\ngitdir=/x/.git/worktrees/%s\nchanged=1\n' % JOB)
    result = worker.run(ActionModule, dict(PRESENT, upstream_url='https://github.com/u/r.git', lock_grace='30'))
    assert result == {'changed': True, 'worktree': '/srv/offload/worktrees/%s' % JOB, 'job': JOB, 'head': 'abc',
                      'base': 'def', 'gitdir': '/x/.git/worktrees/%s' % JOB, 'running': False}
    (git,) = worker.commands(lambda c: c.argv[1:2] == ['exec'])
    assert git.argv[:7] == ['docker', 'exec', '--interactive', '--user', JOB_USER, 'maintainer-worker', 'sh']
    # no lost run; the history and housekeeping defaults
    assert git.params == ['prepare', DEV, JOB, '7', 'https://github.com/o/r.git', 'https://github.com/u/r.git', '30',
                          '', 'full', '50', '30']
    assert 'https://github.com/o/r.git' not in git.script   # inputs are parameters, not script text


def test_present_again_is_unchanged(worker):
    not_running(worker)
    worker.git('prepare', out='head=abc\nbase=def\ngitdir=g\nchanged=0\n')
    assert worker.run(ActionModule, PRESENT)['changed'] is False
    assert worker.commands(lambda c: c.argv[1:2] == ['exec'])[0].params[5] == ''   # no upstream


def test_a_job_running_under_its_supervisor_is_left_to_it(worker):
    not_running(worker, run='run=20260101T000000Z running 1000')
    result = worker.run(ActionModule, PRESENT)
    assert result['running'] is True and result['changed'] is False and result['run'] == '20260101T000000Z'
    assert worker.commands(lambda c: c.argv[1:2] == ['exec']) == []


def test_the_hold_of_a_lost_run_is_taken_over(worker):
    not_running(worker, run='run=20260101T000000Z lost 1000')
    worker.git('prepare', out='head=abc\nbase=def\ngitdir=g\nchanged=0\n')
    worker.run(ActionModule, PRESENT)
    assert worker.commands(lambda c: c.argv[1:2] == ['exec'])[0].params[7] == '1000'


def test_a_running_job_is_refused_before_git_runs(worker):
    worker.script('job_run', out='status=running\nrun=none\n')
    msg = worker.fail(ActionModule, PRESENT)
    assert msg.startswith('job %s is already running on w1: follow it with logs.yml' % JOB)
    assert 'clean.yml -e pr=7 -e force=true' in msg
    assert worker.commands(lambda c: c.argv[1:2] == ['exec']) == []


@pytest.mark.parametrize('state, changed', [('present', True), ('absent', True), ('released', False)])
def test_check_mode_runs_no_git(worker, state, changed):
    not_running(worker)
    result = worker.run(ActionModule, dict(PRESENT, state=state), check_mode=True)
    assert result['changed'] is changed and result['worktree'] == '/srv/offload/worktrees/%s' % JOB
    assert worker.commands(lambda c: c.argv[1:2] == ['exec']) == []


def test_absent_removes_and_says_whether_it_existed(worker):
    worker.git('remove', out='exists=1\nhead=abc\ndirty=0\nchanged=1\n')
    result = worker.run(ActionModule, {'pr': '7', 'data_root': '/srv/offload', 'state': 'absent'})
    assert result['changed'] is True and result['existed'] is True and result['dirty'] is False
    assert worker.commands()[0].params == ['remove', DEV, JOB]
    assert worker.scripts('job_run') == []   # only present checks the job


def test_absent_when_there_is_none(worker):
    worker.git('remove', out='exists=0\nchanged=0\n')
    result = worker.run(ActionModule, {'pr': '7', 'data_root': '/srv/offload', 'state': 'absent'})
    assert result == {'changed': False, 'worktree': '/srv/offload/worktrees/%s' % JOB, 'job': JOB, 'existed': False}


@pytest.mark.parametrize('out, start_head, modified', [
    ('exists=1\nhead=abc\ndirty=0\n', 'abc', False),
    ('exists=1\nhead=abc\ndirty=1\n', 'abc', True),      # left changes
    ('exists=1\nhead=new\ndirty=0\n', 'abc', True),      # moved HEAD
    ('exists=1\nhead=new\ndirty=0\n', None, False),      # no start head to compare with
])
def test_released_is_changed_only_when_the_job_modified_its_worktree(worker, out, start_head, modified):
    worker.git('release', out=out + 'changed=0\n')
    result = worker.run(ActionModule, {'pr': '7', 'data_root': '/srv/offload', 'state': 'released',
                                       'start_head': start_head})
    assert result['modified'] is modified and result['changed'] is modified and result['tampered'] is False
    assert worker.commands()[0].params == ['release', DEV, JOB]


def test_released_after_tampering_warns_and_is_changed(worker):
    worker.git('release', out='exists=1\nhead=abc\ndirty=0\ntampered=1\n')
    result = worker.run(ActionModule, {'pr': '7', 'data_root': '/srv/offload', 'state': 'released',
                                       'start_head': 'abc'})
    assert result['changed'] is True and result['tampered'] is True
    assert 'job %s rewrote the files that tell git where its repository is' % JOB in result['warnings'][0]


def test_a_git_failure_says_what_git_said_without_the_scripts_own_lines(worker):
    not_running(worker)
    worker.git('prepare', rc=2, out='error=fetch of the pull request failed\n',
               err='offload-git: fetching\nfatal: could not read Username\nfatal: Authentication failed\n')
    msg = worker.fail(ActionModule, PRESENT)
    assert msg == ('git could not prepare the worktree %s on w1: fetch of the pull request failed\n'
                   '  git: fatal: could not read Username\n  git: fatal: Authentication failed' % JOB)


def test_a_full_disk_is_said_as_such(worker):
    not_running(worker)
    worker.git('prepare', rc=1, err='fatal: write error: No space left on device\n')
    msg = worker.fail(ActionModule, PRESENT)
    assert msg.startswith('the disk of w1 is full at /srv/offload (no space left on device while git prepared '
                          'the worktree %s)' % JOB)


def test_a_maintainer_that_does_not_run_is_an_error_saying_what_to_run(worker):
    not_running(worker)
    worker.git('prepare', rc=1, err='Error response from daemon: container abc is not running')
    worker.fail(ActionModule, PRESENT, match='the maintainer container maintainer-worker is not running on the '
                                             'worker: run the worktree role')


@pytest.mark.parametrize('bad, variable', [
    ({'repo_url': '--upload-pack=touch /tmp/x'}, 'repo_url'),
    ({'repo_url': None}, 'repo_url'),
    ({'upstream_url': '-oProxyCommand=x'}, 'upstream_url'),
    ({'maintainer': '-it'}, 'maintainer'),
    ({'pr': 'abc'}, 'pr'),
    ({'data_root': '/etc'}, 'data_root'),
    ({'lock_grace': -5}, 'lock_grace'),
    ({'state': 'gone'}, 'state'),
])
def test_bad_options_are_refused_before_any_command(worker, bad, variable):
    msg = worker.fail(ActionModule, dict(PRESENT, **bad))
    assert variable in msg
    assert worker.calls == []


def test_a_log_folder_that_is_refused_stops_the_job_before_git_saying_why(worker):
    worker.script('job_run', rc=1, out='status=none\nerror=/srv/offload/logs is a link or not a directory: refusing '
                                       'to follow it (remove it)\n')
    msg = worker.fail(ActionModule, PRESENT)
    assert 'is a link or not a directory: refusing to follow it' in msg and msg.startswith('job %s not started' % JOB)
    assert worker.commands(lambda c: c.argv[1:2] == ['exec']) == []


def test_history_and_pull_ref_limits_reach_the_script(worker):
    not_running(worker)
    worker.git('prepare', out='head=abc\nbase=def\ngitdir=g\nchanged=1\n')
    worker.run(ActionModule, dict(PRESENT, history='blobless', keep_pull_refs=5, pull_ref_days=2))
    assert worker.commands(lambda c: c.argv[1:2] == ['exec'])[0].params[8:] == ['blobless', '5', '2']


@pytest.mark.parametrize('args', [{'history': 'partial'}, {'keep_pull_refs': -1}, {'pull_ref_days': -3}])
def test_bad_history_or_pull_ref_limits_are_refused_before_the_worker(worker, args):
    msg = worker.fail(ActionModule, dict(PRESENT, **args))
    assert list(args)[0] in msg
    assert worker.commands() == []
