"""The git side of a job (the script fed to the maintainer container), run here
with the host's git against a real upstream with pull refs."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time

import pytest

from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import job_paths
from ansible_collections.gcli.offload.plugins.plugin_utils import _kv
from ansible_collections.gcli.offload.plugins.plugin_utils._docker_cli import GIT_SCRIPT as SCRIPT


def parse_output(text):
    """The script's facts as a dict (the last value of a key), as the actions read them."""
    return dict(_kv.parse(text).pairs)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
pytestmark = pytest.mark.skipif(not shutil.which('git') or not shutil.which('flock'), reason='needs git and flock')


@pytest.fixture(scope='module')
def upstream(tmp_path_factory):
    dest = tmp_path_factory.mktemp('upstream') / 'upstream.git'
    subprocess.run([os.path.join(ROOT, 'tests/fixtures/make-upstream'), str(dest)], check=True)
    return 'file://%s' % dest


@pytest.fixture
def dev(tmp_path):
    for d in ('main', 'worktrees', 'gemini', 'logs'):
        (tmp_path / d).mkdir()
    return tmp_path


def run(dev, *args, check=True, env=None):
    proc = subprocess.run(['sh', '-s', '--', args[0], str(dev)] + [str(a) for a in args[1:]],
                          input=SCRIPT, capture_output=True, text=True,
                          env=dict(os.environ, HOME=str(dev), **(env or {})), check=False)
    out = parse_output(proc.stdout)
    if check:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    out['rc'] = proc.returncode
    out['stderr'] = proc.stderr
    return out


def git(*args):
    return subprocess.run(['git'] + list(args), check=True, capture_output=True, text=True).stdout.strip()


def test_shellcheck_clean(tmp_path):
    if not shutil.which('shellcheck'):
        pytest.skip('shellcheck not installed')
    script = tmp_path / 'offload-git.sh'
    script.write_text('#!/bin/sh\n' + SCRIPT)
    subprocess.run(['shellcheck', str(script)], check=True)


def test_prepare_makes_a_clone_without_checkout_and_a_detached_worktree(dev, upstream):
    out = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
    assert out['changed'] == '1'
    main = dev / 'main'
    # history "full" (the default): a partial clone that filters no blob (up to 1 GiB)
    assert git('-C', str(main), 'config', 'remote.origin.partialclonefilter') == 'blob:limit=1g'
    assert git('-C', str(main), 'remote', 'get-url', 'origin') == upstream
    wt = dev / 'worktrees' / 'offload-1-review'
    assert git('-C', str(wt), 'rev-parse', 'HEAD') == out['head']
    assert git('-C', str(wt), 'log', '-1', '--format=%s') == 'calc: add mul'
    assert (wt / 'calc.py').read_text().count('def ') == 2
    assert out['gitdir'] == str(main / '.git' / 'worktrees' / 'offload-1-review')
    # where the collection's layout says (the job container mounts these paths)
    paths = job_paths(str(dev), 'offload-1-review')
    assert (out['gitdir'], str(wt), str(main)) == (paths['gitdir'], paths['worktree_dir'], paths['main_dir'])
    assert os.path.isdir(os.path.join(out['gitdir'], 'objects'))
    # held while the job runs
    assert (main / '.git' / 'worktrees' / 'offload-1-review' / 'locked').read_text().startswith('offload ')
    # main's HEAD is origin's default branch, and main has no checkout: its git directory only
    assert out['base'] == git('-C', str(main), 'rev-parse', 'HEAD') == git('-C', str(main), 'rev-parse', 'origin/main')
    assert os.listdir(main) == ['.git'] and not (main / '.git' / 'index').exists()


