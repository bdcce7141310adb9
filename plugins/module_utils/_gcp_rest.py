# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The set-up shared by the collection's REST clients of Google APIs (Cloud Build, IAM,
Resource Manager, the Compute calls the client library has no use for here): credentials
from _gcp_auth, an authorised requests session, and every call through _gcp_retry (retries,
error messages with hints)."""

from __future__ import annotations

import traceback

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import (
    GcpAuthError,
    get_credentials,
    resolve_project,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import RetryPolicy, call

AUTH_REQUESTS_IMPORT_ERROR = None
try:
    import google.auth.transport.requests
except ImportError:  # pragma: no cover - reported through missing_required_lib
    AUTH_REQUESTS_IMPORT_ERROR = traceback.format_exc()

REQUEST_TIMEOUT = 60.0


class RestApi:
    """A project's REST API client: `project`, `session`, `policy` (retries) and `_call`.

    credentials/session/sleep are for tests (a session stands in for the network). The project
    is resolved (and checked, whatever its source) before any request: it goes into every URL."""

    HINTS = {}

    def __init__(self, params, credentials=None, project=None, session=None, sleep=None):
        if AUTH_REQUESTS_IMPORT_ERROR:
            raise GcpAuthError('the Python libraries google-auth and requests are required on the host running the '
                               'task (pip install google-auth requests)')
        if credentials is None and session is None:
            credentials, project = get_credentials(params, project)
        else:
            project = resolve_project(params, project)
        self.project = project
        self.session = session or google.auth.transport.requests.AuthorizedSession(credentials)
        self.policy = RetryPolicy.from_params(params, **({'sleep': sleep} if sleep else {}))

    def _call(self, method, url, what, body=None, params=None, hints=None):
        """One request, retried by the policy; its JSON ({} when empty). Raises GcpApiError naming `what`."""
        def send():
            response = self.session.request(method, url, json=body, params=params, timeout=REQUEST_TIMEOUT)
            response.raise_for_status()
            return response.json() if response.content else {}
        return call(send, self.policy, what, self.HINTS if hints is None else hints)
