# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A job's log folder on the worker, which the worker's user (root on a COS VM) writes and reads.

`<data_root>/logs` and `<data_root>/logs/<job>` belong to the user that runs the
worker's commands and nobody else can write them, so nothing can be planted in
them (the data root itself belongs to uid 1000 on a COS VM, and so did `logs/`
before). The host scripts (scripts/log_dir.sh) enter each folder without following a link and check
it from inside (later renames of its path change nothing of what they open),
refuse a file name that exists already and create files with noclobber.

The controller fetches a log by its path, which is resolved again: it keeps the
copy only when its first `log_size` bytes have the SHA-256 that the worker's
script measured from inside the folder, so a path redirected in between gives
another file, which is deleted and refused. A follower that read the whole log on
its polls' output (the bytes the same script read from inside the folder) keeps that
copy instead, after the same check (keep_streamed): no second transfer.
"""

from __future__ import annotations

import hashlib
import os

from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.plugin_utils import _kv

# The host scripts' functions (enter_log_dir, measure): put before job_launch.sh and
# log_newest.sh.
LOG_DIR_SCRIPT = 'log_dir.sh'


def measured(out):
    """The log_size and log_sha256 a script printed, or None when it printed none."""
    facts = _kv.parse(out)
    size, digest = facts.get('log_size', '').strip(), facts.get('log_sha256', '').strip()
    if not size.isdigit() or len(digest) != 64:
        return None
    return int(size), digest


def _first_bytes_are(path, size, wanted):
    """Whether the file's first `size` bytes have the SHA-256 `wanted`; the file is cut to them."""
    digest, remaining = hashlib.sha256(), size
    with open(path, 'r+b') as f:
        while remaining:
            chunk = f.read(min(remaining, 1 << 20))
            if not chunk:
                break
            digest.update(chunk)
            remaining -= len(chunk)
        f.truncate(size)
    return not remaining and digest.hexdigest() == wanted


def keep_streamed(streamed, local_path, out):
    """Keep `streamed` (the log as the polls brought it) as local_path when its first bytes
    are what the worker's script measured (out: its log_size, log_sha256); else delete it
    and return False (fetch_log fetches it then)."""
    facts = measured(out)
    if facts is not None and _first_bytes_are(streamed, *facts):
        os.replace(streamed, local_path)
        return True
    os.unlink(streamed)
    return False


def fetch_log(action, worker_path, local_path, out, worker):
    """Fetch worker_path into local_path and keep its first measured bytes; refuse
    (deleting the copy) when they are not what the worker's script measured."""
    facts = measured(out)
    if facts is None:
        raise AnsibleActionFail('the worker %s did not say what its log %s holds: not fetched' % (worker, worker_path))
    size, wanted = facts
    os.makedirs(os.path.dirname(local_path), mode=0o700, exist_ok=True)
    action._connection.fetch_file(worker_path, local_path)
    if not _first_bytes_are(local_path, size, wanted):
        os.unlink(local_path)
        raise AnsibleActionFail(
            'the log %s fetched from %s is not the file the worker checked (its path was redirected while it was '
            'fetched, e.g. through a link in the data root): refused and deleted; check %s on the worker'
            % (worker_path, worker, os.path.dirname(worker_path)))
