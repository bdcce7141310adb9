# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Jobs that outlive the controller: the supervisor on the worker, and following it.

A job runs under a supervisor on the worker host (`scripts/job_supervisor.sh`), started
detached (`setsid`; in a systemd scope of its own as root where systemd runs the host,
out of the SSH session's) by one command through the connection (LAUNCH_SCRIPT) and
independent of it from then on: it enforces the timeout, writes the log, the per-part
logs and exit codes and the state file, releases the worktree and leaves nothing
running. The controller follows a run by polling its log by offset (POLL_SCRIPT):
one round trip a poll, which waits on the worker up to about a second for new output,
so a line shows on the controller about a round trip after the job printed it. Every
run of a job has a stamp (its start time): `<data_root>/logs/<job>/<stamp>.*`.

Whether a run is alive is the supervisor's flock on `<stamp>.state`: held from before
the launch returns until the last part ended. A state without `end` whose lock is
free is a run that died with its supervisor (the worker restarted, it was killed):
lost. Nothing here trusts a file the job could write: the log folder is the worker's
user's only (see _log_dir), and the job writes only through its output.
"""

from __future__ import annotations

import os
import re
import time

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import LOGS
from ansible_collections.gcli.offload.plugins.plugin_utils import _scripts
from ansible_collections.gcli.offload.plugins.plugin_utils._job_parts import part_results
from ansible_collections.gcli.offload.plugins.plugin_utils._log_dir import LOG_DIR_SCRIPT

STAMP = re.compile(r'^[0-9]{8}T[0-9]{6}Z\Z')
CHUNK = '--offload-chunk--'
CHUNK_LINE = re.compile(r'^' + CHUNK + r'\r?\n', re.M)
# At most this much of the log a poll (the rest comes with the next ones).
CHUNK_MAX = 1 << 20

# The fixed scripts (see each file): the supervisor itself, the shell of action=open,
# and the host scripts around them (job_state.sh's job_run reads a job's newest run).
SUPERVISOR_SCRIPT = _scripts.load('job_supervisor.sh')
OPEN_SCRIPT = _scripts.load('job_open.sh')
JOB_STATE = 'job_state.sh'
LAUNCH_SCRIPT = _scripts.load(LOG_DIR_SCRIPT, 'job_launch.sh', LOGS=LOGS)
POLL_TICKS = 20  # a poll waits on the worker up to 20 x 50 ms for output or the end
POLL_SCRIPT = _scripts.load(LOG_DIR_SCRIPT, 'job_poll.sh', CHUNK=CHUNK, CHUNK_MAX=CHUNK_MAX, LOGS=LOGS)
# The launch and the first poll in one command (one round trip less per job: a short job
# starts and ends in it): started=STAMP, then a poll's output (parse_poll).
LAUNCH_POLL_SCRIPT = _scripts.load(LOG_DIR_SCRIPT, 'job_launch.sh', 'job_launch_poll.sh', 'job_poll.sh', CHUNK=CHUNK,
                                   CHUNK_MAX=CHUNK_MAX, LOGS=LOGS, TICKS=POLL_TICKS)
# The container's state and the newest run of one job (git_worktree), every job's (job_info).
STATE_CHECK_SCRIPT = _scripts.load(LOG_DIR_SCRIPT, JOB_STATE, 'job_state_check.sh', LOGS=LOGS)
RUNS_SCRIPT = _scripts.load(LOG_DIR_SCRIPT, JOB_STATE, 'job_runs.sh', LOGS=LOGS)


def parse_state(lines):
    """The supervisor's state lines -> {'pid', 'started', 'parts': {name: {...}}, 'order',
    'released', 'ended', 'rc', 'space_kb'}; a part: started, ended (epochs), rc, oom (None until it ended)."""
    state = {'pid': None, 'started': None, 'parts': {}, 'order': [], 'released': None, 'ended': None, 'rc': None,
             'space_kb': None}
    for line in lines:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == 'supervisor' and len(words) == 3:
                state['pid'], state['started'] = int(words[1]), int(words[2])
            elif words[0] == 'part' and len(words) == 3:
                state['order'].append(words[1])
                state['parts'][words[1]] = {'started': int(words[2]), 'ended': None, 'rc': None, 'oom': None}
            elif words[0] == 'done' and len(words) == 5 and words[1] in state['parts']:
                state['parts'][words[1]].update(ended=int(words[2]), rc=int(words[3]), oom=words[4] == 'true')
            elif words[0] == 'space' and len(words) == 2 and words[1].isdigit():
                state['space_kb'] = int(words[1])
            elif words[0] == 'released' and len(words) == 3:
                state['released'] = int(words[2])
            elif words[0] == 'end' and len(words) == 3:
                state['ended'], state['rc'] = int(words[1]), int(words[2])
        except ValueError:
            continue
    return state


def parse_poll(out):
    """POLL_SCRIPT's output -> (facts, state lines, release lines, chunk text)."""
    found = CHUNK_LINE.search(out)
    if not found:
        return None, [], [], ''
    # the chunk starts after the marker's line end (a pty makes it \r\n)
    head, chunk = out[:found.start()], out[found.end():]
    facts, state, release = {}, [], []
    for line in head.splitlines():
        key, eq, value = line.partition('=')
        if not eq:
            continue
        if key == 'state':
            state.append(value)
        elif key == 'release':
            release.append(value)
        else:
            facts[key] = value.strip()
    return facts, state, release, chunk


