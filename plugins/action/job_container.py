# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a job on the worker under its supervisor, follow it to its end and bring its log back."""

from __future__ import annotations

import os
import tempfile
import time

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.utils.display import Display

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    DEV,
    JOB_USER,
    MAX_LINES,
    MAX_TIMEOUT,
    disk_full_message,
    exit_reason,
    fork_failed,
    human_size,
    job_run_argv,
    job_spec,
    validate_container_name,
    validate_env,
    validate_host_dir,
    worker_limits,
)
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import LOGS
from ansible_collections.gcli.offload.plugins.plugin_utils import _kv, _scripts
from ansible_collections.gcli.offload.plugins.plugin_utils._checks import check_log_dest
from ansible_collections.gcli.offload.plugins.plugin_utils._docker_cli import GIT_SCRIPT
from ansible_collections.gcli.offload.plugins.plugin_utils._job_network import NETWORK_SCRIPT, network_params
from ansible_collections.gcli.offload.plugins.plugin_utils._job_parts import (
    AGENT_PARTS,
    job_parts,
    part_results,
    stale_containers,
)
from ansible_collections.gcli.offload.plugins.plugin_utils._log_dir import LOG_DIR_SCRIPT, fetch_log, keep_streamed
from ansible_collections.gcli.offload.plugins.plugin_utils._supervisor import (
    CHUNK_LINE,
    JOB_STATE,
    LAUNCH_POLL_SCRIPT,
    LAUNCH_SCRIPT,
    OPEN_SCRIPT,
    SUPERVISOR_SCRIPT,
    FollowLost,
    come_back,
    detached_message,
    follow,
    run_state,
)
from ansible_collections.gcli.offload.plugins.plugin_utils._terminal import detach_on_interrupt, terminal_argv
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import (
    JOB_ARGUMENT_SPEC,
    MAINTAINER_ARGUMENT_SPEC,
    WorkerAction,
    WorkerCommandError,
)

display = Display()

