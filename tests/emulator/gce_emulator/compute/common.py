# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every Compute Engine resource shares: name, label, metadata and tag
rules as GCE checks them, links, ids, fingerprints and timestamps."""

from __future__ import annotations

import base64
import ipaddress
import os
import re
from datetime import datetime, timedelta, timezone

from ..core import LINK_BASE, ApiError, invalid, required


NAME_RE = re.compile(r'^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$')


NAME_RULE = "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?|[1-9][0-9]{0,19})'"


LABEL_KEY_RE = re.compile(r'^[a-z][a-z0-9_-]{0,62}$')


LABEL_VALUE_RE = re.compile(r'^[a-z0-9_-]{0,63}$')


METADATA_KEY_RE = re.compile(r'^[a-zA-Z0-9_-]{1,128}$')


PACIFIC = timezone(timedelta(hours=-8))


P = r'(?P<project>[^/]+)'


Z = r'(?P<zone>[^/]+)'


R = r'(?P<region>[^/]+)'


N = r'(?P<name>[^/]+)'


V1 = '/compute/v1/projects/' + P


def now_ts():
    return datetime.now(PACIFIC).isoformat(timespec='milliseconds')


def fingerprint():
    return base64.b64encode(os.urandom(8)).decode()


def fingerprint_bytes(value):
    """Fingerprints are bytes fields: gcloud (apitools) sends back the URL-safe
    base64 of what it got, so compare the decoded bytes, in either alphabet."""
    text = str(value).replace('-', '+').replace('_', '/')
    try:
        return base64.b64decode(text + '=' * (-len(text) % 4), validate=True)
    except ValueError:
        return None


def new_id():
    return str(int.from_bytes(os.urandom(8), 'big') >> 1)


def link(path):
    return LINK_BASE + path


def relative(value):
    """'https://host/compute/v1/projects/p/zones/z' (any host) -> 'projects/p/zones/z'."""
    value = str(value)
    found = re.match(r'^https?://[^/]+/compute/(?:v1|beta|alpha)/(.*)$', value)
    if found:
        return found.group(1)
    if value.startswith(LINK_BASE):
        return value[len(LINK_BASE):]
    return value.lstrip('/')


def as_int(value, field, minimum=None):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(field, value, 'Must be an integer.') from None
    if minimum is not None and number < minimum:
        raise invalid(field, value, 'Must be at least %d.' % minimum)
    return number


def check_name(name, field='resource.name'):
    if not name:
        raise required(field)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise invalid(field, name, NAME_RULE)


def check_labels(labels, field='resource.labels'):
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise invalid(field, labels, 'Must be a map of strings.')
    if len(labels) > 64:
        raise invalid(field, len(labels), 'At most 64 labels are allowed.')
    for key, value in labels.items():
        if not LABEL_KEY_RE.match(key):
            raise invalid('%s.key' % field, key, 'Label keys must start with a lowercase letter and contain only '
                          'lowercase letters, digits, underscores and dashes (at most 63 characters).')
        if not isinstance(value, str) or not LABEL_VALUE_RE.match(value):
            raise invalid('%s.value' % field, value, 'Label values may contain only lowercase letters, digits, '
                          'underscores and dashes (at most 63 characters).')
    return dict(labels)


def check_metadata_items(items, field='resource.metadata.items'):
    if items is None:
        return []
    if not isinstance(items, list):
        raise invalid(field, items, 'Must be a list.')
    seen = set()
    total = 0
    clean = []
    for i, item in enumerate(items):
        key = item.get('key') if isinstance(item, dict) else None
        if not key or not METADATA_KEY_RE.match(str(key)):
            raise invalid('%s[%d].key' % (field, i), key, "Must be a match of regex '[a-zA-Z0-9-_]{1,128}'")
        if key in seen:
            raise invalid('%s[%d].key' % (field, i), key, 'Duplicate keys are not allowed.')
        seen.add(key)
        value = item.get('value', '')
        if value is None:
            value = ''
        if not isinstance(value, str):
            raise invalid('%s[%d].value' % (field, i), value, 'Must be a string.')
        if len(value.encode()) > 256 * 1024:
            raise invalid('%s[%d].value' % (field, i), key, 'A metadata value is at most 256 KB.')
        total += len(key) + len(value.encode())
        clean.append({'key': key, 'value': value})
    if total > 512 * 1024:
        raise ApiError(400, 'Metadata is larger than the 512 KB limit.', 'invalid')
    return clean


def check_tags(items, field='resource.tags.items'):
    items = items or []
    if not isinstance(items, list):
        raise invalid(field, items, 'Must be a list.')
    for i, tag in enumerate(items):
        if not isinstance(tag, str) or not NAME_RE.match(tag):
            raise invalid('%s[%d]' % (field, i), tag, NAME_RULE)
    return sorted(set(items))


def check_cidr(value, field):
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except (TypeError, ValueError):
        raise invalid(field, value, 'Must be a valid IPv4 or IPv6 CIDR range.') from None


def check_fingerprint(given, current, field, what):
    """A set* call must carry the resource's current fingerprint (412 if stale)."""
    if given is None or given == '':
        raise required(field)
    if fingerprint_bytes(given) is None:
        raise invalid(field, given, 'Must be a base64-encoded fingerprint.')
    if fingerprint_bytes(given) != fingerprint_bytes(current):
        raise ApiError(412, 'Supplied fingerprint does not match current fingerprint of %s; get the resource '
                       'again and retry with its current fingerprint.' % what, 'conditionNotMet')
