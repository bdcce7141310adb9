"""provision.yml and the worker's own service account, against the emulator's Compute, IAM and
Resource Manager APIs (the provision fixture: a real playbook, a loopback sshd).

By default (offload_worker_service_account=dedicated) provision creates the worker's account
with the project roles it needs, runs the VM as it with narrow scopes, and lets it stop its own
instance only (a custom role with compute.instances.stop, bound in the instance's own policy);
a second run converges without a write, check mode predicts without one, --diff shows it.
offload_worker_service_account=default keeps the Compute Engine default account and sends no
IAM request at all."""

from __future__ import annotations

from fixtures_provision import recap
# the provision fixture: a fresh worker name, alias file and maintainer stand-in per test
from test_provision import PROJECT, ZONE, api, provision  # noqa: F401 pylint: disable=unused-import

ROLE = 'projects/%s/roles/gcliOffloadInstanceStop' % PROJECT
SCOPES = ['https://www.googleapis.com/auth/compute', 'https://www.googleapis.com/auth/devstorage.read_only',
          'https://www.googleapis.com/auth/logging.write']


def iam_and_policy_writes(emulator, since=None):
    return [(e['method'], e['path']) for e in emulator.mutating_requests(since)
            if '/serviceAccounts' in e['path'] or '/roles' in e['path'] or 'IamPolicy' in e['path']]


def project_members(emulator, role):
    policy = emulator.call('POST', '/v1/projects/%s:getIamPolicy' % PROJECT, {})
    return [m for b in policy.get('bindings', []) if b['role'] == role for m in b['members']]


def instance_policy(emulator, name):
    return api(emulator, 'zones/%s/instances/%s/getIamPolicy' % (ZONE, name))


def test_dedicated_account_least_roles_own_instance_only_idempotent_check_diff(provision, emulator):
    email = '%s@%s.iam.gserviceaccount.com' % (provision.name, PROJECT)
    member = 'serviceAccount:' + email

    # Check mode on a fresh project: everything predicted, nothing written.
    mark = emulator.mark()
    proc = provision('provision.yml', '--check', '--diff')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert iam_and_policy_writes(emulator, mark) == []
    # the diff: the account, its project roles, the stop role granted on the instance
    assert email in proc.stdout and 'roles/logging.logWriter' in proc.stdout and ROLE in proc.stdout

    proc = provision()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    account = emulator.call('GET', '/v1/projects/%s/serviceAccounts/%s' % (PROJECT, email))
    assert account['displayName'] == 'gcli.offload worker %s' % provision.name
    assert project_members(emulator, 'roles/logging.logWriter') == [member]
    assert project_members(emulator, 'roles/artifactregistry.reader') == [member]
    assert member not in project_members(emulator, 'roles/editor')
    role = emulator.call('GET', '/v1/%s' % ROLE)
    assert role['includedPermissions'] == ['compute.instances.stop'] and role['stage'] == 'GA'
    # the stop role on the worker's own instance, and nowhere in the project's policy
    assert instance_policy(emulator, provision.name)['bindings'] == [{'role': ROLE, 'members': [member]}]
    assert project_members(emulator, ROLE) == []
    instance = api(emulator, 'zones/%s/instances/%s' % (ZONE, provision.name))
    assert instance['serviceAccounts'] == [{'email': email, 'scopes': instance['serviceAccounts'][0]['scopes']}]
    assert sorted(instance['serviceAccounts'][0]['scopes']) == SCOPES  # no cloud-platform

    # Converged: no IAM or policy write at all, nothing changed; check mode and --diff likewise.
    mark = emulator.mark()
    proc = provision()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert emulator.mutating_requests(since=mark) == []
    assert recap(proc.stdout, 'localhost')['changed'] == 0
    proc = provision('provision.yml', '--check', '--diff')
    assert proc.returncode == 0 and recap(proc.stdout, 'localhost')['changed'] == 0, proc.stdout
    assert emulator.mutating_requests(since=mark) == []

    # Someone took the binding away: the next run puts it back (one instance setIamPolicy, nothing else).
    current = instance_policy(emulator, provision.name)
    emulator.call('POST', '/compute/v1/projects/%s/zones/%s/instances/%s/setIamPolicy' % (PROJECT, ZONE,
                                                                                          provision.name),
                  {'policy': {'etag': current['etag']}})
    mark = emulator.mark()
    proc = provision()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [p.rsplit('/', 1)[-1] for _m, p in iam_and_policy_writes(emulator, mark)] == ['setIamPolicy']
    assert instance_policy(emulator, provision.name)['bindings'] == [{'role': ROLE, 'members': [member]}]


def test_a_concurrent_change_of_the_instance_policy_is_retried(provision, emulator):
    assert provision().returncode == 0
    current = instance_policy(emulator, provision.name)
    emulator.call('POST', '/compute/v1/projects/%s/zones/%s/instances/%s/setIamPolicy' % (PROJECT, ZONE,
                                                                                          provision.name),
                  {'policy': {'etag': current['etag']}})
    emulator.inject(status=412, path='/instances/%s/setIamPolicy$' % provision.name, method='POST', times=1)
    mark = emulator.mark()
    proc = provision()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sets = [e['status'] for e in emulator.requests(mark) if e['path'].endswith('/setIamPolicy')]
    reads = [e for e in emulator.requests(mark) if e['path'].endswith('/instances/%s/getIamPolicy' % provision.name)]
    assert sets == [412, 200] and len(reads) == 2  # the whole read-modify-write again
    assert instance_policy(emulator, provision.name)['bindings'][0]['role'] == ROLE


def test_the_default_compute_account_on_request_sends_no_iam_request(provision, emulator):
    mark = emulator.mark()
    proc = provision(offload_worker_service_account='default')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [e for e in emulator.requests(mark) if e['path'].startswith('/v1/')] == []
    assert iam_and_policy_writes(emulator, mark) == []
    instance = api(emulator, 'zones/%s/instances/%s' % (ZONE, provision.name))
    assert instance['serviceAccounts'][0]['email'].endswith('-compute@developer.gserviceaccount.com')
    assert instance['serviceAccounts'][0]['scopes'] == ['https://www.googleapis.com/auth/cloud-platform']
