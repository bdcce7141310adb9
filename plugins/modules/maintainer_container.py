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
  - A container running O(image)'s repository by digest (C(name@sha256:...), as provision.yml deploys it with
    C(offload_maintainer_image_pin)) while O(image) is a tag of it is kept as it is, and RV(image) is that pinned
    reference, for the jobs of the same image to run.
  - With O(refresh), the tag of O(image) is pulled on the worker. When it moved (another image than the container's),
    the container is recreated from it, unless a job of this data root runs; then it is kept, with a warning.
    RV(digest) says which digest the container runs.
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
  refresh:
    description:
      - Pull O(image)'s tag on the worker (with the worker's docker configuration, so its registry credentials) and
        recreate the container when the tag moved and no job runs. Not in check mode (nothing is pulled), not for an
        O(image) given by digest.
    type: bool
    default: false
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
  choices: [none, create, recreate, start, refresh]
  sample: none
refresh:
  description:
    - With O(refresh) (or a pinned container), what the tag check found. V(current) the container runs the tag's
      image; V(refreshed) the tag had moved and the container was made again from it; V(held) the tag moved but a job
      runs, so the container was kept; V(unchecked) the tag could not be pulled (RV(refresh_error) says why) or
      check mode.
  returned: when O(refresh) and O(state=started)
  type: str
  choices: [current, refreshed, held, unchecked]
refresh_error:
  description: Why the tag was not checked.
  returned: when RV(refresh) is V(unchecked)
  type: str
digest:
  description: The repository digest of the image the container runs (null when the image has none).
  returned: when O(refresh), or the container is pinned
  type: str
  sample: sha256:4f9f0ce1a8f95ab0b1e0b43db0f4b4b70ea5f1b5d1b1d83a8c0f8e3b6f4b2c11
image_id:
  description: The local image id the container runs (after a refresh, the new one).
  returned: when O(refresh) and the tag was checked
  type: str
latest_digest:
  description: The digest the tag points at now (differs from RV(digest) when RV(refresh) is V(held)).
  returned: when the tag was checked
  type: str
blocked_by:
  description: The running jobs that held the refresh.
  returned: when the tag moved
  type: list
  elements: str
image:
  description: The pinned reference the container runs (C(name@sha256:...)); jobs of the same image run it.
  returned: when the container is pinned
  type: str
pinned:
  description: Whether the container runs O(image)'s repository pinned by digest (and was kept so).
  returned: when the container is pinned
  type: bool
'''
