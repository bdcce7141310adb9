"""Fixtures for offload runs on the local Docker engine: the images, an upstream
repository with pull refs, and an isolated worker (its own data root and
maintainer container) per test."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import threading
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# A job that runs until a file `stop` appears in its worktree (Worker.finish makes it).
WAIT_FOR_STOP = 'echo JOB-STARTED; while [ ! -e stop ]; do sleep 0.05; done; echo JOB-DONE'
# The playbooks that run on a worker, with the extra vars each needs to get that far.
WORKER_PLAYBOOKS = {'offload': ['-e', 'pr=1'], 'status': [], 'logs': ['-e', 'pr=1'], 'clean': ['-e', 'pr=1'],
                    'reconcile': [], 'attach': [], 'github_auth': []}


def docker(*args, check=True):
    return subprocess.run(['docker'] + list(args), capture_output=True, text=True, check=check)


def container_state(name):
    proc = docker('container', 'inspect', '--format', '{{.State.Status}}', name, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def wait_for(condition, timeout=60, what='condition'):
    """Poll until condition() is truthy; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError('timed out after %ss waiting for %s' % (timeout, what))


def git(*args, env=None):
    return subprocess.run(['git'] + list(args), capture_output=True, text=True, check=True, env=env).stdout.strip()


def pr_upstream(base, prs, who):
    """make-upstream's repository in `base` plus pull refs `prs`: new commits on PR 1 (its tests
    pass), so that a test file's jobs have names no other file's jobs use on the shared engine."""
    os.chmod(base, 0o755)  # the maintainer container's uid 1000 reads it
    repo = str(base / 'upstream.git')
    subprocess.run([os.path.join(ROOT, 'tests/fixtures/make-upstream'), repo], check=True)
    env = dict(os.environ, GIT_AUTHOR_NAME=who, GIT_AUTHOR_EMAIL=who + '@example.invalid',
               GIT_COMMITTER_NAME=who, GIT_COMMITTER_EMAIL=who + '@example.invalid')
    parent = git('-C', repo, 'rev-parse', 'refs/pull/1/head')
    tree = git('-C', repo, 'rev-parse', parent + '^{tree}')
    for pr in prs:
        commit = git('-C', repo, 'commit-tree', tree, '-p', parent, '-m', '%s PR %d' % (who, pr), env=env)
        git('-C', repo, 'update-ref', 'refs/pull/%d/head' % pr, commit)
    return base


@pytest.fixture(scope='session')
def upstream_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp('upstream')
    os.chmod(base, 0o755)  # the maintainer container's uid 1000 reads it (pytest makes it 0700)
    subprocess.run([os.path.join(ROOT, 'tests/fixtures/make-upstream'), str(base / 'upstream.git')], check=True)
    return base


@pytest.fixture
def private_pr(upstream_dir):
    """pr(base=1) -> a pull request number of this test's own, whose head is PR base's.
    Job container names are engine-wide, so others' tests running at the same time
    (offload-1-review...) never collide with this test's jobs."""
    def make(base=1):
        number = random.randint(10 ** 5, 10 ** 8)
        subprocess.run(['git', '-C', str(upstream_dir / 'upstream.git'), 'update-ref', 'refs/pull/%d/head' % number,
                        'refs/pull/%d/head' % base], check=True)
        return number
    return make


class Streamed:
    """A running playbook (a Popen with stdout piped) whose output is read as it comes, with
    the time each line arrived: text() so far, wait_for(needle), wait() for its end."""

    def __init__(self, proc):
        self.proc, self.lines, self.times = proc, [], []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            self.times.append(time.monotonic())

    def text(self):
        return ''.join(self.lines)

    def wait_for(self, needle, timeout=120):
        return wait_for(lambda: needle in self.text() or self.proc.poll() is not None and needle in self.text(),
                        timeout, '%r in the output of %s' % (needle, self.proc.args[:2]))

    def wait(self, timeout=300):
        self.proc.wait(timeout=timeout)
        self._thread.join(timeout=10)
        return self.proc.returncode


