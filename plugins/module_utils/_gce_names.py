# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The names of Compute Engine: the one rule for each, wherever a value comes from.

Instances, disks, networks, firewall rules and network tags (a GCE name), zones and
regions, labels, service-account emails, project IDs, and resources given by name,
partial path or URL. Each of these goes into a request's URL or body, so each is
checked before the first request; the modules, the roles' checks (worker_vm_spec)
and the inventory plugin all call these. A refusal is an InputError naming the
variable. Nothing here sends a request.
"""

from __future__ import annotations

import re

from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError, shown

# An instance, disk, network, subnetwork, firewall rule, machine type or network tag:
# RFC 1035 labels of lower-case letters, digits and -, starting with a letter, 63 at most.
NAME_PATTERN = r'[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?'
NAME_RE = re.compile(r'^%s\Z' % NAME_PATTERN)
NAME_RULE = 'lower-case letters, digits and -, starting with a letter, at most 63 characters'
# A zone (us-central1-a; its region is us-central1).
ZONE_RE = re.compile(r'^[a-z]+-[a-z]+[0-9]+-[a-z]\Z')
# Label keys and values (ASCII: what the API documents for keys).
LABEL_KEY_RE = re.compile(r'^[a-z][a-z0-9_-]{0,62}\Z')
LABEL_VALUE_RE = re.compile(r'^[a-z0-9_-]{0,63}\Z')
MAX_LABELS = 64
# A service account's email (name@project.iam.gserviceaccount.com).
EMAIL_RE = re.compile(r'^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\Z')
# A project ID, optionally domain-scoped (example.com:my-project).
PROJECT_RE = re.compile(r'^(?:[a-z][-a-z0-9.]{0,62}[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]\Z')
# A resource given by name, partial path (projects/P/global/networks/N) or URL.
_REFERENCE_RE = re.compile(r'^(?:https://[A-Za-z0-9.-]+/)?[A-Za-z0-9._:/-]{1,1024}\Z')
_URL_HOST_RE = re.compile(r'^https://[^/]+/')


def basename(reference):
    """The last segment of a resource's URL or path (its name); '' for None."""
    return (reference or '').rstrip('/').rsplit('/', 1)[-1]


def region_of(zone):
    """The region of a (checked) zone: us-central1-a -> us-central1."""
    return zone.rsplit('-', 1)[0]


def validate_name(value, variable):
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise InputError(variable, 'must be a Compute Engine name (%s), got %s' % (NAME_RULE, shown(value)))
    return value


def validate_zone(value, variable='zone'):
    """A zone name such as us-central1-a."""
    if not isinstance(value, str) or not ZONE_RE.match(value):
        raise InputError(variable, 'must be a zone name such as us-central1-a, got %s' % shown(value))
    return value


def validate_project(value, variable='project'):
    """A project ID (optionally domain-scoped, example.com:my-project): it goes into every request's URL."""
    if not isinstance(value, str) or not PROJECT_RE.fullmatch(value):
        raise InputError(variable, 'must be a Google Cloud project ID (6 to 30 lower-case letters, digits and -, '
                                   'starting with a letter), got %s' % shown(value))
    return value


def validate_reference(value, variable):
    """A resource by name, partial path or URL: plain characters, no empty, . or .. segment, a GCE name last."""
    if not isinstance(value, str) or not _REFERENCE_RE.match(value):
        raise InputError(variable, 'must be a Compute Engine resource name, path or URL, got %s' % shown(value))
    path = _URL_HOST_RE.sub('', value)
    if any(part in ('', '.', '..') for part in path.split('/')):
        raise InputError(variable, 'must not contain empty, . or .. path segments, got %s' % shown(value))
    validate_name(path.rsplit('/', 1)[-1], variable)
    return value


def validate_labels(labels, variable='labels'):
    """Labels: keys [a-z][a-z0-9_-]*, values [a-z0-9_-]*, 63 characters at most, 64 labels; as strings."""
    if not isinstance(labels, dict):
        raise InputError(variable, 'must be a dictionary, got %s' % shown(labels))
    if len(labels) > MAX_LABELS:
        raise InputError(variable, 'must have at most %d labels, got %d' % (MAX_LABELS, len(labels)))
    out = {}
    for key, value in labels.items():
        key, value = str(key), '' if value is None else str(value)
        if not LABEL_KEY_RE.match(key):
            raise InputError(variable, 'keys must be lower-case letters, digits, _ and -, starting with a letter, '
                                       'at most 63 characters, got %s' % shown(key))
        if not LABEL_VALUE_RE.match(value):
            raise InputError(variable, 'the value of %s must be lower-case letters, digits, _ and -, at most 63 '
                                       'characters, got %s' % (key, shown(value)))
        out[key] = value
    return out


def validate_email(value, variable):
    """A service account's email (`default` is the caller's business)."""
    if not isinstance(value, str) or not EMAIL_RE.match(value):
        raise InputError(variable, 'must be a service account email (name@project.iam.gserviceaccount.com) or '
                                   'default, got %s' % shown(value))
    return value