def test_remove_main_empties_the_clone_in_place_and_prepare_clones_again(dev, upstream):
    """The data root holding main/ is not the job user's on a worker: remove-main empties
    main/ (dot files too) rather than unlinking it, and removes every worktree."""
    run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
    (dev / 'main' / '.hidden').write_text('x')
    out = run(dev, 'remove-main', '-')
    assert out['changed'] == '1'
    assert (dev / 'main').is_dir() and os.listdir(dev / 'main') == []
    assert [p for p in os.listdir(dev / 'worktrees') if not p.startswith('.')] == []
    again = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
    assert again['changed'] == '1' and (dev / 'worktrees' / 'offload-1-review' / 'calc.py').exists()


def has_object(repo, oid):
    """Whether the clone holds the object itself (no lazy fetch from its promisor remote)."""
    return subprocess.run(['git', '-C', str(repo), 'cat-file', '-e', oid], capture_output=True, check=False,
                          env=dict(os.environ, GIT_NO_LAZY_FETCH='1')).returncode == 0


@pytest.mark.parametrize('given', ['path', 'url'])
def test_a_repository_given_by_path_is_cloned_blobless(dev, upstream, given):
    """git copies a repository named by a plain path whole (--filter is ignored for a
    "local clone"); the script clones it through file:// so that it is really blobless
    (history "blobless")."""
    path = upstream[len('file://'):]
    run(dev, 'prepare', 'offload-1-review', 1, path if given == 'path' else upstream, '', 120, '', 'blobless')
    main = dev / 'main'
    assert git('-C', str(main), 'config', 'remote.origin.promisor') == 'true'
    assert git('-C', str(main), 'config', 'remote.origin.partialclonefilter') == 'blob:none'
    assert git('-C', str(main), 'remote', 'get-url', 'origin') == upstream
    # a blob of a pull request the job did not fetch: a full copy has it, a blobless clone does not
    other = git('-C', path, 'rev-parse', 'refs/pull/2/head:calc.py')
    assert other != git('-C', path, 'rev-parse', 'refs/pull/1/head:calc.py')
    assert not has_object(main, other), 'the whole repository was copied: not a blobless clone'
    # the worktree has its files (fetched on demand), and a re-run keeps the URL
    assert (dev / 'worktrees' / 'offload-1-review' / 'calc.py').exists()
    run(dev, 'release', 'offload-1-review')
    assert run(dev, 'prepare', 'offload-1-review', 1, path, '', 120, '', 'blobless')['rc'] == 0
    assert git('-C', str(main), 'remote', 'get-url', 'origin') == upstream


def test_prepare_with_a_fork_fetches_the_pull_ref_from_upstream(dev, upstream, tmp_path):
    fork = tmp_path / 'fork.git'
    git('clone', '-q', '--bare', upstream, str(fork))  # a fork: main only, no pull refs
    assert subprocess.run(['git', '-C', str(fork), 'rev-parse', '-q', '--verify', 'refs/pull/1/head'],
                          capture_output=True, check=False).returncode != 0
    out = run(dev, 'prepare', 'offload-1-review', 1, 'file://%s' % fork, upstream, 120)
    main = str(dev / 'main')
    assert git('-C', main, 'remote', 'get-url', 'upstream') == upstream
    assert git('-C', main, 'remote', 'get-url', 'origin') == 'file://%s' % fork
    assert git('-C', str(dev / 'worktrees' / 'offload-1-review'), 'log', '-1', '--format=%s') == 'calc: add mul'
    assert out['changed'] == '1'


def test_unknown_pull_request_is_a_clear_error(dev, upstream):
    out = run(dev, 'prepare', 'offload-99-review', 99, upstream, '', 120, check=False)
    assert out['rc'] != 0
    assert out['error'] == 'pull request 99 not found: origin has no refs/pull/99/head'
    assert not (dev / 'worktrees' / 'offload-99-review').exists()


def test_prepare_refuses_a_worktree_held_by_another_run_then_takes_over_a_stale_one(dev, upstream):
    run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
    out = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120, check=False)
    assert out['rc'] != 0
    assert 'is held by another offload run since' in out['error']
    # grace 0: the hold is stale, the same clean worktree is reused: no change
    out = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 0)
    assert out['changed'] == '0'


