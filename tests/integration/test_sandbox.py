"""The job container's sandbox against a hostile pull request: bounded resources (memory,
processes, CPUs, the data disk's reserve) and the network (what a job can reach).

Each test makes the job do what a hostile or broken PR would (allocate past its memory,
fork past its process limit, start on a nearly full disk) and checks that the limit holds
and that the failure says which limit it was. The jobs use PRs 60-79 of an upstream of
this module's own, so they never meet other tests' jobs on the shared Docker engine.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import uuid

import pytest
from fixtures_offload import Worker, docker, pr_upstream, small_disk_worker, wait_for

SANDBOX_PRS = range(60, 80)
MIB = 1024 ** 2


@pytest.fixture(scope='module')
def upstream(tmp_path_factory):
    """make-upstream's repository plus pull refs 60-79."""
    return pr_upstream(tmp_path_factory.mktemp('sandbox-upstream'), SANDBOX_PRS, 'sandbox')


@pytest.fixture
def cos(cos_worker_host, tmp_path, upstream, job_image):
    """The COS-like worker over SSH (the host's Docker engine, through its socket)."""
    w = Worker(tmp_path, upstream, job_image, data_root=cos_worker_host.data_root,
               inventory=cos_worker_host.inventory, secrets_dir=cos_worker_host.secrets_dir)
    w.host_name = 'cos-worker'
    yield w
    for name in w.job_containers():
        docker('rm', '-f', name, check=False)
    docker('rm', '-f', w.maintainer, check=False)
    subprocess.run(['find', cos_worker_host.data_root, '-mindepth', '1', '-delete'], check=False)


@pytest.fixture(params=['local', 'cos'])
def any_worker(request):
    return request.getfixturevalue(request.param)


def job(pr, action='review'):
    return 'offload-%d-%s' % (pr, action)


def run_job(w, pr, command, **extra):
    return w.playbook('-e', 'pr=%d' % pr, extra=dict({'offload_job_command': ['sh', '-c', command]}, **extra))


def meminfo_bytes():
    with open('/proc/meminfo') as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith('MemTotal:'))


# ---- resources --------------------------------------------------------------------------------

def test_every_job_gets_limits_derived_from_the_worker(any_worker):
    w = any_worker
    pr = 60 if w.host_name == 'local-worker' else 61
    proc = w.start_blocking_job(pr)
    try:
        host = json.loads(docker('container', 'inspect', '--format', '{{json .HostConfig}}', job(pr)).stdout)
    finally:
        out = w.finish(proc, pr)
    assert proc.returncode == 0, out
    cpus = os.cpu_count()
    # 3/4 of the worker's memory and CPUs (at least one), 1024 processes and threads per CPU, no swap
    assert host['Memory'] == int(meminfo_bytes() * 0.75) // MIB * MIB
    assert host['MemorySwap'] == host['Memory']
    assert host['NanoCpus'] == int(max(1.0, round(cpus * 0.75, 2)) * 1e9)
    assert host['PidsLimit'] == 1024 * cpus
    assert w.job_containers() == []  # removed after the run (no --rm: the runner removes it)


def test_a_job_past_its_memory_limit_is_killed_and_the_message_names_the_limit(any_worker):
    w = any_worker
    pr = 62 if w.host_name == 'local-worker' else 63
    hog = 'echo JOB-STARTED; python3 -c "a = b\'x\' * (256 * 1024 * 1024); print(len(a))"'
    proc = run_job(w, pr, hog, offload_job_memory='64m')
    assert proc.returncode != 0
    assert ('job %s on %s was killed by the out-of-memory killer: it reached its memory limit of 64 MiB '
            '(offload_job_memory; %s has ' % (job(pr), w.host_name, w.host_name)) in proc.stdout, proc.stdout
    assert w.job_containers() == []
    # the control: the same job with room enough succeeds, so the limit is what killed it
    assert run_job(w, pr, hog, offload_job_memory='1g').returncode == 0


def test_a_job_forking_past_its_process_limit_fails_naming_the_limit(local):
    w = local
    pr = 64
    forks = 'echo JOB-STARTED; i=0; while [ $i -lt 100 ]; do sleep 1 & i=$((i + 1)); done; wait'
    proc = run_job(w, pr, forks, offload_job_pids='32')
    assert proc.returncode != 0
    assert ('job %s on local-worker failed with exit code 2, and its log shows processes or threads it could '
            'not create (Resource temporarily unavailable): it most likely reached its limit of 32 processes and '
            'threads (offload_job_pids)' % job(pr)) in proc.stdout, proc.stdout
    [log] = w.logs()
    assert 'Cannot fork' in open(log).read()
    # the control: 100 processes at once are fine under the default limit
    assert run_job(w, pr, forks).returncode == 0


