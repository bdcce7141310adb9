# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make bench`: the benchmarks of issue 6, each against the baseline a user would
otherwise use, measured side by side in this one process session.

  python bench/run.py [--runs N] [--only NAME[,NAME]]

NAME: start_local, start_ssh, concurrency (see docs/benchmarks.md). Results go to
bench/results/<name>.json (raw samples) and bench/results/summary.md.

The harness reuses the test fixtures (tests/integration/fixtures_*.py): the
isolated local Worker, the COS-like SSH worker, the make-upstream repository.
These are benchmarks, not tests: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
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
                os.path.join(ROOT, 'tests', 'emulator'), os.path.join(ROOT, '.build', 'collections')]

from fixtures_images import IMAGES, ensure  # noqa: E402  pylint: disable=wrong-import-position
from fixtures_offload import Worker, docker  # noqa: E402  pylint: disable=wrong-import-position
from fixtures_cosworker import CosWorker  # noqa: E402  pylint: disable=wrong-import-position
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


def bench_start(kind, runs, tmp):
    upstream = make_upstream(tmp / 'up')
    host = None
    if kind == 'ssh':
        ensure('cos-worker')
        (tmp / 'cos').mkdir()
        host = CosWorker(tmp / 'cos')
        w = bench_worker(tmp, upstream, data_root=host.data_root, inventory=host.inventory,
                         secrets_dir=host.secrets_dir)
        control = str(tmp / 'cm-%C')
        ssh = ['ssh', '-q', '-i', host.key, '-p', str(host.port), '-o', 'BatchMode=yes',
               '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
               '-o', 'ControlMaster=auto', '-o', 'ControlPersist=300s', '-o', 'ControlPath=' + control,
               'worker@127.0.0.1']

        def baseline():
            run(ssh + ['sudo', shlex.join(baseline_argv(w, 1, 'fix'))])
    else:
        w = bench_worker(tmp, upstream)

        def baseline():
            run(baseline_argv(w, 1, 'fix'))
    try:
        playbook_ok(w, 1)  # warm-up: maintainer container, clone, first worktree and job
        baseline()
        trips = count_round_trips(playbook_ok(w, 1, args=('-vvv',)).stdout)
        floor_play = tmp / 'floor.yml'
        floor_play.write_text(FLOOR_PLAY)

        def floor():
            proc = w.playbook(playbook=str(floor_play))
            if proc.returncode != 0:
                raise RuntimeError('the floor playbook failed:\n%s' % proc.stdout[-2000:])
        ansible, bare, empty = [], [], []
        cpu = {'ansible': [], 'baseline': [], 'floor': []}
        for _run in range(runs):  # alternate, so that drift on the shared machine hits all three
            ansible.append(timed(lambda: playbook_ok(w, 1), cpu['ansible']))
            bare.append(timed(baseline, cpu['baseline']))
            empty.append(timed(floor, cpu['floor']))
        result = {
            'benchmark': 'start_%s' % kind,
            'what': 'ansible-playbook offload.yml -e pr=1 (no-op job, warm worker) vs a bare shell script '
                    'doing fetch, worktree add, docker run --rm (same mounts), worktree remove'
                    + (' over one SSH connection (ControlPersist)' if kind == 'ssh' else ''),
            'ansible_s': ansible, 'baseline_s': bare,
            'floor_s': empty,
            'ansible': stats(ansible), 'baseline': stats(bare), 'floor': stats(empty),
            'cpu_s': cpu, 'cpu': {side: stats(samples) for side, samples in cpu.items()},
            'ratio': round(statistics.median(ansible) / statistics.median(bare), 2),
            # what the collection adds over ansible-playbook's own start-up, against the baseline
            'ratio_over_floor': round((statistics.median(ansible) - statistics.median(empty))
                                      / statistics.median(bare), 2),
            'target_ratio': 1.5,
            'worker_round_trips': trips,
            'baseline_round_trips': 1 if kind == 'ssh' else 4,
        }
        return result
    finally:
        docker('rm', '-f', w.maintainer, check=False)
        if host:
            host.stop()
        else:
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
    from fixtures_provision import STAND_IN_IMAGE, PlaybookRunner, Sshd  # pylint: disable=import-outside-toplevel
    ensure('base')
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
               STAND_IN_IMAGE, 'infinity')
        name = '%sw-%s' % (PREFIX, os.urandom(4).hex())
        runner = PlaybookRunner(tmp, env={
            'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE': emulator.compute_endpoint,
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
    for name in ('start_local', 'start_ssh'):
        r = results.get(name)
        if not r:
            continue
        lines += ['## Job start overhead (%s worker)' % name.split('_')[1], '',
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
    return '\n'.join(lines)


BENCHES = {
    'start_local': lambda runs, tmp: bench_start('local', runs, tmp),
    'start_ssh': lambda runs, tmp: bench_start('ssh', runs, tmp),
    'provision': bench_provision,
    'concurrency': lambda runs, tmp: bench_concurrency(max(2, runs // 2), tmp),
    'tags': bench_tags,
}


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
            results[name] = dict(BENCHES[name](opts.runs, tmp), environment=env)
            with open(os.path.join(RESULTS, name + '.json'), 'w') as f:
                json.dump(results[name], f, indent=2)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    # keep the figures of benchmarks not re-run this time in the summary
    for name in BENCHES:
        path = os.path.join(RESULTS, name + '.json')
        if name not in results and os.path.exists(path):
            with open(path) as f:
                results[name] = json.load(f)
    text = summary(results, env)
    with open(os.path.join(RESULTS, 'summary.md'), 'w') as f:
        f.write(text + '\n')
    print(text)


if __name__ == '__main__':
    main()
