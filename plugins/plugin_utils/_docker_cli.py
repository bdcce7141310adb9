# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The worker's commands: a docker CLI client bound once to the task's connection
and to the worker's docker client (`docker_bin`).

A worker may be a Container-Optimized OS host: Docker, a POSIX shell and
coreutils, but no Python and no git. So nothing here ships a module to the
worker. Every step is one command run through the task's connection (local,
ssh, docker...), built from an argv list and quoted with shlex at the
connection boundary; secrets travel on the command's standard input. The
scripts are fixed files (_scripts.py); what they print is read by _kv.py.

Also here: what the worker's jobs are (`jobs`: containers from docker, worktrees
from git in the maintainer container).
"""

from __future__ import annotations

import json
import re
import shlex

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.gcli.offload.plugins.module_utils._jobs import DEV, JOB_PREFIX, JOB_USER
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import (
    LABEL_PREFIX,
    MANAGED_LABEL,
    MAIN,
    WORKTREES,
)
from ansible_collections.gcli.offload.plugins.module_utils._reconcile import jobs_on_worker
from ansible_collections.gcli.offload.plugins.plugin_utils import _kv, _scripts

GIT_SCRIPT = _scripts.load('git.sh', MAIN=MAIN, WORKTREES=WORKTREES, JOB_PREFIX=JOB_PREFIX)
# git.sh with the worker's token file on its standard input (fetches and pushes that need it).
GIT_TOKEN_SCRIPT = _scripts.load('git_token.sh')
# What docker says when it refuses an exec because of the container's state
# (the script never ran: nothing on its standard output).
EXEC_REFUSED = re.compile(r'No such container|is not running|is paused|is restarting', re.I)
# A full container id, as `docker ps -q --no-trunc` prints it.
CONTAINER_ID = re.compile(r'^[0-9a-f]{64}\Z')


class WorkerCommandError(Exception):
    def __init__(self, what, argv, rc, stdout, stderr):
        detail = (stderr or stdout or '').strip().splitlines()
        tail = ' '.join(detail[-3:]) if detail else 'no output'
        super().__init__('%s failed (exit %d): %s' % (what, rc, tail))
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr


class DockerCLI:
    """Commands on one worker through one action's connection.

    run() is the only place a command reaches the worker (and the one seam a unit
    test replaces); the rest builds argv lists for it.
    """

    def __init__(self, action, docker_bin='docker', docker_config=''):
        self._action = action
        self.docker_bin = docker_bin
        # The docker client's configuration directory on the worker (DOCKER_CONFIG), e.g. the one
        # a COS worker's boot unit wrote with docker-credential-gcr: every command gets it, so
        # the docker calls of the scripts and of the supervisor's jobs pull with it too.
        self.docker_config = docker_config

    def run(self, argv, what, stdin=None, check=True):
        """Run argv on the worker; return (rc, stdout, stderr) as text.

        With check, a non-zero exit raises WorkerCommandError naming `what`.
        """
        argv = [to_text(a) for a in argv]
        if self.docker_config:
            argv = ['env', 'DOCKER_CONFIG=' + self.docker_config] + argv
        result = self._action._low_level_execute_command(
            shlex.join(argv), sudoable=True, in_data=None if stdin is None else to_bytes(stdin))
        rc = result.get('rc', 1)
        stdout = to_text(result.get('stdout', ''))
        stderr = to_text(result.get('stderr', ''))
        if check and rc != 0:
            raise WorkerCommandError(what, argv, rc, stdout, stderr)
        return rc, stdout, stderr

    def docker(self, args, what, stdin=None, check=True):
        """`docker ARGS...` on the worker (see run)."""
        return self.run([self.docker_bin] + list(args), what, stdin=stdin, check=check)

    def sh(self, script, label, args, what, stdin=None, check=True, prefix=()):
        """A fixed script (text from _scripts.load) run by the worker's sh: `sh -c SCRIPT
        LABEL ARGS...`, after prefix (e.g. a `timeout`). The label is $0 (what ps shows)."""
        return self.run(list(prefix) + ['sh', '-c', script, label] + list(args), what, stdin=stdin, check=check)

    def container_state(self, name):
        """'running', 'exited', 'created'... or None when no such container."""
        rc, out, err = self.docker(['container', 'inspect', '--format', '{{.State.Status}}', name],
                                   'inspect container %s' % name, check=False)
        if rc != 0:
            if 'no such' in (err + out).lower():
                return None
            raise WorkerCommandError('inspect container %s' % name, [], rc, out, err)
        return out.strip() or None

    def job_containers(self):
        """The job containers this collection made, as dicts (name, job, pr, action,
        state, started, image, image_id, image_digests), in three docker calls."""
        rc, out, err = self.docker(
            ['ps', '-aq', '--no-trunc', '--filter', 'label=%s=true' % MANAGED_LABEL], 'list job containers')
        # Only container ids: over SSH with become, sudo's warnings ("unable to resolve
        # host ...") can share the command's output.
        ids = [word for word in out.split() if CONTAINER_ID.match(word)]
        if not ids:
            return []
        fmt = ('{{json .Name}} {{json .State.Status}} {{json .State.StartedAt}} {{json .Config.Image}} '
               '{{json .Image}} {{json .Config.Labels}}')
        rc, out, err = self.docker(['inspect', '--format', fmt] + ids, 'inspect job containers',
                                   check=False)  # a container may vanish meanwhile (--rm)
        containers = []
        for fields in json_lines(out, 6):
            name, state, started, image, image_id, labels = fields
            labels = labels or {}
            containers.append({
                'name': name.lstrip('/'), 'state': state, 'started': started, 'image': image, 'image_id': image_id,
                'job': labels.get(LABEL_PREFIX + 'job'), 'pr': labels.get(LABEL_PREFIX + 'pr'),
                'action': labels.get(LABEL_PREFIX + 'action'),
            })
        image_ids = sorted({c['image_id'] for c in containers})
        rc, out, err = self.docker(['image', 'inspect', '--format', '{{json .Id}} {{json .RepoDigests}}'] + image_ids,
                                   'inspect job images', check=False)
        digests = {}
        for image_id, repo_digests in json_lines(out, 2):
            digests[image_id] = repo_digests or []
        for c in containers:
            c['image_digests'] = digests.get(c['image_id'], [])
        return containers

    def git(self, maintainer, params, what, token_file=None):
        """Run scripts/git.sh in the maintainer container; return (rc, KeyValues, stderr).

        token_file: the worker's token file, fed on the script's standard input (the
        script's text is then its `sh -c` argument): git gets the token through a
        credential helper for the repository's host (git.sh, read_token).

        One round trip: instead of inspecting the maintainer container first, a
        `docker exec` that docker itself refuses (no such container, not running)
        is recognised by its message and reported as such.
        """
        if token_file:
            rc, out, err = self.sh(GIT_TOKEN_SCRIPT, 'offload-git-token',
                                   [self.docker_bin, maintainer, JOB_USER, token_file, GIT_SCRIPT] + list(params),
                                   what, check=False)
        else:
            rc, out, err = self.docker(
                ['exec', '--interactive', '--user', JOB_USER, maintainer, 'sh', '-s', '--'] + list(params),
                what, stdin=GIT_SCRIPT, check=False)
        return self.git_answer(maintainer, rc, out, err)

    @staticmethod
    def git_answer(maintainer, rc, out, err):
        """What a `docker exec` of the git script said: (rc, KeyValues, stderr); see git()."""
        if rc != 0 and not out.strip() and EXEC_REFUSED.search(err):
            raise AnsibleActionFail(
                'the maintainer container %s is not running on the worker: run the worktree role '
                '(or provision.yml) to start it' % maintainer)
        return rc, _kv.parse(out), err

    def jobs(self, maintainer):
        """-> (jobs, worker_now): one record per job (containers and worktrees, see
        _reconcile.jobs_on_worker), and the worker's clock."""
        containers = self.job_containers()
        rc, out, err = self.run(['date', '+%s'], 'read the clock')
        now = int(out.strip())
        worktrees = []
        if self.container_state(maintainer) == 'running':
            rc, facts, err = self.git(maintainer, ['list', DEV, '-'], 'list worktrees')
            if rc != 0:
                raise AnsibleActionFail('cannot list the worktrees: %s' % (facts.get('error') or err.strip()))
            for line in facts.all('worktree'):
                name, head, since = (line.split() + ['', '0'])[:3]
                worktrees.append({'name': name, 'head': head, 'held_since': int(since or 0)})
        return jobs_on_worker(containers, worktrees, now), now


def json_lines(out, count):
    """The lines of docker --format output that are `count` JSON values; any other
    line (a warning that shares the output) is skipped."""
    for line in out.splitlines():
        try:
            yield split_json_fields(line, count)
        except ValueError:
            continue


def split_json_fields(line, count):
    """Parse `count` space-separated JSON values from one line of docker --format output."""
    decoder = json.JSONDecoder()
    values, pos = [], 0
    while len(values) < count:
        while pos < len(line) and line[pos] == ' ':
            pos += 1
        value, pos = decoder.raw_decode(line, pos)
        values.append(value)
    return values
