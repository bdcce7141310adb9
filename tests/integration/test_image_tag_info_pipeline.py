"""The pipeline's tag step and image_tag_info agree: the tag step of docker/maintainer-worker.yml
(its script, taken from the YAML, run as Cloud Build runs it) computes the tags of a push to main
and of pull requests; an image pushed under those tags to the loopback registry is then found
by image_tag_info from the branch name alone (a real ansible-playbook run)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHA = 'c0ffee1'

CASES = [
    # (branch as Cloud Build gives it, pull request?, image_tag_info args)
    ('main', False, {'branch': 'main'}),
    ('feature/Faster.Build', True, {'branch': 'feature/Faster.Build', 'pull_request': True}),
    ('ünïcode/ブランチ', True, {'branch': 'ünïcode/ブランチ', 'pull_request': True}),
    ('main', True, {'branch': 'main', 'pull_request': True}),  # a fork's main: tagged main, never latest
    ('x' * 200, True, {'branch': 'x' * 200, 'pull_request': True}),
]


def tag_step_script():
    with open(os.path.join(ROOT, 'docker', 'maintainer-worker.yml'), encoding='utf-8') as f:
        config = yaml.safe_load(f)
    (step,) = [s for s in config['steps'] if s.get('id') == 'tags']
    return step['script']


def run_tag_step(tmp_path, branch, pull_request):
    """The step's script in a workspace holding what it reads, with the system python3 (no Ansible)."""
    ws = tmp_path / ('ws-%s' % uuid.uuid4().hex[:6])
    (ws / 'plugins' / 'module_utils').mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, 'plugins', 'module_utils', '_image_tags.py'), ws / 'plugins' / 'module_utils')
    env = {'PATH': '/usr/bin:/bin', 'BRANCH_NAME': branch, 'SHORT_SHA': SHA, 'PROJECT_ID': 'p'}
    if pull_request:
        env.update(_PR_NUMBER='7', _HEAD_BRANCH=branch, _BASE_BRANCH='main')
    proc = subprocess.run(['bash', '-c', tag_step_script()], cwd=str(ws), env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return (ws / 'image-tags.txt').read_text(encoding='utf-8').splitlines()


def test_tag_step_and_module_agree(tmp_path, registry, oci_layout):
    ns = 'pipe%s' % uuid.uuid4().hex[:6]
    image = '%s/%s/offload/maintainer' % (registry.host, ns)
    pushed = []
    for i, (branch, pr, _args) in enumerate(CASES):
        tags = run_tag_step(tmp_path, branch, pr)
        assert tags[-1] == SHA and len(tags) == 2
        layout = oci_layout('%s-%d' % (ns, i), 'build %d %s' % (i, ns))
        registry.push(layout, '%s-%d' % (ns, i), '%s/offload/maintainer:%s' % (ns, tags[0]))
        pushed.append(tags[0])
    assert pushed[0] == 'latest' and pushed[3] == 'main'

    play = [{'name': 'resolve', 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
             'tasks': [{'name': 'case %d' % i, 'ignore_errors': True,
                        'gcli.offload.image_tag_info': dict(args, image=image, plain_http=True)}
                       for i, (_b, _pr, args) in enumerate(CASES)]}]
    path = tmp_path / 'play.yml'
    path.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_LOCALHOST_WARNING='false',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
    proc = subprocess.run(['ansible-playbook', str(path)], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    results = [t['hosts']['localhost'] for t in json.loads(proc.stdout)['plays'][0]['tasks']]
    for (branch, _pr, _args), tag, res in zip(CASES, pushed, results):
        assert not res.get('failed'), (branch, res.get('msg'))
        assert res['tag'] == tag and res['fallback_used'] is False, branch
        assert res['digest'] == registry.raw_digest('%s/offload/maintainer:%s' % (ns, tag)), branch


@pytest.mark.parametrize('branch', ['feature/x', 'main'])
def test_push_builds_resolve_from_the_plain_branch(tmp_path, branch):
    """A push build of a branch and image_tag_info's default (pull_request false) use the same rule."""
    from ansible_collections.gcli.offload.plugins.modules import image_tag_info as mod
    tags = run_tag_step(tmp_path, branch, False)
    assert mod.requested_tag({'tag': None, 'branch': branch, 'pull_request': False}) == tags[0]