def test_release_keeps_the_worktree_and_converged_prepare_changes_nothing(dev, upstream):
    first = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
    out = run(dev, 'release', 'offload-1-review')
    assert out == dict(out, exists='1', dirty='0', head=first['head'], changed='0')
    locked = dev / 'main' / '.git' / 'worktrees' / 'offload-1-review' / 'locked'
    assert not locked.exists()
    again = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
    assert again['changed'] == '0' and again['head'] == first['head']


def test_a_dirty_kept_worktree_is_made_anew(dev, upstream):
    run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
    wt = dev / 'worktrees' / 'offload-1-review'
    (wt / 'calc.py').write_text('broken\n')
    assert run(dev, 'release', 'offload-1-review')['dirty'] == '1'
    out = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
    assert out['changed'] == '1'
    assert 'def mul' in (wt / 'calc.py').read_text()


def test_remove_deletes_and_prunes(dev, upstream):
    run(dev, 'prepare', 'offload-2-review', 2, upstream, '', 120)
    out = run(dev, 'remove', 'offload-2-review')
    assert out['changed'] == '1' and out['exists'] == '1'
    assert not (dev / 'worktrees' / 'offload-2-review').exists()
    assert not (dev / 'main' / '.git' / 'worktrees' / 'offload-2-review').exists()
    assert 'offload-2-review' not in git('-C', str(dev / 'main'), 'worktree', 'list')
    assert run(dev, 'remove', 'offload-2-review')['changed'] == '0'


def job_env(prep):
    """The environment git has in a job: new objects in its admin dir, main's store as an alternate."""
    return dict(os.environ, GIT_OBJECT_DIRECTORY=prep['gitdir'] + '/objects',
                GIT_ALTERNATE_OBJECT_DIRECTORIES=os.path.join(os.path.dirname(os.path.dirname(prep['gitdir'])),
                                                              'objects'),
                GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@e', GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@e')


def test_objects_a_job_wrote_stay_its_own_after_release(dev, upstream):
    """A job commits with GIT_OBJECT_DIRECTORY in its own admin dir (main is read-only
    in the job); release reads the new HEAD through them but never hands them to
    main's store, which every other job reads."""
    prep = run(dev, 'prepare', 'offload-1-fix', 1, upstream, '', 120)
    wt = str(dev / 'worktrees' / 'offload-1-fix')
    env = job_env(prep)
    with open(os.path.join(wt, 'NEW'), 'w') as f:
        f.write('new\n')
    subprocess.run(['git', '-C', wt, 'add', 'NEW'], check=True, env=env)
    subprocess.run(['git', '-C', wt, 'commit', '-qm', 'job commit'], check=True, env=env)
    new_head = subprocess.run(['git', '-C', wt, 'rev-parse', 'HEAD'], check=True, env=env,
                              capture_output=True, text=True).stdout.strip()
    out = run(dev, 'release', 'offload-1-fix', check=True)
    assert out['head'] == new_head and out['dirty'] == '0'
    assert subprocess.run(['git', '-C', str(dev / 'main'), 'cat-file', '-e', new_head],
                          capture_output=True, check=False).returncode != 0
    assert os.listdir(os.path.join(prep['gitdir'], 'objects'))


@pytest.mark.parametrize('history', ['full', 'blobless'])
def test_a_kept_worktree_at_a_commit_main_lacks_does_not_stop_later_fetches(dev, upstream, tmp_path, history):
    """git's fetch walks from every worktree's HEAD; a kept job's HEAD is a commit only
    its own object directory has. main's packs are promisor packs, so the fetch of a new
    pull request (from origin or from upstream) does not fail on it."""
    fork = tmp_path / 'fork.git'
    git('clone', '-q', '--bare', upstream, str(fork))
    git('-C', str(fork), 'config', 'uploadpack.allowFilter', 'true')
    prep = run(dev, 'prepare', 'offload-1-fix', 1, upstream, '', 120, '', history)
    wt = str(dev / 'worktrees' / 'offload-1-fix')
    subprocess.run(['git', '-C', wt, 'commit', '-q', '--allow-empty', '-m', 'job commit'], check=True,
                   env=job_env(prep))
    run(dev, 'release', 'offload-1-fix')
    assert run(dev, 'prepare', 'offload-2-review', 2, upstream, '', 120, '', history)['rc'] == 0
    assert run(dev, 'prepare', 'offload-3-review', 3, 'file://%s' % fork, upstream, 120, '', history)['rc'] == 0


