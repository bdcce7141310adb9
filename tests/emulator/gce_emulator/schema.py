# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""JSON types of the Compute request bodies the emulator reads: a wrong type
is a 400 "Invalid JSON payload" as Google's front end answers, before any
semantic check. Fields not listed are accepted untouched (clients send more
than the emulator reads)."""

from __future__ import annotations

from .core import ApiError

STR, BOOL, INT64, INT32 = 'string', 'bool', 'int64', 'int32'


class Map:
    """A map<string, VALUE> (labels)."""

    def __init__(self, value):
        self.value = value


STR_MAP = Map(STR)
METADATA = {'kind': STR, 'fingerprint': STR, 'items': [{'key': STR, 'value': STR}]}
TAGS = {'items': [STR], 'fingerprint': STR}
SCHEDULING = {'automaticRestart': BOOL, 'onHostMaintenance': STR, 'preemptible': BOOL, 'provisioningModel': STR,
              'instanceTerminationAction': STR}
SERVICE_ACCOUNT = {'email': STR, 'scopes': [STR]}
ATTACHED_DISK = {
    'boot': BOOL, 'autoDelete': BOOL, 'source': STR, 'deviceName': STR, 'mode': STR, 'type': STR, 'interface': STR,
    'initializeParams': {'sourceImage': STR, 'diskSizeGb': INT64, 'diskType': STR, 'diskName': STR,
                         'labels': STR_MAP},
}
ACCESS_CONFIG = {'type': STR, 'name': STR, 'natIP': STR, 'networkTier': STR}
NETWORK_INTERFACE = {'network': STR, 'subnetwork': STR, 'networkIP': STR, 'accessConfigs': [ACCESS_CONFIG],
                     'stackType': STR, 'nicType': STR}
INSTANCE = {
    'name': STR, 'description': STR, 'machineType': STR, 'canIpForward': BOOL, 'deletionProtection': BOOL,
    'hostname': STR, 'disks': [ATTACHED_DISK], 'networkInterfaces': [NETWORK_INTERFACE], 'metadata': METADATA,
    'labels': STR_MAP, 'tags': TAGS, 'scheduling': SCHEDULING, 'serviceAccounts': [SERVICE_ACCOUNT],
    'shieldedInstanceConfig': {'enableSecureBoot': BOOL, 'enableVtpm': BOOL, 'enableIntegrityMonitoring': BOOL},
}
SET_LABELS = {'labels': STR_MAP, 'labelFingerprint': STR}
SET_MACHINE_TYPE = {'machineType': STR}
DISK = {'name': STR, 'description': STR, 'sizeGb': INT64, 'type': STR, 'sourceImage': STR, 'labels': STR_MAP}
FIREWALL_RULE = {'IPProtocol': STR, 'ports': [STR]}
FIREWALL = {
    'name': STR, 'description': STR, 'network': STR, 'priority': INT32, 'direction': STR, 'disabled': BOOL,
    'sourceRanges': [STR], 'destinationRanges': [STR], 'sourceTags': [STR], 'targetTags': [STR],
    'sourceServiceAccounts': [STR], 'targetServiceAccounts': [STR], 'allowed': [FIREWALL_RULE],
    'denied': [FIREWALL_RULE], 'logConfig': {'enable': BOOL},
}
NETWORK = {'name': STR, 'description': STR, 'autoCreateSubnetworks': BOOL, 'mtu': INT32}
SUBNETWORK = {'name': STR, 'description': STR, 'network': STR, 'ipCidrRange': STR, 'privateIpGoogleAccess': BOOL}

# Cloud Build v1 BuildTrigger (the fields the emulator reads)
_GITHUB_EVENT = {'branch': STR, 'tag': STR, 'invertRegex': BOOL, 'commentControl': STR}
TRIGGER = {
    'name': STR, 'description': STR, 'tags': [STR], 'filename': STR, 'substitutions': STR_MAP,
    'includedFiles': [STR], 'ignoredFiles': [STR], 'disabled': BOOL, 'serviceAccount': STR, 'filter': STR,
    'includeBuildLogs': STR, 'build': {}, 'autodetect': BOOL, 'gitFileSource': {},
    'github': {'owner': STR, 'name': STR, 'enterpriseConfigResourceName': STR, 'push': _GITHUB_EVENT,
               'pullRequest': _GITHUB_EVENT},
}


def _bad(path, value, expected):
    return ApiError(400, "Invalid JSON payload received. Invalid value at '%s' (%s), %s" % (
        path, expected, _short(value)), 'invalid')


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + '...'


def check(value, schema, path='resource'):
    """Raise a 400 when `value` does not have the JSON types of `schema`."""
    if value is None:
        return
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise _bad(path, value, 'an object')
        for key, sub in schema.items():
            if key in value:
                check(value[key], sub, '%s.%s' % (path, key))
    elif isinstance(schema, list):
        if not isinstance(value, list):
            raise _bad(path, value, 'a list')
        for i, item in enumerate(value):
            if item is None:
                raise _bad('%s[%d]' % (path, i), item, 'a value')
            check(item, schema[0], '%s[%d]' % (path, i))
    elif isinstance(schema, Map):
        if not isinstance(value, dict):
            raise _bad(path, value, 'a map')
        for key, item in value.items():
            check(item, schema.value, '%s[%s]' % (path, key))
    elif schema == STR:
        if not isinstance(value, str):
            raise _bad(path, value, 'TYPE_STRING')
    elif schema == BOOL:
        if not isinstance(value, bool):
            raise _bad(path, value, 'TYPE_BOOL')
    elif schema in (INT64, INT32):
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and value.lstrip('-').isdigit())
        if not ok:
            raise _bad(path, value, 'TYPE_INT64' if schema == INT64 else 'TYPE_INT32')
