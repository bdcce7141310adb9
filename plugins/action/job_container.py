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
    fork_failed,
    human_size,
    job_run_argv,
    job_spec,
    validate_env,
    validate_host_dir,
    worker_limits,
)
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import LOGS
from ansible_collections.gcli.offload.plugins.plugin_utils import _kv, _scripts
from ansible_collections.gcli.offload.plugins.plugin_utils._checks import check_log_dest
from ansible_collections.gcli.offload.plugins.plugin_utils._job_network import NETWORK_SCRIPT, network_params
from ansible_collections.gcli.offload.plugins.plugin_utils._log_dir import LOG_DIR_SCRIPT, fetch_log
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import JOB_ARGUMENT_SPEC, WorkerAction, WorkerCommandError

# Fixed scripts, inputs positional: see each file. The runner enters the log folder
# and creates the log and exit files as _log_dir says (never through a link, never
# over an existing name); the precheck makes the job network too (network.sh).
RUN_SCRIPT = _scripts.load(LOG_DIR_SCRIPT, 'job_run.sh', LOGS=LOGS)
PRECHECK_SCRIPT = _scripts.load('job_precheck.sh') + NETWORK_SCRIPT
KILL_GRACE = 10
TIMEOUT_CODES = (124, 137)
# Killed from outside before its timeout: SIGKILL, SIGTERM.
KILLED_CODES = (137, 143)
KILLED_HINT = (' from outside (docker kill or stop, the worker going down); '
               're-run it with offload.yml')


def _first_line(exc):
    return (str(exc).strip().splitlines() or ['no detail'])[0]


