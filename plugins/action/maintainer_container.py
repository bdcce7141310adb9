# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ensure the worker's long-lived maintainer container (git for the jobs)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    DEV,
    JOB_UID,
    LABEL_PREFIX,
    validate_container_name,
    validate_image,
    validate_host_dir,
)
from ansible_collections.gcli.offload.plugins.module_utils._maintainer import (
    maintainer_run_args,
    spec_hash,
)
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WorkerAction, WorkerCommandError

SPEC_LABEL = LABEL_PREFIX + 'spec'
# The data directories a job needs, owned by the job user. Not logs/: the
# worker's user makes it and only that user writes it (see _log_dir).
DATA_DIRS = ('main', 'worktrees', 'gemini')
# Run in the maintainer container (as root) to make the data directories: then, since a job
# runs its worktree's scripts from the data root, check that a file there can be executed
# (a data disk mounted noexec, or a data root on COS's noexec /home, /var or /tmp, would fail
# every job later, with "Permission denied" deep in its log). The probe's name is this
# shell's own, for runs at once. Inputs are positional: the directories.
DIRS_SCRIPT = r'''
install -d -o %d -g %d "$@" || exit
probe=%s/worktrees/.offload-exec-probe.$$
# A probe that cannot be written (a full disk) tells nothing about exec: the step
# that needs the space says the disk is full.
if printf '#!/bin/sh\nexit 0\n' 2>/dev/null >"$probe" && chmod 755 "$probe"; then
  "$probe" 2>/dev/null
  rc=$?
  rm -f "$probe"
  [ "$rc" = 0 ] || { echo "noexec=1"; exit 3; }
else
  rm -f "$probe"
fi
''' % (JOB_UID, JOB_UID, DEV)
INSPECT_FORMAT = 'state={{.State.Status}} {{index .Config.Labels "%s"}}' % SPEC_LABEL
# The converged case in one round trip: the host paths as the worker resolves them
# (symlinks followed: the controller checks where they really are), the container's
# state and spec, and, when it runs, the data directories made in it by DIRS_SCRIPT
# (cheap and idempotent; also the probe that finds a data root replaced under the
# running container, and one that cannot execute files) unless a host path is a
# symlink (the controller checks it first). A fixed script; its inputs are
# positional: $1 docker, $2 the container, $3 the number of host paths, $4
# DIRS_SCRIPT, the host paths, then the directories (none: only inspect, as in check
# mode).
CHECK_SCRIPT = r'''
docker=$1 name=$2 hosts=$3 dirs_script=$4
shift 4
plain=1
while [ "$hosts" -gt 0 ]; do
  real=$(realpath -m -- "$1" 2>/dev/null) || real=
  echo "real=$real"
  [ "$real" = "$1" ] || plain=0
  hosts=$((hosts - 1))
  shift
done
out=$("$docker" container inspect --format '%s' "$name" 2>&1)
rc=$?
printf '%%s\ninspect=%%s\n' "$out" "$rc"
case "$out" in
"state=running "*) [ $# = 0 ] || [ "$plain" = 0 ] || {
  "$docker" exec --user 0 "$name" sh -c "$dirs_script" offload-dirs "$@" 2>&1; echo "dirs=$?"; } ;;
esac
''' % INSPECT_FORMAT
# After a name conflict with another run's `docker run`: docker reserves the name
# before the container can be inspected, so wait (on the worker, one round trip)
# until it can be, at most $3 tenths of a second. $1 docker, $2 the container.
APPEARED_SCRIPT = r'''
i=0
while [ "$i" -lt "$3" ]; do
  "$1" container inspect --format '%s' "$2" 2>/dev/null && exit 0
  i=$((i + 1))
  sleep 0.1
done
exit 1
''' % INSPECT_FORMAT
APPEAR_TIMEOUT_TENTHS = 300


