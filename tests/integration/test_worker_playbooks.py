"""The worker playbooks as a user drives them: module_defaults for the worker
action group, booleans given on the command line, a missing worker."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml
from fixtures_offload import WORKER_PLAYBOOKS, Worker
pytestmark = pytest.mark.skipif(not shutil.which('docker'), reason='needs a Docker engine')


def test_offload_runs_with_module_defaults_for_the_worker_group(worker, tmp_path):
    """A playbook of the user's, composing the offload roles under module_defaults for
    group/gcli.offload.worker: every plugin of the group (job_spec too) takes docker_bin."""
    playbook = tmp_path / 'offload-defaults.yml'
    playbook.write_text(yaml.safe_dump([{
        'name': 'Offload with module_defaults for the worker group',
        'hosts': 'offload_workers[0]',
        'gather_facts': False,
        'module_defaults': {'group/gcli.offload.worker': {'docker_bin': shutil.which('docker')}},
        'tasks': [
            {'name': 'Prepare the worktree', 'ansible.builtin.import_role': {'name': 'gcli.offload.worktree'}},
            {'name': 'Run the job', 'ansible.builtin.import_role': {'name': 'gcli.offload.offload_job'}},
        ],
    }]))
    proc = worker.playbook('-e', 'pr=1', playbook=str(playbook))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'job offload-1-review on local-worker succeeded' in proc.stdout


def test_module_defaults_for_the_worker_group_reach_job_spec(worker, tmp_path):
    """The group's docker_bin is checked by job_spec too: a bad one stops the play at the
    first task, before the worker is touched."""
    playbook = tmp_path / 'spec-defaults.yml'
    playbook.write_text(yaml.safe_dump([{
        'name': 'job_spec under module_defaults', 'hosts': 'offload_workers[0]', 'gather_facts': False,
        'module_defaults': {'group/gcli.offload.worker': {'docker_bin': 'docker;id'}},
        'tasks': [{'name': 'Check', 'gcli.offload.job_spec': {'pr': 1, 'data_root': worker.data_root,
                                                              'image': worker.vars['offload_image']}}],
    }]))
    proc = worker.playbook(playbook=str(playbook))
    assert proc.returncode != 0
    assert 'invalid job input docker_bin: must be a command name or an absolute path' in proc.stdout, proc.stdout


# reconcile.yml with a stopped worker in a gce_workers inventory reconciles the cloud side instead
EMPTY_GROUP_CASES = [
    pytest.param(playbook, stopped, hint, id='%s-%s' % (case, playbook))
    for case, stopped, hint in [('no-vm', [], 'create one with provision.yml'),
                                ('vm-stopped', ['offload-w1'], "found 'offload-w1', which does not run")]
    for playbook in sorted(WORKER_PLAYBOOKS) if not (stopped and playbook == 'reconcile')]


@pytest.mark.parametrize('playbook, stopped, hint', EMPTY_GROUP_CASES)
def test_a_worker_group_left_empty_fails_saying_why(worker, tmp_path, playbook, stopped, hint):
    """The group exists but holds no host, as the gce_workers plugin leaves it when the
    project has no worker VM or the VM stopped itself: the playbook fails instead of
    "no hosts matched", and says what to do in each case."""
    inventory = tmp_path / 'empty.yml'
    groups = {'offload_workers': {'hosts': {}}}
    if stopped:
        groups['offload_workers_stopped'] = {'hosts': {name: {'ansible_connection': 'local'} for name in stopped}}
    inventory.write_text(yaml.safe_dump(groups))
    worker.inventory = str(inventory)
    proc = worker.playbook(*WORKER_PLAYBOOKS[playbook], playbook=playbook + '.yml')
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    assert 'no worker to run on: the group offload_workers has no host' in text, text
    assert hint in text, text
    assert ('offload_start_worker=true' in text) == bool(stopped), text
    # offload.yml's start play matches no host unless offload_start_worker is true, and
    # reconcile.yml's cloud play none without a gce_workers inventory or -e cloud
    assert text.count('no hosts matched') == (1 if playbook in ('offload', 'reconcile') else 0), text


@pytest.mark.parametrize('target, message', [
    ('no-such-host', "offload_worker is 'no-such-host', neither a host nor a group of the inventory (its hosts: "
                     "'local-worker')"),
    ('offload_workers[3]', "offload_worker is 'offload_workers[3]', but the group offload_workers has 1 host"),
])
def test_a_worker_named_but_not_in_the_inventory_fails(worker, target, message):
    proc = worker.playbook('-e', 'pr=1', extra={'offload_worker': target})
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    assert message in text, text


def test_a_host_of_the_inventory_given_by_name_runs(worker):
    proc = worker.playbook('-e', 'pr=1', extra={'offload_worker': 'local-worker'}, playbook='status.yml')
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_booleans_given_as_strings_on_the_command_line(worker):
    """-e name=value gives strings: every boolean of the worker playbooks takes
    true/false, yes/no, on/off, 1/0 in any case, as Ansible's bool does."""
    kept = worker.playbook('-e', 'pr=1', '-e', 'offload_keep_worktree=true', '-e', 'offload_start_worker=no')
    assert kept.returncode == 0, kept.stdout[-3000:] + kept.stderr[-3000:]
    assert os.path.isdir(worker.worktree(1)), kept.stdout[-3000:]
    removed = worker.playbook('-e', 'pr=1', '-e', 'offload_keep_worktree=False')
    assert removed.returncode == 0, removed.stdout[-3000:]
    assert not os.path.exists(worker.worktree(1))

    assert worker.playbook('-e', 'pr=1', '-e', 'offload_keep_worktree=YES').returncode == 0
    logs = worker.playbook('-e', 'pr=1', '-e', 'follow=no', '-e', 'lines=5', playbook='logs.yml')
    assert logs.returncode == 0 and 'exit code: 0' in logs.stdout, logs.stdout[-3000:]
    reconcile = worker.playbook('-e', 'include_kept=off', playbook='reconcile.yml')
    assert reconcile.returncode == 0 and os.path.isdir(worker.worktree(1)), reconcile.stdout[-3000:]
    token = worker.playbook('-e', 'offload_gh_token_prompt=0', playbook='github_auth.yml',
                            env={'OFFLOAD_GH_TOKEN': 'github_pat_booleans_test'})
    assert token.returncode == 0 and os.path.exists(os.path.join(worker.secrets_dir, 'gh_token')), token.stdout

    clean = worker.playbook('-e', 'all=yes', '-e', 'force=on', '-e', 'remove_main=1', playbook='clean.yml')
    assert clean.returncode == 0, clean.stdout[-3000:]
    assert not os.path.exists(worker.worktree(1))
    assert not os.path.exists(os.path.join(worker.data_root, 'main', '.git'))


