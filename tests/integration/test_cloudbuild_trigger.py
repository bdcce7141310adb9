"""cloudbuild_trigger and image_pipeline.yml against the emulator's Cloud Build triggers API,
through real ansible-playbook runs: create, converge (no mutating request), drift, check
mode with diff, absent, and readable errors."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = 'emu-project'
PIPELINE_VARS = {'offload_pipeline_github_owner': 'gcli-org', 'offload_pipeline_github_repo': 'gcli-repo'}
TRIGGERS = '/v1/projects/%s/triggers' % PROJECT


def env_for(emulator, token='emu-unchecked-token'):
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_LOCALHOST_WARNING='false',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
               CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD=emulator.cloudbuild_endpoint,
               CLOUDSDK_CORE_PROJECT=PROJECT, GCP_AUTH_KIND='accesstoken', CLOUDSDK_AUTH_ACCESS_TOKEN=token)
    for key in ('GOOGLE_APPLICATION_CREDENTIALS', 'GCP_SERVICE_ACCOUNT_FILE'):
        env.pop(key, None)
    return env


def pipeline(emulator, tmp_path, *args, extra=None, token='emu-unchecked-token', json_out=True):
    """Run image_pipeline.yml (the wrapper at the repository root); returns (proc, parsed json or None)."""
    varsfile = tmp_path / ('vars-%s.json' % uuid.uuid4().hex[:6])
    varsfile.write_text(json.dumps(dict(PIPELINE_VARS, **(extra or {}))))
    env = env_for(emulator, token)
    if json_out:
        env['ANSIBLE_STDOUT_CALLBACK'] = 'ansible.posix.json'
    proc = subprocess.run(['ansible-playbook', 'image_pipeline.yml', '-e', '@%s' % varsfile] + list(args),
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=300, check=False)
    data = json.loads(proc.stdout) if json_out and proc.stdout.strip().startswith('{') else None
    return proc, data


def stats(data):
    return data['stats']['localhost']


def changed_items(data):
    return sum(1 for r in loop_results(data) if r['changed'])


def loop_results(data, name='Ensure the build triggers'):
    for play in data['plays']:
        for task in play['tasks']:
            if task['task']['name'] == name:
                return task['hosts']['localhost']['results']
    raise AssertionError('task %r not in the output' % name)


def triggers(emulator):
    return {t['name']: t for t in emulator.call('GET', TRIGGERS).get('triggers', [])}


def test_pipeline_create_converge_drift_absent(emulator, tmp_path):
    # create
    proc, data = pipeline(emulator, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert changed_items(data) == 2
    assert [r['operation'] for r in loop_results(data)] == ['create', 'create']
    found = triggers(emulator)
    assert set(found) == {'maintainer-image-main', 'maintainer-image-pr'}
    main, pr = found['maintainer-image-main'], found['maintainer-image-pr']
    assert main['github'] == {'owner': 'gcli-org', 'name': 'gcli-repo', 'push': {'branch': '^main$'}}
    assert pr['github'] == {'owner': 'gcli-org', 'name': 'gcli-repo',
                            'pullRequest': {'branch': '^main$', 'commentControl': 'COMMENTS_ENABLED'}}
    for trig in (main, pr):
        assert trig['filename'] == 'docker/maintainer-worker.yml'
        assert trig['substitutions'] == {'_LOCATION': 'us', '_REPO': 'offload'}
    assert len(emulator.mutating_requests()) == 2

    # converge: nothing to do, no mutating request
    mark = emulator.mark()
    proc, data = pipeline(emulator, tmp_path)
    assert proc.returncode == 0 and stats(data)['changed'] == 0 and changed_items(data) == 0, proc.stdout[-3000:]
    assert emulator.mutating_requests(since=mark) == []
    assert triggers(emulator) == found

    # drift: someone turns comment control off and points the PR trigger elsewhere in the console
    drifted = dict(pr, filename='other.yml', description='edited by hand')
    drifted['github'] = dict(pr['github'], pullRequest={'branch': '^main$', 'commentControl': 'COMMENTS_DISABLED'})
    emulator.call('PATCH', '%s/%s' % (TRIGGERS, pr['id']), drifted)
    mark = emulator.mark()
    proc, data = pipeline(emulator, tmp_path)
    assert proc.returncode == 0 and changed_items(data) == 1, proc.stdout[-3000:]
    results = {r['item']['name']: r for r in loop_results(data)}
    assert results['maintainer-image-pr']['operation'] == 'update'
    assert set(results['maintainer-image-pr']['changed_fields']) == {'description', 'github', 'filename'}
    assert results['maintainer-image-main']['changed'] is False
    sent = emulator.mutating_requests(since=mark)
    assert [(e['method'], e['path']) for e in sent] == [('PATCH', '%s/%s' % (TRIGGERS, pr['id']))]
    fixed = triggers(emulator)['maintainer-image-pr']
    assert fixed['id'] == pr['id'] and fixed['github'] == pr['github'] and fixed['filename'] == pr['filename']
    assert fixed['description'] == pr['description']

    # a service account given with -e: one PATCH each
    sa = 'projects/%s/serviceAccounts/builder@%s.iam.gserviceaccount.com' % (PROJECT, PROJECT)
    proc, data = pipeline(emulator, tmp_path, extra={'offload_pipeline_service_account': sa})
    assert proc.returncode == 0 and changed_items(data) == 2, proc.stdout[-3000:]
    assert {t['serviceAccount'] for t in triggers(emulator).values()} == {sa}
    assert {r['item']['name']: r['changed_fields'] for r in loop_results(data)} == {
        'maintainer-image-main': ['serviceAccount'], 'maintainer-image-pr': ['serviceAccount']}

    # absent, twice
    proc, data = pipeline(emulator, tmp_path, extra={'offload_pipeline_state': 'absent'})
    assert proc.returncode == 0 and changed_items(data) == 2, proc.stdout[-3000:]
    assert triggers(emulator) == {}
    mark = emulator.mark()
    proc, data = pipeline(emulator, tmp_path, extra={'offload_pipeline_state': 'absent'})
    assert proc.returncode == 0 and stats(data)['changed'] == 0
    assert emulator.mutating_requests(since=mark) == []


def test_check_mode_and_diff_send_nothing(emulator, tmp_path):
    mark = emulator.mark()
    proc, _data = pipeline(emulator, tmp_path, '--check', '--diff', json_out=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert 'changed=1' in proc.stdout and proc.stdout.count('changed: [localhost]') == 2
    assert '+++ after: build trigger maintainer-image-pr' in proc.stdout
    assert '+    filename: docker/maintainer-worker.yml' in proc.stdout
    assert '+            commentControl: COMMENTS_ENABLED' in proc.stdout  # the diff shows the comment control
    assert emulator.mutating_requests(since=mark) == []
    assert triggers(emulator) == {}

    pipeline(emulator, tmp_path)  # create for real
    created = triggers(emulator)
    emulator.call('PATCH', '%s/%s' % (TRIGGERS, created['maintainer-image-main']['id']),
                  dict(created['maintainer-image-main'], filename='elsewhere.yml'))
    mark = emulator.mark()
    proc, _data = pipeline(emulator, tmp_path, '--check', '--diff', json_out=False)
    assert proc.returncode == 0 and proc.stdout.count('changed: [localhost]') == 1, proc.stdout[-3000:]
    assert '-    filename: elsewhere.yml' in proc.stdout
    assert '+    filename: docker/maintainer-worker.yml' in proc.stdout
    assert emulator.mutating_requests(since=mark) == []
    assert triggers(emulator)['maintainer-image-main']['filename'] == 'elsewhere.yml'

    mark = emulator.mark()
    proc, _data = pipeline(emulator, tmp_path, '--check', extra={'offload_pipeline_state': 'absent'}, json_out=False)
    assert proc.returncode == 0 and proc.stdout.count('changed: [localhost]') == 2
    assert emulator.mutating_requests(since=mark) == [] and len(triggers(emulator)) == 2


def run_module(emulator, tmp_path, args, token='emu-unchecked-token', check=False):
    play = [{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'name': 'trigger',
             'tasks': [{'name': 't', 'gcli.offload.cloudbuild_trigger': args, 'ignore_errors': True}]}]
    path = tmp_path / ('play-%s.yml' % uuid.uuid4().hex[:6])
    path.write_text(json.dumps(play))
    env = env_for(emulator, token)
    env['ANSIBLE_STDOUT_CALLBACK'] = 'ansible.posix.json'
    proc = subprocess.run(['ansible-playbook', str(path)] + (['--check'] if check else []), cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.stdout.strip().startswith('{'), proc.stdout + proc.stderr
    return json.loads(proc.stdout)['plays'][0]['tasks'][0]['hosts']['localhost']


BASE = {'name': 'tr-1', 'github_owner': 'o', 'github_repo': 'r', 'branch': '^main$', 'filename': 'cloudbuild.yml'}


def test_bad_options_fail_before_any_request(emulator, tmp_path):
    for args, words in (
        (dict(BASE, branch='^(main$'), "branch '^(main$' is not a valid regular expression"),
        (dict(BASE, name='Bad_Name!'), 'not a valid trigger name'),
        (dict(BASE, substitutions={'LOWER': 'x'}), "substitution 'LOWER'"),
        (dict(BASE, filename='/abs.yml'), 'must be a path inside the repository'),
        (dict(BASE, event='pull_request', branch=None, tag='v.*'), 'not tag'),
        (dict(BASE, comment_control='required'), 'event=pull_request only'),
    ):
        mark = emulator.mark()
        res = run_module(emulator, tmp_path, {k: v for k, v in args.items() if v is not None})
        assert res.get('failed') and words in res['msg'], (args, res.get('msg'))
        assert res['msg'].startswith('build trigger ') or 'trigger name' in res['msg']
        assert emulator.requests(since=mark) == [], 'nothing is sent for invalid options'


def test_api_errors_are_readable_and_retried(emulator, tmp_path):
    emulator.inject(status=503, path='/triggers$', method='POST', times=1)
    res = run_module(emulator, tmp_path, dict(BASE, retry_initial_delay=0.01))
    assert not res.get('failed') and res['operation'] == 'create', res.get('msg')
    posts = [e for e in emulator.requests() if e['method'] == 'POST' and e['path'] == TRIGGERS]
    assert len(posts) == 2, 'one 503, then the retry'

    emulator.inject(status=403, path='/triggers$', method='GET', times=5)
    res = run_module(emulator, tmp_path, dict(BASE, request_retries=0))
    assert res['failed']
    assert res['msg'].startswith('cannot list the build triggers of project %s: ' % PROJECT)
    assert 'HTTP 403' in res['msg'] and 'roles/cloudbuild.builds.editor' in res['msg']
    assert '{' not in res['msg'], 'no JSON dump'


def test_bearer_token_is_sent(emulator, tmp_path):
    emulator.configure(require_token=True)
    res = run_module(emulator, tmp_path, dict(BASE, name='tr-tok'), token='not-issued')
    assert res['failed'] and 'HTTP 401' in res['msg'], res.get('msg')
    token = emulator.issue_token()
    res = run_module(emulator, tmp_path, dict(BASE, name='tr-tok'), token=token)
    assert not res.get('failed') and res['changed'], res.get('msg')
    assert token not in json.dumps(res)


def test_options_round_trip_and_regional(emulator, tmp_path):
    args = dict(BASE, name='tr-full', location='us-central1', invert_regex=True, disabled=True,
                included_files=['docker/**'], ignored_files=['docs/**'], tags=['offload'],
                service_account='projects/emu-project/serviceAccounts/b@emu-project.iam.gserviceaccount.com',
                substitutions={'_N': 3, '_FLAG': True}, description='all options')
    res = run_module(emulator, tmp_path, args)
    assert not res.get('failed') and res['operation'] == 'create', res.get('msg')
    got = emulator.call('GET', '/v1/projects/%s/locations/us-central1/triggers' % PROJECT)['triggers'][0]
    assert got['github']['push'] == {'branch': '^main$', 'invertRegex': True}
    assert got['substitutions'] == {'_N': '3', '_FLAG': 'true'}
    assert got['disabled'] is True and got['includedFiles'] == ['docker/**'] and got['tags'] == ['offload']
    mark = emulator.mark()
    res = run_module(emulator, tmp_path, args)
    assert res['changed'] is False and emulator.mutating_requests(since=mark) == []
    # an option left out is not managed: the description stays
    res = run_module(emulator, tmp_path, {k: v for k, v in args.items() if k != 'description'})
    assert res['changed'] is False
    res = run_module(emulator, tmp_path, dict(args, invert_regex=False))
    assert res['changed'] and res['changed_fields'] == ['github']
    got = emulator.call('GET', '/v1/projects/%s/locations/us-central1/triggers/%s' % (PROJECT, got['id']))
    assert got['github']['push'] == {'branch': '^main$'} and got['description'] == 'all options'


@pytest.mark.parametrize('missing', ['offload_pipeline_github_owner', 'offload_pipeline_github_repo'])
def test_pipeline_refuses_missing_repository(emulator, tmp_path, missing):
    mark = emulator.mark()
    proc, _data = pipeline(emulator, tmp_path, extra={missing: ''}, json_out=False)
    assert proc.returncode != 0 and '%s: state=present needs' % missing in proc.stdout
    assert emulator.requests(since=mark) == []
