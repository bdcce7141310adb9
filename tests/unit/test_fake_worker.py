# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fake worker of the action plugins' tests: it takes only one simple command (what
shlex.join makes), parses scripts and their parameters, and fails on what it was not
told to answer."""

from __future__ import annotations

import shlex

import pytest
from fake_worker import Command, simple_argv


@pytest.mark.parametrize('argv', [
    ['docker', 'exec', '-i', 'x', 'sh', '-s', '--', 'a b', "it's", '$(id)', '`id`', 'a;b', 'a|b', '>f', '~', '*'],
    ['sh', '-c', 'echo "$1" | tr a b; exit 3', 'name', '"quoted"'],
    [],
])
def test_what_shlex_join_makes_is_taken_back_word_for_word(argv):
    assert simple_argv(shlex.join(argv)) == argv


@pytest.mark.parametrize('cmd', [
    'docker ps; id', 'docker ps && id', 'docker ps | sh', 'echo $(id)', 'echo `id`', 'echo $HOME', 'cat >f',
    'cat <f', 'ls *', 'echo "$HOME"', 'a\\ b', 'sleep 1 &', 'ls ~root', 'x # comment', '( id )',
])
def test_shell_syntax_outside_quotes_fails_the_test(cmd):
    with pytest.raises(AssertionError, match='shell syntax|inside double quotes'):
        simple_argv(cmd)


def test_scripts_and_their_parameters_are_read_from_argv_or_stdin():
    inline = Command(['timeout', '5', 'sh', '-c', 'echo "$1"', 'name', 'p1', 'p2'], None)
    assert inline.script == 'echo "$1"' and inline.params == ['p1', 'p2']
    piped = Command(['docker', 'exec', '-i', 'm', 'sh', '-s', '--', 'list', 'x'], 'set -eu\n')
    assert piped.script == 'set -eu\n' and piped.params == ['list', 'x']
    plain = Command(['docker', 'ps'], None)
    assert plain.script is None and plain.params == []


def test_an_unexpected_command_fails_the_test(worker):
    worker.docker('ps', out='')
    assert worker.execute("docker ps -q", None) == (0, b'', b'')
    with pytest.raises(AssertionError, match='no answer'):
        worker.execute('docker rm -f x', None)


def test_later_rules_win_and_times_runs_out(worker):
    worker.docker('ps', out='old')
    worker.docker('ps', out='new', times=1)
    assert [worker.execute('docker ps', None)[1] for dummy in range(2)] == [b'new', b'old']
