#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: pipeline_spec
short_description: Check the image pipeline's inputs before any request
version_added: 0.1.0
description:
  - Checks every input of C(image_pipeline.yml) on the controller, before the first request to Google, and returns
    the options of its two Cloud Build triggers (the push trigger and the pull request trigger) for
    M(gcli.offload.cloudbuild_trigger).
  - Both triggers are checked by the rules M(gcli.offload.cloudbuild_trigger) applies (trigger name and location,
    GitHub owner and repository, the branch regex, the build config path, the service account, the API endpoint),
    the project by the rule of the C(gcli.offload.gcp) modules, and the Artifact Registry location and repository
    passed to the builds as C(_LOCATION) and C(_REPO) by the playbook's own. So a bad value for the second trigger
    is refused before the first one is created.
  - Each refusal names the playbook variable (C(offload_project) or C(offload_pipeline_<option>)) with what it must be.
  - Options take the values of the playbook's variables, named without the C(offload_pipeline_) prefix; an option left
    out (or null) takes the playbook's default. It sends no request and changes nothing.
  - An empty O(project) is not checked here (the project then comes from the environment or the credentials); the
    modules check the project they resolve, whatever its source, before their first request.
options:
  project:
    description:
      - "The Google Cloud project; empty uses C(CLOUDSDK_CORE_PROJECT), C(GOOGLE_CLOUD_PROJECT), C(GCP_PROJECT) or the
        credentials' project."
      - Playbook variable C(offload_project).
    type: raw
    default: ""
  github_owner:
    description:
      - The GitHub owner of the repository connected to Cloud Build; required with O(state=present).
      - Playbook variable C(offload_pipeline_github_owner).
    type: raw
    default: ""
  github_repo:
    description:
      - The GitHub repository; required with O(state=present).
      - Playbook variable C(offload_pipeline_github_repo).
    type: raw
    default: ""
  state:
    description:
      - V(present) ensures both triggers, V(absent) deletes them (only the names, the location and the registry are
        checked then).
      - Playbook variable C(offload_pipeline_state).
    type: raw
    default: present
  main_branch:
    description:
      - The branch regex of both triggers (the pushed branch, the pull request's base branch).
      - Playbook variable C(offload_pipeline_main_branch).
    type: raw
    default: ^main$
  config:
    description:
      - The build config, a path inside the repository.
      - Playbook variable C(offload_pipeline_config).
    type: raw
    default: docker/maintainer-worker.yml
  registry_location:
    description:
      - The Artifact Registry location the builds push to (the C(_LOCATION) substitution).
      - Playbook variable C(offload_pipeline_registry_location).
    type: raw
    default: us
  registry_repository:
    description:
      - The Artifact Registry repository the builds push to (the C(_REPO) substitution).
      - Playbook variable C(offload_pipeline_registry_repository).
    type: raw
    default: offload
  trigger_location:
    description:
      - Where the triggers live (first-generation GitHub triggers are global).
      - Playbook variable C(offload_pipeline_trigger_location).
    type: raw
    default: global
  push_trigger:
    description:
      - The name of the trigger building on every push to the main branch.
      - Playbook variable C(offload_pipeline_push_trigger).
    type: raw
    default: maintainer-image-main
  pr_trigger:
    description:
      - The name of the trigger building a pull request after a C(/gcbrun) comment; it must differ from
        O(push_trigger).
      - Playbook variable C(offload_pipeline_pr_trigger).
    type: raw
    default: maintainer-image-pr
  service_account:
    description:
      - The builds' service account, C(projects/PROJECT/serviceAccounts/EMAIL); empty leaves it unmanaged.
      - Playbook variable C(offload_pipeline_service_account).
    type: raw
    default: ""
  api_endpoint:
    description:
      - The Cloud Build API server; empty uses C(CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD), else Google.
      - Playbook variable C(offload_pipeline_api_endpoint).
    type: raw
    default: ""
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - gcli.offload.checks
seealso:
  - module: gcli.offload.cloudbuild_trigger
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Check the pipeline's variables before any request
  gcli.offload.pipeline_spec:
    project: "{{ offload_project | default(omit) }}"
    github_owner: "{{ offload_pipeline_github_owner | default(omit) }}"
    github_repo: "{{ offload_pipeline_github_repo | default(omit) }}"
  register: pipeline

- name: Ensure the triggers it describes
  gcli.offload.cloudbuild_trigger:
    name: "{{ item.name }}"
    project: "{{ pipeline.project or omit }}"
    github_owner: "{{ item.github_owner }}"
    github_repo: "{{ item.github_repo }}"
    event: "{{ item.event }}"
    branch: "{{ item.branch }}"
    comment_control: "{{ item.comment_control }}"
    filename: "{{ item.filename }}"
    substitutions: "{{ item.substitutions }}"
  loop: "{{ pipeline.triggers }}"
'''

RETURN = r'''
state:
  description: The checked O(state).
  returned: success
  type: str
  sample: present
project:
  description: The checked project, or an empty string when the modules are to find it themselves.
  returned: success
  type: str
  sample: my-project
api_endpoint:
  description: The checked Cloud Build API server, or an empty string for the default.
  returned: success
  type: str
  sample: ""
triggers:
  description:
    - The options of M(gcli.offload.cloudbuild_trigger) for the push trigger, then the pull request trigger (without
      the project, the credentials and the endpoint; empty options left out).
    - With O(state=absent), only C(name), C(state) and C(location).
  returned: success
  type: list
  elements: dict
  sample:
    - {name: maintainer-image-main, state: present, location: global, event: push, comment_control: disabled,
       description: "Maintainer image: latest, on every push to main", github_owner: my-org, github_repo: my-repo,
       branch: ^main$, filename: docker/maintainer-worker.yml, disabled: false, invert_regex: false,
       substitutions: {_LOCATION: us, _REPO: offload}}
    - {name: maintainer-image-pr, state: present, location: global, event: pull_request, comment_control: required,
       description: "Maintainer image of a pull request's branch, after a /gcbrun comment", github_owner: my-org,
       github_repo: my-repo, branch: ^main$, filename: docker/maintainer-worker.yml, disabled: false,
       invert_regex: false, substitutions: {_LOCATION: us, _REPO: offload}}
'''
