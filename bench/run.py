# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make bench`: the benchmarks, each against the baseline a user would
otherwise use, measured side by side in this one process session.

  python bench/run.py [--runs N] [--only NAME[,NAME]]

NAME: start_local, start_ssh (at 0, 25 and 50 ms round-trip time), provision, concurrency,
tags, real_repo, history, housekeeping (see docs/benchmarks.md). Results go to
bench/results/<benchmark>.json (raw samples), bench/results/summary.json (one entry per
benchmark: ours_s, baseline_s, ratio, runs, round_trips) and bench/results/summary.md.

The harness reuses the test fixtures (tests/integration/fixtures_*.py): the
isolated local Worker, the COS-like SSH worker, the make-upstream repository.
These are benchmarks, not tests: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pathlib
import platform
import random
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, 'tests', 'integration'), os.path.join(ROOT, 'tests'),
                os.path.join(ROOT, 'tests', 'fixtures'),
                os.path.join(ROOT, 'tests', 'emulator'), os.path.join(ROOT, '.build', 'collections')]

from fixtures_images import IMAGES, ensure  # noqa: E402  pylint: disable=wrong-import-position
from fixtures_offload import Worker, docker  # noqa: E402  pylint: disable=wrong-import-position
from fixtures_cosworker import CosWorker  # noqa: E402  pylint: disable=wrong-import-position
from delay_proxy import DelayProxy  # noqa: E402  pylint: disable=wrong-import-position
import make_big_repo  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.gcli.offload.plugins.module_utils._jobs import (  # noqa: E402 pylint: disable=wrong-import-position
    DEV, job_run_argv, job_spec)

JOB_IMAGE = IMAGES['demo-job']

RESULTS = os.path.join(ROOT, 'bench', 'results')
PREFIX = 'bench-'
NOOP = ['true']


def stats(samples):
    return {'median': round(statistics.median(samples), 3), 'min': round(min(samples), 3),
            'max': round(max(samples), 3), 'n': len(samples)}


def timed(fn, cpu=None):
    """fn's wall time; with a list `cpu`, also append the CPU seconds (user + system)
    of the processes fn ran and waited for: a figure that a busy machine disturbs
    far less than wall time (the Docker daemon and a remote sshd are not counted)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    fn()
    wall = time.monotonic() - start
    if cpu is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 3))
    return wall


def run(argv, **kw):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kw)
    if proc.returncode != 0:
        raise RuntimeError('%s failed (exit %d):\n%s\n%s' % (
            shlex.join(argv[:6]) + ' ...', proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc


def environment():
    return {'cpus': os.cpu_count(), 'machine': platform.machine(), 'python': platform.python_version(),
            'kernel': platform.release(),
            'ansible': run(['ansible', '--version']).stdout.splitlines()[0],
            'docker': run(['docker', 'version', '--format', '{{.Server.Version}}']).stdout.strip(),
            'note': 'a 2-core machine shared with other work: absolute figures are noisy, ratios are '
                    'measured side by side (alternating runs) in the same session'}


def make_upstream(base, extra_prs=0):
    """The make-upstream repository (PRs 1-3), plus pull refs 4.. as new commits on PR 1."""
    os.makedirs(base, mode=0o755)  # the maintainer container's uid 1000 reads it
    repo = os.path.join(base, 'upstream.git')
    run([os.path.join(ROOT, 'tests/fixtures/make-upstream'), repo])
    if extra_prs:
        env = dict(os.environ, GIT_AUTHOR_NAME='bench', GIT_AUTHOR_EMAIL='bench@example.invalid',
                   GIT_COMMITTER_NAME='bench', GIT_COMMITTER_EMAIL='bench@example.invalid')
        parent = run(['git', '-C', repo, 'rev-parse', 'refs/pull/1/head']).stdout.strip()
        tree = run(['git', '-C', repo, 'rev-parse', parent + '^{tree}']).stdout.strip()
        for pr in range(4, 4 + extra_prs):
            commit = run(['git', '-C', repo, 'commit-tree', tree, '-p', parent, '-m', 'bench PR %d' % pr],
                         env=env).stdout.strip()
            run(['git', '-C', repo, 'update-ref', 'refs/pull/%d/head' % pr, commit])
    return pathlib.Path(base)


def bench_worker(tmp, upstream, **kw):
    """A fixtures_offload.Worker whose maintainer container carries this harness's prefix."""
    w = Worker(tmp, upstream, JOB_IMAGE, **kw)
    w.maintainer = '%smaint-%s' % (PREFIX, w.id)
    w.vars['offload_maintainer_name'] = w.maintainer
    return w


def playbook_ok(w, pr, extra=None, args=()):
    proc = w.playbook('-e', 'pr=%d' % pr, *args, extra=dict({'offload_job_command': NOOP}, **(extra or {})))
    if proc.returncode != 0:
        raise RuntimeError('offload.yml -e pr=%d failed:\n%s\n%s' % (pr, proc.stdout[-4000:], proc.stderr[-2000:]))
    return proc


# --- benchmark 1: job start overhead ---------------------------------------

BASELINE_SCRIPT = r'''
set -eu
m=$1 pr=$2 dev=$3 job=$4 log=$5
shift 5
g() { docker exec --user 1000:1000 "$m" git -c gc.auto=0 -C "$dev/main" "$@"; }
g fetch --quiet --no-write-fetch-head origin "+refs/pull/$pr/head:refs/offload/pull/$pr"
g worktree add --quiet --force --detach "$dev/worktrees/$job" "refs/offload/pull/$pr"
mkdir -p "$(dirname "$log")"
"$@" >"$log" 2>&1 </dev/null
docker rm -f "$job" >/dev/null  # the job's argv has no --rm (as the collection's runner does)
docker rm -f "$job" >/dev/null
g worktree remove --force "$dev/worktrees/$job"
'''


def baseline_argv(w, pr, action):
    """The bare shell baseline's arguments: the same steps and the same job mounts as the
    collection (the job container's argv comes from the same source), its own job name."""
    spec = job_spec(pr, action, w.data_root, JOB_IMAGE, command=NOOP)
    log = '%s/baseline.log' % spec['log_dir']
    return ['sh', '-c', BASELINE_SCRIPT, 'baseline', w.maintainer, str(pr), DEV, spec['name'], log] + \
        job_run_argv(spec, 'docker')


