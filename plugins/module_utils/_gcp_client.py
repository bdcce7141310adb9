# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compute Engine API clients that honour api_endpoint, with retries and bounded operation waits.

    from ..module_utils._gcp_client import ComputeApi, GcpError, COMPUTE_IMPORT_ERROR
    api = ComputeApi(module.params)                      # raises GcpError (auth, endpoint, a bad project)
    instances = api.client('instances')                  # compute_v1.InstancesClient
    inst = api.call(lambda: instances.get(project=api.project, zone=z, instance=n, timeout=api.request_timeout),
                    'get instance %s in %s of project %s' % (n, z, api.project))
    op = api.call(lambda: instances.start_unary(...), 'start instance ...')
    api.wait(op, 'start instance ...')                   # bounded by the timeout option; GcpError on failure

Use the *_unary methods: they return the raw Operation, which api.wait() waits on with
the zone/region/global operations `wait` call on the same endpoint (operation.result()
would poll through a client that ignores api_endpoint).

Start-up cost: the package `google.cloud.compute_v1` imports every service of the
API in its __init__ (1-2.5 s). Nothing here runs that __init__: the clients come
from their own submodules (`google.cloud.compute_v1.services.instances`, ...) and
the messages from `google.cloud.compute_v1.types` (api.types, compute_types()),
imported on first use. Importing this file imports nothing of google-cloud-compute.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import threading
import time
import types

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import (
    GcpAuthError,
    compute_endpoint,
    get_credentials,
    resolve_project,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_operations import wait_for_operation
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import GcpApiError, RetryPolicy, call

COMPUTE_PACKAGE = 'google.cloud.compute_v1'


def _find_compute():
    """None when google-cloud-compute is installed, else why not (found without importing it)."""
    try:
        if importlib.util.find_spec(COMPUTE_PACKAGE) is not None:
            return None
    except (ImportError, ValueError) as exc:  # `google` or `google.cloud` missing or broken
        return 'cannot import %s: %s: %s' % (COMPUTE_PACKAGE, type(exc).__name__, exc)
    return 'cannot import %s: no module named %s' % (COMPUTE_PACKAGE, COMPUTE_PACKAGE)


# The usual HAS_X pattern, found without importing the library (see the module docstring).
COMPUTE_IMPORT_ERROR = _find_compute()
HAS_COMPUTE = COMPUTE_IMPORT_ERROR is None

# Errors a Google-facing plugin reports as its failure message (auth, API, operations).
GcpError = (GcpAuthError, GcpApiError)

_LOCK = threading.Lock()


class _LazyComputePackage(types.ModuleType):
    """google.cloud.compute_v1 whose __init__ has not run yet.

    Its submodules import as usual (the import system only needs __path__). Any
    other attribute, e.g. `compute_v1.InstancesClient` used by other code in the same
    process, runs the real __init__ first, so the package behaves as if imported
    normally.
    """

    def __getattr__(self, name):
        if name.startswith('__') and name.endswith('__') and name not in ('__all__', '__version__'):
            raise AttributeError(name)
        if importlib.util.find_spec('%s.%s' % (self.__name__, name)) is not None:
            return importlib.import_module('%s.%s' % (self.__name__, name))
        with _LOCK:
            if isinstance(self, _LazyComputePackage):  # not yet run by another thread
                self.__class__ = types.ModuleType
                try:
                    self.__spec__.loader.exec_module(self)
                except BaseException:
                    self.__class__ = _LazyComputePackage
                    raise
        return getattr(self, name)


def compute_module(name):
    """The submodule `google.cloud.compute_v1.<name>` (e.g. `types`, `services.instances`).

    The package's own __init__ is not run (when nothing else imported the package
    before); raises ImportError when the library or one of its dependencies is missing.
    """
    with _LOCK:
        if COMPUTE_PACKAGE not in sys.modules:
            if COMPUTE_IMPORT_ERROR:
                raise ImportError(COMPUTE_IMPORT_ERROR)
            spec = importlib.util.find_spec(COMPUTE_PACKAGE)
            package = importlib.util.module_from_spec(spec)  # its __path__, __spec__...; the code is not run
            package.__class__ = _LazyComputePackage
            sys.modules[COMPUTE_PACKAGE] = package
            setattr(sys.modules['google.cloud'], 'compute_v1', package)
    return importlib.import_module('%s.%s' % (COMPUTE_PACKAGE, name))


def compute_types():
    """`google.cloud.compute_v1.types`: the API's messages (Instance, Firewall, Metadata, ...)."""
    return compute_module('types')


def _client_class(name):
    """`InstancesClient` from `google.cloud.compute_v1.services.instances`, and so on."""
    if not re.match(r'^[A-Z][A-Za-z]*Client$', name):
        raise ValueError('no compute_v1 client %r: expected one of %s or a class name such as InstancesClient'
                         % (name, ', '.join(sorted(_CLIENTS))))
    service = re.sub(r'(?<!^)(?=[A-Z])', '_', name[:-len('Client')]).lower()
    return getattr(compute_module('services.' + service), name)


def _not_usable(exc):
    return GcpAuthError('the Python library google-cloud-compute is installed but cannot be imported on the host '
                        'running the task (%s: %s); reinstall it with its dependencies (pip install '
                        '--force-reinstall google-cloud-compute)' % (type(exc).__name__, exc))


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
        # The project (checked, whatever its source) before any client exists: it goes into every URL.
        if credentials is None:
            credentials, project = get_credentials(params, project)
        else:
            project = resolve_project(params, project)
        self.credentials = credentials
        self.project = project
        self.endpoint = compute_endpoint(params.get('api_endpoint'))
        self.timeout = float(params.get('timeout') or 600)
        self.params = params
        self.clock = clock
        self.sleep = sleep
        self._clients = {}
        try:
            self.types = compute_types()  # the messages (compute_v1.Instance, ...); ImportError if not usable
        except ImportError as exc:
            raise _not_usable(exc) from None

    def policy(self, deadline=None):
        return RetryPolicy.from_params(self.params, deadline=deadline, sleep=self.sleep, clock=self.clock)

    def client(self, kind):
        """A compute_v1 client (`instances`, `zone_operations`, ... or a class name) on the endpoint.

        Only that client's service is imported (on the first call for it).
        """
        name = _CLIENTS.get(kind, kind)
        if name not in self._clients:
            try:
                cls = _client_class(name)
            except ImportError as exc:
                raise _not_usable(exc) from None
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
