#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: worker_vm_spec
short_description: Check a worker VM's provisioning (or teardown) inputs before any request
version_added: 0.1.0
description:
  - Checks every input of C(provision.yml) (O(state=present)) or C(teardown.yml) (O(state=absent)) on the
    controller, before the first request to Google. It checks the instance options by the rules M(gcli.offload.cos_instance)
    applies, the firewall rule by those of M(gcli.offload.compute_firewall), and the SSH alias and wait settings of
    the C(gcli.offload.worker_vm) role.
  - So a bad instance option is refused before the firewall rule is made, and each refusal names the role variable
    (C(offload_<option>)) with what it must be.
  - Options take the values of the role's variables, named without the C(offload_) prefix; an option left out takes
    the role's default. It sends no request and changes nothing.
options:
  state:
    description: What the inputs are for; V(absent) checks only what teardown uses.
    type: str
    default: present
    choices: [present, absent]
  worker_name:
    description:
      - "The instance name; by default C(gcli-offload-$USER) (lower-cased, other characters replaced by C(-))."
      - Role variable C(offload_worker_name).
    type: raw
  project:
    description:
      - "The Google Cloud project; empty uses the modules' fallbacks (C(CLOUDSDK_CORE_PROJECT),
        C(GOOGLE_CLOUD_PROJECT), the credentials' project)."
      - Role variable C(offload_project).
    type: raw
  zone:
    description:
      - "The worker's zone."
      - Role variable C(offload_zone).
    type: raw
  machine_type:
    description:
      - "The machine type."
      - Role variable C(offload_machine_type).
    type: raw
  cos_image:
    description:
      - "A pinned COS image (name or URL); empty uses the newest of the C(cos-stable) family."
      - Role variable C(offload_cos_image).
    type: raw
  boot_disk_size_gb:
    description:
      - "Boot disk size in GB."
      - Role variable C(offload_boot_disk_size_gb).
    type: raw
  data_disk_name:
    description:
      - "The persistent data disk (kept on teardown and instance re-creation); by default C(<worker name>-data)."
      - Role variable C(offload_data_disk_name).
    type: raw
  data_disk_size_gb:
    description:
      - "Data disk size in GB."
      - Role variable C(offload_data_disk_size_gb).
    type: raw
  data_root:
    description:
      - "Where the data disk is mounted on the worker, C(/mnt/disks/<name>); it holds C(main/), C(worktrees/),
        C(logs/), C(gemini/)."
      - Role variable C(offload_data_root).
    type: raw
  spot:
    description:
      - "Use the SPOT provisioning model (cheaper, may be preempted)."
      - Role variable C(offload_spot).
    type: raw
  network:
    description:
      - "The VPC network of the worker and of the firewall rule."
      - Role variable C(offload_network).
    type: raw
  subnetwork:
    description:
      - "The subnetwork; empty lets Compute Engine pick the network's one for the region."
      - Role variable C(offload_subnetwork).
    type: raw
  external_ip:
    description:
      - "Give the worker an ephemeral external IP. Empty (the default): none with C(offload_ssh_access=iap) (IAP
        TCP forwarding reaches the internal address), one with C(offload_ssh_access=direct). Without one, image pulls
        from outside Google (ghcr.io, Docker Hub) need Cloud NAT; Artifact Registry needs Private Google Access on
        the subnetwork (docs/security.md)."
      - Role variable C(offload_external_ip).
    type: raw
  network_tags:
    description:
      - "Network tags of the worker; the firewall rule targets them."
      - Role variable C(offload_network_tags).
    type: raw
  worker_labels:
    description:
      - "Extra labels of the worker; C(type=offload-worker) is always set (the inventory plugin finds workers by it)."
      - Role variable C(offload_worker_labels).
    type: raw
  maintainer_image:
    description:
      - "The maintainer image the worker runs as its long-lived container (e.g.
        C(us-docker.pkg.dev/PROJECT/REPO/maintainer:latest)); defaults to C(offload_image)."
      - Role variable C(offload_maintainer_image).
    type: raw
  maintainer_name:
    description:
      - "The maintainer container's name on the worker."
      - Role variable C(offload_maintainer_name).
    type: raw
  idle_stop_minutes:
    description:
      - "The VM stops itself after this many minutes with no job container running and no SSH session (a systemd
        timer, using the VM's own service account); V(0) never. C(offload.yml -e offload_start_worker=true) starts
        it again."
      - Role variable C(offload_idle_stop_minutes).
    type: raw
  worker_service_account:
    description:
      - "The VM's service account: V(dedicated) (the worker's own, made by provision with the least roles), V(default)
        (the project's Compute Engine default account), an email, or empty (none)."
      - Role variable C(offload_worker_service_account).
    type: raw
  worker_service_account_id:
    description:
      - "The id of the V(dedicated) account; empty: from the worker's name (its first 30 characters)."
      - Role variable C(offload_worker_service_account_id).
    type: raw
  worker_scopes:
    description:
      - "The VM's access scopes (URLs or gcloud's aliases); empty: C(logging-write), C(storage-ro) and C(compute-rw)
        for V(dedicated), C(cloud-platform) for another account."
      - Role variable C(offload_worker_scopes).
    type: raw
  iam_api_endpoint:
    description:
      - "The IAM and Resource Manager API server for the V(dedicated) account (a local emulator in tests)."
      - Role variable C(offload_iam_api_endpoint).
    type: raw
  firewall_name:
    description:
      - "The firewall rule letting SSH in."
      - Role variable C(offload_firewall_name).
    type: raw
  ssh_source_ranges:
    description:
      - "Source ranges of the SSH rule; by default Google's IAP TCP-forwarding range only."
      - Role variable C(offload_ssh_source_ranges).
    type: raw
  ssh_allow_any_source:
    description:
      - "Allow C(0.0.0.0/0) in C(offload_ssh_source_ranges) (refused otherwise)."
      - Role variable C(offload_ssh_allow_any_source).
    type: raw
  restrict_default_ssh:
    description:
      - "When the network's C(default-allow-ssh) rule lets SSH in from the whole Internet, set its sources to
        C(offload_ssh_source_ranges) (else provision only warns); see M(gcli.offload.default_ssh_rule)."
      - Role variable C(offload_restrict_default_ssh).
    type: raw
  ssh_access:
    description:
      - "How the controller reaches SSH: C(iap) through C(gcloud compute start-iap-tunnel) (a ProxyCommand), or
        C(direct) to the worker's address (needs a source range that includes yours)."
      - Role variable C(offload_ssh_access).
    type: raw
  ssh_host:
    description:
      - "Reach the worker at this address instead of the instance's IP (tests, a forwarded port, a VPN name)."
      - Role variable C(offload_ssh_host).
    type: raw
  ssh_port:
    description:
      - "The worker's SSH port."
      - Role variable C(offload_ssh_port).
    type: raw
  ssh_user:
    description:
      - "The SSH user: with OS Login (the default), your POSIX user name, see C(gcloud compute os-login
        describe-profile). Defaults to C($USER)."
      - Role variable C(offload_ssh_user).
    type: raw
  ssh_key:
    description:
      - "The private key (gcloud's by default; register it with C(gcloud compute os-login ssh-keys add))."
      - Role variable C(offload_ssh_key).
    type: raw
  ssh_known_hosts:
    description:
      - "The known-hosts file for the worker's host key (recorded on first use under C(compute.<instance id>), like
        gcloud)."
      - Role variable C(offload_ssh_known_hosts).
    type: raw
  ssh_alias:
    description:
      - "The SSH alias written to C(offload_ssh_config)."
      - Role variable C(offload_ssh_alias).
    type: raw
  ssh_config:
    description:
      - "The file holding the alias, included from C(~/.ssh/config) with C(Include ~/.ssh/gcli-offload.conf). Written
        atomically, mode 0600, only when its content changes."
      - Role variable C(offload_ssh_config).
    type: raw
  gcloud_bin:
    description:
      - "The gcloud command the IAP ProxyCommand runs."
      - Role variable C(offload_gcloud_bin).
    type: raw
  wait_timeout:
    description:
      - "Seconds to wait for the SSH port (direct access) and, separately, for the maintainer container to run."
      - Role variable C(offload_wait_timeout).
    type: raw
  wait_interval:
    description:
      - "Seconds between two checks of the maintainer container."
      - Role variable C(offload_wait_interval).
    type: raw
  api_endpoint:
    description:
      - "The Compute Engine endpoint (gcloud's override form); empty: Google's. No credentials, no host starting
        with C(-)."
      - Role variable C(offload_api_endpoint).
    type: raw
  maintainer_image_pin:
    description:
      - "Deploy the maintainer image by digest (a boolean)."
      - Role variable C(offload_maintainer_image_pin).
    type: raw
  registry_plain_http:
    description:
      - "Resolve the pin over plain HTTP (a boolean; loopback registries)."
      - Role variable C(offload_registry_plain_http).
    type: raw
  worker_become:
    description:
      - "Run the worker's commands with sudo (a boolean)."
      - Role variable C(offload_worker_become).
    type: raw
  docker_bin:
    description:
      - "The docker client on the worker (a command name or an absolute path)."
      - Role variable C(offload_docker_bin).
    type: raw
  delete_data_disk:
    description:
      - "Teardown: delete the data disk too (a boolean)."
      - Role variable C(offload_delete_data_disk).
    type: raw
  delete_firewall:
    description:
      - "Teardown: delete the firewall rule too (a boolean)."
      - Role variable C(offload_delete_firewall).
    type: raw
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - gcli.offload.checks
seealso:
  - module: gcli.offload.cos_instance
  - module: gcli.offload.compute_firewall
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Check the provisioning variables before anything touches the project
  gcli.offload.worker_vm_spec:
    worker_name: "{{ offload_worker_name }}"
    zone: "{{ offload_zone }}"
    machine_type: "{{ offload_machine_type }}"
    maintainer_image: "{{ offload_maintainer_image }}"
    ssh_user: "{{ offload_ssh_user }}"

