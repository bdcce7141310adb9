#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: cos_instance
short_description: Create and converge a Container-Optimized OS worker VM running a container (cloud-init)
version_added: 0.1.0
description:
  - Ensures a Compute Engine instance booted from Container-Optimized OS that runs one long-lived container, the job
    C(gcloud compute instances create-with-container) used to do. The container startup agent (konlet) behind that
    command is deprecated, so the container is delivered through cloud-init C(user-data) instead, a C(#cloud-config)
    that writes a systemd unit to C(/etc/systemd/system) and starts it at every boot.
  - The unit formats the data disk once (only when it has no file system), mounts it at C(/mnt/disks/<device_name>),
    configures C(docker-credential-gcr) for the image's Artifact Registry (or gcr.io) host, pulls the image and runs
    the container. By default the container is the offload maintainer container (labels C(gcli.offload.role),
    C(gcli.offload.spec), user 1000:1000, the data disk at C(/home/node/dev)), so the C(worktree) role adopts it
    without re-creating it.
  - A re-run on a converged instance makes no mutating API call and reports no change. Drift is corrected the way
    Compute Engine requires it, with the resource's fingerprint - metadata, labels, network tags, scheduling and
    deletion protection in place; machine type, service account and the provisioning model by stopping the instance,
    setting it and starting it again (reported as RV(restarted) and a warning).
  - A change to the container's definition on a running instance restarts it (cloud-init applies user-data at boot),
    unless O(restart_for_container=false).
  - Differences Compute Engine cannot change in place are reported as warnings, never silently ignored, and change
    nothing. They are the network, subnetwork, external IP, a missing data disk, the boot image (when O(cos_image)
    pins an image; a family is resolved at creation only), the boot disk's size and type, the data disk's size and
    type (the boot and data disks are read for that).
  - Every operation is awaited with the zone operations C(wait) call, bounded by O(timeout); requests answered with
    HTTP 429 or 5xx are retried with backoff and jitter; failures name the instance and Google's cause.
options:
  name:
    description: The instance name.
    type: str
    required: true
  zone:
    description: The zone, e.g. C(us-central1-a).
    type: str
    required: true
  state:
    description:
      - V(present) ensures the instance exists (created running) and leaves a stopped one stopped.
        V(started) and V(stopped) also ensure it runs or is stopped. V(absent) deletes it; the data disk is kept
        unless O(delete_data_disk).
      - V(started) or V(stopped) without O(container) only starts or stops an existing instance and changes nothing
        else (what C(offload.yml) does to wake a worker that stopped itself when idle).
    type: str
    choices: [present, absent, started, stopped]
    default: present
  machine_type:
    description: The machine type; changing it stops and restarts the instance.
    type: str
    default: e2-standard-4
  cos_image:
    description:
      - The boot image, used when the instance is created. An image name in C(cos-cloud), a family as
        C(family/cos-beta), or C(projects/P/global/images/NAME) (or C(.../family/FAMILY)).
      - Default the newest non-deprecated image of the C(cos-stable) family in C(cos-cloud), as gcloud picks it.
    type: str
  boot_disk_size_gb:
    description: Boot disk size (creation only).
    type: int
    default: 10
  boot_disk_type:
    description: Boot disk type (creation only).
    type: str
    default: pd-balanced
  data_disk:
    description:
      - The persistent data disk, mounted at C(/mnt/disks/<device_name>) on the VM and at C(/home/node/dev) in the
        container. It is not deleted with the instance; an existing disk of that name is attached on creation.
    type: dict
    default: {}
    suboptions:
      name:
        description: The disk's name; default C(<name>-data).
        type: str
      device_name:
        description: The device name, hence the mount point C(/mnt/disks/<device_name>).
        type: str
        default: offload
      size_gb:
        description: Size of a new disk.
        type: int
        default: 200
      type:
        description: Type of a new disk.
        type: str
        default: pd-balanced
  delete_data_disk:
    description: With O(state=absent), also delete the data disk.
    type: bool
    default: false
  network:
    description: The VPC network (creation only).
    type: str
    default: default
  subnetwork:
    description: The subnetwork (creation only), a name in the zone's region or a path.
    type: str
  external_ip:
    description: Whether the instance gets an ephemeral external IP (creation only).
    type: bool
    default: true
  tags:
    description: The network tags (exactly these).
    type: list
    elements: str
    default: []
  labels:
    description: Labels to set; others are kept unless O(purge_labels).
    type: dict
    default: {}
  purge_labels:
    description: Remove labels not in O(labels).
    type: bool
    default: false
  worker_service_account:
    description:
      - The instance's service account (C(default) is the project's Compute Engine default account; an empty string
        means none). Changing it stops and restarts the instance. Role variable C(offload_worker_service_account).
      - Not O(service_account_email), which is the credentials' option (the metadata server's account for
        O(auth_kind=machineaccount)); given with another O(auth_kind), and not from E(GCP_SERVICE_ACCOUNT_EMAIL),
        O(service_account_email) is refused, since it can only mean the VM's account (the name this option had
        before).
    type: str
    default: default
    version_added: 0.2.0
  service_account_scopes:
    description:
      - The service account's scopes, URLs or gcloud's C(--scopes) aliases with gcloud's meaning (C(compute-ro) is
        C(https://www.googleapis.com/auth/compute.readonly), C(storage-ro) C(.../devstorage.read_only), C(default)
        gcloud's default scopes); another short name C(N) is C(https://www.googleapis.com/auth/N).
    type: list
    elements: str
    default: [cloud-platform]
  provisioning_model:
    description: V(SPOT) for a Spot VM (stopped when preempted), else V(STANDARD).
    type: str
    choices: [STANDARD, SPOT]
    default: STANDARD
  shielded_vm:
    description: Secure boot, vTPM and integrity monitoring (creation only).
    type: bool
    default: true
  deletion_protection:
    description: Compute Engine's deletion protection.
    type: bool
    default: false
  enable_oslogin:
    description: Set the C(enable-oslogin=TRUE) metadata (unless O(metadata) sets C(enable-oslogin) itself).
    type: bool
    default: true
  metadata:
    description:
      - Extra metadata items. Keys set here are kept equal to these values; other keys on the instance (such as
        C(ssh-keys)) are left alone. C(user-data) and C(gce-container-declaration) are rendered from O(container).
    type: dict
    default: {}
  container:
    description:
      - The container to run, with C(create-with-container)'s meaning. Required with O(state=present) and to create
        an instance; without it, O(state=started) and O(state=stopped) only change the power state.
    type: dict
    suboptions:
      image:
        description: The image; a digest-pinned reference (C(...@sha256:...)) is reported as RV(instance.image_digest).
        type: str
        required: true
      name:
        description: The container's name.
        type: str
        default: maintainer-worker
      command:
        description: Replaces the image's entrypoint (an argv list). Default, with no O(container.args), the
          maintainer container's C(sleep infinity).
        type: list
        elements: str
      args:
        description: Arguments (an argv list), after the command or to the image's entrypoint.
        type: list
        elements: str
      env:
        description: Environment variables (not for secrets, which the metadata server would expose).
        type: dict
      mounts:
        description: Extra mounts, a host path or a tmpfs each.
        type: list
        elements: dict
        suboptions:
          mount_path:
            description: Path in the container.
            type: str
            required: true
          host_path:
            description: Path on the VM (use a writable one on COS, such as C(/var/lib/...) or C(/mnt/disks/...)).
            type: str
          tmpfs:
            description: Mount a tmpfs instead of a host path.
            type: bool
            default: false
          read_only:
            description: Mount read-only.
            type: bool
            default: false
      restart_policy:
        description: V(UnlessStopped) (the maintainer container's), V(Always), V(OnFailure) or V(Never).
        type: str
        choices: [UnlessStopped, Always, OnFailure, Never]
        default: UnlessStopped
      privileged:
        description: Run the container privileged.
        type: bool
        default: false
      stdin:
        description: Keep stdin open (C(docker run -i)).
        type: bool
        default: false
      tty:
        description: Allocate a tty (C(docker run -t)).
        type: bool
        default: false
  container_declaration:
    description:
      - V(cloud-init) delivers the container through C(user-data) only. V(legacy) also writes the deprecated
        C(gce-container-declaration) metadata (the YAML gcloud writes), for tools that read it.
    type: str
    choices: [cloud-init, legacy]
    default: cloud-init
  restart_for_container:
    description: Restart a running instance when the container's definition changed, so cloud-init applies it.
    type: bool
    default: true
  idle_stop_minutes:
    description:
      - When more than 0, the VM stops itself after that many minutes with no job container running and no SSH
        session, through a systemd timer that cloud-init installs. It uses the VM's own service account (from the
        metadata server), never a user's credentials; give it a service account allowed to stop this instance.
      - V(0) installs no timer.
    type: int
    default: 0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - gcli.offload.gcp
attributes:
  check_mode:
    support: full
    details: The same plan is made from the same reads; no mutating API call is sent.
  diff_mode:
    support: full
    details: Before and after of exactly what changes (metadata keys, labels, tags, scheduling, machine type...).
  platform:
    platforms: posix
requirements:
  - google-auth
  - google-cloud-compute
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Ensure the offload worker
  gcli.offload.cos_instance:
    project: my-project
    zone: us-central1-a
    name: gcli-offload-worker
    machine_type: n2-standard-8
    labels:
      type: offload-worker
    tags: [offload-ssh]
    container:
      image: us-docker.pkg.dev/my-project/offload/maintainer:latest
  register: worker

- name: The same against a local emulator (gcloud's variable), with an access token
  gcli.offload.cos_instance:
    name: w1
    zone: us-central1-a
    auth_kind: accesstoken
    container:
      image: us-docker.pkg.dev/my-project/offload/maintainer@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  environment:
    CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: http://127.0.0.1:8080/compute/v1/
    CLOUDSDK_AUTH_ACCESS_TOKEN: "{{ token }}"
    CLOUDSDK_CORE_PROJECT: my-project

- name: Stop it (the data disk and the instance are kept)
  gcli.offload.cos_instance:
    name: gcli-offload-worker
    zone: us-central1-a
    state: stopped
    container:
      image: us-docker.pkg.dev/my-project/offload/maintainer:latest

- name: Delete it, and its data disk
  gcli.offload.cos_instance:
    name: gcli-offload-worker
    zone: us-central1-a
    state: absent
    delete_data_disk: true
'''

RETURN = r'''
instance:
  description: The instance after the task (in check mode, the instance as it was).
  returned: unless the instance is absent
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
      description: The COS image the instance was created from.
      type: str
    container_image:
      description: The container image.
      type: str
    image_digest:
      description: The container image digest when the reference is digest-pinned, else null.
      type: str
    container_name:
      description: The container's name.
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
    image_digest: null
actions:
  description: The API changes made (planned, in check mode), in order, e.g. C(setMetadata), C(stop), C(setMachineType), C(start).
  returned: always
  type: list
  elements: str
restarted:
  description: Whether the instance was stopped and started again to apply a change.
  returned: always
  type: bool
data_disk_deleted:
  description: Whether the data disk was deleted (O(state=absent), O(delete_data_disk)).
  returned: when state is absent
  type: bool
'''

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import gcp_argument_spec
from ansible_collections.gcli.offload.plugins.module_utils._gcp_client import (
    COMPUTE_IMPORT_ERROR,
    ComputeApi,
    GcpError,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_instance import InstanceManager, validate_options
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import GcpApiError
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import MAINTAINER_NAME

MOUNT_SPEC = dict(mount_path=dict(type='str', required=True), host_path=dict(type='str'),
                  tmpfs=dict(type='bool', default=False), read_only=dict(type='bool', default=False))
CONTAINER_SPEC = dict(
    image=dict(type='str', required=True),
    name=dict(type='str', default=MAINTAINER_NAME),
    command=dict(type='list', elements='str'),
    args=dict(type='list', elements='str'),
    env=dict(type='dict'),
    mounts=dict(type='list', elements='dict', options=MOUNT_SPEC),
    restart_policy=dict(type='str', default='UnlessStopped', choices=['UnlessStopped', 'Always', 'OnFailure', 'Never']),
    privileged=dict(type='bool', default=False),
    stdin=dict(type='bool', default=False),
    tty=dict(type='bool', default=False),
)
DATA_DISK_SPEC = dict(name=dict(type='str'), device_name=dict(type='str', default='offload'),
                      size_gb=dict(type='int', default=200), type=dict(type='str', default='pd-balanced'))


def argument_spec():
    spec = gcp_argument_spec()
    spec.update(
        name=dict(type='str', required=True),
        zone=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent', 'started', 'stopped']),
        machine_type=dict(type='str', default='e2-standard-4'),
        cos_image=dict(type='str'),
        boot_disk_size_gb=dict(type='int', default=10),
        boot_disk_type=dict(type='str', default='pd-balanced'),
        data_disk=dict(type='dict', default={}, options=DATA_DISK_SPEC),
        delete_data_disk=dict(type='bool', default=False),
        network=dict(type='str', default='default'),
        subnetwork=dict(type='str'),
        external_ip=dict(type='bool', default=True),
        tags=dict(type='list', elements='str', default=[]),
        labels=dict(type='dict', default={}),
        purge_labels=dict(type='bool', default=False),
        worker_service_account=dict(type='str', default='default'),
        service_account_scopes=dict(type='list', elements='str', default=['cloud-platform']),
        provisioning_model=dict(type='str', default='STANDARD', choices=['STANDARD', 'SPOT']),
        shielded_vm=dict(type='bool', default=True),
        deletion_protection=dict(type='bool', default=False),
        enable_oslogin=dict(type='bool', default=True),
        metadata=dict(type='dict', default={}),
        container=dict(type='dict', options=CONTAINER_SPEC),
        container_declaration=dict(type='str', default='cloud-init', choices=['cloud-init', 'legacy']),
        restart_for_container=dict(type='bool', default=True),
        idle_stop_minutes=dict(type='int', default=0),
    )
    return spec


def delete_data_disk(api, wanted, check_mode):
    disk, zone = wanted['data_disk']['name'], wanted['zone']
    disks = api.client('disks')
    what = 'delete the data disk %s in %s of project %s' % (disk, zone, api.project)
    try:
        api.call(lambda: disks.get(project=api.project, zone=zone, disk=disk, timeout=api.request_timeout),
                 'read the data disk %s in %s' % (disk, zone))
    except GcpApiError as exc:
        if exc.code == 404:
            return False
        raise
    if not check_mode:
        operation = api.call(lambda: disks.delete_unary(project=api.project, zone=zone, disk=disk,
                                                        timeout=api.request_timeout), what)
        api.wait(operation, what)
    return True


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[('state', 'present', ['container'])])
    if COMPUTE_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('google-cloud-compute'), exception=COMPUTE_IMPORT_ERROR)
    params = module.params
    try:
        wanted = validate_options(params)
    except InputError as exc:
        module.fail_json(msg='cos_instance: %s' % exc)
    try:
        api = ComputeApi(params)
        manager = InstanceManager(api, wanted, check_mode=module.check_mode, compute=api.types)
        result = manager.run()
        if wanted['state'] == 'absent':
            result['data_disk_deleted'] = bool(params['delete_data_disk']) and delete_data_disk(
                api, wanted, module.check_mode)
            result['changed'] = result['changed'] or result['data_disk_deleted']
    except GcpError as exc:
        module.fail_json(msg='cos_instance: %s' % exc)
    except Exception as exc:  # a bug, not a Google error: keep the traceback
        module.fail_json(msg='cos_instance: unexpected error on instance %s: %s' % (params['name'], exc),
                         exception=traceback.format_exc())
    for warning in result.pop('warnings'):
        module.warn(warning)
    diff = result.pop('diff')
    if module._diff and result['changed']:
        result['diff'] = diff
    module.exit_json(**result)


if __name__ == '__main__':
    main()
