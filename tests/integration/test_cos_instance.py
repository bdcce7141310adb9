"""cos_instance through real ansible-playbook runs against the Compute Engine emulator.

Every mutating request the module sends shows in the emulator's request log, so
"converged" and "check mode" are proven by the absence of mutating calls, not
by the module's own word.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = 'emu-project'
ZONE = 'us-central1-a'
IMAGE = 'us-docker.pkg.dev/emu-project/offload/maintainer:latest'
FAST_RETRIES = {'retry_initial_delay': 0.05, 'retry_max_delay': 0.2}


class Run:
    def __init__(self, proc):
        self.proc = proc
        self.rc = proc.returncode
        try:
            self.data = json.loads(proc.stdout[proc.stdout.index('{'):])
        except ValueError:
            self.data = None

    @property
    def results(self):
        """Each task's result for localhost, in order."""
        if not self.data:
            raise AssertionError('no JSON output; rc=%s stdout=%s stderr=%s'
                                 % (self.rc, self.proc.stdout[-3000:], self.proc.stderr[-3000:]))
        return [t['hosts']['localhost'] for play in self.data['plays'] for t in play['tasks']]

    @property
    def result(self):
        return self.results[-1]


def play(tmp_path, tasks, env, check=False, diff=False, module_defaults=None):
    """Run `tasks` (cos_instance args, or whole task dicts) in one playbook; JSON results."""
    body = []
    for task in tasks:
        if 'gcli.offload.cos_instance' not in task and 'name' in task and 'zone' in task:
            task = {'gcli.offload.cos_instance': task}
        body.append(dict(task, ignore_errors=True))
    playbook = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': body,
                 'module_defaults': {'group/gcli.offload.gcp': module_defaults or {}}}]
    path = tmp_path / ('play-%d.yml' % len(list(tmp_path.glob('play-*.yml'))))
    path.write_text(yaml.safe_dump(playbook, sort_keys=False))
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % sys.executable, str(path)]
    if check:
        argv.append('--check')
    if diff:
        argv.append('--diff')
    full_env = dict(env, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
                    ANSIBLE_NOCOLOR='1')
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=full_env, timeout=600, check=False)
    return Run(proc)


def base_env(emulator, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('CLOUDSDK_', 'GCP_', 'GOOGLE_', 'GCE_METADATA'))}
    env.update(CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=emulator.compute_endpoint, CLOUDSDK_CORE_PROJECT=PROJECT,
               GCP_AUTH_KIND='accesstoken', CLOUDSDK_AUTH_ACCESS_TOKEN='unused-token')
    env.update(extra)
    return env


def worker(name='w1', **kw):
    args = {'name': name, 'zone': ZONE, 'container': {'image': IMAGE}, 'labels': {'type': 'offload-worker'},
            'tags': ['offload-ssh']}
    args.update(FAST_RETRIES)
    args.update(kw)
    return args


def get_instance(emulator, name='w1'):
    url = '%sprojects/%s/zones/%s/instances/%s' % (emulator.compute_endpoint, PROJECT, ZONE, name)
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def mutations(emulator, since):
    return [(e['method'], e['path'].rsplit('/', 1)[-1]) for e in emulator.mutating_requests(since=since)]


def metadata_of(instance):
    return dict((i['key'], i['value']) for i in instance['metadata'].get('items', []))


@pytest.fixture
def env(emulator):
    return base_env(emulator)


