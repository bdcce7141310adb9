# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""job_container against a fake worker: the pre-check it sends and how it reads
the answer (state, token file, CPUs, memory, disk, host paths, job network, the
job's newest run), the launch of the supervisor (each part's argv as words, the
token file only in the parts that need it), following the run (one poll a command,
the lines shown as they come), the result and the message of each way a job ends
(success, exit code, out of memory, full disk, lost run, lost connection), re-attach,
detach, check mode, and options refused before any command."""

from __future__ import annotations

import os
import time

import pytest
from ansible.errors import AnsibleConnectionFailure
from fake_worker import measure

from ansible_collections.gcli.offload.plugins.action import job_container
from ansible_collections.gcli.offload.plugins.action.job_container import KILL_GRACE, ActionModule, tail

JOB = 'offload-7-review'
IMAGE = 'ghcr.io/o/maint:1'
GIB = 1024 * 1024   # in kB
PRECHECK = 'echo "cpus=$(nproc)"'        # a line of the pre-check script
LAUNCH = 'offload-supervisor'            # of the launch
POLL = '--offload-chunk--'               # of the follower's poll
TOKEN_FILE = '/dev/shm/offload/gh_token'


@pytest.fixture
def args(tmp_path):
    return {'pr': '7', 'data_root': '/srv/offload', 'image': IMAGE, 'log_dest': str(tmp_path / 'logs')}


@pytest.fixture
def shown(monkeypatch):
    """The lines job_container shows through Ansible's display."""
    lines = []
    monkeypatch.setattr(job_container.display, 'display', lambda msg, *a, **k: lines.append(msg))
    return lines


def precheck(worker, status='inspect=1\nError: No such container: %s\n' % JOB, token=None, disk='%d %d' % (
        100 * GIB, 50 * GIB), net='ok', real=None, run='run=none', extra=''):
    out = status + (('token=%s\n' % token) if token else '') + 'cpus=4\nmem_kb=%d\n' % (8 * GIB)
    out += 'disk_kb=%s\n' % disk + ''.join('real=%s\n' % r for r in (real or [])) + run + '\n'
    out += 'net=%s\n' % net + extra
    worker.script(PRECHECK, out=out)


def launches(worker):
    """The launch; followed, its first poll (in the same command) finds the job alive, its log empty."""
    worker.script(LAUNCH, answer=lambda cmd: (0, 'started=%s\n' % cmd.params[2] + (
        'alive=1\nstate=supervisor 99 1000\nsize=0\n--offload-chunk--\n' if POLL in cmd.script else ''), ''))


def poll_rule(worker, **answer):
    """Answer the follower's polls (not the launch, whose command makes the first one)."""
    worker.on(lambda cmd: cmd.script is not None and POLL in cmd.script and LAUNCH not in cmd.script, **answer)


def own_polls(worker):
    """The polls made by commands of their own (after the launch's)."""
    return [c for c in worker.scripts(POLL) if LAUNCH not in c.script]


def polls(worker, chunks=('all good\n',), rc=0, parts=(('command', 0, 'false'),), space=10 * GIB, release='',
          lost=False):
    """The run's log grows by one chunk a poll; then it ended (rc; parts: name, rc, oom)."""
    log = ''.join(chunks)

    def answer(cmd):
        data_root, job, stamp, offset = cmd.params[:4]
        offset = int(offset)
        starts = [sum(len(c) for c in chunks[:i]) for i in range(len(chunks))]
        upto = next((start + len(chunks[i]) for i, start in enumerate(starts) if start >= offset), len(log))
        ended = upto >= len(log)
        state = ['supervisor 99 1000'] + ['part %s 1000' % p for p, _rc, _oom in parts]
        if ended and not lost:
            state += ['done %s 1010 %d %s' % p for p in parts]
            state += ['space %d' % space, 'released 1011 0', 'end 1012 %d' % rc]
        out = 'alive=%d\n' % (0 if ended else 1) + ''.join('state=%s\n' % line for line in state)
        if ended:
            worker.files['%s/logs/%s/%s.log' % (data_root, job, stamp)] = log
            out += ''.join('release=%s\n' % line for line in release.splitlines()) + measure(log)
            out += 'avail_kb=%d\n' % space
        out += 'size=%d\n--offload-chunk--\n' % upto + log[offset:upto]
        return 0, out, ''

    def launch_and_poll(cmd):
        # the launch's params: DATA_ROOT JOB STAMP SUPERVISOR...; its poll starts at byte 0
        poll = answer(type('Poll', (), {'params': cmd.params[:3] + ['0', '20']}))
        return (poll[0], 'started=%s\n' % cmd.params[2] + poll[1], poll[2])
    poll_rule(worker, answer=answer)
    worker.on(lambda cmd: cmd.script is not None and POLL in cmd.script and LAUNCH in cmd.script,
              answer=launch_and_poll)


