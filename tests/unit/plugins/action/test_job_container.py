# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""job_container against a fake worker: the pre-check it sends and how it reads
the answer (state, token file, CPUs, memory, disk, host paths, job network),
the runner's command (the job's argv as words), the result and the message of
each way a job ends (success, exit code, out of memory, full disk, lost
connection, no result), check mode, and options refused before any command."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleConnectionFailure
from fake_worker import measure

from ansible_collections.gcli.offload.plugins.action.job_container import KILL_GRACE, RUN_SCRIPT, ActionModule, tail
import subprocess
import time

JOB = 'offload-7-review'
IMAGE = 'ghcr.io/o/maint:1'
GIB = 1024 * 1024   # in kB
PRECHECK = 'echo "cpus=$(nproc)"'   # a line of the pre-check script
RUNNER = 'offload-end-'             # and of the job runner's


@pytest.fixture
def args(tmp_path):
    return {'pr': '7', 'data_root': '/srv/offload', 'image': IMAGE, 'log_dest': str(tmp_path / 'logs')}


def precheck(worker, status='inspect=1\nError: No such container: %s\n' % JOB, token=None, disk='%d %d' % (
        100 * GIB, 50 * GIB), net='ok', real=None, extra=''):
    out = status + (('token=%s\n' % token) if token else '') + 'cpus=4\nmem_kb=%d\n' % (8 * GIB)
    out += 'disk_kb=%s\n' % disk + ''.join('real=%s\n' % r for r in (real or [])) + 'net=%s\n' % net + extra
    worker.script(PRECHECK, out=out)


def runs(worker, log='all good\n', rc=0, oom='false', avail_kb=10 * GIB, report=True):
    """The runner writes `log` and reports; its log is then there to fetch."""
    def answer(cmd):
        worker.files[cmd.params[0]] = log
        out = 'oom=%s\navail_kb=%d\n' % (oom, avail_kb) + measure(log)
        return 0, out + ('rc=%d\n' % rc if report else ''), ''
    worker.script(RUNNER, answer=answer)


def test_a_job_that_succeeds(worker, args, tmp_path):
    precheck(worker)
    runs(worker, log='one\ntwo\n')
    result = worker.run(ActionModule, dict(args, tail_lines=1, env={'A_B': 'x y'}, command=['npm', 'test']))
    assert result['changed'] is True and result['rc'] == 0 and 'failed' not in result
    assert result['msg'] == 'job %s on w1 succeeded; log: %s' % (JOB, result['log'])
    assert result['log_tail'] == ['two'] and result['github_token'] is False and result['timed_out'] is False
    assert result['log'].startswith(str(tmp_path / 'logs' / 'w1' / JOB) + '/')
    assert open(result['log']).read() == 'one\ntwo\n'
    (pre,) = worker.scripts(PRECHECK)
    assert pre.params[:5] == ['docker', JOB, '', '/srv/offload', '/srv/offload/gemini']
    assert pre.params[5:7] == ['open', IMAGE]
    (run,) = worker.scripts(RUNNER)
    worker_log = run.params[0]
    assert worker_log.startswith('/srv/offload/logs/%s/' % JOB) and worker_log.endswith('.log')
    assert run.params[1:6] == ['3600', str(KILL_GRACE), JOB, 'docker', '']
    job_argv = run.params[6:]
    assert job_argv[:2] == ['docker', 'run'] and job_argv[-3:] == [IMAGE, 'npm', 'test']
    assert 'A_B=x y' in job_argv and '--name' in job_argv and job_argv[job_argv.index('--name') + 1] == JOB
    assert result['worker_log'] == worker_log and worker.fetched == [worker_log]
    assert worker.docker_calls('rm') == []   # the runner removed the container itself


def test_the_worker_sets_the_default_limits(worker, args):
    precheck(worker)
    runs(worker)
    limits = worker.run(ActionModule, args)['limits']
    assert limits['cpus'] <= 4 and 0 < limits['memory'] <= 8 * GIB * 1024


