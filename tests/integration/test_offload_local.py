"""`ansible-playbook offload.yml` end to end on the local Docker engine (issue 2)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess

import pytest

from fixtures_offload import Streamed, container_state, docker

pytestmark = pytest.mark.skipif(subprocess.run(['docker', 'info'], capture_output=True, check=False).returncode != 0,
                                reason='needs a Docker engine')


def recap(proc):
    match = re.search(r'ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', proc.stdout)
    assert match, proc.stdout + proc.stderr
    return dict(zip(('ok', 'changed', 'unreachable', 'failed'), map(int, match.groups())))


def read(path):
    with open(path) as f:
        return f.read()


def test_a_passing_pr_runs_its_tests_and_brings_the_log_back(worker):
    proc = worker.playbook('-e', 'pr=1')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    logs = worker.logs()
    assert len(logs) == 1
    log = read(logs[0])
    assert 'offload job: PR #1, action review' in log
    assert 'Ran 2 tests' in log and '[build] OK' in log
    # its parts, each in a container of its own, and how each ended
    assert log.rstrip().endswith('==> review: build ok, ai_review ok')
    assert logs[0] in proc.stdout  # the path is printed at the end
    # on the worker too, with the exit code
    worker_logs = os.listdir(os.path.join(worker.data_root, 'logs', 'offload-1-review'))
    exit_file = [f for f in worker_logs if f.endswith('.exit')][0]
    assert read(os.path.join(worker.data_root, 'logs', 'offload-1-review', exit_file)).strip() == '0'
    # afterwards: worktree removed and pruned, no job container
    assert not os.path.exists(worker.worktree(1))
    assert not os.path.exists(os.path.join(worker.data_root, 'main', '.git', 'worktrees', 'offload-1-review'))
    assert worker.job_containers() == []
    # the main clone has its whole history (a partial clone filtering no blob up to 1 GiB) and no
    # checkout, with origin = the repo
    cfg = docker('exec', worker.maintainer, 'git', '-C', '/home/node/dev/main', 'config', '--list').stdout
    assert 'remote.origin.partialclonefilter=blob:limit=1g' in cfg
    assert os.listdir(os.path.join(worker.data_root, 'main')) == ['.git']
    assert 'remote.origin.url=%s' % worker.vars['offload_repo_url'] in cfg


def test_a_failing_job_fails_the_play_with_the_logs_last_lines(worker):
    proc = worker.playbook('-e', 'pr=2')
    assert proc.returncode != 0
    assert 'job offload-2-review on local-worker failed with exit code 2' in proc.stdout
    assert 'AssertionError: -1 != 5' in proc.stdout  # the log's tail, shown
    assert recap(proc)['failed'] == 1
    assert not os.path.exists(worker.worktree(2))  # removed after a failure too
    assert worker.job_containers() == []
    assert 'AssertionError' in read(worker.logs()[0])


JOB_PROBE = r'''
set -e
echo "uid=$(id -u) gid=$(id -g) pwd=$(pwd)"
[ "$(id -u)" = 1000 ] && [ "$(pwd)" = /home/node/dev/worktree ]
if touch /home/node/dev/main/should-fail 2>/dev/null; then echo MAIN-WRITABLE; exit 1; fi
if touch /home/node/dev/main/.git/should-fail 2>/dev/null; then echo MAIN-GIT-WRITABLE; exit 1; fi
if touch /home/node/.gemini/should-fail 2>/dev/null; then echo GEMINI-WRITABLE; exit 1; fi
test ! -e /var/run/docker.sock && test ! -e /run/docker.sock
grep -q CapEff:.0000000000000000 /proc/self/status
echo "from the job" > note.txt
git add note.txt
git -c user.name=job -c user.email=job@example.invalid commit -qm "job: add a note"
git log -1 --format=%s
git status --porcelain | wc -l | grep -qx 0
echo PROBE-OK
'''


def test_job_sandbox_worktree_rw_main_and_gemini_ro_git_works(worker):
    proc = worker.playbook('-e', 'pr=1', extra={'offload_job_command': ['sh', '-c', JOB_PROBE],
                                                'offload_keep_worktree': True})
    log = read(worker.logs()[0])
    assert proc.returncode == 0, proc.stdout + log
    assert 'PROBE-OK' in log and 'job: add a note' in log
    # the kept worktree holds the job's commit, in the job's own object directory (never in main's store)
    admin = '/home/node/dev/main/.git/worktrees/offload-1-review'
    head = docker('exec', '--env', 'GIT_DIR=' + admin, '--env', 'GIT_COMMON_DIR=/home/node/dev/main/.git',
                  '--env', 'GIT_ALTERNATE_OBJECT_DIRECTORIES=%s/objects' % admin, worker.maintainer,
                  'git', 'log', '-1', '--format=%s').stdout.strip()
    assert head == 'job: add a note'
    assert os.path.exists(os.path.join(worker.worktree(1), 'note.txt'))
    assert not os.path.exists(os.path.join(worker.data_root, 'main', 'should-fail'))
    # labels identify the job; the job ran as 1000, not root
    assert 'uid=1000 gid=1000 pwd=/home/node/dev/worktree' in log
    assert worker.job_containers() == []


def test_the_job_container_carries_its_labels_and_limits(worker):
    """Inspect the running container: labels, mounts, user, no socket, no privileges."""
    proc = worker.start_blocking_job(pr=1)
    try:
        info = json.loads(docker('container', 'inspect', 'offload-1-review').stdout)[0]
        labels = info['Config']['Labels']
        wanted = {'gcli.offload.managed': 'true', 'gcli.offload.job': 'offload-1-review',
                  'gcli.offload.pr': '1', 'gcli.offload.action': 'review'}
        assert {k: labels.get(k) for k in wanted} == wanted
        mounts = {m['Destination']: (m['Source'], m['RW']) for m in info['Mounts']}
        assert mounts == {
            '/home/node/dev/main/.git/worktrees': ('', True),  # a tmpfs: no other job's admin dir
            '/home/node/dev/worktree': (worker.worktree(1), True),
            '/home/node/dev/main': (os.path.join(worker.data_root, 'main'), False),
            '/home/node/dev/main/.git/worktrees/offload-1-review':
                (os.path.join(worker.data_root, 'main', '.git', 'worktrees', 'offload-1-review'), True),
            '/home/node/.gemini': (os.path.join(worker.data_root, 'gemini'), False),
        }
        host = info['HostConfig']
        assert info['Config']['User'] == '1000:1000'
        # no --rm: the runner reads .State.OOMKilled, then removes the container itself
        assert host['AutoRemove'] is False and host['Privileged'] is False
        assert host['CapDrop'] == ['ALL'] and 'no-new-privileges' in host['SecurityOpt']
        assert info['Config']['WorkingDir'] == '/home/node/dev/worktree'
        out = worker.finish(proc)
        assert proc.returncode == 0, out
    finally:
        worker.reap(proc)
    assert worker.job_containers() == []


def test_two_prs_offloaded_at_the_same_time_both_succeed(worker):
    probe = ['sh', '-c', 'date +start=%s.%N; sleep 2; date +end=%s.%N; make test']
    first = worker.start('-e', 'pr=1', extra={'offload_job_command': probe})
    second = worker.start('-e', 'pr=3', extra={'offload_job_command': probe + ['SLEEP=0']})
    outs = [p.communicate(timeout=300)[0] for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outs
    spans = []
    for log in worker.logs():
        text = read(log)
        spans.append((float(re.search(r'start=([\d.]+)', text).group(1)),
                      float(re.search(r'end=([\d.]+)', text).group(1))))
    assert len(spans) == 2
    (s1, e1), (s2, e2) = spans
    assert s1 < e2 and s2 < e1, 'the two jobs did not run at the same time: %s' % spans
    assert worker.job_containers() == []
    # no worktree is left: only the git lock, and the housekeeping's log when it ran
    left = set(os.listdir(os.path.join(worker.data_root, 'worktrees'))) - {'.offload-housekeeping.log'}
    assert left == {'.offload-git.lock'}


def test_rerunning_a_running_job_attaches_to_it_and_two_attached_controllers_see_the_whole_log(worker):
    """offload.yml again while the job runs: not refused, not a second run; both re-runs print
    what the job printed before they came, then follow it to its end and its exit status."""
    first = worker.start_blocking_job(pr=1, before='echo EARLY-LINE; ')
    try:
        attached = [Streamed(worker.start('-e', 'pr=1')), Streamed(worker.start('-e', 'pr=1'))]
        for a in attached:
            a.wait_for('EARLY-LINE')
        assert all('attaching to it' in a.text() for a in attached)
        assert container_state('offload-1-review') == 'running'
        out = worker.finish(first)
        assert first.returncode == 0, out
        for a in attached:
            assert a.wait() == 0, a.text()
            text = a.text()
            assert text.index('EARLY-LINE') < text.index('JOB-STARTED') < text.index('JOB-DONE')
            assert 'job offload-1-review on local-worker succeeded' in text
    finally:
        worker.reap(first)
    assert 'JOB-DONE' in read(worker.logs()[-1])
    # one run: one log on the worker
    assert len([f for f in os.listdir(os.path.join(worker.data_root, 'logs', 'offload-1-review'))
                if f.endswith('.log') and f.count('.') == 1]) == 1


def test_a_timed_out_job_is_killed_and_leaves_nothing_behind(worker):
    proc = worker.playbook('-e', 'pr=3', extra={'offload_job_timeout': 2,
                                                'offload_job_command': ['sh', '-c', 'trap "" TERM; sleep 600']})
    assert proc.returncode != 0
    assert 'job offload-3-review on local-worker timed out after 2s and was killed' in proc.stdout
    assert container_state('offload-3-review') is None
    assert worker.job_containers() == []
    assert not os.path.exists(worker.worktree(3))


BAD_INPUTS = [
    ({'pr': 'abc'}, "pr"),
    ({'pr': '0'}, 'pr: must be a positive integer'),
    ({'pr': '-1'}, 'pr: must be a positive integer'),
    ({'pr': '1; touch {marker}'}, "pr"),
    ({'pr': '1', 'action': 'bogus'}, 'action: must be one of review, fix, ready, implement'),
    ({'pr': '1', 'offload_action': 'rm -rf /'}, 'action: must be one of review, fix, ready, implement'),
    ({'pr': '1', 'offload_data_root': '/tmp/a;touch {marker}'}, 'offload_data_root: must be an absolute path'),
    ({'pr': '1', 'offload_repo_url': 'https://x/$(touch {marker})'}, 'offload_repo_url: must be a git URL'),
    ({'pr': '1', 'offload_image': 'img;touch {marker}'}, 'offload_image: must be a docker image reference'),
    ({'pr': '1', 'offload_job_timeout': 0}, 'offload_job_timeout: must be between 1 and'),
]


@pytest.mark.parametrize('inputs,message', BAD_INPUTS, ids=[str(i) for i in range(len(BAD_INPUTS))])
def test_bad_inputs_fail_at_once_and_create_nothing(worker, tmp_path, inputs, message):
    marker = str(tmp_path / 'pwned')
    extra = {k: v.format(marker=marker) if isinstance(v, str) else v for k, v in inputs.items()}
    proc = worker.playbook(extra=extra)
    assert proc.returncode != 0
    assert message in proc.stdout, proc.stdout
    assert recap(proc)['failed'] == 1 and recap(proc)['changed'] == 0
    assert not os.path.exists(marker)
    assert not os.path.exists(worker.data_root)
    assert container_state(worker.maintainer) is None
    assert worker.job_containers() == []


def test_check_mode_creates_nothing(worker):
    proc = worker.playbook('-e', 'pr=1', '--check')
    assert proc.returncode == 0, proc.stdout
    assert 'would run on local-worker (check mode)' in proc.stdout
    assert not os.path.exists(worker.data_root)
    assert container_state(worker.maintainer) is None


def test_a_kept_worktree_is_reused_unchanged_on_rerun(worker):
    first = worker.playbook('-e', 'pr=1', extra={'offload_keep_worktree': True})
    assert first.returncode == 0, first.stdout
    assert os.path.exists(os.path.join(worker.worktree(1), 'calc.py'))
    second = worker.playbook('-e', 'pr=1', extra={'offload_keep_worktree': True})
    assert second.returncode == 0, second.stdout
    assert recap(second)['changed'] == 0, second.stdout
    assert len(worker.logs()) == 2


def test_a_fork_with_an_upstream_gets_the_pull_request_from_upstream(worker, tmp_path):
    fork = os.path.join(worker.upstream_dir, 'fork-%s.git' % worker.id)
    subprocess.run(['git', 'clone', '-q', '--bare', worker.vars['offload_repo_url'], fork], check=True)
    subprocess.run(['chmod', '-R', 'a+rX', fork], check=True)
    proc = worker.playbook('-e', 'pr=1', extra={'offload_repo_url': 'file://' + fork,
                                                'offload_upstream_url': worker.vars['offload_repo_url']})
    assert proc.returncode == 0, proc.stdout
    remotes = docker('exec', worker.maintainer, 'git', '-C', '/home/node/dev/main', 'remote', '-v').stdout
    assert 'upstream\t%s' % worker.vars['offload_repo_url'] in remotes
    assert 'origin\tfile://%s' % fork in remotes


def test_a_data_root_replaced_under_the_maintainer_is_recovered(worker):
    assert worker.playbook('-e', 'pr=1').returncode == 0
    before = docker('container', 'inspect', '--format', '{{.Id}}', worker.maintainer).stdout.strip()
    subprocess.run(['rm', '-rf', worker.data_root], check=True)  # e.g. a disk re-made, a clean-up by hand
    proc = worker.playbook('-e', 'pr=1')
    assert proc.returncode == 0, proc.stdout
    assert 'was replaced under the running container' in proc.stdout + proc.stderr
    after = docker('container', 'inspect', '--format', '{{.Id}}', worker.maintainer).stdout.strip()
    assert after != before


def test_a_reviews_parts_have_their_own_logs_and_status_shows_them(worker):
    """build and ai_review (no token: no checks) ran as containers of their own: each has its log
    and exit code beside the job's; logs.yml -e part=build shows one, status.yml all of them."""
    proc = worker.playbook('-e', 'pr=1')
    assert proc.returncode == 0, proc.stdout
    folder = os.path.join(worker.data_root, 'logs', 'offload-1-review')
    files = sorted(os.listdir(folder))
    stamp = files[0].split('.')[0]
    expected = ('log', 'exit', 'state', 'build.log', 'build.exit', 'ai_review.log', 'ai_review.exit')
    assert {'%s.%s' % (stamp, suffix) for suffix in expected} <= set(files)
    build = read(os.path.join(folder, stamp + '.build.log'))
    assert 'Ran 2 tests' in build and '[build]' not in build
    part = worker.playbook('-e', 'pr=1', '-e', 'part=build', playbook='logs.yml')
    assert part.returncode == 0, part.stdout
    assert 'Ran 2 tests' in part.stdout and 'AI review skipped' not in part.stdout
    status = worker.playbook(playbook='status.yml')
    assert status.returncode == 0, status.stdout
    # the parts start at once: either may be listed first
    line = re.search(r"offload-1-review: ended, exit 0; parts: ([^;'\n]*)", status.stdout)
    assert line, status.stdout
    assert re.fullmatch(r'(ai_review|build) ok \d+s, (ai_review|build) ok \d+s', line.group(1)), status.stdout
    assert 'ai_review' in line.group(1) and 'build' in line.group(1), status.stdout


