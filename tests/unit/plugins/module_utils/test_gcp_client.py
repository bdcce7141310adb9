# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_gcp_client: the API clients take the endpoint and the credentials as given."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.gcli.offload.plugins.module_utils import _gcp_auth as auth


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


def test_compute_api_clients_use_the_endpoint_and_no_self_signed_jwt(sa_info):
    from ansible_collections.gcli.offload.plugins.module_utils._gcp_client import ComputeApi
    api = ComputeApi(params(auth_kind='serviceaccount', service_account_contents=json.dumps(sa_info),
                            api_endpoint='http://127.0.0.1:8089/compute/v1/'))
    client = api.client('instances')
    assert client.api_endpoint == 'http://127.0.0.1:8089'
    assert client.transport._credentials._always_use_jwt_access is False
    assert api.client('zone_operations').api_endpoint == 'http://127.0.0.1:8089'
    assert api.client('instances') is client and api.project == 'sa-project'
