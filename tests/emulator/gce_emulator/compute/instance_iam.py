# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An instance's own IAM policy: GET .../instances/NAME/getIamPolicy and
POST .../instances/NAME/setIamPolicy (a ZoneSetPolicyRequest: {policy}).

As Compute Engine answers: a policy nobody set is {version: 1, etag: ACAB}; every
write gives a new etag, and a write with a stale etag is refused (412 conditionNotMet,
Compute's answer to a stale fingerprint), so a read-modify-write is done again. A
binding without members is dropped; a custom role must exist (the IAM part's roles) and
so must a service account of the project. The policy lives and dies with the instance
(keyed by its id: a new instance of the same name starts with none)."""

from __future__ import annotations

import base64
import os

from ..core import ApiError, clone, invalid
from ..iam import MEMBER_RE, ROLE_RE
from .common import N, V1, Z, fingerprint_bytes

EMPTY_ETAG = 'ACAB'


class InstanceIam:
    """The instance-level IAM policy (a part of `Compute`)."""

    def routes(self, r):
        base = V1 + '/zones/' + Z + '/instances/' + N + '/'
        r.add('GET', base + 'getIamPolicy', self.h_instance_getIamPolicy)
        r.add('POST', base + 'setIamPolicy', self.h_instance_setIamPolicy)

    def _instance_policy(self, inst):
        return self.instance_policies.get(inst['id']) or {'version': 1, 'etag': EMPTY_ETAG}

    def h_instance_getIamPolicy(self, req, project, zone, name):
        version = req.arg('optionsRequestedPolicyVersion')
        if version not in (None, '', '1', '2', '3'):
            raise invalid('optionsRequestedPolicyVersion', version, 'Must be 1, 2 or 3.')
        with self.app.lock:
            return clone(self._instance_policy(self.get_instance(project, zone, name)))

    def _check_bindings(self, project, policy):
        bindings = []
        iam = getattr(self.app, 'iam', None)
        for i, binding in enumerate(policy.get('bindings') or []):
            if not isinstance(binding, dict):
                raise invalid('policy.bindings[%d]' % i, binding, 'Must be an object.')
            role, members = binding.get('role'), binding.get('members') or []
            if not isinstance(role, str) or not ROLE_RE.match(role):
                raise ApiError(400, "Role (%s) does not exist in the resource's hierarchy." % role, 'badRequest')
            if iam is not None and role.startswith('projects/') and not iam.role_exists(role):
                raise ApiError(400, "Role (%s) does not exist in the resource's hierarchy." % role, 'badRequest')
            if binding.get('condition'):
                raise ApiError(400, 'Conditions are not supported on this resource type (emulator).', 'badRequest')
            if not members:
                continue    # Google drops a binding without members
            for member in members:
                if not isinstance(member, str) or not MEMBER_RE.match(member):
                    raise ApiError(400, 'Invalid member (%s) in binding %d.' % (member, i), 'badRequest')
                email = member.split(':', 1)[1] if member.startswith('serviceAccount:') else ''
                if (iam is not None and email.endswith('@%s.iam.gserviceaccount.com' % project)
                        and not iam.account_exists(project, email)):
                    raise ApiError(400, 'Service account %s does not exist.' % email, 'badRequest')
            bindings.append({'role': role, 'members': sorted(set(members))})
        return sorted(bindings, key=lambda b: b['role'])

    def h_instance_setIamPolicy(self, req, project, zone, name):
        body = req.json(allow_empty=False)
        policy = body.get('policy')
        if not isinstance(policy, dict):
            raise ApiError(400, "Required field 'policy' not specified", 'required')
        with self.app.lock:
            inst = self.get_instance(project, zone, name)
            bindings = self._check_bindings(project, policy)
            current = self._instance_policy(inst)
            given = policy.get('etag') or body.get('etag')
            # a bytes field: gcloud (apitools) sends it back URL-safe base64-encoded
            if given and fingerprint_bytes(given) != fingerprint_bytes(current['etag']):
                raise ApiError(412, 'Precondition Failed: the policy of %s changed since its etag %s was read; '
                               'read it again and retry' % (name, given), 'conditionNotMet')
            new = {'version': int(policy.get('version') or 1),
                   'etag': base64.b64encode(os.urandom(8)).decode()}
            if bindings:
                new['bindings'] = bindings
            self.instance_policies[inst['id']] = new
            return clone(new)
