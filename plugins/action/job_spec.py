# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validate a job's inputs on the controller and return its derived spec."""

from __future__ import annotations

from ansible_collections.gcli.offload.plugins.module_utils._jobs import job_spec, validate_bool, validate_docker_bin
from ansible_collections.gcli.offload.plugins.plugin_utils._checks import CheckAction, check_log_dest
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import JOB_ARGUMENT_SPEC, WORKER_ARGUMENT_SPEC


class ActionModule(CheckAction):
    ARGUMENT_SPEC = {
        **JOB_ARGUMENT_SPEC,
        'data_root': {'type': 'raw', 'required': True},  # checked by job_spec, as every input here
        'image': {'type': 'raw', 'required': True},
        'repo_url': {'type': 'raw'},
        'upstream_url': {'type': 'raw'},
        'command': {'type': 'raw'},
        'timeout': {'type': 'raw', 'default': 3600},
        'gemini_dir': {'type': 'raw'},
        'keep_worktree': {'type': 'raw', 'default': False},
        'lock_grace': {'type': 'raw'},
        'memory': {'type': 'raw'},
        'cpus': {'type': 'raw'},
        'pids': {'type': 'raw'},
        'disk_reserve': {'type': 'raw'},
        'log_dest': {'type': 'raw'},
        'egress': {'type': 'raw', 'default': 'open'},
        'egress_allow': {'type': 'raw'},
        # offload_job's own switches (job_container's detach and command_token)
        'detach': {'type': 'raw'},
        'command_token': {'type': 'raw'},
        # The worker group's options (module_defaults for group/gcli.offload.worker), checked
        # here with the job's other inputs, before the worker is touched.
        **WORKER_ARGUMENT_SPEC,
    }
    NOTHING_DONE = 'nothing was done on the worker'

    def check(self, args):
        args = dict(args)
        validate_docker_bin(args.pop('docker_bin'))
        log_dest = args.pop('log_dest')
        switches = {name: validate_bool(args.pop(name), variable)
                    for name, variable in (('detach', 'offload_detach'), ('command_token', 'offload_job_command_token'))
                    if args.get(name) is not None}
        job = job_spec(**{k: v for k, v in args.items() if k not in ('detach', 'command_token')})
        job.update(switches)
        if log_dest is not None:
            job['log_dest'] = check_log_dest(log_dest)
        return {'job': job}

    def what(self, args):
        return 'job'
