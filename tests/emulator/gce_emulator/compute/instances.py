# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Instances: insert (its boot disk, network interfaces, scheduling, service
accounts), get, list, aggregated list, delete. The calls on an existing
instance (start, stop, set*, attach/detach) are in `instance_actions`."""

from __future__ import annotations

import re

from .. import schema, seeds
from ..core import ApiError, clone, invalid, not_found, required
from .common import (N, V1, Z, as_int, check_labels, check_metadata_items, check_name, check_tags, fingerprint, link,
                     new_id, now_ts, relative)
from .listing import apply_filter, page


class Instances:
    """Creating, reading and deleting instances (a part of `Compute`)."""

    def routes(self, r):
        base = V1 + '/zones/' + Z + '/instances'
        r.add('GET', base, self.h_instances_list)
        r.add('POST', base, self.h_instance_insert)
        r.add('GET', V1 + '/aggregated/instances', self.h_instances_aggregated)
        r.add('GET', base + '/' + N, self.h_instance_get)
        r.add('DELETE', base + '/' + N, self.h_instance_delete)

    def get_instance(self, project, zone, name):
        self.zone(project, zone)
        inst = self.instances.get((project, zone, name))
        if inst is None:
            raise not_found('projects/%s/zones/%s/instances/%s' % (project, zone, name))
        return inst

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

    def _allocate_nat(self):
        self.nat_counter += 1
        n = self.nat_counter
        return '34.%d.%d.%d' % (100 + (n // 65536) % 100, (n // 256) % 256, n % 256 or 1)

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
                self.instance_policies.pop(inst['id'], None)
                for att in inst['disks']:
                    dkey = self._disk_key(att['source'])
                    disk = self.disks.get(dkey)
                    if disk is None:
                        continue
                    disk['users'] = [u for u in disk.get('users', []) if relative(u) != relative(inst['selfLink'])]
                    disk['lastDetachTimestamp'] = now_ts()
                    if att.get('autoDelete') and not disk['users']:
                        del self.disks[dkey]

            return self.operation(req, project, 'zones/' + zone, 'delete', inst['selfLink'], inst['id'], start, done)