def test_create_then_converged_rerun_makes_no_mutating_call(emulator, env, tmp_path):
    run = play(tmp_path, [worker()], env)
    created = run.result
    assert created.get('failed') is not True, created
    assert created['changed'] is True and created['actions'] == ['insert']
    view = created['instance']
    assert view['status'] == 'RUNNING' and view['name'] == 'w1' and view['id']
    assert view['internal_ip'] and view['external_ip'] and view['self_link'].endswith('/instances/w1')
    assert view['cos_image'].startswith('cos-stable-') and view['image_digest'] is None

    inst = get_instance(emulator)
    meta = metadata_of(inst)
    assert meta['enable-oslogin'] == 'TRUE' and meta['google-logging-enabled'] == 'true'
    cloud = yaml.safe_load(meta['user-data'])
    assert meta['user-data'].startswith('#cloud-config\n')
    assert cloud['write_files'][0]['path'] == '/etc/systemd/system/gcli-offload-maintainer-worker.service'
    assert 'gce-container-declaration' not in meta
    data = [d for d in inst['disks'] if not d.get('boot')]
    assert data[0]['deviceName'] == 'offload' and data[0]['autoDelete'] is False
    assert inst['scheduling']['provisioningModel'] == 'STANDARD' and inst['labels'] == {'type': 'offload-worker'}
    # the newest non-deprecated cos-stable image, as gcloud picks it
    with urllib.request.urlopen(emulator.compute_endpoint + 'projects/cos-cloud/global/images', timeout=30) as resp:
        images = json.loads(resp.read())['items']
    stable = [i for i in images if i.get('family') == 'cos-stable'
              and i.get('deprecated', {}).get('state', 'ACTIVE') == 'ACTIVE']
    assert len(stable) > 1
    assert view['cos_image'] == max(stable, key=lambda i: i['creationTimestamp'])['name']

    mark = emulator.mark()
    rerun = play(tmp_path, [worker()], env)
    assert rerun.result['changed'] is False and rerun.result['actions'] == []
    assert mutations(emulator, mark) == []
    assert rerun.result['instance']['id'] == view['id']


def test_check_mode_predicts_without_mutating(emulator, env, tmp_path):
    mark = emulator.mark()
    run = play(tmp_path, [worker()], env, check=True, diff=True)
    assert run.result['changed'] is True and run.result['actions'] == ['insert']
    assert run.result['diff']['after']['state'] == 'RUNNING'
    assert run.result['diff']['after']['cos_image'].startswith('cos-stable-')
    assert mutations(emulator, mark) == [] and get_instance(emulator) is None

    play(tmp_path, [worker()], env)
    mark = emulator.mark()
    drift = play(tmp_path, [worker(labels={'type': 'offload-worker', 'team': 'x'}, machine_type='n2-standard-8')],
                 env, check=True)
    assert drift.result['changed'] is True
    assert drift.result['actions'] == ['setLabels', 'stop', 'setMachineType', 'start']
    assert mutations(emulator, mark) == []
    assert get_instance(emulator)['machineType'].endswith('/e2-standard-4')


