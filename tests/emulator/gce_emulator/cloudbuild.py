# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cloud Build API v1 build triggers, global and regional:
/v1/projects/P/triggers[/ID] and /v1/projects/P/locations/L/triggers[/ID]."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import datetime, timezone

from . import schema
from .core import ApiError, Response, clone

TRIGGER_NAME_RE = re.compile(r'^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,62}[a-zA-Z0-9])?$')
SUBST_KEY_RE = re.compile(r'^_[A-Z0-9_]+$')
LOCATION_RE = re.compile(r'^[a-z][-a-z0-9]*$')
COMMENT_CONTROLS = ('COMMENTS_DISABLED', 'COMMENTS_ENABLED', 'COMMENTS_ENABLED_FOR_EXTERNAL_CONTRIBUTORS_ONLY')
EVENT_SOURCES = ('github', 'triggerTemplate', 'pubsubConfig', 'webhookConfig', 'repositoryEventConfig',
                 'gitlabEnterpriseEventsConfig', 'bitbucketServerTriggerConfig', 'sourceToBuild')
BUILD_SOURCES = ('filename', 'build', 'autodetect', 'gitFileSource')
OUTPUT_ONLY = ('id', 'createTime', 'resourceName')
KNOWN_FIELDS = set(EVENT_SOURCES + BUILD_SOURCES + OUTPUT_ONLY + (
    'name', 'description', 'tags', 'substitutions', 'includedFiles', 'ignoredFiles', 'disabled', 'serviceAccount',
    'filter', 'approvalConfig', 'includeBuildLogs', 'eventType'))

P = r'(?P<project>[^/]+)'
L = r'(?P<location>[^/]+)'
T = r'(?P<trigger>[^/:]+)'


def bad(message):
    return ApiError(400, message, 'badRequest', 'INVALID_ARGUMENT')


def _check_regex(value, field):
    if not isinstance(value, str) or value == '':
        raise bad('invalid value for %s: must be a non-empty regular expression' % field)
    try:
        re.compile(value)
    except re.error as exc:
        raise bad('invalid value for %s: %r is not a valid regular expression: %s' % (field, value, exc)) from None


def validate(trigger):
    """Raise a 400 for what Cloud Build refuses; return the trigger cleaned."""
    schema.check(trigger, schema.TRIGGER, 'trigger')
    unknown = sorted(set(trigger) - KNOWN_FIELDS)
    if unknown:
        raise bad('Invalid JSON payload received. Unknown name "%s" at \'trigger\': Cannot find field.' % unknown[0])
    name = trigger.get('name')
    if not name:
        raise bad('trigger name is required')
    if not isinstance(name, str) or not TRIGGER_NAME_RE.match(name):
        raise bad('invalid value for name: "%s": trigger names must be 1-64 characters of letters, digits and '
                  'dashes, starting and ending with a letter or a digit' % name)
    sources = [s for s in EVENT_SOURCES if trigger.get(s)]
    if len(sources) != 1:
        raise bad('exactly one trigger event source is required (one of github, triggerTemplate, pubsubConfig, '
                  'webhookConfig, repositoryEventConfig, ...); got %s' % (', '.join(sources) or 'none'))
    github = trigger.get('github')
    if github is not None:
        if not isinstance(github, dict):
            raise bad('invalid value for github: must be an object')
        if not github.get('enterpriseConfigResourceName'):
            for field in ('owner', 'name'):
                if not github.get(field):
                    raise bad('github.%s is required' % field)
        events = [e for e in ('push', 'pullRequest') if github.get(e) is not None]
        if len(events) != 1:
            raise bad('exactly one of github.push or github.pullRequest is required')
        if 'push' in events:
            push = github['push']
            refs = [k for k in ('branch', 'tag') if push.get(k)]
            if len(refs) != 1:
                raise bad('exactly one of github.push.branch or github.push.tag is required')
            _check_regex(push[refs[0]], 'github.push.%s' % refs[0])
        else:
            pull = github['pullRequest']
            if not pull.get('branch'):
                raise bad('github.pullRequest.branch is required')
            _check_regex(pull['branch'], 'github.pullRequest.branch')
            control = pull.get('commentControl', 'COMMENTS_DISABLED')
            if control not in COMMENT_CONTROLS:
                raise bad('invalid value for github.pullRequest.commentControl: "%s" (one of %s)' % (
                    control, ', '.join(COMMENT_CONTROLS)))
    builds = [s for s in BUILD_SOURCES if trigger.get(s)]
    if len(builds) != 1:
        raise bad('exactly one of filename, build, autodetect or gitFileSource is required; got %s' % (
            ', '.join(builds) or 'none'))
    filename = trigger.get('filename')
    if filename is not None and (not isinstance(filename, str) or filename.startswith('/')):
        raise bad('invalid value for filename: "%s": must be a path relative to the repository root' % filename)
    subs = trigger.get('substitutions') or {}
    if not isinstance(subs, dict):
        raise bad('invalid value for substitutions: must be a map of strings')
    for key, value in subs.items():
        if not SUBST_KEY_RE.match(key):
            raise bad('invalid value for substitutions: key "%s" does not respect the format ^_[A-Z0-9_]+$ of '
                      'user-defined substitutions' % key)
        if not isinstance(value, str):
            raise bad('invalid value for substitutions: the value of "%s" must be a string' % key)
    if len(subs) > 200:
        raise bad('invalid value for substitutions: at most 200 substitutions are allowed')
    for field in ('includedFiles', 'ignoredFiles', 'tags'):
        value = trigger.get(field)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise bad('invalid value for %s: must be a list of strings' % field)
    sa = trigger.get('serviceAccount')
    if sa and not re.match(r'^projects/[^/]+/serviceAccounts/[^/]+@[^/]+$', sa):
        raise bad('invalid value for serviceAccount: "%s": must be projects/PROJECT/serviceAccounts/EMAIL' % sa)
    return trigger


