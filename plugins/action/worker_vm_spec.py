# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check provision.yml's and teardown.yml's inputs on the controller, before any request."""

from __future__ import annotations

from ansible_collections.gcli.offload.plugins.module_utils._worker_vm import DEFAULTS, worker_vm_spec
from ansible_collections.gcli.offload.plugins.plugin_utils._checks import CheckAction


class ActionModule(CheckAction):
    ARGUMENT_SPEC = dict({name: {'type': 'raw'} for name in DEFAULTS},
                         state={'type': 'str', 'default': 'present', 'choices': ['present', 'absent']})

    def check(self, args):
        return worker_vm_spec(**args)

    def what(self, args):
        return 'provisioning' if args['state'] == 'present' else 'teardown'
