# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The COS worker instance: desired state from the cos_instance options, a plan, and its execution.

`plan_instance(wanted, current)` is pure (testable without an API): it lists the
API calls that bring `current` (a compute_v1.Instance or None) to `wanted`, and
the before/after of what changes. `InstanceManager.run()` reads the instance,
plans, and (outside check mode) applies the plan with fingerprints and bounded
waits.
"""

from __future__ import annotations

import os

from ansible_collections.gcli.offload.plugins.module_utils import _cloud_init as ci
from ansible_collections.gcli.offload.plugins.module_utils import _gce_names as names
from ansible_collections.gcli.offload.plugins.module_utils._gce_names import basename
from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import expand_scopes
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import GcpApiError
from ansible_collections.gcli.offload.plugins.module_utils._image_ref import digest_of
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError, option_names, shown, validate_int

COS_PROJECT = 'cos-cloud'
DEFAULT_COS_FAMILY = 'cos-stable'
# Metadata keys the module owns; other keys (ssh-keys, ...) are left alone.
USER_DATA = 'user-data'
DECLARATION = 'gce-container-declaration'
LOGGING = 'google-logging-enabled'
OSLOGIN = 'enable-oslogin'
COS_IMAGE_KEY = 'gcli-offload-cos-image'  # informational, written at creation, never compared
RUNNING_STATES = ('PROVISIONING', 'STAGING', 'RUNNING')
# States an instance passes through; the module waits them out before planning.
TRANSITIONAL_STATES = ('PROVISIONING', 'STAGING', 'STOPPING', 'SUSPENDING', 'REPAIRING')
POLL_INTERVAL = 1.0
STOPPED_STATES = ('TERMINATED', 'STOPPED', 'SUSPENDED')
AUTH_ACCOUNT_ENV = 'GCP_SERVICE_ACCOUNT_EMAIL'  # the fallback of the credentials' service_account_email


def _status(instance):
    status = getattr(instance, 'status', '')
    return getattr(status, 'name', status) or ''


def desired_scheduling(model):
    if model == 'SPOT':
        # (preemptible is not compared for SPOT: Google reports it either way)
        return {'provisioning_model': 'SPOT', 'automatic_restart': False, 'on_host_maintenance': 'TERMINATE',
                'instance_termination_action': 'STOP'}
    return {'provisioning_model': 'STANDARD', 'automatic_restart': True, 'on_host_maintenance': 'MIGRATE',
            'preemptible': False}


def current_scheduling(instance, keys):
    sched = instance.scheduling
    out = {}
    for key in keys:
        value = getattr(sched, key)
        if key in ('automatic_restart', 'preemptible'):
            # unset booleans: GCE's defaults (automaticRestart true, preemptible false)
            value = bool(value) if key in sched else (key == 'automatic_restart')
        else:
            value = value or ({'provisioning_model': 'STANDARD', 'on_host_maintenance': 'MIGRATE'}.get(key, ''))
        out[key] = value
    return out


def metadata_dict(instance):
    return dict((item.key, item.value) for item in instance.metadata.items) if instance is not None else {}


def desired_metadata(wanted, current_items):
    """The full item dict to set: current keys kept, ours set, the declaration removed unless legacy."""
    items = dict(current_items)
    items.update(wanted['metadata'])
    if not wanted['legacy']:
        items.pop(DECLARATION, None)
    return items


def _service_account_matches(wanted_email, wanted_scopes, instance):
    accounts = list(instance.service_accounts)
    if wanted_email is None:  # no service account
        return not accounts
    if not accounts:
        return False
    email = accounts[0].email
    email_ok = email == wanted_email or (
        wanted_email == 'default' and (email.endswith('-compute@developer.gserviceaccount.com')))
    return email_ok and sorted(accounts[0].scopes) == sorted(wanted_scopes)


def _service_account_view(instance):
    accounts = list(instance.service_accounts)
    if not accounts:
        return None
    return {'email': accounts[0].email, 'scopes': sorted(accounts[0].scopes)}


def plan_instance(wanted, current, disks=None):
    """(steps, before, after, warnings) for `current` -> `wanted`; steps are names in order.

    `disks` ({'boot': Disk, 'data': Disk}, either missing when unknown) are the current
    instance's disks as read, for the warnings about what only a re-creation changes.

    Steps: insert, delete, setMetadata, setLabels, setTags, setScheduling,
    stop, setMachineType, setServiceAccount, setDeletionProtection, start.
    """
    warnings = []
    before, after = {}, {}
    state = wanted['state']
    if wanted.get('power_only'):
        return _plan_power(wanted, current)
    if current is None:
        if state == 'absent':
            return [], {}, {}, warnings
        steps = ['insert'] + (['stop'] if state == 'stopped' else [])
        after = {'state': 'TERMINATED' if state == 'stopped' else 'RUNNING', 'machine_type': wanted['machine_type'],
                 'labels': wanted['labels'], 'tags': sorted(wanted['tags']), 'metadata': wanted['metadata'],
                 'scheduling': desired_scheduling(wanted['provisioning_model']),
                 'deletion_protection': wanted['deletion_protection'],
                 'data_disk': dict(wanted['data_disk'])}
        return steps, {'state': 'absent'}, after, warnings
    status = _status(current)
    if state == 'absent':
        return ['delete'], {'state': status}, {'state': 'absent'}, warnings

    steps, offline = [], []
    cur_meta = metadata_dict(current)
    new_meta = desired_metadata(wanted, cur_meta)
    container_changed = False
    if new_meta != cur_meta:
        steps.append('setMetadata')
        keys = sorted(k for k in set(cur_meta) | set(new_meta) if cur_meta.get(k) != new_meta.get(k))
        before['metadata'] = dict((k, cur_meta[k]) for k in keys if k in cur_meta)
        after['metadata'] = dict((k, new_meta[k]) for k in keys if k in new_meta)
        container_changed = any(k in (USER_DATA, DECLARATION) for k in keys)

    cur_labels = dict(current.labels)
    new_labels = dict(wanted['labels']) if wanted['purge_labels'] else dict(cur_labels, **wanted['labels'])
    if new_labels != cur_labels:
        steps.append('setLabels')
        before['labels'], after['labels'] = cur_labels, new_labels

    cur_tags = sorted(current.tags.items)
    if cur_tags != sorted(wanted['tags']):
        steps.append('setTags')
        before['tags'], after['tags'] = cur_tags, sorted(wanted['tags'])

    want_sched = desired_scheduling(wanted['provisioning_model'])
    cur_sched = current_scheduling(current, sorted(want_sched))
    if cur_sched != want_sched:
        before['scheduling'], after['scheduling'] = cur_sched, want_sched
        # GCE changes the provisioning model only while the instance is stopped.
        (offline if cur_sched['provisioning_model'] != want_sched['provisioning_model'] else steps).append(
            'setScheduling')

    cur_type = basename(current.machine_type)
    if cur_type != wanted['machine_type']:
        offline.append('setMachineType')
        before['machine_type'], after['machine_type'] = cur_type, wanted['machine_type']

    if not _service_account_matches(wanted['worker_service_account'], wanted['service_account_scopes'], current):
        offline.append('setServiceAccount')
        before['service_account'] = _service_account_view(current)
        after['service_account'] = None if wanted['worker_service_account'] is None else {
            'email': wanted['worker_service_account'], 'scopes': sorted(wanted['service_account_scopes'])}

    if bool(current.deletion_protection) != wanted['deletion_protection']:
        steps.append('setDeletionProtection')
        before['deletion_protection'] = bool(current.deletion_protection)
        after['deletion_protection'] = wanted['deletion_protection']

    for message in _unmanaged_drift(wanted, current, disks or {}):
        warnings.append(message)

    running = status in RUNNING_STATES
    want_running = {'started': True, 'stopped': False}.get(state, running)
    restart_for_container = container_changed and running and want_running and wanted['restart_for_container']
    if offline or restart_for_container:
        if running:
            steps.append('stop')
        steps += offline
        if want_running:
            steps.append('start')
    elif running and not want_running:
        steps.append('stop')
    elif not running and want_running:
        steps.append('start')
    elif not running and not want_running and state == 'stopped' and status not in STOPPED_STATES:
        steps.append('stop')
    if 'start' in steps or 'stop' in steps:
        before['status'] = status
        after['status'] = 'RUNNING' if want_running else 'TERMINATED'
    if running and want_running and 'stop' in steps:
        reason = ', '.join(s for s in offline) or 'the container declaration changed (cloud-init runs at boot)'
        warnings.append('instance %s is restarted (stop, then start) to apply: %s' % (wanted['name'], reason))
    return steps, before, after, warnings


def _plan_power(wanted, current):
    """state=started/stopped without a container: only the instance's power state."""
    if current is None:
        raise InputError('name', 'instance %s does not exist in %s: create it first (provision.yml, or '
                         'cos_instance with a container)' % (wanted['name'], wanted['zone']))
    status = _status(current)
    running = status in RUNNING_STATES
    steps = []
    if wanted['state'] == 'started' and not running:
        steps = ['start']
    elif wanted['state'] == 'stopped' and (running or status not in STOPPED_STATES):
        steps = ['stop']
    if not steps:
        return [], {}, {}, []
    return steps, {'status': status}, {'status': 'RUNNING' if steps == ['start'] else 'TERMINATED'}, []