def _merge_mask(current, body, mask):
    out = clone(current)
    for path in mask:
        parts = path.strip().split('.')
        parts = [_camel(p) for p in parts]
        src, dst = body, out
        for part in parts[:-1]:
            src = src.get(part) if isinstance(src, dict) else None
            if not isinstance(dst.get(part), dict):
                dst[part] = {}
            dst = dst[part]
        value = src.get(parts[-1]) if isinstance(src, dict) else None
        if value is None:
            dst.pop(parts[-1], None)
        else:
            dst[parts[-1]] = clone(value)
    return out


def _camel(name):
    head, *rest = name.split('_')
    return head + ''.join(w[:1].upper() + w[1:] for w in rest)


class CloudBuild:
    def __init__(self, app):
        self.app = app
        self.reset()

    def reset(self):
        self.triggers = {}   # (project, location) -> {id: trigger}

    def register(self, r):
        for prefix in ('/v1/projects/' + P, '/v1/projects/' + P + '/locations/' + L):
            r.add('POST', prefix + '/triggers', self.h_create)
            r.add('GET', prefix + '/triggers', self.h_list)
            r.add('GET', prefix + '/triggers/' + T, self.h_get)
            r.add('PATCH', prefix + '/triggers/' + T, self.h_patch)
            r.add('DELETE', prefix + '/triggers/' + T, self.h_delete)

    @staticmethod
    def _location(location):
        location = location or 'global'
        if not LOCATION_RE.match(location):
            raise bad('invalid location "%s"' % location)
        return location

    def _find(self, project, location, ref):
        bucket = self.triggers.get((project, location), {})
        found = bucket.get(ref) or next((t for t in bucket.values() if t['name'] == ref), None)
        if found is None:
            raise ApiError(404, 'trigger "%s" not found in project "%s" location "%s"' % (ref, project, location),
                           'notFound', 'NOT_FOUND')
        return found

    def h_create(self, req, project, location=None):
        location = self._location(location)
        body = req.json(allow_empty=False)
        if req.arg('projectId') and req.arg('projectId') != project:
            raise bad('projectId %s does not match the project in the URL' % req.arg('projectId'))
        for field in OUTPUT_ONLY:
            body.pop(field, None)
        trigger = validate(clone(body))
        with self.app.lock:
            bucket = self.triggers.setdefault((project, location), {})
            if any(t['name'] == trigger['name'] for t in bucket.values()):
                raise ApiError(409, 'trigger (%s, %s) already exists' % (project, trigger['name']), 'alreadyExists',
                               'ALREADY_EXISTS')
            trigger_id = str(uuid.uuid4())
            trigger.update(id=trigger_id, createTime=datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ'),
                           resourceName='projects/%s/locations/%s/triggers/%s' % (project, location, trigger_id))
            bucket[trigger_id] = trigger
            return clone(trigger)

    def h_list(self, req, project, location=None):
        location = self._location(location)
        with self.app.lock:
            bucket = self.triggers.get((project, location), {})
            items = [clone(t) for t in sorted(bucket.values(), key=lambda t: t['createTime'])]
        try:
            size = int(req.arg('pageSize') or 0) or 500
        except ValueError:
            raise bad('invalid pageSize %r' % req.arg('pageSize')) from None
        start = 0
        token = req.arg('pageToken')
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError:
                raise bad('invalid page token') from None
        body = {}
        if items[start:start + size]:
            body['triggers'] = items[start:start + size]
        if start + size < len(items):
            body['nextPageToken'] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return body

    def h_get(self, req, project, trigger, location=None):
        location = self._location(location)
        with self.app.lock:
            return clone(self._find(project, location, trigger))

    def h_patch(self, req, project, trigger, location=None):
        location = self._location(location)
        body = req.json(allow_empty=False)
        mask = [m for m in (req.arg('updateMask') or '').split(',') if m.strip()]
        with self.app.lock:
            current = self._find(project, location, trigger)
            if body.get('id') and body['id'] != current['id']:
                raise bad('trigger id in the body (%s) does not match the trigger %s' % (body['id'], current['id']))
            if mask:
                for path in mask:
                    if _camel(path.split('.')[0]) in OUTPUT_ONLY:
                        raise bad('invalid update mask path "%s": the field is output only' % path)
                    if _camel(path.split('.')[0]) not in KNOWN_FIELDS:
                        raise bad('invalid update mask path "%s"' % path)
                new = _merge_mask(current, body, mask)
            else:
                new = {k: clone(v) for k, v in body.items() if k not in OUTPUT_ONLY}
                new.setdefault('name', current['name'])
            for field in OUTPUT_ONLY:
                new.pop(field, None)
            new = validate(new)
            bucket = self.triggers[(project, location)]
            if any(t['name'] == new['name'] and t is not current for t in bucket.values()):
                raise ApiError(409, 'trigger (%s, %s) already exists' % (project, new['name']), 'alreadyExists',
                               'ALREADY_EXISTS')
            new.update(id=current['id'], createTime=current['createTime'], resourceName=current['resourceName'])
            bucket[current['id']] = new
            return clone(new)

    def h_delete(self, req, project, trigger, location=None):
        location = self._location(location)
        with self.app.lock:
            current = self._find(project, location, trigger)
            del self.triggers[(project, location)][current['id']]
        return Response(200, {})

    def state(self):
        with self.app.lock:
            return {'%s/%s' % k: clone(v) for k, v in self.triggers.items()}