def test_every_drift_path_is_corrected_then_converged(emulator, env, tmp_path):
    assert play(tmp_path, [worker()], env).result['changed'] is True
    sa = 'robot@%s.iam.gserviceaccount.com' % PROJECT
    steps = [
        worker(labels={'type': 'offload-worker', 'team': 'blue'}),
        worker(labels={'type': 'offload-worker', 'team': 'blue'}, tags=['offload-ssh', 'web']),
        worker(labels={'type': 'offload-worker', 'team': 'blue'}, tags=['offload-ssh', 'web'],
               metadata={'owner': 'me'}),
        worker(labels={'type': 'offload-worker', 'team': 'blue'}, tags=['offload-ssh', 'web'],
               metadata={'owner': 'me'}, machine_type='n2-standard-8'),
        worker(labels={'type': 'offload-worker', 'team': 'blue'}, tags=['offload-ssh', 'web'],
               metadata={'owner': 'me'}, machine_type='n2-standard-8', worker_service_account=sa,
               service_account_scopes=['compute-ro']),
        worker(labels={'type': 'offload-worker', 'team': 'blue'}, tags=['offload-ssh', 'web'],
               metadata={'owner': 'me'}, machine_type='n2-standard-8', worker_service_account=sa,
               service_account_scopes=['compute-ro'], provisioning_model='SPOT'),
        worker(labels={'type': 'offload-worker', 'team': 'blue'}, tags=['offload-ssh', 'web'],
               metadata={'owner': 'me'}, machine_type='n2-standard-8', worker_service_account=sa,
               service_account_scopes=['compute-ro'], provisioning_model='SPOT',
               container={'image': IMAGE.replace(':latest', ':v2')}),
        worker(labels={'type': 'offload-worker', 'team': 'blue'}, tags=['offload-ssh', 'web'],
               metadata={'owner': 'me'}, machine_type='n2-standard-8', worker_service_account=sa,
               service_account_scopes=['compute-ro'], provisioning_model='SPOT',
               container={'image': IMAGE.replace(':latest', ':v2')}, deletion_protection=True),
    ]
    mark = emulator.mark()
    results = play(tmp_path, steps + [steps[-1]], env).results
    for result in results:
        assert result.get('failed') is not True, result
    assert [r['actions'] for r in results] == [
        ['setLabels'],
        ['setTags'],
        ['setMetadata'],
        ['stop', 'setMachineType', 'start'],
        ['stop', 'setServiceAccount', 'start'],
        ['stop', 'setScheduling', 'start'],
        ['setMetadata', 'stop', 'start'],
        ['setDeletionProtection'],
        [],
    ]
    assert [r['restarted'] for r in results] == [False, False, False, True, True, True, True, False, False]
    assert any('restarted' in w for w in results[3].get('warnings', []))
    assert results[-1]['changed'] is False
    # the log holds exactly those calls, with fingerprints accepted (no 412)
    assert [call[1] for call in mutations(emulator, mark)] == [
        'setLabels', 'setTags', 'setMetadata', 'stop', 'setMachineType', 'start', 'stop', 'setServiceAccount',
        'start', 'stop', 'setScheduling', 'start', 'setMetadata', 'stop', 'start', 'setDeletionProtection']
    inst = get_instance(emulator)
    assert inst['labels'] == {'type': 'offload-worker', 'team': 'blue'}
    assert sorted(inst['tags']['items']) == ['offload-ssh', 'web']
    assert inst['machineType'].endswith('/n2-standard-8') and inst['status'] == 'RUNNING'
    assert inst['serviceAccounts'] == [{'email': sa, 'scopes': ['https://www.googleapis.com/auth/compute.readonly']}]
    assert inst['scheduling']['provisioningModel'] == 'SPOT' and inst['deletionProtection'] is True
    meta = metadata_of(inst)
    assert meta['owner'] == 'me' and ':v2' in meta['user-data']
    # deletion protection blocks delete with a readable error; lifting it lets absent work
    absent = play(tmp_path, [{'name': 'w1', 'zone': ZONE, 'state': 'absent'}], env).result
    assert absent['failed'] is True and 'cannot delete instance w1' in absent['msg']
    assert '{' not in absent['msg']


def test_scopes_alias_converges(emulator, env, tmp_path):
    args = worker(service_account_scopes=['compute-ro'])
    first = play(tmp_path, [args], env).result
    assert first['changed'] is True, first
    mark = emulator.mark()
    assert play(tmp_path, [args], env).result['changed'] is False
    assert mutations(emulator, mark) == []


AUTH_ACCOUNT = 'auth-robot@%s.iam.gserviceaccount.com' % PROJECT
VM_ACCOUNT = 'vm-robot@%s.iam.gserviceaccount.com' % PROJECT


def machineaccount_env(emulator, **extra):
    """auth_kind=machineaccount with google-auth's metadata server redirected to the emulator's stand-in."""
    emulator.set_metadata_server(email=AUTH_ACCOUNT)
    env = emulator.metadata_env(base_env(emulator, GCP_AUTH_KIND='machineaccount'))
    env.pop('CLOUDSDK_AUTH_ACCESS_TOKEN')
    env.update(extra)
    return env


def accounts_asked(emulator, since):
    """The service accounts the metadata server was asked about (google-auth reads the account's info, then
    takes the token through its `default` alias)."""
    prefix = '/computeMetadata/v1/instance/service-accounts/'
    return {e['path'][len(prefix):].split('/', 1)[0] for e in emulator.requests(since)
            if e['path'].startswith(prefix) and not e['path'].endswith('/token')}


@pytest.mark.parametrize('how', ['option', 'environment'])
def test_machineaccount_asks_for_its_account_and_the_vm_gets_its_own(emulator, tmp_path, how):
    """service_account_email (option or GCP_SERVICE_ACCOUNT_EMAIL) is the account the metadata server is asked
    a token for; worker_service_account is the VM's, and neither takes the other's place."""
    if how == 'option':
        env, args = machineaccount_env(emulator), worker(service_account_email=AUTH_ACCOUNT)
    else:
        env, args = machineaccount_env(emulator, GCP_SERVICE_ACCOUNT_EMAIL=AUTH_ACCOUNT), worker()
    mark = emulator.mark()
    run = play(tmp_path, [dict(args, worker_service_account=VM_ACCOUNT)], env).result
    assert run['changed'] is True, run
    assert accounts_asked(emulator, mark) == {AUTH_ACCOUNT}
    assert get_instance(emulator)['serviceAccounts'][0]['email'] == VM_ACCOUNT