def come_back(pr, action):
    """The commands that follow job (pr, action) again: re-attach with offload.yml, or stream its log."""
    return ('re-attach with: ansible-playbook offload.yml -e pr=%s -e action=%s\n'
            'or stream its log: ansible-playbook logs.yml -e pr=%s -e action=%s -e follow=true' % (
                pr, action, pr, action))


def detached_message(job, worker, pr, action):
    """What Ctrl-C while following says (_terminal.detach_on_interrupt)."""
    return ('Detached from job %s on %s: it goes on there (its log, exit status and clean-up on the worker).\n%s'
            % (job, worker, come_back(pr, action)))


class FollowLost(Exception):
    """The worker could not be reached again while following (the job goes on there)."""

    def __init__(self, first, last):
        super().__init__(first)
        self.first, self.last = first, last


def follow(action, data_root, job, stamp, show, offset=0, ticks=POLL_TICKS, reconnect=45, deadline=None, sink=None,
           first=None):
    """Follow run `stamp` of `job` from byte `offset` until it ends or is lost.

    show(line) is called for every complete line of the log as it comes (a pty's
    \\r\\n ends a line like \\n). One worker round trip a poll. A dropped connection
    is reached again for up to `reconnect` seconds (then FollowLost); the controller
    going away (this process's parent gone: ansible-playbook killed) stops following.
    sink (a binary file), when given, gets the log's bytes as they come, unchanged:
    the controller's copy of the log, checked at the end against the worker's
    measure (_log_dir.keep_streamed) instead of fetched again. first: the output
    of a poll already made (the launch's own, see job_launch.sh), used before polling.
    Returns (facts of the last poll, parsed state, release lines, offset reached)."""
    parent = os.getppid()
    pending = ''
    failing_since, first_error = None, None
    while True:
        if os.getppid() != parent:
            raise SystemExit(1)  # the playbook that asked is gone: nothing left to show it to
        if deadline is not None and time.monotonic() > deadline:
            return None, None, [], offset
        if first is not None:
            (rc, out, err), first = first, None
        else:
            try:
                rc, out, err = action.cli.sh(POLL_SCRIPT, 'offload-poll', [data_root, job, stamp, str(offset), str(ticks)],
                                             'follow job %s' % job, check=False)
            except AnsibleConnectionFailure as exc:
                now = time.monotonic()
                if failing_since is None:
                    failing_since, first_error = now, exc
                if now - failing_since > reconnect:
                    raise FollowLost(first_error, exc)
                _reset_connection(action)
                time.sleep(1)
                continue
        failing_since = None
        facts, lines, release, chunk = parse_poll(to_text(out))
        if facts is None:
            reason = out.partition('error=')[2].strip() or (err or out).strip() or 'exit %d' % rc
            raise RuntimeError(reason.splitlines()[0] if reason else 'no answer')
        size = int(facts.get('size', offset)) if facts.get('size', '').isdigit() else offset
        if size > offset:
            if sink is not None:
                sink.write(to_bytes(chunk, errors='surrogate_or_strict'))
            text = pending + chunk.replace('\r\n', '\n')
            *complete, pending = text.split('\n')
            for line in complete:
                show(line)
            offset = size
        alive = facts.get('alive') == '1'
        if not alive:
            total = facts.get('log_size')
            if total is None or not total.isdigit() or offset >= int(total):
                if pending:
                    show(pending)
                return facts, parse_state(lines), release, offset


def _reset_connection(action):
    """Close a connection that dropped, so that the next command opens a new one."""
    try:
        action._connection.reset()
    except Exception:  # pylint: disable=broad-except
        try:
            action._connection.close()
        except Exception:  # pylint: disable=broad-except
            pass


def run_state(out):
    """The run= line of a script that includes job_state.sh's job_run -> (stamp, how, started) or (None, 'none', None)."""
    for line in out.splitlines():
        if line.startswith('run='):
            words = line[4:].split()
            if len(words) >= 2 and STAMP.match(words[0]) and words[1] in ('running', 'ended', 'lost'):
                started = int(words[2]) if len(words) > 2 and words[2].isdigit() else None
                return words[0], words[1], started
    return None, 'none', None


def parse_runs(out):
    """RUNS_SCRIPT's output -> ({job: {'run', 'state' (running, ended, lost), 'rc', 'parts'}}, now)."""
    runs, now, current, lines = {}, None, None, []

    def close():
        if current is not None:
            stamp, how, _started = run_state(current[1])
            state = parse_state(lines)
            state['lost'] = how == 'lost'
            parts = part_results(state, now)
            runs[current[0]] = {'run': stamp, 'state': how, 'rc': state['rc'], 'started': state['started'],
                                'ended': state['ended'], 'parts': parts}
    for line in out.splitlines():
        key, eq, value = line.partition('=')
        if not eq:
            continue
        if key == 'now' and value.strip().isdigit():
            now = int(value)
        elif key == 'job':
            close()
            current, lines = (value.strip(), ''), []
        elif key == 'run' and current is not None:
            current = (current[0], line)
        elif key == 'state' and current is not None:
            lines.append(value)
    close()
    return runs, now
