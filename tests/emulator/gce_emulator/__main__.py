# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""python -m gce_emulator (with tests/emulator on the path): see tests/emulator/run."""

import sys

from .server import main

sys.exit(main())
