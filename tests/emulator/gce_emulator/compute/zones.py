# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Zones, regions, machine types and disk types (read-only, from `seeds`)."""

from __future__ import annotations

import re

from .. import seeds
from ..core import invalid, not_found, required
from .common import N, R, V1, Z, link, relative
from .listing import page


CUSTOM_MT_RE = re.compile(r'^(?:(e2|n2|n2d|n1)-)?custom-(\d+)-(\d+)(?:-ext)?$')


class Zones:
    """Zones, regions, machine types and disk types (a part of `Compute`)."""

    def routes(self, r):
        r.add('GET', V1 + '/zones', self.h_zones_list)
        r.add('GET', V1 + '/zones/' + Z, self.h_zone_get)
        r.add('GET', V1 + '/regions', self.h_regions_list)
        r.add('GET', V1 + '/regions/' + R, self.h_region_get)
        r.add('GET', V1 + '/zones/' + Z + '/machineTypes', self.h_mt_list)
        r.add('GET', V1 + '/zones/' + Z + '/machineTypes/' + N, self.h_mt_get)
        r.add('GET', V1 + '/zones/' + Z + '/diskTypes', self.h_dt_list)
        r.add('GET', V1 + '/zones/' + Z + '/diskTypes/' + N, self.h_dt_get)

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

    def resolve_disk_type(self, project, zone, value, field):
        rel = relative(value or 'pd-standard')
        name = rel.rsplit('/', 1)[-1]
        if '/' in rel and not re.match(r'^(?:projects/[^/]+/)?zones/%s/diskTypes/[^/]+$' % re.escape(zone), rel):
            raise invalid(field, value, "Disk type must be in the zone '%s'." % zone)
        if name not in seeds.DISK_TYPES:
            raise invalid(field, value, "Disk type '%s' does not exist in zone '%s'." % (name, zone))
        return link('projects/%s/zones/%s/diskTypes/%s' % (project, zone, name))

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
