# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Google API calls with retries (429 and 5xx, backoff with jitter) and readable errors.

    from ..module_utils._gcp_retry import GcpApiError, RetryPolicy, call
    policy = RetryPolicy.from_params(module.params)
    instance = call(lambda: client.get(project=p, zone=z, instance=n), policy,
                    'get instance %s in %s of project %s' % (n, z, p))
    # GcpApiError: str(e) == "cannot get instance ...: <Google's message> (HTTP 403 PERMISSION_DENIED); <hint>"

Never a JSON dump: only Google's message, its HTTP code and status name, and a hint.
"""

from __future__ import annotations

import http
import random
import time

RETRYABLE_CODES = frozenset((429, 500, 502, 503, 504))

HINTS = {
    400: 'check the option values named in the message',
    401: 'the credentials were refused: check auth_kind and its options, or refresh the access token',
    403: 'grant the credentials the needed role on the project (e.g. roles/compute.instanceAdmin.v1) '
         'or enable the Compute Engine API',
    404: 'check the project, zone and resource names',
    409: 'the resource already exists or is being changed by another operation; re-run the task',
    412: 'the resource changed while it was being updated (stale fingerprint); re-run the task',
    429: 'the project is over a rate or resource quota; raise request_retries or the quota, or retry later',
}
_SERVER_HINT = 'Google answered with a server error; retry later'


class GcpApiError(Exception):
    """A failed Google API call. `code` is the HTTP code (None for network errors)."""

    def __init__(self, message, code=None, status=None, reason=None, attempts=1):
        super().__init__(message)
        self.code = code
        self.status = status
        self.reason = reason
        self.attempts = attempts


class RetryPolicy:
    def __init__(self, retries=6, initial=1.0, maximum=30.0, deadline=None, sleep=time.sleep, rand=random.random,
                 clock=time.monotonic):
        self.retries = max(0, int(retries))
        self.initial = max(0.0, float(initial))
        self.maximum = max(self.initial, float(maximum))
        self.deadline = deadline  # a clock() value after which no retry is attempted
        self.sleep = sleep
        self.rand = rand
        self.clock = clock

    @classmethod
    def from_params(cls, params, **kwargs):
        return cls(retries=params.get('request_retries', 6), initial=params.get('retry_initial_delay', 1.0),
                   maximum=params.get('retry_max_delay', 30.0), **kwargs)

    def delay(self, attempt):
        """Full-jitter exponential backoff: uniform in [0, min(max, initial * 2**attempt)]."""
        cap = min(self.maximum, self.initial * (2 ** attempt))
        return cap * self.rand()


def error_details(exc):
    """(code, status, message) of an exception from google-api-core, google-auth or requests."""
    code = getattr(exc, 'code', None)
    if not isinstance(code, int):
        code = None
    status = None
    message = None
    response = getattr(exc, 'response', None)
    if response is not None:
        if code is None:
            code = getattr(response, 'status_code', None)
        try:
            payload = response.json()
        except Exception:  # not JSON: an HTML error page, an empty body
            payload = None
        if isinstance(payload, list):
            payload = next((p for p in payload if isinstance(p, dict)), None)
        error = payload.get('error') if isinstance(payload, dict) else None
        if isinstance(error, dict):
            message = error.get('message')
            status = error.get('status')
            if not status:
                errors = error.get('errors') or []
                if errors and isinstance(errors[0], dict):
                    status = errors[0].get('reason')
        elif isinstance(error, str):
            message = error
    if code is not None:
        code = int(code)
    if not status:
        grpc_code = getattr(exc, 'grpc_status_code', None)
        status = getattr(grpc_code, 'name', None)
    if not status and code:
        try:
            status = http.HTTPStatus(code).name
        except ValueError:
            status = None
    if not message and (type(exc).__module__ or '').startswith('google.auth') and exc.args:
        # RefreshError carries the token endpoint's raw answer as a second argument: drop it.
        message = 'cannot get an access token: %s' % (exc.args[0],)
    if not message:
        message = getattr(exc, 'message', None) or str(exc) or type(exc).__name__
        # google-api-core prefixes "POST http://...: "; keep Google's words only.
        if ': ' in message and message.split(' ', 1)[0] in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE'):
            message = message.split(': ', 1)[1]
    message = ' '.join(str(message).split())[:500]
    return code, status, message


def format_error(what, code, status, message, hint=None):
    where = '(HTTP %s%s)' % (code, ' ' + status if status else '') if code else '(no answer from the API)'
    if hint is None:
        hint = HINTS.get(code) or (_SERVER_HINT if code and code >= 500 else
                                   'check api_endpoint and the network' if not code else None)
    return 'cannot %s: %s %s%s' % (what, message, where, '; ' + hint if hint else '')


def _is_api_error(exc):
    module = type(exc).__module__ or ''
    return module.startswith(('google.api_core', 'google.auth', 'requests', 'urllib3')) or \
        isinstance(exc, (ConnectionError, TimeoutError))


def call(fn, policy, what, hints=None, retry_network=True):
    """fn() with retries of 429/5xx (and network errors); GcpApiError on failure.

    `what` completes "cannot ...", e.g. "create instance w1 in us-central1-a of project p".
    `hints` maps HTTP codes to what the user should do, overriding HINTS.
    """
    attempt = 0
    while True:
        try:
            return fn()
        except GcpApiError:
            raise
        except Exception as exc:
            if not _is_api_error(exc):
                raise
            if _is_auth_error(exc):
                raise GcpApiError('cannot %s: %s; check the credentials (auth_kind and its options)'
                                  % (what, error_details(exc)[2]), status='UNAUTHENTICATED') from None
            code, status, message = error_details(exc)
            retryable = code in RETRYABLE_CODES or (code is None and retry_network and _is_network_error(exc))
            delay = policy.delay(attempt)
            hinted = retry_after(exc)
            if hinted is not None:
                # the server said when: at least that, within retry_max_delay
                delay = min(max(delay, hinted), policy.maximum)
            late = policy.deadline is not None and policy.clock() + delay >= policy.deadline
            if retryable and attempt < policy.retries and not late:
                policy.sleep(delay)
                attempt += 1
                continue
            hint = (hints or {}).get(code)
            text = format_error(what, code, status, message, hint)
            if retryable and attempt:
                text += ' (after %d attempts)' % (attempt + 1)
            raise GcpApiError(text, code=code, status=status, attempts=attempt + 1) from None


def retry_after(exc):
    """Seconds from a Retry-After header (delta-seconds form), or None."""
    headers = getattr(getattr(exc, 'response', None), 'headers', None) or {}
    try:
        value = headers.get('Retry-After')
    except AttributeError:
        return None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _is_network_error(exc):
    name = type(exc).__name__
    return isinstance(exc, (ConnectionError, TimeoutError)) or name in (
        'ConnectionError', 'ConnectTimeout', 'ReadTimeout', 'Timeout', 'TransportError', 'ChunkedEncodingError')


def _is_auth_error(exc):
    """google-auth could not get or refresh a token (not a network failure)."""
    return type(exc).__name__ in ('RefreshError', 'DefaultCredentialsError', 'ReauthFailError') and \
        (type(exc).__module__ or '').startswith('google.auth')
