# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Worker VMs and disks that the collection labelled but no inventory knows (a provision that
failed half-way, a worker torn down by hand, a data disk left behind), and their removal.

`orphans` is pure (the rules, tested without Google); `converge` lists, decides and deletes
through a _gcp_client.ComputeApi. Live work is never removed: a VM that is not stopped may run
a job nobody can see (the inventory cannot reach it), so it is only reported unless forced; a
VM or disk younger than the grace period may be a provision still under way; a disk attached
to anything is in use.
"""

from __future__ import annotations

import datetime

from ansible_collections.gcli.offload.plugins.module_utils._gce_names import (
    NAME_RE,
    basename,
    validate_labels,
    validate_zone,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import GcpApiError
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError, shown

# Statuses in which a VM runs nothing (Compute Engine's TERMINATED is "stopped").
STOPPED = ('TERMINATED', 'STOPPED', 'SUSPENDED')
MAX_GRACE = 365 * 24 * 3600


def parse_time(value):
    """A Compute Engine RFC 3339 timestamp (with offset) -> epoch seconds, or None."""
    try:
        return datetime.datetime.fromisoformat(str(value).replace('Z', '+00:00')).timestamp()
    except (TypeError, ValueError):
        return None


def validate(params):
    """The options checked: (labels, known worker names, zones, grace seconds, force)."""
    labels = validate_labels(params['labels'] or {}, 'labels')
    if not labels:
        raise InputError('labels', 'must name at least one label (the workers carry type=offload-worker): '
                                   'empty would take every VM and disk of the project')
    known = set()
    for name in params['known'] or []:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise InputError('known', '%s is not an instance name' % shown(name))
        known.add(name)
    zones = [validate_zone(z, 'zones') for z in params['zones'] or []]
    grace = params['grace']
    if not isinstance(grace, int) or not 0 <= grace <= MAX_GRACE:
        raise InputError('grace', '%s is not a number of seconds between 0 and %d' % (shown(grace), MAX_GRACE))
    return labels, known, zones, grace, bool(params['force'])


def _labelled(item, labels):
    have = item.get('labels') or {}
    return all(have.get(k) == v for k, v in labels.items())


def orphans(instances, disks, labels, known, now, grace, force=False):
    """Which labelled instances and disks (API-shaped dicts) no inventory knows, and what to do
    with each: a list of {'kind', 'name', 'zone', 'status', 'age', 'remove', 'why'}."""
    out = []
    known_disks = {name + '-data' for name in known}
    for inst in instances:
        if not _labelled(inst, labels) or inst.get('name') in known:
            continue
        age = _age(now, inst.get('creationTimestamp'))
        status = inst.get('status') or ''
        record = {'kind': 'instance', 'name': inst.get('name'), 'zone': basename(inst.get('zone')),
                  'status': status, 'age': age}
        if age is None or age < grace:
            record.update(remove=False, why='younger than the grace period (%d s): a provision may be under way'
                          % grace)
        elif status not in STOPPED and not force:
            record.update(remove=False, why='it is %s and no inventory reaches it: it may run a job. Stop it, or '
                                            'remove it anyway with force=true' % (status or 'not stopped'))
        else:
            record.update(remove=True, why='no inventory knows it' + (' (forced: it is %s)' % status
                                                                      if status not in STOPPED else ''))
        out.append(record)
    for disk in disks:
        if not _labelled(disk, labels) or disk.get('name') in known_disks:
            continue
        if disk.get('users'):
            continue  # attached: its instance decides (and a data disk outlives its instance on purpose)
        times = [parse_time(disk.get(k)) for k in ('creationTimestamp', 'lastDetachTimestamp')]
        newest = max([t for t in times if t is not None], default=None)
        age = int(now - newest) if newest is not None else None
        record = {'kind': 'disk', 'name': disk.get('name'), 'zone': basename(disk.get('zone')),
                  'status': 'unattached', 'age': age}
        if age is None or age < grace:
            record.update(remove=False, why='created or detached less than the grace period (%d s) ago' % grace)
        else:
            record.update(remove=True, why='unattached, and no inventory knows a worker it belongs to')
        out.append(record)
    return sorted(out, key=lambda r: (r['kind'], r['zone'] or '', r['name'] or ''))


def _age(now, stamp):
    when = parse_time(stamp)
    return int(now - when) if when is not None else None


def _list(api, kind, zones):
    """Every instance or disk of the project (in `zones`, else in every zone), as API-shaped dicts."""
    client = api.client(kind)
    project = api.project
    to_dict = (api.types.Instance if kind == 'instances' else api.types.Disk).to_dict
    out = []
    if zones:
        for zone in zones:
            out += api.call(lambda: [to_dict(i, preserving_proto_field_name=False)
                                     for i in client.list(project=project, zone=zone, timeout=api.request_timeout)],
                            'list %s in %s of project %s' % (kind, zone, project))
        return out
    request = (api.types.AggregatedListInstancesRequest if kind == 'instances'
               else api.types.AggregatedListDisksRequest)(project=project)
    pages = api.call(lambda: [[to_dict(i, preserving_proto_field_name=False) for i in getattr(scoped, kind)]
                              for _scope, scoped in client.aggregated_list(request=request,
                                                                           timeout=api.request_timeout)],
                     'list %s of project %s' % (kind, project))
    for items in pages:
        out += items
    return out


def converge(api, params, check_mode=False, diff=False, now=None):
    """List the labelled VMs and disks, decide (orphans), and delete what is to be removed when
    params['remove'] (and not in check mode); the module's result."""
    labels, known, zones, grace, force = validate(params)
    now = datetime.datetime.now(datetime.timezone.utc).timestamp() if now is None else now
    found = orphans(_list(api, 'instances', zones), _list(api, 'disks', zones), labels, known, now, grace, force)
    removed = []
    if params['remove']:
        # (a deleted instance's data disk is detached now: a later run removes it after the grace)
        for record in [r for r in found if r['remove']]:
            if not check_mode:
                _delete(api, record)
            removed.append(record)
    result = {'changed': bool(removed), 'orphans': found, 'removed': ['%s %s (%s)' % (r['kind'], r['name'], r['zone'])
                                                                      for r in removed],
              'kept': ['%s %s (%s): %s' % (r['kind'], r['name'], r['zone'], r['why'])
                       for r in found if not r['remove'] or not params['remove']]}
    if diff and removed:
        result['diff'] = {'before': '\n'.join(sorted('%s %s (%s)' % (r['kind'], r['name'], r['zone'])
                                                     for r in found)) + '\n',
                          'after': '\n'.join(sorted('%s %s (%s)' % (r['kind'], r['name'], r['zone'])
                                                    for r in found if r not in removed)) + '\n',
                          'before_header': 'orphan workers and disks', 'after_header': 'orphan workers and disks'}
    return result


def _delete(api, record):
    kind = 'instances' if record['kind'] == 'instance' else 'disks'
    client = api.client(kind)
    what = 'delete %s %s in %s of project %s' % (record['kind'], record['name'], record['zone'], api.project)
    arg = {'instance' if kind == 'instances' else 'disk': record['name']}
    try:
        operation = api.call(lambda: client.delete_unary(project=api.project, zone=record['zone'],
                                                         timeout=api.request_timeout, **arg), what)
    except GcpApiError as exc:
        if exc.code == 404:  # gone already (another run, by hand)
            return
        raise
    api.wait(operation, what)
