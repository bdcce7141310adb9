#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: compute_firewall
short_description: Ensure a Compute Engine firewall rule that lets TCP (SSH) in from given ranges only
version_added: 0.1.0
description:
  - Ensures an C(INGRESS) allow rule for TCP ports (SSH, port 22, by default) from O(source_ranges) to the
    instances carrying O(target_tags). By default the only source is Google's IAP TCP-forwarding range
    C(35.235.240.0/20), so SSH reaches the worker through C(gcloud compute start-iap-tunnel) and nothing else.
  - Refuses a source range open to the whole Internet (C(0.0.0.0/0), C(::/0)) unless O(allow_any_source=true).
  - A rule that differs (ranges, ports, tags, priority, description, or extra sources such as source tags that
    would widen it) is replaced in full with the C(update) call, so nothing of the old rule survives; a rule on
    another network is deleted and created again (Compute Engine cannot move a rule).
  - A converged run makes no mutating call and reports C(changed=false).
options:
  name:
    description: The rule's name.
    type: str
    required: true
  network:
    description: The VPC network, a name or a (partial) URL such as C(projects/P/global/networks/N).
    type: str
    default: default
  source_ranges:
    description: The source CIDR ranges allowed in.
    type: list
    elements: str
    default: [35.235.240.0/20]
  allow_any_source:
    description: Allow a range of the whole Internet (prefix length 0) in O(source_ranges).
    type: bool
    default: false
  ports:
    description: The TCP ports (or ranges such as C(8000-8010)) allowed in.
    type: list
    elements: str
    default: ['22']
  target_tags:
    description:
      - The network tags of the instances the rule applies to. Empty applies it to every instance of the
        network, which is refused unless O(allow_all_instances=true).
    type: list
    elements: str
    default: []
  allow_all_instances:
    description: Allow an empty O(target_tags) (a rule for every instance of the network).
    type: bool
    default: false
  priority:
    description: The rule's priority, 0 (first) to 65535.
    type: int
    default: 1000
  description:
    description: The rule's description.
    type: str
    default: SSH to gcli.offload workers (managed by gcli.offload)
  state:
    description: V(present) ensures the rule as described; V(absent) deletes it.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - gcli.offload.gcp
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
requirements:
  - google-auth
  - google-cloud-compute
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: SSH to the offload workers from the IAP range only
  gcli.offload.compute_firewall:
    name: gcli-offload-ssh-from-iap
    project: my-project
    target_tags: [gcli-offload-ssh]

- name: Delete the rule
  gcli.offload.compute_firewall:
    name: gcli-offload-ssh-from-iap
    project: my-project
    state: absent
'''

RETURN = r'''
firewall:
  description: The rule as it is (or would be, in check mode) after the task; empty after O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: The rule's name.
      type: str
      sample: gcli-offload-ssh-from-iap
    network:
      description: The network's name.
      type: str
      sample: default
    source_ranges:
      description: Source ranges, sorted.
      type: list
      elements: str
      sample: [35.235.240.0/20]
    ports:
      description: Allowed TCP ports, sorted.
      type: list
      elements: str
      sample: ['22']
    target_tags:
      description: Target tags, sorted.
      type: list
      elements: str
      sample: [gcli-offload-ssh]
    priority:
      description: The priority.
      type: int
      sample: 1000
    self_link:
      description: The rule's URL (not known in check mode before creation).
      type: str
      sample: https://www.googleapis.com/compute/v1/projects/p/global/firewalls/gcli-offload-ssh-from-iap
operation:
  description: What was done (or would be, in check mode).
  returned: always
  type: str
  choices: [none, create, update, recreate, delete]
  sample: none