FSMONITOR_MARK = 'fsmonitor-ran'


def evil_repo(path, mark):
    """A repository whose config runs a program on `git status` (fsmonitor) and on hooks."""
    subprocess.run(['git', 'init', '-q', str(path)], check=True)
    cmd = 'touch %s; false' % mark
    for key, value in (('core.fsmonitor', cmd), ('core.hooksPath', str(path)), ('core.pager', cmd)):
        subprocess.run(['git', '-C', str(path), 'config', key, value], check=True)


def tamper_dot_git(dev, wt, admin, mark):
    evil_repo(wt / '.evil', mark)
    (wt / '.git').write_text('gitdir: .evil/.git\n')


def tamper_commondir(dev, wt, admin, mark):
    evil_repo(wt / '.evil', mark)
    (admin / 'commondir').write_text(str(wt / '.evil' / '.git') + '\n')


def tamper_submodule(dev, wt, admin, mark):
    """A gitlink in the index whose directory holds a repository with a hostile config."""
    evil_repo(wt / 'sub', mark)
    subprocess.run(['git', '-C', str(wt / 'sub'), '-c', 'core.fsmonitor=false', 'commit', '-q', '--allow-empty',
                    '-m', 'x'], check=True, env=dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@e',
                                                     GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@e'))
    sha = git('-C', str(wt / 'sub'), '-c', 'core.fsmonitor=false', 'rev-parse', 'HEAD')
    subprocess.run(['git', '-C', str(wt), 'update-index', '--add', '--cacheinfo', '160000,%s,sub' % sha], check=True)


@pytest.mark.parametrize('tamper', [tamper_dot_git, tamper_commondir, tamper_submodule])
@pytest.mark.parametrize('step', ['release', 'remove', 'reuse'])
def test_git_on_a_worktree_a_job_tampered_with_runs_nothing_of_it(dev, upstream, tamper, step):
    """What a job wrote (its .git file, its admin dir, a submodule) never makes the
    maintainer's git run a program: release, remove, and prepare reusing the kept worktree."""
    prep = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
    wt = dev / 'worktrees' / 'offload-1-review'
    mark = dev / FSMONITOR_MARK
    tamper(dev, wt, dev / 'main' / '.git' / 'worktrees' / 'offload-1-review', mark)
    if step == 'reuse':
        run(dev, 'release', 'offload-1-review')
        out = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
        assert out['head'] == prep['head']
        assert (wt / 'calc.py').exists()
    else:
        run(dev, step, 'offload-1-review')
    assert not mark.exists(), 'git in the maintainer ran a program the job planted'


def test_a_tampered_worktree_is_not_kept(dev, upstream):
    run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
    wt = dev / 'worktrees' / 'offload-1-review'
    tamper_dot_git(dev, wt, None, dev / FSMONITOR_MARK)
    out = run(dev, 'release', 'offload-1-review')
    assert out['tampered'] == '1'
    assert not wt.exists() and not (dev / 'main' / '.git' / 'worktrees' / 'offload-1-review').exists()


def test_a_hold_in_the_future_holds_nothing(dev, upstream):
    first = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
    with open(os.path.join(first['gitdir'], 'locked'), 'w') as f:
        f.write('offload %d\n' % (time.time() + 10 ** 6))
    out = run(dev, 'list', '-')
    assert out['worktree'].endswith(' 0')
    assert run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)['changed'] == '0'


