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
from ansible_collections.gcli.offload.plugins.plugin_utils import _kv, _scripts
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WorkerAction

# Fixed scripts, inputs positional (the secret on standard input): see each file.
WRITE_SCRIPT = _scripts.load('secret_write.sh')
HASH_SCRIPT = _scripts.load('secret_hash.sh')


# A GitHub token: classic (ghp_ + 36), fine-grained (github_pat_ + 82), older 40-hex ones,
# and the installation and OAuth kinds: letters, digits and _ only. The bounds leave room
# for longer formats and refuse a value that is plainly something else (a file, a paste).
GITHUB_TOKEN_RE = re.compile(r'^[A-Za-z0-9_]+\Z')
GITHUB_TOKEN_LENGTH = (20, 255)
GITHUB_TOKEN_FROM = 'offload_gh_token (OFFLOAD_GH_TOKEN or the prompt)'
# A Gemini API key (AIza + 35 of letters, digits, - and _ today): the same bounds.
API_KEY_RE = re.compile(r'^[A-Za-z0-9_-]+\Z')
API_KEY_FROM = 'offload_gemini_api_key (GEMINI_API_KEY)'

# format -> (what it is, where it came from, its characters, what they are in words)
FORMATS = {
    'github_token': ('GitHub token', GITHUB_TOKEN_FROM, GITHUB_TOKEN_RE, 'letters, digits and _'),
    'gemini_api_key': ('Gemini API key', API_KEY_FROM, API_KEY_RE, 'letters, digits, - and _'),
}


def checked_secret(content, kind='github_token'):
    """The secret with one trailing newline stripped, or AnsibleActionFail saying what is wrong
    with it (its length, its kind of characters), never what it is."""
    what, origin, pattern, chars = FORMATS[kind]
    token = content[:-2] if content.endswith('\r\n') else content[:-1] if content.endswith('\n') else content
    low, high = GITHUB_TOKEN_LENGTH
    if not low <= len(token) <= high:
        raise AnsibleActionFail('the %s in %s has %d characters, a %s %d to %d: give the %s itself (nothing was '
                                'written to the worker)' % (what, origin, len(token), what, low, high, what))
    if not pattern.match(token) or token.startswith('-'):
        raise AnsibleActionFail('the %s in %s has characters a %s never has (only %s; a space, a quote, a shell '
                                'character or a second line is not part of it): give the %s itself (nothing was '
                                'written to the worker)' % (what, origin, what, chars, what))
    return token


def github_token(content):
    """checked_secret for a GitHub token."""
    return checked_secret(content, 'github_token')


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        'path': {'type': 'str', 'required': True},
        'content': {'type': 'str', 'no_log': True},
        'owner': {'type': 'int', 'default': JOB_UID},
        'state': {'type': 'str', 'default': 'present', 'choices': ['present', 'absent', 'query']},
        'format': {'type': 'str', 'default': 'raw', 'choices': ['raw', 'github_token', 'gemini_api_key']},
    }
    RANGES = {'owner': (0, MAX_UID, '')}

    def act(self, args, task_vars):
        path = validate_worker_path(args['path'], 'path')
        directory = validate_host_dir(path.rsplit('/', 1)[0] or '/', 'path', secrets=True)
        content = args['content']
        if args['state'] == 'present' and content and args['format'] in FORMATS:
            content = checked_secret(content, args['format'])  # before anything reaches the worker
        worker = self._worker_name(task_vars)
        rc, out, err = self.cli.sh(HASH_SCRIPT, 'hash', [path], 'read %s' % path)
        facts = _kv.parse(out)
        validate_host_dir(directory, 'path', secrets=True, resolved=facts.get('real') or None)
        current = '\n'.join(facts.other_lines('real')).strip() or None
        if args['state'] == 'query':
            return {'changed': False, 'path': path, 'exists': current is not None}
        if args['state'] == 'absent':
            changed = current is not None
            if changed and not self._task.check_mode:
                self.cli.run(['rm', '-f', path], 'remove %s' % path)
            return {'changed': changed, 'path': path}

        if not content:
            raise AnsibleActionFail('content is required with state=present (the secret for %s)' % path)
        wanted = hashlib.sha256(content.encode('utf-8')).hexdigest()
        if current == wanted:
            return {'changed': False, 'path': path}
        if not self._task.check_mode:
            rc, out, err = self.cli.sh(WRITE_SCRIPT, 'secret', [path, str(args['owner'])],
                                       'write the secret %s' % path, stdin=content, check=False)
            if rc != 0:
                reason = _kv.parse(out).get('error') or (err.strip().splitlines() or ['exit %d' % rc])[-1]
                raise AnsibleActionFail('cannot write the secret %s on %s: %s' % (path, worker, reason))
        return {'changed': True, 'path': path, 'rotated': current is not None}
