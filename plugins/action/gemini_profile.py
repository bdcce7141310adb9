# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The worker's gemini profile, mirrored from a directory on the controller."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile

from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.module_utils._jobs import DEV, validate_container_name
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import GEMINI
from ansible_collections.gcli.offload.plugins.plugin_utils import _kv, _scripts
from ansible_collections.gcli.offload.plugins.plugin_utils._docker_cli import EXEC_REFUSED
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import MAINTAINER_ARGUMENT_SPEC, WorkerAction

# Runs in the maintainer container as root, inputs positional: see the file.
PROFILE_SCRIPT = _scripts.load('gemini_profile.sh')
# The collection's own profile: the default settings and, always added, its tool policy
# under offload/ (the entrypoint gives offload/<review|agent>.toml as an admin policy).
BUNDLED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'plugin_utils', 'gemini')
RESERVED = 'offload'
# A name in the profile: what the worker's tools print and read back one a line.
NAME_RE = re.compile(r'^[A-Za-z0-9_@+=,.][A-Za-z0-9_@+=,.-]*\Z')
MAX_BYTES = 64 * 1024 * 1024
MAX_FILES = 20000


def _refuse(src, rel, why):
    raise AnsibleActionFail('cannot mirror the gemini profile %s: %s %s; nothing was changed on the worker' % (
        src, rel, why))


def collect(src, reserved_ok=False):
    """{relative path: (kind, mode, bytes or None)} for the files and directories under src.

    A link to a file inside src is mirrored as a copy of that file; a link that leads out
    of src, a link to a directory, and anything that is neither a file nor a directory are
    refused (the worker never gets a link). Names must be plain (NAME_RE)."""
    src = os.path.realpath(src)
    entries, total = {}, 0
    for root, dirs, files in os.walk(src, followlinks=False):
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src)
            if not NAME_RE.match(name):
                _refuse(src, rel, 'has a name with characters other than letters, digits and _@+=,.- (or starts '
                                  'with -)')
            if rel.split(os.sep)[0] == RESERVED and not reserved_ok:
                _refuse(src, rel, 'is in offload/, the collection\'s own part of the profile (its tool policy): '
                                  'rename it')
            real = os.path.realpath(path)
            if os.path.islink(path):
                if os.path.commonpath([real, src]) != src:
                    _refuse(src, rel, 'is a link that leads out of the directory (to %s)' % real)
                if not os.path.isfile(real):
                    _refuse(src, rel, 'is a link to something other than a file: give the directory itself')
            if os.path.isdir(path) and not os.path.islink(path):
                entries[rel] = ('d', 0o755, None)
            elif os.path.isfile(real):
                with open(real, 'rb') as f:
                    data = f.read(MAX_BYTES + 1)
                total += len(data)
                if total > MAX_BYTES:
                    _refuse(src, rel, 'takes the profile over %d MiB' % (MAX_BYTES >> 20))
                entries[rel] = ('f', 0o755 if os.stat(real).st_mode & 0o100 else 0o644, data)
            else:
                _refuse(src, rel, 'is neither a file nor a directory')
            if len(entries) > MAX_FILES:
                _refuse(src, rel, 'makes more than %d files and directories' % MAX_FILES)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
    return entries


def wanted_profile(src):
    """The profile to mirror: src's files (or, when src does not exist, the collection's default
    settings) and the collection's tool policy under offload/; and where it came from."""
    if src and os.path.lexists(src):
        if not os.path.isdir(src):
            raise AnsibleActionFail('offload_gemini_config %s is not a directory: give the directory of the gemini '
                                    'profile (settings.json, policies/, extensions/...)' % src)
        entries, source = collect(src), 'directory'
    else:
        entries = {k: v for k, v in collect(BUNDLED, reserved_ok=True).items() if k.split(os.sep)[0] != RESERVED}
        source = 'bundled'
    entries.update({k: v for k, v in collect(BUNDLED, reserved_ok=True).items() if k.split(os.sep)[0] == RESERVED})
    return entries, source


