#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: maintainer_container
short_description: Ensure the worker's long-lived maintainer container
version_added: 0.1.0
description:
  - Ensures the long-lived maintainer container on a worker. It holds git for the jobs' worktrees
    (the worker host has none) and mounts the whole data root at C(/home/node/dev), so the paths git
    records are the paths job containers see.
  - Recreates the container when its definition changed (image, name or data root), starts it when stopped,
    and creates the data directories C(main), C(worktrees), C(gemini) and C(logs) owned by the job user (uid 1000).
options:
  name:
    description: The container's name.
    type: str
    default: maintainer-worker
  image:
    description: The maintainer image; it needs C(git), C(flock) and C(sleep).
    type: str
    required: true
  data_root:
    description: The worker directory with the data (created when missing).
    type: str
    required: true
  extra_mounts:
    description:
      - Worker paths mounted read-only at the same path, for repositories given as worker-local paths
        (git resolves them inside this container).
    type: list
    elements: str
    default: []
  network:
    description:
      - The docker network the container is on; empty is docker's default bridge. C(host) lets its git
        reach a server on the worker's own loopback (a tunnel, a local git server).
      - Jobs never share it (each job container is on the collection's job network).
    type: str
    default: ''
  state:
    description: C(started) ensures it runs; C(absent) removes it (the data stays).
    type: str
    default: started
    choices: [started, absent]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - gcli.offload.worker
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Ensure the maintainer container
  gcli.offload.maintainer_container:
    image: us-docker.pkg.dev/my-project/offload/maintainer:latest
    data_root: /mnt/disks/offload
'''

RETURN = r'''
container:
  description: The container's name.
  returned: always
  type: str
  sample: maintainer-worker
operation:
  description: What was done (or would be in check mode).
  returned: when O(state=started)
  type: str
  choices: [none, create, recreate, start]
  sample: none
'''