def _disk_differences(disk, size_gb, size_option, disk_type, type_option):
    """'size 10 GB, not 20 (boot_disk_size_gb); ...' for what differs in `disk`, or ''."""
    out = []
    if size_gb is not None and disk.size_gb and int(disk.size_gb) != int(size_gb):
        out.append('size %s GB, not %s (%s)' % (disk.size_gb, size_gb, size_option))
    if disk_type and disk.type_ and basename(disk.type_) != basename(disk_type):
        out.append('type %s, not %s (%s)' % (basename(disk.type_), basename(disk_type), type_option))
    return '; '.join(out)


def _pinned_image(spec):
    """The image name cos_image pins, or None for a family (resolved at creation only) or the default."""
    image = parse_cos_image(spec)[1]
    return None if image.startswith('family/') else image


def _disk_drift(wanted, disks):
    """Boot image, boot and data disk size and type that differ from the options: warned, never changed."""
    name, out = wanted['name'], []
    boot = disks.get('boot')
    if boot is not None:
        pinned = _pinned_image(wanted['cos_image'])
        if pinned and boot.source_image and basename(boot.source_image) != pinned:
            out.append('instance %s boots from image %s, not %s (cos_image): the boot image is chosen at creation; '
                       're-create the instance (the data disk is kept) to change it'
                       % (name, basename(boot.source_image), pinned))
        differences = _disk_differences(boot, wanted['boot_disk_size_gb'], 'boot_disk_size_gb',
                                        wanted['boot_disk_type'], 'boot_disk_type')
        if differences:
            out.append('instance %s has a boot disk of %s: the boot disk is made at creation; re-create the instance '
                       '(the data disk is kept) to change it' % (name, differences))
    data = disks.get('data')
    if data is not None:
        differences = _disk_differences(data, wanted['data_disk']['size_gb'], 'data_disk.size_gb',
                                        wanted['data_disk']['type'], 'data_disk.type')
        if differences:
            out.append('the data disk %s of instance %s has %s: those options apply to a new disk only; resize it '
                       '(gcloud compute disks resize) or move the data to a new disk to change it'
                       % (data.name, name, differences))
    return out