def test_limits_beyond_the_worker_are_refused_before_the_job_starts(local):
    w = local
    pr = 65
    marker = 'touch /home/node/dev/worktree/RAN'
    proc = run_job(w, pr, marker, offload_job_cpus=str(os.cpu_count() + 1))
    assert proc.returncode != 0
    assert 'offload_job_cpus: must be at most %d, the CPUs of local-worker' % os.cpu_count() in proc.stdout
    assert w.logs() == [] and w.job_containers() == []


# ---- the data disk ----------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path, upstream, job_image):
    """A local worker whose data root is a small tmpfs."""
    with small_disk_worker(tmp_path, upstream, job_image, '32m') as w:
        yield w


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_a_job_does_not_start_when_the_data_disk_is_below_its_reserve(small_disk):
    w = small_disk
    pr = 66
    marker = 'echo JOB-RAN; touch RAN'
    assert run_job(w, pr, 'true').returncode == 0  # the clone
    # leave 4 MiB free: a job needs 8 MiB to start
    filler = os.path.join(w.mount, 'filler')
    subprocess.run(['dd', 'if=/dev/zero', 'of=' + filler, 'bs=1M', 'count=%d' % (free_bytes(w.mount) // MIB - 4)],
                   capture_output=True, check=True)
    proc = run_job(w, pr, marker, offload_job_disk_reserve='8m', offload_keep_worktree=True)
    assert proc.returncode != 0
    assert re.search(r'job %s not started: the data disk of local-worker has [34](\.[0-9])? MiB free at %s, less '
                     r'than the 8 MiB that offload_job_disk_reserve keeps free for the other jobs and the logs'
                     % (job(pr), re.escape(w.data_root)), proc.stdout), proc.stdout
    assert not os.path.exists(os.path.join(w.worktree(pr), 'RAN')) and w.job_containers() == []
    # once there is room again the same job runs
    os.unlink(filler)
    again = run_job(w, pr, marker, offload_job_disk_reserve='8m')
    assert again.returncode == 0, again.stdout
    assert 'JOB-RAN' in open(w.logs()[-1]).read()


# ---- the network ------------------------------------------------------------------------------
# There is no internet here. Its stand-in is a network namespace of the test's own behind a veth
# pair: an address the host routes to (as it routes to the internet: forwarded, masqueraded),
# where an HTTP server answers on port 443. The metadata server's stand-in is 169.254.169.254
# in the same namespace, routed there as on GCE (off the host, through its gateway): exactly the
# path a job's request to the real one takes. The host's own services are a listener on all of
# the host's addresses (its bridge gateways, its own address) and a port published by a
# container on Docker's default bridge.

SERVER = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = sys.argv[2].encode()
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer((sys.argv[1], int(sys.argv[3])), H).serve_forever()
"""

# In the job: try each name=host:port (direct, or through HTTPS_PROXY with CONNECT when the
# name ends in +proxy) and print name=reached <answer> or name=blocked <error>.
PROBE = r"""
import os, socket, sys
for item in sys.argv[1:]:
    name, _, target = item.partition('=')
    host, _, port = target.rpartition(':')
    try:
        if host == 'GW':  # the default gateway of the job's network (none on an internal one)
            routes = [line.split() for line in open('/proc/net/route').read().splitlines()[1:]]
            gateway = [r[2] for r in routes if r[1] == '00000000']
            if not gateway:
                raise OSError('no default route')
            host = socket.inet_ntoa(bytes.fromhex(gateway[0])[::-1])
        if name.endswith('+proxy'):
            proxy = os.environ['HTTPS_PROXY'].split('//')[1]
            s = socket.create_connection((proxy.split(':')[0], int(proxy.split(':')[1])), 5)
            s.sendall(('CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n' % (target, target)).encode())
            status = s.recv(200).split(b'\r\n')[0]
            if b' 200 ' not in status:
                raise OSError('proxy said %r' % status)
        else:
            s = socket.create_connection((host, int(port)), 3)
        s.sendall(b'GET / HTTP/1.0\r\n\r\n')
        answer = b''.join(iter(lambda: s.recv(300), b''))
        print('%s=reached %r' % (name, answer.split(b'\r\n\r\n')[-1][:60]), flush=True)
    except Exception as exc:
        print('%s=blocked %s' % (name, exc), flush=True)
"""


def ip(*args, check=True):
    return subprocess.run(['ip'] + list(args), capture_output=True, text=True, check=check)


class Internet:
    """The internet's and the metadata server's stand-ins, in a namespace of this test's own."""

    METADATA = '169.254.169.254'

    def __init__(self):
        self.id = uuid.uuid4().hex[:6]
        self.ns = 'gco-inet-' + self.id
        self.host_if, self.ns_if = 'gcoi' + self.id, 'gcop' + self.id
        octet = int(self.id[:2], 16)
        # the host's end, the internet's address, and another one of it that no allow-list names
        self.gateway, self.address, self.other = ('198.19.%d.%d' % (octet, n) for n in (1, 2, 3))
        self.servers = []
        ip('netns', 'add', self.ns)
        ip('link', 'add', self.host_if, 'type', 'veth', 'peer', 'name', self.ns_if)
        ip('link', 'set', self.ns_if, 'netns', self.ns)
        ip('addr', 'add', self.gateway + '/24', 'dev', self.host_if)
        ip('link', 'set', self.host_if, 'up')
        for args in (['addr', 'add', self.address + '/24', 'dev', self.ns_if],
                     ['addr', 'add', self.other + '/24', 'dev', self.ns_if], ['link', 'set', self.ns_if, 'up'],
                     ['link', 'set', 'lo', 'up'], ['addr', 'add', self.METADATA + '/32', 'dev', 'lo'],
                     ['route', 'add', 'default', 'via', self.gateway]):
            ip('-n', self.ns, *args)
        # as on GCE: the metadata server is off the host, reached through a gateway
        ip('route', 'add', self.METADATA + '/32', 'via', self.address)
        for bind, answer, port in (('0.0.0.0', 'INTERNET-OK', 443), (self.METADATA, 'METADATA-TOKEN', 80)):
            self.servers.append(subprocess.Popen(['ip', 'netns', 'exec', self.ns, 'python3', '-c', SERVER, bind,
                                                  answer, str(port)]))
            wait_for_port(self.ns, self.address if bind == '0.0.0.0' else bind, port)

    def stop(self):
        for server in self.servers:
            server.kill()
            server.wait()
        ip('route', 'del', self.METADATA + '/32', 'via', self.address, check=False)
        ip('link', 'del', self.host_if, check=False)
        ip('netns', 'del', self.ns, check=False)


def wait_for_port(ns, host, port):
    script = 'import socket; socket.create_connection((%r, %d), 1)' % (host, port)
    wait_for(lambda: subprocess.run(['ip', 'netns', 'exec', ns, 'python3', '-c', script],
                                    capture_output=True, check=False).returncode == 0, 30, '%s:%d' % (host, port))


class HostService:
    """A service of the worker host itself: a listener on all of its addresses."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('0.0.0.0', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(1024)  # the request, so that closing does not reset the connection
                    conn.sendall(b'HTTP/1.0 200 OK\r\n\r\nHOST-SERVICE')
                except OSError:
                    pass

    def stop(self):
        self.sock.close()


def host_addresses():
    """The host's own IPv4 addresses (its interfaces' and Docker's default bridge gateway)."""
    out = ip('-4', '-o', 'addr', 'show', 'scope', 'global').stdout
    return sorted({line.split()[3].split('/')[0] for line in out.splitlines()} - {'127.0.0.1'})


@pytest.fixture(scope='module')
def outside(job_image):
    """The internet and metadata stand-ins, a host service and a port published by a container."""
    internet = Internet()
    service = HostService()
    published = 'gcli-offload-test-published-%s' % internet.id
    docker('run', '-d', '--name', published, '-p', '0.0.0.0::8080', '--entrypoint', 'python3', job_image,
           '-c', SERVER, '0.0.0.0', 'PUBLISHED-PORT', '8080')
    internet.published_port = int(docker('port', published, '8080/tcp').stdout.split()[0].rsplit(':', 1)[1])
    wait_for(lambda: 'PUBLISHED-PORT' in answer(host_addresses()[0], internet.published_port), 30, 'the published port')
    internet.service = service
    try:
        yield internet
    finally:
        docker('rm', '-f', published, check=False)
        service.stop()
        internet.stop()


def targets(outside):
    """What a job is probed against: name=host:port."""
    found = ['internet=%s:443' % outside.address, 'metadata=%s:80' % outside.METADATA]
    for address in host_addresses():
        found.append('host-%s=%s:%d' % (address, address, outside.service.port))
        found.append('published-%s=%s:%d' % (address, address, outside.published_port))
    return found


def probe(w, pr, outside, extra_targets=(), **extra):
    """Run the probe as pr's job; return {name: 'reached ...' or 'blocked ...'} from its log."""
    proc = w.playbook('-e', 'pr=%d' % pr, extra=dict({'offload_job_command': [
        'python3', '-c', PROBE] + targets(outside) + list(extra_targets)}, **extra))
    assert proc.returncode == 0, proc.stdout
    text = open(w.logs()[-1]).read()
    return dict(line.split('=', 1) for line in text.splitlines() if '=' in line)


def reached(results):
    return sorted(name for name, result in results.items() if result.startswith('reached'))


def answer(host, port):
    """What an HTTP GET to host:port from the test (not a job) gets back ('' when nothing)."""
    try:
        with socket.create_connection((host, port), 3) as s:
            s.sendall(b'GET / HTTP/1.0\r\n\r\n')
            return b''.join(iter(lambda: s.recv(300), b'')).decode(errors='replace')
    except OSError:
        return ''


def test_the_stand_ins_answer_from_the_host(outside):
    """The control for the tests below: each stand-in answers a client that is not a job."""
    for host, port, expected in ((outside.address, 443, 'INTERNET-OK'), (outside.METADATA, 80, 'METADATA-TOKEN'),
                                 (host_addresses()[0], outside.service.port, 'HOST-SERVICE'),
                                 (host_addresses()[0], outside.published_port, 'PUBLISHED-PORT')):
        assert expected in answer(host, port)


def test_an_open_job_reaches_the_internet_but_not_the_metadata_server_or_the_host(any_worker, outside):
    w = any_worker
    pr = 67 if w.host_name == 'local-worker' else 68
    gateway = 'gateway=%s:%d'  # the job network's own gateway: the host, seen from the job
    results = probe(w, pr, outside, [gateway % ('GW', outside.service.port)])
    assert reached(results) == ['internet'], results
    assert results['internet'] == "reached b'INTERNET-OK'"
    assert 'METADATA-TOKEN' not in json.dumps(results)


def test_a_job_without_egress_reaches_nothing(local, outside):
    results = probe(local, 69, outside, offload_job_egress='none')
    assert reached(results) == [], results


def test_a_github_job_reaches_only_the_allow_list_through_the_proxy(any_worker, outside):
    w = any_worker
    pr = 70 if w.host_name == 'local-worker' else 71
    # the metadata server on the allow-list is still unreachable: the proxy's own way out is firewalled
    allow = [outside.address, outside.METADATA, 'allowed.example.invalid']
    results = probe(w, pr, outside, ['internet+proxy=%s:443' % outside.address,
                                     'metadata+proxy=%s:443' % outside.METADATA,
                                     'other-port+proxy=%s:80' % outside.address,
                                     'not-listed+proxy=%s:443' % outside.other],
                    offload_job_egress='github', offload_job_egress_allow=allow)
    assert reached(results) == ['internet+proxy'], results
    assert '403' in results['not-listed+proxy'] and '403' in results['other-port+proxy']


def iptables_rules():
    return subprocess.run(['iptables', '-S'], capture_output=True, text=True, check=True).stdout


def test_clean_removes_the_job_network_and_its_firewall_and_a_job_makes_them_again(local, outside):
    w = local
    assert probe(w, 72, outside)['internet'].startswith('reached')
    assert 'GCLI-OFFLOAD-FWD' in iptables_rules() and docker('network', 'inspect', 'gcli-offload-jobs').returncode == 0
    proc = w.playbook('-e', 'all=true', '-e', 'remove_network=true', playbook='clean.yml')
    assert proc.returncode == 0, proc.stdout
    assert 'GCLI-OFFLOAD' not in iptables_rules()
    assert docker('network', 'inspect', 'gcli-offload-jobs', check=False).returncode != 0
    # the next job makes them again before it starts: it is no less confined
    results = probe(w, 72, outside)
    assert reached(results) == ['internet'], results
