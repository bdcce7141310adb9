# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""List answers: GCE's filter expressions and paging (maxResults, pageToken)."""

from __future__ import annotations

import base64
import re

from ..core import ApiError, invalid
from .common import as_int


def page(req, items, kind, self_link, list_id):
    """A GCE list answer with filter, maxResults and pageToken."""
    items = apply_filter(items, req.arg('filter'))
    max_results = as_int(req.arg('maxResults', 500), 'maxResults', 0) or 500
    start = 0
    token = req.arg('pageToken')
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError:
            raise invalid('pageToken', token, 'Invalid page token.') from None
    body = {'kind': kind, 'id': list_id, 'selfLink': self_link}
    chunk = items[start:start + max_results]
    if chunk:
        body['items'] = chunk
    if start + max_results < len(items):
        body['nextPageToken'] = base64.urlsafe_b64encode(str(start + max_results).encode()).decode()
    return body


_FILTER_TERM = re.compile(r'\(?\s*([A-Za-z0-9_.]+)\s*(!=|=|\beq\b|\bne\b|:)\s*("(?:[^"\\]|\\.)*"|\'[^\']*\'|[^\s()]+)\s*\)?')


def _field(item, dotted):
    value = item
    for part in dotted.split('.'):
        if isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def apply_filter(items, expression):
    """GCE list filters: `field = value`, `field != value`, `field eq regex`,
    `field ne regex`, terms joined by AND (or juxtaposed), optional parens."""
    if not expression or not expression.strip():
        return items
    terms = []
    rest = expression.strip()
    while rest:
        found = _FILTER_TERM.match(rest)
        if not found:
            raise ApiError(400, "Invalid value for field 'filter': '%s'. Invalid list filter expression." % expression,
                           'invalid')
        field, op, value = found.groups()
        if value[:1] in '"\'':
            value = value[1:-1]
        terms.append((field, op, value))
        rest = rest[found.end():].strip()
        if rest.upper().startswith('AND '):
            rest = rest[4:].strip()
        elif rest.upper().startswith('OR '):
            raise ApiError(400, "Invalid value for field 'filter': '%s'. OR is not supported." % expression, 'invalid')

    def keep(item):
        for field, op, value in terms:
            actual = _field(item, field)
            actual = '' if actual is None else (str(actual).lower() if isinstance(actual, bool) else str(actual))
            if op in ('eq', 'ne'):
                hit = re.fullmatch(value, actual) is not None
                if hit != (op == 'eq'):
                    return False
            elif op == ':':     # has the field (':*'), or contains the value
                if (value == '*' and _field(item, field) is None) or (value != '*' and value not in actual):
                    return False
            else:
                pattern = '^' + re.escape(value).replace('\\*', '.*') + '$'
                hit = re.match(pattern, actual) is not None
                if hit != (op == '='):
                    return False
        return True

    return [i for i in items if keep(i)]
