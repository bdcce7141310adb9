# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compute Engine API clients that honour api_endpoint, with retries and bounded operation waits.

    from ..module_utils._gcp_client import ComputeApi, GcpError, COMPUTE_IMPORT_ERROR
    api = ComputeApi(module.params)                      # raises GcpError (auth, endpoint)
    instances = api.client('instances')                  # compute_v1.InstancesClient
    inst = api.call(lambda: instances.get(project=api.project, zone=z, instance=n, timeout=api.request_timeout),
                    'get instance %s in %s of project %s' % (n, z, api.project))
    op = api.call(lambda: instances.start_unary(...), 'start instance ...')
    api.wait(op, 'start instance ...')                   # bounded by the timeout option; GcpError on failure

Use the *_unary methods: they return the raw Operation, which api.wait() waits on with
the zone/region/global operations `wait` call on the same endpoint (operation.result()
would poll through a client that ignores api_endpoint).
"""

from __future__ import annotations

import time
import traceback

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import (
    GcpAuthError,
    compute_endpoint,
    get_credentials,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_operations import wait_for_operation
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import GcpApiError, RetryPolicy, call

COMPUTE_IMPORT_ERROR = None
try:
    from google.cloud import compute_v1
except ImportError:  # pragma: no cover - reported through missing_required_lib
    compute_v1 = None
    COMPUTE_IMPORT_ERROR = traceback.format_exc()

# Errors a Google-facing plugin reports as its failure message (auth, API, operations).
GcpError = (GcpAuthError, GcpApiError)

_CLIENTS = {
    'instances': 'InstancesClient',
    'zone_operations': 'ZoneOperationsClient',
    'region_operations': 'RegionOperationsClient',
    'global_operations': 'GlobalOperationsClient',
    'images': 'ImagesClient',
    'disks': 'DisksClient',
    'machine_types': 'MachineTypesClient',
    'zones': 'ZonesClient',
    'networks': 'NetworksClient',
    'subnetworks': 'SubnetworksClient',
    'firewalls': 'FirewallsClient',
    'projects': 'ProjectsClient',
}


class ComputeApi:
    """One project's Compute Engine API, as the gcp options describe it."""

    request_timeout = 60.0  # seconds for one HTTP request (operations have their own bound)

    def __init__(self, params, credentials=None, project=None, clock=time.monotonic, sleep=time.sleep):
        if COMPUTE_IMPORT_ERROR:
            raise GcpAuthError('the Python library google-cloud-compute is required on the host running the task '
                               '(pip install google-cloud-compute)')
        if credentials is None:
            credentials, found = get_credentials(params)
            project = project or found
        self.credentials = credentials
        self.project = project or params.get('project')
        self.endpoint = compute_endpoint(params.get('api_endpoint'))
        self.timeout = float(params.get('timeout') or 600)
        self.params = params
        self.clock = clock
        self.sleep = sleep
        self._clients = {}

    def policy(self, deadline=None):
        return RetryPolicy.from_params(self.params, deadline=deadline, sleep=self.sleep, clock=self.clock)

    def client(self, kind):
        """A compute_v1 client (`instances`, `zone_operations`, ... or a class name) on the endpoint."""
        name = _CLIENTS.get(kind, kind)
        if name not in self._clients:
            cls = getattr(compute_v1, name)
            transport_cls = cls.get_transport_class('rest')
            # A transport made here, not by the client: the client would force
            # always_use_jwt_access=True, and self-signed JWTs bypass a key's token_uri.
            transport = transport_cls(host=self.endpoint or 'compute.googleapis.com', credentials=self.credentials,
                                      always_use_jwt_access=False)
            self._clients[name] = cls(transport=transport)
        return self._clients[name]

    def call(self, fn, what, hints=None):
        """fn() with the retry policy; GcpApiError names `what` ("cannot <what>: ...")."""
        return call(fn, self.policy(), what, hints)

    def wait(self, operation, what, timeout=None):
        """Wait until `operation` is DONE (bounded by `timeout`, default the timeout option).

        Raises GcpApiError when it ends with an error or the bound passes.
        """
        return wait_for_operation(self, operation, what, self.timeout if timeout is None else timeout)
