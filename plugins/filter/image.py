# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.gcli.offload.plugins.module_utils._image_ref import split_reference
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError


def _image_reference(reference):
    try:
        name, tag, digest = split_reference(reference)
    except InputError as exc:
        raise AnsibleFilterError(exc.message) from None
    return {'name': name, 'tag': tag, 'digest': digest}


class FilterModule:
    def filters(self):
        return {'image_reference': _image_reference}