# Fixed scripts, inputs positional: see each file. The precheck makes the job network
# too (network.sh), and reads the job's newest run (job_state.sh).
PRECHECK_SCRIPT = _scripts.load(LOG_DIR_SCRIPT, JOB_STATE, 'job_precheck.sh', LOGS=LOGS) + NETWORK_SCRIPT
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
        'gemini_key_file': {'type': 'str'},
        # raw: checked by job_spec (auto, sizes with units, decimals)
        'memory': {'type': 'raw', 'default': 'auto'},
        'cpus': {'type': 'raw', 'default': 'auto'},
        'pids': {'type': 'raw', 'default': 'auto'},
        'disk_reserve': {'type': 'raw', 'default': 'auto'},
        'egress': {'type': 'raw', 'default': 'open'},
        'egress_allow': {'type': 'raw'},
        # the supervisor releases the worktree with the git script in the maintainer container
        **MAINTAINER_ARGUMENT_SPEC,
        'keep_worktree': {'type': 'bool', 'default': False},
        'start_head': {'type': 'str'},
        'detach': {'type': 'bool', 'default': False},
        # a custom command gets the GitHub token only when asked
        'command_token': {'type': 'bool', 'default': False},
    }
    RANGES = {'timeout': (1, MAX_TIMEOUT, 'seconds'), 'tail_lines': (0, MAX_LINES, 'lines')}

    def act(self, args, task_vars):
        docker = self.cli.docker_bin
        spec = job_spec(args['pr'], args['action'], args['data_root'], args['image'],
                        command=args['command'], timeout=args['timeout'], gemini_dir=args['gemini_dir'],
                        memory=args['memory'], cpus=args['cpus'], pids=args['pids'],
                        disk_reserve=args['disk_reserve'], egress=args['egress'], egress_allow=args['egress_allow'])
        args['env'] = validate_env(args['env'])
        args['log_dest'] = check_log_dest(args['log_dest'], 'log_dest')
        maintainer = validate_container_name(args['maintainer'], 'maintainer') if args['maintainer'] else ''
        name = spec['name']
        worker = self._worker_name(task_vars)
        state, token, facts, warnings = self._precheck(name, args['gh_token_file'], spec['data_root'],
                                                       spec['gemini_dir'],
                                                       network_params(spec['egress'], spec['image'],
                                                                      self._task.check_mode),
                                                       key_path=args['gemini_key_file'])
        key = facts['key']
        stamp, how, _started = facts['run']
        if how == 'running' and not self._task.check_mode:
            # the same job runs: attach to it (what it printed so far, then what comes)
            display.display('job %s already runs on %s (since %s): attaching to it (Ctrl-C detaches)' % (
                name, worker, stamp))
            result = self._follow(args, spec, worker, stamp, task_vars, attached=True)
            return result
        if state == 'running':
            raise AnsibleActionFail(
                'job %s is already running on %s without a supervisor (a container of that name, e.g. an open '
                'shell): wait for it, or stop it with clean.yml -e pr=%s -e force=true' % (name, worker, args['pr']))
        if facts['net'] not in ('ok', 'skip'):
            raise AnsibleActionFail(
                'job %s not started: could not set up the job network (offload_job_egress=%s) on %s: %s. The '
                'network script runs as root (become on a remote worker) and needs iptables with Docker\'s '
                'DOCKER-USER chain' % (name, spec['egress']['mode'], worker, facts['net'][len('fail '):] or 'no answer'))
        limits = self._limits(spec, facts, worker)
        if spec['action'] == 'open':
            return self._open(args, spec, docker, maintainer, limits, warnings)
        # the role passes the command job_spec resolved: the entrypoint's own is no custom command
        custom = bool(args['command']) and spec['command'] != ['offload-entrypoint', str(spec['pr']), spec['action']]
        parts = job_parts(spec, custom=custom, token=token, command_token=args['command_token'])
        # the model's API key: the agent's parts of the entrypoint only, never a custom command
        runs = [(part, container, job_run_argv(spec, docker, args['env'], token if needs else None, limits,
                                               part=part, container=container, command=command,
                                               gemini_key_file=key if part in AGENT_PARTS else None))
                for part, container, command, needs in parts]
        argv = runs[0][2]
        if self._task.check_mode:
            return {'changed': True, 'job': name, 'argv': argv, 'parts': {p: a for p, _c, a in runs},
                    'limits': limits, 'msg': 'job %s would run on %s (check mode)' % (name, worker),
                    'warnings': warnings}

        stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
        # the supervisor masks every secret file it is given in the job's log
        secrets = ' '.join(path for path in (token, key) if path)
        params = [str(spec['timeout']), str(KILL_GRACE), docker, secrets, maintainer, JOB_USER, DEV, name,
                  'release' if args['keep_worktree'] else 'remove', GIT_SCRIPT, ' '.join(stale_containers(spec))]
        prefix = len(runs) > 1
        for part, container, part_argv in runs:
            params += [part, container, '[%s] ' % part if prefix else '', str(len(part_argv))] + part_argv
        # followed: the first poll comes in the launch's own command
        script = LAUNCH_SCRIPT if args['detach'] else LAUNCH_POLL_SCRIPT
        try:
            rc, out, err = self.cli.sh(script, 'offload-launch', [spec['data_root'], name, stamp, SUPERVISOR_SCRIPT]
                                       + params, 'start job %s' % name, check=False)
        except AnsibleConnectionFailure:
            if args['detach']:
                raise
            # the connection dropped under the launch's command (its first poll waits on the
            # worker): the job may well run; following it reaches the worker again, or says so
            rc, out, err = None, None, None
        # what the launch said, not the job: the log's bytes come after the chunk line
        head = _kv.parse(CHUNK_LINE.split(out, maxsplit=1)[0]) if out is not None else {'started': stamp}
        if head.get('started') != stamp:
            reason = (head.get('error') or '').strip() or (err or out).strip() or 'exit %d' % rc
            raise AnsibleActionFail('could not start job %s on %s: %s' % (name, worker, reason))
        if args['detach']:
            return {'changed': True, 'job': name, 'supervised': True, 'detached': True, 'stamp': stamp,
                    'worker_log': '%s/%s.log' % (spec['log_dir'], stamp), 'github_token': bool(token),
                    'gemini_api_key': bool(key),
                    'limits': limits, 'parts': [p for p, _c, _a in runs], 'warnings': warnings,
                    'msg': 'job %s started on %s and runs on without this playbook. %s' % (
                        name, worker, self._come_back(args))}
        display.display('job %s started on %s; following it (Ctrl-C detaches, the job goes on)' % (name, worker))
        result = self._follow(args, spec, worker, stamp, task_vars, attached=False, limits=limits, facts=facts,
                              first=(rc, out, err) if out is not None else None)
        result['github_token'] = bool(token)
        result['gemini_api_key'] = bool(key)
        if warnings:
            result.setdefault('warnings', []).extend(warnings)
        return result

    def _open(self, args, spec, docker, maintainer, limits, warnings):
        """action=open: the command that opens a shell in a job container on the worktree, with the
        job's mounts and sandbox (no token), and releases the worktree when the shell ends.
        Ansible cannot hand a terminal over: bin/offload-open runs it."""
        shell = ['sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi']
        run = job_run_argv(spec, docker, args['env'], None, limits, part='open', command=shell)
        run[2:2] = ['--interactive', '--tty']
        inner = ['sh', '-c', OPEN_SCRIPT, 'offload-open', docker, maintainer, JOB_USER, DEV, spec['name'],
                 'release' if args['keep_worktree'] else 'remove', GIT_SCRIPT, spec['name']] + run
        argv = terminal_argv(self, inner, 'open')
        result = {'changed': False, 'job': spec['name'], 'open': True, 'argv': argv, 'limits': limits,
                  'container': spec['name'],
                  'msg': 'the worktree of %s is ready and held; open the shell with bin/offload-open %s (it runs the '
                         'command in `argv`, which releases the worktree when the shell ends)' % (
                             spec['name'], args['pr'])}
        if warnings:
            result['warnings'] = warnings
        return result

    @staticmethod
    def _come_back(args):
        return come_back(args['pr'], args['action'] or 'review').replace('\n', '; ')

    def _follow(self, args, spec, worker, stamp, task_vars, attached, limits=None, facts=None, first=None):
        """Follow run `stamp` to its end (or its loss); the result as the task reports it."""
        name = spec['name']
        worker_log = '%s/%s.log' % (spec['log_dir'], stamp)
        base = {'changed': True, 'job': name, 'supervised': True, 'attached': attached, 'stamp': stamp,
                'worker_log': worker_log, 'limits': limits}
        local_log = os.path.join(os.path.expanduser(args['log_dest']), worker, name, stamp + '.log')
        os.makedirs(os.path.dirname(local_log), mode=0o700, exist_ok=True)
        # one file per follower: several controllers may follow the same run
        handle, streamed = tempfile.mkstemp(prefix=stamp + '.', suffix='.part', dir=os.path.dirname(local_log))
        try:
            # the polls bring the whole log (from byte 0): kept, once checked, instead of fetched again
            with os.fdopen(handle, 'wb') as sink, \
                    detach_on_interrupt(detached_message(name, worker, args['pr'], spec['action'])):
                end, state, release, _offset = follow(self, spec['data_root'], name, stamp, display.display,
                                                      sink=sink, first=first)
        except FollowLost as exc:
            os.unlink(streamed)
            base.update(failed=True, connection_lost=True, log=worker_log, rc=None, msg=(
                'lost the connection to %s while following job %s (%s), and cannot reach it again (%s). The job '
                'goes on on the worker, with its log, exit status and clean-up; once the worker answers, %s; or '
                'clean.yml -e pr=%s; the log so far is on the worker: %s' % (
                    worker, name, _first_line(exc.first), _first_line(exc.last), self._come_back(args),
                    args['pr'], worker_log)))
            return base
        except RuntimeError as exc:
            os.unlink(streamed)
            raise AnsibleActionFail('cannot follow job %s on %s: %s' % (name, worker, exc))
        measure = ''.join('%s=%s\n' % kv for kv in end.items())
        if not keep_streamed(streamed, local_log, measure):
            fetch_log(self, worker_log, local_log, measure, worker)
        with open(local_log, 'rb') as f:
            log_text = to_text(f.read(), errors='surrogate_or_replace')
        last = tail(log_text, args['tail_lines'])
        job_rc = state['rc']
        duration = (state['ended'] or int(time.time())) - (state['started'] or int(time.time()))
        timed_out = job_rc in TIMEOUT_CODES and duration >= spec['timeout']
        oom = any(p.get('oom') for p in state['parts'].values())
        base.update({
            'rc': job_rc,
            'timed_out': timed_out,
            'duration': duration,
            'log': local_log,
            'log_tail': last.splitlines(),
            'parts': part_results(state),
        })
        base.update(self._released(args, _kv.parse('\n'.join(release)), state, name))
        if job_rc is None:
            base.update(failed=True, lost=True, msg=(
                'job %s on %s was lost: its supervisor on the worker is gone without an end (the worker restarted, '
                'or it was killed); a re-run starts it anew. Partial log: %s\n--- last lines ---\n%s' % (
                    name, worker, local_log, last)))
        elif timed_out:
            base.update(failed=True, msg='job %s on %s timed out after %ds and was killed; log: %s\n%s' % (
                name, worker, spec['timeout'], local_log, last))
        elif job_rc != 0 and oom and limits:
            base.update(oom_killed=True, failed=True, msg=(
                'job %s on %s was killed by the out-of-memory killer: it reached its memory limit of %s '
                '(offload_job_memory; %s has %s). Raise offload_job_memory or make the job use less; log: %s\n'
                '--- last lines ---\n%s' % (
                    name, worker, human_size(limits['memory']), worker, human_size(facts['memory']), local_log,
                    last)))
        elif job_rc != 0 and fork_failed(log_text) and limits:
            base.update(failed=True, msg=(
                'job %s on %s %s, and its log shows processes or threads it could not create (Resource temporarily '
                'unavailable): it most likely reached its limit of %d processes and threads (offload_job_pids). '
                'Raise offload_job_pids, or look for a process leak or a fork loop; log: %s\n--- last lines ---\n%s'
                % (name, worker, exit_reason(job_rc), limits['pids'], local_log, last)))
        elif job_rc != 0 and 0 in (state['space_kb'], int(end['avail_kb']) if end.get('avail_kb', '').isdigit() else None):
            base.update(failed=True, msg='job %s on %s %s, and %s. Log (maybe cut short): %s\n%s%s' % (
                name, worker, exit_reason(job_rc),
                disk_full_message(worker, spec['data_root'], 'the job ran'), local_log, '--- last lines ---\n', last))
        elif job_rc != 0:
            hint = KILLED_HINT if job_rc in KILLED_CODES else ''
            base.update(failed=True, msg='job %s on %s %s%s; log: %s\n--- last lines ---\n%s' % (
                name, worker, exit_reason(job_rc), hint, local_log, last))
        else:
            base['msg'] = 'job %s on %s succeeded; log: %s' % (name, worker, local_log)
        return base

    @staticmethod
    def _released(args, facts, state, name):
        """What the supervisor's release of the worktree did (as git_worktree reports it)."""
        if state.get('released') is None:
            return {'worktree_changed': False}
        result = {'worktree_released': state['released'] == 0, 'worktree_existed': facts.get('exists') == '1',
                  'worktree_changed': facts.get('changed') == '1'}
        if args['keep_worktree'] and result['worktree_existed']:
            modified = facts.get('dirty') == '1' or bool(
                args['start_head'] and args['start_head'] != facts.get('head'))
            result['worktree_changed'] = modified
            if facts.get('tampered') == '1':
                result['worktree_changed'] = True
                result['warnings'] = [
                    'job %s rewrote the files that tell git where its repository is (.git, commondir, gitdir, HEAD '
                    'or index): its worktree was removed instead of kept' % name]
        if state['released'] != 0:
            result.setdefault('warnings', []).append(
                'the worktree of job %s could not be released on the worker (%s): clean.yml -e pr=%s removes it' % (
                    name, facts.get('error') or 'exit %d' % state['released'], args['pr']))
        return result

    def _precheck(self, name, token_path, data_root, gemini_dir, network, key_path=None):
        """In one round trip: the job container's state (see container_state), the job's
        newest run (worker['run']: run_state), the
        token file to mount, when one is configured and the worker has it, the
        worker's facts for the limits: cpus, memory (bytes), and the data root's
        file system's disk_size and disk_free (bytes; None when df could not tell);
        then warnings. The host paths the job mounts (the token file, the data root,
        the gemini dir) are checked where the worker resolves them. And, made as
        `network` (NETWORK_SCRIPT's parameters) asks, the job network: net is ok,
        skip (none needed), or fail <why>. The model's API key file (key_path) is
        looked for like the token's: worker['key'] is its path when the worker has it."""
        host_dirs = [data_root, gemini_dir]
        if token_path:
            token_path = validate_host_dir(token_path, 'gh_token_file', secrets=True)
        if key_path:
            key_path = validate_host_dir(key_path, 'gemini_key_file', secrets=True)
        rc, out, err = self.cli.sh(PRECHECK_SCRIPT, 'offload-precheck',
                                   [self.cli.docker_bin, name, token_path or ''] + host_dirs + [key_path or '']
                                   + network,
                                   'inspect container %s' % name, check=False)
        facts = _kv.parse(out)
        real = facts.all('real')
        run = run_state(out)
        if 'inspect' in facts:
            given = ([(token_path, 'gh_token_file', True)] if token_path else []) + list(
                zip(host_dirs, ('offload_data_root', 'offload_gemini_dir'), (False, False))) + (
                [(key_path, 'gemini_key_file', True)] if key_path else [])
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
        worker['key'] = key_path if facts.get('key') == '1' else None
        worker['run'] = run
        warnings = []
        if facts.get('token') == 'unreadable':
            # The job would get a token that the runner could not mask in its log.
            warnings.append(
                'the GitHub token file %s is not readable by the user running the job on the worker, so its value '
                'could not be masked in the log: the job runs without it (run as root or with become, as on a COS '
                'worker)' % token_path)
        if facts.get('key') == 'unreadable':
            warnings.append(
                'the Gemini API key file %s is not readable by the user running the job on the worker, so its value '
                'could not be masked in the log: the agent runs without it (run as root or with become)' % key_path)
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
