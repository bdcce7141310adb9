# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A local emulator of the Google APIs gcli.offload uses (test infrastructure).

Modules, one per API: `core` (HTTP server, routing, errors, request log,
faults), `compute` (Compute Engine v1, a package with one module per
resource), `cloudbuild` (Cloud Build v1 triggers), `metadata` (GCE metadata
server and OAuth token endpoint), `control` (the `/_emulator/` control API),
`batch` (the batch endpoint); `seeds` holds the seeded data.
"""
