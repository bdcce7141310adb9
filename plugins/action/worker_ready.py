# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wait until a worker answers through its connection and a container runs on it.

The worker may have no Python (Container-Optimized OS), so this is not
wait_for_connection (which runs the ping module): each attempt is one plain
`docker container inspect` through the task's connection. A connection that
fails (the VM still booting, sshd not up, an IAP tunnel not ready) is one more
failed attempt, not the end of the task. Attempts go on until a deadline.
"""

from __future__ import annotations

import time

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError, validate_container_name
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import MAINTAINER_NAME
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WorkerAction

MAX_TIMEOUT = 24 * 3600


def _first_line(text, limit=300):
    lines = [line.strip() for line in to_text(text).strip().splitlines() if line.strip()]
    line = lines[-1] if lines else 'no output'
    return line if len(line) <= limit else line[:limit] + '...'


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        'container': {'type': 'str', 'default': MAINTAINER_NAME},
        'timeout': {'type': 'int', 'default': 600},
        'interval': {'type': 'int', 'default': 5},
    }
    RANGES = {'timeout': (1, MAX_TIMEOUT, 'seconds'), 'interval': (1, MAX_TIMEOUT, 'seconds')}

    # Seams for the unit tests (a fake clock).
    _clock = staticmethod(time.monotonic)
    _sleep = staticmethod(time.sleep)

    def act(self, args, task_vars):
        name = validate_container_name(args['container'], 'container')
        timeout, interval = args['timeout'], args['interval']
        if not 0 < timeout <= MAX_TIMEOUT:
            raise JobInputError('timeout', 'must be between 1 and %d seconds, got %r' % (MAX_TIMEOUT, timeout))
        if not 0 < interval <= timeout:
            raise JobInputError('interval', 'must be between 1 and timeout (%d) seconds, got %r' % (timeout, interval))
        if self._task.check_mode:
            return {'changed': False, 'skipped': True, 'container': name,
                    'msg': 'check mode: not waiting for the worker'}

        start = self._clock()
        deadline = start + timeout
        attempts = 0
        while True:
            attempts += 1
            state, detail = self._probe(name)
            elapsed = self._clock() - start
            if state == 'running':
                return {'changed': False, 'container': name, 'status': 'running',
                        'attempts': attempts, 'elapsed': round(elapsed, 1),
                        'msg': 'container %s runs on the worker (after %d attempt(s), %.0f s)'
                               % (name, attempts, elapsed)}
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise AnsibleActionFail(
                    'worker %s was not ready after %d s (%d attempts): %s. %s'
                    % (self._worker_name(task_vars), timeout, attempts, detail, self._hint(state, name)),
                    result={'container': name, 'status': state, 'attempts': attempts})
            self._sleep(min(interval, remaining))

    def _probe(self, name):
        """One attempt: (state, what was seen), state in running, connection, absent, docker, or a docker status."""
        try:
            rc, out, err = self.cli.docker(['container', 'inspect', '--format', '{{.State.Status}}', name],
                                           'inspect container %s' % name, check=False)
        except AnsibleConnectionFailure as exc:
            self._reset_connection()
            return 'connection', 'the connection failed: %s' % _first_line(exc)
        if rc == 0:
            status = out.strip() or 'unknown'
            return status, 'container %s is %s' % (name, status)
        if 'no such' in (out + err).lower():
            return 'absent', 'no container %s on the worker yet' % name
        return 'docker', 'docker container inspect %s failed (exit %d): %s' % (name, rc, _first_line(err or out))

    def _reset_connection(self):
        # A stale SSH control master would make every later attempt fail the same way.
        try:
            self._connection.reset()
        except Exception:  # pylint: disable=broad-except
            pass

    @staticmethod
    def _hint(state, name):
        if state == 'connection':
            return ('Check that the worker runs, that the firewall lets your address (or the IAP range) reach its '
                    'SSH port, and the SSH user and key.')
        if state == 'absent':
            return ('The worker answers but never started %s: look at its boot log '
                    '(sudo journalctl -u cloud-final -u %s on the worker).' % (name, name))
        if state == 'docker':
            return 'The worker answers but docker failed there (does the SSH user need become?).'
        return ('The container exists but is not running: look at sudo docker logs %s on the worker.' % name)
