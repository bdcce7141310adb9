# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP server core: requests, routing, Google-format errors, the request
log, fault injection, bearer tokens, and the operation scheduler."""

from __future__ import annotations

import heapq
import itertools
import json
import re
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# Links are stored with this base and rewritten on output to the base URL the
# client used (http://HOST:PORT/compute/v1/), so gcloud's and the client
# library's resource parsers accept them. `.invalid` never collides with data.
LINK_BASE = 'https://compute.emulator.invalid/compute/v1/'

STATUS_NAMES = {
    400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
    409: 'ALREADY_EXISTS', 412: 'FAILED_PRECONDITION', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL',
    501: 'NOT_IMPLEMENTED', 502: 'UNAVAILABLE', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
}
DEFAULT_REASONS = {
    400: 'invalid', 401: 'authError', 403: 'forbidden', 404: 'notFound', 409: 'alreadyExists',
    412: 'conditionNotMet', 429: 'rateLimitExceeded', 500: 'backendError', 502: 'backendError',
    503: 'backendError', 504: 'backendError',
}
DEFAULT_MESSAGES = {
    429: 'Rate Limit Exceeded', 500: 'Internal error. Please try again or contact Google Support.',
    502: 'Bad Gateway', 503: 'The service is currently unavailable.', 504: 'Deadline exceeded',
}


def clone(value):
    """A deep copy of a JSON tree (several times faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


class ApiError(Exception):
    """An error answered in Google's JSON error format."""

    def __init__(self, code, message, reason=None, status=None):
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.reason = reason or DEFAULT_REASONS.get(self.code, 'error')
        self.status = status or STATUS_NAMES.get(self.code, 'UNKNOWN')

    def body(self, style='compute'):
        err = {'code': self.code, 'message': self.message, 'status': self.status}
        if style == 'compute':
            err['errors'] = [{'message': self.message, 'domain': 'global', 'reason': self.reason}]
        return {'error': err}


def not_found(resource):
    return ApiError(404, "The resource '%s' was not found" % resource, 'notFound')


def invalid(field, value, why):
    return ApiError(400, "Invalid value for field '%s': '%s'. %s" % (field, value, why), 'invalid')


def required(field):
    return ApiError(400, "Required field '%s' not specified" % field, 'required')


class Request:
    def __init__(self, method, path, query, headers, body, base):
        self.method = method
        self.path = path
        self.query = query          # dict name -> list of values
        self.headers = headers
        self.raw = body
        self.base = base            # http://HOST:PORT

    def arg(self, name, default=None):
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self, allow_empty=True):
        if not self.raw:
            if allow_empty:
                return {}
            raise ApiError(400, 'The request body is empty; a JSON object is required.', 'parseError')
        try:
            value = json.loads(self.raw)
        except ValueError as exc:
            raise ApiError(400, 'Invalid JSON payload received. %s' % exc, 'parseError') from None
        if not isinstance(value, dict):
            raise ApiError(400, 'Invalid JSON payload received. Expected an object.', 'parseError')
        return value

    def bearer(self):
        auth = self.headers.get('Authorization', '')
        if auth[:7].lower() == 'bearer ' and auth[7:].strip():
            return auth[7:].strip()
        return None


