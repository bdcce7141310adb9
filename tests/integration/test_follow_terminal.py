"""Ctrl-C while following a job, in a real terminal (tmux): the terminal's SIGINT goes to
ansible-playbook (its foreground process group), which hands it to the worker process
following the job. The follower detaches and says how to come back, the playbook exits, the
job goes on on the worker, and running the same command again attaches to it and reports
its exit status. logs.yml -e follow=true detaches the same way."""

from __future__ import annotations

import os
import shutil

import pytest

from fixtures_offload import ROOT, Streamed, docker, wait_for
from fixtures_terminal import Terminal, quote

pytestmark = pytest.mark.skipif(not shutil.which('tmux'), reason='needs tmux')

# prints a line, then waits for a `stop` file in its worktree, prints another and fails with 3
JOB = ['sh', '-c', 'echo JOB-STARTED; while [ ! -e stop ]; do sleep 0.05; done; echo JOB-DONE; exit 3']


@pytest.fixture(params=['local', 'ssh'])
def any_worker(request):
    return request.getfixturevalue('worker' if request.param == 'local' else 'cos_worker')


def test_ctrl_c_while_following_detaches_says_how_to_come_back_and_the_job_goes_on(any_worker, private_pr):
    worker = any_worker
    host = 'local-worker' if worker.inventory is None else 'cos-worker'
    pr = private_pr()
    name = 'offload-%d-review' % pr
    extra = {'offload_job_command': JOB}
    env = {'PATH': os.environ['PATH'], 'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'), 'HOME': os.environ['HOME'],
           'ANSIBLE_NOCOLOR': '1'}
    term = Terminal(' '.join(map(quote, worker.command('offload.yml', extra, ('-e', 'pr=%d' % pr)))), env)
    again = None
    try:
        # the job's own output, shown on the controller while the playbook follows it
        wait_for(lambda: 'JOB-STARTED' in term.screen(), 240, 'the job\'s first line in the terminal')
        assert 'TERMINAL-EXIT-' not in term.screen()
        term.keys('C-c')
        wait_for(lambda: 'TERMINAL-EXIT-' in term.screen(), 60, 'the playbook to exit:\n' + term.screen())
        screen = term.screen()
        hint = ('Detached from job %s on %s: it goes on there (its log, exit status and clean-up on the worker).\n'
                're-attach with: ansible-playbook offload.yml -e pr=%d -e action=review\n'
                'or stream its log: ansible-playbook logs.yml -e pr=%d -e action=review -e follow=true\n'
                % (name, host, pr, pr))
        assert hint in screen, screen
        # said before the playbook ended (it waits for its worker process), which ends interrupted
        assert screen.index(hint) < screen.index('TERMINAL-EXIT-99'), screen
        # the job goes on, under its supervisor
        assert worker.job_state(name) == 'running'
        assert 'JOB-DONE' not in worker.worker_log(name)
        # logs.yml -e follow=true detaches the same way
        follow = ('-e', 'pr=%d' % pr, '-e', 'follow=true')
        logs = Terminal(' '.join(map(quote, worker.command('logs.yml', extra, follow))), env)
        try:
            wait_for(lambda: 'JOB-STARTED' in logs.screen(), 120, 'logs.yml to show the job\'s first line')
            logs.keys('C-c')
            wait_for(lambda: 'TERMINAL-EXIT-' in logs.screen(), 60, 'logs.yml to exit:\n' + logs.screen())
            assert hint in logs.screen() and 'TERMINAL-EXIT-99' in logs.screen(), logs.screen()
        finally:
            logs.close()
        assert worker.job_state(name) == 'running'
        # the same command again attaches to it, and reports how it ended
        again = Streamed(worker.start('-e', 'pr=%d' % pr, extra=extra))
        again.wait_for('attaching to it')
        open(os.path.join(worker.worktree(pr), 'stop'), 'w').close()
        assert again.wait() != 0, again.text()
        out = again.text()
        assert out.index('JOB-STARTED') < out.index('JOB-DONE'), out
        assert 'job %s on %s failed with exit code 3' % (name, host) in out, out
    finally:
        term.close()
        if worker.job_state(name) == 'running':
            docker('rm', '-f', name, check=False)  # its supervisor ends with it
        if again is not None:
            again.wait(timeout=120)
    assert worker.job_containers() == [] and not os.path.exists(worker.worktree(pr))
