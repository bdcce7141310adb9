# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A service account of its own for the worker VM, and its roles on the project: the IAM API
v1 (serviceAccounts create/get) and the Resource Manager API v1 (getIamPolicy/setIamPolicy,
a read-modify-write guarded by the policy's etag: a concurrent change is 409 ABORTED, and
the whole read-modify-write is done again).

`plan_bindings` is pure; `converge` sends the requests, and only those that change something
(no setIamPolicy when every binding is there)."""

from __future__ import annotations

import re
import traceback
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import (
    GcpAuthError,
    check_endpoint_server,
    gcp_argument_spec,
    get_credentials,
    resolve_project,
)
from ansible_collections.gcli.offload.plugins.module_utils._gce_names import validate_project
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import GcpApiError, RetryPolicy, call
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError, redact_url, shown

AUTH_REQUESTS_IMPORT_ERROR = None
try:
    import google.auth.transport.requests
except ImportError:  # pragma: no cover - reported through missing_required_lib
    AUTH_REQUESTS_IMPORT_ERROR = traceback.format_exc()

IAM_ENDPOINT_ENV = 'CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM'
IAM_ENDPOINT = 'https://iam.googleapis.com'
CRM_ENDPOINT = 'https://cloudresourcemanager.googleapis.com'
REQUEST_TIMEOUT = 60.0
# 6-30 characters: a lower-case letter, then letters, digits and -, not ending with -.
ACCOUNT_ID_RE = re.compile(r'^(?=.{6,30}\Z)[a-z][-a-z0-9]*[a-z0-9]\Z')
ROLE_RE = re.compile(r'^(?:roles/[A-Za-z0-9_.]{1,100}|projects/(?P<project>[^/]{1,100})/roles/[A-Za-z0-9_.]{3,64})\Z')
DISPLAY_MAX = 100
# How many times the read-modify-write of the policy is done when another writer changed it meanwhile.
ETAG_ATTEMPTS = 5
HINTS = {
    403: 'the credentials need iam.serviceAccounts.create/get and resourcemanager.projects.getIamPolicy/'
         'setIamPolicy on the project (roles/iam.serviceAccountAdmin and roles/resourcemanager.projectIamAdmin), '
         'and the IAM API (iam.googleapis.com) must be enabled',
    404: 'check the project',
}


def argument_spec():
    spec = gcp_argument_spec()
    spec['api_endpoint'] = dict(type='str', fallback=(env_fallback, [IAM_ENDPOINT_ENV]))
    spec.update(
        account_id=dict(type='str', required=True),
        display_name=dict(type='str', default='gcli.offload worker'),
        roles=dict(type='list', elements='str', default=[]),
    )
    return spec


def endpoints(value):
    """(IAM, Resource Manager) servers: Google's, or both at api_endpoint (gcloud's override form
    http://127.0.0.1:8080/ is accepted)."""
    if not value:
        return IAM_ENDPOINT, CRM_ENDPOINT
    server = value.strip().rstrip('/')
    if server.endswith('/v1'):
        server = server[:-3]
    if not re.match(r'^https?://[^/]+\Z', server):
        raise InputError('api_endpoint', '%s: expected a server such as http://127.0.0.1:8080'
                         % shown(redact_url(server)))
    check_endpoint_server(server)
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


class IamApi:
    """A project's service accounts and IAM policy."""

    def __init__(self, params, credentials=None, project=None, session=None, sleep=None):
        if AUTH_REQUESTS_IMPORT_ERROR:
            raise GcpAuthError('the Python libraries google-auth and requests are required on the host running the '
                               'task (pip install google-auth requests)')
        self.iam, self.crm = endpoints(params.get('api_endpoint'))
        if credentials is None and session is None:
            credentials, project = get_credentials(params, project)
        else:
            project = resolve_project(params, project)
        self.project = project
        self.session = session or google.auth.transport.requests.AuthorizedSession(credentials)
        self.policy = RetryPolicy.from_params(params, **({'sleep': sleep} if sleep else {}))

    def _call(self, method, url, what, body=None):
        def send():
            response = self.session.request(method, url, json=body, timeout=REQUEST_TIMEOUT)
            response.raise_for_status()
            return response.json() if response.content else {}
        return call(send, self.policy, what, HINTS)

    def get_account(self, email):
        try:
            return self._call('GET', '%s/v1/projects/%s/serviceAccounts/%s' % (
                self.iam, quote(self.project, safe=''), quote(email, safe='@')),
                'get service account %s' % email)
        except GcpApiError as exc:
            if exc.code == 404:
                return None
            raise

    def create_account(self, account_id, display):
        return self._call('POST', '%s/v1/projects/%s/serviceAccounts' % (self.iam, quote(self.project, safe='')),
                          'create service account %s in project %s' % (account_id, self.project),
                          {'accountId': account_id, 'serviceAccount': {'displayName': display}})

    def get_policy(self):
        return self._call('POST', '%s/v1/projects/%s:getIamPolicy' % (self.crm, quote(self.project, safe='')),
                          'read the IAM policy of project %s' % self.project,
                          {'options': {'requestedPolicyVersion': 3}})

    def set_policy(self, policy):
        return self._call('POST', '%s/v1/projects/%s:setIamPolicy' % (self.crm, quote(self.project, safe='')),
                          'set the IAM policy of project %s' % self.project, {'policy': policy})


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
    added = []
    for attempt in range(ETAG_ATTEMPTS):
        current = api.get_policy()
        missing, wanted = plan_bindings(current, member, roles)
        if not missing or check_mode:
            added = missing
            break
        try:
            api.set_policy(wanted)  # with the etag read: refused if another writer came first
            added = missing
            break
        except GcpApiError as exc:
            if exc.code != 409 or attempt == ETAG_ATTEMPTS - 1:
                raise
    have_roles = sorted(set(roles) - set(added))
    result = {'changed': created or bool(added), 'created': created, 'email': email, 'member': member,
              'roles_added': added, 'unique_id': (account or {}).get('uniqueId')}
    if diff and result['changed']:
        result['diff'] = {'before': {'service_account': None if created else email, 'roles': have_roles},
                          'after': {'service_account': email, 'roles': roles},
                          'before_header': 'service account %s' % email, 'after_header': 'service account %s' % email}
    return result
