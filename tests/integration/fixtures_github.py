"""Fixtures for GitHub on loopback: `github`, a FakeGitHub (tests/fixtures/github_fake.py)
with a token-requiring git server and a fake REST API, both on 127.0.0.1, and an upstream
repository `up/calc` (make-upstream's) served by it, its fork `me/calc`, and tokens."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'fixtures'))

from github_fake import FakeGitHub  # noqa: E402  pylint: disable=wrong-import-position
from fixtures_offload import Worker, docker  # noqa: E402  pylint: disable=wrong-import-position

WRITE_TOKEN = 'github_pat_' + 'W' * 71
READ_TOKEN = 'github_pat_' + 'R' * 71


@pytest.fixture
def github(tmp_path):
    """A FakeGitHub with `up/calc` (make-upstream's repository; private: every git request
    needs a token) and its fork `me/calc`; tokens WRITE_TOKEN and READ_TOKEN (read only)."""
    base = tmp_path / 'github'
    base.mkdir()
    seed = base / 'seed.git'
    subprocess.run([os.path.join(ROOT, 'tests/fixtures/make-upstream'), str(seed)], check=True)
    hub = FakeGitHub(base)
    hub.add_token(WRITE_TOKEN)
    hub.add_token(READ_TOKEN, contents='read', pull_requests='read', issues='read')
    hub.add_repo('up/calc', source=str(seed))
    hub.add_repo('me/calc', fork_of='up/calc')
    yield hub
    hub.stop()


def git(*args):
    return subprocess.run(['git'] + list(args), capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def hub_worker(tmp_path, github, job_image):
    """A local worker whose repository is `up/calc` on the loopback GitHub, its maintainer on the host's network."""
    w = Worker(tmp_path, tmp_path, job_image)
    w.vars.update({
        'offload_repo_url': github.git_url('up/calc'),
        'offload_maintainer_extra_mounts': [],
        'offload_maintainer_network': 'host',
        'offload_github_api': github.api_url,
        'offload_gh_token': WRITE_TOKEN,
    })
    yield w
    for name in w.job_containers():
        docker('rm', '-f', name, check=False)
    w.cleanup()


def new_pr(github, head_repo='up/calc', maintainer_can_modify=True):
    """A pull request of up/calc, its own number, from branch feature-N of head_repo (at PR 1's head)."""
    number = random.randint(10 ** 5, 10 ** 8)
    branch = 'feature-%d' % number
    sha = github.ref('up/calc', 'refs/pull/1/head')
    if head_repo != 'up/calc':
        git('-C', github.repo_path(head_repo), 'fetch', '-q', github.repo_path('up/calc'), 'refs/pull/1/head')
    git('-C', github.repo_path(head_repo), 'update-ref', 'refs/heads/' + branch, sha)
    github.add_pull('up/calc', number, head=branch, head_repo=head_repo, maintainer_can_modify=maintainer_can_modify)
    return number, branch, sha
