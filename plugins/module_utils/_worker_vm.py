# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every input of provision.yml and teardown.yml, checked before the first request.

The worker_vm role makes several requests (the firewall rule, then the
instance): a bad value for the instance must not be found only after the rule
was made. So the role checks everything first, through this one function,
which applies the very rules the modules apply (_gcp_instance.validate_options
for cos_instance, _gcp_firewall.desired_rule for compute_firewall) and adds the
role's own (the SSH alias, the waits). Each refusal names the role variable.
Nothing here sends a request.
"""

from __future__ import annotations

import re

from ansible_collections.gcli.offload.plugins.module_utils import _cloud_init as ci
from ansible_collections.gcli.offload.plugins.module_utils._gce_names import NAME_PATTERN, validate_zone
from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import validate_compute_endpoint
from ansible_collections.gcli.offload.plugins.module_utils._gcp_iam import ACCOUNT_ID_RE
from ansible_collections.gcli.offload.plugins.module_utils._gcp_iam import endpoints as iam_endpoints
from ansible_collections.gcli.offload.plugins.module_utils._gcp_firewall import check_name, desired_rule, rule_view
from ansible_collections.gcli.offload.plugins.module_utils._gcp_instance import validate_options
from ansible_collections.gcli.offload.plugins.module_utils._inputs import (
    InputError,
    shown,
    validate_bool,
    validate_choice,
    validate_int,
    validate_match,
    validate_str_list,
)
from ansible_collections.gcli.offload.plugins.module_utils._jobs import validate_docker_bin
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import MAINTAINER_NAME

PREFIX = 'offload_'
# The role's variables, without PREFIX, and their defaults. roles/worker_vm/defaults/main.yml states the
# same but for those the role leaves to this table (offload_maintainer_name...); a unit test holds them equal.
DEFAULTS = {
    'worker_name': None, 'project': '', 'zone': 'us-central1-a', 'machine_type': 'n2-standard-8',
    'cos_image': '', 'boot_disk_size_gb': 10, 'data_disk_name': '', 'data_disk_size_gb': 200,
    'data_root': '/mnt/disks/offload', 'spot': False, 'network': 'default', 'subnetwork': '',
    'external_ip': '', 'network_tags': ['gcli-offload-ssh'], 'worker_labels': {},
    'maintainer_image': '', 'maintainer_name': MAINTAINER_NAME, 'idle_stop_minutes': 60,
    'worker_service_account': 'dedicated', 'worker_service_account_id': '', 'worker_scopes': [],
    'iam_api_endpoint': '', 'firewall_name': 'gcli-offload-ssh-from-iap',
    'ssh_source_ranges': ['35.235.240.0/20'], 'ssh_allow_any_source': False, 'restrict_default_ssh': False,
    'ssh_access': 'iap',
    'ssh_host': '', 'ssh_port': 22, 'ssh_user': '', 'ssh_key': '~/.ssh/google_compute_engine',
    'ssh_known_hosts': '~/.ssh/google_compute_known_hosts', 'ssh_alias': 'gcli-worker',
    'ssh_config': '~/.ssh/gcli-offload.conf', 'gcloud_bin': 'gcloud', 'wait_timeout': 600, 'wait_interval': 5,
    'api_endpoint': '', 'maintainer_image_pin': False, 'registry_plain_http': False, 'worker_become': True,
    'docker_bin': 'docker', 'delete_data_disk': False, 'delete_firewall': False,
}
# cos_instance's option (as validate_options names it) -> the role variable (without PREFIX).
INSTANCE_VARIABLES = {
    'name': 'worker_name', 'project': 'project', 'zone': 'zone', 'machine_type': 'machine_type',
    'cos_image': 'cos_image', 'boot_disk_size_gb': 'boot_disk_size_gb', 'data_disk.name': 'data_disk_name',
    'data_disk.device_name': 'data_root', 'data_disk.size_gb': 'data_disk_size_gb', 'network': 'network',
    'subnetwork': 'subnetwork', 'tags': 'network_tags', 'labels': 'worker_labels',
    'worker_service_account': 'worker_service_account', 'service_account_scopes': 'worker_scopes',
    'idle_stop_minutes': 'idle_stop_minutes',
    'container': 'maintainer_image', 'container.image': 'maintainer_image', 'container.name': 'maintainer_name',
}
# compute_firewall's option -> the role variable.
FIREWALL_VARIABLES = {
    'name': 'firewall_name', 'network': 'network', 'target_tags': 'network_tags',
    'source_ranges': 'ssh_source_ranges', 'allow_any_source': 'ssh_allow_any_source',
    'priority': 'firewall_name', 'description': 'firewall_name',
}
# Where COS mounts the data disk: /mnt/disks/<its device name, a GCE name>.
DATA_ROOT_RE = re.compile(r'^%s/%s\Z' % (re.escape(ci.MOUNT_ROOT), NAME_PATTERN))
SSH_ALIAS_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,254}\Z')
SSH_USER_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_.-]{0,255}\Z')
SSH_HOST_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}\Z')
# A file path written into the SSH config between double quotes.
SSH_PATH_RE = re.compile(r'^[^"\\\x00-\x1f\x7f]{1,1024}\Z')
COMMAND_RE = re.compile(r'^[A-Za-z0-9_./-]{1,1024}\Z')
ACCESS = ('iap', 'direct')
MAX_WAIT = 24 * 3600
# The worker's own account (offload_worker_service_account=dedicated): the project roles it needs
# (write its logs, pull the maintainer and job images) and its scopes: those two, and compute for
# the one Compute call it makes, stopping itself, which IAM allows on its own instance only.
DEDICATED = 'dedicated'
DEDICATED_ROLES = ['roles/artifactregistry.reader', 'roles/logging.logWriter']
DEDICATED_SCOPES = ['logging-write', 'storage-ro', 'compute-rw']
DEFAULT_SCOPES = ['cloud-platform']


def _variable(name):
    return PREFIX + name


def _variables(options):
    """A module's option -> role variable mapping, with the role's variable names in full."""
    return {option: _variable(name) for option, name in options.items()}


def _bool(values, name):
    return validate_bool(values[name], _variable(name))


def _match(values, name, regex, what, allow_empty=False):
    return validate_match(values[name], _variable(name), regex, what, allow_empty)


def _list_of_str(values, name):
    return validate_str_list(values[name], _variable(name))


def _ssh(values):
    """The role's own rules: the SSH alias and how provision waits for the worker."""
    return {
        'access': validate_choice(values['ssh_access'], _variable('ssh_access'), ACCESS),
        'alias': _match(values, 'ssh_alias', SSH_ALIAS_RE, 'an SSH host alias (letters, digits and . _ -)'),
        'user': _match(values, 'ssh_user', SSH_USER_RE, 'a POSIX user name (your OS Login user)'),
        'host': _match(values, 'ssh_host', SSH_HOST_RE, 'a host name or IP address', allow_empty=True),
        'port': validate_int(values['ssh_port'], _variable('ssh_port'), 1, 65535),
        'key': _match(values, 'ssh_key', SSH_PATH_RE, 'a file path without quotes, backslashes or control characters'),
        'known_hosts': _match(values, 'ssh_known_hosts', SSH_PATH_RE,
                              'a file path without quotes, backslashes or control characters'),
        'config': _match(values, 'ssh_config', SSH_PATH_RE,
                         'a file path without quotes, backslashes or control characters'),
        'gcloud_bin': _match(values, 'gcloud_bin', COMMAND_RE, 'a command name or path (letters, digits and _ . / -)'),
        'wait_timeout': validate_int(values['wait_timeout'], _variable('wait_timeout'), 1, MAX_WAIT, 'seconds'),
        'wait_interval': validate_int(values['wait_interval'], _variable('wait_interval'), 1, MAX_WAIT, 'seconds'),
    }


