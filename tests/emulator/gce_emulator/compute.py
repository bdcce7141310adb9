# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compute Engine API v1 under /compute/v1/: the resources gcli.offload and
gcloud use, validated like GCE, with asynchronous operations."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import time
from datetime import datetime, timedelta, timezone

from . import schema, seeds
from .core import LINK_BASE, ApiError, Response, clone, invalid, not_found, required

NAME_RE = re.compile(r'^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$')
NAME_RULE = "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?|[1-9][0-9]{0,19})'"
PROJECT_RE = re.compile(r'^[a-z][-a-z0-9]{4,28}[a-z0-9]$|^[a-z][-a-z0-9.:]{1,61}[a-z0-9]$')
LABEL_KEY_RE = re.compile(r'^[a-z][a-z0-9_-]{0,62}$')
LABEL_VALUE_RE = re.compile(r'^[a-z0-9_-]{0,63}$')
METADATA_KEY_RE = re.compile(r'^[a-zA-Z0-9_-]{1,128}$')
CUSTOM_MT_RE = re.compile(r'^(?:(e2|n2|n2d|n1)-)?custom-(\d+)-(\d+)(?:-ext)?$')
PROTOCOLS = {'tcp', 'udp', 'icmp', 'esp', 'ah', 'sctp', 'ipip', 'all'}
PORT_PROTOCOLS = {'tcp', 'udp', 'sctp'}
PORT_RE = re.compile(r'^(\d{1,5})(?:-(\d{1,5}))?$')
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


def merge_scheduling(current, body):
    """setScheduling changes the fields it is given and keeps the others (gcloud
    sends only the flags given, and has --clear-* flags for the rest). A change
    of provisioning model drops what derives from the old one."""
    merged = dict(current)
    model_given = 'provisioningModel' in body or 'preemptible' in body
    if model_given:
        new_spot = body.get('provisioningModel') == 'SPOT' or bool(body.get('preemptible'))
        for key in ('provisioningModel', 'preemptible'):
            merged.pop(key, None)
        if new_spot != (current.get('provisioningModel') == 'SPOT'):
            for key in ('automaticRestart', 'onHostMaintenance', 'instanceTerminationAction'):
                merged.pop(key, None)
    merged.update({k: v for k, v in body.items() if v is not None})
    return merged


def check_cidr(value, field):
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except (TypeError, ValueError):
        raise invalid(field, value, 'Must be a valid IPv4 or IPv6 CIDR range.') from None


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


class _Idempotent:
    """Registers routes; mutating ones honour `requestId` like GCE: a request
    repeating the requestId of an earlier one answers that request's
    operation and changes nothing."""

    def __init__(self, router, api):
        self.router = router
        self.api = api

    def add(self, method, pattern, handler):
        if method != 'GET' and not pattern.endswith('/wait'):
            handler = self._wrap(handler)
        self.router.add(method, pattern, handler)

    def _wrap(self, handler):
        api = self.api

        def idempotent(req, **groups):
            request_id = req.arg('requestId')
            if request_id:
                with api.app.lock:
                    done = api.request_ids.get((groups.get('project'), request_id))
                    if done is not None:
                        return clone(done)
            return handler(req, **groups)
        return idempotent


