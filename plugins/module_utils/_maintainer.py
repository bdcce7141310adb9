# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The maintainer container: one definition, for a local worker and a COS VM.

It is long-lived, holds git, and mounts the whole data root at DEV, so the
paths git records in worktrees are the paths job containers see.
"""

from __future__ import annotations

import hashlib
import json

from ansible_collections.gcli.offload.plugins.module_utils._jobs import DEV, JOB_USER
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import LABEL_PREFIX

ROLE_LABEL = LABEL_PREFIX + 'role'


def maintainer_run_args(name, image, data_root, extra_mounts=(), network=''):
    """`docker run` arguments after `run --detach` (no docker binary, no spec label).

    extra_mounts: worker paths mounted read-only at the same path, for
    repositories given as local paths (git resolves them in the container).
    network: a docker network for it ('': docker's default bridge); `host` lets its git
    reach a server on the worker's loopback (a git server of the tests, a tunnel).
    """
    args = ['--name', name, '--restart', 'unless-stopped', '--init',
            '--label', '%s=maintainer' % ROLE_LABEL,
            '--user', JOB_USER,
            '--mount', 'type=bind,source=%s,target=%s' % (data_root, DEV)]
    for path in extra_mounts:
        args += ['--mount', 'type=bind,source=%s,target=%s,readonly' % (path, path)]
    if network:
        args += ['--network', network]
    return args + ['--entrypoint', 'sleep', image, 'infinity']


def spec_hash(run_args):
    return hashlib.sha256(json.dumps(run_args).encode()).hexdigest()[:16]
