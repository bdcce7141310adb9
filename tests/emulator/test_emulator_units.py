# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Units of the emulator (tests/emulator/gce_emulator), in process: the rules
that the integration tests reach only through HTTP."""

from __future__ import annotations

import base64
import json

import pytest
from gce_emulator import cloudbuild, core
from gce_emulator.compute import common, listing
from gce_emulator.server import build_app


def call(app, method, path, body=None, query=None, headers=None):
    raw = json.dumps(body).encode() if body is not None else b''
    req = core.Request(method, path, query or {}, headers or {}, raw, 'http://127.0.0.1:1')
    resp = app.handle(req)
    return resp.status, resp.body


@pytest.fixture
def app():
    application = build_app(operation_delay=0)
    yield application
    application.scheduler.stop()


ITEMS = [{'name': 'a-1', 'status': 'RUNNING', 'labels': {'role': 'worker'}, 'flag': True},
         {'name': 'a-2', 'status': 'TERMINATED', 'labels': {'role': 'other'}, 'flag': False},
         {'name': 'b-1', 'status': 'RUNNING'}]


@pytest.mark.parametrize('expr,names', [
    ('', ['a-1', 'a-2', 'b-1']),
    ('name = a-1', ['a-1']),
    ('name = "a-*"', ['a-1', 'a-2']),
    ('name != a-1', ['a-2', 'b-1']),
    ('name eq a-.*', ['a-1', 'a-2']),
    ('name ne a-.*', ['b-1']),
    ('labels.role = worker', ['a-1']),
    ('(status = RUNNING) AND (name eq b.*)', ['b-1']),
    ('status = RUNNING name = a-1', ['a-1']),
    ('flag = true', ['a-1']),
    ('labels.role:*', ['a-1', 'a-2']),
    ('name eq ".*\\ba\\-1\\b.*"', ['a-1']),        # gcloud's rewrite of --filter=name=a-1
])
def test_filter(expr, names):
    assert [i['name'] for i in listing.apply_filter(ITEMS, expr)] == names


@pytest.mark.parametrize('expr', ['name', 'a = b OR c = d', '= x'])
def test_filter_refused(expr):
    with pytest.raises(core.ApiError) as err:
        listing.apply_filter(ITEMS, expr)
    assert err.value.code == 400


def test_fingerprint_bytes_either_alphabet():
    raw = bytes([0xfb, 0xff, 0xbf, 1, 2, 3, 4, 5])
    std, url = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    assert std != url and common.fingerprint_bytes(std) == common.fingerprint_bytes(url) == raw
    assert common.fingerprint_bytes(url.rstrip('=')) == raw
    assert common.fingerprint_bytes('not base64!') is None
    assert common.fingerprint_bytes(common.fingerprint()) is not None


@pytest.mark.parametrize('value,rel', [
    ('https://www.googleapis.com/compute/v1/projects/p/zones/z', 'projects/p/zones/z'),
    ('http://127.0.0.1:9/compute/v1/projects/p/global/images/x', 'projects/p/global/images/x'),
    ('https://compute.googleapis.com/compute/beta/projects/p', 'projects/p'),
    (core.LINK_BASE + 'projects/p', 'projects/p'),
    ('zones/z/machineTypes/m', 'zones/z/machineTypes/m'),
    ('/global/networks/default', 'global/networks/default'),
])
def test_relative(value, rel):
    assert common.relative(value) == rel


def test_error_body_styles():
    err = core.ApiError(412, 'stale')
    assert err.body() == {'error': {'code': 412, 'message': 'stale', 'status': 'FAILED_PRECONDITION', 'errors': [
        {'message': 'stale', 'domain': 'global', 'reason': 'conditionNotMet'}]}}
    assert err.body('oneplatform') == {'error': {'code': 412, 'message': 'stale', 'status': 'FAILED_PRECONDITION'}}


def test_faults_take_counts_and_method(app):
    faults = core.Faults()
    faults.add({'status': 503, 'path': '/x$', 'method': 'get', 'times': 2})
    assert faults.take('status', 'POST', '/a/x') is None
    assert faults.take('status', 'GET', '/a/x')['status'] == 503
    assert faults.take('status', 'GET', '/a/x')['status'] == 503
    assert faults.take('status', 'GET', '/a/x') is None
    faults.add({'operation_delay': 1.5, 'path': 'stop'})
    for _round in range(5):
        assert faults.take('operation_delay', 'POST', '/i/stop')['delay'] == 1.5


def test_in_process_insert_with_zero_delay_is_done_at_once(app):
    body = {'name': 'w', 'machineType': 'zones/us-central1-a/machineTypes/e2-small',
            'disks': [{'initializeParams': {'sourceImage': 'projects/debian-cloud/global/images/family/debian-12'}}],
            'networkInterfaces': [{}]}
    status, op = call(app, 'POST', '/compute/v1/projects/proj-a/zones/us-central1-a/instances', body)
    assert status == 200 and op['status'] == 'DONE'
    status, inst = call(app, 'GET', '/compute/v1/projects/proj-a/zones/us-central1-a/instances/w')
    assert inst['status'] == 'RUNNING' and inst['disks'][0]['boot'] is True     # the first disk boots
    assert inst['disks'][0]['source'].startswith(core.LINK_BASE)                 # rewritten on the wire only
    assert 'accessConfigs' not in inst['networkInterfaces'][0]


def test_projects_are_validated(app):
    status, body = call(app, 'GET', '/compute/v1/projects/BAD/zones')
    assert status == 404 and body['error']['errors'][0]['reason'] == 'notFound'


def test_trigger_validate_and_mask():
    trig = {'name': 't-1', 'github': {'owner': 'o', 'name': 'r', 'push': {'tag': '^v.*$'}}, 'filename': 'b.yml'}
    assert cloudbuild.validate(dict(trig)) == trig
    merged = cloudbuild._merge_mask(dict(trig, description='d'), {'github': {'push': {'tag': 'x'}}},
                                    ['github.push', 'description'])
    assert merged['github'] == {'owner': 'o', 'name': 'r', 'push': {'tag': 'x'}} and 'description' not in merged
    assert cloudbuild._camel('include_build_logs') == 'includeBuildLogs'


def test_token_endpoint_in_process(app):
    def enc(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b'=').decode()
    claims = {'iss': 'a@b', 'aud': 'x', 'iat': 1, 'exp': 4e9, 'scope': 's'}
    assertion = '%s.%s.sig' % (enc({'alg': 'RS256'}), enc(claims))
    req = core.Request('POST', '/token', {}, {'Content-Type': 'application/x-www-form-urlencoded'},
                       ('grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=' +
                        assertion).encode(), 'http://h')
    resp = app.handle(req)
    assert resp.status == 200 and resp.body['access_token'] in app.tokens


def test_self_signed_jwt():
    def enc(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b'=').decode()
    claims = {'iss': 'a@b', 'sub': 'a@b', 'iat': 1, 'exp': 4e9, 'aud': 'https://compute.googleapis.com/'}
    assert core.self_signed_jwt('h.%s.s' % enc(claims))
    assert not core.self_signed_jwt('h.%s.s' % enc(dict(claims, exp=1)))
    assert not core.self_signed_jwt('opaque-token')


def test_a_handler_bug_is_a_google_format_500(app, capsys):
    def broken(req):
        raise KeyError('boom')
    app.router.add('GET', '/compute/v1/broken', broken)
    status, body = call(app, 'GET', '/compute/v1/broken')
    assert status == 500 and 'Emulator bug' in body['error']['message']
    assert 'KeyError' in capsys.readouterr().err


_BASE_INSTANCE = {
    'name': 'w', 'machineType': 'zones/us-central1-a/machineTypes/e2-small', 'networkInterfaces': [{}],
    'disks': [{'boot': True, 'initializeParams': {'sourceImage': 'projects/debian-cloud/global/images/family/debian-12'}}]}
_WRONG = [1, 'x', [], {}, [1], ['x'], {'a': 1}, True, [None]]


@pytest.mark.parametrize('field', ['name', 'machineType', 'disks', 'networkInterfaces', 'metadata', 'labels', 'tags',
                                   'scheduling', 'serviceAccounts', 'shieldedInstanceConfig', 'deletionProtection'])
def test_wrongly_typed_instance_fields_are_400_never_500(app, field):
    for value in _WRONG:
        status, body = call(app, 'POST', '/compute/v1/projects/proj-a/zones/us-central1-a/instances',
                            dict(_BASE_INSTANCE, **{field: value}))
        assert status in (200, 400), (field, value, body)
        if status == 200:
            app.reset()


@pytest.mark.parametrize('sub', [
    {'disks': [{'boot': True, 'initializeParams': {'sourceImage': 1}}]},
    {'networkInterfaces': [{'accessConfigs': 'x'}]}, {'networkInterfaces': [{'accessConfigs': [1]}]},
    {'metadata': {'items': [1]}}, {'tags': {'items': 'abc'}}, {'serviceAccounts': [{'scopes': 'x'}]},
    {'scheduling': {'automaticRestart': 'x'}},
])
def test_wrongly_typed_nested_fields(app, sub):
    status, body = call(app, 'POST', '/compute/v1/projects/proj-a/zones/us-central1-a/instances',
                        dict(_BASE_INSTANCE, **sub))
    assert status == 400 and body['error']['message'].startswith('Invalid JSON payload received. Invalid value at')


@pytest.mark.parametrize('change', [
    {'github': 1}, {'github': {'owner': 'o', 'name': 'r', 'push': 'x'}}, {'serviceAccount': 1},
    {'substitutions': [1]}, {'github': {'owner': 'o', 'name': 'r', 'pullRequest': {'branch': ['m']}}},
])
def test_wrongly_typed_trigger_fields(app, change):
    body = dict({'name': 't', 'github': {'owner': 'o', 'name': 'r', 'push': {'branch': 'main'}}, 'filename': 'b.yml'},
                **change)
    status, answer = call(app, 'POST', '/v1/projects/p/triggers', body)
    assert status == 400 and answer['error']['status'] == 'INVALID_ARGUMENT'


BATCH_PART = ('--b\r\nContent-Type: application/http\r\nContent-ID: <uuid+%d>\r\n\r\n'
              'GET /compute/v1/projects/proj-a/zones/us-central1-a/instances/%s?alt=json HTTP/1.1\r\n'
              'Accept: application/json\r\n\r\n\r\n')


def test_batch_answers_each_part_in_order_with_its_content_id(app):
    import email.parser
    call(app, 'POST', '/compute/v1/projects/proj-a/zones/us-central1-a/instances', {
        'name': 'w', 'machineType': 'zones/us-central1-a/machineTypes/e2-small', 'networkInterfaces': [{}],
        'disks': [{'initializeParams': {'sourceImage': 'projects/debian-cloud/global/images/family/debian-12'}}]})
    raw = (BATCH_PART % (0, 'w') + BATCH_PART % (1, 'missing') + '--b--\r\n').encode()
    req = core.Request('POST', '/batch/compute/v1', {}, {'Content-Type': 'multipart/mixed; boundary="b"'}, raw,
                       'http://127.0.0.1:1')
    resp = app.handle(req)
    assert resp.status == 200 and resp.content_type.startswith('multipart/mixed; boundary=')
    message = email.parser.Parser().parsestr('Content-Type: %s\r\n\r\n%s' % (resp.content_type, resp.body.decode()))
    parts = message.get_payload()
    assert [p['Content-ID'] for p in parts] == ['<response-uuid+0>', '<response-uuid+1>']
    first, second = (p.get_payload() for p in parts)
    assert first.startswith('HTTP/1.1 200 OK\r\n') and '"name": "w"' in first
    assert second.startswith('HTTP/1.1 404 Not Found\r\n') and "instances/missing' was not found" in second
    # each part is a request of its own in the log, then the batch
    assert [(e['method'], e['path'].rsplit('/', 1)[-1]) for e in app.log[-3:]] == [
        ('GET', 'w'), ('GET', 'missing'), ('POST', 'v1')]


@pytest.mark.parametrize('ctype,raw', [
    ('application/json', b'{}'),
    ('multipart/mixed; boundary="b"', b'--b--\r\n'),
    ('multipart/mixed; boundary="b"', b'--b\r\nContent-Type: application/http\r\n\r\nnot a request line\r\n--b--\r\n'),
])
def test_batch_refuses_what_is_not_a_batch(app, ctype, raw):
    req = core.Request('POST', '/batch/compute/v1', {}, {'Content-Type': ctype}, raw, 'http://127.0.0.1:1')
    resp = app.handle(req)
    assert resp.status == 400 and resp.body['error']['status'] == 'INVALID_ARGUMENT'
