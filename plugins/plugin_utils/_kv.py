# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the worker's scripts say: `key=value` lines (the only output format of the
scripts under scripts/).

A key is a name (letters, digits, _; not starting with a digit), the value the
rest of the line, kept as printed. Any other line (docker's own output, a sudo
warning sharing the output, a git message) is kept in `lines` and otherwise
ignored. A key may come more than once (one `real=` per host path, one
`worktree=` per worktree): `get` gives the last, `all` every one in order.
"""

from __future__ import annotations


class KeyValues:
    """The parsed output of one worker command."""

    def __init__(self, text):
        self.text = text
        self.lines = text.splitlines()
        self.pairs = []
        for line in self.lines:
            key, sep, value = line.partition('=')
            if sep and key.isidentifier():
                self.pairs.append((key, value))

    def get(self, key, default=None):
        """The last value of key, or default."""
        for name, value in reversed(self.pairs):
            if name == key:
                return value
        return default

    def all(self, key):
        """Every value of key, in order."""
        return [value for name, value in self.pairs if name == key]

    def __contains__(self, key):
        return any(name == key for name, _value in self.pairs)

    def __getitem__(self, key):
        for name, value in reversed(self.pairs):
            if name == key:
                return value
        raise KeyError(key)

    def other_lines(self, *keys):
        """The lines that are not `key=` lines of the given keys (for messages)."""
        prefixes = tuple(key + '=' for key in keys)
        return [line for line in self.lines if not line.startswith(prefixes)]


def parse(text):
    """A command's standard output -> KeyValues."""
    return KeyValues(text)
