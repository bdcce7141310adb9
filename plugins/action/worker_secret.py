# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A secret file on the worker, in memory-backed storage only."""

from __future__ import annotations

import hashlib
import re

from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    JOB_UID,
    MAX_UID,
    validate_host_dir,
    validate_worker_path,
)
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WorkerAction

# Run on the worker; the secret arrives on standard input, never in argv.
# Refuses any directory that is not on a tmpfs (before making it), writes through a temporary file
# in the same directory and renames it into place. Only a directory it makes itself is given to the
# job user (0700); an existing one is left as it is, and refused when others may write to it (they
# could replace the secret).
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
made=0
if [ -d "$dir" ]; then
  case $(stat -c %A "$dir") in
    ?????w????* | ????????w?*)
      echo "error=$dir exists and others may write to it ($(stat -c %a "$dir")): give a directory of its own (it is made 0700)"
      exit 3 ;;
  esac
else
  mkdir -p "$dir"
  made=1
fi
tmp=$(mktemp "$dir/.secret.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
chmod 0600 "$tmp"
chown "$uid:$uid" "$tmp"
mv -f "$tmp" "$path"
trap - EXIT
if [ "$made" = 1 ]; then
  chown "$uid:$uid" "$dir"
  chmod 0700 "$dir"
fi
'''
# Where the directory really is (symlinks followed), then the file's sha256, or nothing
# when it does not exist.
HASH_SCRIPT = r'''
echo "real=$(realpath -m -- "${1%/*}" 2>/dev/null)"
[ -f "$1" ] || exit 0
sha256sum "$1" | cut -d" " -f1
'''


# A GitHub token: classic (ghp_ + 36), fine-grained (github_pat_ + 82), older 40-hex ones,
# and the installation and OAuth kinds: letters, digits and _ only. The bounds leave room
# for longer formats and refuse a value that is plainly something else (a file, a paste).
GITHUB_TOKEN_RE = re.compile(r'^[A-Za-z0-9_]+\Z')
GITHUB_TOKEN_LENGTH = (20, 255)
GITHUB_TOKEN_FROM = 'offload_gh_token (OFFLOAD_GH_TOKEN or the prompt)'


def github_token(content):
    """The token with one trailing newline stripped, or AnsibleActionFail saying what is wrong
    with it (its length, its kind of characters), never what it is."""
    token = content[:-2] if content.endswith('\r\n') else content[:-1] if content.endswith('\n') else content
    low, high = GITHUB_TOKEN_LENGTH
    if not low <= len(token) <= high:
        raise AnsibleActionFail('the GitHub token in %s has %d characters, a GitHub token %d to %d: give the token '
                                'itself (nothing was written to the worker)' % (GITHUB_TOKEN_FROM, len(token), low, high))
    if not GITHUB_TOKEN_RE.match(token):
        raise AnsibleActionFail('the GitHub token in %s has characters a GitHub token never has (only letters, digits '
                                'and _; a space, a quote, a shell character or a second line is not part of it): give '
                                'the token itself (nothing was written to the worker)' % GITHUB_TOKEN_FROM)
    return token


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        'path': {'type': 'str', 'required': True},
        'content': {'type': 'str', 'no_log': True},
        'owner': {'type': 'int', 'default': JOB_UID},
        'state': {'type': 'str', 'default': 'present', 'choices': ['present', 'absent']},
        'format': {'type': 'str', 'default': 'raw', 'choices': ['raw', 'github_token']},
    }
    RANGES = {'owner': (0, MAX_UID, '')}

    def act(self, args, task_vars):
        path = validate_worker_path(args['path'], 'path')
        directory = validate_host_dir(path.rsplit('/', 1)[0] or '/', 'path', secrets=True)
        content = args['content']
        if args['state'] == 'present' and content and args['format'] == 'github_token':
            content = github_token(content)  # before anything reaches the worker
        worker = self._worker_name(task_vars)
        rc, out, err = self.worker_run(['sh', '-c', HASH_SCRIPT, 'hash', path], 'read %s' % path)
        lines = out.splitlines()
        real = lines[0][5:] if lines and lines[0].startswith('real=') else ''
        validate_host_dir(directory, 'path', secrets=True, resolved=real or None)
        current = '\n'.join(lines[1:]).strip() or None
        if args['state'] == 'absent':
            changed = current is not None
            if changed and not self._task.check_mode:
                self.worker_run(['rm', '-f', path], 'remove %s' % path)
            return {'changed': changed, 'path': path}

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