- name: Check what teardown uses
  gcli.offload.worker_vm_spec:
    state: absent
    worker_name: "{{ offload_worker_name }}"
    zone: "{{ offload_zone }}"
'''

RETURN = r'''
instance:
  description:
    - The checked instance options, named as M(gcli.offload.cos_instance) takes them (the C(worker_vm) role passes
      them on as they are), so C(labels) has C(type=offload-worker), C(provisioning_model) comes from O(spot), the data
      disk's C(device_name) from O(data_root), and C(container) holds the maintainer's C(name) and C(image).
    - With V(state=absent), only its name, zone and data disk (a name).
  returned: success
  type: dict
  sample: {name: gcli-offload-me, zone: us-central1-a, machine_type: n2-standard-8, cos_image: null,
           boot_disk_size_gb: 10,
           data_disk: {name: gcli-offload-me-data, device_name: offload, size_gb: 200, type: pd-balanced},
           network: default, subnetwork: null, external_ip: true, tags: [gcli-offload-ssh],
           labels: {type: offload-worker}, provisioning_model: STANDARD, worker_service_account: dedicated,
           service_account_scopes: ['https://www.googleapis.com/auth/logging.write',
                                    'https://www.googleapis.com/auth/devstorage.read_only',
                                    'https://www.googleapis.com/auth/compute'],
           idle_stop_minutes: 60, container: {name: maintainer-worker, image: us-docker.pkg.dev/p/r/maintainer:latest}}
