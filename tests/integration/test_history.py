"""History in jobs: `git log -p`, `git blame` and a diff against an old base, run in a
job container on a real offload.yml run, for a worker-local origin and an HTTP one.
With `offload_history: full` (the default) the blobs are in main's store, fetched by
the maintainer container: the job reads them without fetching (its own object
directory stays empty) and cannot write main's store."""

from __future__ import annotations

import os
import subprocess

import pytest

from fixtures_github import FakeGitHub
from fixtures_offload import ROOT, Worker, git, wait_for

from ansible_collections.gcli.offload.plugins.plugin_utils._docker_cli import GIT_SCRIPT

pytestmark = pytest.mark.skipif(subprocess.run(['docker', 'info'], capture_output=True, check=False).returncode != 0,
                                reason='needs a Docker engine')

COMMITS = 12
PR = 161  # a number no other test file's jobs use on the shared engine
ENV = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@example.invalid',
           GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@example.invalid')

# The job: blame of a file changed by COMMITS commits, log -p of it, a diff against main's
# root commit (an old base), each checked; then what the job's own object dir holds.
HISTORY_JOB = r'''
set -eu
test "$(git blame --line-porcelain -- hot.txt | grep -c '^summary hot ')" = %(commits)d
test "$(git log -p --format=%%s -- hot.txt | grep -c '^+line ')" -ge %(commits)d
root=$(git rev-list --max-parents=0 HEAD)
git diff --stat "$root" -- hot.txt | grep -q 'hot.txt'
git -C /home/node/dev/main log -p -1 --format=%%s HEAD -- hot.txt | grep -q '^+line '
echo "job objects: $(find "$GIT_OBJECT_DIRECTORY" -type f | wc -l)"
echo "gc.auto=$(git config --get gc.auto)"
echo HISTORY-OK
''' % {'commits': COMMITS}


def deep_upstream(dest):
    """make-upstream's repository with COMMITS more commits on main, each rewriting a line
    of hot.txt, and pull/PR/head a commit on top of the new main."""
    subprocess.run([os.path.join(ROOT, 'tests/fixtures/make-upstream'), str(dest)], check=True)
    work = str(dest) + '.work'
    git('clone', '-q', str(dest), work)
    for n in range(COMMITS):
        with open(os.path.join(work, 'hot.txt'), 'w', encoding='utf-8') as f:
            f.writelines('line %d of commit %d\n' % (line, n if line <= n else 0) for line in range(COMMITS))
        git('-C', work, 'add', 'hot.txt', env=ENV)
        git('-C', work, 'commit', '-qm', 'hot %d' % n, env=ENV)
    git('-C', work, 'push', '-q', 'origin', 'main')
    with open(os.path.join(work, 'calc.py'), 'a', encoding='utf-8') as f:
        f.write('\n\ndef neg(a):\n    return -a\n')
    git('-C', work, 'commit', '-qam', 'calc: neg', env=ENV)
    git('-C', work, 'push', '-q', '-f', 'origin', 'HEAD:refs/pull/%d/head' % PR)
    return dest


