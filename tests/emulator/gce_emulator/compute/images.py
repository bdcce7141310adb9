# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Images: the seeded public images (`seeds.IMAGES`), families, and
gcloud's imageFamilyViews."""

from __future__ import annotations

import re
from datetime import datetime

from .. import seeds
from ..core import clone, invalid, not_found
from .common import N, V1, Z, link, relative
from .listing import page


class Images:
    """Public images and image families (a part of `Compute`)."""

    def routes(self, r):
        r.add('GET', V1 + '/global/images', self.h_images_list)
        r.add('GET', V1 + '/global/images/family/' + N, self.h_image_family)
        r.add('GET', V1 + '/global/images/' + N, self.h_image_get)
        r.add('GET', V1 + '/zones/' + Z + '/imageFamilyViews/' + N, self.h_image_family_view)

    @staticmethod
    def seeded_images():
        """(project, name) -> image, for every image of `seeds.IMAGES`."""
        images = {}
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
                images[(project, name)] = image
        return images

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
