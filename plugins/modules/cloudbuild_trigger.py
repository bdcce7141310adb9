#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: cloudbuild_trigger
short_description: Create, converge or delete a Cloud Build trigger on GitHub pushes or pull requests
version_added: 0.1.0
description:
  - Ensures a Cloud Build trigger (REST API v1) that starts the build config O(filename) of a GitHub repository on a
    push to a branch (or tag) matching a regex, or on a pull request whose base branch matches a regex, optionally
    only after a C(/gcbrun) comment (O(comment_control)).
  - The trigger is found by O(name). It is created when missing, updated in place (one request) when a managed field
    differs, and left alone otherwise; O(state=absent) deletes it.
  - Only the fields the options set are managed; others on an existing trigger (approval settings, filters...) are
    kept. O(description), O(substitutions), O(included_files), O(ignored_files), O(tags) and O(service_account) are
    managed only when given.
  - Everything is checked before any request; errors name the trigger, the project and what to do.
options:
  name:
    description:
      - The trigger's name, unique in the project and location; 1 to 64 letters, digits and C(-), starting and
        ending with a letter or a digit.
    type: str
    required: true
  state:
    description: Whether the trigger should exist.
    type: str
    choices: [present, absent]
    default: present
  location:
    description:
      - The Cloud Build location of the trigger. V(global) is where first-generation GitHub (Cloud Build GitHub app)
        triggers live.
    type: str
    default: global
  description:
    description: The trigger's description.
    type: str
  github_owner:
    description: The owner (user or organisation) of the GitHub repository. Required with O(state=present).
    type: str
  github_repo:
    description: The GitHub repository's name. Required with O(state=present).
    type: str
  event:
    description:
      - V(push) starts a build on a push to a branch matching O(branch) (or a tag matching O(tag)).
      - V(pull_request) starts a build on a pull request whose base branch matches O(branch).
    type: str
    choices: [push, pull_request]
    default: push
  branch:
    description:
      - A regular expression (RE2) of the branch pushed to, or of a pull request's base branch, e.g. C(^main$).
    type: str
  tag:
    description: With O(event=push), a regular expression of the git tags whose pushes start a build.
    type: str
  invert_regex:
    description: Start builds for the branches (or tags) that do B(not) match.
    type: bool
    default: false
  comment_control:
    description:
      - With O(event=pull_request), whether a maintainer's C(/gcbrun) comment is needed to build.
      - V(required) (the API's C(COMMENTS_ENABLED)) for every pull request, V(external_contributors) only for pull
        requests of people outside the repository's collaborators, V(disabled) never.
    type: str
    choices: [disabled, required, external_contributors]
    default: disabled
  filename:
    description:
      - The build config to run, relative to the repository's root, e.g. C(docker/maintainer-worker.yml). Required
        with O(state=present).
    type: str
  substitutions:
    description:
      - User substitutions of the build, C(_NAME) to value (keys match C(^_[A-Z0-9_]+$)).
    type: dict
  included_files:
    description: Glob patterns; a build starts only when a changed file matches one.
    type: list
    elements: str
  ignored_files:
    description: Glob patterns; changes only to matching files start no build.
    type: list
    elements: str
  disabled:
    description: Keep the trigger but start no builds.
    type: bool
    default: false
  tags:
    description: Tags (labels) of the trigger itself.
    type: list
    elements: str
  service_account:
    description: The service account builds run as, C(projects/PROJECT/serviceAccounts/EMAIL).
    type: str
  api_endpoint:
    description:
      - The Cloud Build API server, e.g. a local emulator, as C(http(s)://host:port) (gcloud's override form with a
        trailing C(/) or C(/v1) is accepted).
      - Defaults to E(CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD), the variable gcloud reads, else Google's endpoint.
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - gcli.offload.gcp
attributes:
  check_mode:
    support: full
    details: Reads the trigger and reports what would change; sends no create, update or delete.
  diff_mode:
    support: full
    details: The managed fields before and after.
  action_group:
    support: full
    membership: [gcli.offload.gcp]
  platform:
    platforms: posix
notes:
  - The GitHub repository must be connected to Cloud Build (the Cloud Build GitHub app) before a trigger on it can be
    created; Cloud Build refuses the trigger otherwise.
  - The option O(timeout) does not apply (trigger changes are not long-running operations); each request has a
    60 second limit and is retried O(request_retries) times on HTTP 429, 5xx or no answer.
seealso:
  - name: Cloud Build triggers API
    description: The REST resource the module manages.
    link: https://cloud.google.com/build/docs/api/reference/rest/v1/projects.triggers
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Build the maintainer image on every push to main
  gcli.offload.cloudbuild_trigger:
    name: maintainer-image-main
    project: my-project
    github_owner: my-org
    github_repo: my-repo
    event: push
    branch: ^main$
    filename: docker/maintainer-worker.yml
    substitutions:
      _LOCATION: us
      _REPO: offload

- name: Build a pull request's image when a maintainer comments /gcbrun
  gcli.offload.cloudbuild_trigger:
    name: maintainer-image-pr
    project: my-project
    github_owner: my-org
    github_repo: my-repo
    event: pull_request
    branch: ^main$
    comment_control: required
    filename: docker/maintainer-worker.yml

- name: Remove a trigger
  gcli.offload.cloudbuild_trigger:
    name: maintainer-image-pr
    project: my-project
    state: absent
'''

RETURN = r'''
trigger:
  description:
    - The trigger as the API returned it after the change (or as it is, when nothing changed); in check mode the
      trigger that would be sent. None when absent.
  returned: always
  type: dict
  sample:
    id: 0f6c2e7e-8f0e-4a8f-9d7e-1c1b7bb1c6a1
    name: maintainer-image-pr
    github: {owner: my-org, name: my-repo, pullRequest: {branch: ^main$, commentControl: COMMENTS_ENABLED}}
    filename: docker/maintainer-worker.yml
operation:
  description: What was done (or would be, in check mode).
  returned: when changed
  type: str
  choices: [create, update, delete]
  sample: update
changed_fields:
  description: The managed fields that differed (API names).
  returned: when the trigger was updated
  type: list
  elements: str
  sample: [github, filename]
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gcli.offload.plugins.module_utils._cloudbuild import (
    AUTH_REQUESTS_IMPORT_ERROR,
    CloudBuildApi,
    argument_spec,
    converge,
    desired_trigger,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_client import GcpError
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[('branch', 'tag')],
                           required_if=[('state', 'present', ('github_owner', 'github_repo', 'filename'))])
    if AUTH_REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('google-auth'), exception=AUTH_REQUESTS_IMPORT_ERROR)
    params = module.params
    try:
        if params['state'] == 'present':
            desired_trigger(params)  # every check before the first request
        api = CloudBuildApi(params)
        result = converge(params, api, check_mode=module.check_mode)
    except InputError as exc:
        # the name may be what is wrong: never echo a huge one whole; the message names the option
        shown = params['name'] if len(params['name']) <= 64 else params['name'][:60] + '...'
        module.fail_json(msg='build trigger %s: %s' % (shown, exc.message))
    except GcpError as exc:
        module.fail_json(msg=str(exc))
    before, after = result.pop('before'), result.pop('after')
    if module._diff:
        result['diff'] = {'before': before, 'after': after,
                          'before_header': 'build trigger %s' % params['name'],
                          'after_header': 'build trigger %s' % params['name']}
    module.exit_json(**result)


if __name__ == '__main__':
    main()
