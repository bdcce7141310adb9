# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fake worker for unit tests of the action plugins, at the connection level.

The plugins run real: a real `ActionModule`, a real `Task` and `PlayContext`,
Ansible's own `_low_level_execute_command`. Only the connection is fake: each
command string it is given is parsed back into an argv (and refused unless it
is one simple command: no `;`, `|`, `&&`, redirection or substitution outside
quoted words), recorded with its standard input, and answered by the newest
rule that matches it. A command no rule matches fails the test. `fetch_file`
copies from `files`. So the tests see what reaches the worker, not how the
plugin builds it, and survive refactors of the plugins' internals.

    worker = FakeWorker()
    worker.docker('container', 'inspect', out='running\\n')   # argv prefix after the docker binary
    worker.script('nproc', out='cpus=2\\n')                    # a shell script containing this text
    worker.on(lambda cmd: cmd.argv[0] == 'date', out='1700000000\\n')
    result = worker.run(ActionModule, {'pr': '7', ...})          # or worker.fail(...) for AnsibleActionFail
    worker.calls                                                # [Command], in order

An answer is `rc`/`out`/`err`, or `raises=` an exception (a dropped
connection: `AnsibleConnectionFailure`), or `answer=` a function of the
`Command` returning (rc, out, err); `local=True` runs the argv for real on
this machine (with `env` and `cwd`), for scripts tested under a real `sh`. A rule
answers any number of times unless `times` is given.
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess

import pytest
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import shell_loader
from ansible.template import Templar

SHELL_SYNTAX = set(';&|<>()$`*?[{}~#\\\n')


class Command:
    """One command the worker got: argv, stdin (text or None), and, for a shell
    script in it (`... sh -c SCRIPT NAME ARGS...`, or `... sh -s [--] ARGS...` with
    the script on stdin), the script and its positional parameters."""

    def __init__(self, argv, stdin):
        self.argv = argv
        self.stdin = stdin
        self.script, self.params = None, []
        for i, word in enumerate(argv[:-1]):
            if word == 'sh' or word.endswith('/sh'):
                if argv[i + 1] == '-c' and len(argv) > i + 2:
                    self.script, self.params = argv[i + 2], argv[i + 4:]
                elif argv[i + 1] == '-s':
                    rest = argv[i + 2:]
                    self.script, self.params = stdin, rest[1:] if rest[:1] == ['--'] else rest
                break

    def __repr__(self):
        return 'Command(%r%s)' % (self.argv, ', stdin=%d chars' % len(self.stdin) if self.stdin else '')


class Rule:
    def __init__(self, match, rc=0, out='', err='', raises=None, answer=None, local=False, env=None, cwd=None, times=None):
        self.match, self.times = match, times
        self.rc, self.out, self.err, self.raises, self.answer = rc, out, err, raises, answer
        self.local, self.env, self.cwd = local, env, cwd

    def respond(self, cmd):
        if self.times is not None:
            self.times -= 1
        if self.raises is not None:
            raise self.raises
        if self.answer is not None:
            return self.answer(cmd)
        if self.local:
            proc = subprocess.run(cmd.argv, input=cmd.stdin, env=self.env, cwd=self.cwd, capture_output=True,
                                  text=True, check=False)
            return proc.returncode, proc.stdout, proc.stderr
        return self.rc, self.out, self.err


class FakeConnection:
    """What ActionBase and the plugins use of a connection, and nothing else."""

    allow_executable = False    # the command string is the plugin's, unwrapped
    become = None
    _remote_is_local = False

    def __init__(self, worker, transport, options):
        self.worker = worker
        self.transport = transport
        self.options = options
        self._shell = shell_loader.get('sh')
        self.resets = 0

    def exec_command(self, cmd, in_data=None, sudoable=True):
        return self.worker.execute(to_text(cmd), None if in_data is None else to_text(in_data))

    def fetch_file(self, in_path, out_path):
        if in_path not in self.worker.files:
            raise AssertionError('fetch of %s, which the fake worker does not have' % in_path)
        self.worker.fetched.append(in_path)
        with open(out_path, 'wb') as f:
            f.write(to_bytes(self.worker.files[in_path]))

    def reset(self):
        self.resets += 1

    def has_option(self, name):
        return name in self.options

    def get_option(self, name):
        return self.options[name]


