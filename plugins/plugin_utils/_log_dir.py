# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A job's log folder on the worker, which the worker's user (root on a COS VM) writes and reads.

`<data_root>/logs` and `<data_root>/logs/<job>` belong to the user that runs the
worker's commands and nobody else can write them, so nothing can be planted in
them (the data root itself belongs to uid 1000 on a COS VM, and so did `logs/`
before). The host scripts enter each folder without following a link and check
it from inside (later renames of its path change nothing of what they open),
refuse a file name that exists already and create files with noclobber.

The controller fetches a log by its path, which is resolved again: it keeps the
copy only when its first `log_size` bytes have the SHA-256 that the worker's
script measured from inside the folder, so a path redirected in between gives
another file, which is deleted and refused.
"""

from __future__ import annotations

import hashlib
import os

from ansible.errors import AnsibleActionFail

# POSIX sh, coreutils only. enter_log_dir DATA_ROOT JOB CREATE: cd into
# DATA_ROOT/logs/JOB; with CREATE=1 make what is missing (mode 0755) and take
# back, as root, a folder an older version made for uid 1000 (chown -h changes
# a link itself, never what it points to). Returns 2 when a folder is missing
# (CREATE=0), 1 with an error= line when one is refused.
ENTER_LOG_DIR = r'''
enter_log_dir() {
  if [ "$3" != 1 ] && [ ! -e "$1" ]; then return 2; fi
  cd -P -- "$1" 2>/dev/null || { echo "error=cannot enter the data root $1"; return 1; }
  for part in logs "$2"; do
    if [ ! -e "$part" ] && [ ! -L "$part" ]; then
      [ "$3" = 1 ] || return 2
      mkdir -m 0755 -- "$part" 2>/dev/null || true
    elif [ "$3" = 1 ] && [ "$(id -u)" = 0 ] && [ "$(stat -c %u -- "$part")" != 0 ]; then
      chown -h 0:0 -- "$part"
    fi
    if [ -L "$part" ] || [ ! -d "$part" ]; then
      echo "error=$PWD/$part is a link or not a directory: refusing to follow it (remove it)"
      return 1
    fi
    parent=$(stat -c %d:%i .)
    cd -P -- "$part" || return 1
    mode=$(stat -c %a .)
    if [ "$(stat -c %d:%i ..)" != "$parent" ] || [ "$(stat -c %u .)" != "$(id -u)" ] \
       || [ $(( 0$mode & 022 )) != 0 ]; then
      echo "error=$PWD must be a folder of uid $(id -u) that no one else can write, found uid $(stat -c %u .) mode $mode: refusing it"
      return 1
    fi
  done
}
# measure FILE: its size and the SHA-256 of that many bytes (it may still grow).
measure() {
  size=$(wc -c <"$1")
  echo "log_size=$size"
  echo "log_sha256=$(head -c "$size" <"$1" | sha256sum | cut -d' ' -f1)"
}
'''


def measured(out):
    """The log_size and log_sha256 a script printed, or None when it printed none."""
    facts = {}
    for line in out.splitlines():
        key, sep, value = line.partition('=')
        if sep and key in ('log_size', 'log_sha256'):
            facts[key] = value.strip()
    if not facts.get('log_size', '').isdigit() or len(facts.get('log_sha256', '')) != 64:
        return None
    return int(facts['log_size']), facts['log_sha256']


def fetch_log(action, worker_path, local_path, out, worker):
    """Fetch worker_path into local_path and keep its first measured bytes; refuse
    (deleting the copy) when they are not what the worker's script measured."""
    facts = measured(out)
    if facts is None:
        raise AnsibleActionFail('the worker %s did not say what its log %s holds: not fetched' % (worker, worker_path))
    size, wanted = facts
    os.makedirs(os.path.dirname(local_path), mode=0o700, exist_ok=True)
    action._connection.fetch_file(worker_path, local_path)
    digest, remaining = hashlib.sha256(), size
    with open(local_path, 'r+b') as f:
        while remaining:
            chunk = f.read(min(remaining, 1 << 20))
            if not chunk:
                break
            digest.update(chunk)
            remaining -= len(chunk)
        f.truncate(size)
    if remaining or digest.hexdigest() != wanted:
        os.unlink(local_path)
        raise AnsibleActionFail(
            'the log %s fetched from %s is not the file the worker checked (its path was redirected while it was '
            'fetched, e.g. through a link in the data root): refused and deleted; check %s on the worker'
            % (worker_path, worker, os.path.dirname(worker_path)))