def tail(text, lines):
    """The last `lines` lines of text (none for 0: a slice [-0:] would be all of them)."""
    return '\n'.join(text.splitlines()[-lines:]) if lines > 0 else ''


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        **JOB_ARGUMENT_SPEC,
        'image': {'type': 'str', 'required': True},
        # raw: job_spec refuses a string (a list would split it at commas)
        'command': {'type': 'raw'},
        'timeout': {'type': 'int', 'default': 3600},
        'gemini_dir': {'type': 'str'},
        'env': {'type': 'dict', 'default': {}},
        'log_dest': {'type': 'path', 'default': '~/.cache/gcli-offload/logs'},
        'tail_lines': {'type': 'int', 'default': 40},
        'gh_token_file': {'type': 'str'},
        # raw: checked by job_spec (auto, sizes with units, decimals)
        'memory': {'type': 'raw', 'default': 'auto'},
        'cpus': {'type': 'raw', 'default': 'auto'},
        'pids': {'type': 'raw', 'default': 'auto'},
        'disk_reserve': {'type': 'raw', 'default': 'auto'},
        'egress': {'type': 'raw', 'default': 'open'},
        'egress_allow': {'type': 'raw'},
    }
    RANGES = {'timeout': (1, MAX_TIMEOUT, 'seconds'), 'tail_lines': (0, MAX_LINES, 'lines')}

    def act(self, args, task_vars):
        spec = job_spec(args['pr'], args['action'], args['data_root'], args['image'],
                        command=args['command'], timeout=args['timeout'], gemini_dir=args['gemini_dir'],
                        memory=args['memory'], cpus=args['cpus'], pids=args['pids'],
                        disk_reserve=args['disk_reserve'], egress=args['egress'], egress_allow=args['egress_allow'])
        args['env'] = validate_env(args['env'])
        args['log_dest'] = check_log_dest(args['log_dest'], 'log_dest')
        name = spec['name']
        worker = self._worker_name(task_vars)
        state, token, facts, warnings = self._precheck(name, args['gh_token_file'], spec['data_root'],
                                                       spec['gemini_dir'],
                                                       network_params(spec['egress'], spec['image'],
                                                                      self._task.check_mode))
        if state == 'running':
            raise AnsibleActionFail('job %s is already running on %s' % (name, worker))
        if facts['net'] not in ('ok', 'skip'):
            raise AnsibleActionFail(
                'job %s not started: could not set up the job network (offload_job_egress=%s) on %s: %s. The '
                'network script runs as root (become on a remote worker) and needs iptables with Docker\'s '
                'DOCKER-USER chain' % (name, spec['egress']['mode'], worker, facts['net'][len('fail '):] or 'no answer'))
        limits = self._limits(spec, facts, worker)
        argv = job_run_argv(spec, self.cli.docker_bin, args['env'], token, limits)
        if self._task.check_mode:
            return {'changed': True, 'job': name, 'argv': argv, 'limits': limits,
                    'msg': 'job %s would run on %s (check mode)' % (name, worker), 'warnings': warnings}
        if state is not None:  # a stopped leftover (a runner that died before removing it)
            self.cli.docker(['rm', '-f', name], 'remove the stale container %s' % name)

        stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
        worker_log = '%s/%s.log' % (spec['log_dir'], stamp)
        started = time.monotonic()
        out = ''
        lost = None
        try:
            rc, out, err = self.cli.sh(
                RUN_SCRIPT, 'offload-job',
                [worker_log, str(spec['timeout']), str(KILL_GRACE), name, self.cli.docker_bin, token or ''] + argv,
                'run job %s' % name, check=False)
        except AnsibleConnectionFailure as exc:
            # The connection dropped under the job. The runner dies with its session
            # (its terminal hangs up); reach the worker again and make sure the job
            # container went too, so nothing runs without an owner.
            lost = exc
            self._remove_after_lost_connection(name, worker, exc, worker_log, args['pr'])
        finally:
            # Whatever happened to the client, no job container outlives this task
            # (the runner removes it itself before it reports an exit code).
            if lost is None and 'rc' not in _kv.parse(out) and self.cli.container_state(name) is not None:
                self.cli.docker(['rm', '-f', name], 'remove the job container %s' % name, check=False)
        duration = round(time.monotonic() - started, 3)
        report = _kv.parse(out)
        job_rc = None if lost else self._job_rc(report, rc)
        timed_out = job_rc in TIMEOUT_CODES and duration >= spec['timeout']

        local_log = os.path.join(os.path.expanduser(args['log_dest']), worker, name, stamp + '.log')
        if lost:
            # no measure of the log from the runner: logs.yml fetches it once the worker answers
            local_log, log_text = worker_log + ' (on the worker: logs.yml -e pr=%s brings it)' % args['pr'], ''
        else:
            fetch_log(self, worker_log, local_log, out, worker)
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
            'limits': limits,
        }
        if warnings:
            result['warnings'] = warnings
        if lost:
            result.update(failed=True, connection_lost=True, msg=(
                'lost the connection to %s while job %s ran (%s): the job stopped with it and its container was '
                'removed; re-run offload.yml. Log so far: %s\n--- last lines ---\n%s' % (
                    worker, name, _first_line(lost), local_log, last)))
        elif timed_out:
            result.update(failed=True, msg='job %s on %s timed out after %ds and was killed; log: %s\n%s' % (
                name, worker, spec['timeout'], local_log, last))
        elif job_rc != 0 and report.get('oom', '').strip() == 'true':
            result.update(oom_killed=True, failed=True, msg=(
                'job %s on %s was killed by the out-of-memory killer: it reached its memory limit of %s '
                '(offload_job_memory; %s has %s). Raise offload_job_memory or make the job use less; log: %s\n'
                '--- last lines ---\n%s' % (
                    name, worker, human_size(limits['memory']), worker, human_size(facts['memory']), local_log,
                    last)))
        elif job_rc != 0 and fork_failed(log_text):
            result.update(failed=True, msg=(
                'job %s on %s %s, and its log shows processes or threads it could not create (Resource temporarily '
                'unavailable): it most likely reached its limit of %d processes and threads (offload_job_pids). '
                'Raise offload_job_pids, or look for a process leak or a fork loop; log: %s\n--- last lines ---\n%s'
                % (name, worker, exit_reason(job_rc), limits['pids'], local_log, last)))
        elif job_rc != 0 and report.get('avail_kb', '').strip() == '0':
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

    def _precheck(self, name, token_path, data_root, gemini_dir, network):
        """In one round trip: the job container's state (see container_state), the
        token file to mount, when one is configured and the worker has it, the
        worker's facts for the limits: cpus, memory (bytes), and the data root's
        file system's disk_size and disk_free (bytes; None when df could not tell);
        then warnings. The host paths the job mounts (the token file, the data root,
        the gemini dir) are checked where the worker resolves them. And, made as
        `network` (NETWORK_SCRIPT's parameters) asks, the job network: net is ok,
        skip (none needed), or fail <why>."""
        host_dirs = [data_root, gemini_dir]
        if token_path:
            token_path = validate_host_dir(token_path, 'gh_token_file', secrets=True)
        rc, out, err = self.cli.sh(PRECHECK_SCRIPT, 'offload-precheck',
                                   [self.cli.docker_bin, name, token_path or ''] + host_dirs + network,
                                   'inspect container %s' % name, check=False)
        facts = _kv.parse(out)
        real = facts.all('real')
        if 'inspect' in facts:
            given = ([(token_path, 'gh_token_file', True)] if token_path else []) + list(
                zip(host_dirs, ('offload_data_root', 'offload_gemini_dir'), (False, False)))
            for (path, variable, secrets), resolved in zip(given, real):
                validate_host_dir(path, variable, secrets=secrets, resolved=resolved or None)
        if 'inspect' not in facts:
            raise WorkerCommandError('inspect container %s' % name, [], rc, out, err)
        status = ''.join(line for line in out.splitlines() if line.startswith('status:'))[7:].strip()
        if facts['inspect'] != '0':
            if 'no such' not in (out + err).lower():
                raise WorkerCommandError('inspect container %s' % name, [], int(facts['inspect']), out, err)
            status = None
        try:
            worker = {'cpus': int(facts['cpus']), 'memory': int(facts['mem_kb']) * 1024}
        except (KeyError, ValueError):
            raise WorkerCommandError('read the CPUs and memory of the worker (nproc, /proc/meminfo)', [], rc, out, err)
        disk = facts.get('disk_kb', '').split()
        known = len(disk) == 2 and all(d.isdigit() for d in disk)
        worker['disk_size'], worker['disk_free'] = (int(disk[0]) * 1024, int(disk[1]) * 1024) if known else (None, None)
        worker['net'] = facts.get('net', '')
        warnings = []
        if facts.get('token') == 'unreadable':
            # The job would get a token that the runner could not mask in its log.
            warnings.append(
                'the GitHub token file %s is not readable by the user running the job on the worker, so its value '
                'could not be masked in the log: the job runs without it (run as root or with become, as on a COS '
                'worker)' % token_path)
        return status or None, token_path if facts.get('token') == '1' else None, worker, warnings

    @staticmethod
    def _limits(spec, facts, worker):
        """The job's limits on this worker (the defaults derived from it), after the
        disk reserve check: a job does not start on a data disk that is nearly full,
        where it would fail half-way and take the space other jobs need."""
        limits = worker_limits(spec['limits'], worker, facts['cpus'], facts['memory'], facts['disk_size'])
        free = facts['disk_free']
        if free is not None and free < limits['disk_reserve']:
            raise AnsibleActionFail(
                'job %s not started: the data disk of %s has %s free at %s, less than the %s that '
                'offload_job_disk_reserve keeps free for the other jobs and the logs. Free space there (clean.yml '
                '-e all=true removes the worktrees of jobs that are not running; old logs are under %s/logs), or '
                'lower offload_job_disk_reserve' % (
                    spec['name'], worker, human_size(free), spec['data_root'], human_size(limits['disk_reserve']),
                    spec['data_root']))
        return limits

    def _remove_after_lost_connection(self, name, worker, exc, worker_log, pr):
        """After the connection dropped mid-job: through a new connection, remove the job
        container if it is still there. When the worker cannot be reached, say what is
        left and what to do (the task is then unreachable)."""
        try:
            if self.cli.container_state(name) is not None:
                self.cli.docker(['rm', '-f', name], 'remove the job container %s' % name, check=False)
        except (AnsibleConnectionFailure, WorkerCommandError) as again:
            raise AnsibleConnectionFailure(
                'lost the connection to %s while job %s ran (%s), and cannot reach it again (%s). The job stops '
                'with its session; once the worker answers, re-run offload.yml (it takes over the worktree after '
                'offload_lock_grace) or run clean.yml -e pr=%s; the log so far stays on the worker: %s' % (
                    worker, name, _first_line(exc), _first_line(again), pr, worker_log))

    @staticmethod
    def _job_rc(report, rc):
        if 'rc' in report:
            return int(report.all('rc')[0])
        raise AnsibleActionFail('the job runner on the worker ended without a result (exit %d): %s'
                                % (rc, report.text.strip()))