def count_round_trips(text):
    """Worker commands in one -vvv run: EXEC (local or ssh) and file fetches (the
    local connection logs a fetch as FETCH then PUT: one copy; the plugins never PUT)."""
    # over SSH a fetch is logged as FETCH and then the sftp/scp command doing it: one round trip
    execs = len(re.findall(r'^<[^>]+> (?:SSH: )?EXEC (?!sftp |scp )', text, re.M))
    fetches = len(re.findall(r'^<[^>]+> FETCH ', text, re.M))
    return {'exec': execs, 'fetch': fetches, 'total': execs + fetches}


FLOOR_PLAY = '''- name: ansible-playbook's own start-up, one connection-free task on the same host
  hosts: "{{ offload_worker | default('offload_workers[0]') }}"
  gather_facts: false
  tasks:
    - name: Nothing
      ansible.builtin.meta: noop
'''


def _ssh_inventory(host, port, path):
    """The COS-like worker's inventory, reached on `port` (the delay proxy in front of its sshd)."""
    with open(host.inventory) as f:
        text = f.read()
    path.write_text(text.replace('ansible_port: %d' % host.port, 'ansible_port: %d' % port))
    return str(path)


def bench_start(kind, runs, tmp, rtts=(0,)):
    """Job start, local or over SSH; over SSH once per round-trip time in `rtts` (ms),
    through a delay proxy in front of the worker's sshd that also counts the turns
    (network round trips) of each side."""
    upstream = make_upstream(tmp / 'up')
    # a PR number of this run's own (PR 1's head): its job's container names meet no other
    # run's on a Docker engine that other work shares
    pr = random.randint(10 ** 5, 10 ** 8)
    run(['git', '-C', str(upstream / 'upstream.git'), 'update-ref', 'refs/pull/%d/head' % pr, 'refs/pull/1/head'])
    host = proxy = None
    if kind == 'ssh':
        ensure('cos-worker')
        (tmp / 'cos').mkdir()
        host = CosWorker(tmp / 'cos')
        proxy = DelayProxy('127.0.0.1', host.port).start()
        w = bench_worker(tmp, upstream, data_root=host.data_root,
                         inventory=_ssh_inventory(host, proxy.port, tmp / 'proxied-inventory.yml'),
                         secrets_dir=host.secrets_dir)
        control = str(tmp / 'cm-%C')
        ssh = ['ssh', '-q', '-i', host.key, '-p', str(proxy.port), '-o', 'BatchMode=yes',
               '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
               '-o', 'ControlMaster=auto', '-o', 'ControlPersist=300s', '-o', 'ControlPath=' + control,
               'worker@127.0.0.1']

        def baseline():
            run(ssh + ['sudo', shlex.join(baseline_argv(w, pr, 'fix'))])
    else:
        w = bench_worker(tmp, upstream)

        def baseline():
            run(baseline_argv(w, pr, 'fix'))
    floor_play = tmp / 'floor.yml'
    floor_play.write_text(FLOOR_PLAY)

    def floor():
        proc = w.playbook(playbook=str(floor_play))
        if proc.returncode != 0:
            raise RuntimeError('the floor playbook failed:\n%s' % proc.stdout[-2000:])

    def turns(fn):
        """The network round trips one warm call of fn makes (over SSH: counted by the proxy)."""
        if not proxy:
            return None
        proxy.reset()
        fn()
        return proxy.counts()['turns']

    results = []
    try:
        playbook_ok(w, pr)  # warm-up: maintainer container, clone, first worktree and job
        baseline()
        trips = count_round_trips(playbook_ok(w, pr, args=('-vvv',)).stdout)
        for rtt in rtts:
            if proxy:
                proxy.set_delay(rtt / 2000.0)  # half the round trip each way
            network = {'ours': turns(lambda: playbook_ok(w, pr)), 'baseline': turns(baseline), 'floor': turns(floor)}
            ansible, bare, empty = [], [], []
            cpu = {'ansible': [], 'baseline': [], 'floor': []}
            for _run in range(runs):  # alternate, so that drift on the shared machine hits all three
                ansible.append(timed(lambda: playbook_ok(w, pr), cpu['ansible']))
                bare.append(timed(baseline, cpu['baseline']))
                empty.append(timed(floor, cpu['floor']))
            name = 'start_%s' % kind + ('_rtt%d' % rtt if kind == 'ssh' else '')
            results.append({
                'benchmark': name,
                'what': 'ansible-playbook offload.yml -e pr=N (no-op job, warm worker) vs a bare shell script '
                        'doing fetch, worktree add, docker run --rm (same mounts), worktree remove'
                        + (' over one SSH connection (ControlPersist), %d ms round-trip time added by a '
                           'delay proxy in front of sshd' % rtt if kind == 'ssh' else ''),
                'rtt_ms': rtt,
                'ansible_s': ansible, 'baseline_s': bare,
                'floor_s': empty,
                'ansible': stats(ansible), 'baseline': stats(bare), 'floor': stats(empty),
                'cpu_s': cpu, 'cpu': {side: stats(samples) for side, samples in cpu.items()},
                'ratio': round(statistics.median(ansible) / statistics.median(bare), 2),
                # what the collection adds over ansible-playbook's own start-up, against the baseline
                'ratio_over_floor': round((statistics.median(ansible) - statistics.median(empty))
                                          / statistics.median(bare), 2),
                'target_ratio': 2.0 if kind == 'ssh' else 1.5,
                'worker_round_trips': trips,
                'baseline_round_trips': 1 if kind == 'ssh' else 4,
                # turns of the TCP flow through the proxy (None on the local worker: no network)
                'network_round_trips': network,
            })
        return results
    finally:
        docker('rm', '-f', w.maintainer, check=False)
        if proxy:
            proxy.stop()
        if host:
            host.stop()
        else:
            w.cleanup()


# --- benchmark: streaming latency ---------------------------------------------

TICKS = 12
# The job prints a line every 0.7 s with the time it printed it (the worker's clock: the same
# machine as the controller, containers share its clock).
TICK_JOB = ['sh', '-c', 'i=0; while [ $i -lt %d ]; do sleep 0.7; i=$((i + 1)); '
            'echo "TICK $i $(date +%%s.%%N)"; done' % TICKS]


