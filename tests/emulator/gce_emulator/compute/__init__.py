# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compute Engine API v1 under /compute/v1/: the resources gcli.offload and
gcloud use, validated like GCE, with asynchronous operations.

One module per resource, each a part of the `Compute` class below (they share
its state and lock): `projects`, `zones` (and regions, machine and disk
types), `images`, `instances`, `instance_actions` (start, stop, set*,
attach/detach), `instance_iam` (the instance's IAM policy), `disks`,
`operations`, `networks` (and subnetworks), `firewalls`; `common` holds the rules every resource shares, `listing` the
filters and paging of list calls.
"""

from __future__ import annotations

import json

from .disks import Disks
from .firewalls import Firewalls
from .images import Images
from .instance_actions import InstanceActions
from .instance_iam import InstanceIam
from .instances import Instances
from .networks import Networks
from .operations import Operations, _Idempotent
from .projects import Projects
from .zones import Zones

# in the order their routes are registered
PARTS = (Projects, Zones, Images, Instances, InstanceActions, InstanceIam, Disks, Operations, Networks, Firewalls)


class Compute(*PARTS):
    """State of the Compute Engine API, and the dispatcher of its routes."""

    def __init__(self, app):
        self.app = app
        self.waiting = 0          # operations wait calls in flight
        self.reset()

    def reset(self):
        self.projects = {}
        self.instances = {}       # (project, zone, name) -> instance
        self.instance_policies = {}  # instance id -> its IAM policy (instance_iam)
        self.disks = {}           # (project, zone, name) -> disk
        self.networks = {}        # (project, name)
        self.subnetworks = {}     # (project, region, name)
        self.firewalls = {}       # (project, name)
        self.operations = {}      # (project, scope, name) -> operation; scope 'global', 'zones/Z', 'regions/R'
        self.request_ids = {}     # (project, requestId) -> the operation that request created
        self.ip_counter = {}
        self.nat_counter = 0
        self.images = self.seeded_images()

    def register(self, router):
        r = _Idempotent(router, self)
        for part in PARTS:
            part.routes(self, r)

    def state(self):
        with self.app.lock:
            return json.loads(json.dumps({
                'instances': {'/'.join(k): v for k, v in self.instances.items()},
                'instance_policies': {'/'.join(k): self.instance_policies[v['id']]
                                      for k, v in self.instances.items() if v['id'] in self.instance_policies},
                'disks': {'/'.join(k): v for k, v in self.disks.items()},
                'networks': {'/'.join(k): v for k, v in self.networks.items()},
                'subnetworks': {'/'.join(k): v for k, v in self.subnetworks.items()},
                'firewalls': {'/'.join(k): v for k, v in self.firewalls.items()},
                'operations': len(self.operations),
                'waiting': self.waiting,
                'projects': {k: v['commonInstanceMetadata'] for k, v in self.projects.items()},
            }))
