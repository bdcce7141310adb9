# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Projects: every well-formed project id exists (with an auto-mode `default`
network and its default firewall rules); get and setCommonInstanceMetadata."""

from __future__ import annotations

import re

from .. import schema, seeds
from ..core import clone, not_found
from .common import V1, check_fingerprint, check_metadata_items, fingerprint, link, new_id


PROJECT_RE = re.compile(r'^[a-z][-a-z0-9]{4,28}[a-z0-9]$|^[a-z][-a-z0-9.:]{1,61}[a-z0-9]$')


class Projects:
    """The project resource (a part of `Compute`)."""

    def routes(self, r):
        r.add('GET', V1, self.h_project_get)
        r.add('POST', V1 + '/setCommonInstanceMetadata', self.h_project_set_metadata)

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
                net = self._create_network(project, {'name': 'default', 'autoCreateSubnetworks': True,
                                                     'description': 'Default network for the project'})
                self._default_firewalls(project, net)
        return found

    def _default_firewalls(self, project, net):
        """The rules a new project's `default` network comes with (priority 65534, any target)."""
        for name, description, ranges, allowed in seeds.DEFAULT_FIREWALLS:
            self.firewalls[(project, name)] = {
                'kind': 'compute#firewall', 'id': new_id(), 'creationTimestamp': net['creationTimestamp'],
                'name': name, 'description': description, 'network': net['selfLink'], 'priority': 65534,
                'sourceRanges': list(ranges), 'allowed': clone(allowed), 'direction': 'INGRESS',
                'logConfig': {'enable': False}, 'disabled': False,
                'selfLink': link('projects/%s/global/firewalls/%s' % (project, name)),
            }

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
            check_fingerprint(body.get('fingerprint'), proj['commonInstanceMetadata']['fingerprint'],
                              'resource.fingerprint', 'commonInstanceMetadata of project %s' % project)

            def done():
                proj['commonInstanceMetadata'] = {'kind': 'compute#metadata', 'fingerprint': fingerprint(),
                                                  'items': items}
            return self.operation(req, project, 'global', 'compute.projects.setCommonInstanceMetadata',
                                  link('projects/%s' % project), proj['id'], on_done=done)
