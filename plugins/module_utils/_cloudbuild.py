# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cloud Build triggers (REST API v1): the desired trigger from module options, the
comparison with what exists, and the calls, through the collection's Google plumbing
(credentials from _gcp_auth, retries and error messages from _gcp_retry).

    desired = desired_trigger(params)                 # raises InputError, touches nothing
    api = CloudBuildApi(params)                       # raises GcpAuthError (also for a bad project)
    current = api.find(params['name'])                # None when absent
    changes = compare(current, desired)               # [] when converged
"""

from __future__ import annotations

import copy
import re

from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import (
    check_endpoint_server,
    gcp_argument_spec,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_rest import (  # noqa: F401 pylint: disable=unused-import
    AUTH_REQUESTS_IMPORT_ERROR,  # the modules' import check, re-exported here
    RestApi,
)
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError, option_names, redact_url, shown

# gcloud's override variable for the Cloud Build API, e.g. http://127.0.0.1:PORT/
CLOUDBUILD_ENDPOINT_ENV = 'CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD'
DEFAULT_ENDPOINT = 'https://cloudbuild.googleapis.com'

NAME_RE = re.compile(r'^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,62}[a-zA-Z0-9])?\Z')
SUBSTITUTION_KEY_RE = re.compile(r'^_[A-Z0-9_]+\Z')
LOCATION_RE = re.compile(r'^[a-z][a-z0-9-]*\Z')
GITHUB_NAME_RE = re.compile(r'^[A-Za-z0-9_.-]{1,100}\Z')
SERVICE_ACCOUNT_RE = re.compile(r'^projects/[a-z0-9.:-]+/serviceAccounts/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\Z')

COMMENT_CONTROL = {
    'disabled': 'COMMENTS_DISABLED',
    'required': 'COMMENTS_ENABLED',
    'external_contributors': 'COMMENTS_ENABLED_FOR_EXTERNAL_CONTRIBUTORS_ONLY',
}

# The fields the module manages, in the API's spelling; anything else on an existing
# trigger (approvalConfig, filters...) is kept as it is.
MANAGED = ('description', 'github', 'filename', 'substitutions', 'includedFiles', 'ignoredFiles', 'disabled', 'tags',
           'serviceAccount')

HINTS = {
    400: 'check the options named in the message; a GitHub repository must first be connected to Cloud Build '
         '(the Cloud Build GitHub app) in the project',
    403: 'grant the credentials roles/cloudbuild.builds.editor on the project and enable the Cloud Build API '
         '(cloudbuild.googleapis.com)',
    404: 'check the project and location',
    409: 'a trigger with this name was created meanwhile; re-run the task',
}


def argument_spec():
    """The gcp options (api_endpoint read from gcloud's Cloud Build override) and the trigger's."""
    spec = gcp_argument_spec()
    spec['api_endpoint'] = dict(type='str', fallback=(env_fallback, [CLOUDBUILD_ENDPOINT_ENV]))
    spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        location=dict(type='str', default='global'),
        description=dict(type='str'),
        github_owner=dict(type='str'),
        github_repo=dict(type='str'),
        event=dict(type='str', choices=['push', 'pull_request'], default='push'),
        branch=dict(type='str'),
        tag=dict(type='str'),
        invert_regex=dict(type='bool', default=False),
        comment_control=dict(type='str', choices=list(COMMENT_CONTROL), default='disabled'),
        filename=dict(type='str'),
        substitutions=dict(type='dict'),
        included_files=dict(type='list', elements='str'),
        ignored_files=dict(type='list', elements='str'),
        disabled=dict(type='bool', default=False),
        tags=dict(type='list', elements='str'),
        service_account=dict(type='str'),
    )
    return spec


def cloudbuild_endpoint(value, variables=None):
    """api_endpoint (gcloud's override format ``http://127.0.0.1:8080/``, or with ``/v1``) -> ``scheme://host``.

    Raises InputError naming api_endpoint, or its name in `variables`
    (option -> variable, see _inputs.option_names)."""
    var = option_names(variables)
    if not value:
        return DEFAULT_ENDPOINT
    value = value.strip().rstrip('/')
    if value.endswith('/v1'):
        value = value[:-3]
    if not re.match(r'^https?://[^/]+\Z', value):
        raise InputError(var('api_endpoint'), 'api_endpoint %s: expected a server such as http://127.0.0.1:8080 '
                                              '(gcloud\'s CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD form, '
                                              'http://127.0.0.1:8080/, is accepted)' % shown(redact_url(value)))
    try:
        check_endpoint_server(value)
    except InputError as exc:  # the trigger's field, as the other messages name it
        raise InputError(var('api_endpoint'), '%s; nothing was sent' % exc) from None
    return value


def _check_regex(value, option, variables):
    var = option_names(variables)
    if not isinstance(value, str) or value == '':
        raise InputError(var(option), '%s must be a non-empty regular expression' % option)
    try:
        re.compile(value)
    except re.error as exc:
        raise InputError(var(option), '%s %s is not a valid regular expression: %s'
                         % (option, shown(value), exc)) from None


def validate_name(name, variables=None):
    var = option_names(variables)
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InputError(var('name'), 'name %s is not a valid trigger name: 1 to 64 letters, digits and "-", '
                                      'starting and ending with a letter or a digit' % shown(name))


def validate_location(location, variables=None):
    var = option_names(variables)
    if not isinstance(location, str) or not LOCATION_RE.fullmatch(location):
        raise InputError(var('location'), 'location %s is not a Cloud Build location (global, us-central1, ...)'
                         % shown(location))


def desired_trigger(params, variables=None):
    """The trigger the options describe, in the API's form (only managed fields).

    Raises InputError naming the option, or its name in `variables` (option -> variable, see
    _inputs.option_names). The messages name the trigger's field as well (name, branch...), so
    they read the same under either name.
    """
    var = option_names(variables)
    validate_name(params['name'], variables)
    validate_location(params['location'], variables)
    owner, repo = params.get('github_owner'), params.get('github_repo')
    for option, value in (('github_owner', owner), ('github_repo', repo)):
        if not value:
            raise InputError(var(option), 'state=present needs %s (the GitHub repository whose events start builds)'
                             % option)
        if not isinstance(value, str) or not GITHUB_NAME_RE.fullmatch(value):
            raise InputError(var(option), '%s %s is not a GitHub owner or repository name'
                             % (option, shown(value)))
    github = {'owner': owner, 'name': repo}
    invert = bool(params.get('invert_regex'))
    if params['event'] == 'push':
        if bool(params.get('branch')) == bool(params.get('tag')):
            raise InputError(var('branch'), 'event=push needs exactly one of branch (a branch regex, e.g. ^main$) '
                                            'or tag (a tag regex)')
        key = 'branch' if params.get('branch') else 'tag'
        _check_regex(params[key], key, variables)
        github['push'] = {key: params[key]}
        if invert:
            github['push']['invertRegex'] = True
        if params.get('comment_control') not in (None, 'disabled'):
            raise InputError(var('comment_control'), 'comment_control applies to event=pull_request only')
    else:
        if params.get('tag'):
            raise InputError(var('tag'), 'event=pull_request takes branch (the base branch regex), not tag')
        if not params.get('branch'):
            raise InputError(var('branch'), 'event=pull_request needs branch, the regex of the base branch '
                                            '(e.g. ^main$)')
        _check_regex(params['branch'], 'branch', variables)
        github['pullRequest'] = {'branch': params['branch'],
                                 'commentControl': COMMENT_CONTROL[params.get('comment_control') or 'disabled']}
        if invert:
            github['pullRequest']['invertRegex'] = True
    filename = params.get('filename')
    if not filename:
        raise InputError(var('filename'), 'state=present needs filename, the build config in the repository '
                                          '(e.g. docker/maintainer-worker.yml)')
    if not isinstance(filename, str) or filename.startswith('/') or '..' in filename.split('/'):
        raise InputError(var('filename'), 'filename %s must be a path inside the repository, relative to its '
                                          'root' % shown(filename))
    trigger = {'name': params['name'], 'github': github, 'filename': filename, 'disabled': bool(params['disabled'])}
    if params.get('description') is not None:
        trigger['description'] = params['description']
    subs = params.get('substitutions')
    if subs is not None:
        out = {}
        for key, value in subs.items():
            if not SUBSTITUTION_KEY_RE.fullmatch(str(key)):
                raise InputError(var('substitutions'), 'substitution %s: user substitutions are named _[A-Z0-9_]+ '
                                                       '(e.g. _REPO); built-in ones (PROJECT_ID, BRANCH_NAME...) '
                                                       'cannot be set' % shown(key))
            if isinstance(value, (dict, list)) or value is None:
                raise InputError(var('substitutions'), 'substitution %s must be a string' % shown(key))
            out[str(key)] = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) \
                else str(value)
        trigger['substitutions'] = out
    for option, field in (('included_files', 'includedFiles'), ('ignored_files', 'ignoredFiles'), ('tags', 'tags')):
        if params.get(option) is not None:
            trigger[field] = list(params[option])
    if params.get('service_account'):
        if not isinstance(params['service_account'], str) or not SERVICE_ACCOUNT_RE.fullmatch(params['service_account']):
            raise InputError(var('service_account'), 'service_account %s must be '
                                                     'projects/PROJECT/serviceAccounts/EMAIL'
                             % shown(params['service_account']))
        trigger['serviceAccount'] = params['service_account']
    return trigger


def _normal(field, value):
    """A field's value with the API's defaults dropped, so equal meanings compare equal."""
    if field == 'github' and isinstance(value, dict):
        out = {k: v for k, v in value.items() if k in ('owner', 'name', 'enterpriseConfigResourceName')}
        for event in ('push', 'pullRequest'):
            if isinstance(value.get(event), dict):
                ev = {k: v for k, v in value[event].items() if v not in (None, '', False)}
                if ev.get('commentControl') == 'COMMENTS_DISABLED':
                    del ev['commentControl']
                out[event] = ev
        return out
    if value in (None, '', False, [], {}):
        return None
    return value


def managed_view(trigger, fields):
    """The trigger restricted to ``fields``, defaults dropped (what diff shows and compare uses)."""
    out = {}
    for field in fields:
        value = _normal(field, (trigger or {}).get(field))
        if value is not None:
            out[field] = value
    return out


def compare(current, desired):
    """The managed fields whose meaning differs ([] when the trigger is converged)."""
    fields = [f for f in MANAGED if f in desired]
    before, after = managed_view(current, fields), managed_view(desired, fields)
    return [f for f in fields if before.get(f) != after.get(f)]


def updated_body(current, desired):
    """The full trigger to send: the existing one with the managed fields replaced (unmanaged ones kept)."""
    body = {k: copy.deepcopy(v) for k, v in current.items() if k not in ('createTime', 'resourceName')}
    for field in MANAGED:
        if field in desired:
            if _normal(field, desired[field]) is None and field != 'github':
                body.pop(field, None)
            else:
                body[field] = copy.deepcopy(desired[field])
    body['name'] = desired['name']
    return body


class CloudBuildApi(RestApi):
    """One project's (and location's) build triggers."""

    HINTS = HINTS

    def __init__(self, params, credentials=None, project=None, session=None, sleep=None):
        self.endpoint = cloudbuild_endpoint(params.get('api_endpoint'))  # checked before the credentials
        super().__init__(params, credentials, project, session, sleep)
        self.location = params.get('location') or 'global'

    def _base(self):
        if self.location == 'global':
            return '%s/v1/projects/%s/triggers' % (self.endpoint, quote(self.project, safe=''))
        project, location = quote(self.project, safe=''), quote(self.location, safe='')
        return '%s/v1/projects/%s/locations/%s/triggers' % (self.endpoint, project, location)

    def where(self):
        loc = '' if self.location == 'global' else ' in %s' % self.location
        return 'of project %s%s' % (self.project, loc)

    def list(self):
        """Every trigger (following nextPageToken)."""
        out = []
        token = None
        seen = set()
        while True:
            params = {'pageSize': 100}
            if token:
                params['pageToken'] = token
            page = self._call('GET', self._base(), 'list the build triggers %s' % self.where(), params=params)
            out.extend(page.get('triggers') or [])
            token = page.get('nextPageToken')
            if not token or token in seen:
                return out
            seen.add(token)

    def find(self, name):
        found = [t for t in self.list() if t.get('name') == name]
        return found[0] if found else None

    def create(self, trigger):
        return self._call('POST', self._base(), 'create build trigger %s %s' % (trigger['name'], self.where()),
                          body=trigger)

    def update(self, current, body):
        return self._call('PATCH', '%s/%s' % (self._base(), quote(current['id'], safe='')),
                          'update build trigger %s %s' % (current['name'], self.where()), body=body)

    def delete(self, current):
        return self._call('DELETE', '%s/%s' % (self._base(), quote(current['id'], safe='')),
                          'delete build trigger %s %s' % (current['name'], self.where()))


def converge(params, api, check_mode=False):
    """Plan and (unless check_mode) apply; returns the module result (without diff)."""
    if params['state'] == 'absent':
        validate_name(params['name'])
        validate_location(params['location'])
        desired = None
    else:
        desired = desired_trigger(params)
    current = api.find(params['name'])
    fields = [f for f in MANAGED if desired is None or f in desired]
    before = dict(managed_view(current, fields), name=current['name']) if current else {}
    result = {'changed': False, 'trigger': current, 'before': before}
    if desired is None:
        result['after'] = {}
        if current:
            result['changed'] = True
            result['operation'] = 'delete'
            if not check_mode:
                api.delete(current)
            result['trigger'] = None
        return result
    result['after'] = dict(managed_view(desired, fields), name=desired['name'])
    if current is None:
        result.update(changed=True, operation='create')
        result['trigger'] = desired if check_mode else api.create(desired)
        return result
    changes = compare(current, desired)
    if changes:
        result.update(changed=True, operation='update', changed_fields=changes)
        body = updated_body(current, desired)
        result['trigger'] = body if check_mode else api.update(current, body)
    return result
