# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Google's batch endpoint (POST /batch/compute/v1), as gcloud uses it for several
resources in one command (`gcloud compute instances delete A B`).

The request is multipart/mixed; each part (Content-Type: application/http, a
Content-ID) is one HTTP request: a request line with the full path
(`DELETE /compute/v1/projects/P/zones/Z/instances/A?alt=json HTTP/1.1`), headers
and a body. Each is handled as a request of its own (logged, faults apply),
and the answer is multipart/mixed too: per part, Content-ID `<response-ID>` and
the HTTP response (status line, headers, body), in the order of the request.
"""

from __future__ import annotations

import email.parser
import email.policy
from urllib.parse import parse_qs, urlsplit

from .core import ApiError, Request, Response, _random_hex, encode_body

STATUS_TEXT = {200: 'OK', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
               404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 412: 'Precondition Failed',
               429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable'}
MAX_PARTS = 1000  # Compute Engine's own limit per batch


def parse_part(payload, outer):
    """A Request from one part's payload: request line, headers, blank line, body."""
    text = payload.replace('\r\n', '\n')
    head, body = text.split('\n\n', 1) if '\n\n' in text else (text, '')
    lines = head.split('\n')
    words = lines[0].split(' ')
    if len(words) != 3 or not words[2].startswith('HTTP/') or not words[1].startswith('/'):
        raise ApiError(400, 'Invalid batch part: expected a request line such as "GET /compute/v1/... HTTP/1.1", '
                       'got %r' % lines[0][:100], 'parseError')
    parser = email.parser.Parser(policy=email.policy.HTTP)
    headers = parser.parsestr('\n'.join(lines[1:]) + '\n\n', headersonly=True)
    # the outer request's credentials stand for the parts that carry none (as Google's batch does)
    if 'Authorization' not in headers and outer.headers.get('Authorization'):
        headers['Authorization'] = outer.headers['Authorization']
    parts = urlsplit(words[1])
    return Request(words[0], parts.path, parse_qs(parts.query, keep_blank_values=True), headers,
                   body.encode('utf-8'), outer.base)


class Batch:
    def __init__(self, app):
        self.app = app

    def register(self, r):
        r.add('POST', '/batch/compute/(?:v1|beta|alpha)', self.h_batch)

    def h_batch(self, req):
        ctype = req.headers.get('Content-Type', '')
        if not ctype.lower().startswith('multipart/mixed'):
            raise ApiError(400, 'A batch request must be multipart/mixed, got Content-Type %r' % ctype[:100],
                           'parseError')
        message = email.parser.BytesParser().parsebytes(b'Content-Type: ' + ctype.encode('latin-1') + b'\r\n\r\n'
                                                        + req.raw)
        if not message.is_multipart() or not message.get_payload():
            raise ApiError(400, 'The batch request has no parts.', 'parseError')
        parts = message.get_payload()
        if len(parts) > MAX_PARTS:
            raise ApiError(400, 'A batch request takes at most %d parts, got %d.' % (MAX_PARTS, len(parts)))
        boundary = 'batch_' + _random_hex(12)
        out = []
        for part in parts:
            content_id = part['Content-ID'] or ''
            sub = parse_part(part.get_payload(), req)
            resp = self.app.handle(sub)
            data = encode_body(resp.body, sub).decode('utf-8')
            answer_id = '<response-%s>' % content_id.strip('<>') if content_id else ''
            out.append('--%s\r\nContent-Type: application/http\r\n%s\r\nHTTP/1.1 %d %s\r\nContent-Type: %s\r\n'
                       'Content-Length: %d\r\n\r\n%s\r\n' % (
                           boundary, ('Content-ID: %s\r\n' % answer_id) if answer_id else '', resp.status,
                           STATUS_TEXT.get(resp.status, 'Status'), resp.content_type, len(data.encode('utf-8')),
                           data))
        out.append('--%s--\r\n' % boundary)
        return Response(200, ''.join(out).encode('utf-8'), 'multipart/mixed; boundary=%s' % boundary)
