"""The worker playbooks as a user drives them: module_defaults for the worker
action group, booleans given on the command line, a missing worker."""

from __future__ import annotations

import shutil

import pytest
import yaml
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
                                                              'image': 'gcli-offload/demo-job:latest'}}],
    }]))
    proc = worker.playbook(playbook=str(playbook))
    assert proc.returncode != 0
    assert 'invalid job input docker_bin: must be a command name or an absolute path' in proc.stdout, proc.stdout