def test_a_readable_token_file_is_mounted_and_masked(worker, args):
    precheck(worker, token='1')
    runs(worker)
    result = worker.run(ActionModule, dict(args, gh_token_file='/dev/shm/offload/gh_token'))
    assert result['github_token'] is True
    (run,) = worker.scripts(RUNNER)
    assert run.params[5] == '/dev/shm/offload/gh_token'   # the runner masks what this file holds
    assert worker.scripts(PRECHECK)[0].params[2] == '/dev/shm/offload/gh_token'


def test_an_unreadable_token_file_runs_the_job_without_it_and_warns(worker, args):
    precheck(worker, token='unreadable')
    runs(worker)
    result = worker.run(ActionModule, dict(args, gh_token_file='/dev/shm/offload/gh_token'))
    assert result['github_token'] is False and worker.scripts(RUNNER)[0].params[5] == ''
    assert 'could not be masked in the log' in result['warnings'][0]


def test_a_running_job_is_not_started_twice(worker, args):
    precheck(worker, status='status:running\ninspect=0\n')
    worker.fail(ActionModule, args, match='job %s is already running on w1' % JOB)
    assert worker.scripts(RUNNER) == []


def test_a_stopped_leftover_is_removed_first(worker, args):
    precheck(worker, status='status:exited\ninspect=0\n')
    worker.docker('rm', '-f')
    runs(worker)
    worker.run(ActionModule, args)
    assert worker.docker_calls('rm') == [['rm', '-f', JOB]]
    assert worker.calls.index(worker.scripts(RUNNER)[0]) > worker.calls.index(worker.commands(
        lambda c: c.argv[:2] == ['docker', 'rm'])[0])


def test_check_mode_previews_and_runs_nothing(worker, args):
    precheck(worker, net='skip')
    result = worker.run(ActionModule, args, check_mode=True)
    assert result['changed'] is True and result['argv'][:2] == ['docker', 'run']
    assert result['msg'] == 'job %s would run on w1 (check mode)' % JOB
    assert worker.scripts(PRECHECK)[0].params[5] == 'check'   # the network script only looks
    assert worker.scripts(RUNNER) == [] and worker.docker_calls('rm') == []


def test_a_job_network_that_cannot_be_made_stops_the_job(worker, args):
    precheck(worker, net='fail iptables: DOCKER-USER chain missing')
    msg = worker.fail(ActionModule, args)
    assert msg.startswith('job %s not started: could not set up the job network (offload_job_egress=open) on w1: '
                          'iptables: DOCKER-USER chain missing.' % JOB)
    assert worker.scripts(RUNNER) == []


def test_a_nearly_full_data_disk_stops_the_job(worker, args):
    precheck(worker, disk='%d %d' % (100 * GIB, 1024))
    msg = worker.fail(ActionModule, dict(args, disk_reserve='2G'))
    assert msg.startswith('job %s not started: the data disk of w1 has 1 MiB free at /srv/offload' % JOB)
    assert worker.scripts(RUNNER) == []


def test_a_host_path_that_resolves_to_a_system_directory_is_refused(worker, args):
    precheck(worker, real=['/srv/offload', '/proc/1'])
    msg = worker.fail(ActionModule, args)
    assert 'offload_gemini_dir' in msg and '/proc' in msg
    assert worker.scripts(RUNNER) == []


def test_a_precheck_without_an_answer_is_a_failure_naming_the_step(worker, args):
    worker.script(PRECHECK, rc=126, err='sh: permission denied')
    worker.fail(ActionModule, args, match='inspect container %s failed (exit 126): sh: permission denied on worker '
                                          'w1' % JOB)


def test_a_failing_job_says_its_exit_code_and_shows_its_last_lines(worker, args):
    precheck(worker)
    runs(worker, log='a\nb\nnpm ERR! test failed\n', rc=3)
    result = worker.run(ActionModule, dict(args, tail_lines=2))
    assert result['failed'] is True and result['rc'] == 3 and result['changed'] is True
    assert result['msg'] == 'job %s on w1 failed with exit code 3; log: %s\n--- last lines ---\nb\nnpm ERR! test failed' % (
        JOB, result['log'])