def _unmanaged_drift(wanted, current, disks):
    """Differences GCE cannot change in place: reported, never silently ignored."""
    name = wanted['name']
    out = _disk_drift(wanted, disks)
    nics = list(current.network_interfaces)
    if nics:
        nic = nics[0]
        if basename(nic.network) != basename(wanted['network']):
            out.append('instance %s is on network %s, not %s: re-create it to change the network'
                       % (name, basename(nic.network), wanted['network']))
        if wanted['subnetwork'] and basename(nic.subnetwork) != basename(wanted['subnetwork']):
            out.append('instance %s is on subnetwork %s, not %s: re-create it to change the subnetwork'
                       % (name, basename(nic.subnetwork), wanted['subnetwork']))
        has_external = bool(list(nic.access_configs))
        if has_external != wanted['external_ip']:
            out.append('instance %s %s an external IP but external_ip=%s: re-create it (or change its access '
                       'config) to change that' % (name, 'has' if has_external else 'has no', wanted['external_ip']))
    attached = [d for d in current.disks if not d.boot]
    if not any(d.device_name == wanted['data_disk']['device_name'] for d in attached):
        out.append('instance %s has no disk with device name %s: the container has no data disk; re-create the '
                   'instance (the data disk is kept) to attach it' % (name, wanted['data_disk']['device_name']))
    return out


