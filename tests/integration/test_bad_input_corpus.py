"""The bad-input corpus (tests/integration/bad_inputs.yml), run whole.

Every entry must fail with a clear message naming the offending variable or
option (no traceback, no MODULE FAILURE, no huge echo of the input) and create
nothing: no marker file (shell metacharacter entries try to make one), no path
named in its inputs, no data root, no maintainer or job container, no secret,
no SSH alias file, and no request at all to the Compute / Cloud Build emulator.

How each kind of target runs:
- worker playbooks (offload.yml, logs.yml...): ansible-playbook against the
  local Docker engine, one run per entry, with an isolated fixtures_offload.Worker;
- cloud playbooks (provision.yml, teardown.yml, image_pipeline.yml, status.yml's
  VM play): ansible-playbook against the emulator, one run per entry;
- modules and action plugins: one generated playbook per target, one task per
  entry (ignore_errors), JSON results; each entry has names of its own (data
  root, maintainer, secret directory, Google project), so whatever a task
  created or requested is charged to its entry.
Each batch also carries a control entry: the target's valid base options
through the same path, which must pass validation (and, for the targets that
create things, be seen creating them): the checks can fail.

Run it in parallel with: pytest -n 2 --dist loadgroup tests/integration/test_bad_input_corpus.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest
import yaml
from fixtures_images import IMAGES
from fixtures_offload import Worker, container_state, docker
from fixtures_provision import PlaybookRunner, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, 'bad_inputs.yml')
IMAGE = IMAGES['demo-job']  # built by the job_image fixture every test here takes
MAINTAINER_IMAGE = 'us-docker.pkg.dev/corpus-project/offload/maintainer:latest'
ZONE = 'us-central1-a'
HUGE = 'x' * 100000
OMIT = '__OMIT__'
CONTROL = 'control'
# Output bigger than this echoes a huge input back (in full, or many times).
MAX_OUTPUT = 60000
PR = 42  # the PR of the module bases (40-59: this test's range on the shared engine)

WORKER_PLAYBOOKS = ('offload.yml', 'github_auth.yml', 'status.yml', 'logs.yml', 'clean.yml', 'reconcile.yml',
                    'attach.yml')
CLOUD_PLAYBOOKS = ('provision.yml', 'teardown.yml', 'image_pipeline.yml')
WORKER_MODULES = ('job_spec', 'maintainer_container', 'git_worktree', 'job_container', 'worker_secret', 'job_info',
                  'job_cleanup', 'job_log', 'attach_command', 'worker_ready', 'gemini_profile', 'job_deliver')
CLOUD_MODULES = ('cos_instance', 'cos_instance_info', 'compute_firewall', 'cloudbuild_trigger', 'image_tag_info', 'worker_vm_spec',
                 'pipeline_spec', 'default_ssh_rule', 'worker_orphans', 'service_account')
# The GitHub side, on the controller (run with the cloud modules: a refused input makes no request)
GITHUB_MODULES = ('delivery_plan', 'issue_plan', 'pr_open', 'pr_comment')
# Nothing answers there: a valid control fails reaching it, after validation
NO_GITHUB = 'http://127.0.0.1:9'
# What a valid control creates (the checks must see it).
CREATES = {'maintainer_container', 'worker_secret', 'cos_instance', 'compute_firewall', 'cloudbuild_trigger',
           'image_tag_info'}


def load_corpus():
    with open(CORPUS, encoding='utf-8') as f:
        entries = yaml.safe_load(f)
    seen = set()
    for entry in entries:
        key = (entry['target'], entry['id'])
        assert key not in seen, 'duplicate corpus entry %s' % (key,)
        seen.add(key)
        assert entry['target'] in WORKER_PLAYBOOKS + CLOUD_PLAYBOOKS + WORKER_MODULES + CLOUD_MODULES + GITHUB_MODULES, \
            entry
        assert entry.get('message'), entry
    return entries


ENTRIES = load_corpus()


def harness(entry):
    target = entry['target']
    if target in WORKER_MODULES:
        return 'worker-module'
    if target in CLOUD_MODULES + GITHUB_MODULES:
        return 'cloud-module'
    if target in CLOUD_PLAYBOOKS or entry.get('harness') == 'cloud':
        return 'cloud-playbook'
    return 'worker-playbook'


def expand(value, ctx):
    """The placeholders (__MARKER__, __HUGE__, __REGISTRY__) filled in; __OMIT__ keys dropped."""
    if isinstance(value, str):
        for key, repl in (('__MARKER__', ctx['marker']), ('__HUGE__', HUGE), ('__REGISTRY__', ctx.get('registry', ''))):
            value = value.replace(key, repl)
        return value
    if isinstance(value, dict):
        return {expand(k, ctx): expand(v, ctx) for k, v in value.items() if v != OMIT}
    if isinstance(value, list):
        return [expand(v, ctx) for v in value]
    return value


def merged(base, inputs, ctx):
    out = dict(base)
    for key, value in inputs.items():
        if value == OMIT:
            out.pop(key, None)
        else:
            out[key] = value
    return expand(out, ctx)


def named_paths(inputs):
    """Absolute paths named in the inputs (a bad data root, secrets dir...): none may appear."""
    found = []

    def walk(value):
        if isinstance(value, str):
            for line in value.splitlines() or ['']:
                if line.startswith('/') and len(line) < 4096:
                    found.append(line)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    walk(inputs)
    return found


def existing(paths):
    return {p for p in paths if os.path.lexists(p)}


def assert_clear_failure(text, entry):
    """The message names what is wrong; the user sees no internals and no flood."""
    assert entry['message'] in text, 'expected %r in:\n%s' % (entry['message'], text[-4000:])
    for bad in ('Traceback (most recent call last)', 'MODULE FAILURE', 'module_stdout', 'unexpected error'):
        assert bad not in text, '%r in:\n%s' % (bad, text[-4000:])
    assert len(text) < MAX_OUTPUT, 'output of %d characters (a huge input echoed back?)' % len(text)


def params(kind):
    chosen = [e for e in ENTRIES if harness(e) == kind]
    out = []
    for e in chosen:
        marks = [pytest.mark.xdist_group(e['target'])] if kind.endswith('module') else []
        if e.get('known_defect'):
            # an open defect, listed where it is found; strict: fixing it makes this fail until the key goes
            marks.append(pytest.mark.xfail(strict=True, reason=e['known_defect']))
        out.append(pytest.param(e, id='%s-%s' % (e['target'].replace('.yml', ''), e['id']), marks=marks))
    return out


def test_the_corpus_covers_every_playbook_and_module():
    targets = {e['target'] for e in ENTRIES}
    assert targets == set(WORKER_PLAYBOOKS + CLOUD_PLAYBOOKS + WORKER_MODULES + CLOUD_MODULES + GITHUB_MODULES)
    tracked = subprocess.run(['git', 'ls-files', '*.yml'], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    top = {f for f in tracked if '/' not in f and f not in ('galaxy.yml', '.ansible-lint')}
    assert top <= set(WORKER_PLAYBOOKS + CLOUD_PLAYBOOKS), top - set(WORKER_PLAYBOOKS + CLOUD_PLAYBOOKS)
    modules = {f[:-3] for f in os.listdir(os.path.join(ROOT, 'plugins', 'modules')) if f.endswith('.py')}
    assert modules == set(WORKER_MODULES + CLOUD_MODULES + GITHUB_MODULES)


# ---------------------------------------------------------------------------
# Worker playbooks: one ansible-playbook per entry on the local Docker engine.

WORKER_PLAYBOOK_BASE = {
    'offload.yml': {'pr': PR},
    'github_auth.yml': {'offload_gh_token': 'github_pat_corpus_not_a_token'},
    'status.yml': {},
    'logs.yml': {'pr': PR},
    'clean.yml': {'pr': PR},
    'reconcile.yml': {},
    'attach.yml': {'pr': PR},
}


def worker_leftovers(w, marker, paths_before, inputs):
    found = []
    if os.path.lexists(marker):
        found.append('the marker file %s' % marker)
    if os.path.exists(w.data_root):
        found.append('the data root %s' % w.data_root)
    if container_state(w.maintainer) is not None:
        found.append('the maintainer container %s' % w.maintainer)
    if w.job_containers():
        found.append('job containers %s' % w.job_containers())
    if os.path.exists(w.secrets_dir):
        found.append('the secrets directory %s' % w.secrets_dir)
    found += ['the path %r' % p for p in existing(named_paths(inputs)) - paths_before]
    return found


def run_worker_playbook(entry, tmp_path, upstream_dir, image):
    w = Worker(tmp_path, upstream_dir, image)
    ctx = {'marker': str(tmp_path / 'pwned')}
    target = entry['target']
    extra = merged(WORKER_PLAYBOOK_BASE[target], entry['inputs'], ctx)
    paths_before = existing(named_paths(extra))
    try:
        proc = w.playbook(extra=extra, playbook=target, timeout=240)
        return proc, worker_leftovers(w, ctx['marker'], paths_before, extra)
    finally:
        w.cleanup()


@pytest.mark.parametrize('entry', params('worker-playbook'))
def test_worker_playbook_refuses(entry, tmp_path, upstream_dir, job_image):
    proc, leftovers = run_worker_playbook(entry, tmp_path, upstream_dir, job_image)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text[-3000:]
    assert_clear_failure(text, entry)
    assert leftovers == [], text[-3000:]


def test_worker_playbook_control_is_seen_creating(tmp_path, upstream_dir, job_image):
    """A valid offload.yml run through the same path: the checks see what it creates
    (PR 41 does not exist upstream, so it stops at the fetch, after the maintainer
    container and the data root were made)."""
    control = {'target': 'offload.yml', 'id': CONTROL, 'inputs': {'pr': 41}, 'message': 'offload-41-review'}
    proc, leftovers = run_worker_playbook(control, tmp_path, upstream_dir, job_image)
    text = proc.stdout + proc.stderr
    assert 'must be' not in text and 'Validation of arguments failed' not in text, text[-3000:]
    assert any('data root' in item for item in leftovers), (leftovers, text[-3000:])
    assert any('maintainer container' in item for item in leftovers), (leftovers, text[-3000:])


# ---------------------------------------------------------------------------
# Cloud playbooks: one ansible-playbook per entry against the emulator.

def cloud_env(emu, project):
    env = {k: v for k, v in os.environ.items() if not k.startswith(('CLOUDSDK_', 'GCP_', 'GOOGLE_', 'GCE_METADATA'))}
    env.update(CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=emu.compute_endpoint,
               CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD=emu.cloudbuild_endpoint,
               CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM=emu.iam_endpoint,
               CLOUDSDK_CORE_PROJECT=project, GCP_AUTH_KIND='accesstoken',
               CLOUDSDK_AUTH_ACCESS_TOKEN='corpus-token', ANSIBLE_LOCALHOST_WARNING='false',
               GCE_METADATA_HOST='127.0.0.1:9', GCE_METADATA_IP='127.0.0.1:9')
    return env


def cloud_playbook_base(target, tmp_path, token):
    ssh = tmp_path / 'ssh'
    if target == 'provision.yml':
        return {
            'offload_worker_name': 'corpus-w', 'offload_zone': ZONE, 'offload_project': token,
            'offload_maintainer_image': MAINTAINER_IMAGE, 'offload_maintainer_name': 'corpus-maint',
            'offload_ssh_access': 'direct', 'offload_ssh_host': '127.0.0.1', 'offload_ssh_port': free_port(),
            'offload_ssh_user': 'corpus', 'offload_ssh_key': str(ssh / 'key'),
            'offload_ssh_known_hosts': str(ssh / 'known_hosts'), 'offload_ssh_config': str(ssh / 'config'),
            'offload_worker_become': False, 'offload_wait_timeout': 1, 'offload_wait_interval': 1,
        }
    if target == 'teardown.yml':
        return {'offload_worker_name': 'corpus-w', 'offload_zone': ZONE, 'offload_project': token,
                'offload_ssh_config': str(ssh / 'config')}
    if target == 'image_pipeline.yml':
        return {'offload_project': token, 'offload_pipeline_github_owner': 'octo',
                'offload_pipeline_github_repo': 'repo'}
    if target == 'status.yml':
        # the jobs part (second play) goes to no host: only the VM is read
        return {'offload_project': token, 'offload_worker': 'corpus-no-such-host'}
    raise AssertionError(target)


def api_requests(emu, since):
    return [r for r in emu.requests(since=since) if not r['path'].startswith('/_emulator/')]


def run_cloud_playbook(entry, tmp_path, emu):
    token = 'bic-%s' % uuid.uuid4().hex[:8]
    ctx = {'marker': str(tmp_path / 'pwned')}
    target = entry['target']
    extra = merged(cloud_playbook_base(target, tmp_path, token), entry['inputs'], ctx)
    paths_before = existing(named_paths(extra))
    mark = emu.mark()
    proc = PlaybookRunner(tmp_path, env=cloud_env(emu, token))(target, extra, timeout=240)
    requests = api_requests(emu, mark)
    leftovers = []
    if os.path.lexists(ctx['marker']):
        leftovers.append('the marker file')
    if os.path.exists(tmp_path / 'ssh' / 'config'):
        leftovers.append('the SSH alias file')
    leftovers += ['the path %r' % p for p in existing(named_paths(extra)) - paths_before]
    return proc, requests, leftovers


@pytest.fixture
def corpus_emulator(gce_emulator):
    if not gce_emulator.alive():
        pytest.fail('the emulator process died; see %s' % gce_emulator.workdir)
    gce_emulator.configure(require_token=False, operation_delay=0.0, wait_timeout=60.0)
    return gce_emulator


@pytest.mark.parametrize('entry', params('cloud-playbook'))
def test_cloud_playbook_refuses(entry, tmp_path, corpus_emulator):
    proc, requests, leftovers = run_cloud_playbook(entry, tmp_path, corpus_emulator)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text[-3000:]
    assert_clear_failure(text, entry)
    assert requests == [], 'API requests before the input was refused: %s\n%s' % (requests, text[-3000:])
    assert leftovers == [], text[-3000:]


def test_cloud_playbook_control_is_seen_creating(tmp_path, corpus_emulator):
    """provision.yml with valid variables through the same path: the firewall and the
    instance are created (mutating requests) and the alias file written; only the
    final wait for SSH fails (nothing listens)."""
    control = {'target': 'provision.yml', 'id': CONTROL, 'inputs': {}, 'message': ''}
    proc, requests, leftovers = run_cloud_playbook(control, tmp_path, corpus_emulator)
    text = proc.stdout + proc.stderr
    assert [r for r in requests if r['method'] == 'POST'], text[-3000:]
    assert 'the SSH alias file' in leftovers, text[-3000:]


# ---------------------------------------------------------------------------
# Modules and action plugins: one playbook per target, one task per entry.

def worker_module_base(target, ctx):
    repo = 'file:///srv/corpus/upstream.git'
    return {
        'job_spec': {'pr': PR, 'data_root': ctx['data_root'], 'image': IMAGE, 'repo_url': repo},
        'maintainer_container': {'name': ctx['maintainer'], 'image': IMAGE, 'data_root': ctx['data_root']},
        'git_worktree': {'pr': PR, 'data_root': ctx['data_root'], 'repo_url': repo, 'maintainer': ctx['maintainer']},
        'job_container': {'pr': PR, 'data_root': ctx['data_root'], 'image': IMAGE, 'log_dest': ctx['log_dest']},
        'worker_secret': {'path': ctx['secret_dir'] + '/gh_token', 'content': 'github_pat_corpus_not_a_token'},
        'job_info': {'maintainer': ctx['maintainer']},
        'job_cleanup': {'scope': 'job', 'pr': PR, 'maintainer': ctx['maintainer']},
        'job_log': {'pr': PR, 'data_root': ctx['data_root'], 'log_dest': ctx['log_dest']},
        'attach_command': {'pr': PR, 'maintainer': ctx['maintainer']},
        'worker_ready': {'container': ctx['maintainer'], 'timeout': 1, 'interval': 1},
        'gemini_profile': {'src': ctx['log_dest'] + '-profile', 'maintainer': ctx['maintainer']},
        'job_deliver': {'pr': PR, 'action': 'fix', 'data_root': ctx['data_root'], 'maintainer': ctx['maintainer'],
                        'mode': 'none', 'log_dest': ctx['log_dest']},
    }[target]


def cloud_module_base(target, ctx, emu):
    auth = {'project': ctx['token'], 'auth_kind': 'accesstoken', 'access_token': 'corpus-token'}
    return {
        'cos_instance': dict(auth, name='corpus-w', zone=ZONE, state='present', api_endpoint=emu.compute_endpoint,
                             container={'image': MAINTAINER_IMAGE}, request_retries=0),
        'cos_instance_info': dict(auth, name='corpus-w', zone=ZONE, api_endpoint=emu.compute_endpoint,
                                  request_retries=0),
        'compute_firewall': dict(auth, name='corpus-fw', target_tags=['gcli-offload-ssh'],
                                 api_endpoint=emu.compute_endpoint, request_retries=0),
        'service_account': dict(auth, account_id='corpus-worker', roles=['roles/logging.logWriter'],
                                api_endpoint=emu.iam_endpoint, request_retries=0),
        'worker_orphans': dict(auth, zones=[ZONE], remove=True, grace=0, api_endpoint=emu.compute_endpoint,
                               request_retries=0),
        'default_ssh_rule': dict(auth, target_tags=['gcli-offload-ssh'], restrict=True,
                                 api_endpoint=emu.compute_endpoint, request_retries=0),
        'cloudbuild_trigger': dict(auth, name='corpus-t', github_owner='octo', github_repo='repo',
                                   filename='docker/maintainer-worker.yml', branch='^main$',
                                   api_endpoint=emu.cloudbuild_endpoint, request_retries=0),
        'image_tag_info': {'image': ctx['registry'] + '/maintainer', 'tag': 'latest', 'plain_http': True,
                           'registry_auth': 'anonymous', 'request_retries': 0},
        'worker_vm_spec': {'worker_name': 'corpus-w', 'project': ctx['token'], 'maintainer_image': MAINTAINER_IMAGE,
                           'ssh_user': 'corpus'},
        'pipeline_spec': {'project': ctx['token'], 'github_owner': 'octo', 'github_repo': 'repo'},
        'delivery_plan': {'pr': PR, 'upstream_url': 'https://github.com/octo/repo.git', 'api_url': NO_GITHUB,
                          'token': 'github_pat_corpus_not_a_token'},
        'issue_plan': {'issue': PR, 'upstream_url': 'https://github.com/octo/repo.git', 'api_url': NO_GITHUB,
                       'token': 'github_pat_corpus_not_a_token'},
        'pr_open': {'repo': 'octo/repo', 'head_repo': 'me/repo', 'branch': 'offload/issue-1', 'base': 'main',
                    'issue': PR, 'api_url': NO_GITHUB, 'token': 'github_pat_corpus_not_a_token'},
        'pr_comment': {'pr': PR, 'repo': 'octo/repo', 'api_url': NO_GITHUB, 'token': 'github_pat_corpus_not_a_token'},
    }[target]


def run_batch(target, base, contexts, entries, tmp_path, env, hosts):
    tasks = []
    for ctx, entry in zip(contexts, entries):
        tasks.append({'name': 'corpus %s' % entry['id'], 'gcli.offload.%s' % target: merged(base(ctx), entry['inputs'],
                                                                                            ctx),
                      'ignore_errors': True, 'ignore_unreachable': True})
    playbook = [{'name': 'corpus %s' % target, 'hosts': hosts, 'gather_facts': False, 'tasks': tasks}]
    path = tmp_path / ('corpus-%s.json' % target)
    path.write_text(json.dumps(playbook))  # JSON is YAML: big integers and NULs survive exactly
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), str(path)]
    full_env = dict(env, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
                    ANSIBLE_NOCOLOR='1')
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=full_env, timeout=600, check=False)
    try:
        data = json.loads(proc.stdout[proc.stdout.index('{'):])
        results = [t['hosts'] for play in data['plays'] for t in play['tasks']]
    except (ValueError, KeyError) as exc:
        raise AssertionError('no JSON results for %s (%s): %s %s' % (target, exc, proc.stdout[-3000:],
                                                                     proc.stderr[-3000:]))
    assert len(results) == len(entries), 'the batch of %s stopped early: %s' % (target, proc.stderr[-3000:])
    return [next(iter(r.values())) for r in results]


class Batches:
    """Runs each target's entries (and its control) once per test process, on first use."""

    def __init__(self, factory, emu):
        self.factory = factory
        self.emu = emu
        self.done = {}
        self.cleanups = []

    def get(self, target):
        if target not in self.done:
            self.done[target] = self._run(target)
        return self.done[target]

    def _run(self, target):
        tmp_path = self.factory.mktemp('corpus-' + target)
        os.chmod(tmp_path, 0o755)
        uid = uuid.uuid4().hex[:6]
        entries = [e for e in ENTRIES if e['target'] == target]
        entries.append({'target': target, 'id': CONTROL, 'inputs': {}, 'message': ''})
        contexts = []
        for i, _entry in enumerate(entries):
            token = 'bic-%03d-%s' % (i, uid)
            contexts.append({
                'token': token, 'marker': str(tmp_path / ('marker-%03d' % i)),
                'data_root': str(tmp_path / ('data-%03d' % i)), 'maintainer': 'bic-maint-%s-%03d' % (uid, i),
                'secret_dir': '/dev/shm/%s' % token, 'log_dest': str(tmp_path / ('logs-%03d' % i)),
                'registry': '%s:%d/%s' % (self.emu.host, self.emu.port, token),
            })
        self.cleanups.append(contexts)
        paths_before = [existing(named_paths(merged({}, e['inputs'], c))) for c, e in zip(contexts, entries)]
        if target in WORKER_MODULES:
            results = run_batch(target, lambda c: worker_module_base(target, c), contexts, entries, tmp_path,
                                dict(os.environ), 'local-worker')
            requests = []
        else:
            env = cloud_env(self.emu, 'bic-unused-project')
            mark = self.emu.mark()
            results = run_batch(target, lambda c: cloud_module_base(target, c, self.emu), contexts, entries, tmp_path,
                                env, 'localhost')
            requests = api_requests(self.emu, mark)
        out = {}
        # Reads of the public COS images come after an entry's own project requests: not charged.
        unattributed = [r for r in requests if not any(c['token'] in r['path'] for c in contexts)
                        and not (r['method'] == 'GET' and r['path'].startswith('/compute/v1/projects/cos-cloud/'))]
        for ctx, entry, result, before in zip(contexts, entries, results, paths_before):
            mine = [r for r in requests if ctx['token'] in r['path']] + unattributed
            out[entry['id']] = (result, mine, self._leftovers(ctx, entry, before))
        return out

    @staticmethod
    def _leftovers(ctx, entry, before):
        found = []
        for key in ('marker', 'data_root', 'secret_dir', 'log_dest'):
            if os.path.lexists(ctx[key]):
                found.append('%s %s' % (key, ctx[key]))
        if container_state(ctx['maintainer']) is not None:
            found.append('container %s' % ctx['maintainer'])
        mounts = docker('ps', '-aq', '--filter', 'label=gcli.offload.managed=true').stdout.split()
        if mounts:
            out = docker('container', 'inspect', '--format', '{{.Name}}{{range .Mounts}} {{.Source}}{{end}}',
                         *mounts, check=False).stdout
            for line in out.splitlines():
                fields = line.split()
                if any(src.startswith(ctx['data_root'] + '/') for src in fields[1:]):
                    found.append('job container %s' % fields[0])
        found += ['the path %r' % p for p in existing(named_paths(merged({}, entry['inputs'], ctx))) - before]
        return found

    def cleanup(self):
        for contexts in self.cleanups:
            for ctx in contexts:
                docker('rm', '-f', ctx['maintainer'], check=False)
                for key in ('data_root', 'secret_dir', 'log_dest'):
                    shutil.rmtree(ctx[key], ignore_errors=True)
        docker('rm', '-f', 'offload-%d-review' % PR, check=False)


