# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A service account of its own for the worker VM, and its roles: the IAM API v1
(serviceAccounts create/get; a project custom role create/get/patch/undelete), the Resource
Manager API v1 (the project's getIamPolicy/setIamPolicy) and Compute Engine v1 (one instance's
getIamPolicy/setIamPolicy). Each policy change is a read-modify-write guarded by the policy's
etag: a concurrent change (409 ABORTED; Compute answers 412 conditionNotMet) makes the whole
read-modify-write be done again.

`plan_bindings` is pure; `converge` sends the requests, and only those that change something
(no create, patch or setIamPolicy when everything is there)."""

from __future__ import annotations

import re
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import (
    COMPUTE_ENDPOINT_ENV,
    check_endpoint_server,
    gcp_argument_spec,
    validate_compute_endpoint,
)
from ansible_collections.gcli.offload.plugins.module_utils._gce_names import validate_name, validate_project
from ansible_collections.gcli.offload.plugins.module_utils._gcp_rest import AUTH_REQUESTS_IMPORT_ERROR, RestApi
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import GcpApiError
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError, redact_url, shown

__all__ = ['AUTH_REQUESTS_IMPORT_ERROR', 'IamApi', 'argument_spec', 'converge', 'validate']

IAM_ENDPOINT_ENV = 'CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM'
IAM_ENDPOINT = 'https://iam.googleapis.com'
CRM_ENDPOINT = 'https://cloudresourcemanager.googleapis.com'
COMPUTE_ENDPOINT = 'https://compute.googleapis.com'
# 6-30 characters: a lower-case letter, then letters, digits and -, not ending with -.
ACCOUNT_ID_RE = re.compile(r'^(?=.{6,30}\Z)[a-z][-a-z0-9]*[a-z0-9]\Z')
ROLE_RE = re.compile(r'^(?:roles/[A-Za-z0-9_.]{1,100}|projects/(?P<project>[^/]{1,100})/roles/[A-Za-z0-9_.]{3,64})\Z')
ROLE_ID_RE = re.compile(r'^[A-Za-z0-9_.]{3,64}\Z')
DISPLAY_MAX = 100
# How many times the read-modify-write of a policy is done when another writer changed it meanwhile.
ETAG_ATTEMPTS = 5
CONCURRENT = (409, 412)
# What the worker needs to stop itself (the idle-stop timer's one call, instances.stop, which
# it does not poll): nothing else, granted on its own instance only.
STOP_PERMISSIONS = ['compute.instances.stop']
DEFAULT_STOP_ROLE_ID = 'gcliOffloadInstanceStop'
STOP_ROLE_TITLE = 'gcli.offload: stop an instance'
STOP_ROLE_DESCRIPTION = ('Only compute.instances.stop. gcli.offload grants it to a worker\'s service account on '
                         'that worker\'s instance alone, so that the worker can stop itself when idle.')
HINTS = {
    403: 'the credentials need iam.serviceAccounts.create/get and resourcemanager.projects.getIamPolicy/'
         'setIamPolicy on the project (roles/iam.serviceAccountAdmin and roles/resourcemanager.projectIamAdmin), '
         'for a stoppable instance also iam.roles.create/get/update (roles/iam.roleAdmin) and '
         'compute.instances.getIamPolicy/setIamPolicy (roles/compute.instanceAdmin.v1), and the IAM API '
         '(iam.googleapis.com) must be enabled; or provision with offload_worker_service_account=default',
    404: 'check the project',
}
INSTANCE_HINTS = dict(HINTS)
INSTANCE_HINTS[404] = 'check the instance\'s name and zone: it must exist before its own policy can be changed'


def argument_spec():
    spec = gcp_argument_spec()
    spec['api_endpoint'] = dict(type='str', fallback=(env_fallback, [IAM_ENDPOINT_ENV]))
    spec.update(
        account_id=dict(type='str', required=True),
        display_name=dict(type='str', default='gcli.offload worker'),
        roles=dict(type='list', elements='str', default=[]),
        stop_instance=dict(type='dict', options=dict(
            name=dict(type='str', required=True),
            zone=dict(type='str', required=True),
        )),
        stop_role_id=dict(type='str', default=DEFAULT_STOP_ROLE_ID),
        compute_endpoint=dict(type='str', fallback=(env_fallback, [COMPUTE_ENDPOINT_ENV])),
    )
    return spec


def endpoints(value, variable='api_endpoint'):
    """(IAM, Resource Manager) servers: Google's, or both at api_endpoint (gcloud's override form
    http://127.0.0.1:8080/ is accepted). Raises InputError naming `variable`."""
    if not value:
        return IAM_ENDPOINT, CRM_ENDPOINT
    server = value.strip().rstrip('/')
    if server.endswith('/v1'):
        server = server[:-3]
    if not re.match(r'^https?://[^/]+\Z', server):
        raise InputError(variable, '%s: expected a server such as http://127.0.0.1:8080'
                         % shown(redact_url(server)))
    check_endpoint_server(server, variable)
    return server, server