_IMAGE_URL_PREFIXES = ('https://www.googleapis.com/compute/v1/', 'https://compute.googleapis.com/compute/v1/')


def parse_cos_image(value, variable='cos_image'):
    """(project, image) of the cos_image option: `image` is an image name or `family/FAMILY`.

    Takes NAME, family/FAMILY (in cos-cloud), projects/P/global/images/NAME or .../family/FAMILY,
    and the same as a Compute Engine URL. The project is checked here, with everything else,
    before the first request: a bad one found only when the instance is created would leave
    the firewall rule made before it. Raises InputError.
    """
    spec = value or 'family/' + DEFAULT_COS_FAMILY
    if isinstance(spec, str):
        for prefix in _IMAGE_URL_PREFIXES:
            if spec.startswith(prefix):
                spec = spec[len(prefix):]
                break
    names.validate_reference(spec, variable)
    parts = spec.split('/')
    project = COS_PROJECT
    if parts[0] == 'projects':
        if len(parts) < 5 or parts[2:4] != ['global', 'images']:
            raise InputError(variable, 'must be an image name, family/FAMILY, or projects/PROJECT/global/images/'
                             'NAME (or .../family/FAMILY), got %s' % shown(value))
        try:
            project = names.validate_project(parts[1], variable)
        except InputError as exc:
            raise InputError(variable, 'the image\'s project %s' % exc.message) from None
        parts = parts[4:]
    if not (len(parts) == 1 or (len(parts) == 2 and parts[0] == 'family')):
        raise InputError(variable, 'must be an image name, family/FAMILY, or projects/PROJECT/global/images/NAME '
                         '(or .../family/FAMILY), got %s' % shown(value))
    return project, '/'.join(parts)


def check_auth_account(params, environ=None, variable='service_account_email'):
    """Refuse service_account_email given for the VM's account (InputError).

    service_account_email is the credentials' option of the gcli.offload.gcp fragment: the
    metadata server's account for auth_kind=machineaccount, also read from
    GCP_SERVICE_ACCOUNT_EMAIL. cos_instance once used that name for the VM's account, now
    worker_service_account. Given as an option with another auth_kind it can only mean the
    VM's account, and ignoring it would give the VM the project's default account instead.
    """
    environ = os.environ if environ is None else environ
    email = params.get('service_account_email')
    kind = params.get('auth_kind') or 'application'
    if email and kind != 'machineaccount' and email != environ.get(AUTH_ACCOUNT_ENV):
        raise InputError(variable, 'is the metadata server\'s account for auth_kind=machineaccount, '
                         'and auth_kind is %s: set the VM\'s service account with '
                         'worker_service_account' % shown(kind))


