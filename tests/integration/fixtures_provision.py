"""Fixtures for provision.yml and the worker wait: a real sshd on a loopback port
(the stand-in for the worker's SSH), a container on the local Docker engine named
like the maintainer, and a runner for playbooks with isolated variables.

The emulator has no VM behind an instance, so provision is pointed at this sshd
(offload_ssh_host/offload_ssh_port) and the wait checks the local Docker engine
through it, exactly as it checks a COS worker through SSH.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROV_PREFIX = 'prov-'
SSHD = shutil.which('sshd') or '/usr/sbin/sshd'


def poll(condition, timeout, what):
    """Poll condition() until truthy; fail after timeout seconds (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError('timed out after %ss waiting for %s' % (timeout, what))
        time.sleep(0.05)


def free_port():
    """A loopback port nothing listens on (bound to 0, then released)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def ssh_banner(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1) as sock:
            return sock.recv(64).startswith(b'SSH-')
    except OSError:
        return False


class Sshd:
    def __init__(self, base):
        self.dir = base
        self.user = getpass.getuser()
        self.key = str(base / 'client_key')
        self.port = None
        self.proc = None

    def start(self):
        for name in ('host_key', 'client_key'):
            subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(self.dir / name)], check=True)
        shutil.copy(self.key + '.pub', self.dir / 'authorized_keys')
        try:
            os.makedirs('/run/sshd', exist_ok=True)  # privilege separation directory (sshd started as root)
        except OSError:
            pass  # not root: sshd runs unprivileged and says so in its log if it cannot
        last = None
        for _attempt in range(5):  # another process may take the free port first: try another
            self.port = free_port()
            config = self.dir / 'sshd_config'
            config.write_text('\n'.join([
                'Port %d' % self.port, 'ListenAddress 127.0.0.1',
                'HostKey %s' % (self.dir / 'host_key'), 'PidFile %s' % (self.dir / 'sshd.pid'),
                'AuthorizedKeysFile %s' % (self.dir / 'authorized_keys'),
                'PubkeyAuthentication yes', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
                'PermitRootLogin prohibit-password', 'StrictModes no', 'UsePAM no', 'MaxStartups 50', '']))
            self.proc = subprocess.Popen([SSHD, '-D', '-e', '-f', str(config)], stdout=subprocess.DEVNULL,
                                         stderr=open(self.dir / 'sshd.log', 'ab'))
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.proc.poll() is None and not ssh_banner(self.port):
                time.sleep(0.05)
            if self.proc.poll() is None and ssh_banner(self.port):
                return self
            last = (self.dir / 'sshd.log').read_text()
            self.stop()
        raise RuntimeError('sshd did not start: %s' % last)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture(scope='session')
def sshd(tmp_path_factory):
    if not os.path.exists(SSHD):
        pytest.skip('openssh-server is not installed (tests/setup/apt-deps installs it)')
    server = Sshd(tmp_path_factory.mktemp('prov-sshd')).start()
    yield server
    server.stop()


def docker(*args, check=True):
    return subprocess.run(['docker'] + list(args), capture_output=True, text=True, check=check)


@pytest.fixture
def maintainer_stand_in(debian_image):
    """Starts, on the local Docker engine, a container named like a worker's maintainer container."""
    names = []

    def start(state='running'):
        name = '%smaint-%s' % (PROV_PREFIX, uuid.uuid4().hex[:8])
        names.append(name)
        verb = ['run', '--detach'] if state == 'running' else ['create']
        docker(*verb, '--name', name, '--label', 'gcli.offload.test=provision', '--entrypoint', 'sleep',
               debian_image, 'infinity')
        return name

    yield start
    for name in names:
        docker('rm', '-f', name, check=False)


class PlaybookRunner:
    """ansible-playbook from the repository root with variables from a file; returns the CompletedProcess."""

    def __init__(self, tmp_path, env=None):
        self.tmp_path = tmp_path
        # A control-path directory of its own (short: a socket path has ~100 characters at most), so no SSH
        # master persisting from another test (same alias, port and user) is reused.
        control_dir = tempfile.mkdtemp(prefix='prov-cp-')
        # Masters persist 15 s (not ansible.cfg's 300 s), so none outlives the test session by long.
        # The caller's env wins (it may carry any of these keys: `make test` exports ANSIBLE_CONFIG).
        self.env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                        ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_SSH_CONTROL_PATH_DIR=control_dir,
                        ANSIBLE_SSH_ARGS='-o ControlMaster=auto -o ControlPersist=15s')
        self.env.update(env or {})

    def __call__(self, playbook, extra, *args, timeout=300, env=None):
        varsfile = self.tmp_path / ('vars-%s.json' % uuid.uuid4().hex[:6])
        varsfile.write_text(json.dumps(extra))
        return subprocess.run(['ansible-playbook', playbook, '-e', '@%s' % varsfile] + list(args), cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout, env=dict(self.env, **(env or {})),
                              check=False)


def recap(output, host):
    """The PLAY RECAP counters of one host, e.g. {'ok': 5, 'changed': 0, 'failed': 0, ...}."""
    for line in output.splitlines():
        parts = line.split()
        if parts and parts[0] == host and ':' in parts:
            return dict((k, int(v)) for k, v in (item.split('=') for item in parts[2:]))
    raise AssertionError('no recap for %s in:\n%s' % (host, output[-3000:]))
