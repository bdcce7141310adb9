# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SSH firewall rule: validation, the comparable form, the plan, and its execution.

One source of truth for compute_firewall (a thin module over `converge`) and for the
controller-side checks of provision.yml (worker_vm_spec), which refuse a bad rule
before the first request. Only `converge` (and what it calls) sends requests.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.gcli.offload.plugins.module_utils._gce_names import NAME_RE, NAME_RULE, basename
from ansible_collections.gcli.offload.plugins.module_utils._gcp_client import compute_types
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import GcpApiError
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError, option_names, shown

MAX_DESCRIPTION = 2048
PORT_RE = re.compile(r'^([0-9]{1,5})(?:-([0-9]{1,5}))?\Z')
# Fields that a rule of ours never has: any of them set would widen (or change) what the rule lets in.
FOREIGN_FIELDS = ('source_tags', 'source_service_accounts', 'target_service_accounts', 'destination_ranges', 'denied')


def normalize_ranges(ranges, allow_any_source, variables=None):
    """Sorted canonical CIDR strings; refuses invalid ranges and, unless allowed, a /0.

    variables: option -> the name the user gave it (_inputs.option_names), here and below.
    """
    var = option_names(variables)
    if not ranges:
        raise InputError(var('source_ranges'), 'give at least one range (the IAP range is 35.235.240.0/20)')
    out = set()
    nets = []
    for value in ranges:
        try:
            net = ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            raise InputError(var('source_ranges'), '%s is not an IP range such as 35.235.240.0/20'
                             % shown(value)) from None
        nets.append(net)
        out.add(str(net))
    if not allow_any_source:
        # Together the ranges may cover every address (0.0.0.0/1 + 128.0.0.0/1, ::/1 + 8000::/1):
        # merged, they are a /0 as surely as 0.0.0.0/0 itself.
        for version in (4, 6):
            merged = list(ipaddress.collapse_addresses(n for n in nets if n.version == version))
            if any(n.prefixlen == 0 for n in merged):
                given = ' + '.join(str(n) for n in sorted(n for n in nets if n.version == version))
                raise InputError(var('source_ranges'), (
                    '%s opens the port to the whole Internet (together: %s); SSH goes through the '
                    'IAP range 35.235.240.0/20. Set %s=true to force it.'
                    % (shown(given, 120), merged[0], var('allow_any_source'))))
    return sorted(out, key=_range_key)


def _range_key(text):
    net = ipaddress.ip_network(text)
    return (net.version, int(net.network_address), net.prefixlen)


def normalize_ports(ports, variables=None):
    var = option_names(variables)
    if not ports:
        raise InputError(var('ports'), 'give at least one TCP port (22 for SSH)')
    out = set()
    for value in ports:
        text = str(value).strip()
        match = PORT_RE.match(text)
        low = int(match.group(1)) if match else 0
        high = int(match.group(2)) if match and match.group(2) else low
        if not match or not 1 <= low <= high <= 65535:
            raise InputError(var('ports'), '%s is not a TCP port (1-65535) or range such as 8000-8010' % shown(value))
        out.add(text if low != high else str(low))
    return sorted(out, key=lambda p: [int(x) for x in p.split('-')])


def check_name(name, variable='name'):
    """The rule's name (also for state=absent: it goes into the request's URL)."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError(variable, '%s is not a valid rule name (%s)' % (shown(name), NAME_RULE))
    return name


def desired_rule(params, variables=None):
    """The rule the options describe, in the comparable form of current_rule(); raises InputError
    naming the option, or its name in `variables` (option -> variable, _inputs.option_names)."""
    var = option_names(variables)
    name = check_name(params['name'], var('name'))
    network = basename(params['network'])
    if not NAME_RE.match(network):
        raise InputError(var('network'), '%s is not a network name or URL' % shown(params['network']))
    tags = sorted(set(params['target_tags'] or []))
    for tag in tags:
        if not NAME_RE.match(tag):
            raise InputError(var('target_tags'), '%s is not a valid network tag' % shown(tag))
    if not tags and not params['allow_all_instances']:
        raise InputError(var('target_tags'), 'empty would apply the rule to every instance of network %s; give '
                                             'the workers\' tags, or set %s=true' % (network, var('allow_all_instances')))
    priority = params['priority']
    if not 0 <= priority <= 65535:
        raise InputError(var('priority'), '%s is not between 0 and 65535' % shown(priority))
    if len(params['description'] or '') > MAX_DESCRIPTION:
        raise InputError(var('description'), '%d characters, the API takes %d at most'
                         % (len(params['description']), MAX_DESCRIPTION))
    return {
        'name': name,
        'network': network,
        'direction': 'INGRESS',
        'source_ranges': normalize_ranges(params['source_ranges'], params['allow_any_source'], variables),
        'ports': normalize_ports(params['ports'], variables),
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
        'network': basename(firewall.network),
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


def rule_view(rule):
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


def validate(params):
    """compute_firewall's options checked: the desired rule (None for state=absent), or InputError."""
    want = desired_rule(params) if params['state'] == 'present' else None
    check_name(params['name'])
    return want


def read_rule(api, firewalls, name, where):
    """The rule `name` of api.project as current_rule() gives it, or None when there is none."""
    try:
        found = api.call(lambda: firewalls.get(project=api.project, firewall=name, timeout=api.request_timeout),
                         'get ' + where)
    except GcpApiError as exc:
        if exc.code == 404:
            return None
        raise
    return current_rule(found)