def test_concurrent_prepares_of_different_prs_both_succeed(dev, upstream):
    run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)  # the clone exists
    results = {}

    def prep(pr):
        results[pr] = run(dev, 'prepare', 'offload-%d-review' % pr, pr, upstream, '', 120, check=False)

    threads = [threading.Thread(target=prep, args=(pr,)) for pr in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [results[pr]['rc'] for pr in (2, 3)] == [0, 0], results
    listed = git('-C', str(dev / 'main'), 'worktree', 'list', '--porcelain')
    for pr in (1, 2, 3):
        assert 'worktrees/offload-%d-review' % pr in listed


def test_the_repository_lock_serialises_fetches(dev, upstream):
    """While another process holds the lock, prepare waits and then times out clearly."""
    lock = dev / 'worktrees' / '.offload-git.lock'
    holder = subprocess.Popen(['flock', str(lock), 'sh', '-c', 'echo held; exec cat'],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        started = time.monotonic()
        out = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120, check=False,
                  env={'OFFLOAD_GIT_LOCK_TIMEOUT': '1'})
        assert out['rc'] != 0
        assert 'timed out after 1s waiting for the git lock' in out['error']
        assert time.monotonic() - started >= 1
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)['changed'] == '1'


def _boot_time():
    with open('/proc/stat') as f:
        return int(next(line.split()[1] for line in f if line.startswith('btime ')))


def test_a_hold_from_before_the_worker_booted_is_taken_over_at_once(dev, upstream):
    """A VM that stopped mid-job comes back: its run's hold is stale whatever its age."""
    first = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
    locked = os.path.join(first['gitdir'], 'locked')
    boot = _boot_time()
    # a grace long enough that age alone would protect both holds below
    grace = int(time.time()) - boot + 3600
    with open(locked, 'w') as f:
        f.write('offload %d\n' % (boot + 5))  # made after the boot: a live run's
    out = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', grace, check=False)
    assert out['rc'] != 0 and 'is held by another offload run since' in out['error']
    with open(locked, 'w') as f:
        f.write('offload %d\n' % (boot - 5))  # made before the boot: its run died with the VM
    out = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', grace)
    assert out['changed'] == '0' and out['head'] == first['head']


@pytest.fixture(scope='module')
def deep_upstream(tmp_path_factory, upstream):
    """make-upstream with a second commit on main: calc.py's first version is history only."""
    base = tmp_path_factory.mktemp('deep')
    dest, work = base / 'upstream.git', base / 'src'
    git('clone', '-q', '--bare', upstream, str(dest))
    git('-C', str(dest), 'config', 'uploadpack.allowFilter', 'true')
    git('-C', str(dest), 'config', 'uploadpack.allowAnySHA1InWant', 'true')
    for pr in (1, 2):
        git('--git-dir', str(dest), 'fetch', '-q', upstream, '+refs/pull/%d/head:refs/pull/%d/head' % (pr, pr))
    git('clone', '-q', str(dest), str(work))
    (work / 'calc.py').write_text('def add(a, b):\n    return b + a\n')
    env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@example.invalid',
               GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@example.invalid')
    subprocess.run(['git', '-C', str(work), 'commit', '-qam', 'calc: commute'], check=True, env=env)
    git('-C', str(work), 'push', '-q', 'origin', 'main')
    return 'file://%s' % dest, git('-C', str(work), 'rev-parse', 'HEAD~1:calc.py')


def test_history_full_holds_every_blob_of_the_history(dev, deep_upstream):
    """A job reads main's objects and cannot fetch: with history full (the default) a
    blob only the history has is in main's own store."""
    url, old_blob = deep_upstream
    run(dev, 'prepare', 'offload-1-review', 1, url, '', 120)
    assert has_object(dev / 'main', old_blob)


