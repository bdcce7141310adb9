# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The command that runs something on the worker with the user's terminal: Ansible
cannot hand a terminal to its user, so the plugins that need one (attach, open) build
this command from the task's connection, and bin/offload-attach or bin/offload-open
runs it (`ssh -t ... -- COMMAND`, as `gcloud compute ssh --container` does)."""

from __future__ import annotations

import shlex

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
