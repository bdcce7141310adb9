# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Assemble the APIs and serve them (the entry point of tests/emulator/run)."""

from __future__ import annotations

import argparse
import signal
import sys

from .batch import Batch
from .cloudbuild import CloudBuild
from .compute import Compute
from .control import Control
from .core import App, make_server
from .iam import Iam
from .metadata import Metadata


def build_app(**options):
    app = App(**options)
    compute, cloudbuild, metadata = Compute(app), CloudBuild(app), Metadata(app)
    app.mount(Control(app, compute, cloudbuild, metadata))
    app.mount(compute)
    app.mount(cloudbuild)
    app.mount(metadata)
    app.mount(Batch(app))
    app.mount(Iam(app))
    return app


def main(argv=None):
    parser = argparse.ArgumentParser(prog='run', description='Local emulator of the Compute Engine, Cloud Build '
                                     'triggers, GCE metadata and OAuth token APIs (for tests).')
    parser.add_argument('--port', type=int, required=True, help='TCP port; 0 picks a free one')
    parser.add_argument('--host', default='127.0.0.1', help='address to listen on (default 127.0.0.1)')
    parser.add_argument('--request-log', metavar='FILE', help='append one JSON line per API request to FILE')
    parser.add_argument('--require-token', action='store_true',
                        help='answer 401 to API requests without a bearer token issued by the emulator')
    parser.add_argument('--operation-delay', type=float, default=0.05, metavar='SECONDS',
                        help='how long an operation stays RUNNING (default 0.05)')
    parser.add_argument('--wait-timeout', type=float, default=120.0, metavar='SECONDS',
                        help='longest an operations wait call blocks before answering (default 120, like GCE)')
    args = parser.parse_args(argv)
    app = build_app(request_log=args.request_log, require_token=args.require_token,
                    operation_delay=args.operation_delay, wait_timeout=args.wait_timeout)
    server = make_server(app, args.host, args.port)
    host, port = server.server_address[:2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print('ready http://%s:%d' % (host, port), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        app.scheduler.stop()
    return 0
