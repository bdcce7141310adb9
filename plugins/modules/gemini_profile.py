#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: gemini_profile
short_description: Mirror the gemini CLI's profile from the controller to an offload worker
version_added: 0.1.0
description:
  - Mirrors the directory O(src) on the controller (a gemini profile of its own, such as
    C(~/.config/gcli-offload/gemini), not your whole C(~/.gemini)) to the worker's C(<data_root>/gemini), which
    jobs mount read-only at C(/home/node/.gemini). When O(src) does not exist, the collection's default settings
    are mirrored instead.
  - The collection's tool policy is always added under C(offload/) (C(review.toml), C(agent.toml),
    C(review-settings.json)), and the entrypoint gives the gemini CLI the one of the job's action. A C(offload/) of
    O(src)'s own is refused.
  - Changes the worker only when the content differs (every file's SHA-256, mode and name, and the directories,
    compared with what the worker has); the files are then written anew as a whole, into a new directory that
    replaces the old one.
  - Refuses, on the controller and before the worker is touched, a link that leads out of O(src), a link to a
    directory, anything that is neither a file nor a directory, names with characters other than letters, digits
    and C(_@+=,.-), and profiles over 64 MiB. A link to a file inside O(src) is mirrored as a copy of the file; the
    worker never gets a link.
  - The write runs in the maintainer container as root (the worker host has no tar), never following a link; the
    files are root's, readable by the job user, writable by nobody else.
options:
  src:
    description: The profile directory on the controller.
    type: path
  maintainer:
    description: The maintainer container (it mounts the data root).
    type: str
    default: maintainer-worker
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - gcli.offload.worker
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: the files as C(kind mode sha256 path) lines, before and after.
  platform:
    platforms: posix
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Mirror the gemini profile
  gcli.offload.gemini_profile:
    src: ~/.config/gcli-offload/gemini
'''

RETURN = r'''
source:
  description: Where the profile came from, V(directory) (O(src)) or V(bundled) (O(src) does not exist).
  returned: always
  type: str
  sample: directory
files:
  description: The profile's files, relative to it.
  returned: always
  type: list
  elements: str
  sample: [offload/agent.toml, offload/review.toml, settings.json]
'''
