#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: attach_command
short_description: The command that opens a shell in a running job or the maintainer container
version_added: 0.1.0
description:
  - The equivalent of C(gcloud compute ssh --container). Checks that the container runs on the worker and returns
    the command that opens an interactive shell in it from the controller, built from the task's connection (the
    C(ssh) host, port, user, key and arguments, and C(become)). Ansible cannot hand a terminal to its user, so
    C(attach.yml) prints this command for you to run.
options:
  pr:
    description: The pull request whose job to attach to; without it, the maintainer container.
    type: raw
  action:
    description: The job's action.
    type: raw
    default: review
  shell:
    description: What to run in the container, a non-empty list of strings (an argv), never a shell string.
    type: raw
    default: [/bin/bash]
extends_documentation_fragment:
  - gcli.offload.job.maintainer
  - ansible.builtin.action_common_attributes
  - gcli.offload.worker
  - gcli.offload.worker.attributes
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: How to open a shell in PR 123's review job
  gcli.offload.attach_command:
    pr: 123
  register: offload_attach
'''

RETURN = r'''
container:
  description: The container.
  returned: always
  type: str
  sample: offload-123-review
argv:
  description: The command, as an argv.
  returned: always
  type: list
  elements: str
command:
  description: The command, quoted for a POSIX shell.
  returned: always
  type: str
  sample: ssh -t -p 22 me@34.1.2.3 -- 'sudo docker exec -it offload-123-review /bin/bash'
'''
