# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A small Docker Registry HTTP API v2 (OCI distribution) client.

Private to the collection. It lists tags (following ``Link`` pagination), reads
manifests (HEAD for the digest, GET for the body) with the Accept headers for the
four manifest kinds (OCI index, Docker manifest list, OCI and Docker v2 manifests),
and authenticates anonymously, with basic credentials, with a bearer token given
by a callable (google-auth for Artifact Registry and gcr.io), or through the
registry token dance (``WWW-Authenticate: Bearer realm=...``).

Every failure is a ``RegistryError`` whose ``kind`` says what happened
(``not_found``, ``denied``, ``unreachable``, ``tls``, ``protocol``, ``invalid``) and
whose message names the registry, the image and what to do.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
import threading

from urllib.parse import urlencode, urljoin, urlsplit

from ansible_collections.gcli.offload.plugins.module_utils._image_ref import (
    DOCKER_HUB,
    is_google_registry,
    split_name,
)
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError

try:
    import requests
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc


OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
INDEX_MEDIA_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)
MANIFEST_MEDIA_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
MANIFEST_ACCEPT = ', '.join(MANIFEST_MEDIA_TYPES)

DOCKER_HUB_API = 'registry-1.docker.io'

_ANY_DIGEST_RE = re.compile(r'^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\Z')

MAX_PAGES = 10000


class RegistryError(Exception):
    """A registry request failed; ``kind`` classifies it, the message explains it."""

    def __init__(self, kind, message, status=None, codes=None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.codes = codes or []


def is_loopback_host(host):
    """True when ``host`` (no port) is a loopback name or address."""
    host = host.strip('[]').lower()
    if host == 'localhost' or host.endswith('.localhost'):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_host_port(netloc):
    if netloc.startswith('['):
        host, _sep, rest = netloc[1:].partition(']')
        return host, rest[1:] if rest.startswith(':') else None
    host, sep, port = netloc.rpartition(':')
    return (host, port) if sep else (netloc, None)


class ImageName:
    """An image name without tag or digest: ``registry`` host[:port] and ``repository`` path."""

    def __init__(self, registry, repository, display):
        self.registry = registry
        self.repository = repository
        self.display = display

    @property
    def host(self):
        return split_host_port(self.registry)[0]

    def api_host(self):
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    def __repr__(self):  # pragma: no cover - debugging aid
        return 'ImageName(%r, %r)' % (self.registry, self.repository)


def parse_image(image):
    """Split ``host[:port]/path`` into an ImageName (_image_ref's grammar); refuse a tag, a digest or a
    malformed name (RegistryError, kind ``invalid``)."""
    try:
        registry, path = split_name(image)
    except InputError as exc:
        raise RegistryError('invalid', exc.message) from None
    return ImageName(registry, path, image)


def parse_challenge(header):
    """Parse a ``WWW-Authenticate`` value into a list of ``(scheme, {param: value})``.

    Handles several challenges in one header and quoted values containing commas.
    """
    challenges = []
    pos = 0
    n = len(header or '')
    token_re = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)')
    while pos < n:
        m = token_re.match(header, pos)
        if not m:
            pos += 1
            continue
        word = m.group(1)
        after = m.end()
        rest = header[after:]
        if re.match(r'\s*=', rest) and challenges:
            # an auth-param of the current challenge
            eq = header.index('=', after)
            pos = eq + 1
            while pos < n and header[pos] == ' ':
                pos += 1
            if pos < n and header[pos] == '"':
                pos += 1
                value = []
                while pos < n and header[pos] != '"':
                    if header[pos] == '\\' and pos + 1 < n:
                        pos += 1
                    value.append(header[pos])
                    pos += 1
                pos += 1
                val = ''.join(value)
            else:
                end = header.find(',', pos)
                end = n if end < 0 else end
                val = header[pos:end].strip()
                pos = end
            challenges[-1][1][word.lower()] = val
        else:
            challenges.append((word.lower(), {}))
            pos = after
        while pos < n and header[pos] in ' ,':
            pos += 1
    return challenges