def simple_argv(cmd):
    """The argv of a command string, which must be one simple command: outside
    quotes, no operator, redirection, expansion or substitution."""
    quote = None
    for char in cmd:
        if quote:
            if char == quote:
                quote = None
            elif quote == '"' and char in '$`\\':
                raise AssertionError('the worker got %r inside double quotes: %r' % (char, cmd))
        elif char in '\'"':
            quote = char
        elif char in SHELL_SYNTAX:
            raise AssertionError('the worker got shell syntax %r outside quotes: %r' % (char, cmd))
    return shlex.split(cmd)


class FakeWorker:
    def __init__(self, docker_bin='docker'):
        self.docker_bin = docker_bin
        self.rules = []
        self.calls = []
        self.files = {}     # worker path -> content, for fetch_file
        self.fetched = []
        self.connection = None

    # -- scripting ---------------------------------------------------------
    def on(self, match, **answer):
        """Answer the commands for which match(Command) is true (rules added later win)."""
        self.rules.insert(0, Rule(match, **answer))
        return self

    def docker(self, *words, **answer):
        """Answer `docker WORDS...` (the argv after the docker binary starts with words)."""
        words = list(words)
        return self.on(lambda cmd: cmd.argv[:1] == [self.docker_bin] and cmd.argv[1:1 + len(words)] == words,
                       **answer)

    def script(self, text, **answer):
        """Answer a shell script (`sh -c` or on stdin) whose text contains `text`."""
        return self.on(lambda cmd: cmd.script is not None and text in cmd.script, **answer)

    def git(self, subcommand, **answer):
        """Answer the git script (run by `docker exec` in the maintainer container) for one subcommand."""
        return self.on(lambda cmd: cmd.argv[:2] == [self.docker_bin, 'exec'] and cmd.script is not None
                       and cmd.params[:1] == [subcommand], **answer)

    # -- what happened -----------------------------------------------------
    def commands(self, predicate=None):
        return [c for c in self.calls if predicate is None or predicate(c)]

    def docker_calls(self, *words):
        words = list(words)
        return [c.argv[1:] for c in self.calls
                if c.argv[:1] == [self.docker_bin] and c.argv[1:1 + len(words)] == words]

    def scripts(self, text):
        return [c for c in self.calls if c.script is not None and text in c.script]

    # -- the connection's side ---------------------------------------------
    def execute(self, cmd, stdin):
        command = Command(simple_argv(cmd), stdin)
        self.calls.append(command)
        for rule in self.rules:
            if rule.times != 0 and rule.match(command):
                rc, out, err = rule.respond(command)
                return rc, to_bytes(out), to_bytes(err)
        raise AssertionError('the fake worker has no answer for %r' % command)

    # -- running a plugin ----------------------------------------------------
    def action(self, cls, args, check_mode=False, transport='ssh', options=None, become=False):
        task = Task()
        task.args = dict(args)
        task.check_mode = check_mode
        play_context = PlayContext()
        play_context.become = become
        play_context.become_method = 'sudo'
        play_context.remote_addr = '192.0.2.10'
        self.connection = FakeConnection(self, transport, dict(options or {}))
        loader = DataLoader()
        return cls(task, self.connection, play_context, loader, Templar(loader=loader), None)

    def run(self, cls, args, task_vars=None, **kw):
        """The plugin's result for args (task_vars default: inventory_hostname w1)."""
        action = self.action(cls, args, **kw)
        return action.run(task_vars=dict({'inventory_hostname': 'w1'}, **(task_vars or {})))

    def fail(self, cls, args, match=None, **kw):
        """The message of the AnsibleActionFail the plugin raises (failing the test otherwise)."""
        with pytest.raises(AnsibleActionFail) as err:
            self.run(cls, args, **kw)
        msg = err.value.message
        if match is not None:
            assert match in msg, msg
        return msg


def measure(content):
    """What the worker scripts' `measure` prints for a log holding content."""
    data = to_bytes(content)
    return 'log_size=%d\nlog_sha256=%s\n' % (len(data), hashlib.sha256(data).hexdigest())