def bench_streaming(kind, runs, tmp):
    """How long after the job prints a line it shows on the controller's terminal (offload.yml's
    output, read as it comes), local and over SSH; and the worker commands each poll takes."""
    upstream = make_upstream(tmp / 'up')
    host = None
    if kind == 'ssh':
        ensure('cos-worker')
        (tmp / 'cos').mkdir()
        host = CosWorker(tmp / 'cos')
        w = bench_worker(tmp, upstream, data_root=host.data_root, inventory=host.inventory,
                         secrets_dir=host.secrets_dir)
    else:
        w = bench_worker(tmp, upstream)
    delays, polls, seconds = [], [], []
    try:
        playbook_ok(w, 1)  # warm-up
        for _run in range(max(1, runs // 2)):
            started = time.monotonic()
            proc = subprocess.Popen(w.command('offload.yml', {'offload_job_command': TICK_JOB}, ('-e', 'pr=1', '-vvv')),
                                    cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    env=dict(os.environ, ANSIBLE_NOCOLOR='1', PYTHONUNBUFFERED='1'))
            execs = 0
            for line in proc.stdout:
                now = time.time()
                # -vvv shows each worker command once; a poll's names its script offload-poll ($0)
                execs += line.count("' offload-poll ")
                found = re.match(r'^TICK (\d+) (\d+\.\d+)$', line.strip())
                if found:
                    delays.append(now - float(found.group(2)))
            if proc.wait() != 0:
                raise RuntimeError('the streaming job failed')
            polls.append(execs)
            seconds.append(time.monotonic() - started)
        return {
            'benchmark': 'streaming_%s' % kind,
            'what': 'offload.yml -e pr=1 following a job that prints a line every 0.7 s (%d lines): how long '
                    'after the job printed each line it showed in the playbook\'s output%s' % (
                        TICKS, ' over SSH (ControlPersist, sudo)' if kind == 'ssh' else ''),
            'delay_s': [round(d, 3) for d in delays],
            'delay': stats(delays),
            'target_median_s': 1.0,
            'polls_per_run': polls,
            'run_s': stats(seconds),
            'lines': TICKS,
        }
    finally:
        docker('rm', '-f', w.maintainer, check=False)
        if host:
            host.stop()
        else:
            w.cleanup()


# --- benchmark 5: a real-size repository ----------------------------------------

BIG_REPO = os.path.join(ROOT, '.build', 'bench', 'big')
BIG_ARGS = ['--commits', '6400', '--files', '3000', '--mib', '110', '--branches', '1200', '--prs', '20']

BY_HAND_COLD = r"""
set -eu
root=$1 url=$2 pr=$3 job=$4
shift 4
mkdir -p "$root/gemini" "$root/worktrees"
git clone --quiet --filter=blob:none "$url" "$root/main"
git -C "$root/main" fetch --quiet origin "+refs/pull/$pr/head:refs/offload/pull/$pr"
git -C "$root/main" worktree add --quiet --detach "$root/worktrees/$job" "refs/offload/pull/$pr"
"$@" >/dev/null </dev/null
docker rm -f "$job" >/dev/null
git -C "$root/main" worktree remove --force "$root/worktrees/$job"
"""


# The big repository's pull requests as the benchmarks use them: 1601-1620, the same
# commits as its refs/pull/1-20, so that no job name (offload-<pr>-<action>) is one the
# test suites use on a shared Docker engine (their runs remove such containers).
BIG_PR = 1600


def big_repo():
    """The generated real-size repository (made once, then reused): its parent directory,
    laid out as make_upstream's (<dir>/upstream.git), with pull refs BIG_PR + 1-20."""
    repo = os.path.join(BIG_REPO, 'upstream.git')
    os.makedirs(BIG_REPO, mode=0o755, exist_ok=True)
    make_big_repo.main([repo] + BIG_ARGS)
    for n in range(1, 21):
        run(['git', '-C', repo, 'update-ref', 'refs/pull/%d/head' % (BIG_PR + n), 'refs/pull/%d/head' % n])
    return pathlib.Path(BIG_REPO)


def repo_facts(repo):
    git = ['git', '-C', str(repo)]
    return {
        'commits': int(run(git + ['rev-list', '--count', 'main']).stdout),
        'files': len(run(git + ['ls-tree', '-r', '--name-only', 'main']).stdout.splitlines()),
        'refs': len(run(git + ['for-each-ref']).stdout.splitlines()),
        'pack_mib': round(sum(os.path.getsize(os.path.join(str(repo), 'objects', 'pack', f))
                              for f in os.listdir(os.path.join(str(repo), 'objects', 'pack'))) / 2 ** 20, 1),
    }


def by_hand_cold_argv(root, upstream, pr, action):
    """A person with git on the worker: a blobless clone (checking out main), the PR's
    worktree, the same no-op job container, the worktree removed."""
    spec = job_spec(pr, action, root, JOB_IMAGE, command=NOOP)
    return ['sh', '-c', BY_HAND_COLD, 'by-hand', root, 'file://%s/upstream.git' % upstream, str(pr),
            spec['name']] + job_run_argv(spec, 'docker')


def bench_real_repo(runs, tmp):
    upstream = big_repo()
    facts = repo_facts(upstream / 'upstream.git')
    cold, cold_blobless, cold_hand, warm, warm_hand = [], [], [], [], []
    workers = []
    try:
        for n in range(runs):  # cold: a new data root and maintainer container each time
            w = bench_worker(tmp / ('cold-%d' % n), upstream)
            os.makedirs(w.tmp_path, exist_ok=True)
            workers.append(w)
            cold.append(timed(lambda: playbook_ok(w, BIG_PR + 1)))  # pylint: disable=cell-var-from-loop
            # the same with offload_history=blobless (the clone the by-hand baseline makes)
            wb = bench_worker(tmp / ('cold-blobless-%d' % n), upstream)
            os.makedirs(wb.tmp_path, exist_ok=True)
            workers.append(wb)
            cold_blobless.append(timed(lambda: playbook_ok(  # pylint: disable=cell-var-from-loop
                wb, BIG_PR + 1, extra={'offload_history': 'blobless'})))  # pylint: disable=cell-var-from-loop
            root = str(tmp / ('hand-%d' % n))
            cold_hand.append(timed(lambda: run(by_hand_cold_argv(root, upstream, BIG_PR + 1, 'fix'))))  # pylint: disable=cell-var-from-loop
            shutil.rmtree(root, ignore_errors=True)
        w = workers[-2]
        for _run in range(runs):  # warm: the worker of the last cold run (history full)
            warm.append(timed(lambda: playbook_ok(w, BIG_PR + 2)))
            warm_hand.append(timed(lambda: run(baseline_argv(w, BIG_PR + 2, 'fix'))))
        playbook_ok(w, BIG_PR + 3, extra={'offload_keep_worktree': True})
        wt = w.worktree(BIG_PR + 3)
        gitdir = os.path.join(w.data_root, 'main', '.git', 'worktrees', os.path.basename(wt))
        checkout = du_kib(wt) - du_kib(os.path.join(wt, '.git')) if os.path.isdir(os.path.join(wt, '.git')) \
            else du_kib(wt)
        per_job = du_kib(wt, gitdir)
        return [{
            'benchmark': 'real_repo_cold', 'repository': facts,
            'what': 'first job on a new worker (clone, worktree, no-op job) vs by hand: git clone --filter=blob:none '
                    '+ fetch of the pull ref + worktree add + the same docker run + worktree remove',
            'ours_s': cold, 'baseline_s': cold_hand, 'ours': stats(cold), 'baseline': stats(cold_hand),
            'ratio': round(statistics.median(cold) / statistics.median(cold_hand), 2), 'target_ratio': 1.5,
            'blobless_s': cold_blobless, 'blobless': stats(cold_blobless),
            'blobless_ratio': round(statistics.median(cold_blobless) / statistics.median(cold_hand), 2),
            'note': 'ours: offload_history=full (the default: the whole history, which the baseline does not fetch); '
                    'blobless: offload_history=blobless, the same clone as the baseline',
        }, {
            'benchmark': 'real_repo_warm', 'repository': facts,
            'what': 'a later job on the same worker vs the bare script (fetch, worktree add, docker run, remove)',
            'ours_s': warm, 'baseline_s': warm_hand, 'ours': stats(warm), 'baseline': stats(warm_hand),
            'ratio': round(statistics.median(warm) / statistics.median(warm_hand), 2), 'target_ratio': 2.0,
        }, {
            'benchmark': 'real_repo_disk', 'repository': facts,
            'what': 'disk one kept job adds (its worktree and its admin dir in main/.git/worktrees) vs its checkout',
            'job_kib': per_job, 'checkout_kib': checkout,
            'ratio': round(per_job / checkout, 3), 'target_ratio': 1.05,
        }]
    finally:
        for w in workers:
            docker('rm', '-f', w.maintainer, check=False)
            w.cleanup()


# --- benchmark 6: history in jobs ----------------------------------------------

TIMED_BLAME = ('s=$(date +%s%N); git blame -- hot.txt >/dev/null 2>blame.err || { cat blame.err; exit 3; }; '
               'e=$(date +%s%N); echo BLAME_NS=$((e - s)); '
               'git log -p -3 -- hot.txt >/dev/null && git diff "$(git rev-list --max-parents=0 HEAD)" --stat >/dev/null '
               '&& echo HISTORY_OK')


def _blame_seconds(text):
    match = re.search(r'BLAME_NS=(\d+)', text)
    return round(int(match.group(1)) / 1e9, 3) if match else None


def bench_history(runs, tmp):
    """git blame of a 300-commit file (and log -p, a diff against the root) in a job, the
    first time and in later jobs, vs a full clone's blame."""
    upstream = big_repo()
    w = bench_worker(tmp, upstream)
    command = ['sh', '-c', TIMED_BLAME]
    jobs = []
    try:
        for n in range(1 + runs):
            proc = w.playbook('-e', 'pr=%d' % (BIG_PR + 1 + n % 2), extra={'offload_job_command': command})
            log = w.worker_log('offload-%d-review' % (BIG_PR + 1 + n % 2))
            jobs.append({'ok': proc.returncode == 0 and 'HISTORY_OK' in log, 'blame_s': _blame_seconds(log),
                         'error': None if proc.returncode == 0 else (log.strip().splitlines() or [
                             line.strip() for line in proc.stdout.splitlines() if 'msg' in line] or ['?'])[-1][:300]})
        clone = str(tmp / 'full')
        run(['git', 'clone', '--quiet', '--no-checkout', 'file://%s/upstream.git' % upstream, clone])
        full = []
        for _run in range(runs):
            full.append(timed(lambda: run(['git', '-C', clone, 'blame', 'main', '--', 'hot.txt'])))
        later = [j['blame_s'] for j in jobs[1:] if j['blame_s'] is not None]
        works = all(j['ok'] for j in jobs)
        return {
            'benchmark': 'history', 'origin': 'file:// (a worker-local path)',
            'what': 'git blame of a file with 300 commits (then git log -p, a diff against the root commit) in a '
                    'job: the first job, then later jobs, vs git blame in a full clone',
            'works': works, 'jobs': jobs,
            'ours_s': later, 'baseline_s': full, 'baseline': stats(full),
            'first_job_blame_s': jobs[0]['blame_s'],
            'ratio': round(statistics.median(later) / statistics.median(full), 2) if works and later else None,
            'target_ratio': 2.0,
        }
    finally:
        docker('rm', '-f', w.maintainer, check=False)
        w.cleanup()


# --- benchmark 7: housekeeping over many jobs ------------------------------------

def bench_housekeeping(runs, tmp):
    """50 jobs on 20 PRs on one worker: main's pack count, its pull refs, and the job time, as they go."""
    del runs
    upstream = big_repo()
    w = bench_worker(tmp, upstream)
    main_git = os.path.join(w.data_root, 'main', '.git')
    samples = []
    try:
        for n in range(50):
            pr = BIG_PR + 1 + n % 20
            # keep 10 pull refs (the default is 50): the 20 PRs go beyond it, so pruning shows
            seconds = timed(lambda: playbook_ok(w, pr, extra={'offload_keep_pull_refs': 10}))  # pylint: disable=cell-var-from-loop
            packs = len([f for f in os.listdir(os.path.join(main_git, 'objects', 'pack')) if f.endswith('.pack')])
            loose = sum(len(os.listdir(os.path.join(main_git, 'objects', d)))
                        for d in os.listdir(os.path.join(main_git, 'objects')) if re.fullmatch('[0-9a-f]{2}', d))
            refs = len(run(['git', '--git-dir', main_git, 'for-each-ref', 'refs/offload/']).stdout.splitlines())
            samples.append({'job': n + 1, 'pr': pr, 'seconds': round(seconds, 3), 'packs': packs, 'loose': loose,
                            'offload_refs': refs})
        first, last = samples[:10], samples[-10:]
        return {
            'benchmark': 'housekeeping',
            'what': '50 no-op jobs on 20 PRs of the real-size repository on one worker (offload_keep_pull_refs=10)',
            'samples': samples,
            'packs_first_last': [samples[0]['packs'], samples[-1]['packs']],
            'packs_max': max(x['packs'] for x in samples), 'loose_max': max(x['loose'] for x in samples),
            'offload_refs_last': samples[-1]['offload_refs'],
            'ours_s': [x['seconds'] for x in last], 'baseline_s': [x['seconds'] for x in first],
            'ratio': round(statistics.median(x['seconds'] for x in last)
                           / statistics.median(x['seconds'] for x in first), 2),
            'ratio_note': 'median job time of the last 10 jobs over the first 10 (flat is 1.0)',
        }
    finally:
        docker('rm', '-f', w.maintainer, check=False)
        w.cleanup()


# --- benchmark 3: concurrency --------------------------------------------------

def du_kib(*paths):
    out = run(['du', '-sk', '--total'] + list(paths)).stdout.splitlines()[-1]
    return int(out.split()[0])


def bench_concurrency(runs, tmp):
    upstream = make_upstream(tmp / 'up', extra_prs=5)  # PRs 1..8
    w = bench_worker(tmp, upstream)
    result = {'benchmark': 'concurrency',
              'what': 'N offload.yml runs (no-op job, distinct PRs) started at once on one local worker'}
    try:
        playbook_ok(w, 1)  # warm-up
        single = []
        for n in (1, 4, 8):
            samples = []
            for _run in range(runs):
                start = time.monotonic()
                procs = [w.start('-e', 'pr=%d' % pr, extra={'offload_job_command': NOOP}) for pr in range(1, n + 1)]
                outs = [p.communicate()[0] for p in procs]
                samples.append(time.monotonic() - start)
                failed = [o[-2000:] for p, o in zip(procs, outs) if p.returncode != 0]
                if failed:
                    raise RuntimeError('a concurrent run failed:\n%s' % failed[0])
            if n == 1:
                single = samples
            result['n%d' % n] = dict(stats(samples), samples=samples,
                                     serial_estimate=round(n * statistics.median(single), 3))
        # Disk: keep the 8 worktrees once, measure what each adds, against one full clone per job.
        procs = [w.start('-e', 'pr=%d' % pr, extra={'offload_job_command': NOOP, 'offload_keep_worktree': True})
                 for pr in range(1, 9)]
        for p in procs:
            p.communicate()
        per_job = []
        for pr in range(1, 9):
            wt = w.worktree(pr)
            gitdir = os.path.join(w.data_root, 'main', '.git', 'worktrees', os.path.basename(wt))
            per_job.append(du_kib(wt, gitdir))
        clone = str(tmp / 'full-clone')
        run(['git', 'clone', '--quiet', 'file://%s/upstream.git' % upstream, clone])
        result['disk'] = {
            'worktree_kib_per_job': per_job,
            'worktree_kib_median': statistics.median(per_job),
            'shared_main_kib': du_kib(os.path.join(w.data_root, 'main')) - sum(per_job),
            'full_clone_kib': du_kib(clone),
            'note': 'worktree = its checkout + its admin dir in main/.git/worktrees; the clone is a '
                    'plain `git clone` of the same repository (what one clone per job would cost)',
        }
        result['disk']['ratio_worktree_vs_clone'] = round(
            result['disk']['worktree_kib_median'] / result['disk']['full_clone_kib'], 2)
        return result
    finally:
        docker('rm', '-f', w.maintainer, check=False)
        w.cleanup()


# --- benchmark 2: converged provision -------------------------------------------

PROV_PROJECT = 'bench-project'
PROV_ZONE = 'us-central1-a'


def bench_provision(runs, tmp):
    import harness  # pylint: disable=import-outside-toplevel
    from fixtures_emulator import DEFAULT_CONFIG  # pylint: disable=import-outside-toplevel
    from fixtures_provision import PlaybookRunner, Sshd  # pylint: disable=import-outside-toplevel
    stand_in_image = ensure('base')  # any small image: the maintainer container's stand-in sleeps
    (tmp / 'emu').mkdir()
    (tmp / 'sshd').mkdir()
    (tmp / 'ssh').mkdir()
    emulator = harness.start_emulator(tmp / 'emu')
    sshd = None
    maint = '%smaint-%s' % (PREFIX, os.urandom(4).hex())
    try:
        emulator.configure(**DEFAULT_CONFIG)
        emulator.reset()
        sshd = Sshd(tmp / 'sshd').start()
        docker('run', '--detach', '--name', maint, '--label', 'gcli.offload.test=bench', '--entrypoint', 'sleep',
               stand_in_image, 'infinity')
        name = '%sw-%s' % (PREFIX, os.urandom(4).hex())
        runner = PlaybookRunner(tmp, env={
            'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE': emulator.compute_endpoint,
            # the worker's service account (IAM) and its project roles (Resource Manager)
            'CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM': emulator.iam_endpoint,
            'CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER': emulator.iam_endpoint,
            'GCP_AUTH_KIND': 'accesstoken', 'CLOUDSDK_AUTH_ACCESS_TOKEN': 'bench-token',
            'CLOUDSDK_CORE_PROJECT': PROV_PROJECT,
        })
        variables = {
            'offload_worker_name': name, 'offload_zone': PROV_ZONE, 'offload_machine_type': 'e2-standard-4',
            'offload_maintainer_image': 'us-docker.pkg.dev/%s/offload/maintainer:latest' % PROV_PROJECT,
            'offload_maintainer_name': maint,
            'offload_ssh_access': 'direct', 'offload_ssh_host': '127.0.0.1', 'offload_ssh_port': sshd.port,
            'offload_ssh_user': sshd.user, 'offload_ssh_key': sshd.key,
            'offload_ssh_known_hosts': str(tmp / 'ssh' / 'known_hosts'),
            'offload_ssh_config': str(tmp / 'ssh' / 'gcli-offload.conf'),
            'offload_worker_become': False, 'offload_wait_timeout': 30, 'offload_wait_interval': 1,
        }

        def provision():
            proc = runner('provision.yml', variables)
            if proc.returncode != 0:
                raise RuntimeError('provision.yml failed:\n%s\n%s' % (proc.stdout[-4000:], proc.stderr[-2000:]))

        gcloud_env = emulator.gcloud_env(tmp / 'gcloud', project=PROV_PROJECT, zone=PROV_ZONE)

        def describe():
            run(['gcloud', 'compute', 'instances', 'describe', name, '--zone', PROV_ZONE, '--format', 'json'],
                env=gcloud_env)

        provision()  # create
        describe()  # warm-up (gcloud's first run writes its config)
        converged, gcloud, calls, gcloud_calls = [], [], [], []
        for _run in range(runs):
            mark = emulator.mark()
            converged.append(timed(provision))
            reqs = emulator.requests(since=mark)
            calls.append({'total': len(reqs), 'mutating': sum(1 for e in reqs if harness.is_mutating(e)),
                          'by_endpoint': sorted('%s %s' % (e['method'], e['path'].split('?')[0]) for e in reqs)})
            mark = emulator.mark()
            gcloud.append(timed(describe))
            gcloud_calls.append(len(emulator.requests(since=mark)))
        return {
            'benchmark': 'provision',
            'what': 'provision.yml re-run on a converged worker against the Compute Engine emulator '
                    '(SSH wait through a loopback sshd) vs gcloud compute instances describe of the same instance',
            'provision_s': converged, 'gcloud_s': gcloud,
            'provision': stats(converged), 'gcloud': stats(gcloud),
            'ratio': round(statistics.median(converged) / statistics.median(gcloud), 2),
            'api_calls': calls[-1], 'api_calls_per_run': [c['total'] for c in calls],
            'mutating_calls_per_run': [c['mutating'] for c in calls],
            'gcloud_api_calls_per_run': gcloud_calls,
        }
    finally:
        docker('rm', '-f', maint, check=False)
        if sshd:
            sshd.stop()
        emulator.stop()


# --- benchmark 4: tag query -----------------------------------------------------

TAGS = 1000


def bench_tags(runs, tmp):
    import requests  # pylint: disable=import-outside-toplevel
    from fixtures_registry import PagingProxy, Registry, write_oci_layout  # pylint: disable=import-outside-toplevel
    (tmp / 'reg').mkdir()
    registry = Registry(tmp / 'reg').start()
    proxy = None
    try:
        repo = 'bench/tags'
        layout = write_oci_layout(str(tmp / 'layout'), 'bench', b'bench tag query')
        registry.push(layout, 'bench', '%s:t0000' % repo)
        # one manifest under 1,000 tags, through the registry API
        url = '%s/v2/%s/manifests/' % (registry.url, repo)
        got = requests.get(url + 't0000', headers={'Accept': 'application/vnd.oci.image.manifest.v1+json'},
                           timeout=30)
        got.raise_for_status()
        with requests.Session() as session:
            for i in range(1, TAGS):
                session.put(url + 't%04d' % i, data=got.content, timeout=30,
                            headers={'Content-Type': got.headers['Content-Type']}).raise_for_status()
        # Timed: both straight to the registry. Counted: the module's requests through the
        # paging proxy (which pages tags/list as Artifact Registry does), skopeo's from its
        # --debug log (through the proxy it fails: the proxy forwards one Accept header only).
        proxy = PagingProxy(registry)
        wanted = 't0500'
        env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
                   ANSIBLE_LOCALHOST_WARNING='false', GCP_AUTH_KIND='accesstoken')
        env.pop('CLOUDSDK_AUTH_ACCESS_TOKEN', None)

        def play_for(host):
            path = tmp / ('tags-%s.yml' % host.replace(':', '-'))
            path.write_text(json.dumps([{
                'name': 'Resolve one tag', 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
                'tasks': [{'name': 'Resolve', 'gcli.offload.image_tag_info': {
                    'image': '%s/%s' % (host, repo), 'tag': wanted, 'plain_http': True}, 'register': 'r'},
                    {'name': 'Show', 'ansible.builtin.debug': {'msg': 'digest={{ r.digest }} pages={{ r.pages }}'}}]}]))
            return str(path)
        direct, proxied = play_for(registry.host), play_for(proxy.host)
        image = 'docker://%s/%s' % (registry.host, repo)
        found = {}

        def module(play=direct):
            out = run(['ansible-playbook', play], env=env).stdout
            found['module'] = re.search(r'digest=(sha256:[0-9a-f]+)\s+pages=(\d+)', out).groups()

        def skopeo(debug=False):
            flags = ['--debug'] if debug else []
            listed = run(['skopeo'] + flags + ['list-tags', '--tls-verify=false', image])
            tags = json.loads(listed.stdout)
            if wanted not in tags['Tags']:
                raise RuntimeError('skopeo list-tags: no %s among %d tags' % (wanted, len(tags['Tags'])))
            inspected = run(['skopeo'] + flags + ['inspect', '--tls-verify=false', '%s:%s' % (image, wanted)])
            found['skopeo'] = json.loads(inspected.stdout)['Digest']
            found['skopeo_tags'] = len(tags['Tags'])
            return len(re.findall(r'msg="(?:GET|HEAD) https?://', listed.stderr + inspected.stderr))

        module()
        skopeo()
        proxy.reset()
        module(proxied)
        mod_req = proxy.count()
        sko_req = skopeo(debug=True)
        mod_s, sko_s = [], []
        for _run in range(runs):
            mod_s.append(timed(module))
            sko_s.append(timed(skopeo))
        if found['module'][0] != found['skopeo']:
            raise RuntimeError('digests differ: module %s, skopeo %s' % (found['module'][0], found['skopeo']))
        return {
            'benchmark': 'tags',
            'what': 'image_tag_info (one ansible-playbook run) resolving one tag among %d in the local registry '
                    '(distribution 2.8, loopback) vs skopeo list-tags + skopeo inspect' % TAGS,
            'module_s': mod_s, 'skopeo_s': sko_s, 'module': stats(mod_s), 'skopeo': stats(sko_s),
            'ratio': round(statistics.median(mod_s) / statistics.median(sko_s), 2),
            'module_requests': mod_req, 'skopeo_requests': sko_req, 'module_pages': int(found['module'][1]),
            'requests_note': 'module: counted by the paging proxy; skopeo: GET/HEAD lines of its --debug log',
            'tags': found['skopeo_tags'], 'digest_agrees': True,
        }
    finally:
        if proxy:
            proxy.stop()
        registry.stop()


# --- summary -------------------------------------------------------------------

def _cpu(result, side):
    """The median CPU figure of one side, or a dash for results from before it was measured."""
    cpu = result.get('cpu', {}).get(side)
    return '%.2f' % cpu['median'] if cpu else '-'


def summary(results, env):
    lines = ['# Benchmarks', '', 'Machine: %(cpus)s CPUs, %(ansible)s, Docker %(docker)s. %(note)s.' % env, '']
    for name in sorted(n for n in results if n.startswith('start_')):
        r = results[name]
        rtt = ', %d ms round-trip time' % r['rtt_ms'] if r.get('rtt_ms') is not None and 'ssh' in name else ''
        lines += ['## Job start overhead (%s worker%s)' % (name.split('_')[1], rtt), '',
                  '| | median s | min | max | controller CPU s (median) | worker round trips |',
                  '| --- | --- | --- | --- | --- | --- |',
                  '| offload.yml | %.2f | %.2f | %.2f | %s | %d |' % (
                      r['ansible']['median'], r['ansible']['min'], r['ansible']['max'], _cpu(r, 'ansible'),
                      r['worker_round_trips']['total']),
                  '| bare shell | %.2f | %.2f | %.2f | %s | %d |' % (
                      r['baseline']['median'], r['baseline']['min'], r['baseline']['max'], _cpu(r, 'baseline'),
                      r['baseline_round_trips']),
                  '| ansible-playbook floor (one no-op task) | %.2f | %.2f | %.2f | %s | 0 |' % (
                      r['floor']['median'], r['floor']['min'], r['floor']['max'], _cpu(r, 'floor')),
                  '', '**ratio %.2fx** (target <= %.1fx); without ansible-playbook\'s own start-up '
                  '(offload - floor) / bare: %.2fx. %d runs each, alternated, after a warm-up.' % (
                      r['ratio'], r['target_ratio'], r['ratio_over_floor'], r['ansible']['n']), '']
    r = results.get('provision')
    if r:
        lines += ['## Converged provision (emulator)', '', '| | median s | min | max | API requests per run |',
                  '| --- | --- | --- | --- | --- |',
                  '| provision.yml (converged) | %.2f | %.2f | %.2f | %s (mutating: %s) |' % (
                      r['provision']['median'], r['provision']['min'], r['provision']['max'],
                      r['api_calls']['total'], max(r['mutating_calls_per_run'])),
                  '| gcloud compute instances describe | %.2f | %.2f | %.2f | %s |' % (
                      r['gcloud']['median'], r['gcloud']['min'], r['gcloud']['max'],
                      max(r['gcloud_api_calls_per_run'])),
                  '', '**ratio %.2fx**. Requests of one converged run: %s.' % (
                      r['ratio'], ', '.join(r['api_calls']['by_endpoint'])), '']
    r = results.get('tags')
    if r:
        lines += ['## Tag query (%d tags, local registry)' % r['tags'], '',
                  '| | median s | min | max | registry requests |', '| --- | --- | --- | --- | --- |',
                  '| image_tag_info (ansible-playbook) | %.2f | %.2f | %.2f | %s (%d tag pages) |' % (
                      r['module']['median'], r['module']['min'], r['module']['max'], r['module_requests'],
                      r['module_pages']),
                  '| skopeo list-tags + inspect | %.2f | %.2f | %.2f | %s |' % (
                      r['skopeo']['median'], r['skopeo']['min'], r['skopeo']['max'], r['skopeo_requests']),
                  '', '**ratio %.2fx**; both found the same digest.' % r['ratio'], '']
    r = results.get('concurrency')
    if r:
        lines += ['## Concurrency (local worker, no-op jobs)', '', '| PRs at once | median s | min | max | '
                  'N x single (serial) |', '| --- | --- | --- | --- | --- |']
        for n in (1, 4, 8):
            x = r['n%d' % n]
            lines.append('| %d | %.2f | %.2f | %.2f | %.2f |' % (
                n, x['median'], x['min'], x['max'], x['serial_estimate']))
        d = r['disk']
        lines += ['', 'Disk per job: worktree %s KiB (median of 8) vs a full clone %s KiB (ratio %.2f); '
                  'the shared blobless main clone: %s KiB.' % (
                      d['worktree_kib_median'], d['full_clone_kib'], d['ratio_worktree_vs_clone'],
                      d['shared_main_kib']), '']
    for name in ('streaming_local', 'streaming_ssh'):
        r = results.get(name)
        if r:
            lines += ['## Streaming latency (%s worker)' % name.split('_')[1], '',
                      '| lines | median delay s | min | max | worker commands a run (polls) |',
                      '| --- | --- | --- | --- | --- |',
                      '| %d | %.2f | %.2f | %.2f | %s |' % (
                          r['delay']['n'], r['delay']['median'], r['delay']['min'], r['delay']['max'],
                          ', '.join(map(str, r['polls_per_run']))),
                      '', 'Target: median <= %.1f s. A job of %d lines, one every 0.7 s.' % (
                          r['target_median_s'], r['lines']), '']
    lines += _summary_real(results)
    return '\n'.join(lines)


def _summary_real(results):
    lines = []
    cold, warm, disk = (results.get('real_repo_' + k) for k in ('cold', 'warm', 'disk'))
    if cold:
        f = cold['repository']
        lines += ['## A real-size repository (%(commits)d commits, %(files)d files, %(refs)d refs, '
                  '%(pack_mib)s MiB pack)' % f, '', '| | ours median s | by hand median s | ratio | target |',
                  '| --- | --- | --- | --- | --- |']
        for label, r in (('cold first job (history full)', cold), ('warm job', warm)):
            if r:
                lines.append('| %s | %.2f | %.2f | %.2fx | %.1fx |' % (
                    label, r['ours']['median'], r['baseline']['median'], r['ratio'], r['target_ratio']))
            if r is cold and 'blobless' in r:
                lines.append('| cold first job (history blobless) | %.2f | %.2f | %.2fx | %.1fx |' % (
                    r['blobless']['median'], r['baseline']['median'], r['blobless_ratio'], r['target_ratio']))
        if disk:
            lines += ['', 'Disk one job adds: %d KiB against its checkout\'s %d KiB (%.3fx, target %.2fx).' % (
                disk['job_kib'], disk['checkout_kib'], disk['ratio'], disk['target_ratio'])]
        lines.append('')
    r = results.get('history')
    if r:
        lines += ['## History in jobs (%s origin)' % r['origin'], '']
        if r['works']:
            lines.append('git blame of a 300-commit file: first job %.2f s, later jobs %.2f s (median) against '
                         '%.2f s in a full clone: **%.2fx** (target %.1fx).' % (
                             r['first_job_blame_s'], statistics.median(r['ours_s']), r['baseline']['median'],
                             r['ratio'], r['target_ratio']))
        else:
            errors = sorted({j['error'] or 'history commands failed' for j in r['jobs'] if not j['ok']})
            lines.append('**Does not work**: %s' % '; '.join(errors))
        lines.append('')
    r = results.get('housekeeping')
    if r:
        lines += ['## Housekeeping (50 jobs on 20 PRs)', '',
                  'Packs in main: %d after the first job, %d after the 50th (at most %s; loose objects at most %s); '
                  'refs/offload/* left: %d; job time, last 10 over first 10: %.2fx.' % (
                      r['packs_first_last'][0], r['packs_first_last'][1], r.get('packs_max', '?'),
                      r.get('loose_max', '?'), r['offload_refs_last'], r['ratio']), '']
    return lines


BENCHES = {
    'start_local': lambda runs, tmp: bench_start('local', runs, tmp),
    'start_ssh': lambda runs, tmp: bench_start('ssh', runs, tmp, rtts=(0, 25, 50)),
    'provision': bench_provision,
    'concurrency': lambda runs, tmp: bench_concurrency(max(2, runs // 2), tmp),
    'tags': bench_tags,
    'real_repo': lambda runs, tmp: bench_real_repo(max(2, runs // 2), tmp),
    'history': lambda runs, tmp: bench_history(max(2, runs // 2), tmp),
    'housekeeping': bench_housekeeping,
    'streaming_local': lambda runs, tmp: bench_streaming('local', runs, tmp),
    'streaming_ssh': lambda runs, tmp: bench_streaming('ssh', runs, tmp),
}

# summary.json: per benchmark, where its figures are (ours, the baseline) in its result
_SIDES = {'start': ('ansible_s', 'baseline_s'), 'provision': ('provision_s', 'gcloud_s'),
          'tags': ('module_s', 'skopeo_s'), 'streaming': ('delay_s', 'none')}


def summary_json(results):
    """One entry per benchmark: ours_s and baseline_s (medians), ratio, runs and, where
    counted, round_trips: for a program to read (bench/results/summary.json)."""
    entries = {}
    for name, r in sorted(results.items()):
        ours_key, base_key = _SIDES.get(name.split('_')[0], ('ours_s', 'baseline_s'))
        ours, base = r.get(ours_key), r.get(base_key)
        if name == 'concurrency':
            ours, base = r['n8']['samples'], None
        entry = {
            'ours_s': round(statistics.median(ours), 3) if ours else None,
            'baseline_s': round(statistics.median(base), 3) if base else None,
            'ratio': r.get('ratio'),
            'runs': len(ours) if ours else 0,
        }
        for key in ('target_ratio', 'rtt_ms', 'works', 'blobless_ratio', 'first_job_blame_s', 'packs_first_last',
                    'offload_refs_last'):
            if key in r:
                entry[key] = r[key]
        if 'network_round_trips' in r and r['network_round_trips']['ours'] is not None:
            entry['round_trips'] = r['network_round_trips']
        elif 'worker_round_trips' in r:
            entry['round_trips'] = {'ours': r['worker_round_trips']['total'], 'baseline': r['baseline_round_trips']}
        if name == 'concurrency':
            entry['ratio'] = round(r['n8']['median'] / r['n8']['serial_estimate'], 2)
            entry['ratio_note'] = '8 PRs at once vs 8 x one'
        if name == 'real_repo_disk':
            entry.update(ours_kib=r['job_kib'], baseline_kib=r['checkout_kib'])
        entries[name] = entry
    return entries


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--runs', type=int, default=7)
    parser.add_argument('--only', default=','.join(BENCHES))
    opts = parser.parse_args()
    os.chdir(ROOT)
    os.environ.setdefault('ANSIBLE_CONFIG', os.path.join(ROOT, 'ansible.cfg'))
    ensure('demo-job')
    os.makedirs(RESULTS, exist_ok=True)
    env = environment()
    results = {}
    for name in opts.only.split(','):
        tmp = pathlib.Path(tempfile.mkdtemp(prefix=PREFIX + name + '-', dir='/var/tmp'))
        os.chmod(tmp, 0o755)
        try:
            print('== %s' % name, flush=True)
            got = BENCHES[name](opts.runs, tmp)
            for r in got if isinstance(got, list) else [got]:
                results[r['benchmark']] = dict(r, environment=env)
                with open(os.path.join(RESULTS, r['benchmark'] + '.json'), 'w') as f:
                    json.dump(results[r['benchmark']], f, indent=2)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    # keep the figures of benchmarks not re-run this time in the summaries
    for path in sorted(glob.glob(os.path.join(RESULTS, '*.json'))):
        name = os.path.basename(path)[:-len('.json')]
        if name != 'summary' and name not in results:
            with open(path) as f:
                results[name] = json.load(f)
    with open(os.path.join(RESULTS, 'summary.json'), 'w') as f:
        json.dump(summary_json(results), f, indent=2, sort_keys=True)
    text = summary(results, env)
    with open(os.path.join(RESULTS, 'summary.md'), 'w') as f:
        f.write(text + '\n')
    print(text)


if __name__ == '__main__':
    main()