def test_the_auth_option_is_not_taken_for_the_vms_account(emulator, env, tmp_path):
    """service_account_email with another auth_kind can only be the VM's account (its old name): refused, rather
    than the VM silently getting the default account."""
    mark = emulator.mark()
    run = play(tmp_path, [worker(service_account_email=VM_ACCOUNT)], env).result
    assert run['failed'] is True
    assert run['msg'] == ("cos_instance: service_account_email: is the metadata server's account for "
                          "auth_kind=machineaccount, and auth_kind is 'accesstoken': set the VM's service account "
                          "with worker_service_account")
    assert emulator.requests(mark) == []


def test_disk_and_image_differences_are_warned_never_changed(emulator, env, tmp_path):
    """Boot image, boot disk and data disk differ from the options on an existing instance: one warning each,
    no change, no mutating call."""
    made = play(tmp_path, [worker(cos_image='cos-stable-121-18867-90-62')], env).result
    assert made['changed'] is True, made
    mark = emulator.mark()
    drift = play(tmp_path, [worker(cos_image='cos-stable-125-19216-0-94', boot_disk_size_gb=20, boot_disk_type='pd-ssd',
                                   data_disk={'size_gb': 500, 'type': 'pd-ssd'})], env).result
    assert drift['changed'] is False and drift['actions'] == [], drift
    assert sorted(drift['warnings']) == sorted([
        'instance w1 boots from image cos-stable-121-18867-90-62, not cos-stable-125-19216-0-94 (cos_image): the boot '
        'image is chosen at creation; re-create the instance (the data disk is kept) to change it',
        'instance w1 has a boot disk of size 10 GB, not 20 (boot_disk_size_gb); type pd-balanced, not pd-ssd '
        '(boot_disk_type): the boot disk is made at creation; re-create the instance (the data disk is kept) to '
        'change it',
        'the data disk w1-data of instance w1 has size 200 GB, not 500 (data_disk.size_gb); type pd-balanced, not '
        'pd-ssd (data_disk.type): those options apply to a new disk only; resize it (gcloud compute disks resize) or '
        'move the data to a new disk to change it'])
    assert mutations(emulator, mark) == []
    # as asked: no warning
    again = play(tmp_path, [worker(cos_image='cos-stable-121-18867-90-62')], env).result
    assert again['changed'] is False and not again.get('warnings'), again


def test_diff_shows_exactly_what_changes(emulator, env, tmp_path):
    play(tmp_path, [worker()], env)
    run = play(tmp_path, [worker(labels={'type': 'offload-worker', 'team': 'x'}, metadata={'owner': 'me'})], env,
               diff=True)
    diff = run.result['diff']
    assert diff['before'] == {'labels': {'type': 'offload-worker'}, 'metadata': {}}
    assert diff['after'] == {'labels': {'type': 'offload-worker', 'team': 'x'}, 'metadata': {'owner': 'me'}}
    assert diff['before_header'] == 'instance w1 in %s of project %s' % (ZONE, PROJECT)


def test_states_stopped_started_absent(emulator, env, tmp_path):
    results = play(tmp_path, [
        worker(state='stopped'),
        worker(state='stopped'),
        worker(state='present'),
        worker(state='started'),
        worker(state='started'),
        worker(state='absent', delete_data_disk=True),
        worker(state='absent', delete_data_disk=True),
    ], env).results
    assert [r['actions'] for r in results] == [['insert', 'stop'], [], [], ['start'], [], ['delete'], []]
    assert results[0]['instance']['status'] == 'TERMINATED' and results[3]['instance']['status'] == 'RUNNING'
    assert results[5]['changed'] is True and results[5]['data_disk_deleted'] is True
    assert results[6]['changed'] is False and results[6]['data_disk_deleted'] is False
    assert get_instance(emulator) is None


