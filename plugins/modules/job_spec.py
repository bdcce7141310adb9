#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: job_spec
short_description: Validate an offload job's inputs and derive its names and paths
version_added: 0.1.0
description:
  - Checks every input of an offload job on the controller, before anything touches a worker,
    and returns the job's derived names, worker paths and labels.
  - Each refusal names the offending variable. Nothing runs on the worker.
  - This is the single place where the naming rules live (C(offload-<pr>-<action>) and the worker layout).
options:
  data_root:
    description:
      - Worker directory holding C(main/), C(worktrees/), C(logs/) and C(gemini/).
      - Never C(/), C(/etc), C(/proc), C(/sys), C(/dev), C(/run), C(/var/run), C(/root), the system's binaries and
        libraries, Docker's or containerd's own directories (C(/var/lib/docker)...), or anything under them; the same
        for O(gemini_dir).
    type: raw
    required: true
  image:
    description: The job image reference.
    type: raw
    required: true
  repo_url:
    description:
      - The git URL (or worker-local path) of the repository, the user's fork when O(upstream_url) is set.
      - Checked when given; an empty string is refused.
    type: raw
  upstream_url:
    description: The upstream repository that holds C(refs/pull/<pr>/head), when O(repo_url) is a fork.
    type: raw
  command:
    description: The job's argv, replacing the image's entrypoint command. A list, never a shell string.
    type: raw
  timeout:
    description: Seconds after which the job container is killed.
    type: raw
    default: 3600
  gemini_dir:
    description: Worker directory mounted read-only at C(/home/node/.gemini) in the job. Defaults to O(data_root)C(/gemini).
    type: raw
  lock_grace:
    description:
      - Seconds during which another run's hold on the same worktree is respected (M(gcli.offload.git_worktree)'s
        O(gcli.offload.git_worktree#module:lock_grace)); checked here so that a bad value stops the play before the
        worker is touched. Not part of RV(job).
    type: raw
  memory:
    description:
      - The job container's memory limit, in bytes or with C(k), C(m) or C(g); V(auto) or empty derives it from the
        worker at job start (M(gcli.offload.job_container)).
    type: raw
  cpus:
    description: CPUs the job container may use (a decimal, two places at most); V(auto) or empty derives it.
    type: raw
  pids:
    description: Processes and threads the job container may have at once; V(auto) or empty derives it.
    type: raw
  disk_reserve:
    description: Free space the data disk must have for the job to start; V(auto) or empty derives it.
    type: raw
  egress:
    description: What the job can reach, V(open), V(github) or V(none) (see M(gcli.offload.job_container)).
    type: raw
    default: open
  egress_allow:
    description: With O(egress=github), the hosts the job may reach; empty or omitted is the default list.
    type: raw
  keep_worktree:
    description: Whether the job's worktree is kept after the job.
    type: raw
    default: false
  detach:
    description: Whether the job is started without following it (M(gcli.offload.job_container)'s
      O(gcli.offload.job_container#module:detach)); a boolean as Ansible reads one.
    type: raw
  command_token:
    description: Whether a custom command gets the GitHub token file (M(gcli.offload.job_container)'s
      O(gcli.offload.job_container#module:command_token)); a boolean as Ansible reads one.
    type: raw
  log_dest:
    description:
      - The controller folder the job's log is fetched to (M(gcli.offload.job_container)'s
        O(gcli.offload.job_container#module:log_dest)); checked here, before the job runs. It must be absolute once
        C(~) is expanded, not a system directory (C(/etc), C(/proc)... symlinks resolved), and a folder or creatable.
    type: raw
  docker_bin:
    description:
      - The docker client on the worker, checked like the other worker plugins' O(docker_bin) (a name on its C(PATH)
        or an absolute path), so that C(module_defaults) for the C(gcli.offload.worker) group applies to this
        module too and a bad value stops the play before the worker is touched. Not part of RV(job).
    type: str
    default: docker
extends_documentation_fragment:
  - gcli.offload.job
  - ansible.builtin.action_common_attributes
  - gcli.offload.checks
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Validate the job before touching the worker
  gcli.offload.job_spec:
    pr: "{{ pr }}"
    action: review
    data_root: /mnt/disks/offload
    image: us-docker.pkg.dev/my-project/offload/maintainer:latest
    repo_url: https://github.com/me/gemini-cli.git
    upstream_url: https://github.com/google-gemini/gemini-cli.git
  register: offload_job_spec

- name: Show the job's worktree
  ansible.builtin.debug:
    msg: "{{ offload_job_spec.job.worktree_dir }}"
'''

RETURN = r'''
job:
  description: The validated inputs and every derived name and path.
  returned: success
  type: dict
  contains:
    name:
      description: C(offload-<pr>-<action>), the container, worktree and log folder name.
      type: str
      sample: offload-123-review
    pr:
      description: The pull request number.
      type: int
      sample: 123
    action:
      description: The action.
      type: str
      sample: review
    command:
      description: The job's argv.
      type: list
      elements: str
      sample: [offload-entrypoint, "123", review]
    worktree_dir:
      description: The job's worktree on the worker.
      type: str
      sample: /mnt/disks/offload/worktrees/offload-123-review
    main_dir:
      description: The main clone on the worker.
      type: str
      sample: /mnt/disks/offload/main
    log_dir:
      description: Where the worker keeps the job's logs.
      type: str
      sample: /mnt/disks/offload/logs/offload-123-review
    labels:
      description: The labels the job container carries.
      type: dict
      sample: {gcli.offload.job: offload-123-review, gcli.offload.pr: "123"}
    limits:
      description: The resource limits as given (memory and disk_reserve in bytes); null ones are derived from the worker.
      type: dict
      sample: {memory: 4294967296, cpus: 1.5, pids: null, disk_reserve: null}
    log_dest:
      description: O(log_dest) expanded, when given.
      type: str
      returned: when O(log_dest) is given
      sample: /home/me/.cache/gcli-offload/logs
    egress:
      description: The egress mode and the allow-list (sorted, the default when none was given).
      type: dict
      sample: {mode: github, allow: [api.github.com, github.com]}
'''