def launch_params(worker):
    """(the supervisor's own parameters, [(part, container, prefix, argv)]) of the launch."""
    (launch,) = worker.scripts(LAUNCH)
    params = launch.params[4:]
    own, rest = params[:11], params[11:]
    parts = []
    while rest:
        part, container, prefix, n = rest[:4]
        parts.append((part, container, prefix, rest[4:4 + int(n)]))
        rest = rest[4 + int(n):]
    return launch.params[:3], own, parts


def mounts(argv):
    return [argv[i + 1] for i, word in enumerate(argv) if word == '--mount']


def test_a_job_that_succeeds(worker, args, tmp_path, shown):
    precheck(worker)
    launches(worker)
    polls(worker, chunks=('one\n', 'two\n'))
    result = worker.run(ActionModule, dict(args, tail_lines=1, env={'A_B': 'x y'}, command=['npm', 'test']))
    assert result['changed'] is True and result['rc'] == 0 and 'failed' not in result
    assert result['msg'] == 'job %s on w1 succeeded; log: %s' % (JOB, result['log'])
    assert result['log_tail'] == ['two'] and result['github_token'] is False and result['timed_out'] is False
    assert result['log'].startswith(str(tmp_path / 'logs' / 'w1' / JOB) + '/')
    assert open(result['log']).read() == 'one\ntwo\n'
    assert result['parts'] == {'command': {'state': 'ok', 'rc': 0, 'started': 1000, 'duration': 10}}
    # the lines were shown as they came, one poll each
    # the launch's command made the first poll (from byte 0), a command of its own the second
    assert shown[-2:] == ['one', 'two'] and [p.params[3] for p in own_polls(worker)] == ['4']
    assert len(worker.scripts(LAUNCH)) == 1
    (pre,) = worker.scripts(PRECHECK)
    assert pre.params[:5] == ['docker', JOB, '', '/srv/offload', '/srv/offload/gemini']
    assert pre.params[5:8] == ['', 'open', IMAGE]  # no API key file configured
    where, own, parts = launch_params(worker)
    assert where[:2] == ['/srv/offload', JOB]
    assert own[:4] == ['3600', str(KILL_GRACE), 'docker', ''] and own[4] == 'maintainer-worker' and own[8] == 'remove'
    [(part, container, prefix, job_argv)] = parts
    assert (part, container, prefix) == ('command', JOB, '')
    assert job_argv[:2] == ['docker', 'run'] and job_argv[-3:] == [IMAGE, 'npm', 'test']
    assert 'A_B=x y' in job_argv and job_argv[job_argv.index('--name') + 1] == JOB
    assert result['worker_log'] == '/srv/offload/logs/%s/%s.log' % (JOB, result['stamp'])
    # the log came on the polls' output, checked against the worker's measure: not fetched again
    assert worker.fetched == [] and not any(n.endswith('.part') for n in os.listdir(os.path.dirname(result['log'])))
    assert worker.docker_calls('rm') == []   # the supervisor removes the containers itself


def test_a_log_the_polls_did_not_bring_byte_for_byte_is_fetched_and_checked(worker, args, shown):
    precheck(worker)
    launches(worker)
    polls(worker, chunks=('one\n', 'two\n'))
    answer = worker.rules[1].answer   # the own polls' (the launch's is rules[0])

    def through_a_terminal(cmd, fetched=None):
        # a terminal on the way turned the line ends into \r\n: the copy is not what was measured
        rc, out, err = answer(cmd)
        if fetched is not None:
            worker.files.update((path, fetched) for path in worker.files)
        return rc, out.replace('\n', '\r\n'), err
    poll_rule(worker, answer=through_a_terminal)
    worker.script(LAUNCH, answer=lambda cmd: (0, 'started=%s\nalive=1\nsize=0\n--offload-chunk--\n' % cmd.params[2], ''))
    result = worker.run(ActionModule, args)
    assert result['rc'] == 0 and worker.fetched == [result['worker_log']]
    assert open(result['log']).read() == 'one\ntwo\n' and shown[-2:] == ['one', 'two']
    # and a fetched copy that is not what was measured either is refused
    poll_rule(worker, answer=lambda cmd: through_a_terminal(cmd, fetched='one\nsix\n'))
    worker.fail(ActionModule, args, match='is not the file the worker checked')


