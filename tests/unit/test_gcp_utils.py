"""Units for the Google plumbing: auth options, endpoint, retries, error text, operation waits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.gcli.offload.plugins.module_utils import _gcp_auth as auth
from ansible_collections.gcli.offload.plugins.module_utils import _gcp_operations as ops
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import (
    GcpApiError,
    RetryPolicy,
    call,
    error_details,
)
from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError


def params(**kw):
    base = {k: None for k in auth.gcp_argument_spec()}
    base.update(auth_kind='application', timeout=600, request_retries=6, retry_initial_delay=1.0,
                retry_max_delay=30.0)
    base.update(kw)
    return base


@pytest.fixture(scope='module')
def sa_info():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {'type': 'service_account', 'project_id': 'sa-project', 'private_key_id': 'k1', 'private_key': pem,
            'client_email': 'robot@sa-project.iam.gserviceaccount.com', 'client_id': '1',
            'token_uri': 'http://127.0.0.1:9/token'}


@pytest.mark.parametrize('value,expected', [
    ('http://127.0.0.1:8080/compute/v1/', 'http://127.0.0.1:8080'),
    ('http://127.0.0.1:8080/compute/v1', 'http://127.0.0.1:8080'),
    ('https://compute.example.com/', 'https://compute.example.com'),
    ('localhost:9000', 'localhost:9000'),
    ('', None),
    (None, None),
])
def test_compute_endpoint(value, expected):
    assert auth.compute_endpoint(value) == expected


@pytest.mark.parametrize('value, words', [
    ('http://user:secret@127.0.0.1:8080/compute/v1/', 'must not carry credentials'),
    ('https://secret@compute.example.com', 'must not carry credentials'),
    ('http://-oproxy:8080/', 'not starting with -'),
    ('-h:9000', 'not starting with -'),
    ('ftp://h/', 'http:// or https://'),
])
def test_compute_endpoint_refuses_credentials_and_option_hosts(value, words):
    with pytest.raises(auth.GcpAuthError, match=words) as err:
        auth.compute_endpoint(value)
    assert 'secret' not in str(err.value)


def test_compute_endpoint_refuses_other_paths():
    with pytest.raises(auth.GcpAuthError, match='not another path'):
        auth.compute_endpoint('http://127.0.0.1:8080/storage/v1/')


def test_expand_scopes():
    assert auth.expand_scopes(None) == ['https://www.googleapis.com/auth/cloud-platform']
    assert auth.expand_scopes(['compute', 'https://x/y']) == ['https://www.googleapis.com/auth/compute', 'https://x/y']


@pytest.mark.parametrize('alias,urls', [
    ('compute-ro', ['https://www.googleapis.com/auth/compute.readonly']),
    ('compute-rw', ['https://www.googleapis.com/auth/compute']),
    ('storage-ro', ['https://www.googleapis.com/auth/devstorage.read_only']),
    ('storage-full', ['https://www.googleapis.com/auth/devstorage.full_control']),
    ('logging-write', ['https://www.googleapis.com/auth/logging.write']),
    ('cloud-source-repos-ro', ['https://www.googleapis.com/auth/source.read_only']),
    ('compute.readonly', ['https://www.googleapis.com/auth/compute.readonly']),  # a scope name, not an alias
])
def test_scope_aliases_are_gclouds(alias, urls):
    assert auth.expand_scopes([alias]) == urls


def test_scope_alias_of_several_scopes_and_duplicates():
    got = auth.expand_scopes(['storage-ro', 'default', 'https://www.googleapis.com/auth/pubsub'])
    assert got[0] == 'https://www.googleapis.com/auth/devstorage.read_only'
    assert sorted(got) == sorted(auth.SCOPE_ALIASES['default']) and len(got) == 7


@pytest.mark.parametrize('scope', ['compute ro', 'Compute-RO', '../x', 'http://x/y', 'https://x/y\nz', '', 7,
                                   'a' * 100000])
def test_bad_scopes_are_refused_without_echoing_them_whole(scope):
    with pytest.raises(JobInputError) as info:
        auth.expand_scopes([scope], 'service_account_scopes')
    assert info.value.variable == 'service_account_scopes'
    assert 'compute-ro' in str(info.value) and len(str(info.value)) < 700


def test_bad_auth_scopes_fail_before_any_credentials():
    with pytest.raises(auth.GcpAuthError, match='scopes: must be scope URLs.*nothing was sent'):
        auth.get_credentials({'auth_kind': 'accesstoken', 'access_token': 't', 'scopes': ['a b']})


def _gcloud_scope_table():
    """gcloud's own alias table (googlecloudsdk.api_lib.compute.constants.SCOPES), read by a separate
    Python from the installed SDK; None when gcloud is not installed."""
    gcloud = shutil.which('gcloud')
    if gcloud is None:
        return None
    lib = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(gcloud))), 'lib')
    code = ('import json; from googlecloudsdk.api_lib.compute import constants; '
            'print(json.dumps(constants.SCOPES))')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60, check=True,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join([lib, os.path.join(lib, 'third_party')])))
    return json.loads(proc.stdout)


def test_scope_alias_table_is_the_installed_gclouds():
    table = _gcloud_scope_table()
    if table is None:
        pytest.skip('the gcloud CLI is not installed')
    assert {alias: sorted(urls) for alias, urls in auth.SCOPE_ALIASES.items()} == {
        alias: sorted(urls) for alias, urls in table.items()}


def test_env_fallbacks_follow_gcloud_names():
    spec = auth.gcp_argument_spec()
    assert auth.PROJECT_ENV[0] == 'CLOUDSDK_CORE_PROJECT' and 'fallback' not in spec['project']
    assert spec['api_endpoint']['fallback'][1] == ['CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE']
    assert spec['access_token']['no_log'] and spec['service_account_contents']['no_log']
    assert 'CLOUDSDK_AUTH_ACCESS_TOKEN' in spec['access_token']['fallback'][1]


def test_access_token_credentials():
    creds, project = auth.get_credentials(params(auth_kind='accesstoken', access_token=' tok\n', project='proj-1'))
    assert creds.token == 'tok' and project == 'proj-1'


def test_access_token_missing_says_what_to_do():
    with pytest.raises(auth.GcpAuthError, match='needs access_token'):
        auth.get_credentials(params(auth_kind='accesstoken', project='proj-1'))


def test_service_account_contents_project_and_token_uri(sa_info):
    creds, project = auth.get_credentials(params(auth_kind='serviceaccount', service_account_contents=json.dumps(sa_info)))
    assert project == 'sa-project'
    assert creds._token_uri == 'http://127.0.0.1:9/token'
    assert creds.scopes == ['https://www.googleapis.com/auth/cloud-platform']


def test_service_account_file(tmp_path, sa_info):
    path = tmp_path / 'key.json'
    path.write_text(json.dumps(sa_info))
    creds, project = auth.get_credentials(params(auth_kind='serviceaccount', service_account_file=str(path),
                                                 project='other-project'))
    assert project == 'other-project' and creds.service_account_email == sa_info['client_email']


def test_service_account_file_errors(tmp_path):
    with pytest.raises(auth.GcpAuthError, match='cannot read service_account_file'):
        auth.get_credentials(params(auth_kind='serviceaccount', service_account_file=str(tmp_path / 'nope')))
    bad = tmp_path / 'bad.json'
    bad.write_text('{"type": "authorized_user"}')
    with pytest.raises(auth.GcpAuthError, match='not a service-account key'):
        auth.get_credentials(params(auth_kind='serviceaccount', service_account_file=str(bad)))
    with pytest.raises(auth.GcpAuthError, match='needs service_account_file'):
        auth.get_credentials(params(auth_kind='serviceaccount'))


def test_service_account_contents_not_json():
    with pytest.raises(auth.GcpAuthError, match='not a JSON key') as info:
        auth.get_credentials(params(auth_kind='serviceaccount', service_account_contents='secret-ish {'))
    assert 'secret-ish' not in str(info.value)


def test_no_project_is_refused():
    with pytest.raises(auth.GcpAuthError, match='no project'):
        auth.get_credentials(params(auth_kind='accesstoken', access_token='t'))


def test_application_default_missing(monkeypatch, tmp_path):
    monkeypatch.setenv('GOOGLE_APPLICATION_CREDENTIALS', str(tmp_path / 'missing.json'))
    with pytest.raises(auth.GcpAuthError, match='application default credentials'):
        auth.get_credentials(params(project='proj-1'))


def test_machineaccount_credentials():
    creds, project = auth.get_credentials(params(auth_kind='machineaccount', project='proj-1'))
    assert type(creds).__module__.startswith('google.auth.compute_engine') and project == 'proj-1'


# ---- errors and retries ----------------------------------------------------------------------

class FakeResponse:
    def __init__(self, code, payload):
        self.status_code = code
        self._payload = payload

    def json(self):
        if isinstance(self._payload, Exception):
            raise self._payload
        return self._payload


def api_error(code, status='PERMISSION_DENIED', message='Required permission denied'):
    from google.api_core import exceptions
    response = FakeResponse(code, {'error': {'code': code, 'message': message, 'status': status,
                                             'errors': [{'reason': 'forbidden', 'message': message}]}})
    return exceptions.from_http_status(code, 'POST http://x/compute/v1/...: ' + message, response=response)


def test_error_details_reads_google_format():
    code, status, message = error_details(api_error(403))
    assert (code, status, message) == (403, 'PERMISSION_DENIED', 'Required permission denied')


def test_error_details_non_json_body():
    from google.api_core import exceptions
    exc = exceptions.from_http_status(502, 'GET http://x: <html>bad gateway</html>',
                                      response=FakeResponse(502, ValueError('no json')))
    code, status, message = error_details(exc)
    assert code == 502 and status == 'BAD_GATEWAY' and message == '<html>bad gateway</html>'


def test_refresh_error_drops_raw_answer():
    from google.auth.exceptions import RefreshError
    exc = RefreshError('invalid_grant: bad key', {'error': 'invalid_grant', 'access_token': 'SECRET'})
    code, status, message = error_details(exc)
    assert 'SECRET' not in message and 'invalid_grant: bad key' in message


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def policy(clock, retries=3, deadline=None):
    return RetryPolicy(retries=retries, initial=1.0, maximum=4.0, deadline=deadline, sleep=clock.sleep,
                       rand=lambda: 1.0, clock=clock)


def flaky(errors, result='ok'):
    state = {'calls': 0}

    def fn():
        state['calls'] += 1
        if errors:
            raise errors.pop(0)
        return result
    return fn, state


def test_call_retries_429_and_5xx_with_backoff():
    clock = Clock()
    fn, state = flaky([api_error(429, 'RESOURCE_EXHAUSTED'), api_error(503, 'UNAVAILABLE'), api_error(500, 'X')])
    assert call(fn, policy(clock), 'get instance w') == 'ok'
    assert state['calls'] == 4 and clock.sleeps == [1.0, 2.0, 4.0]


def test_call_gives_up_after_retries_with_readable_message():
    clock = Clock()
    fn, state = flaky([api_error(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded')] * 5)
    with pytest.raises(GcpApiError) as info:
        call(fn, policy(clock, retries=2), 'create instance w in z of project p')
    text = str(info.value)
    assert text.startswith('cannot create instance w in z of project p: Quota exceeded (HTTP 429 RESOURCE_EXHAUSTED);')
    assert 'after 3 attempts' in text and '{' not in text
    assert state['calls'] == 3


def test_call_honours_retry_after_within_max_delay():
    clock = Clock()
    first = api_error(429, 'RESOURCE_EXHAUSTED')
    first.response.headers = {'Retry-After': '3'}
    second = api_error(503, 'UNAVAILABLE')
    second.response.headers = {'Retry-After': '100'}
    fn, _state = flaky([first, second])
    assert call(fn, RetryPolicy(retries=3, initial=1.0, maximum=4.0, sleep=clock.sleep, rand=lambda: 0.0,
                                clock=clock), 'x') == 'ok'
    assert clock.sleeps == [3.0, 4.0]


def test_call_does_not_retry_403():
    clock = Clock()
    fn, state = flaky([api_error(403)])
    with pytest.raises(GcpApiError, match=r'\(HTTP 403 PERMISSION_DENIED\); grant the credentials'):
        call(fn, policy(clock), 'create instance w')
    assert state['calls'] == 1 and clock.sleeps == []


def test_call_custom_hint():
    fn, _state = flaky([api_error(404, 'NOT_FOUND', 'The resource was not found')])
    with pytest.raises(GcpApiError, match='; use another zone$'):
        call(fn, policy(Clock()), 'x', hints={404: 'use another zone'})


def test_call_stops_retrying_at_deadline():
    clock = Clock()
    fn, state = flaky([api_error(503, 'UNAVAILABLE')] * 10)
    with pytest.raises(GcpApiError):
        call(fn, policy(clock, retries=10, deadline=2.5), 'x')
    assert clock.now <= 2.5


def test_call_lets_programming_errors_through():
    def fn():
        raise KeyError('bug')
    with pytest.raises(KeyError):
        call(fn, policy(Clock()), 'x')


def test_jitter_is_bounded():
    p = RetryPolicy(initial=1.0, maximum=8.0)
    for attempt in range(8):
        assert 0 <= p.delay(attempt) <= min(8.0, 2 ** attempt)


# ---- operations ------------------------------------------------------------------------------

def operation(status='RUNNING', zone='https://x/zones/z1', errors=None):
    error = types.SimpleNamespace(errors=[types.SimpleNamespace(code=c, message=m) for c, m in errors]) \
        if errors else None
    return types.SimpleNamespace(name='op-1', status=types.SimpleNamespace(name=status), zone=zone, region='',
                                 error=error, http_error_status_code=0, http_error_message='')


class FakeOps:
    def __init__(self, answers, clock, hold=0.0):
        self.answers = answers
        self.calls = []
        self.clock = clock
        self.hold = hold

    def wait(self, **kw):
        self.calls.append(kw)
        self.clock.now += min(self.hold, kw['timeout'])
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class FakeApi:
    project = 'p'

    def __init__(self, fake, clock):
        self.fake = fake
        self.clock = clock

    def client(self, kind):
        assert kind == 'zone_operations'
        return self.fake

    def policy(self, deadline=None):
        return policy(self.clock, deadline=deadline)


def test_wait_loops_until_done_on_the_operation_zone():
    clock = Clock()
    fake = FakeOps([operation(), operation(), operation('DONE')], clock, hold=1)
    done = ops.wait_for_operation(FakeApi(fake, clock), operation(), 'start instance w', 60)
    assert done.status.name == 'DONE'
    assert [c['zone'] for c in fake.calls] == ['z1', 'z1', 'z1'] and fake.calls[0]['operation'] == 'op-1'
    assert fake.calls[0]['timeout'] <= 60


def test_wait_times_out_clearly():
    clock = Clock()
    fake = FakeOps([operation()], clock, hold=30)
    with pytest.raises(GcpApiError, match=r'operation op-1 did not finish within timeout=100s') as info:
        ops.wait_for_operation(FakeApi(fake, clock), operation(), 'start instance w', 100)
    assert info.value.status == 'TIMEOUT' and clock.now <= 100 + 1e-9


def test_wait_reports_operation_error():
    clock = Clock()
    errors = [('ZONE_RESOURCE_POOL_EXHAUSTED', 'The zone does not have enough resources')]
    fake = FakeOps([operation('DONE', errors=errors)], clock)
    with pytest.raises(GcpApiError, match=r'^cannot create instance w: The zone does not have enough resources '
                                          r'\(operation op-1 ended with ZONE_RESOURCE_POOL_EXHAUSTED\)$'):
        ops.wait_for_operation(FakeApi(fake, clock), operation(), 'create instance w', 60)


def test_wait_done_operation_makes_no_call():
    clock = Clock()
    fake = FakeOps([operation('DONE')], clock)
    ops.wait_for_operation(FakeApi(fake, clock), operation('DONE'), 'x', 60)
    assert fake.calls == []


def test_compute_api_clients_use_the_endpoint_and_no_self_signed_jwt(sa_info):
    from ansible_collections.gcli.offload.plugins.module_utils._gcp_client import ComputeApi
    api = ComputeApi(params(auth_kind='serviceaccount', service_account_contents=json.dumps(sa_info),
                            api_endpoint='http://127.0.0.1:8089/compute/v1/'))
    client = api.client('instances')
    assert client.api_endpoint == 'http://127.0.0.1:8089'
    assert client.transport._credentials._always_use_jwt_access is False
    assert api.client('zone_operations').api_endpoint == 'http://127.0.0.1:8089'
    assert api.client('instances') is client and api.project == 'sa-project'