def test_absent_keeps_the_data_disk_and_recreation_reattaches_it(emulator, env, tmp_path):
    results = play(tmp_path, [worker(), worker(state='absent'), worker()], env).results
    assert [r['actions'] for r in results] == [['insert'], ['delete'], ['insert']]
    assert results[1]['data_disk_deleted'] is False
    inserts = [e for e in emulator.requests() if e['method'] == 'POST' and e['path'].endswith('/instances')]
    assert len(inserts) == 2
    data = [d for d in get_instance(emulator)['disks'] if not d.get('boot')][0]
    assert data['source'].endswith('/disks/w1-data')


def test_legacy_container_declaration(emulator, env, tmp_path):
    args = worker(container_declaration='legacy', container={
        'image': IMAGE, 'name': 'app', 'env': {'A': '1'}, 'privileged': True, 'tty': True,
        'mounts': [{'mount_path': '/cache', 'tmpfs': True}], 'restart_policy': 'OnFailure'})
    assert play(tmp_path, [args], env).result['changed'] is True
    decl = yaml.safe_load(metadata_of(get_instance(emulator))['gce-container-declaration'])
    ctr = decl['spec']['containers'][0]
    assert ctr['name'] == 'app' and ctr['image'] == IMAGE and ctr['env'] == [{'name': 'A', 'value': '1'}]
    assert decl['spec']['restartPolicy'] == 'OnFailure'
    # back to cloud-init only: the declaration is removed
    run = play(tmp_path, [dict(args, container_declaration='cloud-init')], env, diff=True)
    assert 'gce-container-declaration' not in metadata_of(get_instance(emulator))
    assert list(run.result['diff']['before']['metadata']) == ['gce-container-declaration']


def test_digest_pinned_image_is_returned(emulator, env, tmp_path):
    digest = 'sha256:' + 'ab' * 32
    run = play(tmp_path, [worker(container={'image': IMAGE.split(':latest', maxsplit=1)[0] + '@' + digest})], env)
    assert run.result['instance']['image_digest'] == digest


# ---- faults ---------------------------------------------------------------------------------

def test_429_storm_is_retried(emulator, env, tmp_path):
    emulator.inject(status=429, path='/instances$', method='POST', times=4, reason='rateLimitExceeded')
    run = play(tmp_path, [worker()], env)
    assert run.result['changed'] is True and run.result['instance']['status'] == 'RUNNING'
    posts = [e for e in emulator.requests() if e['method'] == 'POST' and e['path'].endswith('/instances')]
    assert [e['status'] for e in posts] == [429, 429, 429, 429, 200]


def test_429_beyond_retries_fails_readably(emulator, env, tmp_path):
    emulator.inject(status=429, path='/instances$', method='POST', times=10, message='Quota exceeded for quota metric')
    run = play(tmp_path, [worker(request_retries=2)], env)
    msg = run.result['msg']
    assert run.result['failed'] is True
    assert msg.startswith('cos_instance: cannot create instance w1 in %s of project %s: ' % (ZONE, PROJECT))
    # what failed, on which resource, Google's cause and status, what to do, how often it was tried
    assert msg == ('cos_instance: cannot create instance w1 in %s of project %s: Quota exceeded for quota metric '
                   '(HTTP 429 RESOURCE_EXHAUSTED); the project is over a rate or resource quota; raise '
                   'request_retries or the quota, or retry later (after 3 attempts)' % (ZONE, PROJECT))
    posts = [e for e in emulator.requests() if e['method'] == 'POST' and e['path'].endswith('/instances')]
    assert [e['status'] for e in posts] == [429, 429, 429]


def test_503_on_reads_is_retried(emulator, env, tmp_path):
    emulator.inject(status=503, path='/instances/w1$', method='GET', times=2)
    run = play(tmp_path, [worker()], env)
    assert run.result['changed'] is True, run.result
    gets = [e['status'] for e in emulator.requests() if e['method'] == 'GET' and e['path'].endswith('/instances/w1')]
    assert gets[:3] == [503, 503, 404]