def test_the_worker_sets_the_default_limits(worker, args, shown):
    precheck(worker)
    launches(worker)
    polls(worker)
    limits = worker.run(ActionModule, args)['limits']
    assert limits['cpus'] <= 4 and 0 < limits['memory'] <= 8 * GIB * 1024


def test_a_review_runs_its_parts_and_only_those_that_need_github_get_the_token(worker, args, shown):
    precheck(worker, token='1')
    launches(worker)
    polls(worker, chunks=('[build] ok\n',), parts=(('build', 0, 'false'), ('checks', 8, 'false'),
                                                   ('ai_review', 0, 'false')))
    result = worker.run(ActionModule, dict(args, gh_token_file=TOKEN_FILE))
    assert result['github_token'] is True and result['rc'] == 0
    _where, own, parts = launch_params(worker)
    assert own[3] == TOKEN_FILE   # the supervisor masks what this file holds
    assert [(p, c, prefix) for p, c, prefix, _a in parts] == [
        ('build', JOB + '-build', '[build] '), ('checks', JOB + '-checks', '[checks] '),
        ('ai_review', JOB + '-ai_review', '[ai_review] ')]
    with_token = {p: any(TOKEN_FILE in m for m in mounts(a)) for p, _c, _x, a in parts}
    assert with_token == {'build': False, 'checks': True, 'ai_review': True}
    assert parts[0][3][-4:] == ['offload-entrypoint', '7', 'review', 'build']
    assert 'gcli.offload.part=build' in parts[0][3]
    assert result['parts']['checks']['state'] == 'pending'


@pytest.mark.parametrize('command_token, mounted', [(False, False), (True, True)])
def test_a_custom_command_gets_the_token_only_when_asked(worker, args, shown, command_token, mounted):
    precheck(worker, token='1')
    launches(worker)
    polls(worker)
    worker.run(ActionModule, dict(args, gh_token_file=TOKEN_FILE, command=['make'], command_token=command_token))
    [(_p, _c, _x, argv)] = launch_params(worker)[2]
    assert any(TOKEN_FILE in m for m in mounts(argv)) is mounted


def test_an_unreadable_token_file_runs_the_job_without_it_and_warns(worker, args, shown):
    precheck(worker, token='unreadable')
    launches(worker)
    polls(worker)
    result = worker.run(ActionModule, dict(args, gh_token_file=TOKEN_FILE))
    assert result['github_token'] is False and launch_params(worker)[1][3] == ''
    assert 'could not be masked in the log' in result['warnings'][0]


def test_a_running_job_is_attached_to_not_started_twice(worker, args, shown):
    precheck(worker, status='status:running\ninspect=0\n', run='run=20260101T000000Z running 1000')
    polls(worker, chunks=('before\n', 'after\n'))
    result = worker.run(ActionModule, args)
    assert worker.scripts(LAUNCH) == []
    assert result['attached'] is True and result['stamp'] == '20260101T000000Z' and result['rc'] == 0
    assert 'attaching to it' in shown[0] and shown[1:] == ['before', 'after']
    assert own_polls(worker)[0].params[2:4] == ['20260101T000000Z', '0']   # from the start


def test_a_container_of_the_job_without_a_supervisor_is_refused(worker, args):
    precheck(worker, status='status:running\ninspect=0\n')
    worker.fail(ActionModule, args, match='job %s is already running on w1 without a supervisor' % JOB)
    assert worker.scripts(LAUNCH) == []


def test_detach_starts_the_job_and_returns_how_to_follow_it(worker, args):
    precheck(worker)
    launches(worker)
    result = worker.run(ActionModule, dict(args, detach=True))
    # detached: the launch alone, no poll in its command
    assert result['detached'] is True and result['supervised'] is True and worker.scripts(POLL) == []
    assert len(worker.scripts(LAUNCH)) == 1
    assert 'runs on without this playbook' in result['msg'] and 'offload.yml -e pr=7 -e action=review' in result['msg']