class DrainedPopen(subprocess.Popen):
    """A Popen with stdout piped whose output is read as it comes, so that a verbose run never
    blocks on a full pipe while the test waits for something else; communicate() returns it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._chunks = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.stdout:
            self._chunks.append(line)

    def communicate(self, input=None, timeout=None):  # pylint: disable=redefined-builtin
        self.wait(timeout=timeout)
        self._reader.join(timeout=30)
        self.stdout.close()
        return ''.join(self._chunks), None


class Worker:
    """An isolated local worker: its own data root, maintainer name and log folder."""

    def __init__(self, tmp_path, upstream_dir, image, data_root=None, inventory=None, secrets_dir=None):
        self.id = uuid.uuid4().hex[:8]
        self.data_root = data_root or str(tmp_path / 'data')
        self.inventory = inventory
        # a tmpfs directory of this test's own for the GitHub token
        self.secrets_dir = secrets_dir or '/dev/shm/gcli-offload-test-%s' % self.id
        self.log_dest = str(tmp_path / 'logs')
        self.maintainer = 'maint-test-%s' % self.id
        self.upstream_dir = str(upstream_dir)
        self.vars = {
            'offload_data_root': self.data_root,
            'offload_image': image,
            'offload_repo_url': 'file://%s/upstream.git' % upstream_dir,
            'offload_maintainer_name': self.maintainer,
            'offload_maintainer_extra_mounts': [str(upstream_dir)],
            'offload_log_dest': self.log_dest,
            'offload_secrets_dir': self.secrets_dir,
        }
        self.tmp_path = tmp_path

    def command(self, playbook='offload.yml', extra=None, args=()):
        varsfile = self.tmp_path / ('vars-%s.json' % uuid.uuid4().hex[:6])
        varsfile.write_text(json.dumps(dict(self.vars, **(extra or {}))))
        inventory = ['-i', self.inventory] if self.inventory else []
        return ['ansible-playbook', playbook] + inventory + ['-e', '@%s' % varsfile] + list(args)

    def playbook(self, *args, extra=None, playbook='offload.yml', timeout=300, env=None):
        return subprocess.run(self.command(playbook, extra, args), cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                                                        **(env or {})), check=False)

    def start(self, *args, extra=None, drain=False):
        """offload.yml started (a Popen, output piped); drain: its output read as it comes
        (DrainedPopen), for a verbose run nobody reads line by line."""
        popen = DrainedPopen if drain else subprocess.Popen
        return popen(self.command('offload.yml', extra, args), cwd=ROOT, stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, text=True, env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0'))

    def start_blocking_job(self, pr=1, action='review', before='', extra=None, args=(), timeout=120, drain=False):
        """Start offload.yml for a job that waits for a `stop` file in its worktree; return the
        running ansible-playbook (a Popen) once the job container runs. `before` is shell run first
        in the job (e.g. a check that must hold, with `set -e` semantics left to the caller).
        drain: see start (-vvvv fills the pipe before the job starts)."""
        command = ['sh', '-c', before + WAIT_FOR_STOP]
        proc = self.start('-e', 'pr=%d' % pr, '-e', 'offload_action=%s' % action, *args,
                          extra=dict({'offload_job_command': command}, **(extra or {})), drain=drain)
        name = 'offload-%d-%s' % (pr, action)
        try:
            wait_for(lambda: proc.poll() is not None or (self.job_state(name) == 'running'
                                                         and 'JOB-STARTED' in self.worker_log(name)),
                     timeout, 'the job container %s to run its command' % name)
        except AssertionError:
            self.reap(proc, pr, action)
            raise
        if proc.poll() is not None:
            raise AssertionError('offload.yml ended before %s ran:\n%s' % (name, proc.communicate()[0]))
        return proc

    def finish(self, proc, pr=1, action='review', timeout=120):
        """Release a job started by start_blocking_job; return the playbook's output."""
        open(os.path.join(self.worktree(pr, action), 'stop'), 'w').close()
        return proc.communicate(timeout=timeout)[0]

    def reap(self, proc, pr=1, action='review'):
        """For `finally`: a playbook still running has its job container removed, then is waited for."""
        if proc.poll() is None:
            name = 'offload-%d-%s' % (pr, action)
            # the job's containers (one a part), which its supervisor on the worker waits for
            docker('rm', '-f', *[c for c in self.job_containers() if c == name or c.startswith(name + '-')] or [name],
                   check=False)
        if proc.stdout is None or proc.stdout.closed:
            return ''  # already waited for (finish)
        return proc.communicate(timeout=120)[0]

    def worktree(self, pr, action='review'):
        return os.path.join(self.data_root, 'worktrees', 'offload-%s-%s' % (pr, action))

    def worker_log(self, name):
        """The text of the job's newest log on the worker ('' when none yet)."""
        folder = os.path.join(self.data_root, 'logs', name)
        try:
            logs = sorted(f for f in os.listdir(folder) if f.endswith('.log') and f.count('.') == 1)  # not a part's
            with open(os.path.join(folder, logs[-1])) as f:
                return f.read()
        except (OSError, IndexError):
            return ''

    def job_state(self, name):
        """The state of the job container `name` when it is this worker's (it mounts the data root;
        another test's job of the same name on the shared engine does not count), else None."""
        proc = docker('container', 'inspect', '--format', '{{.State.Status}}{{range .Mounts}} {{.Source}}{{end}}',
                      name, check=False)
        fields = proc.stdout.split()
        prefix = self.data_root.rstrip('/') + '/'
        if proc.returncode != 0 or not any(src.startswith(prefix) for src in fields[1:]):
            return None
        return fields[0]

    def job_containers(self):
        """This worker's job containers: managed ones that mount its data root. Other
        workers' jobs on the same Docker engine (a parallel test run) are not counted."""
        out = docker('ps', '-a', '--filter', 'label=gcli.offload.managed=true', '--format', '{{.Names}}').stdout
        names = [n for n in out.split() if n]
        if not names:
            return []
        proc = docker('container', 'inspect', '--format',
                      '{{.Name}}{{range .Mounts}} {{.Source}}{{end}}', *names, check=False)
        prefix = self.data_root.rstrip('/') + '/'
        return sorted(fields[0].lstrip('/') for fields in map(str.split, proc.stdout.splitlines())
                      if fields and any(src.startswith(prefix) for src in fields[1:]))

    def logs(self):
        found = []
        for dirpath, _dirnames, files in os.walk(self.log_dest):
            found += [os.path.join(dirpath, f) for f in files if f.endswith('.log')]
        return sorted(found)

    def cleanup(self):
        docker('rm', '-f', self.maintainer, check=False)
        shutil.rmtree(self.data_root, ignore_errors=True)
        shutil.rmtree(self.secrets_dir, ignore_errors=True)


