# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""git_worktree against a fake worker: the git script's subcommand and
parameters (run in the maintainer container as the job's user), how its
key=value answer becomes the result, check mode, and the errors."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.gcli.offload.plugins.action.git_worktree import PREPARE_SCRIPT, ActionModule
from ansible_collections.gcli.offload.plugins.module_utils._jobs import DEV, JOB_USER
from ansible_collections.gcli.offload.plugins.plugin_utils._docker_cli import GIT_SCRIPT

JOB = 'offload-7-review'
PRESENT = {'pr': 7, 'repo_url': 'https://github.com/o/r.git', 'data_root': '/srv/offload'}


def not_running(worker, run='run=none'):
    """The state check alone (check mode)."""
    worker.script('job_run', out='status=none\n%s\n' % run)


def prepares(worker, run='run=none', status='none', rc=0, out='', err=''):
    """The one command of a prepare (PREPARE_SCRIPT): the job's state, then, when it does not run,
    what the git script in the maintainer container answers (rc, out, err). The script's own
    logic runs for real in test_worktree_prepare_script_*."""
    def answer(cmd):
        state = 'status=%s\n%s\n' % (status, run)
        if status == 'running' or ' running' in run:
            return 0, state, ''
        return rc, state + 'git=start\n' + out, err
    worker.script('git=start', answer=answer)


def git_params(worker):
    """The git script's parameters in the prepare command (after DATA_ROOT JOB DOCKER MAINTAINER USER
    TOKEN_FILE SCRIPT)."""
    (cmd,) = worker.scripts('git=start')
    return cmd.params[7:]


def test_present_prepares_the_worktree_with_the_script_in_the_maintainer(worker):
    prepares(worker, out='head=abc\nbase=def\ngitdir=/x/.git/worktrees/%s\nchanged=1\n' % JOB)
    result = worker.run(ActionModule, dict(PRESENT, upstream_url='https://github.com/u/r.git', lock_grace='30'))
    assert result == {'changed': True, 'worktree': '/srv/offload/worktrees/%s' % JOB, 'job': JOB, 'head': 'abc',
                      'base': 'def', 'gitdir': '/x/.git/worktrees/%s' % JOB, 'running': False}
    # one command: the state check and git's prepare (no token file given)
    (cmd,) = worker.calls
    assert cmd.params[:7] == ['/srv/offload', JOB, 'docker', 'maintainer-worker', JOB_USER, '', GIT_SCRIPT]
    # no lost run (the script fills it in); the history and housekeeping defaults
    assert git_params(worker) == ['prepare', DEV, JOB, '7', 'https://github.com/o/r.git', 'https://github.com/u/r.git',
                                  '30', '', 'full', '50', '30']
    assert 'https://github.com/o/r.git' not in cmd.script   # inputs are parameters, not script text


def test_present_again_is_unchanged(worker):
    prepares(worker, out='head=abc\nbase=def\ngitdir=g\nchanged=0\n')
    assert worker.run(ActionModule, PRESENT)['changed'] is False
    assert git_params(worker)[5] == ''   # no upstream


def test_a_job_running_under_its_supervisor_is_left_to_it(worker):
    prepares(worker, run='run=20260101T000000Z running 1000')
    result = worker.run(ActionModule, PRESENT)
    assert result['running'] is True and result['changed'] is False and result['run'] == '20260101T000000Z'
    assert worker.commands(lambda c: c.argv[1:2] == ['exec']) == []


def test_a_running_job_is_refused_before_git_runs(worker):
    prepares(worker, status='running')
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
    prepares(worker, rc=2, out='error=fetch of the pull request failed\n',
             err='offload-git: fetching\nfatal: could not read Username\nfatal: Authentication failed\n')
    msg = worker.fail(ActionModule, PRESENT)
    assert msg == ('git could not prepare the worktree %s on w1: fetch of the pull request failed\n'
                   '  git: fatal: could not read Username\n  git: fatal: Authentication failed' % JOB)


def test_a_full_disk_is_said_as_such(worker):
    prepares(worker, rc=1, err='fatal: write error: No space left on device\n')
    msg = worker.fail(ActionModule, PRESENT)
    assert msg.startswith('the disk of w1 is full at /srv/offload (no space left on device while git prepared '
                          'the worktree %s)' % JOB)


def test_a_maintainer_that_does_not_run_is_an_error_saying_what_to_run(worker):
    prepares(worker, rc=1, err='Error response from daemon: container abc is not running')
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
    worker.script('git=start', rc=1,
                  out='status=none\nerror=/srv/offload/logs is a link or not a directory: refusing to follow it '
                      '(remove it)\n')
    msg = worker.fail(ActionModule, PRESENT)
    assert 'is a link or not a directory: refusing to follow it' in msg and msg.startswith('job %s not started' % JOB)
    assert worker.commands(lambda c: c.argv[1:2] == ['exec']) == []


def test_history_and_pull_ref_limits_reach_the_script(worker):
    prepares(worker, out='head=abc\nbase=def\ngitdir=g\nchanged=1\n')
    worker.run(ActionModule, dict(PRESENT, history='blobless', keep_pull_refs=5, pull_ref_days=2))
    assert git_params(worker)[8:] == ['blobless', '5', '2']


@pytest.mark.parametrize('args', [{'history': 'partial'}, {'keep_pull_refs': -1}, {'pull_ref_days': -3}])
def test_bad_history_or_pull_ref_limits_are_refused_before_the_worker(worker, args):
    msg = worker.fail(ActionModule, dict(PRESENT, **args))
    assert list(args)[0] in msg
    assert worker.commands() == []


FAKE_DOCKER = """#!/bin/sh
# container inspect: the job container's state (file status, else none); exec: records its
# arguments, its environment's OFFLOAD_GIT_TOKEN and its standard input, answers git.out
here=$(dirname "$0")
case $1 in
container) if [ -f "$here/status" ]; then cat "$here/status"; else echo "Error: No such container" >&2; exit 1; fi ;;
exec) printf '%s\\0' "$@" >"$here/exec.args"; cat >"$here/exec.stdin"; cat "$here/git.out" ;;
esac
"""


def run_prepare(tmp_path, state=None, status=None, token=''):
    """PREPARE_SCRIPT run by sh with a fake docker; state: the job's newest run's state file lines."""
    tmp_path.mkdir(exist_ok=True)
    docker = tmp_path / 'docker'
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    (tmp_path / 'git.out').write_text('head=abc\nchanged=1\n')
    if status:
        (tmp_path / 'status').write_text(status + '\n')
    data_root = tmp_path / 'data'
    if state is not None:
        folder = data_root / 'logs' / JOB
        folder.mkdir(parents=True)
        for path in (data_root / 'logs', folder):
            path.chmod(0o755)
        (folder / '20260101T000000Z.state').write_text(''.join(line + '\n' for line in state))
    data_root.mkdir(exist_ok=True)
    return subprocess.run(['sh', '-c', PREPARE_SCRIPT, 'offload-prepare', str(data_root), JOB, str(docker),
                           'maintainer-worker', JOB_USER, token, GIT_SCRIPT,
                           'prepare', DEV, JOB, '7', 'u', '', '120', '', 'full', '50', '30'],
                          capture_output=True, text=True, check=False)


def exec_args(tmp_path):
    return (tmp_path / 'exec.args').read_text().split('\0')[:-1]


def test_worktree_prepare_script_runs_git_with_the_pinned_script_when_the_job_does_not_run(tmp_path):
    proc = run_prepare(tmp_path)
    assert proc.returncode == 0 and proc.stdout == 'status=none\nrun=none\ngit=start\nhead=abc\nchanged=1\n'
    args = exec_args(tmp_path)
    # the pinned script is the controller's (an argument), the parameters as given
    assert args == ['exec', '--interactive', '--user', JOB_USER, 'maintainer-worker', 'sh', '-c', GIT_SCRIPT,
                    'offload-git', 'prepare', DEV, JOB, '7', 'u', '', '120', '', 'full', '50', '30']
    assert (tmp_path / 'exec.stdin').read_text() == ''   # no token file: nothing on its input


def test_worktree_prepare_script_gives_git_the_token_file_on_its_input_never_as_an_argument(tmp_path):
    token = tmp_path / 'gh_token'
    tmp_path.mkdir(exist_ok=True)
    token.write_text('ghp_SECRET\n')
    run_prepare(tmp_path, token=str(token))
    assert (tmp_path / 'exec.stdin').read_text() == 'ghp_SECRET\n'
    args = exec_args(tmp_path)
    assert 'ghp_SECRET' not in ''.join(args) and 'OFFLOAD_GIT_TOKEN=stdin' in args


def test_worktree_prepare_script_fills_in_a_lost_runs_start_and_leaves_a_running_job_alone(tmp_path):
    proc = run_prepare(tmp_path / 'lost', state=['supervisor 1 1000'])   # no end, lock free: lost
    assert 'run=20260101T000000Z lost 1000' in proc.stdout.splitlines()
    assert exec_args(tmp_path / 'lost')[-11:] == [
        'prepare', DEV, JOB, '7', 'u', '', '120', '1000', 'full', '50', '30']
    run_prepare(tmp_path / 'ended', state=['supervisor 1 1000', 'end 1001 0'])
    assert exec_args(tmp_path / 'ended')[-4] == ''
    proc = run_prepare(tmp_path / 'container', status='running')
    assert proc.stdout == 'status=running\nrun=none\n' and not (tmp_path / 'container' / 'exec.args').exists()


@pytest.mark.parametrize('repo_url, given', [('https://github.com/o/r.git', True), ('https://gitlab.com/o/r.git', False),
                                             ('file:///srv/r.git', False)])
def test_the_token_file_goes_to_git_only_for_the_github_it_belongs_to(worker, repo_url, given):
    prepares(worker, out='head=abc\nbase=def\ngitdir=g\nchanged=0\n')
    worker.run(ActionModule, dict(PRESENT, repo_url=repo_url, token_file='/dev/shm/offload/gh_token'))
    (cmd,) = worker.calls
    assert cmd.params[5] == ('/dev/shm/offload/gh_token' if given else '')


def test_a_prepare_answer_through_a_terminal_is_read_the_same(worker):
    """sudo with requiretty puts a terminal on the way: every line ends in \\r\\n."""
    prepares(worker, out='head=abc\nbase=def\ngitdir=g\nchanged=1\n')
    answer = worker.rules[0].answer

    def through_a_terminal(cmd):
        rc, out, err = answer(cmd)
        return rc, out.replace('\n', '\r\n'), err

    worker.script('git=start', answer=through_a_terminal)
    result = worker.run(ActionModule, PRESENT)
    assert result['changed'] is True and result['head'] == 'abc' and result['running'] is False
