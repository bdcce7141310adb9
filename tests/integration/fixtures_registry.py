"""A real OCI registry on loopback for the image_tag_info tests.

Debian's ``docker-registry`` (distribution 2.8) runs from a config file in a temp
directory on a free loopback port; images are written as OCI layouts (small
single-layer images made here, no base image to pull) and pushed with ``skopeo``.

Fixtures:
- ``registry``: plain http, anonymous.
- ``tls_registry``: https with a self-signed CA (``.ca_path``) and htpasswd basic
  auth (``.username``/``.password``).
- ``paging_proxy``: a pass-through proxy in front of ``registry`` that adds the
  spec's tag pagination. distribution 2.8 (Debian 12's) ignores ``n`` on
  ``tags/list`` and returns every tag (pagination arrived in distribution 3,
  distribution/distribution#3143), while Artifact Registry and others page; the
  proxy answers ``tags/list?n=N[&last=T]`` from the real registry's full list, in
  lexical order, with a ``Link: <...>; rel="next"`` header while tags remain, and
  forwards everything else unchanged. It also records the requests it forwards,
  so tests can count what a module sent.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import warnings

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _blob(root, data):
    digest = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(root, 'blobs', 'sha256'), exist_ok=True)
    with open(os.path.join(root, 'blobs', 'sha256', digest), 'wb') as f:
        f.write(data)
    return {'digest': 'sha256:' + digest, 'size': len(data)}


def _layer(content):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo('content.txt')
        info.size = len(content)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _image(root, content, platform):
    os_name, arch = platform.split('/')[:2]
    layer = _blob(root, _layer(content))
    config = {'architecture': arch, 'os': os_name, 'config': {},
              'rootfs': {'type': 'layers', 'diff_ids': [layer['digest']]}}
    config_desc = _blob(root, json.dumps(config, sort_keys=True).encode())
    manifest = {'schemaVersion': 2, 'mediaType': OCI_MANIFEST,
                'config': dict(config_desc, mediaType='application/vnd.oci.image.config.v1+json'),
                'layers': [dict(layer, mediaType='application/vnd.oci.image.layer.v1.tar')]}
    desc = _blob(root, json.dumps(manifest, sort_keys=True).encode())
    return dict(desc, mediaType=OCI_MANIFEST, platform={'os': os_name, 'architecture': arch})


def write_oci_layout(root, name, content, platforms=('linux/amd64',)):
    """Write (or add to) an OCI layout at ``root`` holding the image ``name``.

    One platform gives a single image manifest; several give an image index over one
    image per platform. ``content`` makes the images distinct (it is the layer's file).
    """
    os.makedirs(root, exist_ok=True)
    descs = [_image(root, content + ('\n' + p).encode(), p) for p in platforms]
    if len(descs) == 1:
        top = descs[0]
    else:
        index = {'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': descs}
        top = dict(_blob(root, json.dumps(index, sort_keys=True).encode()), mediaType=OCI_INDEX)
    top = {k: v for k, v in top.items() if k != 'platform'}
    top['annotations'] = {'org.opencontainers.image.ref.name': name}
    index_path = os.path.join(root, 'index.json')
    existing = {'schemaVersion': 2, 'manifests': []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            existing = json.load(f)
    existing['manifests'] = [m for m in existing['manifests']
                             if m.get('annotations', {}).get('org.opencontainers.image.ref.name') != name] + [top]
    with open(index_path, 'w') as f:
        json.dump(existing, f)
    with open(os.path.join(root, 'oci-layout'), 'w') as f:
        json.dump({'imageLayoutVersion': '1.0.0'}, f)
    return root


class Registry:
    """A running docker-registry; ``host`` is ``127.0.0.1:PORT``."""

    def __init__(self, workdir, tls=False, username=None, password=None):
        self.workdir = str(workdir)
        self.tls = tls
        self.username = username
        self.password = password
        self.ca_path = None
        self.proc = None
        self.host = None
        self.log_path = os.path.join(self.workdir, 'registry.log')

    @property
    def url(self):
        return '%s://%s' % ('https' if self.tls else 'http', self.host)

    def _config(self, port):
        lines = ['version: 0.1', 'log:', '  level: warn', '  accesslog:', '    disabled: true',
                 'storage:', '  filesystem:', '    rootdirectory: %s' % os.path.join(self.workdir, 'data'),
                 '  delete:', '    enabled: true',
                 'http:', '  addr: 127.0.0.1:%d' % port, '  secret: gcli-offload-reg-test']
        if self.tls:
            lines += ['  tls:', '    certificate: %s' % os.path.join(self.workdir, 'server.crt'),
                      '    key: %s' % os.path.join(self.workdir, 'server.key')]
        if self.username:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', DeprecationWarning)
                import crypt  # pylint: disable=deprecated-module  # bcrypt for htpasswd (Python 3.11 on Debian 12)
                hashed = crypt.crypt(self.password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
            with open(os.path.join(self.workdir, 'htpasswd'), 'w') as f:
                f.write('%s:%s\n' % (self.username, hashed))
            lines += ['auth:', '  htpasswd:', '    realm: gcli-offload-reg-test',
                      '    path: %s' % os.path.join(self.workdir, 'htpasswd')]
        path = os.path.join(self.workdir, 'config.yml')
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        return path

    def _make_certs(self):
        ca_key = os.path.join(self.workdir, 'ca.key')
        self.ca_path = os.path.join(self.workdir, 'ca.crt')
        key = os.path.join(self.workdir, 'server.key')
        csr = os.path.join(self.workdir, 'server.csr')
        crt = os.path.join(self.workdir, 'server.crt')
        ext = os.path.join(self.workdir, 'ext.cnf')
        with open(ext, 'w') as f:
            f.write('subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n')

        def run(*argv):
            subprocess.run(['openssl'] + list(argv), check=True, capture_output=True)
        run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', ca_key, '-out', self.ca_path,
            '-days', '2', '-subj', '/CN=gcli-offload-reg-test CA')
        run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=127.0.0.1')
        run('x509', '-req', '-in', csr, '-CA', self.ca_path, '-CAkey', ca_key, '-CAcreateserial',
            '-out', crt, '-days', '2', '-extfile', ext)

    def start(self, deadline=20.0):
        if shutil.which('docker-registry') is None or shutil.which('skopeo') is None:
            pytest.skip('docker-registry and skopeo are needed (tests/setup/apt-deps installs them)')
        if self.tls:
            self._make_certs()
        for _attempt in range(5):
            port = free_port()
            config = self._config(port)
            log = open(self.log_path, 'ab')
            self.proc = subprocess.Popen(['docker-registry', 'serve', config], stdout=log, stderr=log)
            log.close()
            self.host = '127.0.0.1:%d' % port
            if self._wait_ready(deadline):
                return self
            self.stop()
        with open(self.log_path, errors='replace') as f:
            raise RuntimeError('docker-registry did not start:\n' + f.read()[-2000:])

    def _wait_ready(self, deadline):
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False  # e.g. the port was taken meanwhile: try another
            try:
                r = requests.get(self.url + '/v2/', timeout=1, verify=self.ca_path or False)
                if r.status_code in (200, 401):
                    return True
            except requests.exceptions.RequestException:
                pass
            time.sleep(0.05)  # poll interval while waiting for the port to answer
        return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    # -- skopeo ------------------------------------------------------------------------------

    def _tls_args(self, prefix):
        args = ['--%s-tls-verify=false' % prefix] if not self.tls else ['--%s-cert-dir=%s' % (prefix, self._certdir())]
        if self.username:
            args.append('--%s-creds=%s:%s' % (prefix, self.username, self.password))
        return args

    def _certdir(self):
        d = os.path.join(self.workdir, 'certs.d')
        os.makedirs(d, exist_ok=True)
        shutil.copy(self.ca_path, os.path.join(d, 'ca.crt'))
        return d

    def push(self, layout, name, dest, fmt=None):
        """Push image ``name`` of the OCI layout to ``<host>/<dest>`` (``repo:tag``), every platform."""
        argv = ['skopeo', 'copy', '--all', '--quiet'] + self._tls_args('dest')
        if fmt:
            argv += ['--format', fmt]
        argv += ['oci:%s:%s' % (layout, name), 'docker://%s/%s' % (self.host, dest)]
        subprocess.run(argv, check=True, capture_output=True, text=True)

    def inspect(self, ref, raw=False):
        """``skopeo inspect`` of ``<host>/<ref>``: the parsed JSON, and with ``raw`` the manifest's bytes too."""
        argv = ['skopeo', 'inspect'] + (['--raw'] if raw else []) + self._tls_args('src').copy()
        argv = [a.replace('--src-', '--') for a in argv]
        argv.append('docker://%s/%s' % (self.host, ref))
        out = subprocess.run(argv, check=True, capture_output=True).stdout
        return (json.loads(out), out) if raw else json.loads(out)

    def raw_digest(self, ref):
        """The digest of the manifest ``skopeo inspect --raw`` returns for ``ref``."""
        _body, raw = self.inspect(ref, raw=True)
        return 'sha256:' + hashlib.sha256(raw).hexdigest()


class PagingProxy:
    """Forwards GET/HEAD to ``upstream`` (a Registry), paginating ``tags/list`` as the spec says."""

    HOP_BY_HOP = {'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'date',
                  'server'}

    def __init__(self, upstream):
        self.upstream = upstream
        # when set, a callable(token) -> bool: requests need "Authorization: Bearer <token>" it accepts,
        # as Artifact Registry wants a Google access token (the token is not forwarded)
        self.token_check = None
        self.requests = []  # (method, path) forwarded or answered
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):  # quiet
                return

            def do_GET(self):
                proxy.handle(self, 'GET')

            def do_HEAD(self):
                proxy.handle(self, 'HEAD')

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.host = '127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self):
        with self._lock:
            self.requests = []

    def count(self, method=None, contains=''):
        with self._lock:
            return sum(1 for m, p in self.requests if (method is None or m == method) and contains in p)

    def handle(self, handler, method):
        with self._lock:
            self.requests.append((method, handler.path))
        parts = urlsplit(handler.path)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ('host', 'connection', 'authorization')}
        if self.token_check is not None:
            auth = handler.headers.get('Authorization', '')
            if not (auth.startswith('Bearer ') and self.token_check(auth[len('Bearer '):])):
                body = json.dumps({'errors': [{'code': 'UNAUTHORIZED', 'message': 'authentication required'}]})
                handler.send_response(401)
                handler.send_header('Content-Type', 'application/json')
                handler.send_header('Content-Length', str(len(body)))
                handler.end_headers()
                if method == 'GET':
                    handler.wfile.write(body.encode())
                return
        query = parse_qs(parts.query)
        paged = parts.path.endswith('/tags/list') and method == 'GET' and ('n' in query or 'last' in query)
        upstream_url = self.upstream.url + (parts.path if paged else handler.path)
        r = requests.request(method, upstream_url, headers=headers, timeout=30, allow_redirects=False)
        body = b'' if method == 'HEAD' else r.content
        extra = {}
        if paged and r.status_code == 200:
            data = r.json()
            tags = sorted(data.get('tags') or [])
            last = query.get('last', [None])[0]
            if last is not None:
                tags = [t for t in tags if t > last]
            n = int(query['n'][0]) if 'n' in query else len(tags)
            page, rest = tags[:n], tags[n:]
            body = json.dumps({'name': data.get('name'), 'tags': page}).encode()
            if rest and page:
                extra['Link'] = '<%s?%s>; rel="next"' % (parts.path, urlencode({'n': n, 'last': page[-1]}))
        handler.send_response(r.status_code)
        for k, v in r.headers.items():
            if k.lower() not in self.HOP_BY_HOP:
                handler.send_header(k, v)
        for k, v in extra.items():
            handler.send_header(k, v)
        handler.send_header('Content-Length', str(len(body) if method == 'GET' else r.headers.get(
            'Content-Length', len(r.content))))
        handler.end_headers()
        if method == 'GET':
            handler.wfile.write(body)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope='session')
def paging_proxy(registry):
    proxy = PagingProxy(registry)
    yield proxy
    proxy.stop()


@pytest.fixture(scope='session')
def registry(tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp('gcli-offload-reg-plain')).start()
    yield reg
    reg.stop()


@pytest.fixture(scope='session')
def tls_registry(tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp('gcli-offload-reg-tls'), tls=True,
                   username='offload', password='s3cret-pw').start()
    yield reg
    reg.stop()


@pytest.fixture(scope='session')
def oci_layout(tmp_path_factory):
    """A function ``(name, content, platforms=('linux/amd64',)) -> layout dir`` adding an image to one layout."""
    root = str(tmp_path_factory.mktemp('gcli-offload-reg-layout'))

    def make(name, content, platforms=('linux/amd64',)):
        return write_oci_layout(root, name, content if isinstance(content, bytes) else content.encode(), platforms)
    return make
