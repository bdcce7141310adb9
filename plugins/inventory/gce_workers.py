# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: gce_workers
short_description: The offload workers of a Compute Engine project, found by label
version_added: 0.1.0
description:
  - Lists the Compute Engine instances of a project that carry all the O(labels) (by default
    C(type=offload-worker), the label C(provision.yml) sets) and are in one of O(statuses), and puts the
    C(RUNNING) ones in the group O(group) (C(offload_workers), the group C(offload.yml) runs on) and the others
    (a worker that stopped itself when idle is C(TERMINATED)) in the group O(group)C(_stopped), with their status
    in C(gce_status). So the playbooks reach only running workers, and C(offload.yml -e offload_start_worker=true)
    finds a stopped one there, starts it and runs the job on it.
  - Each host is named after its instance (C(<name>.<zone>) when two zones hold the same name) and gets
    C(ansible_host) (its external IP, else its internal IP; see O(address)) and C(gce_*) variables, and, as a COS
    worker of the collection, C(offload_docker_config) (the docker config its boot unit writes with
    docker-credential-gcr, which the collection's docker commands then use) and C(offload_maintainer_refresh=true)
    (a moved maintainer tag is pulled and the container refreshed when no job runs); O(compose) may override them.
  - With O(iap_tunnel=true), SSH goes through C(gcloud compute start-iap-tunnel), the only way in when the firewall
    admits the IAP range only (C(provision.yml)'s default).
  - The configuration file must be named C(gce.yml), C(gce.yaml), or end in C(.gce_workers.yml) or
    C(.gce_workers.yaml), and its C(plugin) key must be V(gcli.offload.gce_workers).
  - Reaches Google with the same credentials and O(api_endpoint) as the collection's modules.
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it must be V(gcli.offload.gce_workers).
    type: str
    required: true
    choices: [gcli.offload.gce_workers]
  project:
    description:
      - The Google Cloud project.
      - Defaults to E(CLOUDSDK_CORE_PROJECT), E(GOOGLE_CLOUD_PROJECT), E(GCP_PROJECT), else the credentials' project.
    type: str
    env:
      - name: CLOUDSDK_CORE_PROJECT
      - name: GOOGLE_CLOUD_PROJECT
      - name: GCP_PROJECT
  zones:
    description: The zones to list; empty lists every zone (one aggregated call).
    type: list
    elements: str
    default: []
  labels:
    description: Labels an instance must all carry to be a worker.
    type: dict
    default:
      type: offload-worker
  statuses:
    description:
      - Instance statuses to list (C(RUNNING), C(TERMINATED), C(STAGING)...); empty lists every status.
      - Only C(RUNNING) instances go in O(group); the others go in O(group)C(_stopped).
    type: list
    elements: str
    default: []
  group:
    description: The group the running workers go in; the others go in the group named after it with C(_stopped).
    type: str
    default: offload_workers
  address:
    description:
      - Which address becomes C(ansible_host). V(external) is the external IP, or the internal one when the
        instance has none; V(internal) is always the internal IP (a controller inside the VPC, or IAP).
    type: str
    choices: [external, internal]
    default: external
  iap_tunnel:
    description:
      - Reach each worker's SSH through C(gcloud compute start-iap-tunnel) (sets C(ansible_ssh_common_args) to a
        C(ProxyCommand) and a C(HostKeyAlias) of C(compute.<instance id>), as gcloud does; the host key is
        accepted on first use).
    type: bool
    default: false
  gcloud_bin:
    description: The gcloud command of the IAP C(ProxyCommand).
    type: str
    default: gcloud
  auth_kind:
    description:
      - How to get credentials, as the modules' O(auth_kind) (see the C(gcli.offload.gcp) options).
    type: str
    choices: [application, serviceaccount, accesstoken, machineaccount]
    default: application
    env:
      - name: GCP_AUTH_KIND
  service_account_file:
    description: A service-account JSON key, for O(auth_kind=serviceaccount).
    type: path
    env:
      - name: GCP_SERVICE_ACCOUNT_FILE
      - name: GOOGLE_APPLICATION_CREDENTIALS
  service_account_contents:
    description: The contents of a service-account JSON key, for O(auth_kind=serviceaccount).
    type: str
    env:
      - name: GCP_SERVICE_ACCOUNT_CONTENTS
  service_account_email:
    description: The metadata server's service account, for O(auth_kind=machineaccount).
    type: str
    env:
      - name: GCP_SERVICE_ACCOUNT_EMAIL
  access_token:
    description: An OAuth2 access token, for O(auth_kind=accesstoken).
    type: str
    env:
      - name: CLOUDSDK_AUTH_ACCESS_TOKEN
      - name: GCP_ACCESS_TOKEN
  scopes:
    description: OAuth2 scopes; default C(cloud-platform).
    type: list
    elements: str
  api_endpoint:
    description:
      - The Compute Engine API server, in gcloud's override form C(http://127.0.0.1:8080/compute/v1/) or
        C(http(s)://host:port).
    type: str
    env:
      - name: CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE
  request_retries:
    description: Retries of a request answered with HTTP 429 or 5xx, with backoff and jitter.
    type: int
    default: 6
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
# inventory/gce.yml, used with: ansible-playbook -i inventory/gce.yml offload.yml -e pr=123
plugin: gcli.offload.gce_workers
project: my-project
zones: [us-central1-a]
iap_tunnel: true
compose:
  ansible_user: "'alice_example_com'"
  ansible_become: true
'''

import re

from ansible.errors import AnsibleError, AnsibleParserError
from ansible import constants as C
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.gcli.offload.plugins.module_utils._cloud_init import DOCKER_CONFIG_DIR
from ansible_collections.gcli.offload.plugins.module_utils._gce_names import (
    NAME_RE,
    PROJECT_RE,
    ZONE_RE,
    basename,
    validate_zone,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_client import (
    COMPUTE_IMPORT_ERROR,
    ComputeApi,
    GcpError,
)
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError, shown, validate_bool

CONFIG_NAMES = ('gce.yml', 'gce.yaml')
CONFIG_SUFFIXES = ('.gce_workers.yml', '.gce_workers.yaml')
GCLOUD_RE = re.compile(r'^[A-Za-z0-9_./-]+\Z')
# The group of the workers that do not run (stopped, suspended, starting): <group>_stopped.
STOPPED_SUFFIX = '_stopped'


def instance_addresses(instance):
    """(internal IP, external IP) of the first network interface (None when absent)."""
    interfaces = instance.get('networkInterfaces') or []
    if not interfaces:
        return None, None
    nic = interfaces[0]
    external = None
    for config in nic.get('accessConfigs') or []:
        if config.get('natIP'):
            external = config['natIP']
            break
    return nic.get('networkIP') or None, external


def worker_record(instance, project):
    """The host variables of one instance (an API-shaped dict, camelCase as the REST API answers)."""
    internal, external = instance_addresses(instance)
    return {
        'gce_name': instance.get('name'),
        'gce_id': str(instance.get('id') or ''),
        'gce_project': project,
        'gce_zone': basename(instance.get('zone')),
        'gce_status': instance.get('status'),
        'gce_machine_type': basename(instance.get('machineType')),
        'gce_labels': dict(instance.get('labels') or {}),
        'gce_network_tags': list((instance.get('tags') or {}).get('items') or []),
        'gce_internal_ip': internal,
        'gce_external_ip': external,
        'gce_self_link': instance.get('selfLink'),
    }


def is_worker(record, labels, statuses):
    """Whether the record carries every wanted label and one of the statuses (empty: any)."""
    have = record['gce_labels']
    if any(have.get(str(k)) != str(v) for k, v in (labels or {}).items()):
        return False
    return not statuses or record['gce_status'] in statuses


def worker_group(record, group):
    """The group of a worker: `group` when it runs (SSH can reach it), else `group`_stopped."""
    return group if record['gce_status'] == 'RUNNING' else group + STOPPED_SUFFIX


def choose_address(record, address):
    if address == 'internal':
        return record['gce_internal_ip']
    return record['gce_external_ip'] or record['gce_internal_ip']


def host_names(records):
    """One inventory name per record: the instance name, or <name>.<zone> when two zones share it."""
    counts = {}
    for record in records:
        counts[record['gce_name']] = counts.get(record['gce_name'], 0) + 1
    return ['%s.%s' % (r['gce_name'], r['gce_zone']) if counts[r['gce_name']] > 1 else r['gce_name']
            for r in records]


def iap_ssh_args(record, gcloud_bin='gcloud'):
    """ansible_ssh_common_args that reach the worker through an IAP tunnel (values validated: no shell syntax)."""
    name, zone, project = record['gce_name'], record['gce_zone'], record['gce_project']
    if not (NAME_RE.match(name or '') and ZONE_RE.match(zone or '') and PROJECT_RE.match(project or '')
            and GCLOUD_RE.match(gcloud_bin or '') and (record['gce_id'] or '').isdigit()):
        raise AnsibleError('gce_workers: cannot build an IAP ProxyCommand for instance %s in zone %s of project %s'
                           % (shown(name), shown(zone), shown(project)))
    proxy = ('%s compute start-iap-tunnel %s %%p --listen-on-stdin --project=%s --zone=%s --verbosity=warning'
             % (gcloud_bin, name, project, zone))
    # The host key is recorded on first use under the instance's id (a re-created VM is a new id).
    return ('-o ProxyCommand="%s" -o HostKeyAlias=compute.%s -o StrictHostKeyChecking=accept-new'
            % (proxy, record['gce_id']))


def workers(instances, project, labels, statuses):
    """Records of the worker instances, sorted by zone and name (a stable inventory)."""
    records = [worker_record(i, project) for i in instances]
    records = [r for r in records if is_worker(r, labels, statuses)]
    return sorted(records, key=lambda r: (r['gce_zone'], r['gce_name']))


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = 'gcli.offload.gce_workers'

    def verify_file(self, path):
        if not super().verify_file(path):
            return False
        base = to_text(path).replace('\\', '/').rsplit('/', 1)[-1]
        return base in CONFIG_NAMES or base.endswith(CONFIG_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._check_booleans(self._read_config_data(path))
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option('cache') and cache
        update_cache = self.get_option('cache') and not cache
        records = None
        if use_cache:
            try:
                records = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if records is None:
            records = self._fetch()
        if update_cache:
            self._cache[cache_key] = records
        self._populate(records)

    def _check_booleans(self, config):
        """Ansible reads an inventory file's boolean options leniently ('maybe' is false):
        refuse what the collection's rule (validate_bool) does not take, before any request."""
        definitions = C.config.get_configuration_definitions('inventory', self._load_name) or {}
        for name, definition in sorted(definitions.items()):
            if definition.get('type') in ('bool', 'boolean') and name in (config or {}):
                try:
                    validate_bool(config[name], name)
                except InputError as exc:
                    raise AnsibleParserError('gce_workers: %s' % exc) from None

    def _api_params(self):
        params = {k: self.get_option(k) for k in (
            'project', 'auth_kind', 'service_account_file', 'service_account_contents', 'service_account_email',
            'access_token', 'scopes', 'api_endpoint', 'request_retries')}
        params.update(timeout=600, retry_initial_delay=1.0, retry_max_delay=30.0)
        return params

    def _fetch(self):
        if COMPUTE_IMPORT_ERROR:
            raise AnsibleParserError('gce_workers needs the Python library google-cloud-compute '
                                     '(pip install google-cloud-compute)')
        zones = self.get_option('zones') or []
        try:
            for zone in zones:
                validate_zone(zone, 'zones')
        except InputError as exc:
            raise AnsibleParserError('gce_workers: %s' % exc) from None
        statuses = [s.upper() for s in self.get_option('statuses') or []]
        labels = self.get_option('labels') or {}
        try:
            api = ComputeApi(self._api_params())
            instances = self._list(api, zones)
        except GcpError as exc:
            raise AnsibleParserError('gce_workers: %s' % exc)
        return workers(instances, api.project, labels, statuses)

    def _list(self, api, zones):
        client = api.client('instances')
        project = api.project
        as_dict = api.types.Instance.to_dict
        found = []
        if zones:
            for zone in zones:
                found += api.call(
                    lambda: [as_dict(i, preserving_proto_field_name=False)
                             for i in client.list(project=project, zone=zone, timeout=api.request_timeout)],
                    'list instances in %s of project %s' % (zone, project))
            return found
        request = api.types.AggregatedListInstancesRequest(project=project)
        pages = api.call(
            lambda: [(scope, [as_dict(i, preserving_proto_field_name=False) for i in scoped.instances])
                     for scope, scoped in client.aggregated_list(request=request, timeout=api.request_timeout)],
            'list instances of project %s' % project)
        for scope, items in pages:
            found += items
        return found

    def _populate(self, records):
        group = self.get_option('group')
        stopped = group + STOPPED_SUFFIX
        self.inventory.add_group(group)
        self.inventory.add_group(stopped)
        address = self.get_option('address')
        strict = self.get_option('strict')
        for name, record in zip(host_names(records), records):
            self.inventory.add_host(name, group=worker_group(record, group))
            for key, value in record.items():
                self.inventory.set_variable(name, key, value)
            # the docker config the worker's boot unit writes (registry credentials): the collection's
            # docker commands on the worker use it (a compose entry may set another)
            self.inventory.set_variable(name, 'offload_docker_config', DOCKER_CONFIG_DIR)
            # a COS worker pulls its maintainer image's tag, refreshed when it moved (no job running)
            self.inventory.set_variable(name, 'offload_maintainer_refresh', True)
            host = choose_address(record, address)
            if host:
                self.inventory.set_variable(name, 'ansible_host', host)
            if self.get_option('iap_tunnel'):
                self.inventory.set_variable(name, 'ansible_ssh_common_args',
                                            iap_ssh_args(record, self.get_option('gcloud_bin')))
            hostvars = dict(record, ansible_host=host)
            self._set_composite_vars(self.get_option('compose'), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), hostvars, name, strict=strict)
