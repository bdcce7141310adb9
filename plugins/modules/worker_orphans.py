#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: worker_orphans
short_description: List, and remove, the worker VMs and disks of a project that no inventory knows
version_added: 0.1.0
description:
  - Lists the Compute Engine instances and disks carrying all the O(labels) (C(cos_instance) gives a worker and the
    disks it creates C(type=offload-worker)) whose name is not in O(known) (for a disk, whose name is not
    C(<known worker>-data)). That is what a provision that failed half-way, or a worker deleted by hand, leaves.
  - With O(remove=true) it deletes those that are safe to delete. It never deletes a VM or disk younger than
    O(grace) seconds (its age counts from C(creationTimestamp), for a disk also from C(lastDetachTimestamp)), since it may
    be a provision under way. It never deletes a disk attached to an instance. It never deletes a VM that is not
    stopped (C(TERMINATED), C(STOPPED) or C(SUSPENDED)) unless O(force=true), since no inventory reaches it and nobody can
    tell whether a job runs on it.
  - Deleting an instance keeps its data disk (it is not auto-deleted); a later run removes that disk once it has been
    detached for O(grace) seconds.
options:
  labels:
    description: The labels an instance or disk must all carry to be the collection's; empty is refused.
    type: dict
    default:
      type: offload-worker
  known:
    description: The worker instance names an inventory knows (kept, with their data disks C(<name>-data)).
    type: list
    elements: str
    default: []
  zones:
    description: The zones to look in; empty looks in every zone (aggregated lists).
    type: list
    elements: str
    default: []
  grace:
    description: Seconds a VM or disk must have existed (a disk, also been detached) before it is removed.
    type: int
    default: 3600
  remove:
    description: Delete the orphans that are safe to delete; V(false) only lists them.
    type: bool
    default: false
  force:
    description: Also delete an orphan VM that is not stopped (you assert it runs no job).
    type: bool
    default: false
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
- name: List the workers and disks no inventory knows
  gcli.offload.worker_orphans:
    project: my-project
    known: "{{ groups['offload_workers'] | default([]) }}"

- name: Remove them after an hour
  gcli.offload.worker_orphans:
    project: my-project
    known: [gcli-offload-alice]
    remove: true
'''

RETURN = r'''
orphans:
  description: The labelled instances and disks no inventory knows, and what is (or would be) done with each.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(instance) or V(disk).
      type: str
    name:
      description: Its name.
      type: str
    zone:
      description: Its zone.
      type: str
    status:
      description: The instance's status; V(unattached) for a disk (an attached disk is never an orphan).
      type: str
    age:
      description: Seconds since it was created (a disk, also since it was last detached); null when unknown.
      type: int
    remove:
      description: Whether it is safe to remove (removed when O(remove=true)).
      type: bool
    why:
      description: Why it is removed or kept.
      type: str
removed:
  description: What was deleted (or would be, in check mode), as C(<kind> <name> (<zone>)).
  returned: always
  type: list
  elements: str
kept:
  description: The orphans left alone, with the reason (all of them when O(remove=false)).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import gcp_argument_spec
from ansible_collections.gcli.offload.plugins.module_utils._gcp_client import (
    COMPUTE_IMPORT_ERROR,
    ComputeApi,
    GcpError,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_fleet import converge, validate
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError


def main():
    argument_spec = gcp_argument_spec()
    argument_spec.update(
        labels=dict(type='dict', default={'type': 'offload-worker'}),
        known=dict(type='list', elements='str', default=[]),
        zones=dict(type='list', elements='str', default=[]),
        grace=dict(type='int', default=3600),
        remove=dict(type='bool', default=False),
        force=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if COMPUTE_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('google-cloud-compute'), exception=COMPUTE_IMPORT_ERROR)
    params = module.params
    try:
        validate(params)  # every check before the credentials and the first request
        result = converge(ComputeApi(params), params, check_mode=module.check_mode, diff=module._diff)
    except InputError as exc:
        module.fail_json(msg='worker_orphans: %s (nothing was changed)' % exc)
    except GcpError as exc:
        module.fail_json(msg='worker_orphans: %s' % exc)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
