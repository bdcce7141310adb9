"""A real terminal for the tests that need one (tmux): a command runs in it as a user's
shell would run it, keys are typed into it, and its screen is read."""

from __future__ import annotations

import subprocess
import uuid

from fixtures_offload import ROOT


class Terminal:
    """A tmux server of the test's own (its own socket) with one window running `command`;
    when the command ends, the window prints TERMINAL-EXIT-<its exit code> and stays."""

    def __init__(self, command, env):
        self.socket = 'gcli-term-%s' % uuid.uuid4().hex[:8]
        setenv = ['%s=%s' % (k, v) for k, v in env.items()]
        subprocess.run(['tmux', '-L', self.socket, 'new-session', '-d', '-s', 'term', '-x', '200', '-y', '50',
                        'env ' + ' '.join(map(quote, setenv)) + ' ' + command + '; echo TERMINAL-EXIT-$?; sleep 600'],
                       check=True, cwd=ROOT)

    def keys(self, *keys):
        subprocess.run(['tmux', '-L', self.socket, 'send-keys', '-t', 'term'] + list(keys), check=True)

    def screen(self):
        return subprocess.run(['tmux', '-L', self.socket, 'capture-pane', '-p', '-J', '-S', '-2000', '-t', 'term'],
                              capture_output=True, text=True, check=False).stdout

    def close(self):
        subprocess.run(['tmux', '-L', self.socket, 'kill-server'], capture_output=True, check=False)


def quote(word):
    return "'" + word.replace("'", "'\\''") + "'"
