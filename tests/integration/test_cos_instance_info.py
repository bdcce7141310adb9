"""cos_instance_info and status.yml's VM play through real ansible-playbook runs against the Compute Engine emulator.

A read is proven by the emulator's request log: one GET of the instance, no mutating
request, in check mode or not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from fixtures_emulator import create_running_instance

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = 'emu-project'
ZONE = 'us-central1-a'


def ansible(argv, emulator, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(('CLOUDSDK_', 'GCP_', 'GOOGLE_', 'GCE_METADATA'))}
    env.update(CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=emulator.compute_endpoint, CLOUDSDK_CORE_PROJECT=PROJECT,
               GCP_AUTH_KIND='accesstoken', CLOUDSDK_AUTH_ACCESS_TOKEN='unused-token',
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    if '--json' in argv:
        argv = [a for a in argv if a != '--json']
        env['ANSIBLE_STDOUT_CALLBACK'] = 'ansible.posix.json'
    full = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % sys.executable] + argv
    return subprocess.run(full, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600, check=False)


def read(emulator, tmp_path, name, check=False):
    """cos_instance_info's result for `name`, through a playbook of one task."""
    path = tmp_path / 'read.yml'
    path.write_text(yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'gcli.offload.cos_instance_info': {'name': name, 'zone': ZONE}, 'ignore_errors': True}]}]))
    proc = ansible([str(path), '--json'] + (['--check'] if check else []), emulator, tmp_path)
    data = json.loads(proc.stdout[proc.stdout.index('{'):])
    return data['plays'][0]['tasks'][0]['hosts']['localhost']


@pytest.mark.parametrize('check', [False, True], ids=['run', 'check-mode'])
def test_it_reads_the_vm_with_one_get_and_changes_nothing(emulator, tmp_path, check):
    create_running_instance(emulator, 'w1')
    mark = emulator.mark()
    result = read(emulator, tmp_path, 'w1', check=check)
    assert result.get('failed') is not True, result
    assert result['changed'] is False and result['exists'] is True
    view = result['instance']
    assert view['name'] == 'w1' and view['status'] == 'RUNNING' and view['zone'] == ZONE
    assert view['internal_ip'] and view['self_link'].endswith('/instances/w1')
    assert emulator.mutating_requests(since=mark) == []
    gets = [r for r in emulator.requests(since=mark) if r['path'].endswith('/instances/w1')]
    assert [r['method'] for r in gets] == ['GET']


def test_a_missing_vm_is_no_failure(emulator, tmp_path):
    mark = emulator.mark()
    result = read(emulator, tmp_path, 'nothing-here')
    assert result.get('failed') is not True, result
    assert result['exists'] is False and result['instance'] is None and result['changed'] is False
    assert emulator.mutating_requests(since=mark) == []


def test_a_bad_name_is_refused_before_any_request(emulator, tmp_path):
    mark = emulator.mark()
    result = read(emulator, tmp_path, '../../global/x')
    assert result['failed'] is True and 'name: must be a Compute Engine name' in result['msg']
    assert emulator.requests(since=mark) == []


def test_status_shows_the_vm_and_says_when_there_is_none(emulator, tmp_path):
    """status.yml's first play (the jobs' play needs a worker: none is in this inventory)."""
    create_running_instance(emulator, 'w1')
    mark = emulator.mark()
    playbook = os.path.join(ROOT, 'playbooks', 'status.yml')
    proc = ansible([playbook, '-e', 'offload_worker_name=w1'], emulator, tmp_path)
    assert 'w1: RUNNING, external IP' in proc.stdout, proc.stdout[-3000:]
    proc = ansible([playbook, '-e', 'offload_worker_name=gone'], emulator, tmp_path)
    assert 'gone: no such instance in us-central1-a (provision.yml creates it)' in proc.stdout, proc.stdout[-3000:]
    assert emulator.mutating_requests(since=mark) == []