def validate_options(params, variables=None):
    """The desired instance from the module options (validated), or InputError.

    variables: option (as `name`, `data_disk.size_gb`) -> the name the user gave it, for a
    caller with its own names for the options (worker_vm_spec: the role's variables).
    """
    var = option_names(variables)
    name = names.validate_name(params['name'], var('name'))
    check_auth_account(params, variable=var('service_account_email'))
    if params.get('project'):
        names.validate_project(params['project'], var('project'))
    zone = names.validate_zone(params['zone'], var('zone'))
    disk = dict(params.get('data_disk') or {})
    disk_name = names.validate_name(disk.get('name') or '%s-data' % name, var('data_disk.name'))
    device = names.validate_name(disk.get('device_name') or 'offload', var('data_disk.device_name'))
    wanted = {
        'name': name, 'zone': zone, 'state': params['state'],
        'machine_type': params['machine_type'],
        'labels': names.validate_labels(params.get('labels') or {}, var('labels')),
        'purge_labels': bool(params.get('purge_labels')),
        'tags': list(params.get('tags') or []),
        'provisioning_model': params.get('provisioning_model') or 'STANDARD',
        'worker_service_account': params.get('worker_service_account'),
        'service_account_scopes': (expand_scopes(params['service_account_scopes'], var('service_account_scopes'))
                                   if params.get('service_account_scopes') else []),
        'deletion_protection': bool(params.get('deletion_protection')),
        'network': params.get('network') or 'default', 'subnetwork': params.get('subnetwork'),
        'external_ip': bool(params.get('external_ip')),
        'shielded_vm': bool(params.get('shielded_vm')),
        'boot_disk_size_gb': params.get('boot_disk_size_gb'), 'boot_disk_type': params.get('boot_disk_type'),
        'data_disk': {'name': disk_name, 'device_name': device, 'size_gb': disk.get('size_gb') or 200,
                      'type': disk.get('type') or 'pd-balanced'},
        'cos_image': params.get('cos_image'),
        'legacy': params.get('container_declaration') == 'legacy',
        'restart_for_container': bool(params.get('restart_for_container', True)),
        'container': None, 'metadata': {},
    }
    if wanted['worker_service_account'] == '':
        wanted['worker_service_account'] = None
    if wanted['worker_service_account'] not in (None, 'default'):
        names.validate_email(wanted['worker_service_account'], var('worker_service_account'))
    for tag in wanted['tags']:
        names.validate_name(tag, var('tags'))
    names.validate_name(wanted['machine_type'], var('machine_type'))
    for option in ('network', 'subnetwork'):
        if wanted[option]:
            names.validate_reference(wanted[option], var(option))
    parse_cos_image(wanted['cos_image'], var('cos_image'))
    if wanted['boot_disk_size_gb'] is not None and wanted['boot_disk_size_gb'] < 10:
        raise InputError(var('boot_disk_size_gb'), 'must be at least 10 (GB), got %s'
                         % shown(wanted['boot_disk_size_gb']))
    if wanted['boot_disk_size_gb'] is not None:
        validate_int(wanted['boot_disk_size_gb'], var('boot_disk_size_gb'), 10, ci.MAX_DISK_GB, 'GB')
    if disk.get('size_gb') is not None:
        wanted['data_disk']['size_gb'] = validate_int(disk['size_gb'], var('data_disk.size_gb'), 1, ci.MAX_DISK_GB, 'GB')
    idle_minutes = validate_int(params.get('idle_stop_minutes') or 0, var('idle_stop_minutes'), 0,
                                ci.MAX_IDLE_STOP_MINUTES, 'minutes')
    if params['state'] in ('started', 'stopped') and not params.get('container'):
        # Power only: start or stop an instance provisioned before, change nothing else.
        wanted['power_only'] = True
        return wanted
    if params['state'] != 'absent':
        if not params.get('container'):
            raise InputError(var('container'), 'is required with state=present, and to create an instance '
                             '(at least container.image)')
        container = ci.normalize_container(params['container'], variables)
        wanted['container'] = container
        meta = dict((str(k), str(v)) for k, v in (params.get('metadata') or {}).items())
        if OSLOGIN not in meta and params.get('enable_oslogin', True):
            meta[OSLOGIN] = 'TRUE'
        for key in (USER_DATA, DECLARATION):
            if key in meta:
                raise InputError(var('metadata'), 'must not set %s: the container options render it' % key)
        meta[USER_DATA] = ci.render_cloud_config(container, device, idle_minutes)
        meta[LOGGING] = 'true'
        if wanted['legacy']:
            meta[DECLARATION] = ci.render_declaration(container)
        wanted['metadata'] = meta
    return wanted


def instance_view(instance, wanted=None):
    """The `instance` return value."""
    if instance is None:
        return None
    nics = list(instance.network_interfaces)
    internal = nics[0].network_i_p if nics else None
    external = None
    if nics and list(nics[0].access_configs):
        external = nics[0].access_configs[0].nat_i_p or None
    meta = metadata_dict(instance)
    container = (wanted or {}).get('container') or {}
    return {
        'name': instance.name, 'id': str(instance.id) if instance.id else None, 'status': _status(instance),
        'zone': basename(instance.zone), 'machine_type': basename(instance.machine_type),
        'internal_ip': internal or None, 'external_ip': external, 'self_link': instance.self_link,
        'labels': dict(instance.labels), 'tags': list(instance.tags.items),
        'cos_image': meta.get(COS_IMAGE_KEY),
        'container_image': container.get('image'),
        'image_digest': digest_of(container['image']) if container.get('image') else None,
        'container_name': container.get('name'),
        'deletion_protection': bool(instance.deletion_protection),
        'service_account': _service_account_view(instance),
    }


