"""Fixtures for GitHub on loopback: `github`, a FakeGitHub (tests/fixtures/github_fake.py)
with a token-requiring git server and a fake REST API, both on 127.0.0.1, and an upstream
repository `up/calc` (make-upstream's) served by it, its fork `me/calc`, and tokens."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'fixtures'))

from github_fake import FakeGitHub  # noqa: E402  pylint: disable=wrong-import-position

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