def test_operation_error_fails_with_googles_error(emulator, env, tmp_path):
    emulator.inject(operation_error={'code': 'ZONE_RESOURCE_POOL_EXHAUSTED',
                                     'message': 'The zone does not have enough resources available.'},
                    path='/instances$', method='POST')
    run = play(tmp_path, [worker()], env)
    assert run.result['failed'] is True
    assert run.result['msg'].startswith('cos_instance: cannot create instance w1 in %s of project %s: The zone does '
                                        'not have enough resources available.' % (ZONE, PROJECT))
    assert 'ZONE_RESOURCE_POOL_EXHAUSTED' in run.result['msg']


def test_slow_operation_past_timeout_fails_clearly(emulator, env, tmp_path):
    play(tmp_path, [worker()], env)
    emulator.inject(operation_delay=60, path='/stop$', method='POST')
    run = play(tmp_path, [worker(state='stopped', timeout=2)], env)
    assert run.result['failed'] is True
    assert 'cannot stop instance w1' in run.result['msg']
    assert 'did not finish within timeout=2s' in run.result['msg']
    waits = [e for e in emulator.requests() if e['path'].endswith('/wait')]
    assert waits and all(e['ms'] < 5000 for e in waits)


def test_api_errors_are_readable(emulator, env, tmp_path):
    run = play(tmp_path, [worker(machine_type='no-such-type')], env)
    assert run.result['failed'] is True
    msg = run.result['msg']
    assert msg.startswith('cos_instance: cannot create instance w1') and '(HTTP 4' in msg and '{' not in msg


def test_invalid_options_are_refused_before_any_request(emulator, env, tmp_path):
    mark = emulator.mark()
    run = play(tmp_path, [worker(name='Bad_Name')], env)
    assert run.result['failed'] is True and 'name: must be a Compute Engine name' in run.result['msg']
    assert emulator.requests(since=mark) == []


# ---- auth ------------------------------------------------------------------------------------

def test_auth_accesstoken_and_refused_token(emulator, tmp_path):
    emulator.configure(require_token=True)
    bad = play(tmp_path, [worker()], base_env(emulator, CLOUDSDK_AUTH_ACCESS_TOKEN='not-issued')).result
    assert bad['failed'] is True and '(HTTP 401' in bad['msg'] and 'not-issued' not in bad['msg']
    token = emulator.issue_token()
    good = play(tmp_path, [worker()], base_env(emulator, CLOUDSDK_AUTH_ACCESS_TOKEN=token)).result
    assert good['changed'] is True, good


def test_auth_serviceaccount_file_with_token_uri(emulator, tmp_path):
    emulator.configure(require_token=True)
    key = tmp_path / 'key.json'
    key.write_text(json.dumps(emulator.service_account_info()))
    env = base_env(emulator, GCP_AUTH_KIND='serviceaccount', GCP_SERVICE_ACCOUNT_FILE=str(key))
    del env['CLOUDSDK_CORE_PROJECT']  # the project comes from the key
    run = play(tmp_path, [worker()], env).result
    # require_token accepts only tokens the emulator issued: success proves the key's token_uri was used
    # (a self-signed JWT would be refused).
    assert run['changed'] is True, run
    assert run['instance']['self_link'].startswith(emulator.url)


def test_auth_serviceaccount_contents_via_module_defaults(emulator, tmp_path):
    emulator.configure(require_token=True)
    env = base_env(emulator)
    for key in ('GCP_AUTH_KIND', 'CLOUDSDK_AUTH_ACCESS_TOKEN', 'CLOUDSDK_CORE_PROJECT'):
        env.pop(key)
    defaults = {'auth_kind': 'serviceaccount', 'service_account_contents': emulator.service_account_info(),
                'project': PROJECT}
    run = play(tmp_path, [worker()], env, module_defaults=defaults)
    assert run.result['changed'] is True, run.result
    assert 'PRIVATE KEY' not in run.proc.stdout


def test_auth_application_default_credentials(emulator, tmp_path):
    emulator.configure(require_token=True)
    key = tmp_path / 'adc.json'
    key.write_text(json.dumps(emulator.service_account_info()))
    env = base_env(emulator, GCP_AUTH_KIND='application', GOOGLE_APPLICATION_CREDENTIALS=str(key))
    run = play(tmp_path, [worker()], env).result
    assert run['changed'] is True, run


