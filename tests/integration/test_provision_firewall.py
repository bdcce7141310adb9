"""compute_firewall through real ansible-playbook runs against the Compute Engine emulator:
create, converge, check mode, diff, drift, absent, the whole Internet refused, injected faults."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from fixtures_provision import ROOT

PROJECT = 'fw-project'
IAP = '35.235.240.0/20'
RULE = 'prov-ssh-from-iap'
FAST = {'retry_initial_delay': 0.05, 'retry_max_delay': 0.2}


def run(tmp_path, emulator, tasks, check=False, diff=False):
    """The results of `tasks` (compute_firewall args each) for localhost, in order."""
    body = [{'gcli.offload.compute_firewall': dict({'name': RULE, 'target_tags': ['gcli-offload-ssh']}, **t),
             'ignore_errors': True} for t in tasks]
    playbook = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': body,
                 'module_defaults': {'group/gcli.offload.gcp': dict(FAST)}}]
    path = tmp_path / ('fw-%d.yml' % len(list(tmp_path.glob('fw-*.yml'))))
    path.write_text(yaml.safe_dump(playbook, sort_keys=False))
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % sys.executable, str(path)]
    argv += ['--check'] if check else []
    argv += ['--diff'] if diff else []
    env = {k: v for k, v in os.environ.items() if not k.startswith(('CLOUDSDK_', 'GCP_', 'GOOGLE_'))}
    env.update(CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=emulator.compute_endpoint, CLOUDSDK_CORE_PROJECT=PROJECT,
               CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM=emulator.iam_endpoint,
               GCP_AUTH_KIND='accesstoken', CLOUDSDK_AUTH_ACCESS_TOKEN='fw-test-token',
               ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_NOCOLOR='1')
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600, check=False)
    try:
        data = json.loads(proc.stdout[proc.stdout.index('{'):])
    except ValueError:
        raise AssertionError('no JSON output: %s %s' % (proc.stdout[-2000:], proc.stderr[-2000:])) from None
    return [t['hosts']['localhost'] for play in data['plays'] for t in play['tasks']]


def rule(emulator):
    return emulator.call('GET', '/compute/v1/projects/%s/global/firewalls/%s' % (PROJECT, RULE))


def mutations(emulator, since=None):
    return [(e['method'], e['path'].split('/global/')[-1]) for e in emulator.mutating_requests(since)]


def test_create_converge_drift_absent(tmp_path, emulator):
    # check mode predicts the creation without any mutating call; diff shows it
    predicted, = run(tmp_path, emulator, [{}], check=True, diff=True)
    assert predicted['changed'] is True and predicted['operation'] == 'create', predicted
    assert predicted['diff']['before'] == {} and predicted['diff']['after']['source_ranges'] == [IAP]
    assert mutations(emulator) == []

    created, again = run(tmp_path, emulator, [{}, {}])
    assert created['changed'] is True and created['operation'] == 'create', created
    assert created['firewall']['self_link'].endswith('/global/firewalls/' + RULE)
    assert again['changed'] is False and again['operation'] == 'none', again
    assert mutations(emulator) == [('POST', 'firewalls')]
    body = rule(emulator)
    assert body['sourceRanges'] == [IAP] and body['allowed'] == [{'IPProtocol': 'tcp', 'ports': ['22']}]
    assert body['direction'] == 'INGRESS' and body['targetTags'] == ['gcli-offload-ssh']

    # drift: a check-mode run predicts the update (no call), the real one makes exactly one PUT
    mark = emulator.mark()
    wanted = {'source_ranges': [IAP, '203.0.113.0/24'], 'ports': ['22', '2222']}
    predicted, = run(tmp_path, emulator, [wanted], check=True, diff=True)
    assert predicted['operation'] == 'update' and mutations(emulator, mark) == []
    assert predicted['diff']['before']['source_ranges'] == [IAP]
    assert predicted['diff']['after']['source_ranges'] == [IAP, '203.0.113.0/24']
    assert predicted['diff']['after']['ports'] == ['22', '2222']
    updated, = run(tmp_path, emulator, [wanted])
    assert updated['operation'] == 'update' and mutations(emulator, mark) == [('PUT', 'firewalls/' + RULE)]
    assert sorted(rule(emulator)['sourceRanges']) == ['203.0.113.0/24', IAP]

    # absent, twice
    mark = emulator.mark()
    gone, again = run(tmp_path, emulator, [{'state': 'absent'}, {'state': 'absent'}])
    assert gone['changed'] is True and gone['operation'] == 'delete' and gone['firewall'] == {}
    assert again['changed'] is False and again['operation'] == 'none'
    assert mutations(emulator, mark) == [('DELETE', 'firewalls/' + RULE)]


@pytest.mark.parametrize('ranges', [['0.0.0.0/0'], [IAP, '::/0']])
def test_the_whole_internet_is_refused_before_any_call(tmp_path, emulator, ranges):
    refused, forced = run(tmp_path, emulator, [{'source_ranges': ranges},
                                               {'source_ranges': ranges, 'allow_any_source': True}])
    assert refused.get('failed') is True
    assert 'whole Internet' in refused['msg'] and 'allow_any_source=true' in refused['msg']
    assert refused['msg'].startswith('invalid firewall rule %s:' % RULE)
    assert forced['changed'] is True and forced['operation'] == 'create', forced
    assert mutations(emulator) == [('POST', 'firewalls')]  # only the forced one


def test_server_errors_are_retried(tmp_path, emulator):
    emulator.inject(status=503, path='/global/firewalls$', method='POST', times=2)
    created, = run(tmp_path, emulator, [{}])
    assert created['changed'] is True, created
    posts = [e['status'] for e in emulator.requests() if e['method'] == 'POST' and e['path'].endswith('/firewalls')]
    assert posts == [503, 503, 200]


def test_an_operation_error_fails_with_its_cause(tmp_path, emulator):
    emulator.inject(operation_error={'code': 'QUOTA_EXCEEDED', 'message': "Quota 'FIREWALLS' exceeded."},
                    path='/global/firewalls$', method='POST')
    failed, = run(tmp_path, emulator, [{}])
    assert failed.get('failed') is True
    msg = failed['msg']
    assert 'create firewall rule %s of project %s' % (RULE, PROJECT) in msg
    assert "Quota 'FIREWALLS' exceeded." in msg and 'QUOTA_EXCEEDED' in msg
    assert '{' not in msg  # Google's words, not a JSON dump


def gcloud(emulator, tmp_path, *args):
    env = emulator.gcloud_env(tmp_path, project=PROJECT)
    return subprocess.run(['gcloud'] + list(args) + ['--format=json'], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


@pytest.mark.skipif(not shutil.which('gcloud'), reason='the gcloud CLI is not installed')
def test_a_rule_made_by_gcloud_is_recognised_and_gcloud_reads_ours(tmp_path, emulator):
    made = gcloud(emulator, tmp_path, 'compute', 'firewall-rules', 'create', RULE, '--network=default',
                  '--direction=INGRESS', '--action=ALLOW', '--rules=tcp:22', '--source-ranges=' + IAP,
                  '--target-tags=gcli-offload-ssh', '--priority=1000',
                  '--description=SSH to gcli.offload workers (managed by gcli.offload)')
    assert made.returncode == 0, made.stderr
    mark = emulator.mark()
    same, widened = run(tmp_path, emulator, [{}, {'ports': ['22', '2222']}])
    assert same['changed'] is False and same['operation'] == 'none', same
    assert widened['operation'] == 'update'
    assert mutations(emulator, mark) == [('PUT', 'firewalls/' + RULE)]
    described = gcloud(emulator, tmp_path, 'compute', 'firewall-rules', 'describe', RULE)
    assert described.returncode == 0, described.stderr
    body = json.loads(described.stdout)
    assert body['allowed'] == [{'IPProtocol': 'tcp', 'ports': ['22', '2222']}] and body['sourceRanges'] == [IAP]
