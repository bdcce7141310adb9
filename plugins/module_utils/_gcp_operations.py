# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Waiting for Compute Engine operations: the operations `wait` call, in a loop bounded by a timeout.

`wait` returns when the operation is DONE or after about two minutes, so it is
called again until DONE or until the deadline; each HTTP request is itself
bounded by the time left. An operation that ends with an error raises
GcpApiError with Google's first error (code and message).
"""

from __future__ import annotations

from ansible_collections.gcli.offload.plugins.module_utils._gce_names import basename
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import GcpApiError, call

# Longest a single `wait` request may hold (Google holds it up to ~2 minutes).
MAX_WAIT_REQUEST = 130.0


def _status_name(operation):
    status = getattr(operation, 'status', None)
    return getattr(status, 'name', status)


def operation_failure(operation):
    """(code, message) of the operation's first error, or None when it succeeded."""
    error = getattr(operation, 'error', None)
    errors = list(getattr(error, 'errors', None) or []) if error else []
    if not errors and not getattr(operation, 'http_error_status_code', 0):
        return None
    if errors:
        first = errors[0]
        message = ' '.join(str(first.message or first.code).split())
        more = ' (and %d more errors)' % (len(errors) - 1) if len(errors) > 1 else ''
        return first.code or 'ERROR', message + more
    return str(operation.http_error_status_code), operation.http_error_message or 'the operation failed'


def wait_for_operation(api, operation, what, timeout):
    project = api.project
    name = operation.name
    deadline = api.clock() + float(timeout)
    if getattr(operation, 'zone', None):
        client, where = api.client('zone_operations'), {'zone': basename(operation.zone)}
    elif getattr(operation, 'region', None):
        client, where = api.client('region_operations'), {'region': basename(operation.region)}
    else:
        client, where = api.client('global_operations'), {}
    while _status_name(operation) != 'DONE':
        left = deadline - api.clock()
        if left <= 0:
            raise GcpApiError('cannot %s: the operation %s did not finish within timeout=%ss (it may still '
                              'complete; raise the timeout option, or check it with `gcloud compute operations '
                              'describe %s`)' % (what, name, _seconds(timeout), name), status='TIMEOUT')
        request_timeout = min(left, MAX_WAIT_REQUEST)
        try:
            operation = call(lambda: client.wait(project=project, operation=name, timeout=request_timeout, **where),
                             api.policy(deadline=deadline), 'wait for operation %s (%s)' % (name, what))
        except GcpApiError as exc:
            if exc.code is None and api.clock() >= deadline:
                continue  # the request was cut at the deadline: report the timeout above
            raise
    failure = operation_failure(operation)
    if failure:
        code, message = failure
        raise GcpApiError('cannot %s: %s (operation %s ended with %s)' % (what, message, name, code),
                          status=code)
    return operation


def _seconds(seconds):
    return int(seconds) if float(seconds).is_integer() else seconds
