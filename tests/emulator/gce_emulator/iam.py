# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""IAM API v1 service accounts (/v1/projects/P/serviceAccounts[/EMAIL]: create, get, list),
project custom roles (/v1/projects/P/roles[/ID]: create, get, patch with an etag, undelete)
and the Resource Manager v1 project IAM policy (/v1/projects/P:getIamPolicy, :setIamPolicy,
with etags: a stale etag is 409 ABORTED, as Google answers a concurrent change).

A project's policy starts as a new project's does: its owner, and the Compute Engine
default service account and the Google APIs service agent as editors."""

from __future__ import annotations

import base64
import os
import re

from . import seeds
from .core import ApiError, clone

P = r'(?P<project>[^/:]+)'
ACCOUNT_ID_RE = re.compile(r'^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$')
ROLE_RE = re.compile(r'^(?:roles/[A-Za-z0-9_.]+|projects/[^/]+/roles/[A-Za-z0-9_.]+|'
                     r'organizations/[0-9]+/roles/[A-Za-z0-9_.]+)$')
MEMBER_RE = re.compile(r'^(?:user|serviceAccount|group|domain|principal|principalSet):[^\s]+$|^allUsers$|'
                       r'^allAuthenticatedUsers$')
OWNER = 'user:owner@example.com'
ROLE_ID_RE = re.compile(r'^[a-zA-Z0-9_.]{3,64}$')
PERMISSION_RE = re.compile(r'^[a-z][a-zA-Z0-9]*\.[a-zA-Z0-9]+\.[a-zA-Z0-9]+$')
# What queryTestablePermissions lists for a project (gcloud checks a custom role's permissions there).
TESTABLE = ('artifactregistry.repositories.downloadArtifacts', 'compute.instances.get', 'compute.instances.setMetadata',
            'compute.instances.start', 'compute.instances.stop', 'logging.logEntries.create')
STAGES = ('ALPHA', 'BETA', 'GA', 'DEPRECATED', 'DISABLED', 'EAP')


def bad(message):
    return ApiError(400, message, 'badRequest', 'INVALID_ARGUMENT')


def etag():
    return base64.b64encode(os.urandom(8)).decode()


def same_etag(given, current):
    """An etag is a bytes field: gcloud (apitools) sends back the URL-safe base64 of what it got
    (`-`/`_` for `+`/`/`), so compare the decoded bytes, in either alphabet."""
    def decoded(value):
        text = str(value).replace('-', '+').replace('_', '/')
        try:
            return base64.b64decode(text + '=' * (-len(text) % 4), validate=True)
        except ValueError:
            return None
    return decoded(given) is not None and decoded(given) == decoded(current)


class Iam:
    def __init__(self, app):
        self.app = app
        app.iam = self   # Compute's instance policies check roles and accounts here
        self.reset()

    def reset(self):
        self.accounts = {}   # (project, email) -> account
        self.policies = {}   # project -> policy
        self.roles = {}      # (project, role id) -> custom role

    def state(self):
        with self.app.lock:
            return {'accounts': {'/'.join(k): clone(v) for k, v in self.accounts.items()},
                    'policies': clone(self.policies),
                    'roles': {'/'.join(k): clone(v) for k, v in self.roles.items()}}

    def register(self, r):
        base = '/v1/projects/' + P + '/serviceAccounts'
        r.add('POST', base, self.h_create)
        r.add('GET', base, self.h_list)
        r.add('GET', base + '/(?P<account>[^/:]+)', self.h_get)
        r.add('POST', '/v1/permissions:queryTestablePermissions', self.h_testable)
        roles = '/v1/projects/' + P + '/roles'
        r.add('POST', roles, self.h_role_create)
        r.add('GET', roles + '/(?P<role>[^/:]+)', self.h_role_get)
        r.add('PATCH', roles + '/(?P<role>[^/:]+)', self.h_role_patch)
        r.add('POST', roles + '/(?P<role>[^/:]+):undelete', self.h_role_undelete)
        r.add('POST', '/v1/projects/' + P + ':getIamPolicy', self.h_get_policy)
        r.add('POST', '/v1/projects/' + P + ':setIamPolicy', self.h_set_policy)

    # -- service accounts ---------------------------------------------------
    def h_create(self, req, project):
        body = req.json(allow_empty=False)
        account_id = body.get('accountId')
        if not isinstance(account_id, str) or not ACCOUNT_ID_RE.match(account_id):
            raise bad('Invalid account ID: %r. The ID must be 6-30 characters of lower-case letters, digits and '
                      'dashes, start with a letter and not end with a dash.' % (account_id,))
        given = body.get('serviceAccount') or {}
        if not isinstance(given, dict):
            raise bad('Invalid JSON payload received. serviceAccount must be an object.')
        email = '%s@%s.iam.gserviceaccount.com' % (account_id, project)
        with self.app.lock:
            if (project, email) in self.accounts:
                raise ApiError(409, 'Service account %s already exists within project projects/%s.'
                               % (account_id, project), 'alreadyExists', 'ALREADY_EXISTS')
            unique = str(10 ** 20 + int(seeds.stable_id('sa', project, email)) % (9 * 10 ** 20))
            account = {'name': 'projects/%s/serviceAccounts/%s' % (project, email), 'projectId': project,
                       'uniqueId': unique, 'email': email, 'etag': 'MDEwMjE5MjA=', 'oauth2ClientId': unique}
            for key in ('displayName', 'description'):
                if given.get(key):
                    account[key] = str(given[key])
            self.accounts[(project, email)] = account
            return clone(account)

    def _find(self, project, ref):
        for (owner, email), account in self.accounts.items():
            if (project in ('-', owner)) and ref in (email, account['uniqueId']):
                return account
        raise ApiError(404, 'Unknown service account', 'notFound', 'NOT_FOUND')

    def h_get(self, req, project, account):
        with self.app.lock:
            return clone(self._find(project, account))

    def h_list(self, req, project):
        with self.app.lock:
            found = [clone(a) for (p, _e), a in sorted(self.accounts.items()) if p == project]
        return {'accounts': found} if found else {}

    def account_exists(self, project, email):
        return (project, email) in self.accounts

    def h_testable(self, req):
        body = req.json(allow_empty=False)
        # //cloudresourcemanager.googleapis.com/projects/P (gcloud puts an overridden endpoint's host there)
        if not re.match(r'^//[^/]+/(?:projects/[^/]+|organizations/[0-9]+)$', str(body.get('fullResourceName'))):
            raise bad('fullResourceName must name a project or an organization: %r' % (body.get('fullResourceName'),))
        return {'permissions': [{'name': name, 'stage': 'GA', 'customRolesSupportLevel': 'SUPPORTED'}
                                for name in TESTABLE]}

    # -- custom roles ---------------------------------------------------------
    def role_exists(self, name):
        """A live custom role projects/P/roles/ID (what a policy binding may name)."""
        parts = name.split('/')
        role = self.roles.get((parts[1], parts[3])) if len(parts) == 4 else None
        return bool(role) and not role.get('deleted')

    @staticmethod
    def _role_fields(given, role):
        for key in ('title', 'description'):
            if key in given:
                role[key] = str(given[key] or '')
        if 'includedPermissions' in given:
            permissions = given['includedPermissions'] or []
            for permission in permissions:
                if not isinstance(permission, str) or not PERMISSION_RE.match(permission):
                    raise bad('Permission %s is not valid.' % (permission,))
            role['includedPermissions'] = sorted(set(permissions))
        if 'stage' in given:
            if given['stage'] not in STAGES:
                raise bad('Invalid value at \'role.stage\': %r' % (given['stage'],))
            role['stage'] = given['stage']

    def _role(self, project, role_id):
        role = self.roles.get((project, role_id))
        if role is None:
            raise ApiError(404, 'The role named projects/%s/roles/%s was not found.' % (project, role_id),
                           'notFound', 'NOT_FOUND')
        return role

    def h_role_create(self, req, project):
        body = req.json(allow_empty=False)
        role_id = body.get('roleId')
        if not isinstance(role_id, str) or not ROLE_ID_RE.match(role_id):
            raise bad('The role ID %r is not valid: 3-64 letters, digits, _ and .' % (role_id,))
        given = body.get('role') or {}
        if not isinstance(given, dict):
            raise bad('Invalid JSON payload received. role must be an object.')
        with self.app.lock:
            if (project, role_id) in self.roles:
                raise ApiError(409, 'A role named %s in projects/%s already exists.' % (role_id, project),
                               'alreadyExists', 'ALREADY_EXISTS')
            role = {'name': 'projects/%s/roles/%s' % (project, role_id), 'title': role_id, 'stage': 'ALPHA',
                    'includedPermissions': []}
            self._role_fields(given, role)
            role['etag'] = etag()
            self.roles[(project, role_id)] = role
            return clone(role)

    def h_role_get(self, req, project, role):
        with self.app.lock:
            return clone(self._role(project, role))

    def h_role_patch(self, req, project, role):
        body = req.json(allow_empty=False)
        mask = [f for f in (req.arg('updateMask') or '').split(',') if f]
        with self.app.lock:
            current = self._role(project, role)
            if current.get('deleted'):
                raise bad('You can\'t update a deleted role. Undelete it first.')
            if body.get('etag') and not same_etag(body['etag'], current['etag']):
                raise ApiError(409, 'There were concurrent policy changes. Please retry the whole read-modify-write '
                               'with exponential backoff.', 'aborted', 'ABORTED')
            self._role_fields({k: v for k, v in body.items() if not mask or k in mask}, current)
            current['etag'] = etag()
            return clone(current)

    def h_role_undelete(self, req, project, role):
        req.json()
        with self.app.lock:
            current = self._role(project, role)
            current.pop('deleted', None)
            current['etag'] = etag()
            return clone(current)

    # -- the project's IAM policy -------------------------------------------
    def _policy(self, project):
        policy = self.policies.get(project)
        if policy is None:
            number = seeds.project_number(project)
            policy = {'version': 1, 'etag': etag(), 'bindings': [
                {'role': 'roles/editor', 'members': [
                    'serviceAccount:%s-compute@developer.gserviceaccount.com' % number,
                    'serviceAccount:%s@cloudservices.gserviceaccount.com' % number]},
                {'role': 'roles/owner', 'members': [OWNER]}]}
            self.policies[project] = policy
        return policy

    def h_get_policy(self, req, project):
        req.json()
        with self.app.lock:
            return clone(self._policy(project))

    def h_set_policy(self, req, project):
        body = req.json(allow_empty=False)
        policy = body.get('policy')
        if not isinstance(policy, dict):
            raise bad('Invalid JSON payload received. policy is required.')
        bindings = []
        for i, binding in enumerate(policy.get('bindings') or []):
            role = (binding or {}).get('role')
            members = (binding or {}).get('members') or []
            if not isinstance(role, str) or not ROLE_RE.match(role) or (
                    role.startswith('projects/') and not self.role_exists(role)):
                raise bad('Role (%s) does not exist in the resource\'s hierarchy.' % role)
            if not members:
                continue    # Google drops a binding without members
            for member in members:
                if not isinstance(member, str) or not MEMBER_RE.match(member):
                    raise bad('Invalid member (%s) in binding %d.' % (member, i))
            bindings.append({'role': role, 'members': sorted(set(members))})
        with self.app.lock:
            current = self._policy(project)
            if policy.get('etag') and not same_etag(policy['etag'], current['etag']):
                raise ApiError(409, 'There were concurrent policy changes. Please retry the whole read-modify-write '
                               'with exponential backoff.', 'aborted', 'ABORTED')
            for binding in bindings:
                for member in binding['members']:
                    if member.startswith('serviceAccount:') and member.endswith('@%s.iam.gserviceaccount.com'
                                                                                % project):
                        if (project, member.split(':', 1)[1]) not in self.accounts:
                            raise bad('Service account %s does not exist.' % member.split(':', 1)[1])
            new = {'version': int(policy.get('version') or 1), 'etag': etag(),
                   'bindings': sorted(bindings, key=lambda b: b['role'])}
            self.policies[project] = new
            return clone(new)
