"""action=open through bin/offload-open in a real terminal (tmux): the worktree is prepared,
a shell opens in a job container on it with the job's mounts and sandbox, the worktree is
held while it is open and released when the shell exits."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from fixtures_offload import ROOT, docker, wait_for
from fixtures_terminal import Terminal, quote

pytestmark = pytest.mark.skipif(not shutil.which('tmux'), reason='needs tmux')


@pytest.fixture(params=['local', 'ssh'])
def any_worker(request):
    return request.getfixturevalue('worker' if request.param == 'local' else 'cos_worker')


def test_open_gives_a_sandboxed_shell_on_the_worktree_and_releases_it_when_it_exits(any_worker, private_pr):
    worker = any_worker
    pr = private_pr()
    name = 'offload-%d-open' % pr
    args = worker.command('offload.yml')[2:]   # the inventory and the variables
    env = {'PATH': os.environ['PATH'], 'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'), 'HOME': os.environ['HOME']}
    term = Terminal(' '.join(map(quote, ['bin/offload-open', str(pr)] + args)), env)
    try:
        wait_for(lambda: worker.job_state(name) == 'running', 240, 'the open shell\'s container')
        term.keys('echo IN-$((6*7)) uid=$(id -u); ls; grep CapEff /proc/self/status', 'Enter')
        wait_for(lambda: re.search(r'CapEff:\s+\w+', term.screen()), 60, 'the shell to answer')
        screen = term.screen()
        assert 'IN-42 uid=1000' in screen and 'calc.py' in screen, screen
        assert re.search(r'CapEff:\s+0{16}\b', screen), screen  # no capabilities
        # the worktree is held while the shell is open
        admin = os.path.join(worker.data_root, 'main', '.git', 'worktrees', name)
        assert open(os.path.join(admin, 'locked')).read().startswith('offload ')
        # the job's sandbox: its mounts, no capabilities, no token
        info = json.loads(docker('inspect', name).stdout)[0]
        mounts = {m['Destination']: m for m in info['Mounts']}
        assert mounts['/home/node/dev/worktree']['RW'] is True and mounts['/home/node/dev/main']['RW'] is False
        assert '/run/secrets/gh_token' not in mounts
        assert info['HostConfig']['CapDrop'] == ['ALL'] and info['Config']['User'] == '1000:1000'
        assert info['Config']['Labels']['gcli.offload.part'] == 'open' and info['Config']['Tty'] is True
        # what the shell writes is in the worktree
        term.keys('touch made-in-the-shell; exit', 'Enter')
        wait_for(lambda: 'TERMINAL-EXIT-0' in term.screen(), 120, 'the shell to end:\n' + term.screen())
        assert 'its worktree was removed' in term.screen()
    finally:
        term.close()
        docker('rm', '-f', name, check=False)
    assert worker.job_state(name) is None
    assert not os.path.exists(worker.worktree(pr, 'open')) and not os.path.exists(admin)
