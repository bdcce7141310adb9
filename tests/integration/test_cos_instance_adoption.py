"""The container the cloud-init unit starts is the one the worktree role wants.

The unit's ExecStart (parsed back from the rendered #cloud-config, as systemd
would split it) is run on the local Docker engine; then the role's
maintainer_container plugin, given the same name, image and data root, must
adopt it: no re-creation, `operation: none`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid

import pytest
import yaml

from ansible_collections.gcli.offload.plugins.module_utils import _cloud_init as ci

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(shutil.which('docker') is None or subprocess.run(
    ['docker', 'info'], capture_output=True, check=False).returncode != 0, reason='needs a Docker engine')


def exec_lines(unit, key):
    return [line[len(key) + 1:] for line in unit.splitlines() if line.startswith(key + '=')]


def systemd_argv(text):
    # systemd's quoting as the renderer writes it: "..." words with C escapes, %% and $$ doubled
    return shlex.split(text.lstrip('-').replace('%%', '%').replace('$$', '$'))


def test_unit_container_is_adopted_by_maintainer_container(job_image, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    device = 'gce-h2-%s' % suffix
    name = 'gce-maint-%s' % suffix
    data_root = '%s/%s' % (ci.MOUNT_ROOT, device)
    container = ci.normalize_container({'image': job_image, 'name': name})
    user_data = yaml.safe_load(ci.render_cloud_config(container, device))
    unit = user_data['write_files'][0]['content']
    made_root = not os.path.isdir(ci.MOUNT_ROOT)
    os.makedirs(data_root)
    try:
        for line in exec_lines(unit, 'ExecStartPre'):
            argv = systemd_argv(line)
            if argv[0] == '/usr/bin/docker' and argv[1] == 'rm':
                subprocess.run(['docker'] + argv[1:], capture_output=True, check=False)
        (start,) = exec_lines(unit, 'ExecStart')
        argv = systemd_argv(start)
        assert argv[:3] == ['/usr/bin/docker', 'run', '--detach']
        subprocess.run(['docker'] + argv[1:], capture_output=True, text=True, check=True)

        inspect = json.loads(subprocess.run(['docker', 'container', 'inspect', name], capture_output=True,
                                            text=True, check=True).stdout)[0]
        assert inspect['State']['Running'] is True
        assert inspect['Config']['User'] == '1000:1000'
        assert inspect['Config']['Labels']['gcli.offload.role'] == 'maintainer'
        assert [(m['Source'], m['Destination']) for m in inspect['Mounts']] == [(data_root, '/home/node/dev')]

        args = json.dumps({'name': name, 'image': job_image, 'data_root': data_root})
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), 'ansible'), 'localhost', '-i', 'localhost,', '-c', 'local',
             '-e', 'ansible_python_interpreter=%s' % sys.executable, '-m', 'gcli.offload.maintainer_container',
             '-a', args],
            cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
            env=dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.posix.json',
                     ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg')))
        result = json.loads(proc.stdout[proc.stdout.index('{'):])['plays'][0]['tasks'][0]['hosts']['localhost']
        assert result.get('failed') is not True, result
        assert result['changed'] is False and result['operation'] == 'none', result
        again = json.loads(subprocess.run(['docker', 'container', 'inspect', name], capture_output=True,
                                          text=True, check=True).stdout)[0]
        assert again['Id'] == inspect['Id']  # the same container, not a re-created one
    finally:
        subprocess.run(['docker', 'rm', '--force', name], capture_output=True, check=False)
        shutil.rmtree(data_root, ignore_errors=True)
        if made_root:
            shutil.rmtree(ci.MOUNT_ROOT, ignore_errors=True)