def _external_ip(values):
    """An external IP only when asked: empty (the default) is none with IAP access (IAP TCP
    forwarding reaches the internal address) and one with direct access."""
    if values['external_ip'] in ('', None):
        return validate_choice(values['ssh_access'], _variable('ssh_access'), ACCESS) == 'direct'
    return _bool(values, 'external_ip')


def dedicated_account_id(worker_name):
    """The worker's own service account id from its instance name (6-30 characters)."""
    base = worker_name if len(worker_name) >= 6 else worker_name + '-worker'
    return base[:30].rstrip('-')


def _service_account(values, name):
    """(the account cos_instance gets, or DEDICATED; the scopes; the dedicated account or None)."""
    account = values['worker_service_account']
    given_scopes = values['worker_scopes']
    if given_scopes in ('', None):
        given_scopes = []
    scopes = _list_of_str(dict(values, worker_scopes=given_scopes), 'worker_scopes')
    if account != DEDICATED:
        if values['worker_service_account_id'] not in ('', None):
            raise InputError(_variable('worker_service_account_id'), 'applies only to offload_worker_service_account='
                             'dedicated (the account provision creates), not to %s' % shown(account))
        return account, scopes or (DEFAULT_SCOPES if account not in ('', None) else []), None
    dedicated = {'account_id': values['worker_service_account_id'], 'roles': list(DEDICATED_ROLES)}
    return DEDICATED, scopes or list(DEDICATED_SCOPES), dedicated


