# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker/maintainer-worker.yml, run here: its steps' scripts, taken from the YAML, run
with the environment Cloud Build gives them (automapSubstitutions), in a workspace laid
out as Cloud Build checks the repository out.

- the tag step, for a push to main, pull requests and other branches, gives exactly
  the tags the collection's rule (module_utils/_image_tags.py) gives;
- the build and push steps, with a stub docker, build and push those tags;
- the three steps end to end with the real Docker engine, pushing to a registry on
  loopback (the `registry` fixture); only the base image and the npm tools differ from
  Cloud Build (no registry to pull node:20-slim from, no npm registry here), through
  a `docker` wrapper that adds the two build arguments;
- the real gcloud CLI reads the file as a build config (its parser rejects unknown
  fields) and sends it to a stand-in Cloud Build endpoint on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import uuid

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import yaml

from ansible_collections.gcli.offload.plugins.module_utils import _image_tags as it
from fixtures_images import ensure

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PIPELINE = os.path.join(ROOT, 'docker', 'maintainer-worker.yml')
SHA = '4f2a9c1'
PREFIX = 'gcli-offload-img-'


def config():
    with open(PIPELINE, encoding='utf-8') as f:
        return yaml.safe_load(f)


def step(step_id):
    (s,) = [s for s in config()['steps'] if s.get('id') == step_id]
    return s


def plain_python_dir(tmp_path):
    """A PATH entry whose python3 is the system's (no Ansible), like python:3.12-slim's."""
    d = tmp_path / 'pybin'
    d.mkdir(exist_ok=True)
    system = shutil.which('python3', path='/usr/bin:/bin') or shutil.which('python3')
    if not (d / 'python3').exists():
        os.symlink(system, d / 'python3')
    return str(d)


@pytest.fixture
def workspace(tmp_path):
    """/workspace: the parts of the checkout the steps read."""
    ws = tmp_path / 'workspace'
    (ws / 'plugins' / 'module_utils').mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, 'plugins', 'module_utils', '_image_tags.py'), ws / 'plugins' / 'module_utils')
    shutil.copytree(os.path.join(ROOT, 'docker'), ws / 'docker')
    return ws


def cloud_build_env(branch, pr=None, head_branch=None, short_sha=SHA, **extra):
    """The environment of a step: every substitution, built-in and user, as a variable."""
    env = {'PROJECT_ID': 'my-proj', 'PROJECT_NUMBER': '123456789', 'BUILD_ID': str(uuid.uuid4()),
           'LOCATION': 'us-central1', 'TRIGGER_NAME': 'maintainer-image',
           'COMMIT_SHA': short_sha + '0' * (40 - len(short_sha)) if short_sha else '', 'SHORT_SHA': short_sha,
           'REVISION_ID': short_sha, 'BRANCH_NAME': branch, 'REF_NAME': branch, 'TAG_NAME': '',
           'REPO_NAME': 'gemini-cli', 'REPO_FULL_NAME': 'acme/gemini-cli',
           'TRIGGER_BUILD_CONFIG_PATH': 'docker/maintainer-worker.yml'}
    env.update({k: str(v) for k, v in config()['substitutions'].items()})
    if pr is not None:
        env.update({'_PR_NUMBER': str(pr), '_HEAD_BRANCH': head_branch if head_branch is not None else branch,
                    '_BASE_BRANCH': 'main', '_HEAD_REPO_URL': 'https://github.com/someone/gemini-cli'})
    env.update(extra)
    return env


def run_step(step_id, workspace, env, path_prefix=()):
    script = step(step_id)['script']
    first = script.splitlines()[0]
    assert first.startswith('#!'), 'a script step names its shell'
    interpreter = first[2:].split()
    if interpreter[0] == '/usr/bin/env':
        interpreter = interpreter[1:]
    path = os.pathsep.join(list(path_prefix) + [os.environ['PATH']])
    return subprocess.run(interpreter + ['-c', script], cwd=str(workspace), env={**env, 'PATH': path},
                          capture_output=True, text=True, timeout=1800, check=False)