class Compute:
    """State and handlers of the Compute Engine API."""

    def __init__(self, app):
        self.app = app
        self.waiting = 0          # operations wait calls in flight
        self.reset()

    def reset(self):
        self.projects = {}
        self.instances = {}       # (project, zone, name) -> instance
        self.disks = {}           # (project, zone, name) -> disk
        self.networks = {}        # (project, name)
        self.subnetworks = {}     # (project, region, name)
        self.firewalls = {}       # (project, name)
        self.operations = {}      # (project, scope, name) -> operation; scope 'global', 'zones/Z', 'regions/R'
        self.request_ids = {}     # (project, requestId) -> the operation that request created
        self.ip_counter = {}
        self.nat_counter = 0
        self.images = {}
        for project, rows in seeds.IMAGES.items():
            for name, family, created, size, state, licenses in rows:
                image = {
                    'kind': 'compute#image', 'id': seeds.stable_id('image', project, name),
                    'creationTimestamp': created, 'name': name, 'description': 'Seeded %s image' % family,
                    'sourceType': 'RAW', 'status': 'READY', 'archiveSizeBytes': '2147483648',
                    'diskSizeGb': str(size), 'licenses': [link(x) for x in licenses],
                    'licenseCodes': [seeds.stable_id('license', x) for x in licenses],
                    'family': family, 'selfLink': link('projects/%s/global/images/%s' % (project, name)),
                    'labelFingerprint': '42WmSpB8rSM=', 'guestOsFeatures': [
                        {'type': 'VIRTIO_SCSI_MULTIQUEUE'}, {'type': 'SEV_CAPABLE'}, {'type': 'UEFI_COMPATIBLE'},
                        {'type': 'GVNIC'}],
                    'storageLocations': ['us', 'eu', 'asia'], 'architecture': 'X86_64',
                    'shieldedInstanceInitialState': {}, 'satisfiesPzi': True,
                }
                if 'arm64' in name:
                    image['architecture'] = 'ARM64'
                if state:
                    image['deprecated'] = {'state': state}
                self.images[(project, name)] = image

    # -- helpers ----------------------------------------------------------
    def project(self, project):
        if not PROJECT_RE.match(project):
            raise not_found('projects/%s' % project)
        found = self.projects.get(project)
        if found is None:
            number = seeds.project_number(project)
            found = {
                'kind': 'compute#project', 'id': seeds.stable_id('project-id', project), 'name': project,
                'creationTimestamp': '2024-01-01T00:00:00.000-08:00',
                'commonInstanceMetadata': {'kind': 'compute#metadata', 'fingerprint': fingerprint(), 'items': []},
                'defaultServiceAccount': '%s-compute@developer.gserviceaccount.com' % number,
                'defaultNetworkTier': 'PREMIUM', 'xpnProjectStatus': 'UNSPECIFIED_XPN_PROJECT_STATUS',
                'selfLink': link('projects/%s' % project), 'number': number,
                'quotas': [{'metric': 'INSTANCES', 'limit': 1000.0, 'usage': 0.0}],
            }
            self.projects[project] = found
            if project not in seeds.IMAGES:
                self._create_network(project, {'name': 'default', 'autoCreateSubnetworks': True,
                                               'description': 'Default network for the project'})
        return found

    def zone(self, project, zone):
        self.project(project)
        if zone not in seeds.ZONES:
            raise not_found('projects/%s/zones/%s' % (project, zone))
        return zone

    def region(self, project, region):
        self.project(project)
        if region not in seeds.REGIONS:
            raise not_found('projects/%s/regions/%s' % (project, region))
        return region

    def get_instance(self, project, zone, name):
        self.zone(project, zone)
        inst = self.instances.get((project, zone, name))
        if inst is None:
            raise not_found('projects/%s/zones/%s/instances/%s' % (project, zone, name))
        return inst

    def _machine_type(self, project, zone, name):
        if name in seeds.MACHINE_TYPES:
            cpus, memory, description = seeds.MACHINE_TYPES[name]
        else:
            found = CUSTOM_MT_RE.match(name)
            if not found:
                return None
            cpus, memory, description = int(found.group(2)), int(found.group(3)), 'Custom created machine type.'
        return {
            'kind': 'compute#machineType', 'id': seeds.stable_id('mt', name), 'creationTimestamp':
            '2015-01-01T00:00:00.000-08:00', 'name': name, 'description': description, 'guestCpus': cpus,
            'memoryMb': memory, 'imageSpaceGb': 0, 'maximumPersistentDisks': 128,
            'maximumPersistentDisksSizeGb': '263168', 'zone': zone,
            'isSharedCpu': name in ('e2-micro', 'e2-small', 'e2-medium'),
            'selfLink': link('projects/%s/zones/%s/machineTypes/%s' % (project, zone, name)),
            'architecture': 'X86_64',
        }

    def resolve_machine_type(self, project, zone, value, field='resource.machineType'):
        if not value:
            raise required(field)
        rel = relative(value)
        found = re.match(r'^(?:projects/([^/]+)/)?zones/([^/]+)/machineTypes/([^/]+)$', rel)
        if not found:
            raise invalid(field, value, 'Must be the URL to a Compute resource of the correct type')
        mt_zone, name = found.group(2), found.group(3)
        if mt_zone != zone:
            raise invalid(field, value, "Machine type must be in the instance's zone '%s'." % zone)
        if self._machine_type(project, zone, name) is None:
            raise invalid(field, value, "Machine type with name '%s' does not exist in zone '%s'." % (name, zone))
        return link('projects/%s/zones/%s/machineTypes/%s' % (project, zone, name))

    def resolve_image(self, project, value, field):
        rel = relative(value)
        view = re.match(r'^(?:projects/([^/]+)/)?zones/[^/]+/imageFamilyViews/([^/]+)$', rel)
        if view:   # what gcloud sends for --image-family (zone '-')
            return self.image_from_family(view.group(1) or project, view.group(2))
        found = re.match(r'^(?:projects/([^/]+)/)?global/images/(family/)?([^/]+)$', rel)
        if not found:
            raise invalid(field, value, 'Must be the URL to a Compute resource of the correct type')
        image_project = found.group(1) or project
        if found.group(2):
            return self.image_from_family(image_project, found.group(3))
        image = self.images.get((image_project, found.group(3)))
        if image is None:
            raise not_found('projects/%s/global/images/%s' % (image_project, found.group(3)))
        return image

    def image_from_family(self, project, family):
        self.project(project)
        candidates = [i for (p, _name), i in self.images.items()
                      if p == project and i.get('family') == family
                      and i.get('deprecated', {}).get('state') not in ('DEPRECATED', 'OBSOLETE', 'DELETED')]
        if not candidates:
            raise not_found('projects/%s/global/images/family/%s' % (project, family))
        return max(candidates, key=lambda i: datetime.fromisoformat(i['creationTimestamp']))

    def resolve_disk_type(self, project, zone, value, field):
        rel = relative(value or 'pd-standard')
        name = rel.rsplit('/', 1)[-1]
        if '/' in rel and not re.match(r'^(?:projects/[^/]+/)?zones/%s/diskTypes/[^/]+$' % re.escape(zone), rel):
            raise invalid(field, value, "Disk type must be in the zone '%s'." % zone)
        if name not in seeds.DISK_TYPES:
            raise invalid(field, value, "Disk type '%s' does not exist in zone '%s'." % (name, zone))
        return link('projects/%s/zones/%s/diskTypes/%s' % (project, zone, name))

    def resolve_network(self, project, value, field):
        rel = relative(value or 'global/networks/default')
        found = re.match(r'^(?:projects/([^/]+)/)?global/networks/([^/]+)$', rel)
        if not found:
            raise invalid(field, value, 'Must be the URL to a Compute resource of the correct type')
        net_project = found.group(1) or project
        self.project(net_project)
        net = self.networks.get((net_project, found.group(2)))
        if net is None:
            raise not_found('projects/%s/global/networks/%s' % (net_project, found.group(2)))
        return net

    def resolve_subnetwork(self, project, region, value, field):
        rel = relative(value)
        found = re.match(r'^(?:projects/([^/]+)/)?regions/([^/]+)/subnetworks/([^/]+)$', rel)
        if not found:
            raise invalid(field, value, 'Must be the URL to a Compute resource of the correct type')
        sub_project = found.group(1) or project
        if found.group(2) != region:
            raise invalid(field, value, "Subnetwork must be in the instance's region '%s'." % region)
        sub = self.subnetworks.get((sub_project, region, found.group(3)))
        if sub is None:
            raise not_found('projects/%s/regions/%s/subnetworks/%s' % (sub_project, region, found.group(3)))
        return sub

    def _allocate_ip(self, sub):
        key = sub['selfLink']
        net = ipaddress.ip_network(sub['ipCidrRange'])
        used = self.ip_counter.get(key, 1) + 1
        self.ip_counter[key] = used
        return str(net.network_address + used)

    def _allocate_nat(self):
        self.nat_counter += 1
        n = self.nat_counter
        return '34.%d.%d.%d' % (100 + (n // 65536) % 100, (n // 256) % 256, n % 256 or 1)

    # -- operations -------------------------------------------------------
    def operation(self, req, project, scope, op_type, target_link, target_id=None, on_start=None, on_done=None,
                  midway=None):
        """Create an operation; on_start runs now, midway half-way through,
        on_done when it ends DONE without an (injected) error. Returns the
        operation as first seen."""
        app = self.app
        fault = app.faults.take('operation_error', req.method, req.path)
        delay_fault = app.faults.take('operation_delay', req.method, req.path)
        delay = delay_fault['delay'] if delay_fault else app.config['operation_delay']
        name = 'operation-%d-%s' % (int(time.time() * 1000), os.urandom(6).hex())
        op = {
            'kind': 'compute#operation', 'id': new_id(), 'name': name, 'operationType': op_type,
            'targetLink': target_link, 'targetId': target_id or new_id(), 'status': 'RUNNING',
            'user': 'emulator@example.iam.gserviceaccount.com', 'progress': 0, 'insertTime': now_ts(),
            'startTime': now_ts(), 'selfLink': link('projects/%s/%s/operations/%s' % (project, scope, name)),
        }
        if scope.startswith('zones/'):
            op['zone'] = link('projects/%s/%s' % (project, scope))
        elif scope.startswith('regions/'):
            op['region'] = link('projects/%s/%s' % (project, scope))
        self.operations[(project, scope, name)] = op
        if req.arg('requestId'):
            self.request_ids[(project, req.arg('requestId'))] = op
        if fault is None and on_start:
            on_start()

        def finish():
            if fault is not None:
                error = fault['error']
                op['error'] = {'errors': [{'code': error['code'], 'message': error.get('message', error['code'])}]}
                op['httpErrorStatusCode'] = fault['http_status']
                op['httpErrorMessage'] = {400: 'BAD REQUEST', 403: 'FORBIDDEN', 409: 'CONFLICT', 412:
                                          'PRECONDITION FAILED', 429: 'TOO MANY REQUESTS', 503: 'SERVICE UNAVAILABLE'
                                          }.get(fault['http_status'], 'ERROR')
            elif on_done:
                on_done()
            op['status'] = 'DONE'
            op['progress'] = 100
            op['endTime'] = now_ts()

        if delay <= 0:
            if fault is None and midway:
                midway()
            finish()
        else:
            if fault is None and midway:
                app.scheduler.at(delay / 2, midway)
            app.scheduler.at(delay, finish)
        return clone(op)

    def get_operation(self, project, scope, name):
        op = self.operations.get((project, scope, name))
        if op is None:
            raise not_found('projects/%s/%s/operations/%s' % (project, scope, name))
        return op

    # -- routes -----------------------------------------------------------
    def register(self, router):
        r = _Idempotent(router, self)
        r.add('GET', V1, self.h_project_get)
        r.add('POST', V1 + '/setCommonInstanceMetadata', self.h_project_set_metadata)
        r.add('GET', V1 + '/zones', self.h_zones_list)
        r.add('GET', V1 + '/zones/' + Z, self.h_zone_get)
        r.add('GET', V1 + '/regions', self.h_regions_list)
        r.add('GET', V1 + '/regions/' + R, self.h_region_get)
        r.add('GET', V1 + '/zones/' + Z + '/machineTypes', self.h_mt_list)
        r.add('GET', V1 + '/zones/' + Z + '/machineTypes/' + N, self.h_mt_get)
        r.add('GET', V1 + '/zones/' + Z + '/diskTypes', self.h_dt_list)
        r.add('GET', V1 + '/zones/' + Z + '/diskTypes/' + N, self.h_dt_get)
        r.add('GET', V1 + '/global/images', self.h_images_list)
        r.add('GET', V1 + '/global/images/family/' + N, self.h_image_family)
        r.add('GET', V1 + '/global/images/' + N, self.h_image_get)
        r.add('GET', V1 + '/zones/' + Z + '/imageFamilyViews/' + N, self.h_image_family_view)
        # instances
        base = V1 + '/zones/' + Z + '/instances'
        r.add('GET', base, self.h_instances_list)
        r.add('POST', base, self.h_instance_insert)
        r.add('GET', V1 + '/aggregated/instances', self.h_instances_aggregated)
        r.add('GET', base + '/' + N, self.h_instance_get)
        r.add('DELETE', base + '/' + N, self.h_instance_delete)
        for verb in ('start', 'stop', 'setMetadata', 'setLabels', 'setTags', 'setMachineType', 'setScheduling',
                     'setServiceAccount', 'attachDisk', 'detachDisk', 'setDeletionProtection'):
            r.add('POST', base + '/' + N + '/' + verb, getattr(self, 'h_instance_' + verb))
        # disks
        r.add('GET', V1 + '/zones/' + Z + '/disks', self.h_disks_list)
        r.add('POST', V1 + '/zones/' + Z + '/disks', self.h_disk_insert)
        r.add('GET', V1 + '/zones/' + Z + '/disks/' + N, self.h_disk_get)
        r.add('DELETE', V1 + '/zones/' + Z + '/disks/' + N, self.h_disk_delete)
        r.add('POST', V1 + '/zones/' + Z + '/disks/' + N + '/setLabels', self.h_disk_set_labels)
        # operations
        for scope_re, kind in ((r'zones/(?P<zone>[^/]+)', 'zone'), ('global', 'global'),
                               (r'regions/(?P<region>[^/]+)', 'region')):
            r.add('GET', V1 + '/' + scope_re + '/operations', self.h_ops_list)
            r.add('GET', V1 + '/' + scope_re + '/operations/' + N, self.h_op_get)
            r.add('POST', V1 + '/' + scope_re + '/operations/' + N + '/wait', self.h_op_wait)
            r.add('DELETE', V1 + '/' + scope_re + '/operations/' + N, self.h_op_delete)
        # networks, subnetworks, firewalls
        r.add('GET', V1 + '/global/networks', self.h_networks_list)
        r.add('POST', V1 + '/global/networks', self.h_network_insert)
        r.add('GET', V1 + '/global/networks/' + N, self.h_network_get)
        r.add('DELETE', V1 + '/global/networks/' + N, self.h_network_delete)
        r.add('GET', V1 + '/regions/' + R + '/subnetworks', self.h_subnets_list)
        r.add('POST', V1 + '/regions/' + R + '/subnetworks', self.h_subnet_insert)
        r.add('GET', V1 + '/regions/' + R + '/subnetworks/' + N, self.h_subnet_get)
        r.add('DELETE', V1 + '/regions/' + R + '/subnetworks/' + N, self.h_subnet_delete)
        r.add('GET', V1 + '/aggregated/subnetworks', self.h_subnets_aggregated)
        r.add('GET', V1 + '/global/firewalls', self.h_firewalls_list)
        r.add('POST', V1 + '/global/firewalls', self.h_firewall_insert)
        r.add('GET', V1 + '/global/firewalls/' + N, self.h_firewall_get)
        r.add('PATCH', V1 + '/global/firewalls/' + N, self.h_firewall_patch)
        r.add('PUT', V1 + '/global/firewalls/' + N, self.h_firewall_update)
        r.add('DELETE', V1 + '/global/firewalls/' + N, self.h_firewall_delete)

    # -- project ----------------------------------------------------------
    def h_project_get(self, req, project):
        with self.app.lock:
            body = clone(self.project(project))
        body.pop('number', None)
        return body

    def h_project_set_metadata(self, req, project):
        body = req.json()
        schema.check(body, schema.METADATA)
        with self.app.lock:
            proj = self.project(project)
            items = check_metadata_items(body.get('items'), 'resource.items')
            self._check_fingerprint(body.get('fingerprint'), proj['commonInstanceMetadata']['fingerprint'],
                                    'resource.fingerprint', 'commonInstanceMetadata of project %s' % project)

            def done():
                proj['commonInstanceMetadata'] = {'kind': 'compute#metadata', 'fingerprint': fingerprint(),
                                                  'items': items}
            return self.operation(req, project, 'global', 'compute.projects.setCommonInstanceMetadata',
                                  link('projects/%s' % project), proj['id'], on_done=done)

    @staticmethod
    def _check_fingerprint(given, current, field, what):
        if given is None or given == '':
            raise required(field)
        if fingerprint_bytes(given) is None:
            raise invalid(field, given, 'Must be a base64-encoded fingerprint.')
        if fingerprint_bytes(given) != fingerprint_bytes(current):
            raise ApiError(412, 'Supplied fingerprint does not match current fingerprint of %s; get the resource '
                           'again and retry with its current fingerprint.' % what, 'conditionNotMet')

    # -- zones, regions, machine types, disk types, images ----------------
    def _zone_body(self, project, zone):
        return {'kind': 'compute#zone', 'id': seeds.stable_id('zone', zone), 'creationTimestamp':
                '1969-12-31T16:00:00.000-08:00', 'name': zone, 'description': zone, 'status': 'UP',
                'region': link('projects/%s/regions/%s' % (project, seeds.region_of(zone))),
                'selfLink': link('projects/%s/zones/%s' % (project, zone)),
                'availableCpuPlatforms': ['Intel Cascade Lake', 'AMD Milan'], 'supportsPzs': False}

    def _region_body(self, project, region):
        return {'kind': 'compute#region', 'id': seeds.stable_id('region', region), 'name': region,
                'creationTimestamp': '1969-12-31T16:00:00.000-08:00', 'description': region, 'status': 'UP',
                'zones': [link('projects/%s/zones/%s' % (project, z)) for z in seeds.ZONES
                          if seeds.region_of(z) == region],
                'selfLink': link('projects/%s/regions/%s' % (project, region)), 'quotas': []}

    def h_zones_list(self, req, project):
        with self.app.lock:
            self.project(project)
        return page(req, [self._zone_body(project, z) for z in seeds.ZONES], 'compute#zoneList',
                    link('projects/%s/zones' % project), 'projects/%s/zones' % project)

    def h_zone_get(self, req, project, zone):
        with self.app.lock:
            self.zone(project, zone)
        return self._zone_body(project, zone)

    def h_regions_list(self, req, project):
        with self.app.lock:
            self.project(project)
        return page(req, [self._region_body(project, r) for r in seeds.REGIONS], 'compute#regionList',
                    link('projects/%s/regions' % project), 'projects/%s/regions' % project)

    def h_region_get(self, req, project, region):
        with self.app.lock:
            self.region(project, region)
        return self._region_body(project, region)

    def h_mt_list(self, req, project, zone):
        with self.app.lock:
            self.zone(project, zone)
        return page(req, [self._machine_type(project, zone, n) for n in seeds.MACHINE_TYPES],
                    'compute#machineTypeList', link('projects/%s/zones/%s/machineTypes' % (project, zone)),
                    'projects/%s/zones/%s/machineTypes' % (project, zone))

    def h_mt_get(self, req, project, zone, name):
        with self.app.lock:
            self.zone(project, zone)
        body = self._machine_type(project, zone, name)
        if body is None:
            raise not_found('projects/%s/zones/%s/machineTypes/%s' % (project, zone, name))
        return body

    def _disk_type(self, project, zone, name):
        description, sizes = seeds.DISK_TYPES[name]
        return {'kind': 'compute#diskType', 'id': seeds.stable_id('dt', name), 'name': name,
                'description': description, 'validDiskSize': sizes, 'zone': link('projects/%s/zones/%s' % (
                    project, zone)), 'defaultDiskSizeGb': '100' if name != 'pd-extreme' else '1000',
                'creationTimestamp': '1969-12-31T16:00:00.000-08:00',
                'selfLink': link('projects/%s/zones/%s/diskTypes/%s' % (project, zone, name))}

    def h_dt_list(self, req, project, zone):
        with self.app.lock:
            self.zone(project, zone)
        return page(req, [self._disk_type(project, zone, n) for n in seeds.DISK_TYPES], 'compute#diskTypeList',
                    link('projects/%s/zones/%s/diskTypes' % (project, zone)),
                    'projects/%s/zones/%s/diskTypes' % (project, zone))

    def h_dt_get(self, req, project, zone, name):
        with self.app.lock:
            self.zone(project, zone)
        if name not in seeds.DISK_TYPES:
            raise not_found('projects/%s/zones/%s/diskTypes/%s' % (project, zone, name))
        return self._disk_type(project, zone, name)

    def h_images_list(self, req, project):
        with self.app.lock:
            self.project(project)
            items = [clone(i) for (p, _name), i in sorted(self.images.items()) if p == project]
        return page(req, items, 'compute#imageList', link('projects/%s/global/images' % project),
                    'projects/%s/global/images' % project)

    def h_image_get(self, req, project, name):
        with self.app.lock:
            self.project(project)
            image = self.images.get((project, name))
            if image is None:
                raise not_found('projects/%s/global/images/%s' % (project, name))
            return clone(image)

    def h_image_family(self, req, project, name):
        with self.app.lock:
            return clone(self.image_from_family(project, name))

    def h_image_family_view(self, req, project, zone, name):
        with self.app.lock:
            if zone != '-':
                self.zone(project, zone)
            return {'image': clone(self.image_from_family(project, name))}

    # -- instances --------------------------------------------------------
    def _out(self, inst):
        return clone(inst)

    def h_instances_list(self, req, project, zone):
        with self.app.lock:
            self.zone(project, zone)
            items = [self._out(i) for (p, z, _name), i in sorted(self.instances.items()) if p == project and z == zone]
        return page(req, items, 'compute#instanceList', link('projects/%s/zones/%s/instances' % (project, zone)),
                    'projects/%s/zones/%s/instances' % (project, zone))

    def h_instances_aggregated(self, req, project):
        with self.app.lock:
            self.project(project)
            everything = [(z, self._out(i)) for (p, z, _name), i in sorted(self.instances.items()) if p == project]
        kept = {id(i) for i in apply_filter([i for _zone, i in everything], req.arg('filter'))}
        items = {}
        for zone in seeds.ZONES:
            found = [i for z, i in everything if z == zone and id(i) in kept]
            if found:
                items['zones/' + zone] = {'instances': found}
            else:
                items['zones/' + zone] = {'warning': {
                    'code': 'NO_RESULTS_ON_PAGE', 'message': 'There are no results for scope \'zones/%s\' on this '
                    'page.' % zone, 'data': [{'key': 'scope', 'value': 'zones/' + zone}]}}
        return {'kind': 'compute#instanceAggregatedList', 'id': 'projects/%s/aggregated/instances' % project,
                'items': items, 'selfLink': link('projects/%s/aggregated/instances' % project)}

    def h_instance_get(self, req, project, zone, name):
        with self.app.lock:
            return self._out(self.get_instance(project, zone, name))

    def _check_scheduling(self, sched, field='resource.scheduling'):
        sched = dict(sched or {})
        model = sched.get('provisioningModel') or ('SPOT' if sched.get('preemptible') else 'STANDARD')
        if model not in ('STANDARD', 'SPOT'):
            raise invalid(field + '.provisioningModel', model, 'Must be one of [STANDARD, SPOT].')
        spot = model == 'SPOT' or bool(sched.get('preemptible'))
        if spot:
            if sched.get('automaticRestart') is True:
                raise invalid(field + '.automaticRestart', True, 'Scheduling must have automaticRestart false when '
                              'the provisioning model is SPOT or preemptible is true.')
            if sched.get('onHostMaintenance', 'TERMINATE') != 'TERMINATE':
                raise invalid(field + '.onHostMaintenance', sched['onHostMaintenance'],
                              'Scheduling must have onHostMaintenance TERMINATE when the provisioning model is SPOT '
                              'or preemptible is true.')
        host = sched.get('onHostMaintenance') or ('TERMINATE' if spot else 'MIGRATE')
        if host not in ('MIGRATE', 'TERMINATE'):
            raise invalid(field + '.onHostMaintenance', host, 'Must be one of [MIGRATE, TERMINATE].')
        action = sched.get('instanceTerminationAction')
        if action is not None and action not in ('STOP', 'DELETE'):
            raise invalid(field + '.instanceTerminationAction', action, 'Must be one of [STOP, DELETE].')
        out = {'onHostMaintenance': host, 'automaticRestart': bool(sched.get('automaticRestart', not spot)),
               'preemptible': spot, 'provisioningModel': 'SPOT' if spot else 'STANDARD'}
        if spot:
            out['instanceTerminationAction'] = action or 'STOP'
        for key in ('nodeAffinities', 'minNodeCpus', 'maxRunDuration', 'localSsdRecoveryTimeout'):
            if key in sched:
                out[key] = sched[key]
        return out

    def _check_service_accounts(self, project, accounts, field='resource.serviceAccounts'):
        accounts = accounts or []
        if not isinstance(accounts, list) or len(accounts) > 1:
            raise invalid(field, accounts, 'At most one service account is allowed.')
        out = []
        for sa in accounts:
            email = sa.get('email') or 'default'
            if email == 'default':
                email = self.project(project)['defaultServiceAccount']
            elif '@' not in email:
                raise invalid(field + '[0].email', email, 'Must be a service account email or "default".')
            scopes = sa.get('scopes') or []
            for scope in scopes:
                if not str(scope).startswith('https://www.googleapis.com/auth/'):
                    raise invalid(field + '[0].scopes', scope, 'Scopes must be full https://www.googleapis.com/auth/ '
                                  'URLs.')
            out.append({'email': email, 'scopes': list(scopes)})
        return out

    def _build_disks(self, req, project, zone, name, disks, created):
        """Validate the attached disks; returns (attached, new disks to create, existing disks to attach)."""
        if not disks:
            raise required('resource.disks')
        attached, new_disks, existing = [], [], []
        boots = [d for d in disks if isinstance(d, dict) and d.get('boot')]
        if not boots and isinstance(disks[0], dict):
            disks[0] = dict(disks[0], boot=True)
        if sum(1 for d in disks if isinstance(d, dict) and d.get('boot')) != 1:
            raise invalid('resource.disks', len(boots), 'Exactly one boot disk is required.')
        names, devices = set(), set()
        for i, disk in enumerate(disks):
            field = 'resource.disks[%d]' % i
            if not isinstance(disk, dict):
                raise invalid(field, disk, 'Must be an object.')
            boot = bool(disk.get('boot'))
            mode = disk.get('mode', 'READ_WRITE')
            if mode not in ('READ_WRITE', 'READ_ONLY'):
                raise invalid(field + '.mode', mode, 'Must be one of [READ_WRITE, READ_ONLY].')
            if disk.get('source'):
                rel = relative(disk['source'])
                found = re.match(r'^(?:projects/([^/]+)/)?zones/([^/]+)/disks/([^/]+)$', rel)
                if not found or found.group(2) != zone:
                    raise invalid(field + '.source', disk['source'], "Must be a disk in zone '%s'." % zone)
                src = self.disks.get((found.group(1) or project, zone, found.group(3)))
                if src is None:
                    raise not_found('projects/%s/zones/%s/disks/%s' % (found.group(1) or project, zone,
                                                                       found.group(3)))
                self._check_disk_free(src, mode)
                disk_name, size, licenses, src_link = src['name'], src['sizeGb'], src.get('licenses', []), \
                    src['selfLink']
                existing.append(src)
            else:
                params = disk.get('initializeParams')
                if not isinstance(params, dict):
                    raise required(field + '.source')
                disk_name = params.get('diskName') or (name if boot else '%s-%d' % (name, i))
                check_name(disk_name, field + '.initializeParams.diskName')
                image = None
                if params.get('sourceImage'):
                    image = self.resolve_image(project, params['sourceImage'], field + '.initializeParams.sourceImage')
                elif boot:
                    raise required(field + '.initializeParams.sourceImage')
                min_size = int(image['diskSizeGb']) if image else 10
                size = as_int(params.get('diskSizeGb', min_size), field + '.initializeParams.diskSizeGb', 1)
                if size < min_size:
                    raise invalid(field + '.initializeParams.diskSizeGb', size, 'Requested disk size cannot be '
                                  'smaller than the image size (%d GB).' % min_size)
                if (project, zone, disk_name) in self.disks or disk_name in names:
                    raise ApiError(409, "The resource 'projects/%s/zones/%s/disks/%s' already exists" % (
                        project, zone, disk_name), 'alreadyExists')
                disk_type = self.resolve_disk_type(project, zone, params.get('diskType'),
                                                   field + '.initializeParams.diskType')
                licenses = list(image.get('licenses', [])) if image else []
                src_link = link('projects/%s/zones/%s/disks/%s' % (project, zone, disk_name))
                new_disks.append(self._disk_body(project, zone, disk_name, size, disk_type, image,
                                                 check_labels(params.get('labels'), field + '.initializeParams.labels'),
                                                 created))
            names.add(disk_name)
            device = disk.get('deviceName') or (disk_name if not disk.get('source') or not boot else disk_name)
            if device in devices:
                raise invalid(field + '.deviceName', device, 'Device names must be unique within an instance.')
            devices.add(device)
            attached.append({
                'kind': 'compute#attachedDisk', 'type': 'PERSISTENT', 'mode': mode, 'source': src_link,
                'deviceName': device, 'index': i, 'boot': boot,
                'autoDelete': bool(disk.get('autoDelete', bool(disk.get('initializeParams')))),
                'licenses': licenses, 'interface': disk.get('interface', 'SCSI'),
                'guestOsFeatures': [{'type': 'VIRTIO_SCSI_MULTIQUEUE'}, {'type': 'UEFI_COMPATIBLE'},
                                    {'type': 'GVNIC'}] if boot else [],
                'diskSizeGb': str(size), 'architecture': 'X86_64',
            })
        return attached, new_disks, existing

    def _check_disk_free(self, disk, mode):
        if disk.get('users'):   # multi-writer and read-only sharing are not emulated
            raise ApiError(400, "The disk resource '%s' is already being used by '%s'" % (
                relative(disk['selfLink']), relative(disk['users'][0])), 'resourceInUseByAnotherResource')

    def _disk_body(self, project, zone, name, size, disk_type, image, labels, created):
        body = {
            'kind': 'compute#disk', 'id': new_id(), 'creationTimestamp': created, 'name': name,
            'sizeGb': str(size), 'zone': link('projects/%s/zones/%s' % (project, zone)), 'status': 'READY',
            'selfLink': link('projects/%s/zones/%s/disks/%s' % (project, zone, name)), 'type': disk_type,
            'labels': labels, 'labelFingerprint': fingerprint(), 'physicalBlockSizeBytes': '4096',
            'users': [], 'architecture': 'X86_64',
        }
        if image:
            body.update(sourceImage=image['selfLink'], sourceImageId=image['id'],
                        licenses=list(image.get('licenses', [])), licenseCodes=list(image.get('licenseCodes', [])))
        return body

    def _build_nics(self, project, zone, nics):
        if not nics:
            raise invalid('resource.networkInterfaces', '[]', 'At least one network interface is required.')
        region = seeds.region_of(zone)
        out = []
        for i, nic in enumerate(nics):
            field = 'resource.networkInterfaces[%d]' % i
            if not isinstance(nic, dict):
                raise invalid(field, nic, 'Must be an object.')
            if nic.get('subnetwork'):
                sub = self.resolve_subnetwork(project, region, nic['subnetwork'], field + '.subnetwork')
                net = self.resolve_network(project, sub['network'], field + '.network')
                if nic.get('network') and relative(self.resolve_network(project, nic['network'], field + '.network')
                                                   ['selfLink']) != relative(net['selfLink']):
                    raise invalid(field + '.subnetwork', nic['subnetwork'], 'The subnetwork does not belong to the '
                                  'network.')
            else:
                net = self.resolve_network(project, nic.get('network'), field + '.network')
                subs = [s for (p, r, _name), s in self.subnetworks.items()
                        if r == region and relative(s['network']) == relative(net['selfLink'])]
                if not subs:
                    raise invalid(field + '.network', relative(net['selfLink']), "The network has no subnetwork "
                                  "in region '%s'; name a subnetwork." % region)
                sub = subs[0]
            ip = nic.get('networkIP') or self._allocate_ip(sub)
            access = []
            for j, ac in enumerate(nic.get('accessConfigs') or []):
                ac_type = ac.get('type', 'ONE_TO_ONE_NAT')
                if ac_type != 'ONE_TO_ONE_NAT':
                    raise invalid('%s.accessConfigs[%d].type' % (field, j), ac_type, 'Must be ONE_TO_ONE_NAT.')
                tier = ac.get('networkTier', 'PREMIUM')
                if tier not in ('PREMIUM', 'STANDARD'):
                    raise invalid('%s.accessConfigs[%d].networkTier' % (field, j), tier, 'Must be PREMIUM or '
                                  'STANDARD.')
                access.append({'kind': 'compute#accessConfig', 'type': 'ONE_TO_ONE_NAT',
                               'name': ac.get('name', 'External NAT'), 'natIP': ac.get('natIP') or self._allocate_nat(),
                               'networkTier': tier})
            body = {'kind': 'compute#networkInterface', 'network': net['selfLink'], 'subnetwork': sub['selfLink'],
                    'networkIP': ip, 'name': 'nic%d' % i, 'fingerprint': fingerprint(),
                    'stackType': nic.get('stackType', 'IPV4_ONLY')}
            if access:
                body['accessConfigs'] = access
            if nic.get('nicType'):
                body['nicType'] = nic['nicType']
            out.append(body)
        return out

    def h_instance_insert(self, req, project, zone):
        body = req.json(allow_empty=False)
        schema.check(body, schema.INSTANCE)
        with self.app.lock:
            self.zone(project, zone)
            name = body.get('name')
            check_name(name)
            if req.arg('sourceInstanceTemplate'):
                raise ApiError(400, 'sourceInstanceTemplate is not supported by the emulator.', 'invalid')
            key = (project, zone, name)
            if key in self.instances:
                raise ApiError(409, "The resource 'projects/%s/zones/%s/instances/%s' already exists" % key,
                               'alreadyExists')
            machine_type = self.resolve_machine_type(project, zone, body.get('machineType'))
            created = now_ts()
            attached, new_disks, existing = self._build_disks(req, project, zone, name, list(body.get('disks') or []),
                                                              created)
            nics = self._build_nics(project, zone, body.get('networkInterfaces'))
            metadata = body.get('metadata') or {}
            items = check_metadata_items(metadata.get('items'))
            tags = check_tags((body.get('tags') or {}).get('items'))
            labels = check_labels(body.get('labels'))
            sched = self._check_scheduling(body.get('scheduling'))
            accounts = self._check_service_accounts(project, body.get('serviceAccounts'))
            shielded = body.get('shieldedInstanceConfig') or {}
            if not isinstance(shielded, dict):
                raise invalid('resource.shieldedInstanceConfig', shielded, 'Must be an object.')
            self_link = link('projects/%s/zones/%s/instances/%s' % key)
            inst = {
                'kind': 'compute#instance', 'id': new_id(), 'creationTimestamp': created, 'name': name,
                'description': body.get('description', ''), 'tags': {'fingerprint': fingerprint()},
                'machineType': machine_type, 'status': 'PROVISIONING', 'zone': link('projects/%s/zones/%s' % (
                    project, zone)), 'canIpForward': bool(body.get('canIpForward', False)),
                'networkInterfaces': nics, 'disks': attached,
                'metadata': {'kind': 'compute#metadata', 'fingerprint': fingerprint(), 'items': items},
                'serviceAccounts': accounts, 'selfLink': self_link, 'scheduling': sched,
                'cpuPlatform': 'Unknown CPU Platform', 'labels': labels, 'labelFingerprint': fingerprint(),
                'startRestricted': False, 'deletionProtection': bool(body.get('deletionProtection', False)),
                'shieldedInstanceConfig': {
                    'enableSecureBoot': bool(shielded.get('enableSecureBoot', False)),
                    'enableVtpm': bool(shielded.get('enableVtpm', True)),
                    'enableIntegrityMonitoring': bool(shielded.get('enableIntegrityMonitoring', True))},
                'shieldedInstanceIntegrityPolicy': {'updateAutoLearnPolicy': True},
                'fingerprint': fingerprint(), 'lastStartTimestamp': '', 'satisfiesPzi': True,
            }
            if tags:
                inst['tags']['items'] = tags
            if not items:
                del inst['metadata']['items']
            if not labels:
                del inst['labels']
            if not accounts:
                del inst['serviceAccounts']
            if body.get('hostname'):
                inst['hostname'] = body['hostname']

            def start():
                for disk in new_disks:
                    disk['users'] = [self_link]
                    disk['lastAttachTimestamp'] = created
                    self.disks[(project, zone, disk['name'])] = disk
                for disk in existing:
                    disk.setdefault('users', []).append(self_link)
                self.instances[key] = inst

            def staging():
                if self.instances.get(key) is inst and inst['status'] == 'PROVISIONING':
                    inst['status'] = 'STAGING'

            def done():
                if self.instances.get(key) is inst:
                    inst['status'] = 'RUNNING'
                    inst['cpuPlatform'] = 'Intel Cascade Lake'
                    inst['lastStartTimestamp'] = now_ts()

            return self.operation(req, project, 'zones/' + zone, 'insert', self_link, inst['id'], start, done,
                                  midway=staging)

    def h_instance_delete(self, req, project, zone, name):
        with self.app.lock:
            inst = self.get_instance(project, zone, name)
            if inst.get('deletionProtection'):
                raise ApiError(400, "Invalid resource usage: 'Resource cannot be deleted if it's protected against "
                               "deletion.'", 'resourceInUseByAnotherResource')
            key = (project, zone, name)

            def start():
                inst['status'] = 'STOPPING'

            def done():
                if self.instances.get(key) is not inst:
                    return
                del self.instances[key]
                for att in inst['disks']:
                    dkey = self._disk_key(att['source'])
                    disk = self.disks.get(dkey)
                    if disk is None:
                        continue
                    disk['users'] = [u for u in disk.get('users', []) if relative(u) != relative(inst['selfLink'])]
                    if att.get('autoDelete') and not disk['users']:
                        del self.disks[dkey]
                        disk['lastDetachTimestamp'] = now_ts()

            return self.operation(req, project, 'zones/' + zone, 'delete', inst['selfLink'], inst['id'], start, done)

    @staticmethod
    def _disk_key(source):
        found = re.match(r'^projects/([^/]+)/zones/([^/]+)/disks/([^/]+)$', relative(source))
        return found.groups() if found else None

    def _simple_op(self, req, inst, project, zone, op_type, done, start=None):
        return self.operation(req, project, 'zones/' + zone, op_type, inst['selfLink'], inst['id'], start, done)

    def h_instance_start(self, req, project, zone, name):
        with self.app.lock:
            inst = self.get_instance(project, zone, name)
            if inst['status'] in ('STOPPING', 'PROVISIONING'):
                raise ApiError(400, "The resource '%s' is not ready" % relative(inst['selfLink']),
                               'resourceNotReady')
            if inst['status'] == 'RUNNING':
                return self._simple_op(req, inst, project, zone, 'start', None)

            def start():
                inst['status'] = 'STAGING'

            def done():
                inst['status'] = 'RUNNING'
                inst['lastStartTimestamp'] = now_ts()
            return self._simple_op(req, inst, project, zone, 'start', done, start)

    def h_instance_stop(self, req, project, zone, name):
        with self.app.lock:
            inst = self.get_instance(project, zone, name)
            if inst['status'] == 'TERMINATED':
                return self._simple_op(req, inst, project, zone, 'stop', None)

            def start():
                inst['status'] = 'STOPPING'

            def done():
                inst['status'] = 'TERMINATED'
                inst['lastStopTimestamp'] = now_ts()
            return self._simple_op(req, inst, project, zone, 'stop', done, start)

    def h_instance_setMetadata(self, req, project, zone, name):
        body = req.json(allow_empty=False)
        schema.check(body, schema.METADATA)
        with self.app.lock:
            inst = self.get_instance(project, zone, name)
            items = check_metadata_items(body.get('items'), 'resource.items')
            self._check_fingerprint(body.get('fingerprint'), inst['metadata']['fingerprint'], 'resource.fingerprint',
                                    'the metadata of instance %s' % relative(inst['selfLink']))

            def done():
                inst['metadata'] = {'kind': 'compute#metadata', 'fingerprint': fingerprint()}
                if items:
                    inst['metadata']['items'] = items
            return self._simple_op(req, inst, project, zone, 'setMetadata', done)

    def h_instance_setLabels(self, req, project, zone, name):
        body = req.json(allow_empty=False)
        schema.check(body, schema.SET_LABELS)
        with self.app.lock:
            inst = self.get_instance(project, zone, name)
            labels = check_labels(body.get('labels'), 'resource.labels')
            self._check_fingerprint(body.get('labelFingerprint'), inst['labelFingerprint'],
                                    'resource.labelFingerprint', 'the labels of instance %s'
                                    % relative(inst['selfLink']))

            def done():
                inst['labelFingerprint'] = fingerprint()
                if labels:
                    inst['labels'] = labels
                else:
                    inst.pop('labels', None)
            return self._simple_op(req, inst, project, zone, 'setLabels', done)

    def h_instance_setTags(self, req, project, zone, name):
        body = req.json(allow_empty=False)
        schema.check(body, schema.TAGS)
        with self.app.lock:
            inst = self.get_instance(project, zone, name)
            tags = check_tags(body.get('items'), 'resource.items')
            self._check_fingerprint(body.get('fingerprint'), inst['tags']['fingerprint'], 'resource.fingerprint',
                                    'the tags of instance %s' % relative(inst['selfLink']))

            def done():
                inst['tags'] = {'fingerprint': fingerprint()}
                if tags:
                    inst['tags']['items'] = tags
            return self._simple_op(req, inst, project, zone, 'setTags', done)

    def _require_stopped(self, inst, what):
        if inst['status'] != 'TERMINATED':
            raise ApiError(400, "Invalid resource usage: 'Instance %s must be stopped (TERMINATED) before %s; it "
                           "is %s.'" % (relative(inst['selfLink']), what, inst['status']), 'invalidResourceUsage')

    def h_instance_setMachineType(self, req, project, zone, name):
        body = req.json(allow_empty=False)
        schema.check(body, schema.SET_MACHINE_TYPE)
        with self.app.lock:
            inst = self.get_instance(project, zone, name)
            machine_type = self.resolve_machine_type(project, zone, body.get('machineType'), 'resource.machineType')
            self._require_stopped(inst, 'its machine type can be changed')

            def done():
                inst['machineType'] = machine_type
            return self._simple_op(req, inst, project, zone, 'setMachineType', done)

    def h_instance_setServiceAccount(self, req, project, zone, name):
        body = req.json(allow_empty=False)
        schema.check(body, schema.SERVICE_ACCOUNT)
        with self.app.lock:
            inst = self.get_instance(project, zone, name)
            accounts = self._check_service_accounts(project, [body], 'resource') if body.get('email') else []
            self._require_stopped(inst, 'its service account can be changed')

            def done():
                if accounts:
                    inst['serviceAccounts'] = accounts
                else:
                    inst.pop('serviceAccounts', None)
            return self._simple_op(req, inst, project, zone, 'setServiceAccount', done)

    def h_instance_setScheduling(self, req, project, zone, name):
        body = req.json(allow_empty=False)
        schema.check(body, schema.SCHEDULING)
        with self.app.lock:
            inst = self.get_instance(project, zone, name)
            sched = self._check_scheduling(merge_scheduling(inst['scheduling'], body), 'resource')
            if sched['provisioningModel'] != inst['scheduling']['provisioningModel']:
                self._require_stopped(inst, 'its provisioning model can be changed')

            def done():
                inst['scheduling'] = sched
            return self._simple_op(req, inst, project, zone, 'setScheduling', done)

    def h_instance_setDeletionProtection(self, req, project, zone, name):
        value = str(req.arg('deletionProtection', 'true')).lower() == 'true'
        with self.app.lock:
            inst = self.get_instance(project, zone, name)

            def done():
                inst['deletionProtection'] = value
            return self._simple_op(req, inst, project, zone, 'setDeletionProtection', done)

    def h_instance_attachDisk(self, req, project, zone, name):
        body = req.json(allow_empty=False)
        schema.check(body, schema.ATTACHED_DISK)
        with self.app.lock:
            inst = self.get_instance(project, zone, name)
            if not body.get('source'):
                raise required('resource.source')
            dkey = self._disk_key(relative(body['source']) if relative(body['source']).startswith('projects/')
                                  else 'projects/%s/%s' % (project, relative(body['source'])))
            if dkey is None or dkey[1] != zone:
                raise invalid('resource.source', body['source'], "Must be a disk in zone '%s'." % zone)
            disk = self.disks.get(dkey)
            if disk is None:
                raise not_found('projects/%s/zones/%s/disks/%s' % dkey)
            mode = body.get('mode', 'READ_WRITE')
            self._check_disk_free(disk, mode)
            device = body.get('deviceName') or disk['name']
            if any(a['deviceName'] == device for a in inst['disks']):
                raise invalid('resource.deviceName', device, 'Device names must be unique within an instance.')
            attached = {'kind': 'compute#attachedDisk', 'type': 'PERSISTENT', 'mode': mode,
                        'source': disk['selfLink'], 'deviceName': device, 'boot': False,
                        'autoDelete': bool(body.get('autoDelete', False)), 'interface': 'SCSI',
                        'diskSizeGb': disk['sizeGb'], 'licenses': list(disk.get('licenses', [])),
                        'architecture': 'X86_64'}

            def done():
                attached['index'] = max([a.get('index', 0) for a in inst['disks']] + [-1]) + 1
                inst['disks'].append(attached)
                disk.setdefault('users', []).append(inst['selfLink'])
                disk['lastAttachTimestamp'] = now_ts()
            return self._simple_op(req, inst, project, zone, 'attachDisk', done)

    def h_instance_detachDisk(self, req, project, zone, name):
        device = req.arg('deviceName')
        with self.app.lock:
            inst = self.get_instance(project, zone, name)
            if not device:
                raise required('deviceName')
            found = [a for a in inst['disks'] if a['deviceName'] == device]
            if not found:
                raise invalid('deviceName', device, "No attached disk with this device name on instance '%s'." % name)
            if found[0].get('boot') and inst['status'] != 'TERMINATED':
                raise ApiError(400, "Invalid resource usage: 'The boot disk can only be detached from a stopped "
                               "instance.'", 'invalidResourceUsage')

            def done():
                inst['disks'].remove(found[0])
                disk = self.disks.get(self._disk_key(found[0]['source']))
                if disk:
                    disk['users'] = [u for u in disk.get('users', []) if relative(u) != relative(inst['selfLink'])]
                    disk['lastDetachTimestamp'] = now_ts()
            return self._simple_op(req, inst, project, zone, 'detachDisk', done)

    # -- disks ------------------------------------------------------------
    def h_disks_list(self, req, project, zone):
        with self.app.lock:
            self.zone(project, zone)
            items = [clone(d) for (p, z, _name), d in sorted(self.disks.items()) if p == project and z == zone]
        return page(req, items, 'compute#diskList', link('projects/%s/zones/%s/disks' % (project, zone)),
                    'projects/%s/zones/%s/disks' % (project, zone))

    def get_disk(self, project, zone, name):
        self.zone(project, zone)
        disk = self.disks.get((project, zone, name))
        if disk is None:
            raise not_found('projects/%s/zones/%s/disks/%s' % (project, zone, name))
        return disk

    def h_disk_get(self, req, project, zone, name):
        with self.app.lock:
            return clone(self.get_disk(project, zone, name))

    def h_disk_insert(self, req, project, zone):
        body = req.json(allow_empty=False)
        schema.check(body, schema.DISK)
        with self.app.lock:
            self.zone(project, zone)
            name = body.get('name')
            check_name(name)
            if (project, zone, name) in self.disks:
                raise ApiError(409, "The resource 'projects/%s/zones/%s/disks/%s' already exists" % (
                    project, zone, name), 'alreadyExists')
            source_image = req.arg('sourceImage') or body.get('sourceImage')
            image = self.resolve_image(project, source_image, 'sourceImage') if source_image else None
            min_size = int(image['diskSizeGb']) if image else 10
            size = as_int(body.get('sizeGb', min_size), 'resource.sizeGb', 1)
            if size < min_size:
                raise invalid('resource.sizeGb', size, 'Requested disk size cannot be smaller than the image size '
                              '(%d GB).' % min_size)
            disk_type = self.resolve_disk_type(project, zone, body.get('type'), 'resource.type')
            disk = self._disk_body(project, zone, name, size, disk_type, image, check_labels(body.get('labels')),
                                   now_ts())
            disk['status'] = 'CREATING'
            if body.get('description'):
                disk['description'] = body['description']

            def start():
                self.disks[(project, zone, name)] = disk

            def done():
                disk['status'] = 'READY'
            return self.operation(req, project, 'zones/' + zone, 'insert', disk['selfLink'], disk['id'], start, done)

    def h_disk_delete(self, req, project, zone, name):
        with self.app.lock:
            disk = self.get_disk(project, zone, name)
            if disk.get('users'):
                raise ApiError(400, "The disk resource '%s' is already being used by '%s'" % (
                    relative(disk['selfLink']), relative(disk['users'][0])), 'resourceInUseByAnotherResource')
            key = (project, zone, name)

            def done():
                if self.disks.get(key) is disk:
                    del self.disks[key]
            return self.operation(req, project, 'zones/' + zone, 'delete', disk['selfLink'], disk['id'], None, done)

    def h_disk_set_labels(self, req, project, zone, name):
        body = req.json(allow_empty=False)
        schema.check(body, schema.SET_LABELS)
        with self.app.lock:
            disk = self.get_disk(project, zone, name)
            labels = check_labels(body.get('labels'))
            self._check_fingerprint(body.get('labelFingerprint'), disk['labelFingerprint'],
                                    'resource.labelFingerprint', 'the labels of disk %s' % relative(disk['selfLink']))

            def done():
                disk['labels'] = labels
                disk['labelFingerprint'] = fingerprint()
            return self.operation(req, project, 'zones/' + zone, 'setLabels', disk['selfLink'], disk['id'], None,
                                  done)

    # -- operations -------------------------------------------------------
    @staticmethod
    def _scope(zone=None, region=None):
        if zone:
            return 'zones/' + zone
        if region:
            return 'regions/' + region
        return 'global'

    def _scope_check(self, project, zone, region):
        if zone:
            self.zone(project, zone)
        elif region:
            self.region(project, region)
        else:
            self.project(project)

    def h_ops_list(self, req, project, zone=None, region=None):
        scope = self._scope(zone, region)
        with self.app.lock:
            self._scope_check(project, zone, region)
            items = [clone(o) for (p, s, _name), o in self.operations.items() if p == project and s == scope]
        return page(req, items, 'compute#operationList', link('projects/%s/%s/operations' % (project, scope)),
                    'projects/%s/%s/operations' % (project, scope))

    def h_op_get(self, req, project, name, zone=None, region=None):
        with self.app.lock:
            self._scope_check(project, zone, region)
            return clone(self.get_operation(project, self._scope(zone, region), name))

    def h_op_wait(self, req, project, name, zone=None, region=None):
        deadline = time.monotonic() + self.app.config['wait_timeout']
        with self.app.cond:
            self._scope_check(project, zone, region)
            op = self.get_operation(project, self._scope(zone, region), name)
            generation = self.app.scheduler.generation
            self.waiting += 1
            # a reset (new generation) drops pending completions: answer at once then
            while op['status'] != 'DONE' and generation == self.app.scheduler.generation:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.app.cond.wait(left)
            self.waiting -= 1
            return clone(op)

    def h_op_delete(self, req, project, name, zone=None, region=None):
        with self.app.lock:
            self._scope_check(project, zone, region)
            scope = self._scope(zone, region)
            self.get_operation(project, scope, name)
            del self.operations[(project, scope, name)]
        return Response(204, None)

    # -- networks and subnetworks -----------------------------------------
    def _create_network(self, project, body):
        name = body['name']
        auto = bool(body.get('autoCreateSubnetworks', False))
        net = {'kind': 'compute#network', 'id': new_id(), 'creationTimestamp': now_ts(), 'name': name,
               'description': body.get('description', ''),
               'selfLink': link('projects/%s/global/networks/%s' % (project, name)),
               'autoCreateSubnetworks': auto, 'subnetworks': [], 'mtu': int(body.get('mtu', 1460)),
               'routingConfig': body.get('routingConfig') or {'routingMode': 'REGIONAL'},
               'networkFirewallPolicyEnforcementOrder': 'AFTER_CLASSIC_FIREWALL'}
        self.networks[(project, name)] = net
        if auto:
            for region, cidr in seeds.AUTO_SUBNET_RANGES.items():
                self._create_subnet(project, region, {'name': name, 'network': net['selfLink'],
                                                      'ipCidrRange': cidr})
        return net

    def _create_subnet(self, project, region, body):
        sub = {'kind': 'compute#subnetwork', 'id': new_id(), 'creationTimestamp': now_ts(), 'name': body['name'],
               'network': link(relative(body['network'])), 'ipCidrRange': body['ipCidrRange'],
               'gatewayAddress': str(ipaddress.ip_network(body['ipCidrRange']).network_address + 1),
               'region': link('projects/%s/regions/%s' % (project, region)),
               'selfLink': link('projects/%s/regions/%s/subnetworks/%s' % (project, region, body['name'])),
               'privateIpGoogleAccess': bool(body.get('privateIpGoogleAccess', False)),
               'fingerprint': fingerprint(), 'stackType': 'IPV4_ONLY', 'purpose': 'PRIVATE'}
        self.subnetworks[(project, region, body['name'])] = sub
        net = self.networks.get(self._net_key(sub['network']))
        if net is not None:
            net['subnetworks'].append(sub['selfLink'])
        return sub

    @staticmethod
    def _net_key(net_link):
        found = re.match(r'^projects/([^/]+)/global/networks/([^/]+)$', relative(net_link))
        return found.groups() if found else None

    def h_networks_list(self, req, project):
        with self.app.lock:
            self.project(project)
            items = [clone(n) for (p, _name), n in sorted(self.networks.items()) if p == project]
        return page(req, items, 'compute#networkList', link('projects/%s/global/networks' % project),
                    'projects/%s/global/networks' % project)

    def get_network(self, project, name):
        self.project(project)
        net = self.networks.get((project, name))
        if net is None:
            raise not_found('projects/%s/global/networks/%s' % (project, name))
        return net

    def h_network_get(self, req, project, name):
        with self.app.lock:
            return clone(self.get_network(project, name))

    def h_network_insert(self, req, project):
        body = req.json(allow_empty=False)
        schema.check(body, schema.NETWORK)
        with self.app.lock:
            self.project(project)
            check_name(body.get('name'))
            if (project, body['name']) in self.networks:
                raise ApiError(409, "The resource 'projects/%s/global/networks/%s' already exists" % (
                    project, body['name']), 'alreadyExists')
            if body.get('IPv4Range'):
                raise invalid('resource.IPv4Range', body['IPv4Range'], 'Legacy networks are not supported.')
            target = link('projects/%s/global/networks/%s' % (project, body['name']))
            return self.operation(req, project, 'global', 'insert', target, None,
                                  on_start=lambda: self._create_network(project, body))

    def h_network_delete(self, req, project, name):
        with self.app.lock:
            net = self.get_network(project, name)
            users = [f for f in self.firewalls.values() if relative(f['network']) == relative(net['selfLink'])]
            users += [i for i in self.instances.values()
                      if any(relative(n['network']) == relative(net['selfLink']) for n in i['networkInterfaces'])]
            if users:
                raise ApiError(400, "The network resource '%s' is already being used by '%s'" % (
                    relative(net['selfLink']), relative(users[0]['selfLink'])), 'resourceInUseByAnotherResource')

            def done():
                self.networks.pop((project, name), None)
                for key in [k for k, s in self.subnetworks.items() if relative(s['network']) ==
                            relative(net['selfLink'])]:
                    del self.subnetworks[key]
            return self.operation(req, project, 'global', 'delete', net['selfLink'], net['id'], None, done)

    def h_subnets_list(self, req, project, region):
        with self.app.lock:
            self.region(project, region)
            items = [clone(s) for (p, r, _name), s in sorted(self.subnetworks.items())
                     if p == project and r == region]
        return page(req, items, 'compute#subnetworkList',
                    link('projects/%s/regions/%s/subnetworks' % (project, region)),
                    'projects/%s/regions/%s/subnetworks' % (project, region))

    def h_subnets_aggregated(self, req, project):
        with self.app.lock:
            self.project(project)
            items = {}
            for region in seeds.REGIONS:
                subs = [clone(s) for (p, r, _name), s in sorted(self.subnetworks.items())
                        if p == project and r == region]
                items['regions/' + region] = {'subnetworks': subs} if subs else {'warning': {
                    'code': 'NO_RESULTS_ON_PAGE', 'message': 'There are no results for scope \'regions/%s\' on this '
                    'page.' % region, 'data': [{'key': 'scope', 'value': 'regions/' + region}]}}
        return {'kind': 'compute#subnetworkAggregatedList', 'id': 'projects/%s/aggregated/subnetworks' % project,
                'items': items, 'selfLink': link('projects/%s/aggregated/subnetworks' % project)}

    def get_subnet(self, project, region, name):
        self.region(project, region)
        sub = self.subnetworks.get((project, region, name))
        if sub is None:
            raise not_found('projects/%s/regions/%s/subnetworks/%s' % (project, region, name))
        return sub

    def h_subnet_get(self, req, project, region, name):
        with self.app.lock:
            return clone(self.get_subnet(project, region, name))

    def h_subnet_insert(self, req, project, region):
        body = req.json(allow_empty=False)
        schema.check(body, schema.SUBNETWORK)
        with self.app.lock:
            self.region(project, region)
            check_name(body.get('name'))
            if (project, region, body['name']) in self.subnetworks:
                raise ApiError(409, "The resource 'projects/%s/regions/%s/subnetworks/%s' already exists" % (
                    project, region, body['name']), 'alreadyExists')
            if not body.get('network'):
                raise required('resource.network')
            net = self.resolve_network(project, body['network'], 'resource.network')
            if net['autoCreateSubnetworks']:
                raise invalid('resource.network', body['network'], 'Subnetworks cannot be added to an auto mode '
                              'network.')
            if not body.get('ipCidrRange'):
                raise required('resource.ipCidrRange')
            cidr = check_cidr(body['ipCidrRange'], 'resource.ipCidrRange')
            clean = dict(body, network=net['selfLink'], ipCidrRange=cidr)
            target = link('projects/%s/regions/%s/subnetworks/%s' % (project, region, body['name']))
            return self.operation(req, project, 'regions/' + region, 'insert', target, None,
                                  on_start=lambda: self._create_subnet(project, region, clean))

    def h_subnet_delete(self, req, project, region, name):
        with self.app.lock:
            sub = self.get_subnet(project, region, name)
            users = [i for i in self.instances.values()
                     if any(relative(n['subnetwork']) == relative(sub['selfLink']) for n in i['networkInterfaces'])]
            if users:
                raise ApiError(400, "The subnetwork resource '%s' is already being used by '%s'" % (
                    relative(sub['selfLink']), relative(users[0]['selfLink'])), 'resourceInUseByAnotherResource')

            def done():
                self.subnetworks.pop((project, region, name), None)
                net = self.networks.get(self._net_key(sub['network']))
                if net and sub['selfLink'] in net['subnetworks']:
                    net['subnetworks'].remove(sub['selfLink'])
            return self.operation(req, project, 'regions/' + region, 'delete', sub['selfLink'], sub['id'], None,
                                  done)

    # -- firewalls --------------------------------------------------------
    def _check_firewall(self, project, body, name):
        check_name(body.get('name'))
        if body['name'] != name:
            raise invalid('resource.name', body['name'], "Must match the firewall's name '%s'." % name)
        net = self.resolve_network(project, body.get('network'), 'resource.network')
        direction = body.get('direction') or 'INGRESS'
        if direction not in ('INGRESS', 'EGRESS'):
            raise invalid('resource.direction', direction, 'Must be one of [INGRESS, EGRESS].')
        allowed, denied = body.get('allowed') or [], body.get('denied') or []
        if bool(allowed) == bool(denied):
            raise invalid('resource.allowed', allowed, 'Exactly one of allowed or denied must be given.')
        rules_field = 'resource.allowed' if allowed else 'resource.denied'
        rules = []
        for i, rule in enumerate(allowed or denied):
            proto = str((rule or {}).get('IPProtocol') or '')
            if not proto:
                raise required('%s[%d].IPProtocol' % (rules_field, i))
            if proto.lower() not in PROTOCOLS and not (proto.isdigit() and 0 <= int(proto) <= 255):
                raise invalid('%s[%d].IPProtocol' % (rules_field, i), proto, 'Must be tcp, udp, icmp, esp, ah, sctp, '
                              'ipip, all or a protocol number.')
            ports = rule.get('ports') or []
            if ports and proto.lower() not in PORT_PROTOCOLS:
                raise invalid('%s[%d].ports' % (rules_field, i), ports, 'Ports are only allowed for tcp, udp and '
                              'sctp.')
            for port in ports:
                found = PORT_RE.match(str(port))
                if not found or int(found.group(1)) > 65535 or (found.group(2) and not
                                                                int(found.group(1)) <= int(found.group(2)) <= 65535):
                    raise invalid('%s[%d].ports' % (rules_field, i), port, 'Must be a port or a port range '
                                  '(e.g. 22 or 8000-8080).')
            clean = {'IPProtocol': proto}
            if ports:
                clean['ports'] = [str(p) for p in ports]
            rules.append(clean)
        priority = as_int(body.get('priority', 1000), 'resource.priority', 0)
        if priority > 65535:
            raise invalid('resource.priority', priority, 'Must be between 0 and 65535.')
        out = {'kind': 'compute#firewall', 'name': body['name'], 'description': body.get('description', ''),
               'network': net['selfLink'], 'priority': priority, 'direction': direction,
               'disabled': bool(body.get('disabled', False)),
               'logConfig': {'enable': bool((body.get('logConfig') or {}).get('enable', False))},
               'allowed' if allowed else 'denied': rules}
        for key in ('sourceRanges', 'destinationRanges'):
            if body.get(key):
                out[key] = [check_cidr(c, 'resource.%s' % key) for c in body[key]]
        for key in ('sourceTags', 'targetTags'):
            if body.get(key):
                out[key] = check_tags(body[key], 'resource.%s' % key)
        for key in ('sourceServiceAccounts', 'targetServiceAccounts'):
            if body.get(key):
                out[key] = list(body[key])
        if direction == 'INGRESS' and not any(out.get(k) for k in ('sourceRanges', 'sourceTags',
                                                                   'sourceServiceAccounts')):
            out['sourceRanges'] = ['0.0.0.0/0']   # GCE's default: any source
        if direction == 'EGRESS' and not out.get('destinationRanges'):
            out['destinationRanges'] = ['0.0.0.0/0']
        return out

    def h_firewalls_list(self, req, project):
        with self.app.lock:
            self.project(project)
            items = [clone(f) for (p, _name), f in sorted(self.firewalls.items()) if p == project]
        return page(req, items, 'compute#firewallList', link('projects/%s/global/firewalls' % project),
                    'projects/%s/global/firewalls' % project)

    def get_firewall(self, project, name):
        self.project(project)
        fw = self.firewalls.get((project, name))
        if fw is None:
            raise not_found('projects/%s/global/firewalls/%s' % (project, name))
        return fw

    def h_firewall_get(self, req, project, name):
        with self.app.lock:
            return clone(self.get_firewall(project, name))

    def h_firewall_insert(self, req, project):
        body = req.json(allow_empty=False)
        schema.check(body, schema.FIREWALL)
        with self.app.lock:
            self.project(project)
            check_name(body.get('name'))
            if (project, body['name']) in self.firewalls:
                raise ApiError(409, "The resource 'projects/%s/global/firewalls/%s' already exists" % (
                    project, body['name']), 'alreadyExists')
            fw = self._check_firewall(project, body, body['name'])
            fw.update(id=new_id(), creationTimestamp=now_ts(),
                      selfLink=link('projects/%s/global/firewalls/%s' % (project, body['name'])))

            def start():
                self.firewalls[(project, fw['name'])] = fw
            return self.operation(req, project, 'global', 'insert', fw['selfLink'], fw['id'], start)

    def _replace_firewall(self, req, project, name, body, op_type):
        fw = self.get_firewall(project, name)
        new = self._check_firewall(project, body, name)
        new.update(id=fw['id'], creationTimestamp=fw['creationTimestamp'], selfLink=fw['selfLink'])

        def done():
            if self.firewalls.get((project, name)) is fw:
                self.firewalls[(project, name)] = new
        return self.operation(req, project, 'global', op_type, fw['selfLink'], fw['id'], None, done)

    def h_firewall_patch(self, req, project, name):
        body = req.json(allow_empty=False)
        schema.check(body, schema.FIREWALL)
        with self.app.lock:
            fw = self.get_firewall(project, name)
            merged = clone(fw)
            if 'allowed' in body or 'denied' in body:
                merged.pop('allowed', None)
                merged.pop('denied', None)
            if 'sourceRanges' in body or 'sourceTags' in body or 'sourceServiceAccounts' in body:
                for key in ('sourceRanges', 'sourceTags', 'sourceServiceAccounts'):
                    merged.pop(key, None)
            merged.update(body)
            merged.setdefault('name', name)
            return self._replace_firewall(req, project, name, merged, 'patch')

    def h_firewall_update(self, req, project, name):
        body = req.json(allow_empty=False)
        schema.check(body, schema.FIREWALL)
        with self.app.lock:
            return self._replace_firewall(req, project, name, body, 'update')

    def h_firewall_delete(self, req, project, name):
        with self.app.lock:
            fw = self.get_firewall(project, name)

            def done():
                if self.firewalls.get((project, name)) is fw:
                    del self.firewalls[(project, name)]
            return self.operation(req, project, 'global', 'delete', fw['selfLink'], fw['id'], None, done)

    # -- dump -------------------------------------------------------------
    def state(self):
        with self.app.lock:
            return json.loads(json.dumps({
                'instances': {'/'.join(k): v for k, v in self.instances.items()},
                'disks': {'/'.join(k): v for k, v in self.disks.items()},
                'networks': {'/'.join(k): v for k, v in self.networks.items()},
                'subnetworks': {'/'.join(k): v for k, v in self.subnetworks.items()},
                'firewalls': {'/'.join(k): v for k, v in self.firewalls.items()},
                'operations': len(self.operations),
                'waiting': self.waiting,
                'projects': {k: v['commonInstanceMetadata'] for k, v in self.projects.items()},
            }))