def test_check_mode_previews_and_runs_nothing(worker, args):
    precheck(worker, net='skip')
    result = worker.run(ActionModule, args, check_mode=True)
    assert result['changed'] is True and result['argv'][:2] == ['docker', 'run']
    assert sorted(result['parts']) == ['ai_review', 'build']
    assert result['msg'] == 'job %s would run on w1 (check mode)' % JOB
    assert worker.scripts(PRECHECK)[0].params[6] == 'check'   # the network script only looks
    assert worker.scripts(LAUNCH) == [] and worker.docker_calls('rm') == []


def test_a_job_network_that_cannot_be_made_stops_the_job(worker, args):
    precheck(worker, net='fail iptables: DOCKER-USER chain missing')
    msg = worker.fail(ActionModule, args)
    assert msg.startswith('job %s not started: could not set up the job network (offload_job_egress=open) on w1: '
                          'iptables: DOCKER-USER chain missing.' % JOB)
    assert worker.scripts(LAUNCH) == []


def test_a_nearly_full_data_disk_stops_the_job(worker, args):
    precheck(worker, disk='%d %d' % (100 * GIB, 1024))
    msg = worker.fail(ActionModule, dict(args, disk_reserve='2G'))
    assert msg.startswith('job %s not started: the data disk of w1 has 1 MiB free at /srv/offload' % JOB)
    assert worker.scripts(LAUNCH) == []


def test_a_host_path_that_resolves_to_a_system_directory_is_refused(worker, args):
    precheck(worker, real=['/srv/offload', '/proc/1'])
    msg = worker.fail(ActionModule, args)
    assert 'offload_gemini_dir' in msg and '/proc' in msg
    assert worker.scripts(LAUNCH) == []


def test_a_precheck_without_an_answer_is_a_failure_naming_the_step(worker, args):
    worker.script(PRECHECK, rc=126, err='sh: permission denied')
    worker.fail(ActionModule, args, match='inspect container %s failed (exit 126): sh: permission denied on worker '
                                          'w1' % JOB)


def test_a_launch_that_fails_says_why(worker, args):
    precheck(worker)
    worker.script(LAUNCH, out='error=/srv/offload/logs/x/y.log exists already: refusing to write through it\n', rc=1)
    worker.fail(ActionModule, args, match='could not start job %s on w1: /srv/offload/logs/x/y.log exists' % JOB)


def test_a_failing_job_says_its_exit_code_and_shows_its_last_lines(worker, args, shown):
    precheck(worker)
    launches(worker)
    polls(worker, chunks=('a\nb\nnpm ERR! test failed\n',), rc=3, parts=(('command', 3, 'false'),))
    result = worker.run(ActionModule, dict(args, tail_lines=2))
    assert result['failed'] is True and result['rc'] == 3 and result['changed'] is True
    assert result['msg'] == 'job %s on w1 failed with exit code 3; log: %s\n--- last lines ---\nb\nnpm ERR! test failed' % (
        JOB, result['log'])


def test_a_job_killed_from_outside_says_so(worker, args, shown):
    precheck(worker)
    launches(worker)
    polls(worker, rc=143)
    assert 'from outside (docker kill or stop' in worker.run(ActionModule, args)['msg']


def test_the_out_of_memory_killer_is_named(worker, args, shown):
    precheck(worker)
    launches(worker)
    polls(worker, rc=137, parts=(('command', 137, 'true'),))
    result = worker.run(ActionModule, dict(args, memory='1G'))
    assert result['oom_killed'] is True and result['failed'] is True
    assert 'killed by the out-of-memory killer: it reached its memory limit of 1 GiB' in result['msg']


def test_a_job_that_filled_the_disk_says_so(worker, args, shown):
    precheck(worker)
    launches(worker)
    polls(worker, rc=1, space=0)
    msg = worker.run(ActionModule, args)['msg']
    assert 'the disk of w1 is full at /srv/offload' in msg


def test_a_run_whose_supervisor_died_is_reported_lost_with_its_partial_log(worker, args, shown):
    precheck(worker)
    launches(worker)
    polls(worker, chunks=('started\n',), lost=True)
    result = worker.run(ActionModule, args)
    assert result['failed'] is True and result['lost'] is True and result['rc'] is None
    assert 'was lost: its supervisor on the worker is gone' in result['msg'] and 'started' in result['msg']


def test_a_dropped_connection_is_reached_again_and_the_job_followed(worker, args, shown, monkeypatch):
    monkeypatch.setattr(time, 'sleep', lambda s: None)
    precheck(worker)
    launches(worker)
    polls(worker, chunks=('one\n', 'two\n'))   # the launch's poll brings the first, then polls of their own
    poll_rule(worker, raises=AnsibleConnectionFailure('ssh: Broken pipe'), times=2)
    result = worker.run(ActionModule, args)
    assert result['rc'] == 0 and 'failed' not in result
    assert worker.connection.resets == 2


