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
from ansible_collections.gcli.offload.plugins.module_utils._maintainer import (
    maintainer_run_args,
    spec_hash,
)
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import (
    JOB_USER_DIRS,
    LOGS,
    MAINTAINER_NAME,
    SPEC_LABEL,
    WORKTREES,
    data_dir,
)
from ansible_collections.gcli.offload.plugins.plugin_utils import _kv, _scripts
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WorkerAction, WorkerCommandError

INSPECT_FORMAT = 'state={{.State.Status}} {{index .Config.Labels "%s"}}' % SPEC_LABEL
# Fixed scripts, inputs positional: see each file.
DIRS_SCRIPT = _scripts.load('maintainer_dirs.sh', JOB_UID=JOB_UID, DEV=DEV, WORKTREES=WORKTREES)
CHECK_SCRIPT = _scripts.load('maintainer_check.sh', INSPECT_FORMAT=INSPECT_FORMAT)
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
    }

    def act(self, args, task_vars):
        name = validate_container_name(args['name'], 'name')
        image = validate_image(args['image'], 'image')
        data_root = validate_host_dir(args['data_root'], 'data_root')
        extra = [validate_host_dir(p, 'extra_mounts') for p in args['extra_mounts']]
        network = validate_container_name(args['network'], 'network') if args['network'] else ''
        run_args = maintainer_run_args(name, image, data_root, extra, network)
        wanted = spec_hash(run_args)

        status, current, dirs, real = self._check(
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
        if status is None:
            action = 'create'
        elif current != wanted:
            action = 'recreate'
        elif status != 'running':
            action = 'start'
        if action and not self._task.check_mode:
            if action == 'recreate':
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
        result = self._result(bool(action), name, before, after)
        result['operation'] = action or 'none'
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
            return None, None, None, real
        status, current = ((facts.all('state') or [''])[0].split() + ['', ''])[:2]
        dirs = None
        if 'dirs' in facts:
            detail = '\n'.join(line for line in lines[lines.index('inspect=0') + 1:] if not line.startswith('dirs='))
            dirs = (int(facts['dirs']), '', detail)
        return status, current, dirs, real

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
