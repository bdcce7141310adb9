# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SSH firewall rule's rules: validation, the comparable form, the plan.

One source of truth for compute_firewall (which applies them) and for the
controller-side checks of provision.yml (worker_vm_spec), which refuse a bad
rule before the first request. Nothing here sends a request.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.gcli.offload.plugins.module_utils._cloud_init import _GCE_NAME_RE as GCE_NAME_RE
from ansible_collections.gcli.offload.plugins.module_utils._gcp_client import compute_types
from ansible_collections.gcli.offload.plugins.module_utils._jobs import _shown

# A rule, network or tag name: a Compute Engine name, the one rule for those.
NAME_RE = GCE_NAME_RE
MAX_DESCRIPTION = 2048
PORT_RE = re.compile(r'^([0-9]{1,5})(?:-([0-9]{1,5}))?\Z')
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
    nets = []
    for value in ranges:
        try:
            net = ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            raise FirewallInputError('source_ranges: %s is not an IP range such as 35.235.240.0/20' % _shown(value))
        nets.append(net)
        out.add(str(net))
    if not allow_any_source:
        # Together the ranges may cover every address (0.0.0.0/1 + 128.0.0.0/1, ::/1 + 8000::/1):
        # merged, they are a /0 as surely as 0.0.0.0/0 itself.
        for version in (4, 6):
            merged = list(ipaddress.collapse_addresses(n for n in nets if n.version == version))
            if any(n.prefixlen == 0 for n in merged):
                given = ' + '.join(str(n) for n in sorted(n for n in nets if n.version == version))
                raise FirewallInputError(
                    'source_ranges: %s opens the port to the whole Internet (together: %s); SSH goes through the '
                    'IAP range 35.235.240.0/20. Set allow_any_source=true to force it.'
                    % (_shown(given, 120), merged[0]))
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
            raise FirewallInputError('ports: %s is not a TCP port (1-65535) or range such as 8000-8010' % _shown(value))
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
        raise FirewallInputError('network: %s is not a network name or URL' % _shown(params['network']))
    tags = sorted(set(params['target_tags'] or []))
    for tag in tags:
        if not NAME_RE.match(tag):
            raise FirewallInputError('target_tags: %s is not a valid network tag' % _shown(tag))
    if not tags and not params['allow_all_instances']:
        raise FirewallInputError('target_tags: empty would apply the rule to every instance of network %s; give '
                                 'the workers\' tags, or set allow_all_instances=true' % network)
    priority = params['priority']
    if not 0 <= priority <= 65535:
        raise FirewallInputError('priority: %s is not between 0 and 65535' % _shown(priority))
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