def parse_next_link(header):
    """The target of the ``rel="next"`` entry of a ``Link`` header, or None."""
    if not header:
        return None
    for part in re.finditer(r'<([^>]*)>\s*((?:;\s*[^;,]+)*)', header):
        params = part.group(2)
        if re.search(r';\s*rel\s*=\s*"?next"?', params, re.IGNORECASE):
            return part.group(1)
    return None


def error_codes(response):
    """The ``errors[].code``/``message`` pairs of a registry error body, if any."""
    try:
        body = response.json()
    except ValueError:
        return []
    out = []
    if isinstance(body, dict):
        for err in body.get('errors') or []:
            if isinstance(err, dict):
                out.append((str(err.get('code', '')), str(err.get('message', ''))))
    return out


def _format_codes(codes):
    return '; '.join('%s: %s' % (c, m) if m else c for c, m in codes)


def compute_digest(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def platform_string(platform):
    if not isinstance(platform, dict):
        return None
    parts = [platform.get('os'), platform.get('architecture'), platform.get('variant')]
    return '/'.join(p for p in parts if p)


class Manifest:
    """What the registry says about one reference (tag or digest)."""

    def __init__(self, digest, media_type, size=None, body=None):
        self.digest = digest
        self.media_type = media_type
        self.size = size
        self.body = body

    @property
    def is_index(self):
        return self.media_type in INDEX_MEDIA_TYPES

    def platforms(self):
        """The platforms of an index/list (``[]`` for a single manifest or an unread body)."""
        if not self.is_index or not isinstance(self.body, dict):
            return []
        out = []
        for entry in self.body.get('manifests') or []:
            if not isinstance(entry, dict):
                continue
            plat = entry.get('platform') or {}
            item = {
                'os': plat.get('os'),
                'architecture': plat.get('architecture'),
                'variant': plat.get('variant'),
                'platform': platform_string(plat),
                'digest': entry.get('digest'),
                'media_type': entry.get('mediaType'),
            }
            out.append(item)
        return out

    def as_dict(self):
        out = {'digest': self.digest, 'media_type': self.media_type}
        if self.size is not None:
            out['size'] = self.size
        if self.is_index and self.body is not None:
            out['platforms'] = self.platforms()
        return out


class RegistryClient:
    """Talks to one registry. Thread-safe for concurrent manifest reads.

    ``token_provider``: a callable returning an OAuth2 access token (google-auth), sent as a bearer
    token and, when the registry answers with a token challenge, exchanged at its realm as
    ``oauth2accesstoken:<token>`` (the Artifact Registry/gcr.io convention).
    """

    def __init__(self, registry, plain_http=False, validate_certs=True, ca_path=None, username=None,
                 password=None, token_provider=None, timeout=30.0, session=None, retry_policy=None):
        if not HAS_REQUESTS:
            raise RegistryError('invalid', 'the Python library requests is required (pip install requests)')
        self.registry = registry
        self.host = split_host_port(registry)[0]
        self.scheme = 'http' if plain_http else 'https'
        self.base = '%s://%s' % (self.scheme, registry)
        self.timeout = timeout
        # the collection's retry rule (module_utils/_gcp_retry.RetryPolicy): retries, delay(attempt), sleep
        self.retry_policy = retry_policy
        self.username = username
        self.password = password
        self.token_provider = token_provider
        if (username or password) and token_provider:
            raise RegistryError('invalid', 'give either username/password or Google credentials, not both')
        if plain_http and (username or password or token_provider) and not is_loopback_host(self.host):
            raise RegistryError('invalid', 'refusing to send credentials over plain http to %s: plain http is '
                                'for a loopback registry; use https (the default)' % registry)
        if ca_path and validate_certs:
            self.verify = ca_path
        else:
            self.verify = bool(validate_certs)
        self.session = session or requests.Session()
        self._lock = threading.Lock()
        self._tokens = {}   # scope -> bearer token from the token dance
        self._google_token = None
        self.requests_made = 0

    # -- authentication -------------------------------------------------------------------

    def _initial_auth(self, scope):
        with self._lock:
            token = self._tokens.get(scope)
        if token:
            return 'Bearer ' + token
        if self.token_provider:
            return 'Bearer ' + self._google()
        if self.username is not None and self.password is not None:
            return _basic(self.username, self.password)
        return None

    def _google(self):
        if self._google_token is None:
            try:
                self._google_token = self.token_provider()
            except RegistryError:
                raise
            except Exception as exc:  # google-auth raises several types; report them all the same way
                raise RegistryError('denied', 'could not get a Google access token for %s: %s (check the '
                                    'credentials: auth_kind, service_account_file or application default '
                                    'credentials)' % (self.registry, exc))
        return self._google_token

    def _credentials_for_realm(self):
        if self.token_provider:
            return 'oauth2accesstoken', self._google()
        if self.username is not None and self.password is not None:
            return self.username, self.password
        return None

    def _fetch_token(self, params, scope, image):
        realm = params.get('realm')
        if not realm:
            raise RegistryError('protocol', 'registry %s asked for a bearer token without a realm' % self.registry)
        parts = urlsplit(realm)
        if parts.scheme not in ('https', 'http'):
            raise RegistryError('protocol', 'registry %s gave an unusable token realm %r' % (self.registry, realm))
        query = []
        if params.get('service'):
            query.append(('service', params['service']))
        for s in (params.get('scope') or scope or '').split(' '):
            if s:
                query.append(('scope', s))
        creds = self._credentials_for_realm()
        headers = {}
        realm_host = (parts.hostname or '').lower()
        if creds and self.token_provider and realm_host != self.host.lower() and not is_google_registry(realm_host):
            raise RegistryError('denied', 'registry %s sends its token realm to another host (%s): refusing to send '
                                'a Google access token there' % (self.registry, realm_host))
        if creds:
            if parts.scheme != 'https' and not is_loopback_host(parts.hostname or ''):
                raise RegistryError('denied', 'registry %s sends its token realm over plain http (%s): refusing to '
                                    'send credentials there' % (self.registry, realm))
            headers['Authorization'] = _basic(*creds)
        url = realm + ('&' if '?' in realm else '?') + urlencode(query) if query else realm
        response = self._send('GET', url, headers, image)
        if response.status_code in (401, 403):
            raise RegistryError('denied', 'the token service of %s refused %s (HTTP %d%s): check the credentials '
                                'and that they may pull %s' % (
                                    self.registry, 'the credentials' if creds else 'anonymous access',
                                    response.status_code, _suffix(error_codes(response)), image),
                                status=response.status_code)
        if response.status_code != 200:
            raise RegistryError('protocol', 'the token service of %s answered HTTP %d' % (
                self.registry, response.status_code), status=response.status_code)
        try:
            body = response.json()
        except ValueError:
            body = None
        token = isinstance(body, dict) and (body.get('token') or body.get('access_token'))
        if not token:
            raise RegistryError('protocol', 'the token service of %s answered without a token' % self.registry)
        with self._lock:
            self._tokens[scope] = token
        return token

    # -- transport ------------------------------------------------------------------------

    def _retry(self, attempt):
        """Sleep before retry number ``attempt`` (1-based) and return True, or False when out of retries."""
        policy = self.retry_policy
        if policy is None or attempt > policy.retries:
            return False
        policy.sleep(policy.delay(attempt - 1))
        return True

    def _send(self, method, url, headers, image):
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._lock:
                    self.requests_made += 1
                response = self.session.request(method, url, headers=headers, timeout=self.timeout,
                                                verify=self.verify, allow_redirects=True)
            except requests.exceptions.SSLError as exc:
                raise RegistryError('tls', 'TLS verification of %s failed (%s): give the CA bundle in ca_path%s' % (
                    self.registry, _short(exc),
                    ', or plain_http for a loopback registry' if is_loopback_host(self.host) else ''))
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if self._retry(attempt):
                    continue
                raise RegistryError('unreachable', 'cannot reach the registry at %s://%s (%s): check the image\'s '
                                    'host and port, the network%s' % (
                                        self.scheme, self.registry, _short(exc),
                                        ', and plain_http for a registry without TLS'
                                        if self.scheme == 'https' and is_loopback_host(self.host) else ''))
            except requests.exceptions.RequestException as exc:
                raise RegistryError('unreachable', 'request to %s failed: %s' % (self.registry, _short(exc)))
            if response.status_code in (429, 500, 502, 503, 504) and self._retry(attempt):
                continue
            return response

    def _request(self, method, path_or_url, image, scope, accept=None):
        url = urljoin(self.base + '/', path_or_url)
        target = urlsplit(url)
        if target.netloc.lower() != self.registry.lower() or target.scheme != self.scheme:
            raise RegistryError('protocol', 'registry %s pointed to another location (%s); refusing to follow it '
                                'with credentials' % (self.registry, url))
        headers = {}
        if accept:
            headers['Accept'] = accept
        auth = self._initial_auth(scope)
        if auth:
            headers['Authorization'] = auth
        response = self._send(method, url, headers, image)
        if response.status_code == 401:
            challenges = parse_challenge(response.headers.get('WWW-Authenticate', ''))
            bearer = [p for s, p in challenges if s == 'bearer']
            basic = [p for s, p in challenges if s == 'basic']
            retry_auth = None
            if bearer:
                # first contact, a Google token the registry wants exchanged, or an expired token
                with self._lock:
                    self._tokens.pop(scope, None)
                retry_auth = 'Bearer ' + self._fetch_token(bearer[0], scope, image)
            elif basic and not (auth and auth.startswith('Basic ')) and self._credentials_for_realm():
                retry_auth = _basic(*self._credentials_for_realm())
            if retry_auth:
                headers['Authorization'] = retry_auth
                response = self._send(method, url, headers, image)
        return response

    def _fail(self, response, image, what):
        codes = error_codes(response)
        code_names = [c for c, _m in codes]
        status = response.status_code
        if status == 404 or 'NAME_UNKNOWN' in code_names or 'MANIFEST_UNKNOWN' in code_names:
            return RegistryError('not_found', '%s: not found on %s (HTTP %d%s)' % (
                what, self.registry, status, _suffix(codes)), status=status, codes=code_names)
        if status in (401, 403):
            hint = ('check the Google credentials and that they hold roles/artifactregistry.reader on the '
                    'repository' if is_google_registry(self.registry) else
                    'check username/password, or that the registry allows anonymous pulls')
            return RegistryError('denied', '%s: access denied by %s (HTTP %d%s): %s' % (
                what, self.registry, status, _suffix(codes), hint), status=status, codes=code_names)
        return RegistryError('protocol', '%s: %s answered HTTP %d%s' % (
            what, self.registry, status, _suffix(codes)), status=status, codes=code_names)

    # -- API ------------------------------------------------------------------------------

    def list_tags(self, repository, page_size=None, image=None):
        """Every tag of ``repository``, following ``Link`` pagination. Returns ``(tags, pages)``."""
        image = image or '%s/%s' % (self.registry, repository)
        scope = 'repository:%s:pull' % repository
        path = '/v2/%s/tags/list' % repository
        if page_size:
            path += '?' + urlencode({'n': int(page_size)})
        tags = []
        seen = set()
        pages = 0
        while path:
            if path in seen or pages >= MAX_PAGES:
                raise RegistryError('protocol', 'listing the tags of %s: the registry\'s Link pagination loops '
                                    '(%s)' % (image, path))
            seen.add(path)
            response = self._request('GET', path, image, scope)
            if response.status_code != 200:
                if response.status_code == 404:
                    raise RegistryError('not_found', 'image %s not found on %s (HTTP 404%s): check the image path%s'
                                        % (image, self.registry, _suffix(error_codes(response)),
                                           ' (LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE)'
                                           if is_google_registry(self.registry) else ''),
                                        status=404, codes=[c for c, _m in error_codes(response)])
                raise self._fail(response, image, 'listing the tags of %s' % image)
            pages += 1
            try:
                body = response.json()
            except ValueError:
                raise RegistryError('protocol', 'listing the tags of %s: %s answered with something that is not '
                                    'JSON' % (image, self.registry))
            page_tags = body.get('tags') if isinstance(body, dict) else None
            if page_tags is None:
                page_tags = []
            if not isinstance(page_tags, list):
                raise RegistryError('protocol', 'listing the tags of %s: unexpected answer from %s' % (
                    image, self.registry))
            tags.extend(str(t) for t in page_tags)
            path = parse_next_link(response.headers.get('Link'))
        return tags, pages

    def manifest(self, repository, reference, head=True, image=None):
        """The manifest of a tag or digest: HEAD for digest and media type, GET (``head=False``) for the body too.

        A HEAD without ``Docker-Content-Digest`` falls back to a GET, whose digest is computed from the body.
        """
        image = image or '%s/%s' % (self.registry, repository)
        scope = 'repository:%s:pull' % repository
        path = '/v2/%s/manifests/%s' % (repository, reference)
        sep = '@' if reference.startswith('sha256:') else ':'
        what = 'manifest %s%s%s' % (image, sep, reference)
        response = self._request('HEAD' if head else 'GET', path, image, scope, accept=MANIFEST_ACCEPT)
        if response.status_code != 200:
            if head and response.status_code not in (401, 403, 404):
                # Some registries do not implement HEAD; their GET tells more.
                return self.manifest(repository, reference, head=False, image=image)
            raise self._fail(response, image, what)
        media_type = (response.headers.get('Content-Type') or '').split(';')[0].strip()
        digest = (response.headers.get('Docker-Content-Digest') or '').strip()
        if head:
            if not digest:
                return self.manifest(repository, reference, head=False, image=image)
            length = response.headers.get('Content-Length')
            size = int(length) if length and length.isdigit() else None
            return Manifest(self._check_digest(digest, what), media_type, size)
        raw = response.content
        computed = compute_digest(raw)
        if digest and digest.startswith('sha256:') and digest != computed:
            raise RegistryError('protocol', '%s: the registry\'s Docker-Content-Digest %s does not match the '
                                'manifest it sent (%s)' % (what, digest, computed))
        try:
            body = json.loads(raw.decode('utf-8'))
        except (ValueError, UnicodeDecodeError):
            raise RegistryError('protocol', '%s: the manifest is not JSON' % what)
        if isinstance(body, dict) and body.get('mediaType') and media_type not in MANIFEST_MEDIA_TYPES:
            media_type = body['mediaType']
        return Manifest(self._check_digest(digest or computed, what), media_type, len(raw), body)

    def _check_digest(self, digest, what):
        if not _ANY_DIGEST_RE.match(digest):
            raise RegistryError('protocol', '%s: the registry returned an invalid digest %r' % (what, digest))
        return digest


def _basic(username, password):
    raw = ('%s:%s' % (username, password)).encode('utf-8')
    return 'Basic ' + base64.b64encode(raw).decode('ascii')


def _suffix(codes):
    text = _format_codes(codes)
    return ', ' + text if text else ''


def _short(exc):
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + '...'


def pinned_reference(image, digest):
    """The digest-pinned reference ``image@sha256:...`` that a deploy pulls."""
    return '%s@%s' % (image, digest)
