"""Units of module_utils/_registry: parsing, and the client against a scripted HTTP server on loopback
(auth challenges, the token dance, pagination, digests, retries, errors)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hypothesis import given, strategies as st

from ansible_collections.gcli.offload.plugins.module_utils import _registry as reg
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import RetryPolicy


# -- parsing --------------------------------------------------------------------------------

@pytest.mark.parametrize('image, registry, repository', [
    ('us-docker.pkg.dev/proj/repo/maintainer', 'us-docker.pkg.dev', 'proj/repo/maintainer'),
    ('127.0.0.1:5000/x/y', '127.0.0.1:5000', 'x/y'),
    ('localhost/a', 'localhost', 'a'),
    ('gcr.io/p/img', 'gcr.io', 'p/img'),
    ('[::1]:5000/a/b', '[::1]:5000', 'a/b'),
    ('busybox', 'docker.io', 'library/busybox'),
    ('team/app', 'docker.io', 'team/app'),
    ('r.example.com/a__b/c-d.e_f', 'r.example.com', 'a__b/c-d.e_f'),
])
def test_parse_image(image, registry, repository):
    name = reg.parse_image(image)
    assert (name.registry, name.repository, name.display) == (registry, repository, image)


@pytest.mark.parametrize('image, words', [
    ('', 'non-empty'),
    ('us-docker.pkg.dev/p/r/img:latest', 'carries a tag'),
    ('127.0.0.1:5000/x/y@sha256:' + 'a' * 64, 'carries a digest'),
    ('https://r.example.com/x', 'without a scheme'),
    ('r.example.com/Upper/x', 'not valid'),
    ('r.example.com/x//y', 'not valid'),
    ('r.example.com/x y', 'without a scheme or spaces'),
    ('bad_host.example.com:x/y', 'registry host'),
    ('r.example.com/-x', 'not valid'),
    ('-l.x/y', 'registry host'),
    ('--privileged.a/b', 'registry host'),
    ('-x/y', 'not valid'),
])
def test_parse_image_refuses(image, words):
    with pytest.raises(reg.RegistryError) as err:
        reg.parse_image(image)
    assert err.value.kind == 'invalid' and words in str(err.value)


def test_parse_challenge():
    header = ('Bearer realm="https://auth.example.com/token",service="registry.example.com",'
              'scope="repository:a/b:pull,push", Basic realm="x"')
    assert reg.parse_challenge(header) == [
        ('bearer', {'realm': 'https://auth.example.com/token', 'service': 'registry.example.com',
                    'scope': 'repository:a/b:pull,push'}),
        ('basic', {'realm': 'x'}),
    ]
    assert reg.parse_challenge('Basic realm="Registry Realm"') == [('basic', {'realm': 'Registry Realm'})]
    assert reg.parse_challenge('Bearer realm=https://h/t,service=s') == [
        ('bearer', {'realm': 'https://h/t', 'service': 's'})]
    assert reg.parse_challenge('Bearer realm="a\\"b"') == [('bearer', {'realm': 'a"b'})]
    assert reg.parse_challenge('') == []


@given(st.text(max_size=200))
def test_parse_challenge_never_crashes(text):
    out = reg.parse_challenge(text)
    assert isinstance(out, list)


def test_parse_next_link():
    assert reg.parse_next_link('</v2/a/tags/list?n=2&last=b>; rel="next"') == '/v2/a/tags/list?n=2&last=b'
    assert reg.parse_next_link('<https://h/v2/a/tags/list?last=b>; rel=next') == 'https://h/v2/a/tags/list?last=b'
    assert reg.parse_next_link('</x>; rel="prev", </y>; rel="next"') == '/y'
    assert reg.parse_next_link('</x>; rel="prev"') is None
    assert reg.parse_next_link(None) is None


@pytest.mark.parametrize('host, loopback', [
    ('127.0.0.1', True), ('127.1.2.3', True), ('::1', True), ('[::1]', True), ('localhost', True),
    ('a.localhost', True), ('10.0.0.1', False), ('example.com', False), ('localhost.example.com', False),
])
def test_is_loopback_host(host, loopback):
    assert reg.is_loopback_host(host) is loopback


@pytest.mark.parametrize('host, google', [
    ('us-docker.pkg.dev', True), ('europe-west1-docker.pkg.dev', True), ('gcr.io', True), ('eu.gcr.io', True),
    ('us-docker.pkg.dev.evil.com', False), ('evilgcr.io', False), ('docker.io', False), ('127.0.0.1:5000', False),
])
def test_is_google_registry(host, google):
    assert reg.is_google_registry(host) is google


def test_manifest_platforms():
    body = {'manifests': [
        {'digest': 'sha256:1', 'mediaType': reg.OCI_MANIFEST, 'platform': {'os': 'linux', 'architecture': 'amd64'}},
        {'digest': 'sha256:2', 'mediaType': reg.OCI_MANIFEST,
         'platform': {'os': 'linux', 'architecture': 'arm', 'variant': 'v7'}},
        {'digest': 'sha256:3', 'mediaType': reg.OCI_MANIFEST},  # an attestation without a platform
    ]}
    m = reg.Manifest('sha256:x', reg.OCI_INDEX, 10, body)
    assert [p['platform'] for p in m.platforms()] == ['linux/amd64', 'linux/arm/v7', '']
    assert m.as_dict()['platforms'][1]['variant'] == 'v7'
    assert reg.Manifest('sha256:x', reg.OCI_MANIFEST).platforms() == []


# -- a scripted registry ----------------------------------------------------------------------

class Fake:
    """A loopback HTTP server; ``route(method, path, headers) -> (status, headers, body)``."""

    def __init__(self, route):
        self.route = route
        self.seen = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                return

            def _do(self, method):
                fake.seen.append((method, self.path, dict(self.headers)))
                status, headers, body = fake.route(method, self.path, self.headers)
                data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b''
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                if method != 'HEAD':
                    self.wfile.write(data)

            def do_GET(self):
                self._do('GET')

            def do_HEAD(self):
                self._do('HEAD')

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.host = '127.0.0.1:%d' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    servers = []

    def make(route):
        f = Fake(route)
        servers.append(f)
        return f
    yield make
    for f in servers:
        f.close()


def no_sleep_policy(retries=2):
    return RetryPolicy(retries=retries, initial=0.0, maximum=0.0, sleep=lambda _s: None)


MANIFEST = json.dumps({'schemaVersion': 2, 'mediaType': reg.OCI_MANIFEST, 'config': {}, 'layers': []}).encode()
MANIFEST_DIGEST = 'sha256:' + hashlib.sha256(MANIFEST).hexdigest()


def test_token_dance_with_basic_credentials(fake):
    tokens = []

    def route(method, path, headers):
        auth = headers.get('Authorization', '')
        if path.startswith('/token'):
            expected = 'Basic ' + base64.b64encode(b'robot:pw').decode()
            if auth != expected:
                return 401, {}, {'errors': [{'code': 'UNAUTHORIZED'}]}
            assert 'scope=repository%3Ateam%2Fapp%3Apull' in path and 'service=fake' in path
            tokens.append('tok-1')
            return 200, {}, {'token': 'tok-1'}
        if auth != 'Bearer tok-1':
            return 401, {'WWW-Authenticate': 'Bearer realm="http://%s/token",service="fake",'
                                             'scope="repository:team/app:pull"' % server.host}, None
        if path.startswith('/v2/team/app/tags/list'):
            return 200, {}, {'name': 'team/app', 'tags': ['a', 'b']}
        return 200, {'Content-Type': reg.OCI_MANIFEST, 'Docker-Content-Digest': MANIFEST_DIGEST}, MANIFEST
    server = fake(route)
    client = reg.RegistryClient(server.host, plain_http=True, username='robot', password='pw')
    assert client.list_tags('team/app') == (['a', 'b'], 1)
    assert client.manifest('team/app', 'a').digest == MANIFEST_DIGEST
    assert tokens == ['tok-1'], 'the token is fetched once and reused for the scope'


def test_google_token_sent_then_exchanged(fake):
    """Artifact Registry takes the access token as a bearer token; gcr.io wants it exchanged at its realm."""
    def route(method, path, headers):
        auth = headers.get('Authorization', '')
        if path.startswith('/token'):
            assert auth == 'Basic ' + base64.b64encode(b'oauth2accesstoken:ya29.secret').decode()
            return 200, {}, {'access_token': 'exchanged'}
        if auth != 'Bearer exchanged':
            return 401, {'WWW-Authenticate': 'Bearer realm="http://%s/token",service="gcr"' % server.host}, None
        return 200, {}, {'tags': ['latest']}
    server = fake(route)
    calls = []
    client = reg.RegistryClient(server.host, plain_http=True, token_provider=lambda: calls.append(1) or 'ya29.secret')
    assert client.list_tags('p/i')[0] == ['latest']
    assert server.seen[0][2]['Authorization'] == 'Bearer ya29.secret'
    assert len(calls) == 1


def test_anonymous_token_dance(fake):
    def route(method, path, headers):
        if path.startswith('/token'):
            assert 'Authorization' not in headers
            return 200, {}, {'token': 'anon'}
        if headers.get('Authorization') != 'Bearer anon':
            return 401, {'WWW-Authenticate': 'Bearer realm="http://%s/token"' % server.host}, None
        return 200, {}, {'tags': None}
    server = fake(route)
    assert reg.RegistryClient(server.host, plain_http=True).list_tags('a/b') == ([], 1)


def test_basic_challenge(fake):
    good = 'Basic ' + base64.b64encode(b'u:p').decode()

    def route(method, path, headers):
        if headers.get('Authorization') != good:
            return 401, {'WWW-Authenticate': 'Basic realm="r"'}, {'errors': [{'code': 'UNAUTHORIZED',
                                                                              'message': 'authentication required'}]}
        return 200, {}, {'tags': ['x']}
    server = fake(route)
    assert reg.RegistryClient(server.host, plain_http=True, username='u', password='p').list_tags('a')[0] == ['x']
    with pytest.raises(reg.RegistryError) as err:
        reg.RegistryClient(server.host, plain_http=True, username='u', password='wrong').list_tags('a')
    assert err.value.kind == 'denied' and 'HTTP 401, UNAUTHORIZED: authentication required' in str(err.value)
    assert 'wrong' not in str(err.value)
    with pytest.raises(reg.RegistryError) as err:
        reg.RegistryClient(server.host, plain_http=True).list_tags('a')
    assert err.value.kind == 'denied' and 'anonymous' in str(err.value)


def test_token_service_refusal_is_denied(fake):
    def route(method, path, headers):
        if path.startswith('/token'):
            return 403, {}, {'errors': [{'code': 'DENIED', 'message': 'no pull access'}]}
        return 401, {'WWW-Authenticate': 'Bearer realm="http://%s/token"' % server.host}, None
    server = fake(route)
    with pytest.raises(reg.RegistryError) as err:
        reg.RegistryClient(server.host, plain_http=True, username='u', password='p').list_tags('a/b')
    assert err.value.kind == 'denied' and 'token service' in str(err.value) and 'no pull access' in str(err.value)


def test_credentials_never_over_plain_http_to_a_remote_host():
    with pytest.raises(reg.RegistryError) as err:
        reg.RegistryClient('registry.example.com', plain_http=True, username='u', password='p')
    assert 'plain http' in str(err.value)
    with pytest.raises(reg.RegistryError):
        reg.RegistryClient('10.1.2.3:5000', plain_http=True, token_provider=lambda: 't')
    reg.RegistryClient('registry.example.com', plain_http=True)  # anonymous is fine
    reg.RegistryClient('127.0.0.1:5000', plain_http=True, username='u', password='p')


def test_pagination_relative_and_absolute_links(fake):
    def route(method, path, headers):
        if path == '/v2/a/tags/list?n=2':
            return 200, {'Link': '</v2/a/tags/list?n=2&last=b>; rel="next"'}, {'tags': ['a', 'b']}
        if path == '/v2/a/tags/list?n=2&last=b':
            return 200, {'Link': '<http://%s/v2/a/tags/list?n=2&last=d>; rel="next"' % server.host}, \
                {'tags': ['c', 'd']}
        if path == '/v2/a/tags/list?n=2&last=d':
            return 200, {}, {'tags': ['e']}
        return 500, {}, None
    server = fake(route)
    assert reg.RegistryClient(server.host, plain_http=True).list_tags('a', page_size=2) == (list('abcde'), 3)


def test_pagination_loop_and_foreign_link_refused(fake):
    def route(method, path, headers):
        if path.startswith('/v2/loop/'):
            return 200, {'Link': '</v2/loop/tags/list>; rel="next"'}, {'tags': ['a']}
        return 200, {'Link': '<http://evil.example.com/v2/x/tags/list?last=a>; rel="next"'}, {'tags': ['a']}
    server = fake(route)
    client = reg.RegistryClient(server.host, plain_http=True)
    with pytest.raises(reg.RegistryError) as err:
        client.list_tags('loop')
    assert 'loops' in str(err.value)
    with pytest.raises(reg.RegistryError) as err:
        client.list_tags('x')
    assert 'refusing to follow' in str(err.value)


def test_manifest_head_get_and_digest_checks(fake):
    index = json.dumps({'schemaVersion': 2, 'mediaType': reg.OCI_INDEX, 'manifests': [
        {'digest': MANIFEST_DIGEST, 'mediaType': reg.OCI_MANIFEST,
         'platform': {'os': 'linux', 'architecture': 'amd64'}}]}).encode()
    index_digest = 'sha256:' + hashlib.sha256(index).hexdigest()

    def route(method, path, headers):
        assert headers['Accept'] == reg.MANIFEST_ACCEPT
        tag = path.rsplit('/', 1)[-1]
        if tag in ('index', index_digest):
            return 200, {'Content-Type': reg.OCI_INDEX, 'Docker-Content-Digest': index_digest}, index
        if tag == 'nodigest':  # HEAD without the header: the client GETs and hashes
            return 200, {'Content-Type': reg.OCI_MANIFEST}, MANIFEST
        if tag == 'lying':
            return 200, {'Content-Type': reg.OCI_MANIFEST, 'Docker-Content-Digest': 'sha256:' + '0' * 64}, MANIFEST
        if tag == 'gone':
            return 404, {}, {'errors': [{'code': 'MANIFEST_UNKNOWN', 'message': 'manifest unknown'}]}
        return 404, {}, None
    server = fake(route)
    client = reg.RegistryClient(server.host, plain_http=True)
    head = client.manifest('a', 'index')
    assert head.digest == index_digest and head.is_index and head.body is None
    full = client.manifest('a', index_digest, head=False)
    assert full.platforms()[0]['platform'] == 'linux/amd64' and full.size == len(index)
    nodigest = client.manifest('a', 'nodigest')
    assert nodigest.digest == MANIFEST_DIGEST
    assert [m for m, p, _h in server.seen if p.endswith('/nodigest')] == ['HEAD', 'GET']
    with pytest.raises(reg.RegistryError) as err:
        client.manifest('a', 'lying', head=False)
    assert 'does not match' in str(err.value)
    with pytest.raises(reg.RegistryError) as err:
        client.manifest('a', 'gone', head=False)
    assert err.value.kind == 'not_found' and 'MANIFEST_UNKNOWN' in str(err.value) and 'a:gone' in str(err.value)


def test_retries_then_readable_errors(fake):
    answers = {'n': 0}

    def route(method, path, headers):
        answers['n'] += 1
        if path.startswith('/v2/flaky/') and answers['n'] < 3:
            return 503, {}, None
        if path.startswith('/v2/down/'):
            return 500, {}, b'<html>oops</html>'
        if path.startswith('/v2/nope/'):
            return 404, {}, {'errors': [{'code': 'NAME_UNKNOWN', 'message': 'repository name not known'}]}
        return 200, {}, {'tags': ['ok']}
    server = fake(route)
    client = reg.RegistryClient(server.host, plain_http=True, retry_policy=no_sleep_policy(2))
    assert client.list_tags('flaky')[0] == ['ok'] and answers['n'] == 3
    with pytest.raises(reg.RegistryError) as err:
        client.list_tags('down')
    assert err.value.kind == 'protocol' and 'HTTP 500' in str(err.value) and '<html>' not in str(err.value)
    with pytest.raises(reg.RegistryError) as err:
        client.list_tags('nope', image='%s/nope' % server.host)
    assert err.value.kind == 'not_found' and 'image %s/nope not found' % server.host in str(err.value)
    assert 'NAME_UNKNOWN' in str(err.value)


def test_unreachable_after_retries():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    slept = []
    policy = RetryPolicy(retries=2, initial=0.5, maximum=1.0, sleep=slept.append, rand=lambda: 1.0)
    client = reg.RegistryClient('127.0.0.1:%d' % port, plain_http=False, retry_policy=policy, timeout=2)
    with pytest.raises(reg.RegistryError) as err:
        client.list_tags('a')
    assert err.value.kind == 'unreachable' and 'cannot reach the registry at https://127.0.0.1:%d' % port in str(
        err.value) and 'plain_http' in str(err.value)
    assert slept == [0.5, 1.0] and client.requests_made == 3


def test_google_token_failure_is_reported(fake):
    server = fake(lambda m, p, h: (200, {}, {'tags': []}))

    def broken():
        raise RuntimeError('no credentials found')
    with pytest.raises(reg.RegistryError) as err:
        reg.RegistryClient(server.host, plain_http=True, token_provider=broken).list_tags('a')
    assert err.value.kind == 'denied' and 'no credentials found' in str(err.value)


def test_pinned_reference():
    assert reg.pinned_reference('h/a/b', 'sha256:' + 'a' * 64) == 'h/a/b@sha256:' + 'a' * 64


def test_google_token_never_sent_to_a_foreign_realm(fake):
    def route(method, path, headers):
        return 401, {'WWW-Authenticate': 'Bearer realm="https://auth.evil.example.com/token"'}, None
    server = fake(route)
    with pytest.raises(reg.RegistryError) as err:
        reg.RegistryClient(server.host, plain_http=True, token_provider=lambda: 'ya29.secret').list_tags('a')
    assert err.value.kind == 'denied' and 'auth.evil.example.com' in str(err.value)
    assert 'ya29.secret' not in str(err.value)
    assert len(server.seen) == 1, 'nothing sent to the realm'


def test_split_reference():
    import pytest as _pytest

    from ansible_collections.gcli.offload.plugins.module_utils._image_ref import split_reference
    from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError

    digest = 'sha256:' + 'a' * 64
    assert split_reference('us-docker.pkg.dev/p/r/maintainer:latest') == ('us-docker.pkg.dev/p/r/maintainer', 'latest', None)
    assert split_reference('127.0.0.1:5000/x/y') == ('127.0.0.1:5000/x/y', None, None)
    assert split_reference('127.0.0.1:5000/x/y:v1@' + digest) == ('127.0.0.1:5000/x/y', 'v1', digest)
    assert split_reference('busybox@' + digest) == ('busybox', None, digest)
    for bad in ('x/y:', 'x/y:-bad', 'x/y@sha256:short', 'X/Y:1', '', None):
        with _pytest.raises(InputError):
            split_reference(bad)