def test_a_connection_dropped_under_the_launch_is_reached_again_and_the_job_followed(worker, args, shown,
                                                                                     monkeypatch):
    """The launch's command waits on the worker for the first poll: a drop then may leave the job
    running, so the follower reaches the worker again instead of giving up."""
    monkeypatch.setattr(time, 'sleep', lambda s: None)
    precheck(worker)
    polls(worker, chunks=('one\n', 'two\n'))
    worker.on(lambda cmd: cmd.script is not None and LAUNCH in cmd.script,
              raises=AnsibleConnectionFailure('ssh: Shared connection to 127.0.0.1 closed.'), times=1)
    poll_rule(worker, raises=AnsibleConnectionFailure('ssh: connect: Connection refused'), times=1)
    result = worker.run(ActionModule, args)
    assert result['rc'] == 0 and 'failed' not in result, result
    assert [line for line in shown if line in ('one', 'two')] == ['one', 'two'], shown  # the whole log, once
    assert worker.connection.resets == 1


def test_a_worker_that_stays_unreachable_says_the_job_goes_on(worker, args, shown, monkeypatch):
    monkeypatch.setattr(time, 'sleep', lambda s: None)
    clock = iter(range(0, 100000, 10))
    monkeypatch.setattr(time, 'monotonic', lambda: next(clock))
    precheck(worker)
    launches(worker)
    poll_rule(worker, raises=AnsibleConnectionFailure('ssh: connect: No route to host'))
    result = worker.run(ActionModule, args)
    assert result['failed'] is True and result['connection_lost'] is True and result['rc'] is None
    assert 'cannot reach it again (ssh: connect: No route to host)' in result['msg']
    assert 'The job goes on on the worker' in result['msg'] and 'clean.yml -e pr=7' in result['msg']
    assert worker.fetched == []


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


def test_open_returns_the_shell_command_with_the_jobs_sandbox_and_no_token(worker, args):
    precheck(worker, token='1')
    result = worker.run(ActionModule, dict(args, action='open', gh_token_file=TOKEN_FILE, maintainer='m1'),
                        transport='local')
    assert result['open'] is True and result['changed'] is False and worker.scripts(LAUNCH) == []
    argv = result['argv']   # a local worker: the command itself
    assert argv[:2] == ['sh', '-c'] and argv[3] == 'offload-open'
    assert argv[4:10] == ['docker', 'm1', '1000:1000', '/home/node/dev', 'offload-7-open', 'remove']
    run = argv[12:]
    assert run[:4] == ['docker', 'run', '--interactive', '--tty'] and '--cap-drop' in run
    assert not any(TOKEN_FILE in m for m in mounts(run)) and 'gcli.offload.part=open' in run
    assert 'bin/offload-open 7' in result['msg']


def test_the_entrypoints_own_command_as_the_role_passes_it_runs_as_parts(worker, args, shown):
    precheck(worker, token='1')
    launches(worker)
    polls(worker)
    worker.run(ActionModule, dict(args, gh_token_file=TOKEN_FILE, command=['offload-entrypoint', '7', 'review']))
    assert [p for p, _c, _x, _a in launch_params(worker)[2]] == ['build', 'checks', 'ai_review']


def test_the_supervisor_is_told_every_container_a_run_of_the_job_could_have_left(worker, args, shown):
    precheck(worker)
    launches(worker)
    polls(worker)
    worker.run(ActionModule, dict(args, command=['make']))
    assert launch_params(worker)[1][10] == ' '.join([JOB, JOB + '-build', JOB + '-checks', JOB + '-ai_review'])


def test_shell_syntax_in_the_command_and_env_reaches_the_job_as_words(worker, args, shown):
    """The job's argv and env values travel as separate words of one simple command (the
    fake worker refuses any other); nothing of them is read by the worker's shell."""
    precheck(worker)
    launches(worker)
    polls(worker)
    command = ['sh', '-c', 'echo $(id); rm -rf / && `reboot`']
    worker.run(ActionModule, dict(args, command=command, env={'NOTE': "a'b\"c;$HOME|x"}))
    [(_p, _c, _x, job_argv)] = launch_params(worker)[2]
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