'''

import ipaddress
import re

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import gcp_argument_spec
from ansible_collections.gcli.offload.plugins.module_utils._gcp_client import (
    COMPUTE_IMPORT_ERROR,
    ComputeApi,
    GcpError,
    compute_types,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import GcpApiError
from ansible_collections.gcli.offload.plugins.module_utils._jobs import _shown

NAME_RE = re.compile(r'^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$')
MAX_DESCRIPTION = 2048
PORT_RE = re.compile(r'^([0-9]{1,5})(?:-([0-9]{1,5}))?$')
# Fields that a rule of ours never has: any of them set would widen (or change) what the rule lets in.
FOREIGN_FIELDS = ('source_tags', 'source_service_accounts', 'target_service_accounts', 'destination_ranges', 'denied')


class FirewallInputError(ValueError):
    pass


def _basename(value):
    return (value or '').rstrip('/').rsplit('/', 1)[-1]


def normalize_ranges(ranges, allow_any_source):
    """Sorted canonical CIDR strings; refuses invalid ranges and, unless allowed, a /0."""
    if not ranges:
        raise FirewallInputError('source_ranges: give at least one range (the IAP range is 35.235.240.0/20)')
    out = set()
    for value in ranges:
        try:
            net = ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            raise FirewallInputError('source_ranges: %r is not an IP range such as 35.235.240.0/20' % (value,))
        if net.prefixlen == 0 and not allow_any_source:
            raise FirewallInputError(
                'source_ranges: %s opens the port to the whole Internet; SSH goes through the IAP range '
                '35.235.240.0/20. Set allow_any_source=true to force it.' % net)
        out.add(str(net))
    return sorted(out, key=_range_key)


def _range_key(text):
    net = ipaddress.ip_network(text)
    return (net.version, int(net.network_address), net.prefixlen)


def normalize_ports(ports):
    if not ports:
        raise FirewallInputError('ports: give at least one TCP port (22 for SSH)')
    out = set()
    for value in ports:
        text = str(value).strip()
        match = PORT_RE.match(text)
        low = int(match.group(1)) if match else 0
        high = int(match.group(2)) if match and match.group(2) else low
        if not match or not 1 <= low <= high <= 65535:
            raise FirewallInputError('ports: %r is not a TCP port (1-65535) or range such as 8000-8010' % (value,))
        out.add(text if low != high else str(low))
    return sorted(out, key=lambda p: [int(x) for x in p.split('-')])


def check_name(name):
    """The rule's name (also for state=absent: it goes into the request's URL)."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise FirewallInputError('name: %s is not a valid rule name (lower-case letters, digits and -, starting '
                                 'with a letter, at most 63 characters)' % _shown(name))
    return name


def desired_rule(params):
    """The rule the options describe, in the comparable form of current_rule(); raises FirewallInputError."""
    name = check_name(params['name'])
    network = _basename(params['network'])
    if not NAME_RE.match(network):
        raise FirewallInputError('network: %r is not a network name or URL' % (params['network'],))
    tags = sorted(set(params['target_tags'] or []))
    for tag in tags:
        if not NAME_RE.match(tag):
            raise FirewallInputError('target_tags: %r is not a valid network tag' % (tag,))
    if not tags and not params['allow_all_instances']:
        raise FirewallInputError('target_tags: empty would apply the rule to every instance of network %s; give '
                                 'the workers\' tags, or set allow_all_instances=true' % network)
    priority = params['priority']
    if not 0 <= priority <= 65535:
        raise FirewallInputError('priority: %r is not between 0 and 65535' % (priority,))
    if len(params['description'] or '') > MAX_DESCRIPTION:
        raise FirewallInputError('description: %d characters, the API takes %d at most'
                                 % (len(params['description']), MAX_DESCRIPTION))
    return {
        'name': name,
        'network': network,
        'direction': 'INGRESS',
        'source_ranges': normalize_ranges(params['source_ranges'], params['allow_any_source']),
        'ports': normalize_ports(params['ports']),
        'target_tags': tags,
        'priority': priority,
        'description': params['description'] or '',
        'disabled': False,
        'foreign': [],
    }


def current_rule(firewall):
    """A compute_v1.Firewall in the comparable form (see desired_rule), plus its self link."""
    allowed = list(firewall.allowed or [])
    ports = set()
    foreign = [f for f in FOREIGN_FIELDS if list(getattr(firewall, f, None) or [])]
    for entry in allowed:
        if (entry.I_p_protocol or '').lower() != 'tcp' or not list(entry.ports or []):
            foreign.append('allowed %s%s' % (entry.I_p_protocol or 'all', '' if list(entry.ports or []) else
                                             ' (all ports)'))
            continue
        ports.update(entry.ports)
    try:
        ranges = sorted({str(ipaddress.ip_network(r, strict=False)) for r in firewall.source_ranges or []},
                        key=_range_key)
    except ValueError:
        ranges = sorted(firewall.source_ranges or [])
    return {
        'name': firewall.name,
        'network': _basename(firewall.network),
        'direction': firewall.direction or 'INGRESS',
        'source_ranges': ranges,
        'ports': sorted(ports, key=lambda p: [int(x) for x in p.split('-') if x.isdigit()] or [0]),
        'target_tags': sorted(set(firewall.target_tags or [])),
        'priority': firewall.priority,
        'description': firewall.description or '',
        'disabled': bool(firewall.disabled),
        'foreign': sorted(foreign),
        'self_link': firewall.self_link or None,
    }


def plan(want, have):
    """'none', 'create', 'update' or 'recreate' to go from `have` (or None) to `want`."""
    if have is None:
        return 'create'
    if have['network'] != want['network'] or have['direction'] != want['direction']:
        return 'recreate'
    keys = [k for k in want if k not in ('name', 'network', 'direction')]
    if any(have[k] != want[k] for k in keys):
        return 'update'
    return 'none'


def shown(rule):
    """The rule as returned to the user (and shown in a diff)."""
    if rule is None:
        return {}
    out = {k: rule[k] for k in ('name', 'network', 'source_ranges', 'ports', 'target_tags', 'priority',
                                'description', 'disabled')}
    if rule.get('foreign'):
        out['other_settings'] = rule['foreign']
    out['self_link'] = rule.get('self_link')
    return out


def firewall_resource(want, project, compute=None):
    """The compute_v1.Firewall to send; `compute` is the compute_v1 types module (api.types)."""
    compute = compute or compute_types()
    return compute.Firewall(
        name=want['name'],
        network='projects/%s/global/networks/%s' % (project, want['network']),
        direction='INGRESS',
        priority=want['priority'],
        description=want['description'],
        source_ranges=want['source_ranges'],
        target_tags=want['target_tags'],
        allowed=[compute.Allowed(I_p_protocol='tcp', ports=want['ports'])],
        disabled=False,
    )


def main():
    argument_spec = gcp_argument_spec()
    argument_spec.update(
        name=dict(type='str', required=True),
        network=dict(type='str', default='default'),
        source_ranges=dict(type='list', elements='str', default=['35.235.240.0/20']),
        allow_any_source=dict(type='bool', default=False),
        ports=dict(type='list', elements='str', default=['22']),
        target_tags=dict(type='list', elements='str', default=[]),
        allow_all_instances=dict(type='bool', default=False),
        priority=dict(type='int', default=1000),
        description=dict(type='str', default='SSH to gcli.offload workers (managed by gcli.offload)'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if COMPUTE_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('google-cloud-compute'), exception=COMPUTE_IMPORT_ERROR)
    params = module.params
    name = params['name']
    try:
        want = desired_rule(params) if params['state'] == 'present' else None
        check_name(name)
    except FirewallInputError as exc:
        module.fail_json(msg='invalid firewall rule %s: %s (nothing was changed)' % (name, exc))

    try:
        api = ComputeApi(params)
        project = api.project
        where = 'firewall rule %s of project %s' % (name, project)
        firewalls = api.client('firewalls')
        have = _get(api, firewalls, name, where)

        if params['state'] == 'absent':
            operation = 'delete' if have else 'none'
            after = None
            if have and not module.check_mode:
                _delete(api, firewalls, name, where)
        else:
            operation = plan(want, have)
            after = dict(want, self_link=have['self_link'] if have else None)
            if operation != 'none' and not module.check_mode:
                resource = firewall_resource(want, project, api.types)
                if operation == 'create':
                    op = api.call(lambda: firewalls.insert_unary(project=project, firewall_resource=resource,
                                                                 timeout=api.request_timeout), 'create ' + where)
                    api.wait(op, 'create ' + where)
                elif operation == 'update':
                    op = api.call(lambda: firewalls.update_unary(project=project, firewall=name,
                                                                 firewall_resource=resource,
                                                                 timeout=api.request_timeout), 'update ' + where)
                    api.wait(op, 'update ' + where)
                else:
                    _delete(api, firewalls, name, where + ' (to move it to network %s)' % want['network'])
                    op = api.call(lambda: firewalls.insert_unary(project=project, firewall_resource=resource,
                                                                 timeout=api.request_timeout), 'create ' + where)
                    api.wait(op, 'create ' + where)
                after = _get(api, firewalls, name, where)
    except GcpError as exc:
        module.fail_json(msg=str(exc))

    changed = operation != 'none'
    result = {'changed': changed, 'operation': operation, 'firewall': shown(after)}
    if module._diff and changed:
        result['diff'] = {'before': shown(have), 'after': shown(after),
                          'before_header': 'firewall rule %s' % name, 'after_header': 'firewall rule %s' % name}
    module.exit_json(**result)


def _get(api, firewalls, name, where):
    try:
        found = api.call(lambda: firewalls.get(project=api.project, firewall=name, timeout=api.request_timeout),
                         'get ' + where)
    except GcpApiError as exc:
        if exc.code == 404:
            return None
        raise
    return current_rule(found)


def _delete(api, firewalls, name, where):
    op = api.call(lambda: firewalls.delete_unary(project=api.project, firewall=name, timeout=api.request_timeout),
                  'delete ' + where)
    api.wait(op, 'delete ' + where)


if __name__ == '__main__':
    main()