def test_a_job_killed_from_outside_says_so(worker, args):
    precheck(worker)
    runs(worker, rc=143)
    assert 'from outside (docker kill or stop' in worker.run(ActionModule, args)['msg']


def test_the_out_of_memory_killer_is_named(worker, args):
    precheck(worker)
    runs(worker, rc=137, oom='true')
    result = worker.run(ActionModule, dict(args, memory='1G'))
    assert result['oom_killed'] is True and result['failed'] is True
    assert 'killed by the out-of-memory killer: it reached its memory limit of 1 GiB' in result['msg']


def test_a_job_that_filled_the_disk_says_so(worker, args):
    precheck(worker)
    runs(worker, rc=1, avail_kb=0)
    msg = worker.run(ActionModule, args)['msg']
    assert 'the disk of w1 is full at /srv/offload' in msg


def test_a_runner_without_a_result_is_an_error_and_the_container_is_removed(worker, args):
    precheck(worker)
    runs(worker, report=False)
    worker.docker('container', 'inspect', out='running\n')
    worker.docker('rm', '-f')
    worker.fail(ActionModule, args, match='the job runner on the worker ended without a result (exit 0)')
    assert worker.docker_calls('rm') == [['rm', '-f', JOB]]


def test_a_lost_connection_removes_the_job_through_a_new_one(worker, args):
    precheck(worker)
    worker.script(RUNNER, raises=AnsibleConnectionFailure('ssh: Broken pipe'))
    worker.docker('container', 'inspect', out='running\n')
    worker.docker('rm', '-f')
    result = worker.run(ActionModule, args)
    assert result['failed'] is True and result['connection_lost'] is True and result['rc'] is None
    assert result['msg'].startswith('lost the connection to w1 while job %s ran (ssh: Broken pipe)' % JOB)
    assert worker.docker_calls('rm') == [['rm', '-f', JOB]] and worker.fetched == []
    assert 'logs.yml -e pr=7 brings it' in result['log']


def test_a_worker_that_stays_unreachable_says_what_is_left(worker, args):
    precheck(worker)
    worker.script(RUNNER, raises=AnsibleConnectionFailure('ssh: Broken pipe'))
    worker.docker('container', 'inspect', raises=AnsibleConnectionFailure('ssh: connect: No route to host'))
    with pytest.raises(AnsibleConnectionFailure) as err:
        worker.run(ActionModule, args)
    assert 'cannot reach it again (ssh: connect: No route to host)' in str(err.value)
    assert 'clean.yml -e pr=7' in str(err.value)


@pytest.mark.parametrize('bad, variable', [
    ({'image': '--privileged'}, 'image'),
    ({'command': 'npm test'}, 'command'),
    ({'env': {'A;B': 'x'}}, 'env'),
    ({'timeout': 0}, 'timeout'),
    ({'tail_lines': -1}, 'tail_lines'),
    ({'gh_token_file': '/etc/shadow'}, 'gh_token_file'),
    ({'memory': 'lots'}, 'memory'),
    ({'egress': 'everything'}, 'egress'),
    ({'pr': 'x'}, 'pr'),
])
def test_bad_options_are_refused_before_any_command(worker, args, bad, variable):
    msg = worker.fail(ActionModule, dict(args, **bad))
    assert variable in msg
    assert worker.calls == []


def test_shell_syntax_in_the_command_and_env_reaches_the_job_as_words(worker, args):
    """The job's argv and env values travel as separate words of one simple command (the
    fake worker refuses any other); nothing of them is read by the worker's shell."""
    precheck(worker)
    runs(worker)
    command = ['sh', '-c', 'echo $(id); rm -rf / && `reboot`']
    worker.run(ActionModule, dict(args, command=command, env={'NOTE': "a'b\"c;$HOME|x"}))
    job_argv = worker.scripts(RUNNER)[0].params[6:]
    assert job_argv[-3:] == command and "NOTE=a'b\"c;$HOME|x" in job_argv


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


