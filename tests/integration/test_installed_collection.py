"""Once built and installed, the collection runs as `ansible-playbook gcli.offload.offload`."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from fixtures_offload import ROOT, WORKER_PLAYBOOKS


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """The collection built with ansible-galaxy and installed in a directory of its own."""
    tmp_path = tmp_path_factory.mktemp('installed')
    dist = tmp_path / 'dist'
    subprocess.run(['ansible-galaxy', 'collection', 'build', '--output-path', str(dist), ROOT],
                   check=True, capture_output=True, cwd=ROOT)
    tarball = next(dist.iterdir())
    installed = tmp_path / 'collections'
    subprocess.run(['ansible-galaxy', 'collection', 'install', '--offline', '--force', '-p', str(installed), str(tarball)],
                   check=True, capture_output=True, cwd=str(tmp_path))
    return installed


def run_installed(installed, cwd, *args):
    """ansible-playbook seeing only the installed copy: no ansible.cfg in the working
    directory, and the collections path names nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_NOCOLOR='1')
    return subprocess.run(['ansible-playbook'] + list(args), cwd=str(cwd), env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_build_install_and_run_the_collection_playbook(installed, worker, tmp_path):
    assert (installed / 'ansible_collections/gcli/offload/roles/offload_job/tasks/main.yml').exists()
    assert not (installed / 'ansible_collections/gcli/offload/.build').exists()
    varsfile = tmp_path / 'vars.json'
    varsfile.write_text(json.dumps(worker.vars))
    proc = run_installed(installed, tmp_path, '-i', os.path.join(ROOT, 'inventory/local.yml'), 'gcli.offload.offload',
                         '-e', 'pr=1', '-e', '@%s' % varsfile)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'job offload-1-review on local-worker succeeded' in proc.stdout


@pytest.mark.parametrize('playbook', sorted(WORKER_PLAYBOOKS))
def test_without_an_inventory_the_worker_playbooks_fail_saying_what_to_define(installed, tmp_path, playbook):
    """From a directory with no inventory, a worker playbook is not a silent success
    ("no hosts matched", exit 0): it fails naming the group and how to define it."""
    proc = run_installed(installed, tmp_path, 'gcli.offload.%s' % playbook, *WORKER_PLAYBOOKS[playbook])
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    assert 'no worker to run on: the inventory has no group offload_workers (no inventory was found' in text, text
    assert '-e offload_worker=HOST' in text and 'inventory/local.yml' in text
    # offload.yml's start play matches no host unless offload_start_worker is true, and
    # reconcile.yml's cloud play none without a gce_workers inventory or -e cloud: those are expected
    assert text.count('no hosts matched') == (1 if playbook in ('offload', 'reconcile') else 0), text
    assert 'Traceback' not in text