def validate(params):
    """The options checked before any request: (account id, display name, sorted roles)."""
    account_id = params['account_id']
    if not isinstance(account_id, str) or not ACCOUNT_ID_RE.match(account_id):
        raise InputError('account_id', '%s is not a service account id (6-30 lower-case letters, digits and -, '
                                       'starting with a letter, not ending with -)' % shown(account_id))
    display = params['display_name'] or ''
    if len(display) > DISPLAY_MAX or any(ord(c) < 32 for c in display):
        raise InputError('display_name', 'must be at most %d printable characters' % DISPLAY_MAX)
    roles = sorted(set(params['roles'] or []))
    for role in roles:
        found = ROLE_RE.match(role)
        if found and found.group('project'):
            try:
                validate_project(found.group('project'), 'roles')
            except InputError:
                found = None
        if not found:
            raise InputError('roles', '%s is not a role (roles/NAME or projects/PROJECT/roles/NAME)' % shown(role))
    endpoints(params.get('api_endpoint'))
    validate_compute_endpoint(params.get('compute_endpoint'), 'compute_endpoint')
    stop = params.get('stop_instance')
    if stop:
        validate_name(stop.get('name'), 'stop_instance.name')
        validate_name(stop.get('zone'), 'stop_instance.zone')
        role_id = params.get('stop_role_id') or DEFAULT_STOP_ROLE_ID
        if not ROLE_ID_RE.match(role_id):
            raise InputError('stop_role_id', '%s is not a custom role id (3-64 letters, digits, _ and .)'
                             % shown(role_id))
    return account_id, display, roles


def plan_bindings(policy, member, roles):
    """(the roles missing for member, the policy with them added); the policy is not changed."""
    bindings = [dict(b, members=list(b.get('members') or [])) for b in policy.get('bindings') or []]
    missing = []
    for role in roles:
        plain = [b for b in bindings if b.get('role') == role and not b.get('condition')]
        if any(member in b['members'] for b in plain):
            continue
        missing.append(role)
        if plain:
            plain[0]['members'].append(member)
        else:
            bindings.append({'role': role, 'members': [member]})
    return missing, dict(policy, bindings=bindings)


class IamApi(RestApi):
    """A project's service accounts, custom roles and IAM policies (the project's, an instance's)."""

    HINTS = HINTS

    def __init__(self, params, credentials=None, project=None, session=None, sleep=None):
        self.iam, self.crm = endpoints(params.get('api_endpoint'))  # checked before the credentials
        self.compute = validate_compute_endpoint(params.get('compute_endpoint'), 'compute_endpoint') \
            or COMPUTE_ENDPOINT
        super().__init__(params, credentials, project, session, sleep)

    def _project(self):
        return quote(self.project, safe='')

    def get_account(self, email):
        try:
            return self._call('GET', '%s/v1/projects/%s/serviceAccounts/%s' % (
                self.iam, self._project(), quote(email, safe='@')),
                'get service account %s' % email)
        except GcpApiError as exc:
            if exc.code == 404:
                return None
            raise

    def create_account(self, account_id, display):
        return self._call('POST', '%s/v1/projects/%s/serviceAccounts' % (self.iam, self._project()),
                          'create service account %s in project %s' % (account_id, self.project),
                          {'accountId': account_id, 'serviceAccount': {'displayName': display}})

    def get_policy(self):
        return self._call('POST', '%s/v1/projects/%s:getIamPolicy' % (self.crm, self._project()),
                          'read the IAM policy of project %s' % self.project,
                          {'options': {'requestedPolicyVersion': 3}})

    def set_policy(self, policy):
        return self._call('POST', '%s/v1/projects/%s:setIamPolicy' % (self.crm, self._project()),
                          'set the IAM policy of project %s' % self.project, {'policy': policy})

    # -- a project custom role ------------------------------------------------
    def _role_url(self, role_id=None):
        url = '%s/v1/projects/%s/roles' % (self.iam, self._project())
        return url + '/' + quote(role_id, safe='') if role_id else url

    def get_role(self, role_id):
        try:
            return self._call('GET', self._role_url(role_id), 'get custom role %s' % role_id)
        except GcpApiError as exc:
            if exc.code == 404:
                return None
            raise

    def create_role(self, role_id, role):
        return self._call('POST', self._role_url(), 'create custom role %s in project %s' % (role_id, self.project),
                          {'roleId': role_id, 'role': role})

    def undelete_role(self, role_id, etag):
        return self._call('POST', self._role_url(role_id) + ':undelete', 'undelete custom role %s' % role_id,
                          {'etag': etag})

    def patch_role(self, role_id, role):
        return self._call('PATCH', self._role_url(role_id), 'update custom role %s' % role_id, role,
                          params={'updateMask': 'title,description,includedPermissions,stage'})

    # -- an instance's own policy ---------------------------------------------
    def _instance_url(self, zone, name):
        return '%s/compute/v1/projects/%s/zones/%s/instances/%s' % (
            self.compute, self._project(), quote(zone, safe=''), quote(name, safe=''))

    def get_instance_policy(self, zone, name):
        """The instance's policy, or None when there is no such instance."""
        try:
            return self._call('GET', self._instance_url(zone, name) + '/getIamPolicy',
                              'read the IAM policy of instance %s in %s' % (name, zone),
                              params={'optionsRequestedPolicyVersion': 3}, hints=INSTANCE_HINTS)
        except GcpApiError as exc:
            if exc.code == 404:
                return None
            raise

    def set_instance_policy(self, zone, name, policy):
        return self._call('POST', self._instance_url(zone, name) + '/setIamPolicy',
                          'set the IAM policy of instance %s in %s' % (name, zone), {'policy': policy},
                          hints=INSTANCE_HINTS)


