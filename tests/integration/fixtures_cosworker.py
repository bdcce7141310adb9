"""A COS-like worker reached over SSH: a container from gcli-offload/cos-worker
(sshd, sudo, iptables, the docker CLI; no Python, no git) on a loopback port.

It uses the host's Docker engine through its socket, so the data root and the
secrets directory are mounted at the same path in it: the containers it starts
see what it sees, as on a real VM. It shares the host's network namespace (with
NET_ADMIN), as sshd and dockerd share the VM's on COS: the job network's firewall
that the collection writes through it is the one the host's Docker uses. The
secrets directory is under the host's /dev/shm (a tmpfs), the data root under
/mnt/disks like a COS data disk.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid

import pytest
import yaml

from fixtures_images import ensure
from fixtures_offload import Worker, docker, wait_for


def ssh_argv(key, port, *command):
    """ssh to worker@127.0.0.1:port with the test's key, no host-key checks, no prompts."""
    return ['ssh', '-q', '-i', key, '-p', str(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
            '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', 'worker@127.0.0.1'] + list(command)


def write_ssh_inventory(path, host, port, key, **host_vars):
    """An inventory whose offload_workers group is `host`, the COS-like worker on 127.0.0.1:port."""
    with open(path, 'w') as f:
        yaml.safe_dump({'offload_workers': {'hosts': {host: dict({
            'ansible_host': '127.0.0.1', 'ansible_port': port, 'ansible_user': 'worker',
            'ansible_ssh_private_key_file': key, 'ansible_become': True,
            'ansible_ssh_common_args': '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null',
        }, **host_vars)}}}, f)


def free_loopback_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class CosWorker:
    def __init__(self, tmp_path):
        self.id = uuid.uuid4().hex[:8]
        self.name = 'gcli-offload-cosw-%s' % self.id
        self.data_root = '/mnt/disks/gcli-offload-test-%s' % self.id
        self.secrets_dir = '/dev/shm/gcli-offload-test-%s' % self.id
        self.key = str(tmp_path / 'id_ed25519')
        self.inventory = str(tmp_path / 'cos-inventory.yml')
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', self.key], check=True)
        os.makedirs(self.data_root)
        os.makedirs(self.secrets_dir)
        self.port = free_loopback_port()
        docker('run', '-d', '--name', self.name, '--network', 'host', '--cap-add', 'NET_ADMIN',
               '-v', '/var/run/docker.sock:/var/run/docker.sock',
               '-v', '%s:%s' % (self.data_root, self.data_root),
               '-v', '%s:%s' % (self.secrets_dir, self.secrets_dir),
               '-v', '%s.pub:/etc/ssh/authorized_keys/worker:ro' % self.key,
               ensure('cos-worker'), '/usr/sbin/sshd', '-D', '-e', '-o', 'ListenAddress=127.0.0.1:%d' % self.port)
        self._answer()

    def _answer(self):
        """Wait for sshd on its loopback port, and write the inventory for it."""
        wait_for(lambda: self.ssh('true').returncode == 0, 60, 'sshd in %s' % self.name)
        write_ssh_inventory(self.inventory, 'cos-worker', self.port, self.key)

    def power_off(self, *containers):
        """The VM going down at once: `containers` (the job and maintainer containers, which on
        a real VM die with it) and the worker itself (sshd, the job runner) are killed together."""
        docker('kill', self.name, *containers)

    def power_on(self):
        """The VM back: sshd answers again."""
        docker('start', self.name)
        self._answer()

    def ssh(self, *command):
        return subprocess.run(ssh_argv(self.key, self.port, *command), capture_output=True, text=True, check=False)

    def stop(self):
        docker('rm', '-f', self.name, check=False)
        shutil.rmtree(self.data_root, ignore_errors=True)
        shutil.rmtree(self.secrets_dir, ignore_errors=True)


@pytest.fixture(scope='module')
def cos_worker_host(tmp_path_factory):
    host = CosWorker(tmp_path_factory.mktemp('cosworker'))
    yield host
    host.stop()


@pytest.fixture
def cos_worker(cos_worker_host, tmp_path, upstream_dir, job_image):
    """A Worker (see fixtures_offload) whose playbooks go over SSH to the COS-like host."""
    w = Worker(tmp_path, upstream_dir, job_image, data_root=cos_worker_host.data_root,
               inventory=cos_worker_host.inventory, secrets_dir=cos_worker_host.secrets_dir)
    w.host = cos_worker_host
    yield w
    docker('rm', '-f', w.maintainer, check=False)
    subprocess.run(['find', cos_worker_host.data_root, '-mindepth', '1', '-delete'], check=False)
    subprocess.run(['find', cos_worker_host.secrets_dir, '-mindepth', '1', '-delete'], check=False)
