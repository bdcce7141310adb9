"""Make the checkout importable as ansible_collections.gcli.offload (see Makefile),
and the fixtures every kind of test uses."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


@pytest.fixture
def noexec_dir(tmp_path):
    """A tmpfs mounted noexec (a Path), as a data disk mounted without exec (or a data
    root on COS's /home, /var, /tmp) would be. Needs the right to mount: skipped without."""
    target = tmp_path / 'noexec'
    target.mkdir()
    proc = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'noexec,size=256m', 'tmpfs', str(target)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip('cannot mount a tmpfs here: %s' % proc.stderr.strip())
    yield target
    # lazily: a container that used it may still be going away
    subprocess.run(['umount', '--lazy', str(target)], check=True)