def converge(api, params, check_mode=False, diff=False):
    """Bring the rule `params` describes (compute_firewall's options) about through `api`
    (a _gcp_client.ComputeApi); the module's result. Validates first: InputError before any
    request; GcpApiError/GcpAuthError from the API."""
    want = validate(params)
    name = params['name']
    project = api.project
    where = 'firewall rule %s of project %s' % (name, project)
    firewalls = api.client('firewalls')

    def get():
        return read_rule(api, firewalls, name, where)

    def request(verb, what, **kwargs):
        method = getattr(firewalls, verb + '_unary')
        operation = api.call(lambda: method(project=project, timeout=api.request_timeout, **kwargs), what)
        api.wait(operation, what)

    have = get()
    if want is None:
        operation = 'delete' if have else 'none'
        after = None
        if have and not check_mode:
            request('delete', 'delete ' + where, firewall=name)
    else:
        operation = plan(want, have)
        after = dict(want, self_link=have['self_link'] if have else None)
        if operation != 'none' and not check_mode:
            resource = firewall_resource(want, project, api.types)
            if operation == 'update':
                request('update', 'update ' + where, firewall=name, firewall_resource=resource)
            else:
                if operation == 'recreate':
                    request('delete', 'delete %s (to move it to network %s)' % (where, want['network']),
                            firewall=name)
                request('insert', 'create ' + where, firewall_resource=resource)
            after = get()
    changed = operation != 'none'
    result = {'changed': changed, 'operation': operation, 'firewall': rule_view(after)}
    if diff and changed:
        result['diff'] = {'before': rule_view(have), 'after': rule_view(after),
                          'before_header': 'firewall rule %s' % name, 'after_header': 'firewall rule %s' % name}
    return result


# -- the default network's SSH rule ------------------------------------------------------------------------------

DEFAULT_SSH_RULE = 'default-allow-ssh'


def _opens_ssh(rule):
    """Does the rule (current_rule's form) let TCP port 22 in from every address?"""
    if rule['disabled'] or rule['direction'] != 'INGRESS' or 'denied' in rule['foreign']:
        return False
    if not _world(rule['source_ranges']):
        return False
    if any(f in ('allowed all (all ports)', 'allowed tcp (all ports)') for f in rule['foreign']):
        return True
    for port in rule['ports']:
        low, _sep, high = port.partition('-')
        if low.isdigit() and int(low) <= 22 <= int(high or low):
            return True
    return False


def _world(ranges):
    """The ranges (or the parts of them that together cover every address) open to the whole Internet."""
    nets = [ipaddress.ip_network(r, strict=False) for r in ranges if _is_range(r)]
    out = []
    for version in (4, 6):
        if any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(n for n in nets if n.version == version)):
            out += sorted(str(n) for n in nets if n.version == version)
    return out


def _is_range(text):
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def validate_default_ssh(params):
    """default_ssh_rule's options checked: (rule name, network, target tags, the ranges to restrict to)."""
    name = check_name(params['name'])
    network = basename(params['network'])
    if not NAME_RE.match(network):
        raise InputError('network', '%s is not a network name or URL' % shown(params['network']))
    tags = sorted(set(params['target_tags'] or []))
    for tag in tags:
        if not NAME_RE.match(tag):
            raise InputError('target_tags', '%s is not a valid network tag' % shown(tag))
    ranges = normalize_ranges(params['source_ranges'], False)
    return name, network, tags, ranges


def converge_default_ssh(api, params, check_mode=False, diff=False):
    """Report (and with params['restrict'], restrict) the default network's SSH rule when it lets
    port 22 in from the whole Internet to the workers; default_ssh_rule's result.

    Restricting keeps the rule (its name, priority and targets, which other instances of the
    project may rely on) and sets its sources to params['source_ranges'] (the IAP range), so
    SSH through IAP still reaches every instance of the network, and nothing else does.
    """
    name, network, tags, ranges = validate_default_ssh(params)
    project = api.project
    where = 'firewall rule %s of project %s' % (name, project)
    firewalls = api.client('firewalls')

    def get():
        return read_rule(api, firewalls, name, where)

    have = get()
    result = {'changed': False, 'state': 'absent', 'firewall': rule_view(have), 'warning': None}
    if have is None:
        return result
    applies = have['network'] == network and (not have['target_tags'] or set(have['target_tags']) & set(tags))
    if not applies or not _opens_ssh(have):
        result['state'] = 'closed'
        return result
    opened = ' + '.join(_world(have['source_ranges']))
    if not params['restrict']:
        result['state'] = 'open'
        result['warning'] = (
            '%s lets SSH (tcp:22) in from the whole Internet (%s) to %s of network %s, the worker included: '
            'the IAP-only rule does not close it. Restrict it to %s with -e offload_restrict_default_ssh=true '
            '(option restrict=true), or delete it (gcloud compute firewall-rules delete %s --project %s) '
            'if nothing else needs it.' % (where, opened, 'the instances tagged %s' % ', '.join(have['target_tags'])
                                           if have['target_tags'] else 'every instance', network,
                                           ', '.join(ranges), name, project))
        return result
    after = dict(have, source_ranges=ranges)
    if not check_mode:
        what = 'restrict %s to %s' % (where, ', '.join(ranges))
        resource = api.types.Firewall(source_ranges=ranges)
        operation = api.call(lambda: firewalls.patch_unary(project=project, firewall=name, firewall_resource=resource,
                                                           timeout=api.request_timeout), what)
        api.wait(operation, what)
        after = get()
    result.update(changed=True, state='restricted', firewall=rule_view(after))
    if diff:
        result['diff'] = {'before': rule_view(have), 'after': rule_view(after),
                          'before_header': 'firewall rule %s' % name, 'after_header': 'firewall rule %s' % name}
    return result