# --- the runner's masking of the GitHub token (RUN_SCRIPT, run here with sh and the system's awk) ---

TOKEN = 'github_pat_11UNIT0000000000_' + 'aB3' * 10


def run(tmp_path, job, secret='token'):
    """RUN_SCRIPT with `job` (a shell line) as the job's argv; returns (runner stdout, stored log)."""
    path = tmp_path / 'gh_token'
    path.write_text(TOKEN)
    log = tmp_path / 'logs' / 'job' / 'x.log'
    argv = ['sh', '-c', RUN_SCRIPT, 'offload-job', str(log), '30', '1', 'job', 'true',
            str(path) if secret == 'token' else secret, 'sh', '-c', job]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, log.read_text(errors='replace')


def test_every_occurrence_is_masked_and_the_exit_code_comes_through(tmp_path):
    out, log = run(tmp_path, 't=$(cat "%s"); echo "a $t b $t$t"; echo "$t" >&2; printf "last:%%s" "$t"; exit 3'
                   % (tmp_path / 'gh_token'))
    assert TOKEN not in log
    assert log == 'a *** b ******\n***\nlast:***'  # byte for byte, the last line without its newline too
    assert 'rc=3' in out.splitlines()
    assert (tmp_path / 'logs' / 'job' / 'x.exit').read_text() == '3\n'


@pytest.mark.parametrize('size', [10, 32767, 40000, 200000])
def test_long_lines_are_kept_whole(tmp_path, size):
    """mawk -W interactive duplicated parts of a last line of 32 KB and more without a newline."""
    _out, log = run(tmp_path, 'head -c %d /dev/zero | tr "\\0" y; echo; head -c %d /dev/zero | tr "\\0" z'
                    % (size, size))
    assert log == 'y' * size + '\n' + 'z' * size


def test_other_output_is_unchanged(tmp_path):
    out, log = run(tmp_path, 'printf "ghp_ github_pat_11UNIT *** \\\\ %% &\\n\\tx\\n"; head -c 100000 /dev/zero | tr "\\0" y')
    assert log.startswith('ghp_ github_pat_11UNIT *** \\ % &\n\tx\n')
    assert log.count('y') == 100000 and 'rc=0' in out.splitlines()


def test_the_log_follows_the_job_line_by_line(tmp_path):
    """logs.yml -e follow=true and the tests read the log while the job runs (mawk reads a pipe in blocks)."""
    log = tmp_path / 'logs' / 'job' / 'x.log'
    stop = tmp_path / 'stop'
    proc = subprocess.Popen(['sh', '-c', RUN_SCRIPT, 'offload-job', str(log), '30', '1', 'job', 'true', '',
                             'sh', '-c', 'echo STARTED; while [ ! -e "%s" ]; do sleep 0.02; done; echo DONE' % stop],
                            stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not (log.exists() and 'STARTED' in log.read_text()):
            assert time.monotonic() < deadline, 'the first line never reached the log while the job ran'
            time.sleep(0.02)
        assert proc.poll() is None
    finally:
        stop.touch()
        proc.communicate(timeout=30)
    assert log.read_text() == 'STARTED\nDONE\n'


@pytest.mark.parametrize('secret', ['', '/nonexistent/gh_token'])
def test_without_a_token_the_log_is_the_output(tmp_path, secret):
    out, log = run(tmp_path, 'echo plain; exit 0', secret=secret)
    assert log == 'plain\n' and 'rc=0' in out.splitlines()


def test_the_token_is_never_in_the_runners_arguments():
    """awk reads the file; the script passes only its path."""
    assert 'getline t < f' in RUN_SCRIPT and '-v f="$1"' in RUN_SCRIPT
