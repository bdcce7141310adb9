# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A GCE metadata server (/computeMetadata/v1/) and an OAuth 2.0 token
endpoint (POST /token), so google-auth flows run without Google."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs

from . import seeds
from .core import ApiError, Response

FLAVOR = {'Metadata-Flavor': 'Google'}
TOKEN_LIFETIME = 3599
DEFAULT_SCOPES = ['https://www.googleapis.com/auth/cloud-platform']


def _b64url_json(part):
    part += '=' * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(part.encode()))


def oauth_error(error, description, status=400):
    return Response(status, {'error': error, 'error_description': description})


class Metadata:
    """Metadata server of one pretend instance; settable through the control API."""

    def __init__(self, app):
        self.app = app
        self.reset()

    def reset(self):
        self.info = {
            'project': 'emu-project', 'zone': 'us-central1-a', 'name': 'emu-instance',
            'email': 'emu-sa@emu-project.iam.gserviceaccount.com', 'scopes': list(DEFAULT_SCOPES),
        }

    def register(self, r):
        r.add('GET', '/', self.h_root)
        r.add('GET', '/computeMetadata/v1/?', self.h_root)
        r.add('GET', '/computeMetadata/v1/(?P<key>.+)', self.h_get)
        r.add('POST', '/token', self.h_token)

    def _text(self, value):
        return Response(200, str(value), 'application/text', FLAVOR)

    def _json(self, value):
        return Response(200, value, 'application/json', FLAVOR)

    def h_root(self, req):
        if req.headers.get('Metadata-Flavor') != 'Google':
            return _Forbidden.response()
        return self._text('computeMetadata/\n')

    def h_get(self, req, key):
        if req.headers.get('Metadata-Flavor') != 'Google':
            return _Forbidden.response()
        info = self.info
        number = seeds.project_number(info['project'])
        key = key.rstrip('/') if key.endswith('/') and '?' not in key else key
        sa_keys = {'default', info['email']}
        parts = key.split('/')
        if key == 'project/project-id':
            return self._text(info['project'])
        if key == 'project/numeric-project-id':
            return self._text(number)
        if key == 'instance/zone':
            return self._text('projects/%s/zones/%s' % (number, info['zone']))
        if key == 'instance/name':
            return self._text(info['name'])
        if key == 'instance/hostname':
            return self._text('%s.%s.c.%s.internal' % (info['name'], info['zone'], info['project']))
        if key == 'instance/id':
            return self._text(seeds.stable_id('instance', info['name']))
        if key == 'instance/service-accounts':
            return self._text('default/\n%s/\n' % info['email'])
        if len(parts) >= 3 and parts[:2] == ['instance', 'service-accounts'] and parts[2] in sa_keys:
            rest = '/'.join(parts[3:])
            if rest == '':
                return self._json({'aliases': ['default'], 'email': info['email'], 'scopes': info['scopes']})
            if rest == 'email':
                return self._text(info['email'])
            if rest == 'scopes':
                return self._text('\n'.join(info['scopes']) + '\n')
            if rest == 'aliases':
                return self._text('default\n')
            if rest == 'token':
                scopes = req.arg('scopes')
                token = self.app.new_token('emu-metadata-token')
                body = {'access_token': token, 'expires_in': TOKEN_LIFETIME, 'token_type': 'Bearer'}
                if scopes:
                    body['scope'] = scopes.replace(',', ' ')
                return self._json(body)
            if rest == 'identity':
                audience = req.arg('audience')
                if not audience:
                    return Response(400, 'non-empty audience parameter required', 'text/html', FLAVOR)
                return self._text(self._fake_id_token(audience, info['email']))
        return Response(404, 'Not Found: %s\n' % key, 'text/html; charset=UTF-8', FLAVOR)

    @staticmethod
    def _fake_id_token(audience, email):
        def enc(obj):
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b'=').decode()
        now = int(time.time())
        return '%s.%s.%s' % (enc({'alg': 'RS256', 'typ': 'JWT'}), enc(
            {'aud': audience, 'email': email, 'iss': 'https://accounts.google.com', 'iat': now, 'exp': now + 3600,
             'sub': seeds.stable_id('sa', email)}), 'c2lnbmF0dXJl')

    def h_token(self, req):
        """OAuth token endpoint: JWT-bearer (service accounts) and refresh_token grants."""
        ctype = req.headers.get('Content-Type', '')
        if 'json' in ctype:
            try:
                form = req.json()
            except ApiError:
                return oauth_error('invalid_request', 'The request body is not valid JSON.')
        else:
            form = {k: v[-1] for k, v in parse_qs(req.raw.decode('utf-8', 'replace')).items()}
        grant = form.get('grant_type')
        if grant == 'urn:ietf:params:oauth:grant-type:jwt-bearer':
            assertion = form.get('assertion') or ''
            parts = assertion.split('.')
            if len(parts) != 3:
                return oauth_error('invalid_grant', 'Invalid JWT: the assertion is not a three-part JWT.')
            try:
                header, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
            except ValueError:
                return oauth_error('invalid_grant', 'Invalid JWT: the header or claims are not base64url JSON.')
            if not isinstance(header, dict) or header.get('alg') not in ('RS256', 'ES256'):
                return oauth_error('invalid_grant', 'Invalid JWT: unsupported signing algorithm.')
            for claim in ('iss', 'aud', 'iat', 'exp'):
                if claim not in claims:
                    return oauth_error('invalid_grant', 'Invalid JWT: the claim %s is missing.' % claim)
            now = time.time()
            if not isinstance(claims['exp'], (int, float)) or claims['exp'] < now - 60:
                return oauth_error('invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) '
                                   'and in a reasonable timeframe. Check your iat and exp values in the JWT claim.')
            if claims.get('target_audience'):
                return Response(200, {'id_token': self._fake_id_token(claims['target_audience'], claims['iss'])})
            if not claims.get('scope'):
                return oauth_error('invalid_scope', 'Invalid OAuth scope or ID token audience provided.')
            token = self.app.new_token('emu-sa-token')
            return Response(200, {'access_token': token, 'expires_in': TOKEN_LIFETIME, 'token_type': 'Bearer'})
        if grant == 'refresh_token':
            for field in ('refresh_token', 'client_id', 'client_secret'):
                if not form.get(field):
                    return oauth_error('invalid_request', 'Missing required parameter: %s' % field)
            token = self.app.new_token('emu-user-token')
            return Response(200, {'access_token': token, 'expires_in': TOKEN_LIFETIME, 'token_type': 'Bearer',
                                  'scope': ' '.join(DEFAULT_SCOPES)})
        return oauth_error('unsupported_grant_type', 'Invalid grant_type: %s' % grant)


class _Forbidden:
    @staticmethod
    def response():
        return Response(403, 'Missing required header: "Metadata-Flavor"\n', 'text/html; charset=UTF-8', FLAVOR)
