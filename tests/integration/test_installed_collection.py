"""Once built and installed, the collection runs as `ansible-playbook gcli.offload.offload`."""

from __future__ import annotations

import json
import os
import subprocess

from fixtures_offload import ROOT


def test_build_install_and_run_the_collection_playbook(worker, tmp_path):
    dist = tmp_path / 'dist'
    subprocess.run(['ansible-galaxy', 'collection', 'build', '--output-path', str(dist), ROOT],
                   check=True, capture_output=True, cwd=ROOT)
    tarball = next(dist.iterdir())
    installed = tmp_path / 'collections'
    subprocess.run(['ansible-galaxy', 'collection', 'install', '--offline', '--force', '-p', str(installed), str(tarball)],
                   check=True, capture_output=True, cwd=str(tmp_path))
    assert (installed / 'ansible_collections/gcli/offload/roles/offload_job/tasks/main.yml').exists()
    assert not (installed / 'ansible_collections/gcli/offload/.build').exists()

    varsfile = tmp_path / 'vars.json'
    varsfile.write_text(json.dumps(worker.vars))
    # Only the installed copy is visible: no ansible.cfg in the working directory,
    # and the collections path names nothing else.
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run(
        ['ansible-playbook', '-i', os.path.join(ROOT, 'inventory/local.yml'), 'gcli.offload.offload',
         '-e', 'pr=1', '-e', '@%s' % varsfile],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'job offload-1-review on local-worker succeeded' in proc.stdout
