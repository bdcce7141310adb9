# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_gcp_auth: the auth options (kinds, scopes and their aliases, gcloud's environment
names), the credentials each kind gives, and the Compute endpoint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.gcli.offload.plugins.module_utils import _gcp_auth as auth
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
