# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters the worker playbooks apply to their inputs before a play starts.

worker_hosts checks a play's `hosts` against the inventory's groups, so that a
play that would match no host (no inventory, or a group that the gce_workers
plugin left empty because the VM stopped itself) fails saying what is missing,
instead of Ansible's "no hosts matched" and exit code 0. It runs while the play's
`hosts` is templated: no extra play, no task, nothing sent to the worker.

strict_bool reads a playbook's boolean variable (an extra var is a string) by the
collection's one rule, and refuses what is not a boolean instead of reading it as
false.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError, _shown, validate_bool

DEFAULT_GROUP = 'offload_workers'
# Where the gce_workers inventory plugin puts the workers that do not run (<group>_stopped).
STOPPED_SUFFIX = '_stopped'
# Names Ansible's implicit localhost answers to (a play can target it with no inventory).
LOCALHOST = ('localhost', '127.0.0.1', '::1')
# A host or group name (nothing Ansible's host patterns treat specially), optionally with
# one subscript: what the playbooks' `hosts` takes (offload_workers[0], -e offload_worker=NAME).
# Anything else (wildcards, unions, exclusions, ranges, IPv6) is a host pattern, left to Ansible.
_TARGET_RE = re.compile(r'^([^\s,:&!*?~\[\]]+)(?:\[(-?[0-9]{1,9})\])?\Z')
NAME_ONE = 'name a host of your inventory with -e offload_worker=HOST'


def _listed(names, limit=10):
    names = sorted(names)
    shown = ', '.join(_shown(n, 40) for n in names[:limit])
    return shown + (' and %d more' % (len(names) - limit) if len(names) > limit else '') if names else 'none'


def _missing(why):
    return AnsibleFilterError('no worker to run on: %s' % why)


def worker_hosts(pattern, groups, variable='offload_worker'):
    """Return pattern (the play's hosts) unchanged when it names hosts of the inventory, else fail saying what is
    missing and how to define it. groups is the play's `groups` variable."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise AnsibleFilterError('%s must name the worker host or group, got %s' % (variable, _shown(pattern)))
    match = _TARGET_RE.match(pattern)
    if not match:
        return pattern
    name, index = match.group(1), match.group(2)
    groups = groups or {}
    everyone = groups.get('all') or []
    if name not in groups and name == DEFAULT_GROUP:
        raise _missing(
            'the inventory has no group %s (%s). Define the group in an inventory and give it with -i or '
            'ansible.cfg\'s inventory (inventory/local.yml: this machine\'s Docker; inventory/gce.yml: the '
            'gcli.offload.gce_workers plugin), or %s'
            % (name, 'no inventory was found, or it is empty' if not everyone else 'its hosts: %s' % _listed(everyone),
               NAME_ONE))
    if name in groups:
        members = groups[name]
        stopped = groups.get(name + STOPPED_SUFFIX) or []
        if not members and name == DEFAULT_GROUP and stopped:
            raise _missing(
                'the group %s has no host: no worker VM runs. The gcli.offload.gce_workers inventory plugin found '
                '%s, which does not run (a worker stops itself when idle; group %s%s): re-run with '
                '-e offload_start_worker=true to start it, or start it with gcloud compute instances start'
                % (name, _listed(stopped), name, STOPPED_SUFFIX))
        if not members and name == DEFAULT_GROUP:
            raise _missing(
                'the group %s has no host. Filled by the gcli.offload.gce_workers inventory plugin (running workers '
                'in %s, the others in %s%s), it is empty when the project has no worker VM: create one with '
                'provision.yml and re-run. Otherwise add a host to the group, or %s'
                % (name, name, name, STOPPED_SUFFIX, NAME_ONE))
        if not members:
            raise _missing('%s is the group %s, which has no host: add one to it, or %s'
                           % (variable, _shown(name), NAME_ONE))
        if index is not None and not -len(members) <= int(index) < len(members):
            raise _missing('%s is %s, but the group %s has %d host(s)' % (variable, _shown(pattern), name,
                                                                          len(members)))
        return pattern
    if index is None and (name in everyone or name in LOCALHOST):
        return pattern
    raise _missing('%s is %s, neither a host nor a group of the inventory (its hosts: %s); add it to the inventory, '
                   'or %s' % (variable, _shown(pattern), _listed(everyone), NAME_ONE))


def strict_bool(value, variable):
    """value as a bool by the collection's rule (validate_bool), or fail naming the variable."""
    try:
        return validate_bool(value, variable)
    except JobInputError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {'worker_hosts': worker_hosts, 'strict_bool': strict_bool}
