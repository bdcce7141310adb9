"""A COS-like VM that really boots (tests/images/cos-vm), fed the user-data cos_instance sent.

The VM is a container with systemd as PID 1, udev, dockerd, cloud-init (NoCloud)
and sshd, on a Docker network of its own. Its data disk is a loop device over a
sparse file named google-<device>.img, which the image's udev rule names
/dev/disk/by-id/google-<device>, as GCE's rules do.

What Google serves the VM is one HTTP front on that network's gateway, port 80,
the address the VM resolves metadata.google.internal, compute.googleapis.com and
us-docker.pkg.dev to:
- /v2/... is the Artifact Registry stand-in: the loopback docker-registry behind
  a check that the request carries, as its basic-auth password, a token the
  emulator issued (what docker-credential-gcr gives docker);
- everything else goes to the emulator (its metadata server and Compute API),
  which runs here with require_token on, so the idle stop must carry a token the
  metadata server issued.

Differences from a real COS VM: docs/operations.md ("The booting test VM").
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import uuid

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import yaml

import harness
from fixtures_cosworker import ssh_argv, write_ssh_inventory
from fixtures_images import ensure
from fixtures_offload import docker, wait_for
from fixtures_registry import Registry
from ansible_collections.gcli.offload.plugins.module_utils._cloud_init import DOCKER_CONFIG_DIR

PROJECT = 'emu-project'
ZONE = 'us-central1-a'
DEVICE = 'offload'
REGISTRY_HOST = 'us-docker.pkg.dev'
IMAGE = '%s/%s/offload/maintainer:latest' % (REGISTRY_HOST, PROJECT)
UNIT = 'gcli-offload-maintainer-worker.service'
DATA_ROOT = '/mnt/disks/%s' % DEVICE
DISK_LINK = '/dev/disk/by-id/google-%s' % DEVICE
# Every capability but CAP_SYS_RESOURCE, which this machine's engine cannot grant
# (so no --privileged): what systemd, udev and a nested dockerd need.
CAPS = ('CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE '
        'NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT '
        'SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE '
        'AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ').split()
HOP_BY_HOP = {'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'date', 'server'}


class GoogleFront:
    """The VM's view of Google on (gateway, 80): the registry behind a token check, else the emulator."""

    def __init__(self, address, emulator, registry):
        self.emulator = emulator
        self.registry = registry
        self.registry_requests = []  # (method, path, authorized)
        self._valid = set()
        self._lock = threading.Lock()
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                return

            def do_GET(self):
                front.handle(self)

            do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

        self.server = ThreadingHTTPServer((address, 80), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _token_ok(self, token):
        with self._lock:
            if token in self._valid:
                return True
        r = requests.get('%s/compute/v1/projects/%s' % (self.emulator.url, PROJECT), timeout=10,
                         headers={'Authorization': 'Bearer %s' % token})
        if r.status_code == 200:
            with self._lock:
                self._valid.add(token)
        return r.status_code == 200

    def _registry_authorized(self, handler):
        auth = handler.headers.get('Authorization', '')
        if not auth.startswith('Basic '):
            return False
        try:
            _user, _sep, token = base64.b64decode(auth[len('Basic '):]).decode().partition(':')
        except ValueError:
            return False
        return bool(token) and self._token_ok(token)

    def handle(self, handler):
        method = handler.command
        length = int(handler.headers.get('Content-Length') or 0)
        body = handler.rfile.read(length) if length else None
        if handler.path.startswith('/v2'):
            ok = self._registry_authorized(handler)
            with self._lock:
                self.registry_requests.append((method, handler.path, ok))
            if not ok:
                self._answer(handler, 401, {'WWW-Authenticate': 'Basic realm="gcli-offload-test"',
                                            'Content-Type': 'application/json'},
                             b'{"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}')
                return
            upstream = self.registry.url
            headers = {k: v for k, v in handler.headers.items() if k.lower() in ('accept', 'range')}
        else:
            upstream = self.emulator.url
            headers = {k: v for k, v in handler.headers.items()
                       if k.lower() in ('authorization', 'metadata-flavor', 'content-type', 'accept')}
        r = requests.request(method, upstream + handler.path, headers=headers, data=body, timeout=60,
                             allow_redirects=False)
        extra = {k: v for k, v in r.headers.items() if k.lower() not in HOP_BY_HOP}
        if method == 'HEAD':
            extra['Content-Length'] = r.headers.get('Content-Length', '0')
        self._answer(handler, r.status_code, extra, b'' if method == 'HEAD' else r.content)

    @staticmethod
    def _answer(handler, status, headers, body):
        handler.send_response(status)
        for k, v in headers.items():
            handler.send_header(k, v)
        if 'Content-Length' not in headers:
            handler.send_header('Content-Length', str(len(body)))
        handler.end_headers()
        if handler.command != 'HEAD':
            handler.wfile.write(body)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def losetup(path):
    proc = subprocess.run(['losetup', '--find', '--show', path], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip('this kernel gives no loop device (losetup: %s)' % proc.stderr.strip()[:200])
    return proc.stdout.strip()


class CosVM:
    """The booting VM: start() is the first boot, reboot() the next one; exec/ssh/journal to look inside."""

    def __init__(self, workdir, emulator, upstream_dir):
        self.id = uuid.uuid4().hex[:8]
        self.name = 'gcli-offload-cosvm-%s' % self.id
        self.workdir = str(workdir)
        self.emulator = emulator
        self.upstream_dir = str(upstream_dir)
        self.volumes = ['%s-var' % self.name, '%s-home' % self.name]
        self.loops = []
        self.network = None
        self.key = os.path.join(self.workdir, 'id_ed25519')
        self.inventory = os.path.join(self.workdir, 'vm-inventory.yml')
        self.control_dir = os.path.join(self.workdir, 'cp')  # Ansible's SSH control masters for this VM
        self.seed = os.path.join(self.workdir, 'seed')
        os.makedirs(os.path.join(self.workdir, 'disks'))
        # the data disk (empty, so the first boot formats it) and a spare one the tests may point the link at
        self.disk_image = os.path.join(self.workdir, 'disks', 'google-%s.img' % DEVICE)
        self.spare_image = os.path.join(self.workdir, 'disks', 'spare.img')
        for path in (self.disk_image, self.spare_image):
            with open(path, 'wb') as f:
                f.truncate(256 * 1024 * 1024)
            self.loops.append(losetup(path))
        self.disk_loop, self.spare_loop = self.loops
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', self.key], check=True)

    def make_network(self):
        self.network = self.name
        docker('network', 'create', self.network)
        self.gateway = docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}',
                              self.network).stdout.strip()
        return self.gateway

    def write_seed(self, instance):
        """The NoCloud seed: the instance's own user-data, byte for byte, and its id."""
        os.makedirs(self.seed, exist_ok=True)
        items = dict((i['key'], i['value']) for i in instance['metadata'].get('items', []))
        self.user_data = items['user-data']
        self.hostname = instance['name']  # docker's /etc/hosts resolves it, as GCE's DNS does
        with open(os.path.join(self.seed, 'user-data'), 'w') as f:
            f.write(self.user_data)
        with open(os.path.join(self.seed, 'meta-data'), 'w') as f:
            yaml.safe_dump({'instance-id': instance['id'], 'local-hostname': instance['name']}, f)

    def start(self):
        argv = ['run', '-d', '--name', self.name, '--hostname', self.hostname, '--network', self.network,
                '--cgroupns=private', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
                '--security-opt', 'systempaths=unconfined', '--device-cgroup-rule', 'b 7:* rwm',
                '--read-only', '--tmpfs', '/run:rw,exec,mode=755', '--tmpfs', '/run/lock',
                '--tmpfs', '/tmp:rw,exec,mode=1777', '--tmpfs', '/mnt/disks:rw,exec,mode=755',
                '-p', '127.0.0.1::22']
        for cap in CAPS:
            argv += ['--cap-add', cap]
        for loop in self.loops:
            argv += ['--device', loop]
        for host in ('metadata.google.internal', 'compute.googleapis.com', REGISTRY_HOST):
            argv += ['--add-host', '%s:%s' % (host, self.gateway)]
        argv += ['-v', '%s:/var' % self.volumes[0], '-v', '%s:/home' % self.volumes[1],
                 '-v', '%s:/var/lib/cloud/seed/nocloud:ro' % self.seed,
                 '-v', '%s.pub:/usr/share/cos-vm/authorized_keys/worker:ro' % self.key,
                 '-v', '%s:%s:ro' % (self.upstream_dir, self.upstream_dir),
                 ensure('cos-vm')]
        docker(*argv)
        self._booted()

    def reboot(self):
        """A clean shutdown (systemd stops the units) and the next boot."""
        docker('restart', '--time', '60', self.name)
        self._booted()

    def _booted(self, timeout=240):
        """Wait until systemd finished the boot (cloud-final, hence the unit's start, included)."""
        wait_for(lambda: self.exec('systemctl', 'is-system-running', '--wait', timeout=timeout).stdout.strip()
                 in ('running', 'degraded'), timeout, 'the VM %s to boot' % self.name)
        self.port = int(docker('port', self.name, '22/tcp').stdout.split(':')[-1])
        wait_for(lambda: self.ssh('true').returncode == 0, 60, 'sshd in %s' % self.name)
        # offload_docker_config: as gce_workers and provision.yml set it for a COS worker
        write_ssh_inventory(self.inventory, 'cos-vm', self.port, self.key,
                            ansible_control_path_dir=self.control_dir, offload_docker_config=DOCKER_CONFIG_DIR)

    def close_ssh_masters(self):
        """End the SSH connections Ansible keeps open to the VM (ControlPersist): each is an SSH session."""
        for sock in os.listdir(self.control_dir) if os.path.isdir(self.control_dir) else ():
            subprocess.run(['ssh', '-o', 'ControlPath=%s' % os.path.join(self.control_dir, sock), '-O', 'exit',
                            'worker@127.0.0.1'], capture_output=True, timeout=30, check=False)

    def exec(self, *argv, timeout=120, user=None):
        return subprocess.run(['docker', 'exec'] + (['--user', user] if user else []) + [self.name] + list(argv),
                              capture_output=True, text=True, timeout=timeout, check=False)

    def sh(self, script, timeout=120):
        return self.exec('sh', '-c', script, timeout=timeout)

    def docker(self, *argv):
        """The VM's own docker."""
        return self.exec('docker', *argv)

    def journal(self, unit, boot='0'):
        return self.exec('journalctl', '--no-pager', '-o', 'cat', '-b', boot, '-u', unit).stdout

    def ssh_argv(self, *command):
        return ssh_argv(self.key, self.port, *command)

    def ssh(self, *command):
        return subprocess.run(self.ssh_argv(*command), capture_output=True, text=True, timeout=60, check=False)

    def stop(self):
        docker('rm', '-f', '-v', self.name, check=False)
        for volume in self.volumes:
            docker('volume', 'rm', '-f', volume, check=False)
        if self.network:
            docker('network', 'rm', self.network, check=False)
        for loop in self.loops:
            subprocess.run(['losetup', '-d', loop], check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)


