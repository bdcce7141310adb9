# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller-side base for the plugins that act on a worker.

A worker may be a Container-Optimized OS host: Docker, a POSIX shell and
coreutils, but no Python and no git. So nothing here ships a module to the
worker. Every step is one command run through the task's connection (local,
ssh, docker...), built from an argv list and quoted with shlex at the
connection boundary; secrets travel on the command's standard input.
"""

from __future__ import annotations

import json
import re
import shlex

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.gcli.offload.plugins.plugin_utils._git_script import SCRIPT, parse_output
from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    JOB_USER,
    LABEL_PREFIX,
    JobInputError,
    MANAGED_LABEL,
    validate_docker_bin,
    validate_int,
)

# What docker says when it refuses an exec because of the container's state
# (the script never ran: nothing on its standard output).
EXEC_REFUSED = re.compile(r'No such container|is not running|is paused|is restarting', re.I)
# A full container id, as `docker ps -q --no-trunc` prints it.
CONTAINER_ID = re.compile(r'^[0-9a-f]{64}\Z')

# Options every worker plugin takes (also in doc_fragments/worker.py).
WORKER_ARGUMENT_SPEC = {
    'docker_bin': {'type': 'str', 'default': 'docker'},
}


class WorkerCommandError(Exception):
    def __init__(self, what, argv, rc, stdout, stderr):
        detail = (stderr or stdout or '').strip().splitlines()
        tail = ' '.join(detail[-3:]) if detail else 'no output'
        super().__init__('%s failed (exit %d): %s' % (what, rc, tail))
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr


class WorkerAction(ActionBase):
    """An action that runs argv commands on the worker, never a module."""

    TRANSFERS_FILES = False
    _requires_connection = True
    ARGUMENT_SPEC = {}
    # Whole-number options: name -> (minimum, maximum, unit). Checked on the value as
    # given (validate_int): the argument spec's int also takes '١٢٣', '1_0' and ' 5'.
    RANGES = {}

    def _validated_args(self):
        """The options, all checked before any command reaches the worker."""
        spec = dict(WORKER_ARGUMENT_SPEC)
        spec.update(self.ARGUMENT_SPEC)
        validation, args = self.validate_argument_spec(argument_spec=spec)
        validate_docker_bin(args['docker_bin'])
        for name, (minimum, maximum, unit) in self.RANGES.items():
            if self._task.args.get(name) is not None:
                args[name] = validate_int(self._task.args[name], name, minimum, maximum, unit)
        return args

    def worker_run(self, argv, what, stdin=None, check=True):
        """Run argv on the worker; return (rc, stdout, stderr) as text.

        With check, a non-zero exit raises WorkerCommandError naming `what`.
        """
        argv = [to_text(a) for a in argv]
        result = self._low_level_execute_command(
            shlex.join(argv), sudoable=True, in_data=None if stdin is None else to_bytes(stdin))
        rc = result.get('rc', 1)
        stdout = to_text(result.get('stdout', ''))
        stderr = to_text(result.get('stderr', ''))
        if check and rc != 0:
            raise WorkerCommandError(what, argv, rc, stdout, stderr)
        return rc, stdout, stderr

    def docker(self, args, what, docker_bin, stdin=None, check=True):
        return self.worker_run([docker_bin] + list(args), what, stdin=stdin, check=check)

    def container_state(self, name, docker_bin):
        """'running', 'exited', 'created'... or None when no such container."""
        rc, out, err = self.docker(
            ['container', 'inspect', '--format', '{{.State.Status}}', name],
            'inspect container %s' % name, docker_bin, check=False)
        if rc != 0:
            if 'no such' in (err + out).lower():
                return None
            raise WorkerCommandError('inspect container %s' % name, [], rc, out, err)
        return out.strip() or None

    def job_containers(self, docker_bin):
        """The job containers this collection made, as dicts (name, job, pr, action,
        state, started, image, image_id, image_digests), in two docker calls."""
        rc, out, err = self.docker(
            ['ps', '-aq', '--no-trunc', '--filter', 'label=%s=true' % MANAGED_LABEL], 'list job containers', docker_bin)
        # Only container ids: over SSH with become, sudo's warnings ("unable to resolve
        # host ...") can share the command's output.
        ids = [word for word in out.split() if CONTAINER_ID.match(word)]
        if not ids:
            return []
        fmt = ('{{json .Name}} {{json .State.Status}} {{json .State.StartedAt}} {{json .Config.Image}} '
               '{{json .Image}} {{json .Config.Labels}}')
        rc, out, err = self.docker(['inspect', '--format', fmt] + ids, 'inspect job containers', docker_bin,
                                   check=False)  # a container may vanish meanwhile (--rm)
        containers = []
        for fields in self._json_lines(out, 6):
            name, state, started, image, image_id, labels = fields
            labels = labels or {}
            containers.append({
                'name': name.lstrip('/'), 'state': state, 'started': started, 'image': image, 'image_id': image_id,
                'job': labels.get(LABEL_PREFIX + 'job'), 'pr': labels.get(LABEL_PREFIX + 'pr'),
                'action': labels.get(LABEL_PREFIX + 'action'),
            })
        image_ids = sorted({c['image_id'] for c in containers})
        rc, out, err = self.docker(['image', 'inspect', '--format', '{{json .Id}} {{json .RepoDigests}}'] + image_ids,
                                   'inspect job images', docker_bin, check=False)
        digests = {}
        for image_id, repo_digests in self._json_lines(out, 2):
            digests[image_id] = repo_digests or []
        for c in containers:
            c['image_digests'] = digests.get(c['image_id'], [])
        return containers

    @classmethod
    def _json_lines(cls, out, count):
        """The lines of docker --format output that are `count` JSON values; any other
        line (a warning that shares the output) is skipped."""
        for line in out.splitlines():
            try:
                yield cls._split_json_fields(line, count)
            except ValueError:
                continue

    @staticmethod
    def _split_json_fields(line, count):
        """Parse `count` space-separated JSON values from one line of docker --format output."""
        decoder = json.JSONDecoder()
        values, pos = [], 0
        while len(values) < count:
            while pos < len(line) and line[pos] == ' ':
                pos += 1
            value, pos = decoder.raw_decode(line, pos)
            values.append(value)
        return values

    def git_script(self, maintainer, params, docker_bin, what):
        """Run the git script in the maintainer container; return (rc, facts, stderr).

        One round trip: instead of inspecting the maintainer container first, a
        `docker exec` that docker itself refuses (no such container, not running)
        is recognised by its message and reported as before.
        """
        rc, out, err = self.docker(
            ['exec', '--interactive', '--user', JOB_USER, maintainer, 'sh', '-s', '--'] + list(params),
            what, docker_bin, stdin=SCRIPT, check=False)
        if rc != 0 and not out.strip() and EXEC_REFUSED.search(err):
            raise AnsibleActionFail(
                'the maintainer container %s is not running on the worker: run the worktree role '
                '(or provision.yml) to start it' % maintainer)
        facts = parse_output(out)
        facts['_lines'] = out.splitlines()
        return rc, facts, err

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            args = self._validated_args()
            result.update(self.act(args, task_vars or {}))
        except JobInputError as exc:
            raise AnsibleActionFail(str(exc))
        except WorkerCommandError as exc:
            raise AnsibleActionFail('%s on worker %s' % (exc, self._worker_name(task_vars)))
        return result

    def _worker_name(self, task_vars):
        return (task_vars or {}).get('inventory_hostname', 'the worker')

    def act(self, args, task_vars):  # pragma: no cover - abstract
        raise NotImplementedError