class Response:
    def __init__(self, status=200, body=None, content_type='application/json; charset=UTF-8', headers=None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = dict(headers or {})


class Router:
    def __init__(self):
        self.routes = []

    def add(self, method, pattern, handler):
        self.routes.append((method, re.compile('^' + pattern + '$'), handler))

    def match(self, method, path):
        """(handler, groups), or raises 404/405 as Google does."""
        allowed = False
        for route_method, regex, handler in self.routes:
            found = regex.match(path)
            if found:
                if route_method == method:
                    return handler, found.groupdict()
                allowed = True
        if allowed:
            raise ApiError(405, 'Method %s is not allowed on %s' % (method, path), 'methodNotAllowed')
        raise ApiError(404, 'The requested URL %s was not found on this server.' % path, 'notFound')


class Faults:
    """Injected faults; each matches a method (optional) and a path regex."""

    def __init__(self):
        self.items = []
        self.ids = itertools.count(1)

    def add(self, spec):
        if not isinstance(spec, dict):
            raise ApiError(400, 'a fault is a JSON object')
        fault = {'id': next(self.ids), 'path': spec.get('path', '.*'), 'method': spec.get('method')}
        try:
            fault['regex'] = re.compile(fault['path'])
        except re.error as exc:
            raise ApiError(400, 'fault path is not a valid regex: %s' % exc) from None
        times = spec.get('times')
        if times is not None and (not isinstance(times, int) or times < 1):
            raise ApiError(400, 'fault times must be a positive integer')
        if 'status' in spec:
            status = spec['status']
            if not isinstance(status, int) or not 400 <= status <= 599:
                raise ApiError(400, 'fault status must be an HTTP error code (400-599)')
            fault.update(kind='status', status=status, message=spec.get('message'), reason=spec.get('reason'),
                         headers=spec.get('headers') or {}, times=1 if times is None else times,
                         after=bool(spec.get('after', False)))
        elif 'operation_error' in spec:
            error = spec['operation_error']
            if not isinstance(error, dict) or not error.get('code'):
                raise ApiError(400, 'operation_error needs {"code": ..., "message": ...}')
            fault.update(kind='operation_error', error=error, http_status=int(spec.get('http_status', 400)),
                         times=1 if times is None else times)
        elif 'operation_delay' in spec:
            delay = spec['operation_delay']
            if not isinstance(delay, (int, float)) or delay < 0:
                raise ApiError(400, 'operation_delay must be a number of seconds >= 0')
            fault.update(kind='operation_delay', delay=float(delay), times=times)
        else:
            raise ApiError(400, 'a fault needs one of status, operation_error, operation_delay')
        self.items.append(fault)
        return self.public(fault)

    @staticmethod
    def public(fault):
        return {k: v for k, v in fault.items() if k != 'regex'}

    def take(self, kind, method, path):
        for fault in self.items:
            if fault['kind'] != kind or not fault['regex'].search(path):
                continue
            if fault['method'] and fault['method'].upper() != method:
                continue
            if fault['times'] is not None:
                fault['times'] -= 1
                if fault['times'] <= 0:
                    self.items.remove(fault)
            return fault
        return None


class Scheduler:
    """Runs callbacks at a due time on one thread, under the app lock."""

    def __init__(self, cond):
        self.cond = cond
        self.heap = []
        self.seq = itertools.count()
        self.generation = 0
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name='emu-scheduler', daemon=True)
        self.thread.start()

    def at(self, delay, fn):
        """Call with the lock held."""
        heapq.heappush(self.heap, (time.monotonic() + delay, next(self.seq), self.generation, fn))
        self.cond.notify_all()

    def clear(self):
        self.heap.clear()
        self.generation += 1

    def stop(self):
        with self.cond:
            self.stopped = True
            self.cond.notify_all()

    def _run(self):
        with self.cond:
            while not self.stopped:
                now = time.monotonic()
                ran = False
                while self.heap and self.heap[0][0] <= now:
                    _due, _seq, generation, fn = heapq.heappop(self.heap)
                    if generation == self.generation:
                        try:
                            fn()
                        except Exception:  # pylint: disable=broad-exception-caught
                            traceback.print_exc(file=sys.stderr)   # an emulator bug; keep serving
                        ran = True
                if ran:
                    self.cond.notify_all()
                self.cond.wait(self.heap[0][0] - now if self.heap else None)


