#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: cos_instance_info
short_description: Read a Container-Optimized OS worker VM (its status and addresses)
version_added: 0.2.0
description:
  - Reads one Compute Engine instance, such as the worker VM M(gcli.offload.cos_instance) made, with a single
    C(instances.get) request, and returns it in the form M(gcli.offload.cos_instance) returns it.
  - Read-only; never changes the instance. An instance that does not exist is no failure
    (RV(exists=false), RV(instance=null)).
  - The name and zone are checked before the request, as M(gcli.offload.cos_instance) checks them.
options:
  name:
    description: The instance name.
    type: str
    required: true
  zone:
    description: The zone, such as C(us-central1-a).
    type: str
    required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - gcli.offload.gcp
attributes:
  check_mode:
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - google-auth
  - google-cloud-compute
seealso:
  - module: gcli.offload.cos_instance
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Read the offload worker
  gcli.offload.cos_instance_info:
    project: my-project
    zone: us-central1-a
    name: gcli-offload-worker
  register: worker

- name: Show its status and address
  ansible.builtin.debug:
    msg: "{{ worker.instance.status }} at {{ worker.instance.external_ip }}"
  when: worker.exists
'''

RETURN = r'''
exists:
  description: Whether the instance exists.
  returned: always
  type: bool
  sample: true
instance:
  description:
    - The instance, or null when it does not exist.
    - The keys of M(gcli.offload.cos_instance)'s RV(ignore:instance); those that come from that module's options
      (RV(instance.container_image), RV(instance.container_name), RV(instance.image_digest)) are null here.
  returned: always
  type: dict
  contains:
    name:
      description: The instance name.
      type: str
    id:
      description: The instance id.
      type: str
    status:
      description: C(RUNNING), C(TERMINATED)...
      type: str
    zone:
      description: The zone.
      type: str
    machine_type:
      description: The machine type name.
      type: str
    internal_ip:
      description: The first interface's internal IP.
      type: str
    external_ip:
      description: The external IP, or null.
      type: str
    self_link:
      description: The instance's URL.
      type: str
    labels:
      description: The labels.
      type: dict
    tags:
      description: The network tags.
      type: list
      elements: str
    cos_image:
      description: The COS image the instance was created from (as cos_instance recorded it), or null.
      type: str
    container_image:
      description: Null (the container image is an option of cos_instance, not read back).
      type: str
    image_digest:
      description: Null (see RV(instance.container_image)).
      type: str
    container_name:
      description: Null (see RV(instance.container_image)).
      type: str
    deletion_protection:
      description: Whether deletion protection is on.
      type: bool
    service_account:
      description: The service account (email, scopes), or null.
      type: dict
  sample:
    name: gcli-offload-worker
    id: "5118406213430371021"
    status: RUNNING
    zone: us-central1-a
    machine_type: e2-standard-4
    internal_ip: 10.128.0.7
    external_ip: 34.123.4.5
    self_link: https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-a/instances/gcli-offload-worker
    cos_image: cos-stable-121-18867-90-38
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import gcp_argument_spec
from ansible_collections.gcli.offload.plugins.module_utils._gcp_client import (
    COMPUTE_IMPORT_ERROR,
    ComputeApi,
    GcpError,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_instance import read_instance, validate_info_options
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError


def argument_spec():
    spec = gcp_argument_spec()
    spec.update(name=dict(type='str', required=True), zone=dict(type='str', required=True))
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if COMPUTE_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('google-cloud-compute'), exception=COMPUTE_IMPORT_ERROR)
    params = module.params
    try:
        wanted = validate_info_options(params)  # before the credentials and the request
        instance = read_instance(ComputeApi(params), wanted['name'], wanted['zone'])
    except InputError as exc:
        module.fail_json(msg='cos_instance_info: %s' % exc)
    except GcpError as exc:
        module.fail_json(msg='cos_instance_info: %s' % exc)
    module.exit_json(changed=False, exists=instance is not None, instance=instance)


if __name__ == '__main__':
    main()
