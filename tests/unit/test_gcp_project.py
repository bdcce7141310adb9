"""The project every Google-facing module sends: resolved and checked in one place
(_gcp_auth.resolve_project), whatever its source, before the first request."""

from __future__ import annotations

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _cloudbuild as cb
from ansible_collections.gcli.offload.plugins.module_utils import _gcp_auth as auth
from ansible_collections.gcli.offload.plugins.module_utils import _gcp_client
from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError

BAD = ['p', '$(touch x)', '../../x', 'My-Project', 'my-prоject', 'my-project\n', 'x' * 100000, 17, ['my-project']]


@pytest.fixture(autouse=True)
def no_project_env(monkeypatch):
    for name in auth.PROJECT_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize('value', ['my-project', 'example.com:my-project', 'a23456', 'a' * 30])
def test_valid_project_ids(value):
    assert auth.validate_project(value) == value


@pytest.mark.parametrize('value', BAD)
def test_invalid_project_ids(value):
    with pytest.raises(JobInputError) as err:
        auth.validate_project(value, 'offload_project')
    assert str(err.value).startswith('offload_project: must be a Google Cloud project ID')
    assert len(str(err.value)) < 300


def test_order_option_env_credentials():
    env = {'GOOGLE_CLOUD_PROJECT': 'env-project', 'GCP_PROJECT': 'other-project'}
    assert auth.resolve_project({'project': 'opt-project'}, None, 'sa-project', env) == 'opt-project'
    assert auth.resolve_project({'project': 'opt-project'}, 'code-project', None, env) == 'code-project'
    assert auth.resolve_project({'project': ''}, None, 'sa-project', env) == 'env-project'
    assert auth.resolve_project({}, None, 'sa-project', {}) == 'sa-project'


@pytest.mark.parametrize('params, env, creds, source', [
    ({'project': 'bad project'}, {}, None, 'project: must be'),
    ({}, {'CLOUDSDK_CORE_PROJECT': '$(touch x)'}, None, 'project (from CLOUDSDK_CORE_PROJECT): must be'),
    ({'project': None}, {'GCP_PROJECT': 'UPPER-case'}, None, 'project (from GCP_PROJECT): must be'),
    ({}, {}, '../x', 'project (from the credentials): must be'),
])
def test_refusal_names_the_source(params, env, creds, source):
    with pytest.raises(auth.GcpAuthError) as err:
        auth.resolve_project(params, None, creds, env)
    assert str(err.value).startswith(source) and 'nothing was sent' in str(err.value)


def test_no_project_at_all():
    with pytest.raises(auth.GcpAuthError, match='no project'):
        auth.resolve_project({}, None, None, {})


def test_the_project_option_has_no_env_fallback_of_its_own():
    # resolve_project reads the environment, so it knows which variable a bad value came from
    assert 'fallback' not in auth.gcp_argument_spec()['project']


def test_get_credentials_checks_the_env_project(monkeypatch):
    monkeypatch.setenv('CLOUDSDK_CORE_PROJECT', 'Bad_Project')
    with pytest.raises(auth.GcpAuthError, match=r'^project \(from CLOUDSDK_CORE_PROJECT\)'):
        auth.get_credentials({'auth_kind': 'accesstoken', 'access_token': 't'})
    creds, project = auth.get_credentials({'auth_kind': 'accesstoken', 'access_token': 't'}, need_project=False)
    assert creds.token == 't' and project is None


@pytest.mark.skipif(not _gcp_client.HAS_COMPUTE, reason='google-cloud-compute')
def test_compute_api_checks_before_any_client(monkeypatch):
    monkeypatch.setenv('GOOGLE_CLOUD_PROJECT', 'a/b')
    with pytest.raises(auth.GcpAuthError, match=r'^project \(from GOOGLE_CLOUD_PROJECT\): must be'):
        _gcp_client.ComputeApi({'auth_kind': 'accesstoken', 'access_token': 't'})
    with pytest.raises(auth.GcpAuthError, match='^project: must be'):
        _gcp_client.ComputeApi({'project': 'x'}, credentials=object())
    assert _gcp_client.ComputeApi({'project': 'my-project', 'auth_kind': 'accesstoken',
                                   'access_token': 't'}).project == 'my-project'


def test_cloudbuild_api_checks_before_any_request(monkeypatch):
    class Session:
        def request(self, *args, **kwargs):
            raise AssertionError('a request was sent')
    monkeypatch.setenv('CLOUDSDK_CORE_PROJECT', 'x' * 100000)
    with pytest.raises(auth.GcpAuthError) as err:
        cb.CloudBuildApi({'auth_kind': 'accesstoken', 'access_token': 't'})
    assert str(err.value).startswith('project (from CLOUDSDK_CORE_PROJECT): must be') and len(str(err.value)) < 300
    with pytest.raises(auth.GcpAuthError, match='^project: must be'):
        cb.CloudBuildApi({'project': '../x'}, session=Session())
    assert cb.CloudBuildApi({}, session=Session(), project='my-project').project == 'my-project'
