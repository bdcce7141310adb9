# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The control API under /_emulator/ (faults, reset, request log, state,
config, tokens). Never subject to faults or auth, never in the request log."""

from __future__ import annotations

from .core import ApiError, Response


class Control:
    def __init__(self, app, compute, cloudbuild, metadata):
        self.app = app
        self.compute = compute
        self.cloudbuild = cloudbuild
        self.metadata = metadata

    def register(self, r):
        r.add('POST', '/_emulator/faults', self.h_fault_add)
        r.add('GET', '/_emulator/faults', self.h_faults)
        r.add('DELETE', '/_emulator/faults', self.h_faults_clear)
        r.add('POST', '/_emulator/reset', self.h_reset)
        r.add('GET', '/_emulator/requests', self.h_requests)
        r.add('GET', '/_emulator/state', self.h_state)
        r.add('GET', '/_emulator/config', self.h_config)
        r.add('POST', '/_emulator/config', self.h_config_set)
        r.add('POST', '/_emulator/tokens', self.h_token)
        r.add('POST', '/_emulator/metadata', self.h_metadata)

    def h_fault_add(self, req):
        spec = req.json(allow_empty=False)
        with self.app.lock:
            return self.app.faults.add(spec)

    def h_faults(self, req):
        with self.app.lock:
            return {'faults': [self.app.faults.public(f) for f in self.app.faults.items]}

    def h_faults_clear(self, req):
        with self.app.lock:
            self.app.faults.items.clear()
        return {}

    def h_reset(self, req):
        self.app.reset()
        with self.app.lock:
            return {'seq': self.app.log[-1]['seq'] if self.app.log else 0}

    def h_requests(self, req):
        try:
            since = int(req.arg('since', 0))
        except ValueError:
            raise ApiError(400, 'since must be an integer') from None
        bodies = req.arg('bodies') in ('1', 'true')
        with self.app.lock:
            entries = [e if bodies else {k: v for k, v in e.items() if k != 'body'}
                       for e in self.app.log if e['seq'] > since]
            last = self.app.log[-1]['seq'] if self.app.log else 0
        return {'requests': entries, 'seq': last}

    def h_state(self, req):
        return {'compute': self.compute.state(), 'cloudbuild': self.cloudbuild.state(),
                'faults': self.h_faults(req)['faults'], 'config': self.h_config(req)}

    def h_config(self, req):
        with self.app.lock:
            return dict(self.app.config)

    def h_config_set(self, req):
        body = req.json(allow_empty=False)
        with self.app.lock:
            for key, value in body.items():
                if key not in self.app.config:
                    raise ApiError(400, 'unknown config key %r (known: %s)' % (key, ', '.join(self.app.config)))
                if key == 'require_token':
                    if not isinstance(value, bool):
                        raise ApiError(400, 'require_token must be true or false')
                elif not isinstance(value, (int, float)) or value < 0:
                    raise ApiError(400, '%s must be a number >= 0' % key)
                else:
                    value = float(value)
                self.app.config[key] = value
            return dict(self.app.config)

    def h_token(self, req):
        """Mint an access token the emulator accepts (when require_token is on)."""
        return Response(200, {'access_token': self.app.new_token('emu-test-token'), 'token_type': 'Bearer'})

    def h_metadata(self, req):
        body = req.json(allow_empty=False)
        with self.app.lock:
            for key, value in body.items():
                if key not in self.metadata.info:
                    raise ApiError(400, 'unknown metadata key %r (known: %s)' % (key, ', '.join(self.metadata.info)))
                self.metadata.info[key] = value
            return dict(self.metadata.info)
