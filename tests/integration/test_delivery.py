"""Delivering a job's results, with real offload.yml runs on a local worker against the
GitHub on loopback (fixtures_github: git over HTTP that needs the token, a fake REST API).
The maintainer container is on the host's network so that its git reaches 127.0.0.1; the
job's agent is a custom command that commits in its worktree.

- fix pushes to a same-repository pull request's branch, with a lease on its head;
- to a branch on the user's fork when the pull request does not let maintainers push;
- the lease refuses when the head moved during the job: the commits come back in the
  bundle, the worktree is kept;
- a private repository is cloned with the token (and fails without it);
- a read-only token fails before the job, with the token link.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from fixtures_github import READ_TOKEN, WRITE_TOKEN, git, new_pr
from fixtures_offload import docker, wait_for

pytestmark = pytest.mark.skipif(subprocess.run(['docker', 'info'], capture_output=True, check=False).returncode != 0,
                                reason='needs a Docker engine')

# The "agent": one commit in the worktree (the job's git works there).
COMMIT = ('printf "\\n\\ndef sub(a, b):\\n    return a - b\\n" >> calc.py && '
          'git -c user.name=agent -c user.email=agent@example.invalid commit -qam "calc: add sub" && echo COMMITTED')


def fix(worker, pr, command=COMMIT, **extra):
    return worker.playbook('-e', 'pr=%d' % pr, '-e', 'offload_action=fix',
                           extra=dict({'offload_job_command': ['sh', '-c', command]}, **extra))


def test_fix_pushes_to_a_same_repository_pull_request(hub_worker, github):
    pr, branch, start = new_pr(github)
    proc = fix(hub_worker, pr)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    head = github.ref('up/calc', 'refs/heads/' + branch)
    assert head != start and git('-C', github.repo_path('up/calc'), 'rev-parse', head + '^') == start
    assert github.log('up/calc', head, 1)[0].endswith('calc: add sub')
    assert 'pushed 1 commit(s) of job offload-%d-fix to %s' % (pr, branch) in proc.stdout
    # nothing else was pushed: the branches and tags are what they were, plus none
    assert git('-C', github.repo_path('up/calc'), 'tag') == ''
    assert sorted(git('-C', github.repo_path('up/calc'), 'for-each-ref', '--format=%(refname)', 'refs/heads').split()) \
        == sorted(['refs/heads/main', 'refs/heads/' + branch] + [
            r for r in git('-C', github.repo_path('up/calc'), 'for-each-ref', '--format=%(refname)',
                           'refs/heads/feature-').split() if r != 'refs/heads/' + branch])
    # the results came back; the worktree went
    bundle = [f for f in _files(hub_worker.log_dest) if f.endswith('.bundle')]
    assert len(bundle) == 1 and head in git('bundle', 'list-heads', bundle[0])
    assert not os.path.exists(hub_worker.worktree(pr, 'fix'))
    assert not os.path.exists(os.path.join(hub_worker.data_root, 'worktrees', '.offload-results', 'offload-%d-fix' % pr))
    fetched = ''.join(open(f, errors='replace').read() for f in _files(hub_worker.log_dest))
    assert WRITE_TOKEN not in proc.stdout + proc.stderr + fetched
    # the token is in no file of the clone (its config, remote URLs)
    assert WRITE_TOKEN not in open(os.path.join(hub_worker.data_root, 'main', '.git', 'config')).read()


def test_fix_pushes_to_a_fork_branch_when_the_pull_request_forbids_it(hub_worker, github):
    pr, branch, start = new_pr(github, head_repo='me/calc', maintainer_can_modify=False)
    # the worker clones the user's fork, the pull request is upstream's
    hub_worker.vars.update({'offload_repo_url': github.git_url('me/calc'),
                            'offload_upstream_url': github.git_url('up/calc')})
    proc = fix(hub_worker, pr)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert github.ref('me/calc', 'refs/heads/' + branch) == start  # the contributor's branch is untouched
    pushed = git('-C', github.repo_path('me/calc'), 'for-each-ref', '--format=%(refname) %(objectname)',
                 'refs/heads/offload/').splitlines()
    assert len(pushed) == 1, pushed
    ref, sha = pushed[0].split()
    assert ref == 'refs/heads/offload/pr-%d-fix-%s' % (pr, sha[:12])
    assert 'compare/main...me:offload/pr-%d-fix-%s' % (pr, sha[:12]) in proc.stdout


def test_the_lease_refuses_when_the_head_moved_during_the_job(hub_worker, github):
    pr, branch, start = new_pr(github)
    # the job commits, then waits until the test has moved the branch on the server
    command = COMMIT + '; while [ ! -e stop ]; do sleep 0.05; done'
    proc = hub_worker.start('-e', 'pr=%d' % pr, '-e', 'offload_action=fix',
                            extra={'offload_job_command': ['sh', '-c', command]})
    worktree = hub_worker.worktree(pr, 'fix')
    name = 'offload-%d-fix' % pr
    wait_for(lambda: proc.poll() is not None or 'COMMITTED' in hub_worker.worker_log(name), 120, 'the job to commit')
    repo = github.repo_path('up/calc')
    tree = git('-C', repo, 'rev-parse', start + '^{tree}')
    theirs = subprocess.run(['git', '-C', repo, 'commit-tree', tree, '-p', start, '-m', 'someone else'],
                            capture_output=True, text=True, check=True,
                            env=dict(os.environ, GIT_AUTHOR_NAME='o', GIT_AUTHOR_EMAIL='o@x', GIT_COMMITTER_NAME='o',
                                     GIT_COMMITTER_EMAIL='o@x')).stdout.strip()
    git('-C', repo, 'update-ref', 'refs/heads/' + branch, theirs)
    open(os.path.join(worktree, 'stop'), 'w').close()
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode != 0, out
    assert github.ref('up/calc', 'refs/heads/' + branch) == theirs  # not overwritten
    assert 'its head moved since the job started' in out and 'Its worktree is kept' in out
    assert os.path.isdir(worktree)
    assert os.path.isfile(os.path.join(hub_worker.data_root, 'worktrees', '.offload-results', name, 'commits.bundle'))
    bundle = [f for f in _files(hub_worker.log_dest) if f.endswith('.bundle')]
    assert len(bundle) == 1
    # the commits are all there: fetched from the bundle into a clone of the start
    clone = str(hub_worker.tmp_path / 'check')
    git('init', '-q', clone)
    git('-C', clone, 'fetch', '-q', repo, start)
    git('-C', clone, 'fetch', '-q', bundle[0], 'refs/offload/result:refs/heads/result')
    assert git('-C', clone, 'log', '-1', '--format=%s', 'result') == 'calc: add sub'


def test_a_private_repository_clones_with_the_token_and_not_without(hub_worker, github):
    pr, _branch, start = new_pr(github)
    without = hub_worker.playbook('-e', 'pr=%d' % pr, extra={'offload_gh_token': '', 'offload_job_command': ['true']})
    assert without.returncode != 0 and 'cannot clone' in without.stdout, without.stdout
    assert not any(user for (_m, _p, user) in github.requests)
    proc = hub_worker.playbook('-e', 'pr=%d' % pr, extra={'offload_job_command': ['sh', '-c', 'git log -1 --format=%H']})
    assert proc.returncode == 0, proc.stdout
    assert start in open(hub_worker.logs()[-1]).read()
    assert ('POST', '/up/calc.git/git-upload-pack', 'token') in github.requests
    config = open(os.path.join(hub_worker.data_root, 'main', '.git', 'config')).read()
    assert WRITE_TOKEN not in config and github.git_url('up/calc') in config
    # nothing of the token was left in the maintainer container's memory-backed files
    left = docker('exec', hub_worker.maintainer, 'sh', '-c', 'ls /dev/shm').stdout
    assert 'offload-git' not in left


def test_a_read_only_token_fails_before_the_job_with_the_link(hub_worker, github):
    pr, branch, start = new_pr(github)
    proc = fix(hub_worker, pr, offload_gh_token=READ_TOKEN)
    assert proc.returncode != 0
    assert 'cannot push to up/calc' in proc.stdout and 'contents=write' in proc.stdout, proc.stdout
    assert 'settings/personal-access-tokens/new?' in proc.stdout
    assert hub_worker.worker_log('offload-%d-fix' % pr) == ''  # no job ran
    assert READ_TOKEN not in proc.stdout + proc.stderr
    assert github.ref('up/calc', 'refs/heads/' + branch) == start


def _files(top):
    return [os.path.join(d, f) for d, _s, files in os.walk(top) for f in files]


def test_the_review_comment_is_posted_then_updated_in_place(hub_worker, github):
    pr, _branch, _start = new_pr(github)
    github.add_issue('up/calc', pr + 1, 'another')  # a comment of another pull request stays as it is
    github.comments[1] = {'id': 1, 'repo': 'up/calc', 'issue': pr, 'body': 'a human comment', 'user': 'someone'}
    for text in ('REVIEW-ONE looks fine', 'REVIEW-TWO needs a test'):
        proc = hub_worker.playbook('-e', 'pr=%d' % pr, extra={
            'offload_post': 'comment', 'offload_job_command': ['sh', '-c', 'echo "%s"' % text]})
        assert proc.returncode == 0, proc.stdout
    comments = github.comments_on('up/calc', pr)
    assert [c['body'] for c in comments][0] == 'a human comment' and len(comments) == 2
    ours = comments[1]['body']
    assert ours.startswith('<!-- gcli.offload:review pr=%d -->' % pr)
    assert 'REVIEW-TWO needs a test' in ours and 'REVIEW-ONE' not in ours
    assert '| command | ok |' in ours
    assert 'updated the review comment on pull request %d' % pr in proc.stdout
    assert [m for (m, p, s) in github.calls if p.endswith('/comments') or '/comments/' in p].count('POST') == 1


def test_offload_post_takes_none_or_comment(hub_worker, github):
    proc = hub_worker.playbook('-e', 'pr=1', extra={'offload_post': 'tweet', 'offload_job_command': ['true']})
    assert proc.returncode != 0 and 'value of offload_post must be one of: none, comment, got: tweet' in proc.stdout
    assert hub_worker.worker_log('offload-1-review') == ''


def test_implement_opens_a_draft_pull_request_from_an_issue(hub_worker, github):
    issue = max([n for (_r, n) in github.issues] + [10 ** 5]) + 17
    github.add_issue('up/calc', issue, 'Add sub', 'calc needs a sub function')
    main = github.ref('up/calc', 'refs/heads/main')
    # the agent reads the issue from the worktree, then commits (the issue's file is not committed)
    command = 'grep -q "calc needs a sub function" .offload-issue.md && git add -A && ' + COMMIT
    proc = hub_worker.playbook('-e', 'issue=%d' % issue, '-e', 'offload_action=implement',
                               extra={'offload_job_command': ['sh', '-c', command]})
    assert proc.returncode == 0, proc.stdout
    pulls = [p for (r, n), p in github.pulls.items() if r == 'up/calc' and p['head_ref'].startswith(
        'offload/issue-%d-' % issue)]
    assert len(pulls) == 1, github.pulls
    pull = pulls[0]
    assert pull['draft'] is True and pull['base_ref'] == 'main' and pull['title'] == 'Add sub'
    assert 'Closes #%d' % issue in pull['body']
    head = github.ref('up/calc', 'refs/heads/' + pull['head_ref'])
    assert git('-C', github.repo_path('up/calc'), 'rev-parse', head + '^') == main
    files = git('-C', github.repo_path('up/calc'), 'diff-tree', '--no-commit-id', '--name-only', '-r', head)
    assert files.split() == ['calc.py']
    assert 'opened draft pull request #%d for issue %d: https://github.example/up/calc/pull/%d' % (
        pull['number'], issue, pull['number']) in proc.stdout
    assert not os.path.exists(hub_worker.worktree(issue, 'implement'))


@pytest.mark.parametrize('args, message', [
    (['-e', 'issue=0', '-e', 'offload_action=implement'], 'issue: must be an issue number'),
    (['-e', 'issue=5;x', '-e', 'offload_action=implement'], 'issue: must be an issue number'),
    (['-e', 'issue=5', '-e', 'offload_action=fix'], 'given with -e action=implement'),
    (['-e', 'issue=5', '-e', 'pr=5', '-e', 'offload_action=implement'], 'without pr'),
])
def test_the_issue_number_is_checked_before_anything(hub_worker, github, args, message):
    proc = hub_worker.playbook(*args)
    assert proc.returncode != 0 and message in proc.stdout, proc.stdout
    assert not github.calls and not github.requests
    assert not os.path.exists(os.path.join(hub_worker.data_root, 'main'))


@pytest.fixture
def agent_hub_worker(hub_worker, gemini_job_image):
    """hub_worker with the stand-in gemini CLI in its job image (it edits and commits when auto-approved)."""
    hub_worker.vars.update({'offload_image': gemini_job_image,
                            'offload_gemini_api_key': 'AIzaSy' + 'k' * 33})
    return hub_worker


def test_the_agent_s_fix_and_implementation_are_delivered(agent_hub_worker, github):
    """The entrypoint's own fix and implement parts (the stand-in agent commits): pushed to the
    pull request's branch, and to an issue's branch with its draft pull request."""
    pr, branch, start = new_pr(github)
    proc = agent_hub_worker.playbook('-e', 'pr=%d' % pr, '-e', 'offload_action=fix')
    assert proc.returncode == 0, proc.stdout
    head = github.ref('up/calc', 'refs/heads/' + branch)
    assert head != start and git('-C', github.repo_path('up/calc'), 'rev-parse', head + '^') == start
    issue = pr + 1
    github.add_issue('up/calc', issue, 'Add div', 'calc needs div')
    proc = agent_hub_worker.playbook('-e', 'issue=%d' % issue, '-e', 'offload_action=implement')
    assert proc.returncode == 0, proc.stdout
    assert 'Implement issue #%d, whose title and text are in the file .offload-issue.md' % issue in open(
        agent_hub_worker.logs()[-1]).read()
    assert 'opened draft pull request' in proc.stdout
    assert any(p['head_ref'].startswith('offload/issue-%d-' % issue) and p['draft'] for p in github.pulls.values())