class App:
    """The emulator: shared state, one lock, the APIs mounted on one router."""

    def __init__(self, request_log=None, require_token=False, operation_delay=0.05, wait_timeout=120.0):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.scheduler = Scheduler(self.cond)
        self.router = Router()
        self.faults = Faults()
        self.log = []
        self.log_seq = itertools.count(1)
        self.log_file = open(request_log, 'a', encoding='utf-8') if request_log else None  # noqa: SIM115
        self.config = {'require_token': bool(require_token), 'operation_delay': float(operation_delay),
                       'wait_timeout': float(wait_timeout)}
        self.tokens = set()
        self.apis = []

    def mount(self, api):
        self.apis.append(api)
        api.register(self.router)

    def reset(self):
        with self.lock:
            self.scheduler.clear()
            self.faults.items.clear()
            for api in self.apis:
                if hasattr(api, 'reset'):
                    api.reset()
            self.cond.notify_all()

    # -- request handling -------------------------------------------------
    @staticmethod
    def style(path):
        return 'compute' if path.startswith('/compute/') else 'oneplatform'

    def handle(self, req):
        control = req.path.startswith('/_emulator/')
        started = time.monotonic()
        try:
            if not control:
                with self.lock:
                    fault = self.faults.take('status', req.method, req.path)
                if fault and not fault['after']:
                    resp = self._fault_response(req, fault)
                else:
                    self.check_auth(req)
                    handler, groups = self.router.match(req.method, req.path)
                    try:
                        resp = handler(req, **groups)
                    finally:
                        if fault:       # 'after': the request took effect, its answer is lost
                            resp = self._fault_response(req, fault)
                    if not isinstance(resp, Response):
                        resp = Response(200, resp)
            else:
                handler, groups = self.router.match(req.method, req.path)
                resp = handler(req, **groups)
                if not isinstance(resp, Response):
                    resp = Response(200, resp)
        except ApiError as err:
            resp = Response(err.code, err.body(self.style(req.path)))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # an emulator bug: answer 500 (a client sees it) and keep the traceback on stderr
            traceback.print_exc(file=sys.stderr)
            err = ApiError(500, 'Emulator bug while handling %s %s: %r (traceback on its stderr)' % (
                req.method, req.path, exc), 'backendError')
            resp = Response(500, err.body(self.style(req.path)))
        if not control:
            self.record(req, resp.status, time.monotonic() - started)
        return resp

    def _fault_response(self, req, fault):
        message = fault['message'] or DEFAULT_MESSAGES.get(fault['status'], 'Injected fault')
        err = ApiError(fault['status'], message, fault['reason'])
        return Response(err.code, err.body(self.style(req.path)), headers=fault['headers'])

    def check_auth(self, req):
        if not self.config['require_token']:
            return
        if not (req.path.startswith('/compute/') or req.path.startswith('/v1/')):
            return
        token = req.bearer()
        if token is None:
            raise ApiError(401, 'Request is missing required authentication credential. Expected OAuth 2 access '
                           'token, login cookie or other valid authentication credential.', 'required')
        with self.lock:
            known = token in self.tokens
        if not known and not self_signed_jwt(token):
            raise ApiError(401, 'Request had invalid authentication credentials. Expected OAuth 2 access token, '
                           'login cookie or other valid authentication credential.', 'authError')

    def record(self, req, status, elapsed):
        entry = {
            'method': req.method, 'path': req.path, 'status': status,
            'query': {k: v[-1] if len(v) == 1 else v for k, v in req.query.items()},
            'auth': 'bearer' if req.bearer() else 'none',
            'ms': round(elapsed * 1000, 3),
        }
        with self.lock:
            entry = {'seq': next(self.log_seq), **entry}
            if self.log_file:
                self.log_file.write(json.dumps(entry, sort_keys=True) + '\n')
                self.log_file.flush()
            # the body is kept in memory only (GET /_emulator/requests?bodies=1), never in the file
            entry['body'] = _parsed(req.raw)
            self.log.append(entry)

    def new_token(self, prefix='emu-token'):
        token = '%s-%s' % (prefix, _random_hex(16))
        with self.lock:
            self.tokens.add(token)
        return token


def self_signed_jwt(token):
    """A service account's self-signed JWT (what google-auth sends to API
    clients by default): three parts, claims with iss, sub, iat, exp not past,
    and aud or scope. The signature is not checked."""
    import base64
    parts = token.split('.')
    if len(parts) != 3:
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + '=' * (-len(parts[1]) % 4)))
    except ValueError:
        return False
    return (isinstance(claims, dict) and all(k in claims for k in ('iss', 'sub', 'iat', 'exp'))
            and ('aud' in claims or 'scope' in claims) and isinstance(claims['exp'], (int, float))
            and claims['exp'] > time.time())


def _parsed(raw):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode('utf-8', 'replace')


def _random_hex(nbytes):
    import secrets
    return secrets.token_hex(nbytes)


def encode_body(body, req):
    """A response body as bytes: JSON with the stored links rewritten to the base URL the client used."""
    if body is None:
        return b''
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode('utf-8')
    text = json.dumps(body, indent=1 if req.path.startswith('/_emulator/') else None)
    return text.replace(LINK_BASE, req.base + '/compute/v1/').encode('utf-8')


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'gce-emulator'
    sys_version = ''
    app = None  # set by make_server

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # the request log replaces the stderr log
        pass

    def _body(self):
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return b''.join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length else b''

    def _dispatch(self):
        parts = urlsplit(self.path)
        host = self.headers.get('Host') or '%s:%s' % self.server.server_address[:2]
        req = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True), self.headers,
                      self._body(), 'http://' + host)
        resp = self.app.handle(req)
        data = encode_body(resp.body, req)
        self.send_response(resp.status)
        self.send_header('Content-Type', resp.content_type)
        self.send_header('Content-Length', str(len(data)))
        for key, value in resp.headers.items():
            self.send_header(key, str(value))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(app, host, port):
    handler = type('BoundHandler', (Handler,), {'app': app})
    return Server((host, port), handler)
