"""Day-2 playbooks on a worker: status, logs, clean, reconcile (issue 5)."""

from __future__ import annotations

import os
import re
import subprocess

from fixtures_offload import Streamed, container_state, docker


def worktrees_in_git(worker):
    return docker('exec', worker.maintainer, 'git', '-C', '/home/node/dev/main', 'worktree', 'list').stdout


def test_status_lists_running_jobs_with_their_image(worker):
    job = worker.start_blocking_job()
    try:
        proc = worker.playbook(playbook='status.yml')
        assert proc.returncode == 0, proc.stdout
        assert re.search(r'offload-1-review: running \d+s', proc.stdout), proc.stdout
        assert worker.vars['offload_image'] in proc.stdout
    finally:
        out = worker.finish(job)
    assert job.returncode == 0, out
    proc = worker.playbook(playbook='status.yml')
    # no container, no worktree: its last run and how its part ended
    assert re.search(r'offload-1-review: ended, exit 0; parts: command ok \d+s', proc.stdout), proc.stdout


def test_logs_shows_the_newest_log_and_follows_a_running_job(worker):
    assert worker.playbook('-e', 'pr=2').returncode != 0  # a failed job, log kept
    proc = worker.playbook('-e', 'pr=2', playbook='logs.yml')
    assert proc.returncode == 0, proc.stdout
    assert 'AssertionError: -1 != 5' in proc.stdout and 'exit code: 2' in proc.stdout

    job = worker.start_blocking_job(before='echo EARLY; ')
    follower = Streamed(subprocess.Popen(worker.command('logs.yml', None, ['-e', 'pr=1', '-e', 'follow=true']),
                                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    try:
        # the follower shows what the running job printed, and stays there
        follower.wait_for('JOB-STARTED')
        assert 'following job offload-1-review' in follower.text() and follower.proc.poll() is None
    finally:
        out = worker.finish(job)
    assert job.returncode == 0, out
    assert follower.wait() == 0, follower.text()
    followed = follower.text()
    assert followed.index('EARLY') < followed.index('JOB-DONE') and 'exit code: 0' in followed, followed


def test_clean_removes_one_job_but_never_a_running_one_unless_forced(worker):
    assert worker.playbook('-e', 'pr=1', extra={'offload_keep_worktree': True}).returncode == 0
    assert os.path.exists(worker.worktree(1))
    job = worker.start_blocking_job(pr=3)
    try:
        proc = worker.playbook('-e', 'pr=1', playbook='clean.yml')
        assert proc.returncode == 0, proc.stdout
        assert not os.path.exists(worker.worktree(1))
        assert 'offload-1-review' not in worktrees_in_git(worker)
        # all, without force: the running job stays, with a reason
        proc = worker.playbook('-e', 'all=true', playbook='clean.yml')
        assert proc.returncode == 0
        assert 'never stops a running job unless forced' in proc.stdout
        assert container_state('offload-3-review') == 'running'
        assert os.path.exists(worker.worktree(3))
        # forced: gone
        proc = worker.playbook('-e', 'pr=3', '-e', 'force=true', playbook='clean.yml')
        assert proc.returncode == 0, proc.stdout
        assert container_state('offload-3-review') is None
        assert not os.path.exists(worker.worktree(3))
    finally:
        worker.reap(job, pr=3)
    assert job.returncode != 0  # the forced job failed, as it should


def test_reconcile_removes_leftovers_in_both_directions_but_not_live_work(worker):
    # a worktree whose run died after preparing it (held, no container)
    proc = worker.playbook('-e', 'pr=1', playbook='offload.yml', extra={'offload_job_command': ['false']})
    assert worker.playbook('-e', 'pr=2', extra={'offload_keep_worktree': True}).returncode != 0  # kept, failed
    subprocess.run(['ansible', 'all', '-i', 'inventory/local.yml', '-m', 'gcli.offload.git_worktree', '-a',
                    'pr=1 action=fix data_root=%s repo_url=%s maintainer=%s' % (
                        worker.data_root, worker.vars['offload_repo_url'], worker.maintainer)],
                   check=True, capture_output=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    # a stopped job container (a client that died before --rm could act)
    docker('create', '--name', 'offload-9-review', '--label', 'gcli.offload.managed=true',
           '--label', 'gcli.offload.job=offload-9-review', worker.vars['offload_image'], 'true')
    # live work: a running job
    job = worker.start_blocking_job(pr=3)
    try:
        young = worker.playbook(playbook='reconcile.yml')  # grace 600: the fresh hold is live work
        assert young.returncode == 0, young.stdout
        assert container_state('offload-9-review') is None
        assert os.path.exists(worker.worktree(1, 'fix'))
        assert 'held by a run for' in young.stdout
        old = worker.playbook('-e', 'grace=0', playbook='reconcile.yml')
        assert old.returncode == 0, old.stdout
        assert not os.path.exists(worker.worktree(1, 'fix'))  # stale hold: removed
        assert os.path.exists(worker.worktree(2))  # kept worktree: stays
        assert container_state('offload-3-review') == 'running'  # live work: untouched
        assert os.path.exists(worker.worktree(3))
        kept = worker.playbook('-e', 'grace=0', '-e', 'include_kept=true', playbook='reconcile.yml')
        assert kept.returncode == 0 and not os.path.exists(worker.worktree(2))
    finally:
        out = worker.finish(job, pr=3)
    assert job.returncode == 0, out
    assert proc.returncode != 0  # `false` as the job fails the play
