"""Attacks by a hostile pull request (or the agent acting on it) on what runs outside
its job container, each performed through real offload.yml runs; every test fails
if the attack works. See docs/security.md, "A hostile pull request".

- git run by the maintainer container after a job (release, remove, prepare reusing
  a kept worktree) never runs a program the job planted;
- jobs cannot see each other's admin dirs, objects or files;
- the delivery of a fix's commits runs nothing the job planted and pushes only its one ref.
"""

from __future__ import annotations

import glob
import os
import subprocess
import uuid

import pytest

pytestmark = pytest.mark.skipif(subprocess.run(['docker', 'info'], capture_output=True, check=False).returncode != 0,
                                reason='needs a Docker engine')

# The marker a planted program would create: /home/node/dev/worktrees is in the data
# root, writable by uid 1000 in the maintainer container and absent from a job
# container, so a marker there means the program ran in the maintainer container.
MARK = '/home/node/dev/worktrees/PWNED-'
# In a job: `evil DIR NAME` makes a repository of its own whose config runs a program
# on `git status` (fsmonitor) and on any hook.
EVIL_REPO = r'''
set -e
unset GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
evil() {
  git init -q "$1"
  git -C "$1" config core.fsmonitor "touch %s$2; false"
  git -C "$1" config core.hooksPath "$(pwd)/$1"
  printf '#!/bin/sh\ntouch %%s\n' "%s$2-hook" > "$1/post-checkout"
  chmod +x "$1/post-checkout"
}
''' % (MARK, MARK)
TAMPER = {
    # the worktree's .git file points at the job's own repository
    'dot-git': 'evil .evil dot-git; printf "gitdir: .evil/.git\\n" > .git',
    # the admin dir's commondir points at it (the path as the maintainer sees the worktree)
    'commondir': 'evil .evil commondir; printf "%s\\n" "/home/node/dev/worktrees/$OFFLOAD_JOB/.evil/.git" '
                 '> "$(git rev-parse --absolute-git-dir)/commondir"',
    # a submodule (a gitlink in the index) whose repository has the hostile config
    'submodule': 'evil sub submodule; git -C sub -c core.fsmonitor=false -c user.name=x -c user.email=x@x '
                 'commit -q --allow-empty -m x; '
                 'git update-index --add --cacheinfo "160000,$(git -C sub -c core.fsmonitor=false rev-parse HEAD),sub"',
}


def job_command(script):
    return ['sh', '-c', EVIL_REPO + script + '; echo TAMPERED']


def marks(worker):
    return glob.glob(os.path.join(worker.data_root, 'worktrees', 'PWNED-*'))


@pytest.mark.parametrize('keep', [False, True], ids=['removed', 'kept-and-reused'])
@pytest.mark.parametrize('tamper', sorted(TAMPER))
def test_git_after_a_job_runs_nothing_the_job_planted(worker, private_pr, tamper, keep):
    """The reported attack: the job points its worktree's git at a repository of its own
    with core.fsmonitor set to its own program; the release step's `git status` in the
    maintainer container ran it. Also through the admin dir's commondir and a submodule,
    and for a kept worktree that the next run's prepare reuses."""
    pr = private_pr()
    extra = {'offload_job_command': job_command(TAMPER[tamper]), 'offload_keep_worktree': keep}
    proc = worker.playbook('-e', 'pr=%d' % pr, extra=extra)
    assert 'TAMPERED' in open(worker.logs()[-1]).read(), proc.stdout
    if keep and tamper != 'submodule':  # a submodule leaves git's own files as they were: kept, and dirty
        assert 'its worktree was removed instead of kept' in proc.stdout + proc.stderr
    if keep:
        # the next run of the same job prepares (reuses or remakes) the kept worktree
        again = worker.playbook('-e', 'pr=%d' % pr, extra={'offload_keep_worktree': True})
        assert again.returncode == 0, again.stdout
        assert os.path.exists(os.path.join(worker.worktree(pr), 'calc.py'))
    assert marks(worker) == [], 'the maintainer container ran a program the job planted'
    assert proc.returncode == 0, proc.stdout


def test_git_after_a_job_runs_nothing_the_job_planted_over_ssh(cos_worker, private_pr):
    """The same attack on the COS-like worker (no git on the host: git runs in the maintainer)."""
    proc = cos_worker.playbook('-e', 'pr=%d' % private_pr(), extra={'offload_job_command': job_command(TAMPER['dot-git'])})
    assert proc.returncode == 0, proc.stdout
    assert marks(cos_worker) == []


# In job A: does it see any other job's admin dir, objects or files? Prints LEAK lines
# (never the secret itself), then shows that git still works in its own worktree.
LOOK_AROUND = r'''
set -u
pat=$1
own=$(git rev-parse --absolute-git-dir)
for d in /home/node/dev/main/.git/worktrees/* /home/node/dev/worktrees/*; do
  [ -e "$d" ] || continue
  [ "$d" = "$own" ] || echo "LEAK:sees $d"
  if [ "$d" != "$own" ] && GIT_OBJECT_DIRECTORY=$d/objects git cat-file --batch-all-objects --batch 2>/dev/null \
      | grep -qa "$pat"; then echo "LEAK:objects of $d"; fi
done
if grep -rqas "$pat" /home/node/dev /tmp 2>/dev/null; then echo "LEAK:file"; fi
if git cat-file --batch-all-objects --batch 2>/dev/null | grep -qa "$pat"; then echo "LEAK:main's objects"; fi
set -e
git status --porcelain >/dev/null
echo mine > mine.txt
git add mine.txt
git -c user.name=a -c user.email=a@a commit -qm "job A"
git log -1 --format=%s
echo LOOKED
'''
# In job B: an unpushed commit and an uncommitted file, both holding the secret.
SECRET_WORK = ('printf "%s\\n" "$0" > secret.txt; git add secret.txt; '
               'git -c user.name=b -c user.email=b@b commit -qm "$0"; printf "%s\\n" "$0" > uncommitted.txt; ')