def manifest(entries):
    """{path: 'kind mode sha256'}: what decides whether the worker's copy is the same."""
    return {rel: '%s %o %s' % (kind, mode, hashlib.sha256(data).hexdigest() if data is not None else '-')
            for rel, (kind, mode, data) in entries.items()}


def worker_manifest(out):
    """The worker's profile as gemini_profile.sh lists it: (state, {path: 'kind mode sha256'})."""
    facts = _kv.parse(out)
    state = facts.get('state', 'absent')
    sums = {}
    for line in facts.all('sum'):
        digest, _sp, rel = line.partition(' ')
        sums[rel] = digest
    current = {}
    for line in facts.all('entry'):
        kind, mode, rel = (line.split(' ', 2) + ['', ''])[:3]
        current[rel] = '%s %s %s' % (kind, mode, sums.get(rel, '-') if kind == 'f' else '-')
    return state, current


def archive(entries):
    """A deterministic tar.gz of the entries (root's, no times), base64 for the command's input."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz', format=tarfile.PAX_FORMAT) as tar:
        for rel in sorted(entries):
            kind, mode, data = entries[rel]
            info = tarfile.TarInfo(rel)
            info.mode, info.mtime, info.uid, info.gid = mode, 0, 0, 0
            if kind == 'd':
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return base64.b64encode(buf.getvalue()).decode('ascii')


def _lines(files):
    return ''.join('%s %s\n' % (files[rel], rel) for rel in sorted(files))


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        'src': {'type': 'path'},
        **MAINTAINER_ARGUMENT_SPEC,
    }

    def act(self, args, task_vars):
        maintainer = validate_container_name(args['maintainer'], 'maintainer')
        entries, source = wanted_profile(args['src'])  # on the controller, before the worker
        wanted = manifest(entries)
        dest = '%s/%s' % (DEV, GEMINI)
        worker = self._worker_name(task_vars)
        rc, out, err = self.cli.docker(['exec', '--user', '0', maintainer, 'sh', '-c', PROFILE_SCRIPT,
                                        'offload-gemini-profile', 'list', dest],
                                       'read the gemini profile in %s' % maintainer, check=False)
        if rc != 0 and self._task.check_mode and EXEC_REFUSED.search(err or out):
            # check mode made no maintainer container: the profile would be written
            return {'changed': True, 'source': source, 'files': sorted(r for r, v in wanted.items() if v[0] == 'f')}
        if rc != 0 or 'state' not in _kv.parse(out):
            raise AnsibleActionFail('cannot read the gemini profile on %s (in the maintainer container %s): %s' % (
                worker, maintainer, (err or out).strip() or 'exit %d' % rc))
        state, current = worker_manifest(out)
        changed = state != 'dir' or current != wanted
        result = {'changed': changed, 'source': source, 'files': sorted(r for r, v in wanted.items() if v[0] == 'f')}
        if self._task.diff:
            result['diff'] = {'before': _lines(current) if state == 'dir' else '', 'after': _lines(wanted),
                              'before_header': '%s:%s (worker)' % (worker, dest),
                              'after_header': args['src'] if source == 'directory' else '(bundled profile)'}
        if changed and not self._task.check_mode:
            rc, out, err = self.cli.docker(['exec', '--interactive', '--user', '0', maintainer, 'sh', '-c',
                                            PROFILE_SCRIPT, 'offload-gemini-profile', 'write', dest],
                                           'write the gemini profile in %s' % maintainer, stdin=archive(entries),
                                           check=False)
            if rc != 0 or _kv.parse(out).get('written') != '1':
                reason = _kv.parse(out).get('error') or (err or out).strip() or 'exit %d' % rc
                raise AnsibleActionFail('cannot write the gemini profile on %s: %s' % (worker, reason))
        if state == 'link':
            result['warnings'] = ['the gemini profile\'s place on %s was a link: it was %s, never followed' % (
                worker, 'replaced by the directory' if not self._task.check_mode else 'left (check mode)')]
        return result
