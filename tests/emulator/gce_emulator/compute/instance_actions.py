# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The calls on an existing instance: start, stop, setMetadata, setLabels,
setTags, setMachineType, setServiceAccount, setScheduling,
setDeletionProtection, attachDisk, detachDisk."""

from __future__ import annotations


from .. import schema
from ..core import ApiError, invalid, not_found, required
from .common import (N, V1, Z, check_fingerprint, check_labels, check_metadata_items, check_tags, fingerprint,
                     now_ts, relative)


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


VERBS = ('start', 'stop', 'setMetadata', 'setLabels', 'setTags', 'setMachineType', 'setScheduling',
         'setServiceAccount', 'attachDisk', 'detachDisk', 'setDeletionProtection')


class InstanceActions:
    """The POST .../instances/NAME/VERB calls (a part of `Compute`)."""

    def routes(self, r):
        base = V1 + '/zones/' + Z + '/instances/' + N + '/'
        for verb in VERBS:
            r.add('POST', base + verb, getattr(self, 'h_instance_' + verb))

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
            check_fingerprint(body.get('fingerprint'), inst['metadata']['fingerprint'], 'resource.fingerprint',
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
            check_fingerprint(body.get('labelFingerprint'), inst['labelFingerprint'],
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
            check_fingerprint(body.get('fingerprint'), inst['tags']['fingerprint'], 'resource.fingerprint',
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