def test_a_blobless_main_gets_its_history_when_full_is_asked(dev, deep_upstream):
    url, old_blob = deep_upstream
    run(dev, 'prepare', 'offload-1-review', 1, url, '', 120, '', 'blobless')
    main = dev / 'main'
    assert not has_object(main, old_blob)
    run(dev, 'release', 'offload-1-review')
    out = run(dev, 'prepare', 'offload-1-review', 1, url, '', 120, '', 'full')
    assert out['changed'] == '1' and has_object(main, old_blob)
    assert git('-C', str(main), 'config', 'remote.origin.partialclonefilter') == 'blob:limit=1g'
    # converged: nothing more to fetch
    run(dev, 'release', 'offload-1-review')
    assert run(dev, 'prepare', 'offload-1-review', 1, url, '', 120, '', 'full')['changed'] == '0'


def test_an_unknown_history_mode_is_refused(dev, upstream):
    out = run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120, '', 'partial', check=False)
    assert out['rc'] != 0 and 'unknown history mode' in out['error']
    assert not (dev / 'main' / '.git').exists()


def test_the_checkout_of_main_an_earlier_version_made_goes(dev, upstream):
    run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)
    main = str(dev / 'main')
    git('-C', main, 'checkout', '-q', '--detach', 'origin/main')  # what earlier versions kept
    assert os.path.exists(os.path.join(main, 'calc.py'))
    run(dev, 'release', 'offload-1-review')
    assert run(dev, 'prepare', 'offload-1-review', 1, upstream, '', 120)['changed'] == '1'
    assert os.listdir(main) == ['.git'] and not os.path.exists(os.path.join(main, '.git', 'index'))
    assert git('-C', main, 'rev-parse', 'HEAD') == git('-C', main, 'rev-parse', 'origin/main')


def packs(dev):
    return len([f for f in os.listdir(dev / 'main' / '.git' / 'objects' / 'pack') if f.endswith('.pack')])


def pull_refs(dev):
    return git('-C', str(dev / 'main'), 'for-each-ref', '--format=%(refname)', 'refs/offload/pull/').split()


@pytest.fixture(scope='module')
def many_prs(tmp_path_factory, upstream):
    """An upstream with pull refs 1-12, each a commit of its own with enough objects for a
    pack of its own when fetched (fetch.unpackLimit is 100)."""
    dest = tmp_path_factory.mktemp('many') / 'upstream.git'
    git('clone', '-q', '--bare', upstream, str(dest))
    git('-C', str(dest), 'config', 'uploadpack.allowFilter', 'true')
    env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@example.invalid',
               GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@example.invalid', GIT_DIR=str(dest))
    main = git('--git-dir', str(dest), 'rev-parse', 'main')
    for pr in range(1, 13):
        entries = ''
        for n in range(120):
            blob = subprocess.run(['git', 'hash-object', '-w', '--stdin'], input='pr %d file %d\n' % (pr, n),
                                  capture_output=True, text=True, check=True, env=env).stdout.strip()
            entries += '100644 blob %s\tf%03d.txt\n' % (blob, n)
        tree = subprocess.run(['git', 'mktree'], input=entries, capture_output=True, text=True, check=True,
                              env=env).stdout.strip()
        commit = subprocess.run(['git', 'commit-tree', tree, '-p', main, '-m', 'pr %d' % pr], capture_output=True,
                                text=True, check=True, env=env).stdout.strip()
        git('--git-dir', str(dest), 'update-ref', 'refs/pull/%d/head' % pr, commit)
    return 'file://%s' % dest


WAIT = {'OFFLOAD_HOUSEKEEPING': 'wait', 'OFFLOAD_GIT_MAX_PACKS': '3'}


def test_without_housekeeping_packs_and_refs_pile_up(dev, many_prs):
    """What housekeeping is for (and that the next test can fail): a pack and a ref per PR."""
    for pr in range(1, 9):
        run(dev, 'prepare', 'offload-%d-review' % pr, pr, many_prs, '', 120, env={'OFFLOAD_HOUSEKEEPING': 'off'})
        run(dev, 'remove', 'offload-%d-review' % pr)
    assert packs(dev) >= 8 and len(pull_refs(dev)) == 8


