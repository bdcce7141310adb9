# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""job_log against a fake worker: which job's log it asks for, how it reads the
answer, the copy it keeps (only the bytes the worker measured), its errors, and
that it refuses bad options before any command reaches the worker."""

from __future__ import annotations

import pytest
from fake_worker import measure

from ansible_collections.gcli.offload.plugins.action import job_log
from ansible_collections.gcli.offload.plugins.action.job_log import ActionModule

JOB = 'offload-7-review'
WORKER_LOG = '/srv/offload/logs/%s/20260101T000000Z.log' % JOB
LOG = ''.join('line %d\n' % i for i in range(1, 6))


@pytest.fixture
def args(tmp_path):
    return {'pr': '7', 'data_root': '/srv/offload', 'log_dest': str(tmp_path / 'logs')}


def finds_log(worker, content=LOG, rc=None, state='exited\n', run='ended', **rule):
    worker.files[WORKER_LOG] = content
    out = 'log=%s\n' % WORKER_LOG + ('run=20260101T000000Z %s 1000\n' % run if run else '')
    out += ('rc=%s\n' % rc if rc is not None else '') + measure(content)
    worker.script('log=$1/logs/$2/$log', out=out, **rule)
    worker.docker('container', 'inspect', out=state)


def test_the_newest_log_comes_back_with_its_last_lines(worker, args, tmp_path):
    finds_log(worker, rc=3)
    result = worker.run(ActionModule, dict(args, lines=2))
    local = tmp_path / 'logs' / 'w1' / JOB / '20260101T000000Z.log'
    assert result['log'] == str(local) and local.read_text() == LOG
    assert result['log_lines'] == ['line 4', 'line 5'] and result['truncated'] is True
    assert result['exit_code'] == 3 and result['running'] is False and result['changed'] is False
    assert result['job'] == JOB and result['worker_log'] == WORKER_LOG
    # the job's folder is named by parameters of the fixed script, never spliced into it
    (script,) = worker.scripts('log=$1/logs/$2/$log')
    assert script.params == ['/srv/offload', JOB, '0', ''] and JOB not in script.script
    assert worker.fetched == [WORKER_LOG]


def test_lines_0_shows_the_whole_log_and_no_exit_file_is_no_exit_code(worker, args):
    finds_log(worker)
    result = worker.run(ActionModule, dict(args, lines=0))
    assert result['log_lines'] == LOG.splitlines() and result['truncated'] is False
    assert result['exit_code'] is None


def test_follow_streams_a_running_job_then_brings_its_log(worker, args, monkeypatch):
    shown = []
    monkeypatch.setattr(job_log.display, 'display', lambda msg, *a, **k: shown.append(msg))
    finds_log(worker, run='ended', rc=0)
    finds_log(worker, run='running', times=1)   # the first look: it runs
    worker.script('--offload-chunk--', out='alive=0\nstate=end 1 0\n' + measure(LOG) + 'size=%d\n--offload-chunk--\n%s'
                  % (len(LOG), LOG))
    result = worker.run(ActionModule, dict(args, follow=True, timeout=30))
    assert shown[1:] == LOG.splitlines() and 'following job %s' % JOB in shown[0]
    (poll,) = worker.scripts('--offload-chunk--')
    assert poll.params[:4] == ['/srv/offload', JOB, '20260101T000000Z', '0']
    assert result['running'] is False and result['exit_code'] == 0 and result['log_lines'] == LOG.splitlines()


def test_follow_on_a_job_that_ended_does_not_wait(worker, args):
    finds_log(worker, state='exited\n')
    worker.run(ActionModule, dict(args, follow=True))
    assert worker.scripts('--offload-chunk--') == []


def test_a_part_of_the_newest_run(worker, args):
    finds_log(worker)
    worker.run(ActionModule, dict(args, part='build'))
    assert worker.scripts('log=$1/logs/$2/$log')[0].params[3] == 'build'
    worker.fail(ActionModule, dict(args, part='../x'), match='part must be one of build')


def test_a_lost_run_says_so(worker, args):
    finds_log(worker, run='lost')
    assert worker.run(ActionModule, args)['lost'] is True


def test_a_refused_log_folder_is_reported_with_the_scripts_reason(worker, args):
    worker.docker('container', 'inspect', out='exited\n')
    worker.script('log=$1/logs/$2/$log', rc=1,
                  out='error=/srv/offload/logs is a link or not a directory: refusing to follow it (remove it)\n')
    msg = worker.fail(ActionModule, args)
    assert msg == ('cannot read the logs of %s on w1: /srv/offload/logs is a link or not a directory: refusing to '
                   'follow it (remove it)' % JOB)


def test_no_log_yet_says_where_it_looked(worker, args):
    worker.docker('container', 'inspect', out='Error: No such container: %s' % JOB, rc=1)
    worker.script('log=$1/logs/$2/$log', out='')
    worker.fail(ActionModule, args, match='job %s has no log on w1 (under /srv/offload/logs/%s)' % (JOB, JOB))
    assert worker.fetched == []


def test_a_fetched_file_that_is_not_the_measured_log_is_refused_and_deleted(worker, args, tmp_path):
    finds_log(worker)
    worker.files[WORKER_LOG] = 'something else entirely\n'
    worker.fail(ActionModule, args, match='is not the file the worker checked')
    assert not (tmp_path / 'logs' / 'w1' / JOB / '20260101T000000Z.log').exists()


def test_a_log_that_grew_after_it_was_measured_is_kept_as_measured(worker, args, tmp_path):
    finds_log(worker)
    worker.files[WORKER_LOG] = LOG + 'written after the measure\n'
    result = worker.run(ActionModule, args)
    assert (tmp_path / 'logs' / 'w1' / JOB / '20260101T000000Z.log').read_text() == LOG
    assert result['log_lines'][-1] == 'line 5'


def test_check_mode_reads_the_log_too(worker, args):
    """Reading changes nothing, so check mode shows the log as well."""
    finds_log(worker)
    result = worker.run(ActionModule, args, check_mode=True)
    assert result['log_lines'][-1] == 'line 5' and result['changed'] is False


@pytest.mark.parametrize('bad, variable', [
    ({'pr': '0'}, 'pr'),
    ({'pr': '7; rm -rf /'}, 'pr'),
    ({'action': 'deploy'}, 'action'),
    ({'data_root': 'relative/dir'}, 'data_root'),
    ({'data_root': '/proc'}, 'data_root'),
    ({'timeout': 0}, 'timeout'),
    ({'lines': -1}, 'lines'),
    ({'docker_bin': '-H tcp://evil'}, 'docker_bin'),
])
def test_bad_options_are_refused_before_any_command(worker, args, bad, variable):
    msg = worker.fail(ActionModule, dict(args, **bad))
    assert variable in msg
    assert worker.calls == []