def tags_of(workspace, tmp_path, env):
    proc = run_step('tags', workspace, env, [plain_python_dir(tmp_path)])
    assert proc.returncode == 0, proc.stderr
    with open(workspace / 'image-tags.txt', encoding='utf-8') as f:
        return f.read().splitlines()


# --- the config ------------------------------------------------------------------------

def test_config_shape():
    cfg = config()
    assert [s['id'] for s in cfg['steps']] == ['tags', 'build', 'push']
    assert set(cfg['substitutions']) >= {'_LOCATION', '_REPO'}
    assert cfg['options']['automapSubstitutions'] is True
    for s in cfg['steps']:
        assert 'args' not in s and 'entrypoint' not in s  # script steps only
        assert '$$' not in s['script']  # nothing pasted in as substitution text
    assert '--file docker/Dockerfile.maintainer --target maintainer' in step('build')['script']
    assert '-docker.pkg.dev}/${PROJECT_ID}/${_REPO}/maintainer' in step('build')['script']


def test_no_second_copy_of_the_rule():
    """The tags come from _image_tags.py; no sed/tr/bash case-folding re-implements it."""
    text = open(PIPELINE, encoding='utf-8').read()
    assert 'plugins/module_utils/_image_tags.py' in step('tags')['script']
    for needle in ('sed ', 'tr ', ',,', 'tolower', '[^a-z0-9]', 'a-z0-9]/', 'lower()'):
        assert needle not in text, needle


# --- the tag step ----------------------------------------------------------------------

@pytest.mark.parametrize('branch,pr,head,expected', [
    ('main', None, None, ['latest', SHA]),                                  # push to main
    ('feature/Foo.Bar', 42, None, ['feature-foo-bar', SHA]),                # a pull request
    ('main', 43, None, ['main', SHA]),                                      # a PR from a fork's main
    ('release/2.0', None, None, ['release-2-0', SHA]),                      # push to another branch
    ('ünïcode/ブランチ', 44, None, [it.branch_to_tag('ünïcode/ブランチ'), SHA]),
    ('x' * 300, 45, None, [it.branch_to_tag('x' * 300), SHA]),
    ('latest', 46, None, ['latest-' + it.branch_hash('latest'), SHA]),
    ('ignored', 47, 'fix/from-head', ['fix-from-head', SHA]),               # _HEAD_BRANCH wins
])
def test_tag_step_gives_the_rule_s_tags(workspace, tmp_path, branch, pr, head, expected):
    tags = tags_of(workspace, tmp_path, cloud_build_env(branch, pr=pr, head_branch=head))
    assert tags == expected
    assert tags == it.tags_for_build(head or branch, SHA, pull_request=pr is not None)
    if pr is None:
        assert tags[0] == it.branch_to_tag(branch)  # what image_tag_info resolves the branch to
    assert all(it.is_valid_tag(t) for t in tags)


def test_tag_step_without_a_commit_fails_clearly(workspace, tmp_path):
    proc = run_step('tags', workspace, cloud_build_env('main', short_sha=''), [plain_python_dir(tmp_path)])
    assert proc.returncode != 0
    assert 'no commit: run this config from a trigger' in proc.stderr


def test_tag_step_for_a_build_submitted_by_hand(workspace, tmp_path):
    env = cloud_build_env('', short_sha='', _BRANCH='feature/manual', _SHORT_SHA='0123abc')
    assert tags_of(workspace, tmp_path, env) == ['feature-manual', '0123abc']


def test_tag_step_runs_on_a_plain_python(workspace, tmp_path):
    """The step's python has no Ansible: the rule's file must not need it."""
    py = os.path.join(plain_python_dir(tmp_path), 'python3')
    probe = subprocess.run([py, '-I', '-c', 'import ansible'], capture_output=True, check=False)
    if probe.returncode == 0:
        pytest.skip('the system python3 has Ansible: not a plain python')
    assert tags_of(workspace, tmp_path, cloud_build_env('main')) == ['latest', SHA]


# --- the build and push steps, with a stub docker ------------------------------------------