def test_auth_machineaccount_via_metadata_server(emulator, tmp_path):
    emulator.configure(require_token=True)
    env = base_env(emulator, GCP_AUTH_KIND='machineaccount')
    env = emulator.metadata_env(base=env)
    run = play(tmp_path, [worker()], env).result
    assert run['changed'] is True, run


# ---- a real project ---------------------------------------------------------------------------

REAL_PROJECT = os.environ.get('OFFLOAD_TEST_GCP_PROJECT')


@pytest.mark.skipif(not REAL_PROJECT, reason='set OFFLOAD_TEST_GCP_PROJECT (and credentials: GCP_AUTH_KIND and its '
                                             'variables, or application default credentials) to run against a real '
                                             'project; OFFLOAD_TEST_GCP_ZONE picks the zone (default us-central1-a)')
def test_real_project_create_converge_delete(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != 'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE'}
    zone = os.environ.get('OFFLOAD_TEST_GCP_ZONE', 'us-central1-a')
    name = 'gce-offload-test-%d' % (os.getpid() % 100000)
    args = {'name': name, 'zone': zone, 'project': REAL_PROJECT, 'machine_type': 'e2-small',
            'container': {'image': 'docker.io/library/busybox:latest'}, 'labels': {'purpose': 'gcli-offload-test'},
            'data_disk': {'size_gb': 10}}
    try:
        results = play(tmp_path, [args, args, dict(args, labels={'purpose': 'gcli-offload-test', 'x': 'y'})],
                       env).results
        assert results[0]['changed'] is True, results[0]
        assert results[1]['changed'] is False, results[1]
        assert results[2]['actions'] == ['setLabels'], results[2]
    finally:
        play(tmp_path, [dict(args, state='absent', delete_data_disk=True)], env)


def test_stale_fingerprint_is_read_again_once(emulator, env, tmp_path):
    play(tmp_path, [worker()], env)
    emulator.inject(status=412, path='/setLabels$', method='POST', reason='conditionNotMet',
                    message='Supplied fingerprint does not match current fingerprint.')
    run = play(tmp_path, [worker(labels={'type': 'offload-worker', 'team': 'x'})], env).result
    assert run.get('failed') is not True, run
    assert run['actions'] == ['setLabels']
    posts = [e['status'] for e in emulator.requests() if e['path'].endswith('/setLabels')]
    assert posts == [412, 200]
    assert get_instance(emulator)['labels']['team'] == 'x'


def test_permission_denied_message_format(emulator, env, tmp_path):
    emulator.inject(status=403, path='/instances$', method='POST', reason='forbidden',
                    message="Required 'compute.instances.create' permission for 'projects/%s'" % PROJECT)
    msg = play(tmp_path, [worker()], env).result['msg']
    assert msg == ("cos_instance: cannot create instance w1 in %s of project %s: Required 'compute.instances.create' "
                   "permission for 'projects/%s' (HTTP 403 PERMISSION_DENIED); grant the credentials the needed role "
                   "on the project (e.g. roles/compute.instanceAdmin.v1) or enable the Compute Engine API"
                   % (ZONE, PROJECT, PROJECT))


def test_rerun_after_a_timed_out_stop_waits_for_a_stable_state(emulator, env, tmp_path):
    play(tmp_path, [worker()], env)
    emulator.inject(operation_delay=12, path='/stop$', method='POST')
    mark = emulator.mark()
    results = play(tmp_path, [worker(state='stopped', timeout=1), worker(state='started', timeout=60)], env).results
    assert results[0]['failed'] is True and 'did not finish within timeout=1s' in results[0]['msg']
    # the instance was STOPPING: the module waited for TERMINATED, then started it (no resourceNotReady)
    assert results[1].get('failed') is not True, results[1]
    assert results[1]['actions'] == ['start'] and results[1]['instance']['status'] == 'RUNNING'
    starts = [e['status'] for e in emulator.requests() if e['path'].endswith('/start')]
    assert starts == [200]
    log = emulator.requests(since=mark)
    stop_at = [i for i, e in enumerate(log) if e['path'].endswith('/stop')][0]
    reads = [e for e in log[stop_at:] if e['method'] == 'GET' and e['path'].endswith('/instances/w1')]
    assert len(reads) >= 3  # polled while STOPPING, then read for the plan and the result
