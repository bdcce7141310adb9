#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: job_container
short_description: Run an offload job under its supervisor on a worker, follow it and bring its log back
version_added: 0.1.0
description:
  - Runs the job C(offload-<pr>-<action>) as C(docker run) on the worker (removed when it ends), built as an argv
    list, with the job's worktree read-write at C(/home/node/dev/worktree), the main clone read-only at C(/home/node/dev/main),
    the gemini config read-only at C(/home/node/.gemini), the worktree as working directory, uid 1000, all
    capabilities dropped, C(no-new-privileges), no Docker socket, and labels C(gcli.offload.job), C(.pr),
    C(.action) and C(.managed).
  - Git in the job can update its own worktree's index and HEAD and write objects to a per-job object directory;
    the shared clone stays read-only.
  - The job runs under a supervisor on the worker (a fixed shell script started with C(setsid) through the
    connection, in one command), independent of the controller from then on; killing C(ansible-playbook), losing
    the connection or closing the laptop leaves it running to its end. The supervisor enforces O(timeout)
    (SIGTERM, then SIGKILL), writes the log, the exit code and each part's log and exit code, removes the job's
    containers, then releases the worktree (git in the O(maintainer) container; kept with O(keep_worktree),
    removed otherwise) and leaves nothing running.
  - The job runs as parts, each a container of its own (a review runs C(build), C(checks) and C(ai_review) at
    once, named C(<job>-<part>); a job of one part is named as the job). Only the parts that need GitHub get the
    token file, C(checks), C(ai_review), C(fix) and C(implement); the pull request's build and tests never do.
  - The task follows the job's output as it comes (a line shows about a round trip after the job printed it; one
    worker command a poll), reaches the worker again when the connection drops, and reports the end as before. A
    failed or timed-out job fails the task with the log's last lines. The log is kept on the worker under
    C(<data_root>/logs/<job>/<stamp>.log) and copied to O(log_dest) on the controller.
  - When the same job already runs under its supervisor, the task attaches to it instead; it shows what the job
    printed so far, then follows it to its end. With O(detach) it returns once the job started.
  - Refuses to start while a container of the same job runs without a supervisor.
  - The container is limited to O(memory) (no swap on top of it), O(cpus) and O(pids) processes and threads, each
    derived from the worker when V(auto) (read in the same command that inspects the job container, no extra round
    trip). A job killed by the out-of-memory killer fails with a message naming the memory limit; a failed job
    whose log shows failed forks, with one naming the pids limit. A job does not start when the data disk has less
    than O(disk_reserve) free.
  - The job is on a network of the collection's own whatever O(egress) is, and never reaches the worker's own
    services. Before each run, in the same command, a fixed script run as root on the worker makes the network
    (C(gcli-offload-jobs), bridge C(gcli-offload0), no traffic between its containers) and writes the firewall
    chains C(GCLI-OFFLOAD-FWD) (from Docker's C(DOCKER-USER)) and C(GCLI-OFFLOAD-IN) (from C(INPUT)) in one
    transaction. They drop the link-local range (the metadata server), the host's published ports and every new
    connection to the host itself. With O(egress=github) the job is on an internal network instead
    (C(gcli-offload-egress)) whose only way out is the egress proxy container C(gcli-offload-proxy), which opens
    tunnels to port 443 of O(egress_allow) only; with O(egress=none) it has no network. When the script fails
    (no root, no iptables), the job does not start.
options:
  image:
    description: The job image.
    type: str
    required: true
  command:
    description:
      - The job's argv, a non-empty list of strings, never a shell string; default C(offload-entrypoint <pr> <action>).
    type: raw
  timeout:
    description: Seconds before the job is killed.
    type: int
    default: 3600
  gemini_dir:
    description: Worker directory mounted read-only at C(/home/node/.gemini). Defaults to O(data_root)C(/gemini).
    type: str
  env:
    description: Extra environment variables for the job (not for secrets, which C(docker inspect) would show).
    type: dict
    default: {}
  log_dest:
    description: Controller directory the log is copied to, as C(<log_dest>/<worker>/<job>/<time>.log).
    type: path
    default: ~/.cache/gcli-offload/logs
  tail_lines:
    description: How many of the log's last lines the result (and a failure message) shows; V(0) shows none.
    type: int
    default: 40
  memory:
    description: Memory limit (bytes, or with C(k), C(m), C(g)); V(auto) is 3/4 of the worker's memory.
    type: raw
    default: auto
  cpus:
    description: CPUs the job may use (C(1.5)); V(auto) is 3/4 of the worker's CPUs, at least 1.
    type: raw
    default: auto
  pids:
    description: Processes and threads the job may have at once; V(auto) is 1024 per worker CPU.
    type: raw
    default: auto
  disk_reserve:
    description:
      - Free space the data root's file system must have for the job to start (bytes, or with C(k), C(m), C(g);
        V(0) turns the check off); V(auto) is 5 % of that file system, at most 2 GiB.
    type: raw
    default: auto
  egress:
    description: What the job can reach, V(open) (the internet), V(github) (the allow-list) or V(none).
    type: raw
    default: open
  egress_allow:
    description: With O(egress=github), the host names or IPv4 addresses the job may reach (C(.example.com) allows
      its subdomains); omitted is GitHub, npm, PyPI and the Gemini API.
    type: raw
  gh_token_file:
    description:
      - The GitHub token file on the worker (see the C(github_auth) role). When the worker has it, it is mounted
        read-only at C(/run/secrets/gh_token) and C(OFFLOAD_GH_TOKEN_FILE) names it; the token itself is never in
        the job's arguments or environment. When the file is missing the job runs without a token.
    type: str
  gemini_key_file:
    description:
      - The Gemini API key file on the worker (see the C(github_auth) role). When the worker has it, it is mounted
        read-only at C(/run/secrets/gemini_api_key), named by C(OFFLOAD_GEMINI_API_KEY_FILE), in the agent's parts
        only (C(ai_review), C(fix), C(implement)); the entrypoint gives it to the gemini CLI's process alone as
        C(GEMINI_API_KEY). Never to the build, C(gh pr checks) or a custom O(command). Masked in the log like the
        token. When the file is missing the agent runs without it.
    type: str
  command_token:
    description: Give a custom O(command) the GitHub token file (the entrypoint's parts get it where they need it).
    type: bool
    default: false
  maintainer:
    description: The maintainer container, where the supervisor's git releases the worktree after the job.
    type: str
    default: maintainer-worker
  keep_worktree:
    description: Keep the worktree after the job (unlocked) instead of removing it.
    type: bool
    default: false
  start_head:
    description: The worktree's head before the job (from C(git_worktree)); with O(keep_worktree), the task is
      changed when the job moved it or left changes.
    type: str
  detach:
    description: Return once the job started, with the command that follows it, instead of following it.
    type: bool
    default: false
extends_documentation_fragment:
  - gcli.offload.job
  - ansible.builtin.action_common_attributes
  - gcli.offload.worker
attributes:
  check_mode:
    support: full
    details: In check mode nothing runs; the result holds the C(docker run) argv.
  diff_mode:
    support: none
  platform:
    platforms: posix
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Run the review job of PR 123
  gcli.offload.job_container:
    pr: 123
    action: review
    data_root: /mnt/disks/offload
    image: us-docker.pkg.dev/my-project/offload/maintainer:latest
    timeout: 1800
  register: offload_job_result

- name: Run a custom command instead of the entrypoint
  gcli.offload.job_container:
    pr: 123
    data_root: /mnt/disks/offload
    image: us-docker.pkg.dev/my-project/offload/maintainer:latest
    command: [npm, test]
'''

RETURN = r'''
job:
  description: The job's name.
  returned: always
  type: str
  sample: offload-123-review
rc:
  description: The job's exit code (124 or 137 when killed at the timeout).
  returned: when the job ran
  type: int
  sample: 0
timed_out:
  description: Whether the job was killed at its timeout.
  returned: when the job ran
  type: bool
duration:
  description: Seconds the job took.
  returned: when the job ran
  type: float
log:
  description: The log's path on the controller.
  returned: when the job ran
  type: str
  sample: /home/me/.cache/gcli-offload/logs/worker/offload-123-review/20261123T101500Z.log
worker_log:
  description: The log's path on the worker.
  returned: when the job ran
  type: str
log_tail:
  description: The log's last lines.
  returned: when the job ran
  type: list
  elements: str
github_token:
  description: Whether the job got the GitHub token file.
  returned: when the job ran
  type: bool
gemini_api_key:
  description: Whether the agent's parts got the Gemini API key file.
  returned: when the job ran
  type: bool
limits:
  description: The limits the job ran with (memory and disk_reserve in bytes).
  returned: always
  type: dict
  sample: {memory: 4294967296, cpus: 1.5, pids: 2048, disk_reserve: 1073741824}
oom_killed:
  description: Present (true) when the out-of-memory killer ended the job at its memory limit.
  returned: when the job was OOM-killed
  type: bool
supervised:
  description: Whether the job runs (or ran) under its supervisor on the worker.
  returned: once the job started
  type: bool
attached:
  description: Whether this task attached to a run that was already going.
  returned: when the job was followed
  type: bool
detached:
  description: Whether the task returned without following the job (O(detach)).
  returned: with O(detach)
  type: bool
stamp:
  description: The run's stamp (its logs are C(<stamp>.*) on the worker).
  returned: once the job started
  type: str
parts:
  description: Each part's state (ok, failed, pending, running, lost), exit code, start and duration in seconds.
  returned: when the job ended
  type: dict
  sample: {build: {state: ok, rc: 0, started: 1764590000, duration: 42}}
lost:
  description: Present (true) when the run's supervisor is gone without an end (the worker restarted).
  returned: when the run was lost
  type: bool
connection_lost:
  description: Present (true) when the worker could not be reached again while following (the job goes on).
  returned: when the connection was lost
  type: bool
worktree_changed:
  description: Whether the job changed what stays (with O(keep_worktree), whether it moved HEAD or left changes).
  returned: when the job ended
  type: bool
argv:
  description: The C(docker run) argv (check mode).
  returned: in check mode
  type: list
  elements: str
'''