@pytest.fixture
def stub_docker(tmp_path):
    d = tmp_path / 'stubbin'
    d.mkdir()
    log = tmp_path / 'docker.log'
    (d / 'docker').write_text('#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s"\n' % log)
    (d / 'docker').chmod(0o755)
    return str(d), log


def test_build_and_push_steps_use_the_tags(workspace, tmp_path, stub_docker):
    stub_dir, log = stub_docker
    env = cloud_build_env('feature/x', pr=9)
    tags_of(workspace, tmp_path, env)
    for step_id in ('build', 'push'):
        proc = run_step(step_id, workspace, env, [stub_dir])
        assert proc.returncode == 0, proc.stderr
    image = 'us-docker.pkg.dev/my-proj/offload/maintainer'
    assert log.read_text().splitlines() == [
        'build --file docker/Dockerfile.maintainer --target maintainer --tag %s:feature-x --tag %s:%s docker/'
        % (image, image, SHA),
        'push --all-tags %s' % image,
    ]


@pytest.mark.parametrize('override', [{'_REPO': 'Bad Repo'}, {'_LOCATION': 'us;rm'}, {'PROJECT_ID': ''}])
def test_build_step_refuses_bad_substitutions(workspace, tmp_path, stub_docker, override):
    stub_dir, log = stub_docker
    env = cloud_build_env('main')
    tags_of(workspace, tmp_path, env)
    proc = run_step('build', workspace, dict(env, **override), [stub_dir])
    assert proc.returncode != 0
    assert 'is not a valid name' in proc.stderr
    assert not log.exists()  # docker never ran


def test_registry_override(workspace, tmp_path, stub_docker):
    stub_dir, log = stub_docker
    env = cloud_build_env('main', _REGISTRY='europe-docker.pkg.dev', _REPO='tools')
    tags_of(workspace, tmp_path, env)
    assert run_step('build', workspace, env, [stub_dir]).returncode == 0
    assert '--tag europe-docker.pkg.dev/my-proj/tools/maintainer:latest' in log.read_text()


# --- end to end: the real Docker engine and a registry on loopback ------------------------------

def docker_ok():
    return shutil.which('docker') is not None and subprocess.run(
        ['docker', 'info'], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope='module')
def node_base():
    if not docker_ok():
        pytest.skip('needs a Docker engine')
    ensure('maintainer')  # builds its base too
    return ensure('maintainer-base')


@pytest.mark.parametrize('branch,pr', [('main', None), ('feature/Tag-Rule', 51)])
def test_pipeline_end_to_end_pushes_the_rule_s_tags(workspace, tmp_path, registry, node_base, branch, pr):
    project = PREFIX + uuid.uuid4().hex[:8]
    wrapper = tmp_path / 'wrapbin'
    wrapper.mkdir()
    real = shutil.which('docker')
    (wrapper / 'docker').write_text(
        '#!/bin/sh\n'
        '# only what cannot be had here: the base image and the npm registry\n'
        'if [ "$1" = build ]; then shift; exec %s build --quiet --build-arg BASE_IMAGE=%s '
        '--build-arg NPM_GLOBAL_TOOLS= "$@"; fi\n'
        'exec %s "$@"\n' % (real, node_base, real))
    (wrapper / 'docker').chmod(0o755)
    env = cloud_build_env(branch, pr=pr, _REGISTRY=registry.host, PROJECT_ID=project)
    image = '%s/%s/offload/maintainer' % (registry.host, project)
    expected = it.tags_for_build(branch, SHA, pull_request=pr is not None)
    try:
        assert tags_of(workspace, tmp_path, env) == expected
        for step_id in ('build', 'push'):
            proc = run_step(step_id, workspace, env, [str(wrapper)])
            assert proc.returncode == 0, step_id + ': ' + proc.stdout + proc.stderr
        r = requests.get('http://%s/v2/%s/offload/maintainer/tags/list' % (registry.host, project), timeout=10)
        assert r.status_code == 200, r.text
        assert sorted(r.json()['tags']) == sorted(expected)
        # every tag names the one image that was built
        digests = set()
        for tag in expected:
            m = requests.get('http://%s/v2/%s/offload/maintainer/manifests/%s' % (registry.host, project, tag),
                             headers={'Accept': 'application/vnd.docker.distribution.manifest.v2+json'},
                             timeout=10)
            assert m.status_code == 200
            digests.add(m.headers['Docker-Content-Digest'])
        assert len(digests) == 1
        local = subprocess.run(['docker', 'image', 'inspect', '-f', '{{json .RepoDigests}}', image + ':' + SHA],
                               capture_output=True, text=True, check=True).stdout
        assert digests.pop() in local
    finally:
        for tag in expected:
            subprocess.run(['docker', 'rmi', image + ':' + tag], capture_output=True, check=False)


