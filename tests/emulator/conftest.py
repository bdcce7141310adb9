# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The emulator's own tests: its units in process, and its API as the client
library and the real `gcloud` see it. `gce_emulator` and `harness` are
importable; `fixtures_emulator` (the `gce_emulator` and `emulator` fixtures)
is the plugin the integration tests load too, so one run shares one process.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

pytest_plugins = ['fixtures_emulator']
