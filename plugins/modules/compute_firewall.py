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

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import gcp_argument_spec
from ansible_collections.gcli.offload.plugins.module_utils._gcp_client import (
    COMPUTE_IMPORT_ERROR,
    ComputeApi,
    GcpError,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_firewall import converge, validate
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError


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
    try:
        validate(params)  # every check before the credentials and the first request
        result = converge(ComputeApi(params), params, check_mode=module.check_mode, diff=module._diff)
    except InputError as exc:
        module.fail_json(msg='invalid firewall rule %s: %s (nothing was changed)' % (params['name'], exc))
    except GcpError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
