# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Firewall rules: insert, get, list, patch, update, delete, validated as GCE
(protocols, ports, CIDRs, priority, the default source range)."""

from __future__ import annotations

import re

from .. import schema
from ..core import ApiError, clone, invalid, not_found, required
from .common import N, V1, as_int, check_cidr, check_name, check_tags, link, new_id, now_ts
from .listing import page


PROTOCOLS = {'tcp', 'udp', 'icmp', 'esp', 'ah', 'sctp', 'ipip', 'all'}


PORT_PROTOCOLS = {'tcp', 'udp', 'sctp'}


PORT_RE = re.compile(r'^(\d{1,5})(?:-(\d{1,5}))?$')


class Firewalls:
    """VPC firewall rules (a part of `Compute`)."""

    def routes(self, r):
        base = V1 + '/global/firewalls'
        r.add('GET', base, self.h_firewalls_list)
        r.add('POST', base, self.h_firewall_insert)
        r.add('GET', base + '/' + N, self.h_firewall_get)
        r.add('PATCH', base + '/' + N, self.h_firewall_patch)
        r.add('PUT', base + '/' + N, self.h_firewall_update)
        r.add('DELETE', base + '/' + N, self.h_firewall_delete)

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
