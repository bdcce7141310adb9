# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a job container on the worker to completion and bring its log back."""

from __future__ import annotations

import os
import time

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    MAX_LINES,
    MAX_TIMEOUT,
    disk_full_message,
    exit_reason,
    job_run_argv,
    job_spec,
    validate_env,
    validate_worker_path,
)
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WorkerAction, WorkerCommandError

# Runs on the worker host: a fixed script, inputs are positional parameters.
# `timeout` sends TERM (proxied by `docker run` to the container's init), then
# KILL to the client after the grace; the caller removes a container left over.
# A non-zero exit may leave the container (a killed client): the script removes
# it before it reports, so a reported rc means nothing is left. A zero exit means
# `docker run --rm` saw the container removed.
RUN_SCRIPT = r'''
log=$1 seconds=$2 grace=$3 name=$4 docker=$5
shift 5
mkdir -p "$(dirname "$log")"
timeout -k "$grace" "$seconds" "$@" >"$log" 2>&1 </dev/null
rc=$?
echo "$rc" >"${log%.log}.exit"
[ "$rc" = 0 ] || "$docker" rm -f "$name" >/dev/null 2>&1 || true
df -Pk "$(dirname "$log")" 2>/dev/null | { read -r _; read -r _ _ _ avail _; echo "avail_kb=$avail"; }
echo "rc=$rc"
'''
# Before a run, one round trip: the job container's state, and whether the
# token file exists ($3 empty: none configured).
PRECHECK_SCRIPT = r'''
"$1" container inspect --format 'status:{{.State.Status}}' "$2" 2>&1
echo "inspect=$?"
[ -z "$3" ] || { if test -f "$3"; then echo token=1; else echo token=0; fi; }
'''
KILL_GRACE = 10
TIMEOUT_CODES = (124, 137)
# Killed from outside before its timeout: SIGKILL, SIGTERM.
KILLED_CODES = (137, 143)
KILLED_HINT = (' from outside (docker kill or stop, the out-of-memory killer, the worker going down); '
               're-run it with offload.yml')


def _first_line(exc):
    return (str(exc).strip().splitlines() or ['no detail'])[0]


