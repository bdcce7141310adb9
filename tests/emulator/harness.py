# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Start and drive the emulator from tests.

    emu = start_emulator(tmp_path)
    emu.compute_endpoint                      # http://127.0.0.1:PORT/compute/v1/
    mark = emu.mark()
    ...                                       # run the thing under test
    assert emu.mutating_requests(since=mark) == []
    emu.inject(status=503, path='/instances$', method='POST', times=2)
    emu.stop()
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, 'run')
# the reads sent as POST: an operation's wait, an IAM policy's read, the testable permissions
READ_ONLY_SUFFIXES = ('/wait', ':getIamPolicy', ':queryTestablePermissions')
# /batch/: the container of a batch request; each of its parts is logged as a request of its own
NOT_API_PREFIXES = ('/_emulator/', '/computeMetadata/', '/token', '/batch/')


class EmulatorError(RuntimeError):
    pass


def is_mutating(entry):
    """A request that changes state: not a read, not an operation wait, not auth."""
    path = entry['path']
    return (entry['method'] not in ('GET', 'HEAD')
            and not path.endswith(READ_ONLY_SUFFIXES)
            and not path.startswith(NOT_API_PREFIXES) and path != '/')


class Emulator:
    def __init__(self, proc, url, workdir, request_log):
        self.proc = proc
        self.url = url                                   # http://127.0.0.1:PORT
        self.host, port = url.rsplit('//', 1)[1].rsplit(':', 1)
        self.port = int(port)
        self.workdir = workdir
        self.request_log = request_log
        self.compute_endpoint = url + '/compute/v1/'     # gcloud's override format
        self.cloudbuild_endpoint = url + '/'             # gcloud's override format
        self.iam_endpoint = url + '/'                    # IAM and Resource Manager (v1)
        self.metadata_host = '%s:%d' % (self.host, self.port)   # GCE_METADATA_HOST / GCE_METADATA_IP
        self.token_uri = url + '/token'
        self._since_reset = 0

    # -- control API ------------------------------------------------------
    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise EmulatorError('%s %s: %s %s' % (method, path, exc.code, exc.read().decode(errors='replace'))) \
                from None
        return json.loads(raw) if raw else None

    def reset(self):
        """Forget all state and faults; requests() then starts after this point."""
        self._since_reset = self.call('POST', '/_emulator/reset')['seq']
        return self._since_reset

    def mark(self):
        """The sequence number of the last logged request: pass it as since=."""
        return self.call('GET', '/_emulator/requests?since=%d' % (1 << 62))['seq']

    def requests(self, since=None, bodies=False):
        """Logged API requests after `since` (default: since the last reset); each
        {seq, method, path, status, query, auth, ms} and, with bodies=True, the
        request's JSON `body` (kept in memory only, never in the log file)."""
        since = self._since_reset if since is None else since
        return self.call('GET', '/_emulator/requests?since=%d%s' % (since, '&bodies=1' if bodies else ''))['requests']

    def mutating_requests(self, since=None, bodies=False):
        """The requests that change state (not GET, not an operation wait, not auth)."""
        return [e for e in self.requests(since, bodies) if is_mutating(e)]

    def inject(self, **fault):
        """Add a fault, e.g. inject(status=429, path='/instances$', method='POST', times=2),
        inject(operation_error={'code': 'ZONE_RESOURCE_POOL_EXHAUSTED', 'message': '...'}, path='/instances$'),
        inject(operation_delay=5, path='/stop$')."""
        return self.call('POST', '/_emulator/faults', fault)

    def clear_faults(self):
        self.call('DELETE', '/_emulator/faults')

    def configure(self, **config):
        """require_token (bool), operation_delay (s), wait_timeout (s)."""
        return self.call('POST', '/_emulator/config', config)

    def issue_token(self):
        """An access token the emulator accepts when require_token is on."""
        return self.call('POST', '/_emulator/tokens', {})['access_token']

    def set_metadata_server(self, **info):
        """project, zone, name, email, scopes of the pretend instance."""
        return self.call('POST', '/_emulator/metadata', info)

    def state(self):
        return self.call('GET', '/_emulator/state')

    # -- environments -----------------------------------------------------
    def gcloud_env(self, tmpdir, project='emu-project', zone='us-central1-a', access_token_file=None, base=None):
        """The environment for the real gcloud CLI pointed at this emulator."""
        env = dict(os.environ if base is None else base)
        config = os.path.join(str(tmpdir), 'gcloud-config')
        os.makedirs(config, exist_ok=True)
        env.update({
            'CLOUDSDK_CONFIG': config,
            'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE': self.compute_endpoint,
            'CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD': self.cloudbuild_endpoint,
            'CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM': self.iam_endpoint,
            'CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER': self.iam_endpoint,
            'CLOUDSDK_CORE_PROJECT': project,
            'CLOUDSDK_COMPUTE_ZONE': zone,
            'CLOUDSDK_COMPUTE_REGION': zone.rsplit('-', 1)[0],
            'CLOUDSDK_CORE_DISABLE_PROMPTS': '1',
            'CLOUDSDK_CORE_DISABLE_USAGE_REPORTING': 'true',
            'CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK': 'true',
            'CLOUDSDK_CORE_CHECK_GCE_METADATA': 'false',
            'CLOUDSDK_SURVEY_DISABLE_PROMPTS': 'true',
        })
        for key in ('GOOGLE_APPLICATION_CREDENTIALS', 'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE',
                    'CLOUDSDK_AUTH_DISABLE_CREDENTIALS'):
            env.pop(key, None)
        if access_token_file:
            env['CLOUDSDK_AUTH_ACCESS_TOKEN_FILE'] = str(access_token_file)
        else:
            env['CLOUDSDK_AUTH_DISABLE_CREDENTIALS'] = 'true'
        return env

    def metadata_env(self, base=None):
        """google-auth's metadata-server redirect (read at import time of google.auth.compute_engine)."""
        env = dict(os.environ if base is None else base)
        env.update(GCE_METADATA_HOST=self.metadata_host, GCE_METADATA_IP=self.metadata_host)
        return env

    def service_account_info(self, email='emu-sa@emu-project.iam.gserviceaccount.com', project='emu-project'):
        """A service-account key (a throwaway RSA key) whose token_uri is this emulator."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        return {'type': 'service_account', 'project_id': project, 'private_key_id': 'emu-key-1',
                'private_key': pem, 'client_email': email, 'client_id': '1000000000000000000001',
                'token_uri': self.token_uri, 'auth_uri': self.url + '/auth'}

    # -- lifecycle --------------------------------------------------------
    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_emulator(workdir, timeout=20, extra_args=(), python=None):
    """Start tests/emulator/run on a free port; wait (bounded) for its `ready` line."""
    workdir = str(workdir)
    os.makedirs(workdir, exist_ok=True)
    request_log = os.path.join(workdir, 'emulator-requests.jsonl')
    stderr_path = os.path.join(workdir, 'emulator-stderr.log')
    cmd = [RUN, '--port', '0', '--request-log', request_log, *extra_args]
    env = dict(os.environ, EMULATOR_PYTHON=python or sys.executable)
    with open(stderr_path, 'wb') as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + timeout
    line = b''
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while not line.endswith(b'\n'):
            left = deadline - time.monotonic()
            if left <= 0 or proc.poll() is not None and not sel.select(0):
                break
            if sel.select(left):
                chunk = os.read(proc.stdout.fileno(), 1)
                if not chunk:
                    break
                line += chunk
    text = line.decode(errors='replace').strip()
    if not text.startswith('ready http://'):
        proc.kill()
        proc.wait()
        with open(stderr_path, encoding='utf-8', errors='replace') as handle:
            err = handle.read()[-2000:]
        raise EmulatorError('the emulator did not get ready within %ss (stdout %r, stderr: %s)' % (timeout, text, err))
    return Emulator(proc, text.split(' ', 1)[1], workdir, request_log)
