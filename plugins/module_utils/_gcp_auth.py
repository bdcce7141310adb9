# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Google credentials from the options of the `gcli.offload.gcp` doc fragment.

API for every Google-facing plugin:

    from ..module_utils._gcp_auth import gcp_argument_spec, get_credentials, GcpAuthError
    spec = dict(gcp_argument_spec(), my_option=dict(...))
    credentials, project = get_credentials(module.params)   # raises GcpAuthError
    token = access_token(credentials)                         # a bearer token (registries)

Only this file decides how an `auth_kind` becomes credentials, and which project a
request goes to (resolve_project: the option, else the first of PROJECT_ENV set,
else the credentials' project). The project goes into every request's URL, so it is
checked here (validate_project), whatever its source, before any request.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import sys

from ansible.module_utils.basic import env_fallback

from ansible_collections.gcli.offload.plugins.module_utils._gce_names import validate_project
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError, check_url_authority, redact_url, shown


def _find_google_auth():
    """None when google-auth is installed, else why not (found without importing it)."""
    try:
        if importlib.util.find_spec('google.auth') is not None:
            return None
    except (ImportError, ValueError) as exc:
        return 'cannot import google.auth: %s: %s' % (type(exc).__name__, exc)
    return 'cannot import google.auth: no module named google.auth'


# google-auth (and requests under it) is imported on first use, not with this file: reading
# a registry anonymously or with a password needs none of it (0.1 s of a module's start-up).
GOOGLE_AUTH_IMPORT_ERROR = _find_google_auth()
_AUTH_MODULES = ('google.auth', 'google.auth.exceptions', 'google.auth.transport.requests',
                 'google.oauth2.credentials', 'google.oauth2.service_account')


def _google():
    """The `google` package with the google-auth modules used here imported."""
    for name in _AUTH_MODULES:
        importlib.import_module(name)
    return sys.modules['google']


AUTH_KINDS = ('application', 'serviceaccount', 'accesstoken', 'machineaccount')
DEFAULT_SCOPES = ['https://www.googleapis.com/auth/cloud-platform']
SCOPE_PREFIX = 'https://www.googleapis.com/auth/'


def _scopes(*names):
    return tuple(SCOPE_PREFIX + name for name in names)


# The scope aliases gcloud accepts in `--scopes` (gcloud compute instances create --help lists
# them), with the same meanings: an alias is not always its URL's last segment (compute-ro is
# compute.readonly, storage-ro devstorage.read_only), and `default`/`gke-default` are several scopes.
_GCE_DEFAULT = _scopes('devstorage.read_only', 'logging.write', 'monitoring.write', 'pubsub',
                       'service.management.readonly', 'servicecontrol', 'trace.append')
SCOPE_ALIASES = {
    'bigquery': _scopes('bigquery'),
    'cloud-platform': _scopes('cloud-platform'),
    'cloud-source-repos': _scopes('source.full_control'),
    'cloud-source-repos-ro': _scopes('source.read_only'),
    'compute-ro': _scopes('compute.readonly'),
    'compute-rw': _scopes('compute'),
    'datastore': _scopes('datastore'),
    'default': _GCE_DEFAULT,
    'gke-default': _scopes('devstorage.read_only', 'logging.write', 'monitoring', 'service.management.readonly',
                           'servicecontrol', 'trace.append'),
    'logging-write': _scopes('logging.write'),
    'monitoring': _scopes('monitoring'),
    'monitoring-read': _scopes('monitoring.read'),
    'monitoring-write': _scopes('monitoring.write'),
    'pubsub': _scopes('pubsub'),
    'service-control': _scopes('servicecontrol'),
    'service-management': _scopes('service.management.readonly'),
    'sql': _scopes('sqlservice'),  # deprecated by gcloud: it grants no instance management
    'sql-admin': _scopes('sqlservice.admin'),
    'storage-full': _scopes('devstorage.full_control'),
    'storage-ro': _scopes('devstorage.read_only'),
    'storage-rw': _scopes('devstorage.read_write'),
    'taskqueue': _scopes('taskqueue'),
    'trace': _scopes('trace.append'),
    'userinfo-email': _scopes('userinfo.email'),
}
# A scope URL, or a short name (an alias, else a scope name under SCOPE_PREFIX such as compute.readonly).
_SCOPE_URL_RE = re.compile(r'^https://[A-Za-z0-9.-]{1,253}/[A-Za-z0-9._~/-]{1,200}\Z')
_SCOPE_NAME_RE = re.compile(r'^[a-z][a-z0-9._-]{0,99}\Z')
# gcloud's override variable for the Compute API, e.g. http://127.0.0.1:PORT/compute/v1/
COMPUTE_ENDPOINT_ENV = 'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE'


# Where the project comes from when the option is not set (the first one set), as gcloud reads them.
PROJECT_ENV = ('CLOUDSDK_CORE_PROJECT', 'GOOGLE_CLOUD_PROJECT', 'GCP_PROJECT')


class GcpAuthError(Exception):
    """Credentials could not be made; the message says what to do."""


def resolve_project(params, project=None, credentials_project=None, environ=None):
    """The project the requests go to, checked by validate_project; raises GcpAuthError.

    The first non-empty of: `project` (given by the calling code), the project option,
    the environment variables PROJECT_ENV in order, the project the credentials name.
    A refusal names where the value came from, e.g. "project (from CLOUDSDK_CORE_PROJECT): ...".
    """
    environ = os.environ if environ is None else environ
    candidates = [('project', project), ('project', params.get('project'))]
    candidates += [('project (from %s)' % name, environ.get(name)) for name in PROJECT_ENV]
    candidates.append(('project (from the credentials)', credentials_project))
    for source, value in candidates:
        if value in (None, ''):
            continue
        try:
            return validate_project(value, source)
        except InputError as exc:
            raise GcpAuthError('%s; nothing was sent: set it to the project ID (`gcloud projects list` shows '
                               'it)' % exc) from None
    raise GcpAuthError('no project: set the project option or %s' % '/'.join(PROJECT_ENV[:2]))


def gcp_argument_spec():
    """The options of the `gcli.offload.gcp` doc fragment (a fresh dict each call)."""
    return dict(
        # no env fallback: resolve_project reads PROJECT_ENV, so a refusal can say where the value came from
        project=dict(type='str'),
        auth_kind=dict(type='str', choices=list(AUTH_KINDS), default='application',
                       fallback=(env_fallback, ['GCP_AUTH_KIND'])),
        service_account_file=dict(type='path', fallback=(env_fallback, ['GCP_SERVICE_ACCOUNT_FILE',
                                                                        'GOOGLE_APPLICATION_CREDENTIALS'])),
        # raw, not jsonarg: no_log masks a dict's leaves, which a JSON re-encoding would escape past.
        service_account_contents=dict(type='raw', no_log=True,
                                      fallback=(env_fallback, ['GCP_SERVICE_ACCOUNT_CONTENTS'])),
        service_account_email=dict(type='str', fallback=(env_fallback, ['GCP_SERVICE_ACCOUNT_EMAIL'])),
        access_token=dict(type='str', no_log=True,
                          fallback=(env_fallback, ['CLOUDSDK_AUTH_ACCESS_TOKEN', 'GCP_ACCESS_TOKEN'])),
        scopes=dict(type='list', elements='str', fallback=(env_fallback, ['GCP_SCOPES'])),
        api_endpoint=dict(type='str', fallback=(env_fallback, [COMPUTE_ENDPOINT_ENV])),
        timeout=dict(type='int', default=600),
        request_retries=dict(type='int', default=6),
        retry_initial_delay=dict(type='float', default=1.0),
        retry_max_delay=dict(type='float', default=30.0),
    )


def expand_scopes(scopes, variable='scopes'):
    """Scope URLs for `scopes` (None or empty: DEFAULT_SCOPES), in order, each once.

    A URL stays as is; an alias of SCOPE_ALIASES becomes its URLs (gcloud's table: compute-ro is
    .../auth/compute.readonly); another short name is a scope name under SCOPE_PREFIX
    (compute.readonly). Anything else raises InputError naming `variable`.
    """
    out = []
    for scope in scopes or DEFAULT_SCOPES:
        if isinstance(scope, str) and _SCOPE_URL_RE.match(scope):
            urls = (scope,)
        elif isinstance(scope, str) and _SCOPE_NAME_RE.match(scope):
            urls = SCOPE_ALIASES.get(scope, (SCOPE_PREFIX + scope,))
        else:
            raise InputError(variable, 'must be scope URLs (https://www.googleapis.com/auth/...) or gcloud\'s '
                             'aliases (%s), got %s' % (', '.join(sorted(SCOPE_ALIASES)), shown(scope)))
        out += [url for url in urls if url not in out]
    return out


def compute_endpoint(value, variable='api_endpoint'):
    """The api_endpoint value (gcloud's override format) as the client's host.

    `http://127.0.0.1:8080/compute/v1/` -> `http://127.0.0.1:8080`; `https://h/` -> `https://h`;
    a bare host stays a host (the client then uses https). None/'' -> None (Google's endpoint).
    Raises GcpAuthError; validate_compute_endpoint is the same check raising InputError.
    """
    try:
        return validate_compute_endpoint(value, variable)
    except InputError as exc:
        raise GcpAuthError('%s; nothing was sent' % exc) from None


def validate_compute_endpoint(value, variable='api_endpoint'):
    """compute_endpoint's rule and result; raises InputError naming `variable`."""
    if not value:
        return None
    value = value.strip().rstrip('/')
    for suffix in ('/compute/v1', '/compute/beta', '/compute/alpha', '/compute'):
        if value.endswith(suffix):
            value = value[:-len(suffix)]
            break
    if '/' in value.split('://', 1)[-1]:
        raise InputError(variable, '%s: expected a server such as http://127.0.0.1:8080 or the gcloud form '
                                   'http://127.0.0.1:8080/compute/v1/, not another path' % shown(redact_url(value)))
    check_endpoint_server(value, variable)
    return value


def check_endpoint_server(value, variable='api_endpoint'):
    """An API endpoint's `[http[s]://]host[:port]`: no credentials, no host an HTTP client could
    read as an option; raises InputError naming `variable`, never showing credentials."""
    scheme, sep, netloc = value.rpartition('://')
    if sep and scheme not in ('http', 'https'):
        raise InputError(variable, '%s: expected an http:// or https:// server' % shown(redact_url(value)))
    check_url_authority(netloc, variable, what='the endpoint', hint=(
        'they would travel to the server and show in errors; credentials come from auth_kind and its options'))


def _scoped(credentials, scopes):
    if getattr(credentials, 'requires_scopes', False):
        return credentials.with_scopes(scopes)
    return credentials


def get_credentials(params, project=None, need_project=True):
    """(credentials, project) for the options in `params`; raises GcpAuthError.

    The project is resolve_project's: `project`, else the `project` option, else
    PROJECT_ENV, else the one the credentials name (the service-account JSON's
    project_id, application default credentials' project), checked. With
    need_project=False (a caller that sends no project, e.g. a registry read) it is
    None and nothing about it is checked.
    """
    if GOOGLE_AUTH_IMPORT_ERROR:
        raise GcpAuthError('the Python library google-auth is required on the host running the task '
                           '(pip install google-auth)')
    try:
        google = _google()
    except ImportError as exc:
        raise GcpAuthError('the Python library google-auth is installed but cannot be imported on the host running '
                           'the task (%s: %s); reinstall it (pip install --force-reinstall google-auth)'
                           % (type(exc).__name__, exc)) from None
    kind = params.get('auth_kind') or 'application'
    try:
        scopes = expand_scopes(params.get('scopes'))
    except InputError as exc:
        raise GcpAuthError('%s; nothing was sent' % exc) from None
    found = None
    try:
        if kind == 'application':
            credentials, found = google.auth.default(scopes=scopes)
        elif kind == 'serviceaccount':
            info = _service_account_info(params)
            credentials = google.oauth2.service_account.Credentials.from_service_account_info(info, scopes=scopes)
            found = info.get('project_id')
        elif kind == 'accesstoken':
            token = params.get('access_token')
            if not token:
                raise GcpAuthError('auth_kind=accesstoken needs access_token (or CLOUDSDK_AUTH_ACCESS_TOKEN), '
                                   'e.g. the output of `gcloud auth print-access-token`')
            credentials = _static_token_class()(token=token.strip())
        elif kind == 'machineaccount':
            # imported here: it reads GCE_METADATA_HOST/GCE_METADATA_IP when first imported
            compute_engine = importlib.import_module('google.auth.compute_engine')
            credentials = compute_engine.Credentials(
                service_account_email=params.get('service_account_email') or 'default', scopes=scopes)
        else:
            raise GcpAuthError('auth_kind %s: expected one of %s' % (shown(kind), ', '.join(AUTH_KINDS)))
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise GcpAuthError('auth_kind=application found no application default credentials (%s); run '
                           '`gcloud auth application-default login`, or set auth_kind and its options'
                           % _first_line(exc)) from None
    except (ValueError, KeyError) as exc:
        raise GcpAuthError('auth_kind=%s: the credentials are not usable: %s' % (kind, _first_line(exc))) from None
    credentials = _scoped(credentials, scopes)
    if not need_project:
        return credentials, None
    return credentials, resolve_project(params, project, found)


_STATIC_TOKEN = []


def _static_token_class():
    """google.oauth2 Credentials for a bare access token (the class is made on first use)."""
    if not _STATIC_TOKEN:
        google = _google()

        class _StaticToken(google.oauth2.credentials.Credentials):
            """A bare access token: it cannot be refreshed, so a refusal says so plainly."""

            def refresh(self, request):
                raise google.auth.exceptions.RefreshError(
                    'the access token was refused (HTTP 401): it is expired or not valid for this API; get a new '
                    'one, e.g. with `gcloud auth print-access-token`')
        _STATIC_TOKEN.append(_StaticToken)
    return _STATIC_TOKEN[0]


def _service_account_info(params):
    contents = params.get('service_account_contents')
    path = params.get('service_account_file')
    if contents:
        if isinstance(contents, dict):
            return contents
        try:
            info = json.loads(contents)
        except ValueError:
            raise GcpAuthError('service_account_contents is not a JSON key (expected the contents of a '
                               'service-account key file)') from None
        if not isinstance(info, dict):
            raise GcpAuthError('service_account_contents is not a JSON object')
        return info
    if not path:
        raise GcpAuthError('auth_kind=serviceaccount needs service_account_file (or GOOGLE_APPLICATION_CREDENTIALS) '
                           'or service_account_contents')
    try:
        with open(path) as handle:
            info = json.load(handle)
    except OSError as exc:
        raise GcpAuthError('cannot read service_account_file %s: %s' % (path, exc.strerror)) from None
    except ValueError:
        raise GcpAuthError('service_account_file %s is not a JSON key file' % path) from None
    if not isinstance(info, dict) or info.get('type') != 'service_account':
        raise GcpAuthError('service_account_file %s is not a service-account key (its "type" is not '
                           '"service_account")' % path)
    return info


def access_token(credentials):
    """A current bearer token for `credentials` (refreshing them when needed)."""
    google = _google()
    try:
        if not credentials.valid:
            credentials.refresh(google.auth.transport.requests.Request())
    except google.auth.exceptions.GoogleAuthError as exc:
        raise GcpAuthError(describe_auth_error(exc)) from None
    return credentials.token


def describe_auth_error(exc):
    """A one-line, token-free description of a google-auth failure."""
    text = _first_line(exc)
    return 'cannot get an access token: %s; check the credentials (auth_kind and its options)' % text


def _first_line(exc):
    text = str(exc.args[0] if getattr(exc, 'args', None) else exc)
    return text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__