def create_instance(emulator, workdir, name):
    """cos_instance creates the worker in the emulator, as provision.yml would (idle stop after 1 minute)."""
    task = {'gcli.offload.cos_instance': {
        'name': name, 'zone': ZONE, 'project': PROJECT, 'container': {'image': IMAGE},
        'idle_stop_minutes': 1, 'retry_initial_delay': 0.05, 'retry_max_delay': 0.2}}
    path = os.path.join(str(workdir), 'create.yml')
    with open(path, 'w') as f:
        yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [task]}], f)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {k: v for k, v in os.environ.items() if not k.startswith(('CLOUDSDK_', 'GCP_', 'GOOGLE_', 'GCE_METADATA'))}
    env.update(CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=emulator.compute_endpoint, CLOUDSDK_CORE_PROJECT=PROJECT,
               GCP_AUTH_KIND='accesstoken', CLOUDSDK_AUTH_ACCESS_TOKEN=emulator.issue_token(),
               ANSIBLE_CONFIG=os.path.join(root, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
                           '-c', 'local', '-e', 'ansible_python_interpreter=%s' % sys.executable, path],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return emulator.call('GET', '/compute/v1/projects/%s/zones/%s/instances/%s' % (PROJECT, ZONE, name))


@pytest.fixture(scope='module')
def cos_vm(tmp_path_factory, upstream_dir, job_image):
    """A booted COS-like VM (first boot done) whose user-data is what cos_instance sent the emulator."""
    if os.geteuid() != 0:
        pytest.skip('the booting VM needs root here (loop devices, a port 80 on its network gateway)')
    workdir = tmp_path_factory.mktemp('cosvm')
    emu = harness.start_emulator(workdir / 'emulator')
    os.makedirs(workdir / 'registry')
    registry = Registry(workdir / 'registry').start()
    vm = front = None
    try:
        subprocess.run(['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', 'docker-daemon:%s' % job_image,
                        'docker://%s/%s' % (registry.host, IMAGE.split('/', 1)[1])],
                       check=True, capture_output=True, text=True, timeout=600)
        vm = CosVM(workdir / 'vm', emu, upstream_dir)
        vm.registry, vm.job_image = registry, job_image
        instance = create_instance(emu, workdir, 'boot-w1')
        emu.set_metadata_server(project=PROJECT, zone=ZONE, name=instance['name'])
        emu.configure(require_token=True)
        vm.write_seed(instance)
        front = GoogleFront(vm.make_network(), emu, registry)
        vm.instance = instance
        vm.front = front
        vm.start()
        vm.first_boot = {
            'unit_journal': vm.journal(UNIT),
            'uuid': vm.exec('blkid', '-p', '-s', 'UUID', '-o', 'value', DISK_LINK).stdout.strip(),
            'container': json.loads(vm.docker('container', 'inspect', 'maintainer-worker').stdout or '[{}]')[0],
            'registry_requests': list(front.registry_requests),
        }
        yield vm
    finally:
        if vm is not None:
            vm.stop()
        if front is not None:
            front.stop()
        registry.stop()
        emu.stop()