def read(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        return f.read()


@pytest.fixture(scope='module')
def history_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp('history')
    os.chmod(base, 0o755)
    deep_upstream(base / 'upstream.git')
    return base


def run_history_job(worker, extra=None):
    proc = worker.playbook('-e', 'pr=%d' % PR,
                           extra=dict({'offload_job_command': ['sh', '-c', HISTORY_JOB]}, **(extra or {})))
    return proc, read(worker.logs()[-1]) if worker.logs() else ''


@pytest.fixture
def history_worker(tmp_path, history_dir, job_image):
    w = Worker(tmp_path, history_dir, job_image)
    yield w
    subprocess.run(['docker', 'rm', '-f', w.maintainer], capture_output=True, check=False)
    w.cleanup()


def test_history_works_in_a_job_on_a_worker_local_origin(history_worker):
    proc, log = run_history_job(history_worker)
    assert proc.returncode == 0 and 'HISTORY-OK' in log, proc.stdout[-3000:] + log
    # read from main's store: the job fetched nothing into its own object directory
    assert 'job objects: 0' in log
    # git's auto-gc is off in the job
    assert 'gc.auto=0' in log
    # a later job, same worker: the same, still nothing fetched by the job
    proc, log = run_history_job(history_worker)
    assert proc.returncode == 0 and 'HISTORY-OK' in log and 'job objects: 0' in log, log


def test_a_blobless_main_fails_history_in_a_job_then_full_fixes_it(history_worker):
    """What history full is for (and that the test above can fail): with a blobless main,
    a job cannot fetch old blobs from a worker-local origin it cannot see."""
    proc, log = run_history_job(history_worker, {'offload_history': 'blobless'})
    assert proc.returncode != 0 and 'HISTORY-OK' not in log
    assert 'promisor remote' in log or 'could not fetch' in log or 'bad object' in log or 'fatal' in log, log
    proc, log = run_history_job(history_worker)  # the next job with the default: main completed by the maintainer
    assert proc.returncode == 0 and 'HISTORY-OK' in log and 'job objects: 0' in log, proc.stdout[-3000:] + log


@pytest.fixture
def http_worker(tmp_path, history_dir, job_image):
    """A worker whose origin is served over HTTP on loopback (the fake GitHub's git
    server; a public repository: fetched without a token)."""
    base = tmp_path / 'github'
    base.mkdir()
    hub = FakeGitHub(base)
    hub.add_repo('up/deep', source=str(history_dir / 'upstream.git'), private=False)
    w = Worker(tmp_path, history_dir, job_image)
    w.vars.update(offload_repo_url=hub.git_url('up/deep'), offload_maintainer_network='host',
                  offload_maintainer_extra_mounts=[])
    yield w
    subprocess.run(['docker', 'rm', '-f', w.maintainer], capture_output=True, check=False)
    w.cleanup()
    hub.stop()


def test_history_works_in_a_job_on_an_http_origin(http_worker):
    proc, log = run_history_job(http_worker)
    assert proc.returncode == 0 and 'HISTORY-OK' in log, proc.stdout[-3000:] + log
    assert 'job objects: 0' in log


STORE_ATTACK = r'''
store=/home/node/dev/main/.git/objects
for try in "touch $store/planted" "mkdir $store/ff" "touch $store/pack/pack-0.promisor" \
           "cp -r $store/pack $store/pack2"; do
  if sh -c "$try" 2>/dev/null; then echo "WROTE: $try"; fi
done
echo x | GIT_OBJECT_DIRECTORY=$store git hash-object -w --stdin 2>/dev/null && echo "WROTE: hash-object"
GIT_OBJECT_DIRECTORY=$store GIT_ALTERNATE_OBJECT_DIRECTORIES= git repack -adq 2>/dev/null && echo "WROTE: repack"
git gc -q 2>/dev/null && echo "RAN: gc"
git -C /home/node/dev/main gc -q 2>/dev/null && echo "RAN: gc in main"
git -C /home/node/dev/main config core.hooksPath /tmp 2>/dev/null && echo "WROTE: main config"
echo ATTACK-DONE
'''


def test_a_job_cannot_write_main_object_store(history_worker):
    proc = history_worker.playbook('-e', 'pr=%d' % PR, extra={'offload_job_command': ['sh', '-c', STORE_ATTACK]})
    log = read(history_worker.logs()[-1])
    assert proc.returncode == 0 and 'ATTACK-DONE' in log, proc.stdout[-3000:] + log
    assert 'WROTE' not in log and 'RAN' not in log, log
    store = os.path.join(history_worker.data_root, 'main', '.git', 'objects')
    assert not os.path.exists(os.path.join(store, 'planted')) and not os.path.exists(os.path.join(store, 'pack2'))


def maintainer_git(worker, *params):
    """git.sh in the maintainer container, as git_worktree runs it."""
    return subprocess.run(['docker', 'exec', '--interactive', '--user', '1000:1000', worker.maintainer, 'sh', '-s',
                           '--'] + list(params), input=GIT_SCRIPT, capture_output=True, text=True, check=False)


# In the job, in the background until the job ends: read main's history and the blobs named
# in blobs.txt (loose objects in main's store that housekeeping packs and deletes), counting
# rounds and failures.
READER = r'''
( while [ ! -e stop ]; do
    if git log -p HEAD >/dev/null 2>>reader.err && git cat-file --batch <blobs.txt | grep -c "^loose " | grep -qx 30 2>>reader.err; then
      echo ok >>reader.rounds
    else
      echo failed >>reader.failed
    fi
  done ) &
'''


def test_a_job_reading_main_during_housekeeping_is_unharmed(history_worker):
    w = history_worker
    proc, log = run_history_job(w)  # main made
    assert proc.returncode == 0, proc.stdout[-3000:] + log
    # loose objects in main (as a fetch leaves them), for housekeeping to pack and delete
    blobs = []
    for n in range(30):
        blobs.append(subprocess.run(
            ['docker', 'exec', '--interactive', '--user', '1000:1000', w.maintainer, 'git', '-C',
             '/home/node/dev/main', 'hash-object', '-w', '--stdin'], input='loose %d\n' % n,
            capture_output=True, text=True, check=True).stdout.strip())
    main_objects = os.path.join(w.data_root, 'main', '.git', 'objects')
    assert os.path.exists(os.path.join(main_objects, blobs[0][:2], blobs[0][2:]))
    wt = w.worktree(PR)
    running = w.start_blocking_job(pr=PR, before='printf "%s\\n" ' + ' '.join(blobs) + ' >blobs.txt; ' + READER)
    try:
        rounds, failed = os.path.join(wt, 'reader.rounds'), os.path.join(wt, 'reader.failed')
        wait_for(lambda: os.path.exists(rounds) or os.path.exists(failed), 60, 'the reader in the job')
        assert not os.path.exists(failed), read(os.path.join(wt, 'reader.err'))
        out = maintainer_git(w, 'housekeep', '/home/node/dev', '-', '50', '30')
        assert out.returncode == 0, out.stdout + out.stderr
        assert 'loose=0' in out.stdout  # packed, and the loose copies deleted
        assert not os.path.exists(os.path.join(main_objects, blobs[0][:2], blobs[0][2:]))
        done = len(read(rounds).splitlines())
        wait_for(lambda: len(read(rounds).splitlines()) > done + 1, 60, 'reader rounds after housekeeping')
        assert not os.path.exists(failed), read(os.path.join(wt, 'reader.err'))
        assert w.finish(running, pr=PR) and running.returncode == 0
    finally:
        w.reap(running, pr=PR)
