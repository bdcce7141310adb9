"""The job's supervisor on the worker (scripts/job_supervisor.sh, started by LAUNCH_SCRIPT)
and its follower (POLL_SCRIPT, follow), run here with sh and coreutils: detached from the
command that started it, alive by its lock, lost without it, followed by offset in one
command a poll."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import time

import pytest
from ansible.errors import AnsibleConnectionFailure

from ansible_collections.gcli.offload.plugins.plugin_utils._job_parts import job_parts, part_results
from ansible_collections.gcli.offload.plugins.plugin_utils._supervisor import (
    CHUNK_LINE,
    LAUNCH_POLL_SCRIPT,
    LAUNCH_SCRIPT,
    STATE_CHECK_SCRIPT,
    SUPERVISOR_SCRIPT,
    FollowLost,
    follow,
    parse_poll,
    parse_state,
    run_state,
)

JOB = 'offload-7-review'
STAMP = '20260101T000000Z'


def launch(data_root, command, stamp=STAMP, seconds='30', script=LAUNCH_SCRIPT):
    return subprocess.run(['sh', '-c', script, 'offload-launch', str(data_root), JOB, stamp, SUPERVISOR_SCRIPT,
                           seconds, '1', 'true', '', '', '1000:1000', '/dev', JOB, 'remove', '', '',
                           'command', 'c', '', str(len(command))] + list(command),
                          capture_output=True, text=True, timeout=30, check=False)


def state_of(data_root):
    out = subprocess.run(['sh', '-c', STATE_CHECK_SCRIPT, 'offload-state', str(data_root), JOB, 'true'], capture_output=True,
                         text=True, check=True).stdout
    return run_state(out)


class Local:
    """A WorkerAction stand-in whose worker is this machine; `drop` connection failures first."""

    def __init__(self, drop=0):
        self.drop, self.commands = drop, 0
        self._connection = self
        self.cli = self

    def sh(self, script, label, args, what, stdin=None, check=True):
        return self.run(['sh', '-c', script, label] + list(args), what, stdin=stdin, check=check)

    def reset(self):
        pass

    def run(self, argv, what, stdin=None, check=True):
        self.commands += 1
        if self.drop:
            self.drop -= 1
            raise AnsibleConnectionFailure('connection dropped')
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr


def test_the_launch_returns_at_once_and_the_job_runs_on_to_its_end(tmp_path):
    stop = tmp_path / 'stop'
    started = time.monotonic()
    proc = launch(tmp_path, ['sh', '-c', 'echo one; while [ ! -e "%s" ]; do sleep 0.02; done; echo two' % stop])
    assert proc.returncode == 0 and 'started=%s' % STAMP in proc.stdout, proc.stdout + proc.stderr
    assert time.monotonic() - started < 10
    assert state_of(tmp_path)[:2] == (STAMP, 'running')
    stop.touch()
    shown = []
    end, state, _release, offset = follow(Local(), str(tmp_path), JOB, STAMP, shown.append)
    assert shown == ['one', 'two'] and offset == 8
    assert state['rc'] == 0 and state['parts']['command']['rc'] == 0 and end['log_size'] == '8'
    assert state_of(tmp_path)[:2] == (STAMP, 'ended')
    folder = tmp_path / 'logs' / JOB
    assert (folder / (STAMP + '.exit')).read_text() == '0\n'
    # nothing left running: the state's lock is free
    assert subprocess.run(['flock', '-n', str(folder / (STAMP + '.state')), 'true'], check=False).returncode == 0


def test_a_short_job_starts_and_ends_in_the_launchs_one_command_and_its_log_comes_with_it(tmp_path):
    proc = launch(tmp_path, ['sh', '-c', 'echo quick; printf "no newline"'], script=LAUNCH_POLL_SCRIPT)
    assert proc.returncode == 0 and 'started=%s' % STAMP in proc.stdout.splitlines(), proc.stdout + proc.stderr
    local, shown, sink = Local(), [], io.BytesIO()
    end, state, _release, offset = follow(local, str(tmp_path), JOB, STAMP, shown.append, sink=sink,
                                          first=(proc.returncode, proc.stdout, proc.stderr))
    # the launch's command made the first poll; when it saw the end (it waits up to a second:
    # unless the machine is very busy), no poll of its own follows
    assert CHUNK_LINE.search(proc.stdout)
    if 'alive=0' in proc.stdout.splitlines():
        assert local.commands == 0
    assert shown == ['quick', 'no newline'] and state['rc'] == 0
    log = (tmp_path / 'logs' / JOB / (STAMP + '.log')).read_bytes()
    assert log == b'quick\nno newline' and end['log_size'] == str(len(log))
    # a poll may see the last line with the newline the masking adds until the output ends
    # (and then cuts off): the follower may have it, after the measured bytes
    assert sink.getvalue() in (log, log + b'\n') and offset in (len(log), len(log) + 1)
    assert hashlib.sha256(log).hexdigest() == end['log_sha256']


def test_a_job_still_running_after_the_launchs_poll_is_followed_by_polls_from_there(tmp_path):
    stop = tmp_path / 'stop'
    proc = launch(tmp_path, ['sh', '-c', 'echo one; while [ ! -e "%s" ]; do sleep 0.02; done; echo two' % stop],
                  script=LAUNCH_POLL_SCRIPT)
    assert 'alive=1' in proc.stdout.splitlines(), proc.stdout + proc.stderr
    stop.touch()
    local, shown, sink = Local(), [], io.BytesIO()
    follow(local, str(tmp_path), JOB, STAMP, shown.append, sink=sink, first=(proc.returncode, proc.stdout, proc.stderr))
    assert shown == ['one', 'two'] and sink.getvalue() == b'one\ntwo\n' and local.commands >= 1


def test_a_killed_supervisor_is_a_lost_run(tmp_path):
    proc = launch(tmp_path, ['sh', '-c', 'echo partial; exec sleep 600'])
    assert proc.returncode == 0
    folder = tmp_path / 'logs' / JOB
    deadline = time.monotonic() + 20
    while 'partial' not in (folder / (STAMP + '.log')).read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    pid = int((folder / (STAMP + '.state')).read_text().split()[1])
    # the worker going down: the supervisor and everything it started (its session, by its id)
    sid = os.getsid(pid)
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == sid:
                    os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass
    deadline = time.monotonic() + 20
    while state_of(tmp_path)[1] != 'lost':
        assert time.monotonic() < deadline, state_of(tmp_path)
        time.sleep(0.05)
    shown = []
    end, state, _release, _offset = follow(Local(), str(tmp_path), JOB, STAMP, shown.append)
    assert shown == ['partial'] and state['rc'] is None and state['ended'] is None
    assert part_results(state)['command']['state'] == 'running'


def test_a_follower_sees_a_line_about_a_poll_after_it_is_printed_in_one_command_a_poll(tmp_path):
    go = tmp_path / 'go'
    launch(tmp_path, ['sh', '-c', 'while [ ! -e "%s" ]; do sleep 0.01; done; echo LINE; sleep 1; echo END' % go])
    seen = {}
    action = Local()

    def show(line):
        seen[line] = time.monotonic()
    go.touch()
    printed = time.monotonic()
    follow(action, str(tmp_path), JOB, STAMP, show)
    assert seen['LINE'] - printed < 1.0
    # the job ran about a second: a handful of polls, not one per 50 ms tick
    assert action.commands <= 8


def test_a_dropped_connection_is_reached_again_and_then_given_up(tmp_path, monkeypatch):
    monkeypatch.setattr(time, 'sleep', lambda s: None)
    launch(tmp_path, ['echo', 'hello'])
    shown = []
    follow(Local(drop=2), str(tmp_path), JOB, STAMP, shown.append)
    assert shown == ['hello']

    class Down(Local):
        def run(self, *a, **k):
            raise AnsibleConnectionFailure('no route')
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(time, 'monotonic', lambda: next(clock))
    with pytest.raises(FollowLost):
        follow(Down(), str(tmp_path), JOB, STAMP, shown.append, reconnect=45)


def test_the_poll_output_is_parsed_whatever_the_chunk_holds():
    out = 'alive=1\nstate=supervisor 5 100\nstate=part build 100\nsize=20\n--offload-chunk--\r\n' \
          'a\n--offload-chunk--\nsize=0\n'
    facts, state, release, chunk = parse_poll(out)
    assert facts == {'alive': '1', 'size': '20'} and release == []
    assert chunk == 'a\n--offload-chunk--\nsize=0\n'
    parsed = parse_state(state)
    assert parsed['pid'] == 5 and parsed['order'] == ['build'] and parsed['rc'] is None
    assert parse_poll('no marker') == (None, [], [], '')


def test_state_lines_give_each_parts_result_and_duration():
    state = parse_state(['supervisor 9 100', 'part build 100', 'part checks 101', 'done checks 103 8 false',
                         'done build 160 2 true', 'bogus', 'done nothing 1 1 false', 'released 161 0', 'end 162 2'])
    assert state['rc'] == 2 and state['released'] == 0 and state['ended'] == 162
    parts = part_results(state)
    assert parts['build'] == {'state': 'failed', 'rc': 2, 'started': 100, 'duration': 60}
    assert parts['checks']['state'] == 'pending' and parts['checks']['duration'] == 2
    assert state['parts']['build']['oom'] is True


def test_only_the_parts_that_need_github_get_the_token():
    spec = {'name': JOB, 'pr': 7, 'action': 'review', 'command': ['offload-entrypoint', '7', 'review']}
    parts = job_parts(spec, custom=False, token='/dev/shm/x/gh_token')
    assert [(p, c, needs) for p, c, _cmd, needs in parts] == [
        ('build', JOB + '-build', False), ('checks', JOB + '-checks', True), ('ai_review', JOB + '-ai_review', True)]
    assert parts[0][2] == ['offload-entrypoint', '7', 'review', 'build']
    # no token: no gh pr checks
    assert [part[0] for part in job_parts(spec, custom=False, token=None)] == ['build', 'ai_review']
    ready = job_parts(dict(spec, action='ready', name='offload-7-ready'), custom=False, token='t')
    assert ready == [('ready', 'offload-7-ready', ['offload-entrypoint', '7', 'ready', 'ready'], False)]
    fix = job_parts(dict(spec, action='fix', name='offload-7-fix'), custom=False, token='t')
    assert fix[0][3] is True
    # a custom command: the job's own container, the token only when asked
    assert job_parts(dict(spec, command=['make']), custom=True, token='t') == [('command', JOB, ['make'], False)]
    assert job_parts(dict(spec, command=['make']), custom=True, token='t', command_token=True)[0][3] is True
    assert job_parts(dict(spec, command=['make']), custom=True, token=None, command_token=True)[0][3] is False


def test_containers_a_run_could_have_left_are_removed_first_and_the_parts_after(tmp_path):
    calls = tmp_path / 'calls'
    docker = tmp_path / 'docker'
    docker.write_text('#!/bin/sh\necho "$*" >>%s\n' % calls)
    docker.chmod(0o755)
    proc = subprocess.run(['sh', '-c', LAUNCH_SCRIPT, 'offload-launch', str(tmp_path), JOB, STAMP, SUPERVISOR_SCRIPT,
                           '30', '1', str(docker), '', '', '1000:1000', '/dev', JOB, 'remove', '',
                           '%s %s-build' % (JOB, JOB), 'build', JOB + '-build', '', '1', 'true'],
                          capture_output=True, text=True, timeout=30, check=False)
    assert 'started=' in proc.stdout, proc.stdout + proc.stderr
    follow(Local(), str(tmp_path), JOB, STAMP, lambda line: None)
    lines = calls.read_text().splitlines()
    assert lines[0] == 'rm -f -v %s %s-build' % (JOB, JOB)
    assert 'container inspect --format {{.State.OOMKilled}} %s-build' % JOB in lines
    assert lines[-1] == 'rm -f -v %s-build' % JOB


# --- the supervisor's masking of the GitHub token (run here with sh and the system's awk) ---

TOKEN = 'github_pat_11UNIT0000000000_' + 'aB3' * 10


def supervise(folder, job, secret, parts, stamp='x'):
    """The supervisor, in the foreground in `folder` (no docker: `true`; no maintainer); parts
    are (name, prefix, argv)."""
    argv = ['sh', '-c', SUPERVISOR_SCRIPT, 'offload-supervisor', stamp, '30', '1', 'true', secret, '', '1000:1000',
            '/dev', 'offload-1-review', 'remove', '', '']
    for name, prefix, command in parts:
        argv += [name, 'c-' + name, prefix, str(len(command))] + command
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(argv, cwd=str(folder), stdout=subprocess.PIPE, text=True)


def run(tmp_path, job, secret='token'):
    """The supervisor with `job` (a shell line) as its one part; returns (its exit code, the stored log)."""
    path = tmp_path / 'gh_token'
    path.write_text(TOKEN)
    folder = tmp_path / 'logs' / 'job'
    proc = supervise(folder, 'job', str(path) if secret == 'token' else secret, [('command', '', ['sh', '-c', job])])
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    return 'rc=' + (folder / 'x.exit').read_text().strip(), (folder / 'x.log').read_text(errors='replace')


def test_every_occurrence_is_masked_and_the_exit_code_comes_through(tmp_path):
    out, log = run(tmp_path, 't=$(cat "%s"); echo "a $t b $t$t"; echo "$t" >&2; printf "last:%%s" "$t"; exit 3'
                   % (tmp_path / 'gh_token'))
    assert TOKEN not in log
    assert log == 'a *** b ******\n***\nlast:***'  # byte for byte, the last line without its newline too
    assert out == 'rc=3'
    assert (tmp_path / 'logs' / 'job' / 'x.exit').read_text() == '3\n'
    assert (tmp_path / 'logs' / 'job' / 'x.command.log').read_text() == log  # the part's own log


def test_every_secret_given_is_masked_the_token_and_the_api_key(tmp_path):
    key = tmp_path / 'gemini_api_key'
    key.write_text('AIzaSyUNIT-key_0123456789abcdefghijklm\n')
    (tmp_path / 'gh_token').write_text(TOKEN)
    out, log = run(tmp_path, 'echo "t=$(cat "%s") k=$(cat "%s")"' % (tmp_path / 'gh_token', key),
                   secret='%s %s' % (tmp_path / 'gh_token', key))
    assert log == 't=*** k=***\n' and out == 'rc=0'


@pytest.mark.parametrize('size', [10, 32767, 40000, 200000])
def test_long_lines_are_kept_whole(tmp_path, size):
    """mawk -W interactive duplicated parts of a last line of 32 KB and more without a newline."""
    _out, log = run(tmp_path, 'head -c %d /dev/zero | tr "\\0" y; echo; head -c %d /dev/zero | tr "\\0" z'
                    % (size, size))
    assert log == 'y' * size + '\n' + 'z' * size


def test_other_output_is_unchanged(tmp_path):
    out, log = run(tmp_path, 'printf "ghp_ github_pat_11UNIT *** \\\\ %% &\\n\\tx\\n"; head -c 100000 /dev/zero | tr "\\0" y')
    assert log.startswith('ghp_ github_pat_11UNIT *** \\ % &\n\tx\n')
    assert log.count('y') == 100000 and out == 'rc=0'


def test_the_log_follows_the_job_line_by_line(tmp_path):
    """The follower and the tests read the log while the job runs (mawk reads a pipe in blocks)."""
    log = tmp_path / 'logs' / 'job' / 'x.log'
    stop = tmp_path / 'stop'
    proc = supervise(log.parent, 'job', '', [('command', '', [
        'sh', '-c', 'echo STARTED; while [ ! -e "%s" ]; do sleep 0.02; done; echo DONE' % stop])])
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
    assert log == 'plain\n' and out == 'rc=0'


def test_the_token_is_never_in_the_runners_arguments():
    """awk reads the file; the script passes only its path."""
    assert 'getline t < f' in SUPERVISOR_SCRIPT and '-v f="$1"' in SUPERVISOR_SCRIPT


def test_several_parts_share_the_log_line_by_line_prefixed_and_each_has_its_own(tmp_path):
    """A review's parts run at once: the job's log has each one's lines whole, prefixed; each
    part's log is its output as it is; the job's exit code is the first part's failure."""
    path = tmp_path / 'gh_token'
    path.write_text(TOKEN)
    folder = tmp_path / 'logs' / 'job'
    proc = supervise(folder, 'job', str(path), [
        ('build', '[build] ', ['sh', '-c', 'echo b1; echo "$(cat "%s")"; printf b2; exit 2' % path]),
        ('checks', '[checks] ', ['sh', '-c', 'echo c1; exit 8']),
        ('ai_review', '[ai_review] ', ['sh', '-c', 'echo a1']),
    ])
    proc.communicate(timeout=60)
    log = (folder / 'x.log').read_text()
    assert sorted(log.splitlines()[:-1]) == sorted(['[build] b1', '[build] ***', '[build] b2', '[checks] c1',
                                                    '[ai_review] a1'])
    assert log.splitlines()[-1] == '==> review: build failed (2), checks pending, ai_review ok'
    assert (folder / 'x.build.log').read_text() == 'b1\n***\nb2'
    assert [(folder / ('x.%s.exit' % p)).read_text() for p in ('build', 'checks', 'ai_review')] == ['2\n', '8\n', '0\n']
    assert (folder / 'x.exit').read_text() == '2\n'
    state = (folder / 'x.state').read_text().splitlines()
    assert state[0].startswith('supervisor ') and state[-1].startswith('end ') and state[-1].endswith(' 2')
    assert sorted(line.split()[1] for line in state if line.startswith('done ')) == ['ai_review', 'build', 'checks']