service_account:
  description:
    - For V(worker_service_account=dedicated), the account provision ensures (C(account_id), C(roles)), as
      M(gcli.offload.service_account) takes them; else null.
  returned: success
  type: dict
  sample: {account_id: gcli-offload-me, roles: [roles/artifactregistry.reader, roles/logging.logWriter]}
firewall:
  description:
    - The checked SSH firewall rule, as M(gcli.offload.compute_firewall) returns it, and C(allow_any_source) (the
      checked O(ssh_allow_any_source)); the C(worker_vm) role passes them on as they are.
    - With V(state=absent), only its name.
  returned: success
  type: dict
  sample: {name: gcli-offload-ssh-from-iap, network: default, source_ranges: [35.235.240.0/20], ports: ["22"],
           target_tags: [gcli-offload-ssh], allow_any_source: false}
ssh:
  description: The checked SSH alias and wait settings (with V(state=absent), only the alias).
  returned: success
  type: dict
  sample: {access: iap, alias: gcli-worker, user: me, host: '', port: 22, key: ~/.ssh/google_compute_engine,
           known_hosts: ~/.ssh/google_compute_known_hosts, config: ~/.ssh/gcli-offload.conf, gcloud_bin: gcloud,
           wait_timeout: 600, wait_interval: 5}
'''
