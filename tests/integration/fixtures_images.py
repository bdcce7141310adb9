"""The images the tests run, each made by the test run itself.

No registry is reachable here, so every image is built locally by
tests/images/build, which skips an image whose recipe did not change. A test
never names an image tag of its own: it asks for it here (a fixture, or
`ensure` from a helper class), so whatever the order or subset of tests that
runs (`-k`, one file alone, random order), the image exists before it is used.
tests/unit/test_suite_images.py keeps it so.
"""

from __future__ import annotations

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, 'tests', 'images', 'build')

# tests/images/build target -> the tag it makes (and that tests use).
IMAGES = {
    'base': 'gcli-offload/debian:bookworm',
    'demo-job': 'gcli-offload/demo-job:latest',
    'gemini-job': 'gcli-offload/gemini-job:latest',
    'worker': 'gcli-offload/worker:latest',
    'cos-worker': 'gcli-offload/cos-worker:latest',
    'cos-vm': 'gcli-offload/cos-vm:latest',
    'maintainer-base': 'gcli-offload/maintainer:base-node20',
    'maintainer': 'gcli-offload/maintainer:local',
}

_built = set()


def ensure(target):
    """Build (or find up to date) the image of a tests/images/build target; return its tag.

    Once per test session and target: the builder's own check costs a few
    `docker image inspect` calls, and it serialises concurrent builds itself.
    """
    tag = IMAGES[target]
    if target not in _built:
        proc = subprocess.run([BUILD, target], capture_output=True, text=True, timeout=3000, check=False)
        if proc.returncode != 0:
            raise RuntimeError('tests/images/build %s failed (exit %d):\n%s' % (
                target, proc.returncode, (proc.stdout + proc.stderr)[-3000:]))
        if subprocess.run(['docker', 'image', 'inspect', tag], capture_output=True, check=False).returncode:
            raise RuntimeError('tests/images/build %s made no image %s' % (target, tag))
        _built.add(target)
    return tag


@pytest.fixture(scope='session')
def job_image():
    """The demo job image (also the local maintainer container's)."""
    return ensure('demo-job')


@pytest.fixture(scope='session')
def gemini_job_image():
    """The demo job image with the stand-in gemini CLI (tests/images/gemini-standin)."""
    return ensure('gemini-job')


@pytest.fixture(scope='session')
def debian_image():
    """The plain Debian base: a stand-in wherever any small image will do."""
    return ensure('base')


@pytest.fixture(scope='session')
def worker_image():
    """The COS-like worker without sshd (docker CLI, no Python, no git)."""
    return ensure('worker')


@pytest.fixture(scope='session')
def cos_worker_image():
    """The COS-like worker reached over SSH."""
    return ensure('cos-worker')


@pytest.fixture(scope='session')
def maintainer_image():
    """The maintainer image built from docker/Dockerfile.maintainer on the local Node 20 base."""
    return ensure('maintainer')


@pytest.fixture(scope='session')
def maintainer_base_image():
    """The local node:20-slim stand-in the maintainer image builds on."""
    return ensure('maintainer-base')
