# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A job's newest log, brought back from the worker (after its end, with follow)."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    MAX_LINES,
    MAX_TIMEOUT,
    job_name,
    validate_host_dir,
)
from ansible_collections.gcli.offload.plugins.plugin_utils._checks import check_log_dest
from ansible_collections.gcli.offload.plugins.plugin_utils._log_dir import ENTER_LOG_DIR, fetch_log
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WorkerAction

# Prints the newest log of a job folder, its measure (see _log_dir) and its exit
# code. With follow ($3 = 1), first waits until that run has ended: the runner
# writes the .exit file after the job's output is complete (the container's own
# exit comes a little earlier). Links are refused, never followed.
NEWEST = ENTER_LOG_DIR + r'''
enter_log_dir "$1" "$2" 0
case $? in 0) ;; 2) exit 0 ;; *) exit 1 ;; esac
log=
for f in *.log; do
  if [ -e "$f" ] || [ -L "$f" ]; then log=$f; fi
done
[ -n "$log" ] || exit 0
if [ -L "$log" ] || [ ! -f "$log" ]; then
  echo "error=$PWD/$log is a link or not a regular file: refusing it"
  exit 1
fi
echo "log=$1/logs/$2/$log"
exit_file=${log%.log}.exit
if [ "$3" = 1 ]; then
  while [ ! -e "$exit_file" ]; do sleep 0.2; done
fi
if [ -f "$exit_file" ] && [ ! -L "$exit_file" ]; then echo "rc=$(head -c 16 "$exit_file")"; fi
measure "$log"
exit 0
'''


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        'pr': {'type': 'raw', 'required': True},
        'action': {'type': 'raw', 'default': 'review'},
        'data_root': {'type': 'str', 'required': True},
        'follow': {'type': 'bool', 'default': False},
        'timeout': {'type': 'int', 'default': 3600},
        'lines': {'type': 'int', 'default': 200},
        'log_dest': {'type': 'path', 'default': '~/.cache/gcli-offload/logs'},
    }
    RANGES = {'timeout': (1, MAX_TIMEOUT, 'seconds'), 'lines': (0, MAX_LINES, 'lines')}

    def act(self, args, task_vars):
        docker = args['docker_bin']
        name = job_name(args['pr'], args['action'])
        data_root = validate_host_dir(args['data_root'], 'data_root')
        args['log_dest'] = check_log_dest(args['log_dest'], 'log_dest')
        worker = self._worker_name(task_vars)
        follow = args['follow'] and self.container_state(name, docker) == 'running'
        rc, out, err = self.worker_run(
            ['timeout', str(args['timeout']), 'sh', '-c', NEWEST, 'newest', data_root, name,
             '1' if follow else '0'], 'find the log of %s' % name, check=False)
        if rc == 124:
            raise AnsibleActionFail('job %s on %s still runs after %ds of following' % (name, worker, args['timeout']))
        if rc != 0:
            reason = out.partition('error=')[2].strip() or (err or out).strip()
            raise AnsibleActionFail('cannot read the logs of %s on %s: %s' % (name, worker, reason))
        running = self.container_state(name, docker) == 'running'
        facts = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
        if 'log' not in facts:
            raise AnsibleActionFail('job %s has no log on %s (under %s/logs/%s)' % (name, worker, data_root, name))
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
        }
