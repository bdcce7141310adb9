"""The GitHub token's lifetime on the worker: its tmpfs is emptied by every reboot or idle stop,
and offload.yml notices (roles/github_auth/tasks/ensure.yml). Real offload.yml runs on a local
worker; the removal stands for the reboot."""

from __future__ import annotations

import hashlib
import os
import uuid

from fixtures_offload import docker

TOKEN = 'github_pat_11LIFETIME0000000000_%s' % uuid.uuid4().hex
PROBE = ['sh', '-c', 'sha256sum "$OFFLOAD_GH_TOKEN_FILE" || echo NO-TOKEN-FILE']


def test_a_token_removed_from_the_worker_is_mirrored_again_by_the_next_offload(worker, private_pr):
    pr = '-e', 'pr=%d' % private_pr()
    os.makedirs(worker.secrets_dir, exist_ok=True)
    first = worker.playbook(playbook='github_auth.yml', env={'OFFLOAD_GH_TOKEN': TOKEN})
    assert first.returncode == 0, first.stdout
    path = os.path.join(worker.secrets_dir, 'gh_token')
    os.remove(path)  # what a reboot does to the tmpfs
    proc = worker.playbook(*pr, env={'OFFLOAD_GH_TOKEN': TOKEN},
                           extra={'offload_job_command': PROBE, 'offload_job_command_token': True})
    log = open(worker.logs()[0]).read()
    assert proc.returncode == 0, proc.stdout + log
    assert 'mirrored it again from offload_gh_token' in proc.stdout
    assert open(path).read() == TOKEN
    assert hashlib.sha256(TOKEN.encode()).hexdigest() in log  # the job had it
    assert TOKEN not in proc.stdout + proc.stderr + log
    # the worker still has it: nothing is written, nothing said
    again = worker.playbook(*pr, env={'OFFLOAD_GH_TOKEN': TOKEN}, extra={'offload_job_command': ['true']})
    assert again.returncode == 0, again.stdout
    assert 'mirrored it again' not in again.stdout


def test_without_any_source_fix_fails_before_any_container_starts(worker, private_pr):
    number = private_pr()
    pr = '-e', 'pr=%d' % number
    proc = worker.playbook(*pr, '-e', 'action=fix', extra={'offload_gh_token': ''})
    assert proc.returncode != 0
    out = ' '.join(proc.stdout.split())
    assert 'action=fix needs the GitHub token' in out, proc.stdout
    assert 'No job was started' in out and 'https://github.com/settings/personal-access-tokens/new?' in out
    # nothing ran on the worker: no maintainer container, no worktree, no job container
    assert docker('container', 'inspect', worker.maintainer, check=False).returncode != 0
    assert not os.path.exists(worker.worktree(number, 'fix'))
    assert worker.job_containers() == []


def test_without_any_source_a_review_warns_and_runs(worker, private_pr):
    pr = '-e', 'pr=%d' % private_pr()
    proc = worker.playbook(*pr, extra={'offload_gh_token': '', 'offload_job_command': PROBE})
    assert proc.returncode == 0, proc.stdout
    assert 'WARNING: the worker has no GitHub token' in proc.stdout
    assert 'NO-TOKEN-FILE' in open(worker.logs()[0]).read()
