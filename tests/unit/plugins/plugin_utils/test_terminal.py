"""_terminal.detach_on_interrupt: Ctrl-C while following a job, in a process shaped as
ansible-playbook's (a main process and a forked worker whose standard streams are
/dev/null, which ansible-playbook forwards SIGINT to, then SIGTERM, then waits for)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.gcli.offload.plugins.plugin_utils._terminal import detach_on_interrupt

# The main process: starts the worker, forwards SIGINT (and SIGTERM, as its clean-up does) once the worker
# follows, and waits for it; prints the worker's exit code.
MAIN = textwrap.dedent('''
    import multiprocessing, os, signal, sys, time
    from ansible_collections.gcli.offload.plugins.plugin_utils._terminal import detach_on_interrupt

    def worker(ready):
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        with detach_on_interrupt('Detached: come back with X'):
            ready.set()
            time.sleep(60)
        os._exit(5)  # not reached: Ctrl-C ends the follower

    ready = multiprocessing.get_context('fork').Event()
    proc = multiprocessing.get_context('fork').Process(target=worker, args=(ready,))
    proc.start()
    ready.wait(30)
    os.kill(proc.pid, signal.%s)
    os.kill(proc.pid, signal.SIGTERM)
    proc.join(30)
    print('worker exit', proc.exitcode)
''')


def run_main(signame):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.run([sys.executable, '-c', MAIN % signame], capture_output=True, text=True, timeout=60,
                          env=env, check=False)


def test_ctrl_c_writes_the_message_on_the_main_process_stderr_and_ends_the_follower():
    proc = run_main('SIGINT')
    assert proc.stdout == 'worker exit 1\n', proc.stdout + proc.stderr
    assert proc.stderr == '\nDetached: come back with X\n'  # once, though SIGTERM followed


def test_sigterm_alone_keeps_its_own_handling_and_says_nothing():
    proc = run_main('SIGTERM')
    assert proc.stdout == 'worker exit 1\n', proc.stdout + proc.stderr
    assert proc.stderr == ''


def test_outside_a_worker_process_ctrl_c_is_a_keyboard_interrupt_and_the_handlers_are_kept():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with detach_on_interrupt('not shown'):
            assert signal.getsignal(signal.SIGINT) is before
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before
