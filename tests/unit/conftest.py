"""The unit tests' shared helpers (plugin_specs.py, fake_worker.py) are importable from
every folder under tests/unit, the mirrored tests/unit/plugins/<type>/ included;
`worker` is a fresh fake worker (see fake_worker.py)."""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from fake_worker import FakeWorker  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def worker():
    return FakeWorker()
