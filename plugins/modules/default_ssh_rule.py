#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: default_ssh_rule
short_description: Report, or restrict, the default network's firewall rule that opens SSH to the whole Internet
version_added: 0.1.0
description:
  - A new project's C(default) network comes with the firewall rule C(default-allow-ssh), which lets TCP port 22 in
    from C(0.0.0.0/0) to every instance of the network. Next to it, an IAP-only SSH rule
    (M(gcli.offload.compute_firewall)) closes nothing, since firewall rules only allow.
  - This module reads that rule. When it lets port 22 in from the whole Internet to the instances tagged
    O(target_tags) (a rule without target tags applies to every instance), it returns a warning naming the rule
    and what to do (RV(state=open)); with O(restrict=true) it sets the rule's sources to O(source_ranges) instead
    (RV(state=restricted)).
  - Restricting keeps the rule, its priority and its targets (other instances of the project may use it for SSH
    through IAP) and replaces only its source ranges; delete the rule yourself if nothing needs it.
  - A rule that is absent, disabled, on another network, for other tags, or no longer open to the world is left
    alone (RV(state=absent) or RV(state=closed)), and a second run after a restriction changes nothing.
options:
  name:
    description: The rule's name.
    type: str
    default: default-allow-ssh
  network:
    description: The network the worker is on, a name or a (partial) URL; a rule on another network does not apply.
    type: str
    default: default
  target_tags:
    description: The worker's network tags; a rule with target tags applies only when it names one of them.
    type: list
    elements: str
    default: []
  restrict:
    description: Set the rule's source ranges to O(source_ranges) when it is open to the whole Internet.
    type: bool
    default: false
  source_ranges:
    description: The source ranges a restricted rule keeps; a range of the whole Internet is refused.
    type: list
    elements: str
    default: [35.235.240.0/20]
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
- name: Warn when default-allow-ssh opens SSH to the world
  gcli.offload.default_ssh_rule:
    project: my-project
    target_tags: [gcli-offload-ssh]

- name: Restrict it to the IAP range
  gcli.offload.default_ssh_rule:
    project: my-project
    target_tags: [gcli-offload-ssh]
    restrict: true
'''

RETURN = r'''
state:
  description:
    - V(absent) (no such rule), V(closed) (it does not let SSH in from the whole Internet to these instances),
      V(open) (it does; see RV(warning)) or V(restricted) (it did; its sources are now O(source_ranges), or would
      be in check mode).
  returned: always
  type: str
  sample: open
warning:
  description: What is open and what to do, when RV(state=open) (also emitted as a task warning); else null.
  returned: always
  type: str
firewall:
  description: The rule as it is (or would be, in check mode) after the task; empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: The rule's name.
      type: str
      sample: default-allow-ssh
    source_ranges:
      description: Source ranges, sorted.
      type: list
      elements: str
      sample: [0.0.0.0/0]
    target_tags:
      description: Target tags (empty is every instance of the network).
      type: list
      elements: str
      sample: []
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import gcp_argument_spec
from ansible_collections.gcli.offload.plugins.module_utils._gcp_client import (
    COMPUTE_IMPORT_ERROR,
    ComputeApi,
    GcpError,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_firewall import (
    DEFAULT_SSH_RULE,
    converge_default_ssh,
    validate_default_ssh,
)
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError


def main():
    argument_spec = gcp_argument_spec()
    argument_spec.update(
        name=dict(type='str', default=DEFAULT_SSH_RULE),
        network=dict(type='str', default='default'),
        target_tags=dict(type='list', elements='str', default=[]),
        restrict=dict(type='bool', default=False),
        source_ranges=dict(type='list', elements='str', default=['35.235.240.0/20']),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if COMPUTE_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('google-cloud-compute'), exception=COMPUTE_IMPORT_ERROR)
    params = module.params
    try:
        validate_default_ssh(params)  # every check before the credentials and the first request
        result = converge_default_ssh(ComputeApi(params), params, check_mode=module.check_mode, diff=module._diff)
    except InputError as exc:
        module.fail_json(msg='invalid options for firewall rule %s: %s (nothing was changed)' % (params['name'], exc))
    except GcpError as exc:
        module.fail_json(msg=str(exc))
    if result['warning']:
        module.warn(result['warning'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