def validate_info_options(params):
    """cos_instance_info's options (name, zone; the project through the credentials), or InputError."""
    return {'name': names.validate_name(params['name'], 'name'), 'zone': names.validate_zone(params['zone'], 'zone')}


def read_instance(api, name, zone):
    """The instance_view of instance `name` in `zone`, or None when there is none: one read, nothing changed."""
    return instance_view(InstanceManager(api, {'name': name, 'zone': zone}, check_mode=True).read())


class InstanceManager:
    """Reads, plans and applies; `api` is a _gcp_client.ComputeApi."""

    def __init__(self, api, wanted, check_mode=False, compute=None):
        self.api = api
        self.wanted = wanted
        self.check_mode = check_mode
        self.compute = compute  # the compute_v1 module (messages)
        self.project = api.project
        self.zone = wanted['zone']
        self.name = wanted['name']
        self.instances = api.client('instances')
        self.calls = []
        self._image = None
        self._disks = {}

    def where(self):
        return 'instance %s in %s of project %s' % (self.name, self.zone, self.project)

    def get(self):
        try:
            return self.instances.get(project=self.project, zone=self.zone, instance=self.name,
                                      timeout=self.api.request_timeout)
        except Exception as exc:
            if getattr(exc, 'code', None) == 404:
                return None
            raise

    def read(self):
        return self.api.call(self.get, 'read ' + self.where())

    def read_stable(self):
        """The instance once it is out of a transitional state (e.g. STOPPING after an earlier
        run timed out), polled within the timeout option; as is in check mode."""
        current = self.read()
        if self.check_mode:
            return current
        deadline = self.api.clock() + self.api.timeout
        while current is not None and _status(current) in TRANSITIONAL_STATES:
            left = deadline - self.api.clock()
            if left <= 0:
                raise GcpApiError('cannot converge %s: it stayed %s for timeout=%ss; re-run later or raise the timeout '
                                  'option' % (self.where(), _status(current), int(self.api.timeout)), status='TIMEOUT')
            self.api.sleep(min(POLL_INTERVAL, left))
            current = self.read()
        return current

    def read_disks(self, current):
        """{'boot': Disk, 'data': Disk} of an existing instance (a disk that cannot be found is left out)."""
        if current is None or self.wanted['state'] == 'absent' or self.wanted.get('power_only'):
            return {}
        out = {}
        disks = self.api.client('disks')
        for attached in current.disks:
            role = 'boot' if attached.boot else (
                'data' if attached.device_name == self.wanted['data_disk']['device_name'] else None)
            if role is None or not attached.source:
                continue
            disk = basename(attached.source)
            try:
                out[role] = self.api.call(lambda disk=disk: disks.get(
                    project=self.project, zone=self.zone, disk=disk, timeout=self.api.request_timeout),
                    'read the %s disk %s of %s' % (role, disk, self.where()))
            except GcpApiError as exc:
                if exc.code != 404:
                    raise
        return out

    def run(self):
        current = self.read_stable()
        self._disks = self.read_disks(current)
        steps, before, after, warnings = plan_instance(self.wanted, current, self._disks)
        if 'insert' in steps:
            # resolved in check mode too (a read): a wrong cos_image shows before anything is created
            self._image = self.resolve_cos_image()
            after['cos_image'] = self._image[1]
        result = {'changed': bool(steps), 'actions': steps, 'warnings': warnings, 'restarted': False,
                  'diff': {'before': before, 'after': after,
                           'before_header': self.where(), 'after_header': self.where()}}
        if self.check_mode or not steps:
            result['instance'] = instance_view(current, self.wanted)
            return result
        done = []
        for attempt in (1, 2):
            try:
                for step in steps:
                    getattr(self, 'do_' + step)(current)
                    done.append(step)
                break
            except GcpApiError as exc:
                # 412: another writer changed the instance between our read and our write (stale
                # fingerprint). Read it again and plan the rest once; a second conflict fails.
                if exc.code != 412 or attempt == 2:
                    raise
                current = self.read()
                steps = plan_instance(self.wanted, current, self._disks)[0]
        steps = done
        result['actions'] = steps
        if 'delete' in steps:
            result['instance'] = None
        else:
            final = self.read()
            result['instance'] = instance_view(final, self.wanted)
        result['restarted'] = current is not None and 'stop' in steps and 'start' in steps
        return result

    # ---- mutating steps ----
    def _op(self, verb, fn, hints=None):
        what = '%s %s' % (verb, self.where())
        operation = self.api.call(fn, what, hints)
        self.calls.append(verb)
        return self.api.wait(operation, what)

    def do_insert(self, _current):
        body = self.insert_body()
        self._op('create', lambda: self.instances.insert_unary(
            project=self.project, zone=self.zone, instance_resource=body, timeout=self.api.request_timeout),
            {409: 'an instance named %s already exists in %s' % (self.name, self.zone),
             404: 'check the zone, machine_type, network, subnetwork and cos_image'})

    def do_delete(self, _current):
        self._op('delete', lambda: self.instances.delete_unary(
            project=self.project, zone=self.zone, instance=self.name, timeout=self.api.request_timeout),
            {400: 'if deletion protection is on, set deletion_protection: false first'})

    def do_start(self, _current):
        self._op('start', lambda: self.instances.start_unary(
            project=self.project, zone=self.zone, instance=self.name, timeout=self.api.request_timeout))

    def do_stop(self, _current):
        self._op('stop', lambda: self.instances.stop_unary(
            project=self.project, zone=self.zone, instance=self.name, timeout=self.api.request_timeout))

    def do_setMetadata(self, current):
        items = desired_metadata(self.wanted, metadata_dict(current))
        body = self.compute.Metadata(fingerprint=current.metadata.fingerprint,
                                     items=[{'key': k, 'value': items[k]} for k in sorted(items)])
        self._op('set the metadata of', lambda: self.instances.set_metadata_unary(
            project=self.project, zone=self.zone, instance=self.name, metadata_resource=body,
            timeout=self.api.request_timeout))

    def do_setLabels(self, current):
        labels = dict(self.wanted['labels'])
        if not self.wanted['purge_labels']:
            labels = dict(current.labels, **labels)
        body = self.compute.InstancesSetLabelsRequest(label_fingerprint=current.label_fingerprint, labels=labels)
        self._op('set the labels of', lambda: self.instances.set_labels_unary(
            project=self.project, zone=self.zone, instance=self.name, instances_set_labels_request_resource=body,
            timeout=self.api.request_timeout))

    def do_setTags(self, current):
        body = self.compute.Tags(fingerprint=current.tags.fingerprint, items=sorted(self.wanted['tags']))
        self._op('set the network tags of', lambda: self.instances.set_tags_unary(
            project=self.project, zone=self.zone, instance=self.name, tags_resource=body,
            timeout=self.api.request_timeout))

    def do_setScheduling(self, _current):
        body = self.compute.Scheduling(desired_scheduling(self.wanted['provisioning_model']))
        self._op('set the scheduling of', lambda: self.instances.set_scheduling_unary(
            project=self.project, zone=self.zone, instance=self.name, scheduling_resource=body,
            timeout=self.api.request_timeout))

    def do_setMachineType(self, _current):
        body = self.compute.InstancesSetMachineTypeRequest(
            machine_type='zones/%s/machineTypes/%s' % (self.zone, self.wanted['machine_type']))
        self._op('set the machine type of', lambda: self.instances.set_machine_type_unary(
            project=self.project, zone=self.zone, instance=self.name,
            instances_set_machine_type_request_resource=body, timeout=self.api.request_timeout))

    def do_setServiceAccount(self, _current):
        email = self.wanted['worker_service_account']
        body = self.compute.InstancesSetServiceAccountRequest(
            email=email or '', scopes=self.wanted['service_account_scopes'] if email else [])
        self._op('set the service account of', lambda: self.instances.set_service_account_unary(
            project=self.project, zone=self.zone, instance=self.name,
            instances_set_service_account_request_resource=body, timeout=self.api.request_timeout))

    def do_setDeletionProtection(self, _current):
        request = self.compute.SetDeletionProtectionInstanceRequest(
            project=self.project, zone=self.zone, resource=self.name,
            deletion_protection=self.wanted['deletion_protection'])
        self._op('set the deletion protection of', lambda: self.instances.set_deletion_protection_unary(
            request=request, timeout=self.api.request_timeout))

    # ---- creation ----
    def resolve_cos_image(self):
        """(image self link, image name): a pinned image, or the newest of a family like gcloud picks it."""
        project, spec = parse_cos_image(self.wanted['cos_image'])
        images = self.api.client('images')
        if not spec.startswith('family/'):
            image = self.api.call(lambda: images.get(project=project, image=spec, timeout=self.api.request_timeout),
                                  'find the COS image %s in project %s' % (spec, project),
                                  {404: 'check cos_image (an image name in cos-cloud, or projects/P/global/images/'
                                        'NAME or .../family/FAMILY)'})
            return image.self_link, image.name
        family = spec.split('/', 1)[1]
        found = self.api.call(lambda: list(images.list(project=project, timeout=self.api.request_timeout)),
                              'list the images of project %s' % project)
        usable = [i for i in found if (i.family == family or i.name.startswith(family + '-')) and
                  (not i.deprecated or i.deprecated.state in ('', 'ACTIVE'))]
        if not usable:
            raise GcpApiError('cannot create %s: no image of family %s in project %s; set cos_image to an existing '
                              'image' % (self.where(), family, project))
        newest = max(usable, key=lambda i: (i.creation_timestamp, i.name))
        return newest.self_link, newest.name

    def data_disk_exists(self):
        disk = self.wanted['data_disk']
        disks = self.api.client('disks')
        try:
            self.api.call(lambda: disks.get(project=self.project, zone=self.zone, disk=disk['name'],
                                            timeout=self.api.request_timeout),
                          'read the data disk %s in %s' % (disk['name'], self.zone))
            return True
        except GcpApiError as exc:
            if exc.code == 404:
                return False
            raise

    def insert_body(self):
        w = self.wanted
        image_link, image_name = self._image or self.resolve_cos_image()
        zone_path = 'projects/%s/zones/%s' % (self.project, self.zone)
        disk = w['data_disk']
        if self.data_disk_exists():
            data = {'source': '%s/disks/%s' % (zone_path, disk['name'])}
        else:
            # labelled as the instance: reconcile.yml finds a data disk whose worker is gone by them
            data = {'initialize_params': {'disk_name': disk['name'], 'disk_size_gb': disk['size_gb'],
                                          'disk_type': '%s/diskTypes/%s' % (zone_path, disk['type']),
                                          'labels': w['labels']}}
        data.update({'device_name': disk['device_name'], 'auto_delete': False, 'boot': False, 'mode': 'READ_WRITE'})
        boot = {'boot': True, 'auto_delete': True, 'device_name': 'boot',
                'initialize_params': {'source_image': image_link, 'disk_size_gb': w['boot_disk_size_gb'],
                                      'disk_type': '%s/diskTypes/%s' % (zone_path, w['boot_disk_type']),
                                      'labels': w['labels']}}
        network = w['network']
        if '/' not in network:
            network = 'projects/%s/global/networks/%s' % (self.project, network)
        nic = {'network': network}
        if w['subnetwork']:
            sub = w['subnetwork']
            nic['subnetwork'] = sub if '/' in sub else 'projects/%s/regions/%s/subnetworks/%s' % (
                self.project, names.region_of(self.zone), sub)
        if w['external_ip']:
            nic['access_configs'] = [{'name': 'External NAT', 'type_': 'ONE_TO_ONE_NAT'}]
        metadata = dict(w['metadata'], **{COS_IMAGE_KEY: image_name})
        body = {
            'name': self.name,
            'machine_type': 'zones/%s/machineTypes/%s' % (self.zone, w['machine_type']),
            'disks': [boot, data],
            'network_interfaces': [nic],
            'metadata': {'items': [{'key': k, 'value': metadata[k]} for k in sorted(metadata)]},
            'labels': w['labels'],
            'tags': {'items': sorted(w['tags'])},
            'scheduling': desired_scheduling(w['provisioning_model']),
            'deletion_protection': w['deletion_protection'],
        }
        if w['worker_service_account']:
            body['service_accounts'] = [{'email': w['worker_service_account'], 'scopes': w['service_account_scopes']}]
        if w['shielded_vm']:
            body['shielded_instance_config'] = {'enable_secure_boot': True, 'enable_vtpm': True,
                                                'enable_integrity_monitoring': True}
        return self.compute.Instance(body)
