# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fixed scripts the controller runs on the worker, read from scripts/.

Each script is a file of its own kind (POSIX sh, checked by shellcheck in
`make lint` and by ansible-test sanity; the egress proxy is Python). The
controller reads it next to this module (so it works from an installed
collection too) and ships its text as today: as the `sh -c` argument, or on
standard input. Inputs never go into the text: they are positional
parameters. The only thing filled in is `@NAME@` (capitals), the collection's own
constants (network names, labels...), so that each has one source.
"""

from __future__ import annotations

import functools
import os
import re

DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'scripts')
PLACEHOLDER = re.compile(r'@([A-Z][A-Z0-9_]*)@')


@functools.lru_cache(maxsize=None)
def _read(name):
    """A script's text without its leading comment lines (they are for its reader and
    shellcheck, not for the worker)."""
    with open(os.path.join(DIRECTORY, name), encoding='utf-8') as f:
        lines = f.read().splitlines(True)
    while lines and lines[0].startswith('#'):
        lines.pop(0)
    return ''.join(lines)


def load(*names, **values):
    """The scripts `names` (files under scripts/), one after the other, with each
    @NAME@ replaced by values[NAME]. Every placeholder must have a value and every
    value a placeholder (a typo would ship a literal @NAME@ to the worker)."""
    text = ''.join(_read(name) for name in names)
    found = set(PLACEHOLDER.findall(text))
    if found != set(values):
        raise ValueError('scripts %s: placeholders %s, values %s' % (
            ', '.join(names), sorted(found), sorted(values)))
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)
