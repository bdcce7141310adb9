# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Disks: insert (from an image or blank), get, list, aggregated list, delete, setLabels; the
disk bodies instances create for their boot disks."""

from __future__ import annotations

import re

from .. import schema, seeds
from ..core import ApiError, clone, invalid, not_found
from .common import (N, V1, Z, as_int, check_fingerprint, check_labels, check_name, fingerprint, link, new_id,
                     now_ts, relative)
from .listing import apply_filter, page


class Disks:
    """Zonal persistent disks (a part of `Compute`)."""

    def routes(self, r):
        base = V1 + '/zones/' + Z + '/disks'
        r.add('GET', base, self.h_disks_list)
        r.add('POST', base, self.h_disk_insert)
        r.add('GET', base + '/' + N, self.h_disk_get)
        r.add('DELETE', base + '/' + N, self.h_disk_delete)
        r.add('POST', base + '/' + N + '/setLabels', self.h_disk_set_labels)
        r.add('GET', V1 + '/aggregated/disks', self.h_disks_aggregated)

    def h_disks_aggregated(self, req, project):
        with self.app.lock:
            self.project(project)
            everything = [(z, clone(d)) for (p, z, _name), d in sorted(self.disks.items()) if p == project]
        kept = {id(d) for d in apply_filter([d for _zone, d in everything], req.arg('filter'))}
        items = {}
        for zone in seeds.ZONES:
            found = [d for z, d in everything if z == zone and id(d) in kept]
            items['zones/' + zone] = {'disks': found} if found else {'warning': {
                'code': 'NO_RESULTS_ON_PAGE', 'message': 'There are no results for scope \'zones/%s\' on this '
                'page.' % zone, 'data': [{'key': 'scope', 'value': 'zones/' + zone}]}}
        return {'kind': 'compute#diskAggregatedList', 'id': 'projects/%s/aggregated/disks' % project,
                'items': items, 'selfLink': link('projects/%s/aggregated/disks' % project)}

    def get_disk(self, project, zone, name):
        self.zone(project, zone)
        disk = self.disks.get((project, zone, name))
        if disk is None:
            raise not_found('projects/%s/zones/%s/disks/%s' % (project, zone, name))
        return disk

    @staticmethod
    def _disk_key(source):
        found = re.match(r'^projects/([^/]+)/zones/([^/]+)/disks/([^/]+)$', relative(source))
        return found.groups() if found else None

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

    def h_disks_list(self, req, project, zone):
        with self.app.lock:
            self.zone(project, zone)
            items = [clone(d) for (p, z, _name), d in sorted(self.disks.items()) if p == project and z == zone]
        return page(req, items, 'compute#diskList', link('projects/%s/zones/%s/disks' % (project, zone)),
                    'projects/%s/zones/%s/disks' % (project, zone))

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
            check_fingerprint(body.get('labelFingerprint'), disk['labelFingerprint'],
                              'resource.labelFingerprint', 'the labels of disk %s' % relative(disk['selfLink']))

            def done():
                disk['labels'] = labels
                disk['labelFingerprint'] = fingerprint()
            return self.operation(req, project, 'zones/' + zone, 'setLabels', disk['selfLink'], disk['id'], None,
                                  done)
