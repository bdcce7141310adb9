# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check image_pipeline.yml's inputs on the controller, before any request."""

from __future__ import annotations

from ansible_collections.gcli.offload.plugins.module_utils._pipeline import DEFAULTS, pipeline_spec
from ansible_collections.gcli.offload.plugins.plugin_utils._checks import CheckAction


class ActionModule(CheckAction):
    # raw: the types are checked by pipeline_spec, whose messages name the playbook variable.
    ARGUMENT_SPEC = {name: {'type': 'raw', 'default': default} for name, default in DEFAULTS.items()}

    def check(self, args):
        return pipeline_spec(**args)

    def what(self, args):
        return 'image pipeline'