class ActionModule(WorkerAction):
    ARGUMENT_SPEC = {
        'name': {'type': 'str', 'default': 'maintainer-worker'},
        'image': {'type': 'str', 'required': True},
        'data_root': {'type': 'str', 'required': True},
        'state': {'type': 'str', 'default': 'started', 'choices': ['started', 'absent']},
        'extra_mounts': {'type': 'list', 'elements': 'str', 'default': []},
    }

    def act(self, args, task_vars):
        docker = args['docker_bin']
        name = validate_container_name(args['name'], 'name')
        image = validate_image(args['image'], 'image')
        data_root = validate_host_dir(args['data_root'], 'data_root')
        extra = [validate_host_dir(p, 'extra_mounts') for p in args['extra_mounts']]
        run_args = maintainer_run_args(name, image, data_root, extra)
        wanted = spec_hash(run_args)

        status, current, dirs, real = self._check(
            name, docker, [data_root] + extra, make_dirs=args['state'] == 'started' and not self._task.check_mode)
        if args['state'] == 'started':
            for path, variable, resolved in zip([data_root] + extra, ['data_root'] + ['extra_mounts'] * len(extra),
                                                real):
                validate_host_dir(path, variable, resolved=resolved or None)

        before = {'container': name, 'state': status or 'absent', 'spec': current}
        if args['state'] == 'absent':
            after = {'container': name, 'state': 'absent', 'spec': None}
            changed = status is not None
            if changed and not self._task.check_mode:
                self.docker(['rm', '-f', name], 'remove container %s' % name, docker)
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
                self.docker(['rm', '-f', name], 'remove outdated container %s' % name, docker)
            if action == 'start':
                self.docker(['start', name], 'start container %s' % name, docker)
            else:
                self._run(name, image, data_root, run_args, wanted, docker)
            dirs = None  # made by the check in the container that was there before, if at all
        warnings = []
        if not self._task.check_mode:
            rc, out, err = dirs or self._make_data_dirs(name, docker)
            if rc != 0 and action is None and 'no such file or directory' in (out + err).lower():
                # The data root was removed and made again under the running container:
                # its mount points at the old, deleted directory. Start it afresh.
                warnings.append('the data root %s was replaced under the running container %s: recreated it'
                                % (data_root, name))
                action = 'recreate'
                self.docker(['rm', '-f', name], 'remove container %s' % name, docker)
                self._run(name, image, data_root, run_args, wanted, docker)
                rc, out, err = self._make_data_dirs(name, docker)
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

    def _run(self, name, image, data_root, run_args, wanted, docker):
        # --mount needs the source to exist; logs are written by the host.
        self.worker_run(['mkdir', '-p', data_root + '/logs'], 'create %s' % data_root)
        what = 'start the maintainer container %s from %s' % (name, image)
        rc, out, err = self.docker(['run', '--detach', '--label', '%s=%s' % (SPEC_LABEL, wanted)] + run_args,
                                   what, docker, check=False)
        if rc != 0:
            found = self._made_meanwhile(name, wanted, err, docker)
            if found is not True:
                raise WorkerCommandError(what + found, [], rc, out, err)

    def _check(self, name, docker, hosts, make_dirs):
        """One round trip (CHECK_SCRIPT): (state or None, spec label, dirs, real), where dirs
        is the (rc, stdout, stderr) of making the data directories in the running
        container, or None when it does not run (or not make_dirs, or a host path is a
        symlink), and real the host paths as the worker resolves them."""
        rc, out, err = self.worker_run(['sh', '-c', CHECK_SCRIPT, 'offload-maintainer', docker, name, str(len(hosts)),
                                        DIRS_SCRIPT] + hosts + (self._data_dirs() if make_dirs else []),
                                       'inspect container %s' % name, check=False)
        real = [line[5:] for line in out.splitlines() if line.startswith('real=')]
        out = '\n'.join(line for line in out.splitlines() if not line.startswith('real='))
        lines = out.splitlines()
        facts = dict(line.split('=', 1) for line in lines if line.startswith(('inspect=', 'dirs=')))
        if 'inspect' not in facts:  # the script itself did not run (no sh, a broken connection)
            raise WorkerCommandError('inspect container %s' % name, [], rc, out, err)
        if facts['inspect'] != '0':
            if 'no such' not in out.lower():
                raise WorkerCommandError('inspect container %s' % name, [], int(facts['inspect']), out, err)
            return None, None, None, real
        status, current = (next(line for line in lines if line.startswith('state='))[6:].split() + ['', ''])[:2]
        dirs = None
        if 'dirs' in facts:
            detail = '\n'.join(line for line in lines[lines.index('inspect=0') + 1:] if not line.startswith('dirs='))
            dirs = (int(facts['dirs']), '', detail)
        return status, current, dirs, real

    @staticmethod
    def _data_dirs():
        return ['%s/%s' % (DEV, d) for d in DATA_DIRS]

    def _make_data_dirs(self, name, docker):
        """Cheap and idempotent: the job user owns the data directories (DIRS_SCRIPT)."""
        return self.docker(['exec', '--user', '0', name, 'sh', '-c', DIRS_SCRIPT, 'offload-dirs'] + self._data_dirs(),
                           'create the data directories', docker, check=False)

    def _made_meanwhile(self, name, wanted, err, docker):
        """True when `docker run` lost a race with another run that made the same
        container (two jobs offloaded at once to a fresh worker) and it now runs;
        else what was found, for the error message.

        The other run's `docker run` reserves the name, creates the container, then
        starts it. Until it can be inspected, this waits (APPEARED_SCRIPT); found
        created but not started, it is started here too (`docker start` of a
        running container changes nothing): this run does not depend on its timing."""
        if 'already in use' not in err:
            return ''
        rc, out, _err = self.worker_run(['sh', '-c', APPEARED_SCRIPT, 'offload-maintainer', docker, name,
                                         str(APPEAR_TIMEOUT_TENTHS)], 'inspect container %s' % name, check=False)
        fields = out.split()
        if rc != 0 or fields[1:] != [wanted] or fields[0] not in ('state=created', 'state=running'):
            return ' (another run made %s meanwhile; found: %s)' % (name, out.strip() or 'nothing')
        if fields[0] != 'state=running':
            self.docker(['start', name], 'start container %s' % name, docker)
        return True

    def _result(self, changed, name, before, after):
        result = {'changed': changed, 'container': name}
        if self._task.diff and changed:
            result['diff'] = {'before': before, 'after': after,
                              'before_header': 'container %s' % name, 'after_header': 'container %s' % name}
        return result