@contextlib.contextmanager
def small_disk_worker(tmp_path, upstream, image, size):
    """A local worker whose data root is on a tmpfs of `size` (a data disk that can fill up),
    mounted at worker.mount while the block runs; its containers are removed after it."""
    mount = tmp_path / 'disk'
    mount.mkdir()
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s,mode=0755' % size, 'tmpfs', str(mount)], check=True)
    w = Worker(tmp_path, upstream, image, data_root=str(mount / 'offload'))
    w.mount = str(mount)
    try:
        yield w
    finally:
        for name in w.job_containers():
            docker('rm', '-f', name, check=False)
        docker('rm', '-f', w.maintainer, check=False)
        subprocess.run(['umount', '--lazy', str(mount)], check=True)


@pytest.fixture
def worker(tmp_path, upstream_dir, job_image):
    w = Worker(tmp_path, upstream_dir, job_image)
    yield w
    w.cleanup()


@pytest.fixture
def upstream(upstream_dir):
    """The repository `local` works on; a test module overrides it with its own."""
    return upstream_dir


@pytest.fixture
def local(tmp_path, upstream, job_image):
    """A worker on the local Docker engine (host local-worker); its job containers and
    maintainer are removed after the test."""
    w = Worker(tmp_path, upstream, job_image)
    w.host_name = 'local-worker'
    yield w
    for name in w.job_containers():
        docker('rm', '-f', name, check=False)
    w.cleanup()
