# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r'''
options:
  project:
    description:
      - The Google Cloud project.
      - Defaults to the environment variables E(CLOUDSDK_CORE_PROJECT), E(GOOGLE_CLOUD_PROJECT), E(GCP_PROJECT)
        (the first set), else to the project the credentials name.
    type: str
  auth_kind:
    description:
      - How to get credentials. V(application) uses application default credentials
        (E(GOOGLE_APPLICATION_CREDENTIALS), C(gcloud auth application-default login), or the metadata server).
        V(serviceaccount) uses a service-account key (O(service_account_file) or O(service_account_contents));
        a key's C(token_uri) is honoured. V(accesstoken) uses O(access_token) as a bearer token.
        V(machineaccount) asks the metadata server (on GCE, or where E(GCE_METADATA_HOST) points).
      - Defaults to the environment variable E(GCP_AUTH_KIND).
    type: str
    choices: [application, serviceaccount, accesstoken, machineaccount]
    default: application
  service_account_file:
    description:
      - Path to a service-account JSON key, for O(auth_kind=serviceaccount).
      - Defaults to E(GCP_SERVICE_ACCOUNT_FILE), then E(GOOGLE_APPLICATION_CREDENTIALS).
    type: path
  service_account_contents:
    description:
      - The contents of a service-account JSON key (a string or a dictionary), for O(auth_kind=serviceaccount).
        Takes precedence over O(service_account_file).
      - Defaults to E(GCP_SERVICE_ACCOUNT_CONTENTS).
    type: raw
  service_account_email:
    description:
      - The metadata server's service account, for O(auth_kind=machineaccount); default C(default).
      - Defaults to E(GCP_SERVICE_ACCOUNT_EMAIL).
    type: str
  access_token:
    description:
      - An OAuth2 access token, for O(auth_kind=accesstoken), e.g. from C(gcloud auth print-access-token).
      - Defaults to E(CLOUDSDK_AUTH_ACCESS_TOKEN), then E(GCP_ACCESS_TOKEN).
    type: str
  scopes:
    description:
      - OAuth2 scopes the credentials ask for, URLs or gcloud's C(--scopes) aliases with gcloud's meaning
        (C(cloud-platform), C(compute-ro) for C(https://www.googleapis.com/auth/compute.readonly)...); another short
        name C(N) is C(https://www.googleapis.com/auth/N).
      - Defaults to E(GCP_SCOPES) (comma-separated), else C(https://www.googleapis.com/auth/cloud-platform).
    type: list
    elements: str
  api_endpoint:
    description:
      - The Compute Engine API server, e.g. a local emulator. Accepts gcloud's override format
        C(http://127.0.0.1:8080/compute/v1/) (the C(/compute/v1/) suffix is dropped) or a bare C(http(s)://host:port).
      - Defaults to E(CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE), the variable gcloud reads, so one setting points
        gcloud and the collection at the same server; else Google's endpoint.
    type: str
  timeout:
    description:
      - Seconds to wait for each long-running operation (create, start, stop, an update...) before failing.
        The operation may still complete after the task fails.
    type: int
    default: 600
  request_retries:
    description:
      - How many times a request answered with HTTP 429 or 5xx (or not answered) is retried, with exponential
        backoff and full jitter, before the task fails.
    type: int
    default: 6
  retry_initial_delay:
    description: Upper bound, in seconds, of the first retry's random delay; it doubles with each retry.
    type: float
    default: 1.0
  retry_max_delay:
    description: Upper bound, in seconds, of any retry's random delay.
    type: float
    default: 30.0
notes:
  - Runs on the controller (or the host the task is delegated to), which needs the Python libraries
    C(google-auth) and C(google-cloud-compute).
  - Part of the C(gcli.offload.gcp) action group, so C(module_defaults) can set these options once.
  - See the collection's C(docs/auth.md) for each O(auth_kind) and its environment variables.
'''
