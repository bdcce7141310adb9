"""The unit tests' shared helpers (plugin_specs.py) are importable from every folder
under tests/unit, the mirrored tests/unit/plugins/<type>/ included."""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
