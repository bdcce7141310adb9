# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ensure the worker's long-lived maintainer container (git for the jobs)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    DEV,
    JOB_UID,
    validate_container_name,
    validate_image,
    validate_host_dir,
)
from ansible_collections.gcli.offload.plugins.module_utils._image_ref import split_reference
from ansible_collections.gcli.offload.plugins.module_utils._maintainer import (
    maintainer_run_args,
    spec_hash,
)
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import (
    JOB_USER_DIRS,
    LOGS,
    MAINTAINER_NAME,
    MANAGED_LABEL,
    SPEC_LABEL,
    WORKTREES,
    data_dir,
)
from ansible_collections.gcli.offload.plugins.plugin_utils import _kv, _scripts
from ansible_collections.gcli.offload.plugins.plugin_utils._docker_cli import CONTAINER_ID, json_lines
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WorkerAction, WorkerCommandError
from ansible_collections.gcli.offload.plugins.plugin_utils._supervisor import RUNS_SCRIPT, parse_runs

INSPECT_FORMAT = 'state={{.State.Status}} {{index .Config.Labels "%s"}}' % SPEC_LABEL
# The check also reads the image the container was made from (its reference and image id).
CHECK_FORMAT = INSPECT_FORMAT + '\nimage={{.Config.Image}}\nimage_id={{.Image}}'
# Fixed scripts, inputs positional: see each file.
DIRS_SCRIPT = _scripts.load('maintainer_dirs.sh', JOB_UID=JOB_UID, DEV=DEV, WORKTREES=WORKTREES)
CHECK_SCRIPT = _scripts.load('maintainer_check.sh', INSPECT_FORMAT=CHECK_FORMAT)
APPEARED_SCRIPT = _scripts.load('maintainer_appeared.sh', INSPECT_FORMAT=INSPECT_FORMAT)
APPEAR_TIMEOUT_TENTHS = 300


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        'name': {'type': 'str', 'default': MAINTAINER_NAME},
        'image': {'type': 'str', 'required': True},
        'data_root': {'type': 'str', 'required': True},
        'state': {'type': 'str', 'default': 'started', 'choices': ['started', 'absent']},
        'extra_mounts': {'type': 'list', 'elements': 'str', 'default': []},
        'network': {'type': 'str', 'default': ''},
        'refresh': {'type': 'bool', 'default': False},
    }

    def act(self, args, task_vars):
        name = validate_container_name(args['name'], 'name')
        image = validate_image(args['image'], 'image')
        data_root = validate_host_dir(args['data_root'], 'data_root')
        extra = [validate_host_dir(p, 'extra_mounts') for p in args['extra_mounts']]
        network = validate_container_name(args['network'], 'network') if args['network'] else ''
        run_args = maintainer_run_args(name, image, data_root, extra, network)
        wanted = spec_hash(run_args)

        refresh = args['refresh']
        requested, _tag, requested_digest = split_reference(image, 'image')

        status, current, dirs, real, running = self._check(
            name, [data_root] + extra, make_dirs=args['state'] == 'started' and not self._task.check_mode)
        if args['state'] == 'started':
            for path, variable, resolved in zip([data_root] + extra, ['data_root'] + ['extra_mounts'] * len(extra),
                                                real):
                validate_host_dir(path, variable, resolved=resolved or None)

        before = {'container': name, 'state': status or 'absent', 'spec': current}
        if args['state'] == 'absent':
            after = {'container': name, 'state': 'absent', 'spec': None}
            changed = status is not None
            if changed and not self._task.check_mode:
                self.cli.docker(['rm', '-f', name], 'remove container %s' % name)
            return self._result(changed, name, before, after)

        after = {'container': name, 'state': 'running', 'spec': wanted}
        action = None
        freshness = {}
        pinned = self._pinned(name, requested, requested_digest, running, current, data_root, extra, network)
        if pinned:
            # provision deployed this image by digest: a tag of the same image does not move it, and
            # the container keeps (or, started or made again, gets) the pinned reference
            freshness = {'image': pinned, 'digest': pinned.rpartition('@')[2], 'pinned': True}
            image, run_args, wanted = pinned, maintainer_run_args(name, pinned, data_root, extra, network), current
            after['spec'] = wanted
            if status != 'running':
                action = 'start'
        elif status is None:
            action = 'create'
        elif current != wanted:
            action = 'recreate'
        elif status != 'running':
            action = 'start'
        elif refresh and not requested_digest and self._task.check_mode:
            freshness = {'refresh': 'unchecked', 'refresh_error': 'check mode pulls nothing'}
        elif refresh and not requested_digest:
            freshness = self._freshness(image, running, data_root)
            if freshness.pop('stale'):
                if freshness.get('blocked_by'):
                    freshness['refresh'] = 'held'
                else:
                    action = 'refresh'
                    freshness['refresh'] = 'refreshed'
        if action == 'refresh':
            after['image_id'] = freshness['image_id']
            before['image_id'] = running['image_id']
        if action and not self._task.check_mode:
            if action in ('recreate', 'refresh'):
                self.cli.docker(['rm', '-f', name], 'remove outdated container %s' % name)
            if action == 'start':
                self.cli.docker(['start', name], 'start container %s' % name)
            else:
                self._run(name, image, data_root, run_args, wanted)
            dirs = None  # made by the check in the container that was there before, if at all
        warnings = []
        if not self._task.check_mode:
            rc, out, err = dirs or self._make_data_dirs(name)
            if rc != 0 and action is None and 'no such file or directory' in (out + err).lower():
                # The data root was removed and made again under the running container:
                # its mount points at the old, deleted directory. Start it afresh.
                warnings.append('the data root %s was replaced under the running container %s: recreated it'
                                % (data_root, name))
                action = 'recreate'
                self.cli.docker(['rm', '-f', name], 'remove container %s' % name)
                self._run(name, image, data_root, run_args, wanted)
                rc, out, err = self._make_data_dirs(name)
            if rc != 0 and 'noexec=1' in (out + err).splitlines():
                raise AnsibleActionFail(
                    'the data root %s on %s does not let files be executed (mounted noexec?): every job runs its '
                    'worktree\'s scripts from there and would fail. Mount it with exec, or use a data root on an '
                    'executable file system (on Container-Optimized OS, under /mnt/disks: /home, /var and /tmp are '
                    'noexec); nothing was run' % (data_root, self._worker_name(task_vars)))
            if rc != 0:
                raise WorkerCommandError('create the data directories in %s' % data_root, [], rc, out, err)
        if refresh and action in ('create', 'recreate') and not pinned and not self._task.check_mode:
            image_id, digest = self._image_digest(image)  # made from the tag just now: what it runs
            freshness = {'refresh': 'current', 'image_id': image_id, 'digest': digest}
        result = self._result(bool(action), name, before, after)
        result['operation'] = action or 'none'
        result.update(freshness)
        if freshness.get('refresh') == 'held':
            warnings.append('the maintainer image %s moved to %s, but job(s) %s run in the maintainer container %s: '
                            'it keeps running %s, and is refreshed by the first offload.yml when no job runs'
                            % (image, freshness['latest_digest'] or freshness['image_id'],
                               ', '.join(freshness['blocked_by']), name, freshness['digest'] or running['image_id']))
        if warnings:
            result['warnings'] = warnings
        return result

    def _run(self, name, image, data_root, run_args, wanted):
        # --mount needs the source to exist; logs are written by the host.
        self.cli.run(['mkdir', '-p', data_dir(data_root, LOGS)], 'create %s' % data_root)
        what = 'start the maintainer container %s from %s' % (name, image)
        rc, out, err = self.cli.docker(['run', '--detach', '--label', '%s=%s' % (SPEC_LABEL, wanted)] + run_args,
                                       what, check=False)
        if rc != 0:
            found = self._made_meanwhile(name, wanted, err)
            if found is not True:
                raise WorkerCommandError(what + found, [], rc, out, err)

    def _check(self, name, hosts, make_dirs):
        """One round trip (CHECK_SCRIPT): (state or None, spec label, dirs, real), where dirs
        is the (rc, stdout, stderr) of making the data directories in the running
        container, or None when it does not run (or not make_dirs, or a host path is a
        symlink), and real the host paths as the worker resolves them."""
        rc, out, err = self.cli.sh(CHECK_SCRIPT, 'offload-maintainer',
                                   [self.cli.docker_bin, name, str(len(hosts)), DIRS_SCRIPT] + hosts
                                   + (self._data_dirs() if make_dirs else []),
                                   'inspect container %s' % name, check=False)
        facts = _kv.parse(out)
        real = facts.all('real')
        lines = facts.other_lines('real')
        out = '\n'.join(lines)
        if 'inspect' not in facts:  # the script itself did not run (no sh, a broken connection)
            raise WorkerCommandError('inspect container %s' % name, [], rc, out, err)
        if facts['inspect'] != '0':
            if 'no such' not in out.lower():
                raise WorkerCommandError('inspect container %s' % name, [], int(facts['inspect']), out, err)
            return None, None, None, real, {}
        status, current = ((facts.all('state') or [''])[0].split() + ['', ''])[:2]
        running = {'image': (facts.all('image') or [''])[0], 'image_id': (facts.all('image_id') or [''])[0]}
        dirs = None
        if 'dirs' in facts:
            detail = '\n'.join(line for line in lines[lines.index('inspect=0') + 1:]
                               if not line.startswith(('dirs=', 'image=', 'image_id=')))
            dirs = (int(facts['dirs']), '', detail)
        return status, current, dirs, real, running

    @staticmethod
    def _pinned(name, requested, requested_digest, running, current, data_root, extra, network=''):
        """The digest reference the container runs when it is `requested` (a tag of it, or no tag)
        pinned by digest and otherwise as wanted (its spec is that of the pinned reference); else None."""
        reference = (running or {}).get('image') or ''
        if requested_digest or '@' not in reference:
            return None
        try:
            pinned_name, _tag, digest = split_reference(reference, 'image')
        except ValueError:
            return None
        if pinned_name != requested or not digest:
            return None
        if spec_hash(maintainer_run_args(name, reference, data_root, extra, network)) != current:
            return None
        return reference

    def _image_digests(self, image, references):
        """[(image id, its repository digest for image's name or None)] of each reference, in one call."""
        rc, out, err = self.cli.docker(['image', 'inspect', '--format', '{{json .Id}} {{json .RepoDigests}}']
                                       + references, 'inspect image %s' % image, check=False)
        name = split_reference(image, 'image')[0]
        found = []
        for image_id, repo_digests in json_lines(out, 2):
            digest = [ref.partition('@')[2] for ref in repo_digests or [] if ref.partition('@')[0] == name]
            found.append((image_id, digest[0] if digest else None))
        return found

    def _image_digest(self, image):
        found = self._image_digests(image, [image])
        return found[0] if found else (None, None)

    def _running_jobs(self, data_root):
        """The jobs of this data root that run: a job container (its mounts are under the data root),
        or a supervised run between its parts or releasing its worktree, which it does through the
        maintainer container."""
        rc, out, err = self.cli.sh(RUNS_SCRIPT, 'offload-runs', [data_root], 'read the job runs')
        runs, _now = parse_runs(out)
        supervised = {job for job, run in runs.items() if run['state'] == 'running'}
        rc, out, err = self.cli.docker(
            ['ps', '-q', '--no-trunc', '--filter', 'label=%s=true' % MANAGED_LABEL, '--filter', 'status=running'],
            'list running jobs')
        ids = [word for word in out.split() if CONTAINER_ID.match(word)]
        if not ids:
            return sorted(supervised)
        rc, out, err = self.cli.docker(['inspect', '--format', '{{.Name}}{{range .Mounts}} {{.Source}}{{end}}'] + ids,
                                       'inspect running jobs', check=False)  # one may end meanwhile
        prefix = data_root.rstrip('/') + '/'
        return sorted(supervised | {fields[0].lstrip('/') for fields in map(str.split, out.splitlines())
                                    if len(fields) > 1 and any(src.startswith(prefix) for src in fields[1:])})

    def _freshness(self, image, running, data_root):
        """Pull the tag on the worker and compare: {stale, image_id (the tag's now), digest (what the
        container runs), latest_digest, blocked_by (running jobs)}. A failed pull is not stale (and says so)."""
        rc, out, err = self.cli.docker(['pull', '--quiet', image], 'pull %s' % image, check=False)
        if rc != 0:
            detail = (err or out).strip().splitlines()
            return {'stale': False, 'refresh': 'unchecked', 'image_id': running['image_id'],
                    'digest': None, 'refresh_error': 'docker pull %s failed: %s' % (
                        image, detail[-1] if detail else 'exit %d' % rc)}
        found = self._image_digests(image, [image] + ([running['image_id']] if running.get('image_id') else []))
        latest = found[0][0] if found else running['image_id']
        digests = dict(found)
        stale = latest != running['image_id']
        result = {'stale': stale, 'refresh': 'current', 'image_id': latest,
                  'digest': digests.get(latest if not stale else running['image_id']),
                  'latest_digest': digests.get(latest)}
        if stale:
            result['blocked_by'] = self._running_jobs(data_root)
            if not result['blocked_by']:
                result['digest'] = result['latest_digest']
        return result

    @staticmethod
    def _data_dirs():
        # Not logs/: the worker's user makes it and only that user writes it (see _log_dir).
        return [data_dir(DEV, d) for d in JOB_USER_DIRS]

    def _make_data_dirs(self, name):
        """Cheap and idempotent: the job user owns the data directories (DIRS_SCRIPT)."""
        return self.cli.docker(['exec', '--user', '0', name, 'sh', '-c', DIRS_SCRIPT, 'offload-dirs'] + self._data_dirs(),
                               'create the data directories', check=False)

    def _made_meanwhile(self, name, wanted, err):
        """True when `docker run` lost a race with another run that made the same
        container (two jobs offloaded at once to a fresh worker) and it now runs;
        else what was found, for the error message.

        The other run's `docker run` reserves the name, creates the container, then
        starts it. Until it can be inspected, this waits (APPEARED_SCRIPT); found
        created but not started, it is started here too (`docker start` of a
        running container changes nothing): this run does not depend on its timing."""
        if 'already in use' not in err:
            return ''
        rc, out, _err = self.cli.sh(APPEARED_SCRIPT, 'offload-maintainer',
                                    [self.cli.docker_bin, name, str(APPEAR_TIMEOUT_TENTHS)],
                                    'inspect container %s' % name, check=False)
        fields = out.split()
        if rc != 0 or fields[1:] != [wanted] or fields[0] not in ('state=created', 'state=running'):
            return ' (another run made %s meanwhile; found: %s)' % (name, out.strip() or 'nothing')
        if fields[0] != 'state=running':
            self.cli.docker(['start', name], 'start container %s' % name)
        return True

    def _result(self, changed, name, before, after):
        result = {'changed': changed, 'container': name}
        if self._task.diff and changed:
            result['diff'] = {'before': before, 'after': after,
                              'before_header': 'container %s' % name, 'after_header': 'container %s' % name}
        return result
