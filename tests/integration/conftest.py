"""Integration tests: real playbooks against real things (Docker, the emulator,
a registry, sshd on loopback).

Each `fixtures_*.py` beside this file is loaded as a pytest plugin, so every
area keeps its fixtures in its own file, and so is the emulator's
(`tests/emulator/fixtures_emulator.py`: `gce_emulator`, `emulator`);
`tests/emulator` and `tests/` are importable (the emulator harness, shared
helpers).
"""

from __future__ import annotations

import glob
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
for path in (HERE, TESTS, os.path.join(TESTS, 'emulator')):
    if path not in sys.path:
        sys.path.insert(0, path)

pytest_plugins = sorted(
    [os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(HERE, 'fixtures_*.py'))]
    + ['fixtures_emulator'])
# fixtures_* modules import each other; have pytest rewrite their asserts first.
pytest.register_assert_rewrite(*pytest_plugins)
