# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A secret file on the worker, in memory-backed storage only."""

from __future__ import annotations

import hashlib

from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.module_utils._jobs import JOB_UID, MAX_UID, validate_worker_path
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WorkerAction

# Run on the worker; the secret arrives on standard input, never in argv.
# Refuses any directory that is not on a tmpfs (before making it), writes through a temporary file
# in the same directory and renames it into place.
WRITE_SCRIPT = r'''
set -eu
path=$1 uid=$2
dir=${path%/*}
umask 077
# The nearest existing directory tells the file system: nothing is made before.
probe=$dir
while [ ! -d "$probe" ]; do probe=${probe%/*}; probe=${probe:-/}; done
fs=$(stat -f -c %T "$probe")
if [ "$fs" != tmpfs ]; then
  echo "error=$dir is on $fs, not tmpfs: a secret never goes to a persistent disk"
  exit 3
fi
mkdir -p "$dir"
tmp=$(mktemp "$dir/.secret.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
chmod 0600 "$tmp"
chown "$uid:$uid" "$tmp"
mv -f "$tmp" "$path"
trap - EXIT
chown "$uid:$uid" "$dir"
chmod 0700 "$dir"
'''
# Prints the file's sha256, or nothing when it does not exist.
HASH_SCRIPT = r'''
[ -f "$1" ] || exit 0
sha256sum "$1" | cut -d" " -f1
'''


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        'path': {'type': 'str', 'required': True},
        'content': {'type': 'str', 'no_log': True},
        'owner': {'type': 'int', 'default': JOB_UID},
        'state': {'type': 'str', 'default': 'present', 'choices': ['present', 'absent']},
    }
    RANGES = {'owner': (0, MAX_UID, '')}

    def act(self, args, task_vars):
        path = validate_worker_path(args['path'], 'path')
        worker = self._worker_name(task_vars)
        rc, out, err = self.worker_run(['sh', '-c', HASH_SCRIPT, 'hash', path], 'read %s' % path)
        current = out.strip() or None
        if args['state'] == 'absent':
            changed = current is not None
            if changed and not self._task.check_mode:
                self.worker_run(['rm', '-f', path], 'remove %s' % path)
            return {'changed': changed, 'path': path}

        content = args['content']
        if not content:
            raise AnsibleActionFail('content is required with state=present (the secret for %s)' % path)
        wanted = hashlib.sha256(content.encode('utf-8')).hexdigest()
        if current == wanted:
            return {'changed': False, 'path': path}
        if not self._task.check_mode:
            rc, out, err = self.worker_run(['sh', '-c', WRITE_SCRIPT, 'secret', path, str(args['owner'])],
                                           'write the secret %s' % path, stdin=content, check=False)
            if rc != 0:
                reason = out.strip().partition('error=')[2] or (err.strip().splitlines() or ['exit %d' % rc])[-1]
                raise AnsibleActionFail('cannot write the secret %s on %s: %s' % (path, worker, reason))
        return {'changed': True, 'path': path, 'rotated': current is not None}
