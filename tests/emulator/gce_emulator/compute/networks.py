# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Networks (auto and custom mode) and subnetworks, with the internal IP
addresses instances get from them."""

from __future__ import annotations

import ipaddress
import re

from .. import schema, seeds
from ..core import ApiError, clone, invalid, not_found, required
from .common import N, R, V1, check_cidr, check_name, fingerprint, link, new_id, now_ts, relative
from .listing import page


class Networks:
    """Networks and subnetworks (a part of `Compute`)."""

    def routes(self, r):
        r.add('GET', V1 + '/global/networks', self.h_networks_list)
        r.add('POST', V1 + '/global/networks', self.h_network_insert)
        r.add('GET', V1 + '/global/networks/' + N, self.h_network_get)
        r.add('DELETE', V1 + '/global/networks/' + N, self.h_network_delete)
        r.add('GET', V1 + '/regions/' + R + '/subnetworks', self.h_subnets_list)
        r.add('POST', V1 + '/regions/' + R + '/subnetworks', self.h_subnet_insert)
        r.add('GET', V1 + '/regions/' + R + '/subnetworks/' + N, self.h_subnet_get)
        r.add('DELETE', V1 + '/regions/' + R + '/subnetworks/' + N, self.h_subnet_delete)
        r.add('GET', V1 + '/aggregated/subnetworks', self.h_subnets_aggregated)

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
