# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Operations: every mutating call answers one (RUNNING) and lands its effect
when it ends DONE; zonal, regional and global get, list, delete and wait;
the requestId replay of mutating routes."""

from __future__ import annotations

import os
import time

from ..core import Response, clone, not_found
from .common import N, V1, link, new_id, now_ts
from .listing import page


class _Idempotent:
    """Registers routes; mutating ones honour `requestId` like GCE: a request
    repeating the requestId of an earlier one answers that request's
    operation and changes nothing."""

    def __init__(self, router, api):
        self.router = router
        self.api = api

    def add(self, method, pattern, handler):
        if method != 'GET' and not pattern.endswith('/wait'):
            handler = self._wrap(handler)
        self.router.add(method, pattern, handler)

    def _wrap(self, handler):
        api = self.api

        def idempotent(req, **groups):
            request_id = req.arg('requestId')
            if request_id:
                with api.app.lock:
                    done = api.request_ids.get((groups.get('project'), request_id))
                    if done is not None:
                        return clone(done)
            return handler(req, **groups)
        return idempotent


class Operations:
    """Operations and their scopes (a part of `Compute`)."""

    def routes(self, r):
        for scope_re in (r'zones/(?P<zone>[^/]+)', 'global', r'regions/(?P<region>[^/]+)'):
            base = V1 + '/' + scope_re + '/operations'
            r.add('GET', base, self.h_ops_list)
            r.add('GET', base + '/' + N, self.h_op_get)
            r.add('POST', base + '/' + N + '/wait', self.h_op_wait)
            r.add('DELETE', base + '/' + N, self.h_op_delete)

    def operation(self, req, project, scope, op_type, target_link, target_id=None, on_start=None, on_done=None,
                  midway=None):
        """Create an operation; on_start runs now, midway half-way through,
        on_done when it ends DONE without an (injected) error. Returns the
        operation as first seen."""
        app = self.app
        fault = app.faults.take('operation_error', req.method, req.path)
        delay_fault = app.faults.take('operation_delay', req.method, req.path)
        delay = delay_fault['delay'] if delay_fault else app.config['operation_delay']
        name = 'operation-%d-%s' % (int(time.time() * 1000), os.urandom(6).hex())
        op = {
            'kind': 'compute#operation', 'id': new_id(), 'name': name, 'operationType': op_type,
            'targetLink': target_link, 'targetId': target_id or new_id(), 'status': 'RUNNING',
            'user': 'emulator@example.iam.gserviceaccount.com', 'progress': 0, 'insertTime': now_ts(),
            'startTime': now_ts(), 'selfLink': link('projects/%s/%s/operations/%s' % (project, scope, name)),
        }
        if scope.startswith('zones/'):
            op['zone'] = link('projects/%s/%s' % (project, scope))
        elif scope.startswith('regions/'):
            op['region'] = link('projects/%s/%s' % (project, scope))
        self.operations[(project, scope, name)] = op
        if req.arg('requestId'):
            self.request_ids[(project, req.arg('requestId'))] = op
        if fault is None and on_start:
            on_start()

        def finish():
            if fault is not None:
                error = fault['error']
                op['error'] = {'errors': [{'code': error['code'], 'message': error.get('message', error['code'])}]}
                op['httpErrorStatusCode'] = fault['http_status']
                op['httpErrorMessage'] = {400: 'BAD REQUEST', 403: 'FORBIDDEN', 409: 'CONFLICT', 412:
                                          'PRECONDITION FAILED', 429: 'TOO MANY REQUESTS', 503: 'SERVICE UNAVAILABLE'
                                          }.get(fault['http_status'], 'ERROR')
            elif on_done:
                on_done()
            op['status'] = 'DONE'
            op['progress'] = 100
            op['endTime'] = now_ts()

        if delay <= 0:
            if fault is None and midway:
                midway()
            finish()
        else:
            if fault is None and midway:
                app.scheduler.at(delay / 2, midway)
            app.scheduler.at(delay, finish)
        return clone(op)

    def get_operation(self, project, scope, name):
        op = self.operations.get((project, scope, name))
        if op is None:
            raise not_found('projects/%s/%s/operations/%s' % (project, scope, name))
        return op

    @staticmethod
    def _scope(zone=None, region=None):
        if zone:
            return 'zones/' + zone
        if region:
            return 'regions/' + region
        return 'global'

    def _scope_check(self, project, zone, region):
        if zone:
            self.zone(project, zone)
        elif region:
            self.region(project, region)
        else:
            self.project(project)

    def h_ops_list(self, req, project, zone=None, region=None):
        scope = self._scope(zone, region)
        with self.app.lock:
            self._scope_check(project, zone, region)
            items = [clone(o) for (p, s, _name), o in self.operations.items() if p == project and s == scope]
        return page(req, items, 'compute#operationList', link('projects/%s/%s/operations' % (project, scope)),
                    'projects/%s/%s/operations' % (project, scope))

    def h_op_get(self, req, project, name, zone=None, region=None):
        with self.app.lock:
            self._scope_check(project, zone, region)
            return clone(self.get_operation(project, self._scope(zone, region), name))

    def h_op_wait(self, req, project, name, zone=None, region=None):
        deadline = time.monotonic() + self.app.config['wait_timeout']
        with self.app.cond:
            self._scope_check(project, zone, region)
            op = self.get_operation(project, self._scope(zone, region), name)
            generation = self.app.scheduler.generation
            self.waiting += 1
            # a reset (new generation) drops pending completions: answer at once then
            while op['status'] != 'DONE' and generation == self.app.scheduler.generation:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.app.cond.wait(left)
            self.waiting -= 1
            return clone(op)

    def h_op_delete(self, req, project, name, zone=None, region=None):
        with self.app.lock:
            self._scope_check(project, zone, region)
            scope = self._scope(zone, region)
            self.get_operation(project, scope, name)
            del self.operations[(project, scope, name)]
        return Response(204, None)
