"""service_account through real ansible-playbook runs against the emulator's IAM and Resource Manager
APIs: created with its roles, converged without a create or a setIamPolicy, check mode, diff, and a
concurrent policy change (409 ABORTED) retried with a fresh read."""

from __future__ import annotations

import json

from fixtures_provision import PlaybookRunner

PROJECT = 'sa-project'
EMAIL = 'gcli-worker@%s.iam.gserviceaccount.com' % PROJECT
ROLES = ['roles/artifactregistry.reader', 'roles/logging.logWriter']


def run(emulator, tmp_path, *args, **options):
    play = tmp_path / ('sa-%d.yml' % len(list(tmp_path.glob('sa-*.yml'))))
    task = dict({'project': PROJECT, 'account_id': 'gcli-worker', 'roles': ROLES, 'auth_kind': 'accesstoken',
                 'access_token': 'sa-token', 'api_endpoint': emulator.iam_endpoint, 'retry_initial_delay': 0.05},
                **options)
    play.write_text(json.dumps([{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'tasks': [
        {'gcli.offload.service_account': task}]}]))
    proc = PlaybookRunner(tmp_path)(str(play), {}, *args, env={'ANSIBLE_STDOUT_CALLBACK': 'ansible.posix.json'})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout[proc.stdout.index('{'):])
    return data['plays'][0]['tasks'][0]['hosts']['localhost']


def policy(emulator):
    return emulator.call('POST', '/v1/projects/%s:getIamPolicy' % PROJECT, {})


def members(emulator, role):
    return [m for b in policy(emulator)['bindings'] if b['role'] == role for m in b['members']]


def iam_writes(emulator, since=None):
    return [e['path'].rsplit('/', 1)[-1] for e in emulator.mutating_requests(since)
            if e['path'].endswith(('serviceAccounts', ':setIamPolicy'))]


def test_create_converge_check_and_diff(emulator, tmp_path):
    predicted = run(emulator, tmp_path, '--check', '--diff')
    assert predicted['changed'] and predicted['created'] and predicted['roles_added'] == ROLES
    assert predicted['diff']['before'] == {'service_account': None, 'roles': []}
    assert predicted['diff']['after'] == {'service_account': EMAIL, 'roles': ROLES}
    assert iam_writes(emulator) == []

    mark = emulator.mark()
    done = run(emulator, tmp_path)
    assert done['created'] and done['email'] == EMAIL and len(done['unique_id']) == 21
    assert iam_writes(emulator, mark) == ['serviceAccounts', 'sa-project:setIamPolicy']
    for role in ROLES:
        assert members(emulator, role) == ['serviceAccount:' + EMAIL]
    editors = members(emulator, 'roles/editor')
    assert any(m.endswith('-compute@developer.gserviceaccount.com') for m in editors)  # others kept

    mark = emulator.mark()
    again = run(emulator, tmp_path)
    assert not again['changed'] and iam_writes(emulator, mark) == []

    # one more role: only the policy is written, and only that role added
    mark = emulator.mark()
    more = run(emulator, tmp_path, roles=ROLES + ['roles/monitoring.metricWriter'])
    assert more['roles_added'] == ['roles/monitoring.metricWriter'] and not more['created']
    assert iam_writes(emulator, mark) == ['sa-project:setIamPolicy']


def test_a_concurrent_policy_change_is_retried(emulator, tmp_path):
    emulator.inject(status=409, path=':setIamPolicy$', method='POST', times=1)
    mark = emulator.mark()
    done = run(emulator, tmp_path)
    assert done['roles_added'] == ROLES
    sets = [e['status'] for e in emulator.requests(mark) if e['path'].endswith(':setIamPolicy')]
    reads = [e for e in emulator.requests(mark) if e['path'].endswith(':getIamPolicy')]
    assert sets == [409, 200] and len(reads) == 2  # the whole read-modify-write again
    assert members(emulator, 'roles/logging.logWriter') == ['serviceAccount:' + EMAIL]