def _check_account_id(dedicated, name):
    """The dedicated account's id (given, or from the checked instance name), checked."""
    account_id = dedicated['account_id'] or dedicated_account_id(name)
    if not isinstance(account_id, str) or not ACCOUNT_ID_RE.match(account_id):
        raise InputError(_variable('worker_service_account_id'), '%s is not a service account id (6-30 lower-case '
                         'letters, digits and -, starting with a letter, not ending with -)' % shown(account_id))
    return dict(dedicated, account_id=account_id)


def worker_vm_spec(state='present', **given):
    """Check the role's variables (given without PREFIX; missing ones take the role's
    defaults) for provisioning (present) or teardown (absent). Return the checked
    values: {'instance': ..., 'firewall': ..., 'ssh': ...}; raise InputError naming
    the role variable."""
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise InputError(_variable(unknown[0]), 'is not a variable of the worker_vm role')
    values = dict(DEFAULTS, **{k: v for k, v in given.items() if v is not None})
    name = values['worker_name']
    if name in (None, ''):
        raise InputError(_variable('worker_name'), 'is required: the worker instance name')
    zone = validate_zone(values['zone'], _variable('zone'))
    data_root = _match(values, 'data_root', DATA_ROOT_RE,
                       '/mnt/disks/<name> (where COS mounts the data disk; <name> is its device name)')
    check_name(values['firewall_name'], _variable('firewall_name'))  # compute_firewall's rule, also for teardown
    # the modules' endpoint rule: no credentials, no host read as an option
    validate_compute_endpoint(values['api_endpoint'] or None, _variable('api_endpoint'))
    iam_endpoints(values['iam_api_endpoint'] or None, _variable('iam_api_endpoint'))
    options = {
        'name': name, 'project': values['project'] or None, 'zone': zone, 'state': 'absent',
        'machine_type': values['machine_type'],
        'data_disk': {'name': values['data_disk_name'] or None, 'device_name': data_root.rsplit('/', 1)[-1]},
    }
    if state == 'absent':
        for flag in ('delete_data_disk', 'delete_firewall'):
            _bool(values, flag)
        wanted = validate_options(options, _variables(INSTANCE_VARIABLES))
        return {'instance': {'name': wanted['name'], 'zone': zone, 'data_disk': wanted['data_disk']['name']},
                'firewall': {'name': values['firewall_name']},
                'ssh': {'alias': _match(values, 'ssh_alias', SSH_ALIAS_RE, 'an SSH host alias')}}

    for flag in ('maintainer_image_pin', 'registry_plain_http', 'worker_become'):
        _bool(values, flag)
    validate_docker_bin(values['docker_bin'], _variable('docker_bin'))
    if values['maintainer_image'] in ('', None):
        raise InputError(_variable('maintainer_image'), (
            'is required: the image the worker runs as its maintainer container, e.g. -e '
            'offload_maintainer_image=us-docker.pkg.dev/PROJECT/REPO/maintainer:latest (or set offload_image)'))
    labels = values['worker_labels']
    if not isinstance(labels, dict):
        raise InputError(_variable('worker_labels'), 'must be a dictionary of labels, got %s' % shown(labels))
    account, scopes, dedicated = _service_account(values, name)
    options.update({
        'state': 'started',
        'cos_image': values['cos_image'] or None,
        'boot_disk_size_gb': validate_int(values['boot_disk_size_gb'], _variable('boot_disk_size_gb'), 10,
                                          ci.MAX_DISK_GB, 'GB'),
        'network': values['network'], 'subnetwork': values['subnetwork'] or None,
        'external_ip': _external_ip(values),
        'tags': _list_of_str(values, 'network_tags'),
        'labels': dict(labels, type='offload-worker'),
        'provisioning_model': 'SPOT' if _bool(values, 'spot') else 'STANDARD',
        # the dedicated account's email is known once the project is: a placeholder for the checks
        'worker_service_account': 'default' if dedicated else account,
        'service_account_scopes': scopes,
        'idle_stop_minutes': validate_int(values['idle_stop_minutes'], _variable('idle_stop_minutes'), 0,
                                          ci.MAX_IDLE_STOP_MINUTES, 'minutes'),
        'container': {'name': values['maintainer_name'], 'image': values['maintainer_image']},
    })
    options['data_disk']['size_gb'] = validate_int(values['data_disk_size_gb'], _variable('data_disk_size_gb'), 1,
                                                   ci.MAX_DISK_GB, 'GB')
    wanted = validate_options(options, _variables(INSTANCE_VARIABLES))
    if dedicated:
        dedicated = _check_account_id(dedicated, wanted['name'])
    rule = desired_rule({
        'name': values['firewall_name'], 'network': values['network'],
        'source_ranges': _list_of_str(values, 'ssh_source_ranges'),
        'allow_any_source': _bool(values, 'ssh_allow_any_source'), 'ports': ['22'],
        'target_tags': options['tags'], 'allow_all_instances': False, 'priority': 1000, 'description': '',
    }, _variables(FIREWALL_VARIABLES))
    # The role passes these to cos_instance and compute_firewall as they are: what the
    # modules take, derived here once (labels, Spot, the device name, the port).
    return {
        'instance': {'name': wanted['name'], 'zone': zone, 'machine_type': wanted['machine_type'],
                     'data_disk': wanted['data_disk'], 'tags': wanted['tags'], 'labels': wanted['labels'],
                     'provisioning_model': wanted['provisioning_model'], 'container': wanted['container'],
                     'cos_image': wanted['cos_image'], 'boot_disk_size_gb': wanted['boot_disk_size_gb'],
                     'network': wanted['network'], 'subnetwork': wanted['subnetwork'],
                     'external_ip': wanted['external_ip'],
                     'worker_service_account': DEDICATED if dedicated else options['worker_service_account'],
                     'service_account_scopes': wanted['service_account_scopes'],
                     'docker_config': ci.DOCKER_CONFIG_DIR,
                     'idle_stop_minutes': options['idle_stop_minutes']},
        'service_account': dedicated,
        'firewall': dict(rule_view(rule), allow_any_source=_bool(values, 'ssh_allow_any_source'),
                         restrict_default_ssh=_bool(values, 'restrict_default_ssh')),
        'ssh': _ssh(values),
    }