def ensure_stop_role(api, role_id, check_mode=False):
    """The custom role that holds exactly STOP_PERMISSIONS: (its name, whether it was or would be
    created or changed). A role of that id deleted within Google's 7 days is undeleted, since
    its id cannot be reused meanwhile."""
    name = 'projects/%s/roles/%s' % (api.project, role_id)
    wanted = {'title': STOP_ROLE_TITLE, 'description': STOP_ROLE_DESCRIPTION,
              'includedPermissions': list(STOP_PERMISSIONS), 'stage': 'GA'}
    current = api.get_role(role_id)
    if current is None:
        if not check_mode:
            try:
                api.create_role(role_id, wanted)
            except GcpApiError as exc:
                if exc.code != 409:
                    raise
                return name, ensure_stop_role(api, role_id)[1]  # made meanwhile by another run
        return name, True
    changed = False
    if current.get('deleted'):
        changed = True
        if not check_mode:
            current = api.undelete_role(role_id, current.get('etag'))
    if sorted(current.get('includedPermissions') or []) != STOP_PERMISSIONS or current.get('stage') != 'GA':
        changed = True
        if not check_mode:
            api.patch_role(role_id, dict(wanted, etag=current.get('etag')))
    return name, changed


def _read_modify_write(read, write, member, roles, check_mode, missing=None):
    """Add member to each of roles in the policy read(); write(policy) guarded by its etag, the whole
    read-modify-write again on a concurrent change. -> the roles added (or that would be).

    read() returns None when the resource is not there: in check mode, every role would be added
    (it may be created by the same run); else GcpApiError(404, missing)."""
    for attempt in range(ETAG_ATTEMPTS):
        current = read()
        if current is None:
            if check_mode:
                return list(roles)
            raise GcpApiError(missing or 'the resource does not exist', code=404)
        missing, wanted = plan_bindings(current, member, roles)
        if not missing or check_mode:
            return missing
        try:
            write(wanted)  # with the etag read: refused if another writer came first
            return missing
        except GcpApiError as exc:
            if exc.code not in CONCURRENT or attempt == ETAG_ATTEMPTS - 1:
                raise
    return []  # pragma: no cover - the loop returns or raises


def converge(api, params, check_mode=False, diff=False):
    """Ensure the service account and its roles on the project; the module's result."""
    account_id, display, roles = validate(params)
    email = '%s@%s.iam.gserviceaccount.com' % (account_id, api.project)
    member = 'serviceAccount:' + email
    account = api.get_account(email)
    created = account is None
    if created and not check_mode:
        try:
            account = api.create_account(account_id, display)
        except GcpApiError as exc:
            if exc.code != 409:
                raise
            account = api.get_account(email)  # created meanwhile (another run)
    added = _read_modify_write(api.get_policy, api.set_policy, member, roles, check_mode)
    have_roles = sorted(set(roles) - set(added))
    result = {'changed': created or bool(added), 'created': created, 'email': email, 'member': member,
              'roles_added': added, 'unique_id': (account or {}).get('uniqueId'),
              'stop_role': None, 'instance_roles_added': []}
    before, after = {'service_account': None if created else email, 'roles': have_roles}, \
        {'service_account': email, 'roles': roles}
    stop = params.get('stop_instance')
    if stop:
        role_name, role_changed = ensure_stop_role(api, params.get('stop_role_id') or DEFAULT_STOP_ROLE_ID,
                                                   check_mode)
        zone, name = stop['zone'], stop['name']
        instance_added = _read_modify_write(
            lambda: api.get_instance_policy(zone, name), lambda policy: api.set_instance_policy(zone, name, policy),
            member, [role_name], check_mode,
            missing='instance %s in zone %s does not exist, so its own policy cannot be set: create it first '
                    '(provision.yml does, before this step)' % (name, zone))
        result.update(stop_role=role_name, instance_roles_added=instance_added)
        result['changed'] = result['changed'] or role_changed or bool(instance_added)
        key = 'instance %s/%s' % (zone, name)
        before['stop_role'] = None if role_changed else STOP_PERMISSIONS
        after['stop_role'] = STOP_PERMISSIONS
        before[key] = [] if instance_added else [role_name]
        after[key] = [role_name]
    if diff and result['changed']:
        result['diff'] = {'before': before, 'after': after,
                          'before_header': 'service account %s' % email, 'after_header': 'service account %s' % email}
    return result