def test_housekeeping_keeps_main_packed_and_prunes_unused_pull_refs(dev, many_prs):
    keep = 3
    for pr in range(1, 13):
        out = run(dev, 'prepare', 'offload-%d-review' % pr, pr, many_prs, '', 120, '', 'full', keep, 30, env=WAIT)
        if pr != 2:  # PR 2's worktree stays (a job of it runs, or was kept)
            run(dev, 'remove', 'offload-%d-review' % pr)
        assert packs(dev) <= 4, 'after PR %d: %d packs' % (pr, packs(dev))
    assert out.get('housekeeping') == '1'
    # the last `keep` used, and PR 2's (its worktree exists)
    assert sorted(pull_refs(dev)) == ['refs/offload/pull/%d' % p for p in (10, 11, 12, 2)]
    assert sorted(os.listdir(dev / 'main' / '.git' / 'offload-used')) == ['10', '11', '12', '2']
    # the start refs of the pruned PRs' jobs went with them
    starts = git('-C', str(dev / 'main'), 'for-each-ref', '--format=%(refname)', 'refs/offload/start/').split()
    assert sorted(starts) == ['refs/offload/start/offload-%d-review' % p for p in (10, 11, 12, 2)]
    # every object a ref still names is there, and a pruned PR comes back on its next run
    subprocess.run(['git', '-C', str(dev / 'main'), 'fsck', '--connectivity-only', '--no-dangling'], check=True,
                   capture_output=True)
    assert run(dev, 'prepare', 'offload-5-review', 5, many_prs, '', 120, '', 'full', keep, 30, env=WAIT)['rc'] == 0


def test_pull_refs_unused_for_days_are_pruned(dev, many_prs):
    for pr in (1, 2):
        run(dev, 'prepare', 'offload-%d-review' % pr, pr, many_prs, '', 120, env={'OFFLOAD_HOUSEKEEPING': 'off'})
        run(dev, 'remove', 'offload-%d-review' % pr)
    old = time.time() - 31 * 86400
    os.utime(dev / 'main' / '.git' / 'offload-used' / '1', (old, old))
    out = run(dev, 'housekeep', '-', 50, 30)
    assert out['pull_refs'] == '1' and pull_refs(dev) == ['refs/offload/pull/2']


def test_a_job_reading_main_during_housekeeping_is_unharmed(dev, many_prs):
    """Housekeeping deletes no object: a reader of main's objects (as a job, through its
    alternate) that runs throughout sees every object every time."""
    for pr in range(1, 9):
        run(dev, 'prepare', 'offload-%d-review' % pr, pr, many_prs, '', 120, env={'OFFLOAD_HOUSEKEEPING': 'off'})
    wt = dev / 'worktrees' / 'offload-1-review'
    admin = dev / 'main' / '.git' / 'worktrees' / 'offload-1-review'
    job_env = dict(os.environ, GIT_OBJECT_DIRECTORY=str(admin / 'objects'),
                   GIT_ALTERNATE_OBJECT_DIRECTORIES=str(dev / 'main' / '.git' / 'objects'), GIT_NO_LAZY_FETCH='1')
    refs = ['refs/offload/pull/%d' % pr for pr in range(1, 9)]
    failures, reads, stop = [], [0], threading.Event()

    def reader():
        while not stop.is_set():
            proc = subprocess.run(['git', '-C', str(wt), 'log', '-p', '--format=%H'] + refs, capture_output=True,
                                  text=True, env=job_env, check=False)
            if proc.returncode != 0 or proc.stdout.count('\n+pr ') != 8 * 120:
                failures.append(proc.stderr[-500:] or 'missing lines')
            reads[0] += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        before = packs(dev)
        for _round in range(3):
            run(dev, 'housekeep', '-', 50, 30)
    finally:
        stop.set()
        thread.join()
    assert packs(dev) < before
    assert reads[0] >= 2 and failures == []