def test_detach_returns_at_once_and_ctrl_c_stops_only_the_following(worker):
    """-e detach=true starts the job and returns with how to follow it; a follower stopped
    with Ctrl-C (SIGINT) leaves the job running; the next offload.yml attaches to its end."""
    stop = 'stop'
    detached = worker.playbook('-e', 'pr=1', '-e', 'detach=true', extra={'offload_job_command': [
        'sh', '-c', 'echo JOB-STARTED; while [ ! -e %s ]; do sleep 0.05; done; echo JOB-DONE' % stop]})
    assert detached.returncode == 0, detached.stdout
    assert 'runs on without this playbook' in detached.stdout
    assert 'offload.yml -e pr=1 -e action=review' in detached.stdout
    assert container_state('offload-1-review') == 'running'
    follower = Streamed(worker.start('-e', 'pr=1'))
    try:
        follower.wait_for('JOB-STARTED')
        assert 'attaching to it' in follower.text()
        follower.proc.send_signal(signal.SIGINT)
        follower.wait(timeout=120)
        # said on ansible-playbook's own stderr (a pipe here: the terminal test is test_follow_terminal.py)
        assert 'Detached from job offload-1-review on local-worker: it goes on' in follower.text(), follower.text()
        assert 're-attach with: ansible-playbook offload.yml -e pr=1 -e action=review\n' in follower.text()
        assert container_state('offload-1-review') == 'running'   # the job goes on
        again = Streamed(worker.start('-e', 'pr=1'))
        again.wait_for('JOB-STARTED')
        open(os.path.join(worker.worktree(1), stop), 'w').close()
        assert again.wait() == 0, again.text()
        assert 'JOB-DONE' in again.text() and 'job offload-1-review on local-worker succeeded' in again.text()
    finally:
        docker('rm', '-f', 'offload-1-review', check=False)
    assert worker.job_containers() == [] and not os.path.exists(worker.worktree(1))
