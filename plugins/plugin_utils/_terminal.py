# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The user's terminal, which an action plugin does not have.

- The command that runs something on the worker with the user's terminal: Ansible
  cannot hand a terminal to its user, so the plugins that need one (attach, open) build
  this command from the task's connection, and bin/offload-attach or bin/offload-open
  runs it (`ssh -t ... -- COMMAND`, as `gcloud compute ssh --container` does).
- Ctrl-C while following a job (detach_on_interrupt): the follower stops with a word on
  the terminal saying how to come back; the job is left alone.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import shlex
import signal
import subprocess
import threading

from ansible.errors import AnsibleActionFail


def terminal_argv(action, inner, what):
    """inner (an argv to run on the worker, with become's method when the play becomes)
    as a command for the controller: inner itself on a local worker, else over ssh -t."""
    if action._play_context.become:
        inner = [action._play_context.become_method] + inner
    conn = action._connection
    if conn.transport in ('local', 'ansible.builtin.local'):
        return inner
    if conn.transport not in ('ssh', 'ansible.builtin.ssh', 'paramiko', 'ansible.builtin.paramiko_ssh'):
        raise AnsibleActionFail('%s supports the local and ssh connections, not %s' % (what, conn.transport))
    argv = ['ssh', '-t']
    port = conn.get_option('port') if conn.has_option('port') else None
    key = conn.get_option('private_key_file') if conn.has_option('private_key_file') else None
    user = conn.get_option('remote_user') if conn.has_option('remote_user') else None
    if port:
        argv += ['-p', str(port)]
    if key:
        argv += ['-i', key]
    extra = conn.get_option('ssh_common_args') if conn.has_option('ssh_common_args') else ''
    argv += shlex.split(extra or '')
    host = conn.get_option('host') if conn.has_option('host') else action._play_context.remote_addr
    return argv + ['%s@%s' % (user, host) if user else host, '--', shlex.join(inner)]


def controller_stderr():
    """A descriptor that writes where ansible-playbook writes its errors (the user's terminal,
    or the pipe or file it was sent to), or None. The action plugin runs in a worker process
    of ansible-playbook (its parent) whose standard streams are /dev/null: it shows things
    through a queue the main process reads, and stops reading once it is interrupted."""
    parent = os.getppid()
    paths = ['/proc/%d/fd/2' % parent]
    if not os.path.isdir('/proc/self/fd'):  # no procfs (macOS): the parent's terminal by name
        try:
            tty = subprocess.run(['ps', '-o', 'tty=', '-p', str(parent)], capture_output=True, text=True,
                                 timeout=5, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            tty = ''
        paths = ['/dev/' + tty] if re.fullmatch(r'(pts/)?[A-Za-z0-9]+', tty) else []
    for path in paths:
        try:
            return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOCTTY)
        except OSError:
            continue
    return None


@contextlib.contextmanager
def detach_on_interrupt(message):
    """While following a job: Ctrl-C writes `message` (how to come back) on the controller's
    terminal and ends this process at once, without a word to the worker: the job goes on.

    The terminal's SIGINT reaches only ansible-playbook's main process (each worker process
    has a session of its own); the main process sends it on to its live workers, raises
    KeyboardInterrupt ("User interrupted execution"), sends them SIGTERM while it winds up,
    and at its exit waits for them (multiprocessing joins its children). So the worker's
    SIGINT handler writes the message straight to the terminal (the display queue is no
    longer read) and exits; a SIGTERM after it is ignored, one without it (ansible-playbook
    itself terminated) is Ansible's own handling. Outside an Ansible worker process, or off
    the main thread, nothing changes (a plain KeyboardInterrupt)."""
    if multiprocessing.parent_process() is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    out = controller_stderr()
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    detaching = []

    def handler(signum, frame):
        if detaching:
            return  # the message is being written; the exit follows
        if signum != signal.SIGINT:
            if callable(previous[signum]):
                previous[signum](signum, frame)
            os._exit(1)
        detaching.append(signum)
        try:
            os.write(2 if out is None else out, ('\n%s\n' % message).encode('utf-8', 'replace'))
        except OSError:
            pass
        os._exit(1)  # as Ansible's own handler: no result to send, the main process is winding up

    for signum in previous:
        signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        if out is not None:
            os.close(out)
