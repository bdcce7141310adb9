# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_gcp_retry: Google's error format read into readable messages, and the retry policy
(what is retried, backoff, Retry-After, deadline)."""

from __future__ import annotations

import pytest

from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import (
    GcpApiError,
    RetryPolicy,
    call,
    error_details,
)


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
