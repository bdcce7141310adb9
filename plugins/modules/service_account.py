#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: service_account
short_description: Ensure a service account of its own for the worker VM, with only the roles given
version_added: 0.1.0
description:
  - Ensures the service account O(account_id)C(@PROJECT.iam.gserviceaccount.com) (IAM API v1) and that it holds each
    of O(roles) on the project (Resource Manager API v1 C(getIamPolicy)/C(setIamPolicy)). Roles it has besides are
    left alone, and so are the other members of the policy.
  - The policy is changed by a read-modify-write guarded by its etag. When another writer changed it meanwhile
    (HTTP 409 C(ABORTED)), the whole read-modify-write is done again, up to 5 times.
  - A converged run sends no C(create) and no C(setIamPolicy) and reports C(changed=false).
  - With O(stop_instance), the account may also stop that one instance and no other. A project custom role
    (O(stop_role_id)) holding only C(compute.instances.stop) is ensured (created, undeleted or corrected), and
    bound to the account in the instance's own IAM policy (Compute Engine C(getIamPolicy)/C(setIamPolicy) on the
    instance, etag-guarded like the project's). The instance must exist (in check mode it may not yet).
  - For the worker, give it C(roles/logging.logWriter) and C(roles/artifactregistry.reader), and its own
    instance as O(stop_instance); see docs/security.md for why these and no more.
options:
  account_id:
    description: The account's id, 6-30 lower-case letters, digits and C(-), starting with a letter.
    type: str
    required: true
  display_name:
    description: The display name of a new account (an existing one keeps its own).
    type: str
    default: gcli.offload worker
  roles:
    description: Roles (C(roles/NAME) or C(projects/PROJECT/roles/NAME)) the account must hold on the project.
    type: list
    elements: str
    default: []
  stop_instance:
    description:
      - An instance the account may stop (the worker VM running as this account, to stop itself when idle).
    type: dict
    suboptions:
      name:
        description: The instance's name.
        type: str
        required: true
      zone:
        description: The instance's zone.
        type: str
        required: true
  stop_role_id:
    description:
      - The id of the project custom role granted on O(stop_instance), C(projects/PROJECT/roles/ID). The module
        owns it and sets its permissions to C(compute.instances.stop) alone.
    type: str
    default: gcliOffloadInstanceStop
  api_endpoint:
    description:
      - The IAM and Resource Manager API server (both), e.g. a local emulator, as C(http(s)://host:port).
      - Defaults to E(CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM), else Google's endpoints.
    type: str
  compute_endpoint:
    description:
      - The Compute Engine API server for O(stop_instance)'s policy, in gcloud's form
        C(http://127.0.0.1:8080/compute/v1/) or as C(http(s)://host:port).
      - Defaults to E(CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE), else Google's endpoint.
    type: str
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
  - requests
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: The worker's own service account
  gcli.offload.service_account:
    project: my-project
    account_id: gcli-offload-worker
    roles:
      - roles/logging.logWriter
      - roles/artifactregistry.reader

- name: Let it stop its own instance (and only that one), once the instance exists
  gcli.offload.service_account:
    project: my-project
    account_id: gcli-offload-worker
    roles:
      - roles/logging.logWriter
      - roles/artifactregistry.reader
    stop_instance:
      name: gcli-offload-alice
      zone: us-central1-a
'''

RETURN = r'''
email:
  description: The account's email.
  returned: always
  type: str
  sample: gcli-offload-worker@my-project.iam.gserviceaccount.com
member:
  description: The account as a policy member.
  returned: always
  type: str
  sample: serviceAccount:gcli-offload-worker@my-project.iam.gserviceaccount.com
created:
  description: Whether the account was (or would be, in check mode) created.
  returned: always
  type: bool
roles_added:
  description: The roles granted by this run (or that would be, in check mode).
  returned: always
  type: list
  elements: str
unique_id:
  description: The account's numeric id (null in check mode before creation).
  returned: always
  type: str
stop_role:
  description: The custom role granted on O(stop_instance) (null without it).
  returned: always
  type: str
  sample: projects/my-project/roles/gcliOffloadInstanceStop
instance_roles_added:
  description: The roles granted on O(stop_instance) by this run (or that would be, in check mode).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import GcpAuthError
from ansible_collections.gcli.offload.plugins.module_utils._gcp_iam import (
    AUTH_REQUESTS_IMPORT_ERROR,
    IamApi,
    argument_spec,
    converge,
    validate,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import GcpApiError
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if AUTH_REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('google-auth and requests'), exception=AUTH_REQUESTS_IMPORT_ERROR)
    params = module.params
    try:
        validate(params)  # every check before the credentials and the first request
        result = converge(IamApi(params), params, check_mode=module.check_mode, diff=module._diff)
    except InputError as exc:
        module.fail_json(msg='service_account: %s (nothing was changed)' % exc)
    except (GcpApiError, GcpAuthError) as exc:
        module.fail_json(msg='service_account %s: %s' % (params['account_id'], exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
