# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A job's newest log (or one part's), brought back from the worker; with follow, streamed
while the job runs, then brought back at its end."""

from __future__ import annotations

import os
import time

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.utils.display import Display

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    MAX_LINES,
    MAX_TIMEOUT,
    job_name,
    validate_host_dir,
)
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import LOGS, job_paths
from ansible_collections.gcli.offload.plugins.plugin_utils import _kv, _scripts
from ansible_collections.gcli.offload.plugins.plugin_utils._checks import check_log_dest
from ansible_collections.gcli.offload.plugins.plugin_utils._log_dir import LOG_DIR_SCRIPT, fetch_log
from ansible_collections.gcli.offload.plugins.plugin_utils._supervisor import (
    JOB_STATE,
    FollowLost,
    detached_message,
    follow,
    run_state,
)
from ansible_collections.gcli.offload.plugins.plugin_utils._terminal import detach_on_interrupt
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import JOB_ARGUMENT_SPEC, WorkerAction

# A fixed script, inputs positional: see the file. Links are refused, never followed.
NEWEST = _scripts.load(LOG_DIR_SCRIPT, JOB_STATE, 'log_newest.sh', LOGS=LOGS)
PARTS = ('build', 'checks', 'ai_review', 'ready', 'fix', 'implement', 'command')

display = Display()


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        **JOB_ARGUMENT_SPEC,
        'follow': {'type': 'bool', 'default': False},
        'timeout': {'type': 'int', 'default': 3600},
        'lines': {'type': 'int', 'default': 200},
        'part': {'type': 'str'},
        'log_dest': {'type': 'path', 'default': '~/.cache/gcli-offload/logs'},
    }
    RANGES = {'timeout': (1, MAX_TIMEOUT, 'seconds'), 'lines': (0, MAX_LINES, 'lines')}

    def act(self, args, task_vars):
        name = job_name(args['pr'], args['action'])
        data_root = validate_host_dir(args['data_root'], 'data_root')
        args['log_dest'] = check_log_dest(args['log_dest'], 'log_dest')
        worker = self._worker_name(task_vars)
        part = args['part'] or ''
        if part and part not in PARTS:
            raise AnsibleActionFail('part must be one of %s, not %r' % (', '.join(PARTS), part[:60]))
        out = self._newest(data_root, name, part, worker)
        stamp, how, _started = run_state(out)
        if args['follow'] and how == 'running':
            display.display('following job %s on %s (run %s; Ctrl-C detaches, the job goes on)' % (
                name, worker, stamp))
            try:
                with detach_on_interrupt(detached_message(name, worker, args['pr'], args['action'] or 'review')):
                    follow(self, data_root, name, stamp, display.display,
                           deadline=time.monotonic() + args['timeout'])
            except FollowLost as exc:
                raise AnsibleActionFail('lost the connection to %s while following job %s: %s; the job goes on '
                                        'there: follow it again' % (worker, name, str(exc.last).strip()[:200]))
            out = self._newest(data_root, name, part, worker)
            stamp, how, _started = run_state(out)
            if how == 'running':
                raise AnsibleActionFail('job %s on %s still runs after %ds of following' % (
                    name, worker, args['timeout']))
        running = how == 'running' or self.cli.container_state(name) == 'running'
        facts = _kv.parse(out)
        if 'log' not in facts:
            raise AnsibleActionFail('job %s has no log on %s (under %s)'
                                    % (name, worker, job_paths(data_root, name)['log_dir']))
        local = os.path.join(os.path.expanduser(args['log_dest']), worker, name, os.path.basename(facts['log']))
        fetch_log(self, facts['log'], local, out, worker)
        with open(local, 'rb') as f:
            text = to_text(f.read(), errors='surrogate_or_replace').splitlines()
        shown = text[-args['lines']:] if args['lines'] > 0 else text
        return {
            'changed': False,
            'job': name,
            'running': running,
            'exit_code': int(facts['rc']) if facts.get('rc', '').isdigit() else None,
            'log': local,
            'worker_log': facts['log'],
            'log_lines': shown,
            'truncated': len(shown) < len(text),
            'run': stamp,
            'lost': how == 'lost',
            'part': part or None,
        }

    def _newest(self, data_root, name, part, worker):
        rc, out, err = self.cli.sh(NEWEST, 'newest', [data_root, name, '0', part], 'find the log of %s' % name,
                                   check=False)
        if rc != 0:
            reason = (_kv.parse(out).get('error') or '').strip() or (err or out).strip()
            raise AnsibleActionFail('cannot read the logs of %s on %s: %s' % (name, worker, reason))
        return out