def test_a_job_cannot_see_another_jobs_work(worker, private_pr):
    """Job B (kept) and job C (running) commit and write a secret; job A, running at the
    same time as C, finds neither their admin dirs, nor their objects (also not copied
    into main's store when B's worktree was kept), nor their files; git works in A."""
    secret = 'job-secret-%s' % uuid.uuid4().hex
    half = len(secret) // 2
    a, b, c = private_pr(), private_pr(3), private_pr(2)
    kept = worker.playbook('-e', 'pr=%d' % b, extra={'offload_keep_worktree': True, 'offload_job_command': [
        'sh', '-c', SECRET_WORK + 'echo B-DONE', secret]})
    assert kept.returncode == 0, kept.stdout
    running = worker.start_blocking_job(pr=c, before=SECRET_WORK.replace('"$0"', '"%s"' % secret))
    try:
        # A gets the secret in two halves: its own command line holds no copy to find
        probe = worker.playbook('-e', 'pr=%d' % a, extra={'offload_job_command': [
            'sh', '-c', 'exec sh -c "$0" look "$1$2"', LOOK_AROUND, secret[:half], secret[half:]]})
        log = open(sorted(worker.logs(), key=os.path.getmtime)[-1]).read()
        assert 'LOOKED' in log, probe.stdout + log
        assert [line for line in log.splitlines() if line.startswith('LEAK:')] == []
        assert 'job A' in log and probe.returncode == 0, probe.stdout
        assert worker.finish(running, pr=c) and running.returncode == 0
    finally:
        worker.reap(running, pr=c)


# fix delivers the job's commits: the push must run nothing the job planted and push only
# the one ref. In the job: a commit, then a hostile config for its admin dir (hooks, a
# pre-push hook, fsmonitor) and refs of its own; or its git files pointed elsewhere; or a
# HEAD that does not descend from where the job started.
COMMIT_FIRST = 'git -c user.name=a -c user.email=a@a commit -q --allow-empty -m "agent fix" && '
DELIVERY_TAMPER = {
    'hooks-config': (COMMIT_FIRST + 'git update-ref refs/worktree/evil HEAD && git update-ref refs/bisect/evil HEAD && ',
                     'adm=$(git rev-parse --absolute-git-dir); mkdir -p "$adm/hooks"; '
                     'for h in pre-push reference-transaction post-checkout; do '
                     'printf "#!/bin/sh\\ntouch %shook-$h\\n" > "$adm/hooks/$h"; chmod +x "$adm/hooks/$h"; done; '
                     'printf "[core]\\n\\thooksPath = %%s\\n\\tfsmonitor = touch %sfsmonitor\\n[push]\\n\\tfollowTags = true\\n'
                     '\\tmirror = true\\n[remote \\"origin\\"]\\n\\tpush = +refs/*:refs/*\\n" "$adm/hooks" '
                     '| tee "$adm/config" > "$adm/config.worktree"' % (MARK, MARK)),
    'dot-git': (COMMIT_FIRST, TAMPER['dot-git']),
    'commondir': (COMMIT_FIRST, TAMPER['commondir']),
    'unrelated-head': ('c=$(git -c user.name=a -c user.email=a@a commit-tree -m rewrite "HEAD^{tree}") && '
                       'git checkout -q --detach "$c" && ', 'true'),
}


@pytest.mark.parametrize('tamper', sorted(DELIVERY_TAMPER))
def test_the_delivery_of_a_fix_runs_nothing_the_job_planted_and_pushes_one_ref(hub_worker, github, tamper):
    from fixtures_github import new_pr  # pylint: disable=import-outside-toplevel
    pr, branch, start = new_pr(github)

    def refs():  # every ref but the pull refs, which GitHub moves itself after a push
        return [r for r in subprocess.run(
            ['git', '-C', github.repo_path('up/calc'), 'for-each-ref', '--format=%(refname) %(objectname)'],
            capture_output=True, text=True, check=True).stdout.splitlines() if not r.startswith('refs/pull/')]
    before = refs()
    first, script = DELIVERY_TAMPER[tamper]
    command = ['sh', '-c', first + EVIL_REPO + script + '; echo TAMPERED']  # commits before EVIL_REPO's unset
    proc = hub_worker.playbook('-e', 'pr=%d' % pr, '-e', 'offload_action=fix', extra={'offload_job_command': command})
    assert 'TAMPERED' in open(hub_worker.logs()[-1]).read(), proc.stdout
    assert marks(hub_worker) == [], 'the maintainer container ran a program the job planted'
    changed = sorted(set(refs()) - set(before))
    if tamper == 'hooks-config':
        assert proc.returncode == 0, proc.stdout
        head = github.ref('up/calc', 'refs/heads/' + branch)
        assert changed == ['refs/heads/%s %s' % (branch, head)] and head != start  # that one ref, nothing else
        assert sorted(set(before) - set(refs())) == ['refs/heads/%s %s' % (branch, start)]
    else:
        assert proc.returncode != 0, proc.stdout
        assert 'nothing delivered' in proc.stdout, proc.stdout
        assert changed == []