def test_a_noexec_data_root_fails_before_the_job_saying_so(tmp_path, upstream_dir, job_image, noexec_dir):
    """Jobs run scripts from their worktree (the demo job's tests; here one made executable
    in it): on a noexec data root each would fail deep in its log. The run stops before the
    job, saying what is wrong; no job container ran, no worktree was made."""
    noexec_data_root = str(noexec_dir)
    w = Worker(tmp_path, upstream_dir, job_image, data_root=noexec_data_root)
    try:
        command = ['sh', '-c', 'printf "#!/bin/sh\\necho RAN\\n" >run.sh && chmod +x run.sh && ./run.sh']
        proc = w.playbook('-e', 'pr=1', extra={'offload_job_command': command})
        text = proc.stdout + proc.stderr
        assert proc.returncode != 0, text
        assert 'the data root %s on local-worker does not let files be executed (mounted noexec?)' % (
            noexec_data_root) in ' '.join(text.split()), text
        assert 'Run job offload-1-review' not in text and not os.path.exists(w.worktree(1))
        assert w.job_containers() == [] and w.logs() == []
    finally:
        w.cleanup()


def object_count(argv):
    out = subprocess.run(argv + ['count-objects', '-v'], capture_output=True, text=True, check=True).stdout
    counts = dict(line.split(': ', 1) for line in out.splitlines())
    return int(counts['count']) + int(counts['in-pack'])


def test_a_repository_given_by_path_is_cloned_through_a_file_url(worker):
    """offload_repo_url as a plain worker path: git would copy the repository whole (a
    "local clone" ignores --filter); the clone goes through file:// instead."""
    path = os.path.join(worker.upstream_dir, 'upstream.git')
    proc = worker.playbook('-e', 'pr=1', extra={'offload_repo_url': path})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    git = ['docker', 'exec', worker.maintainer, 'git', '-C', '/home/node/dev/main']
    config = subprocess.run(git + ['config', '--list'], capture_output=True, text=True, check=True).stdout.split()
    assert 'remote.origin.url=file://%s' % path in config
    assert 'remote.origin.promisor=true' in config and 'remote.origin.partialclonefilter=blob:limit=1g' in config
    # the other pull requests' objects stay upstream: a whole copy would hold every one
    assert object_count(git) < object_count(['git', '-C', path])