@pytest.mark.skipif(shutil.which('shellcheck') is None, reason='needs shellcheck (tests/setup/apt-deps)')
@pytest.mark.parametrize('step_id', ['tags', 'build', 'push'])
def test_step_scripts_are_shellcheck_clean(tmp_path, step_id):
    path = tmp_path / (step_id + '.sh')
    path.write_text(step(step_id)['script'])
    proc = subprocess.run(['shellcheck', str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


# --- the real gcloud reads the config ---------------------------------------------------------

class FakeCloudBuild:
    """builds.create on loopback: records each request and answers a queued build."""

    def __init__(self):
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = json.loads(self.rfile.read(length) or b'{}')
                outer.requests.append((self.path, body))
                build = dict(body, id='b-1', projectId='my-proj', status='QUEUED', logUrl='http://127.0.0.1/log')
                out = json.dumps({'name': 'projects/my-proj/locations/global/operations/o-1', 'metadata': {
                    '@type': 'type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata',
                    'build': build}}).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d/' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def cloudbuild(tmp_path):
    if shutil.which('gcloud') is None:
        pytest.skip('needs the gcloud CLI')
    fake = FakeCloudBuild()
    env = dict(os.environ, CLOUDSDK_CONFIG=str(tmp_path / 'gcloud'), CLOUDSDK_CORE_DISABLE_PROMPTS='1',
               CLOUDSDK_AUTH_DISABLE_CREDENTIALS='true', CLOUDSDK_CORE_PROJECT='my-proj',
               CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD=fake.url)

    def submit(config_path, *extra):
        return subprocess.run(['gcloud', 'builds', 'submit', '--no-source', '--async', '--config', config_path,
                               *extra], capture_output=True, text=True, env=env, timeout=120, check=False)
    fake.submit = submit
    yield fake
    fake.stop()


def test_gcloud_reads_the_config_and_sends_it(cloudbuild):
    proc = cloudbuild.submit(PIPELINE, '--substitutions=_BRANCH=main,_SHORT_SHA=%s,_REPO=tools' % SHA)
    assert proc.returncode == 0, proc.stderr
    (path, body), = cloudbuild.requests
    assert path.startswith('/v1/projects/my-proj/locations/global/builds')
    assert [s['id'] for s in body['steps']] == ['tags', 'build', 'push']
    assert body['options'] == {'automapSubstitutions': True, 'substitutionOption': 'ALLOW_LOOSE',
                               'logging': 'CLOUD_LOGGING_ONLY'}
    assert body['substitutions'] == {'_LOCATION': 'us', '_REPO': 'tools', '_REGISTRY': '',
                                     '_BRANCH': 'main', '_SHORT_SHA': SHA}
    assert [s['script'] for s in body['steps']] == [s['script'] for s in config()['steps']]


def test_gcloud_rejects_a_config_with_an_unknown_field(cloudbuild, tmp_path):
    """The check above can fail: gcloud's parser refuses a misspelt field before sending."""
    bad = tmp_path / 'bad.yml'
    bad.write_text(open(PIPELINE, encoding='utf-8').read().replace('automapSubstitutions', 'automapSubstitution'))
    proc = cloudbuild.submit(str(bad))
    assert proc.returncode != 0
    assert 'automapSubstitution' in proc.stderr
    assert cloudbuild.requests == []