@pytest.fixture(scope='session')
def batches(tmp_path_factory, gce_emulator, job_image):
    b = Batches(tmp_path_factory, gce_emulator)
    yield b
    b.cleanup()


@pytest.mark.parametrize('entry', params('worker-module') + params('cloud-module'))
def test_module_refuses(entry, batches):
    result, requests, leftovers = batches.get(entry['target'])[entry['id']]
    assert result.get('failed') or result.get('unreachable'), result
    text = json.dumps(result, ensure_ascii=False)
    assert_clear_failure(str(result.get('msg', '')), entry)
    assert 'Traceback' not in text, text[-3000:]
    assert requests == [], 'API requests before the input was refused: %s' % requests
    assert leftovers == [], leftovers


@pytest.mark.parametrize('target', [pytest.param(t, marks=pytest.mark.xdist_group(t))
                                    for t in WORKER_MODULES + CLOUD_MODULES + GITHUB_MODULES])
def test_module_control_passes_validation(target, batches):
    """The target's valid base options through the same batch: validation passes, and
    the targets that create things are seen creating them (the checks can fail)."""
    result, requests, leftovers = batches.get(target)[CONTROL]
    msg = str(result.get('msg', ''))
    for refusal in ('must be', 'Validation of arguments failed', 'Unsupported parameters', 'is not a valid',
                    'mutually exclusive', 'is required'):
        assert refusal not in msg, result
    if target in CREATES:
        assert requests or leftovers, result