def tail(text, lines):
    return '\n'.join(text.splitlines()[-lines:])


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        'pr': {'type': 'raw', 'required': True},
        'action': {'type': 'raw', 'default': 'review'},
        'data_root': {'type': 'str', 'required': True},
        'image': {'type': 'str', 'required': True},
        # raw: job_spec refuses a string (a list would split it at commas)
        'command': {'type': 'raw'},
        'timeout': {'type': 'int', 'default': 3600},
        'gemini_dir': {'type': 'str'},
        'env': {'type': 'dict', 'default': {}},
        'log_dest': {'type': 'path', 'default': '~/.cache/gcli-offload/logs'},
        'tail_lines': {'type': 'int', 'default': 40},
        'gh_token_file': {'type': 'str'},
    }
    RANGES = {'timeout': (1, MAX_TIMEOUT, 'seconds'), 'tail_lines': (0, MAX_LINES, 'lines')}

    def act(self, args, task_vars):
        docker = args['docker_bin']
        spec = job_spec(args['pr'], args['action'], args['data_root'], args['image'],
                        command=args['command'], timeout=args['timeout'], gemini_dir=args['gemini_dir'])
        args['env'] = validate_env(args['env'])
        name = spec['name']
        worker = self._worker_name(task_vars)
        state, token = self._precheck(name, docker, args['gh_token_file'])
        if state == 'running':
            raise AnsibleActionFail('job %s is already running on %s' % (name, worker))
        if self._task.check_mode:
            return {'changed': True, 'job': name, 'argv': job_run_argv(spec, docker, args['env'], token),
                    'msg': 'job %s would run on %s (check mode)' % (name, worker)}
        if state is not None:  # a stopped leftover (no --rm run, or a crash)
            self.docker(['rm', '-f', name], 'remove the stale container %s' % name, docker)

        stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
        worker_log = '%s/%s.log' % (spec['log_dir'], stamp)
        argv = job_run_argv(spec, docker, args['env'], token)
        started = time.monotonic()
        out = ''
        lost = None
        try:
            rc, out, err = self.worker_run(
                ['sh', '-c', RUN_SCRIPT, 'offload-job', worker_log, str(spec['timeout']), str(KILL_GRACE),
                 name, docker] + argv,
                'run job %s' % name, check=False)
        except AnsibleConnectionFailure as exc:
            # The connection dropped under the job. The runner dies with its session
            # (its terminal hangs up); reach the worker again and make sure the job
            # container went too, so nothing runs without an owner.
            lost = exc
            self._remove_after_lost_connection(name, docker, worker, exc, worker_log, args['pr'])
        finally:
            # Whatever happened to the client, no job container outlives this task
            # (the runner removes it itself before it reports an exit code).
            if lost is None and not self._reported(out) and self.container_state(name, docker) is not None:
                self.docker(['rm', '-f', name], 'remove the job container %s' % name, docker, check=False)
        duration = round(time.monotonic() - started, 3)
        job_rc = None if lost else self._job_rc(out, rc)
        timed_out = job_rc in TIMEOUT_CODES and duration >= spec['timeout']

        local_log = os.path.join(os.path.expanduser(args['log_dest']), worker, name, stamp + '.log')
        os.makedirs(os.path.dirname(local_log), mode=0o700, exist_ok=True)
        self._connection.fetch_file(worker_log, local_log)
        with open(local_log, 'rb') as f:
            log_text = to_text(f.read(), errors='surrogate_or_replace')
        last = tail(log_text, args['tail_lines'])

        result = {
            'changed': True,
            'job': name,
            'rc': job_rc,
            'timed_out': timed_out,
            'duration': duration,
            'log': local_log,
            'worker_log': worker_log,
            'log_tail': last.splitlines(),
            'github_token': bool(token),
        }
        if lost:
            result.update(failed=True, connection_lost=True, msg=(
                'lost the connection to %s while job %s ran (%s): the job stopped with it and its container was '
                'removed; re-run offload.yml. Log so far: %s\n--- last lines ---\n%s' % (
                    worker, name, _first_line(lost), local_log, last)))
        elif timed_out:
            result.update(failed=True, msg='job %s on %s timed out after %ds and was killed; log: %s\n%s' % (
                name, worker, spec['timeout'], local_log, last))
        elif job_rc != 0 and self._disk_full(out):
            result.update(failed=True, msg='job %s on %s %s, and %s. Log (maybe cut short): %s\n%s%s' % (
                name, worker, exit_reason(job_rc),
                disk_full_message(worker, spec['data_root'], 'the job ran'), local_log, '--- last lines ---\n', last))
        elif job_rc != 0:
            hint = KILLED_HINT if job_rc in KILLED_CODES else ''
            result.update(failed=True, msg='job %s on %s %s%s; log: %s\n--- last lines ---\n%s' % (
                name, worker, exit_reason(job_rc), hint, local_log, last))
        else:
            result['msg'] = 'job %s on %s succeeded; log: %s' % (name, worker, local_log)
        return result

    def _precheck(self, name, docker, token_path):
        """In one round trip: the job container's state (see container_state) and the
        token file to mount, when one is configured and the worker has it."""
        if token_path:
            token_path = validate_worker_path(token_path, 'gh_token_file')
        rc, out, err = self.worker_run(['sh', '-c', PRECHECK_SCRIPT, 'offload-precheck', docker, name,
                                        token_path or ''], 'inspect container %s' % name, check=False)
        facts = {}
        for line in out.splitlines():
            key, sep, value = line.partition('=')
            if sep and key in ('inspect', 'token'):
                facts[key] = value
        if 'inspect' not in facts:
            raise WorkerCommandError('inspect container %s' % name, [], rc, out, err)
        status = ''.join(line for line in out.splitlines() if line.startswith('status:'))[7:].strip()
        if facts['inspect'] != '0':
            if 'no such' not in (out + err).lower():
                raise WorkerCommandError('inspect container %s' % name, [], int(facts['inspect']), out, err)
            status = None
        return status or None, token_path if facts.get('token') == '1' else None

    def _remove_after_lost_connection(self, name, docker, worker, exc, worker_log, pr):
        """After the connection dropped mid-job: through a new connection, remove the job
        container if it is still there. When the worker cannot be reached, say what is
        left and what to do (the task is then unreachable)."""
        try:
            if self.container_state(name, docker) is not None:
                self.docker(['rm', '-f', name], 'remove the job container %s' % name, docker, check=False)
        except (AnsibleConnectionFailure, WorkerCommandError) as again:
            raise AnsibleConnectionFailure(
                'lost the connection to %s while job %s ran (%s), and cannot reach it again (%s). The job stops '
                'with its session; once the worker answers, re-run offload.yml (it takes over the worktree after '
                'offload_lock_grace) or run clean.yml -e pr=%s; the log so far stays on the worker: %s' % (
                    worker, name, _first_line(exc), _first_line(again), pr, worker_log))

    @staticmethod
    def _disk_full(out):
        """The runner reports the space left on the log's disk after the job: none left?"""
        for line in out.splitlines():
            if line.startswith('avail_kb='):
                return line[len('avail_kb='):].strip() == '0'
        return False

    @staticmethod
    def _reported(out):
        return any(line.startswith('rc=') for line in out.splitlines())

    @staticmethod
    def _job_rc(out, rc):
        for line in out.splitlines():
            if line.startswith('rc='):
                return int(line[3:])
        raise AnsibleActionFail('the job runner on the worker ended without a result (exit %d): %s' % (rc, out.strip()))
