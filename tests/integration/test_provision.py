"""provision.yml and teardown.yml end to end against the Compute Engine emulator.

The emulator has no VM behind the instance, so SSH goes to a real sshd on a
loopback port (offload_ssh_host/offload_ssh_port, direct access) and the wait
checks, through it, a container on the local Docker engine named like the
maintainer. Everything else is the real playbook: the firewall rule, the
instance through cos_instance, the SSH alias file, the waits, the teardown.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
import uuid

import pytest
from fixtures_provision import PlaybookRunner, free_port, poll, recap

PROJECT = 'prov-project'
ZONE = 'us-central1-a'
IAP = '35.235.240.0/20'


@pytest.fixture
def provision(tmp_path, emulator, sshd, maintainer_stand_in):
    """A runner for provision.yml/teardown.yml with a fresh worker name, alias file and maintainer stand-in."""
    worker = 'prov-w-%s' % uuid.uuid4().hex[:8]
    ssh_dir = tmp_path / 'ssh'
    ssh_dir.mkdir()
    maint = maintainer_stand_in('running')
    runner = PlaybookRunner(tmp_path, env={
        'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE': emulator.compute_endpoint,
        'CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM': emulator.iam_endpoint,  # the worker's own account
        'GCP_AUTH_KIND': 'accesstoken', 'CLOUDSDK_AUTH_ACCESS_TOKEN': 'prov-test-token',
        'CLOUDSDK_CORE_PROJECT': PROJECT,
    })
    base = {
        'offload_worker_name': worker, 'offload_zone': ZONE, 'offload_machine_type': 'e2-standard-4',
        'offload_maintainer_image': 'us-docker.pkg.dev/prov-project/offload/maintainer:latest',
        'offload_maintainer_name': maint,
        'offload_ssh_access': 'direct', 'offload_ssh_host': '127.0.0.1', 'offload_ssh_port': sshd.port,
        'offload_ssh_user': sshd.user, 'offload_ssh_key': sshd.key,
        'offload_ssh_known_hosts': str(ssh_dir / 'known_hosts'),
        'offload_ssh_config': str(ssh_dir / 'gcli-offload.conf'),
        'offload_worker_become': False, 'offload_wait_timeout': 30, 'offload_wait_interval': 1,
    }

    class Run:
        name = worker
        maintainer = maint
        config = ssh_dir / 'gcli-offload.conf'
        vars = base

        def __call__(self, playbook='provision.yml', *args, **extra):
            return runner(playbook, dict(base, **extra), *args)
    return Run()


def api(emulator, path):
    from harness import EmulatorError
    try:
        return emulator.call('GET', '/compute/v1/projects/%s/%s' % (PROJECT, path))
    except EmulatorError as exc:
        if ' 404 ' in str(exc):
            return None
        raise


def ssh_settings(config, alias='gcli-worker'):
    out = subprocess.run(['ssh', '-G', '-F', str(config), alias], capture_output=True, text=True, check=True).stdout
    return dict(line.split(' ', 1) for line in out.splitlines() if ' ' in line)


def test_provision_converge_teardown(provision, emulator, sshd):
    # 1. From scratch.
    proc = provision()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = [(e['method'], e['path'].split('/compute/v1/projects/%s/' % PROJECT)[-1])
             for e in emulator.mutating_requests()]
    assert ('POST', 'global/firewalls') in calls
    assert ('POST', 'zones/%s/instances' % ZONE) in calls
    rule = api(emulator, 'global/firewalls/gcli-offload-ssh-from-iap')
    assert rule['sourceRanges'] == [IAP] and rule['targetTags'] == ['gcli-offload-ssh']
    assert rule['allowed'] == [{'IPProtocol': 'tcp', 'ports': ['22']}] and rule['direction'] == 'INGRESS'
    instance = api(emulator, 'zones/%s/instances/%s' % (ZONE, provision.name))
    assert instance['labels']['type'] == 'offload-worker' and instance['tags']['items'] == ['gcli-offload-ssh']
    assert 'is ready: container %s runs on the worker' % provision.maintainer in proc.stdout

    # The alias: mode 0600, what ssh itself reads from it, and it works.
    mode = stat.S_IMODE(os.stat(provision.config).st_mode)
    assert mode == 0o600
    settings = ssh_settings(provision.config)
    assert settings['hostname'] == '127.0.0.1' and settings['port'] == str(sshd.port)
    assert settings['user'] == sshd.user and settings['identityfile'] == sshd.key
    assert settings['controlmaster'] == 'auto' and settings['controlpersist'] == '600'
    assert settings['hostkeyalias'] == 'compute.%s' % instance['id']
    assert 'proxycommand' not in settings  # direct access: no IAP tunnel
    check = subprocess.run(['ssh', '-F', str(provision.config), '-o', 'BatchMode=yes', '-o', 'ControlMaster=no',
                            'gcli-worker', 'docker', 'container', 'inspect', '-f', '{{.State.Status}}',
                            provision.maintainer], capture_output=True, text=True, timeout=60, check=False)
    assert check.stdout.strip() == 'running', check.stderr
    alias_text = provision.config.read_text()
    mtime = os.stat(provision.config).st_mtime_ns

    # 2. Converged: no mutating call, nothing changed, the alias file untouched.
    mark = emulator.mark()
    proc = provision()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert emulator.mutating_requests(since=mark) == []
    assert recap(proc.stdout, 'localhost')['changed'] == 0
    assert recap(proc.stdout, provision.name)['changed'] == 0
    assert provision.config.read_text() == alias_text and os.stat(provision.config).st_mtime_ns == mtime

    # Check mode on the converged worker: same answer, no mutating call either.
    proc = provision('provision.yml', '--check')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert emulator.mutating_requests(since=mark) == []
    assert recap(proc.stdout, 'localhost')['changed'] == 0

    # 3. Teardown: the instance and the alias go, the data disk and the rule stay.
    provision.config.write_text(provision.config.read_text() + 'Host mine\n  HostName example.org\n')
    proc = provision('teardown.yml')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert api(emulator, 'zones/%s/instances/%s' % (ZONE, provision.name)) is None
    assert api(emulator, 'zones/%s/disks/%s-data' % (ZONE, provision.name)) is not None
    assert api(emulator, 'global/firewalls/gcli-offload-ssh-from-iap') is not None
    assert provision.config.read_text() == 'Host mine\n  HostName example.org\n'  # only our entry removed

    # Teardown again: nothing to do. Then with delete_data_disk=true the disk goes too.
    mark = emulator.mark()
    proc = provision('teardown.yml')
    assert proc.returncode == 0 and emulator.mutating_requests(since=mark) == []
    assert recap(proc.stdout, 'localhost')['changed'] == 0
    proc = provision('teardown.yml', '-e', 'delete_data_disk=true')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert api(emulator, 'zones/%s/disks/%s-data' % (ZONE, provision.name)) is None


def test_check_mode_from_scratch_calls_nothing_mutating(provision, emulator):
    proc = provision('provision.yml', '--check')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert emulator.mutating_requests() == []
    assert not provision.config.exists()
    assert api(emulator, 'zones/%s/instances/%s' % (ZONE, provision.name)) is None


def test_firewall_drift_is_corrected_and_world_refused(provision, emulator):
    proc = provision()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Someone opens the rule to the world by hand: provision puts it back.
    rule = api(emulator, 'global/firewalls/gcli-offload-ssh-from-iap')
    emulator.call('PATCH', '/compute/v1/projects/%s/global/firewalls/gcli-offload-ssh-from-iap' % PROJECT,
                  {'sourceRanges': ['0.0.0.0/0'], 'fingerprint': rule.get('fingerprint')})
    poll(lambda: api(emulator, 'global/firewalls/gcli-offload-ssh-from-iap')['sourceRanges'] == ['0.0.0.0/0'], 30,
         'the hand-made change to apply')
    mark = emulator.mark()
    proc = provision()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [(e['method'], e['path'].rsplit('/', 1)[-1]) for e in emulator.mutating_requests(since=mark)] == [
        ('PUT', 'gcli-offload-ssh-from-iap')]
    assert api(emulator, 'global/firewalls/gcli-offload-ssh-from-iap')['sourceRanges'] == [IAP]

    # Asking for the world is refused before any call.
    mark = emulator.mark()
    proc = provision('provision.yml', offload_ssh_source_ranges=['0.0.0.0/0'])
    assert proc.returncode != 0
    assert 'opens the port to the whole Internet' in proc.stdout
    assert emulator.mutating_requests(since=mark) == []


def test_default_allow_ssh_is_reported_then_restricted_on_request(provision, emulator):
    """A new project's default-allow-ssh (0.0.0.0/0 on tcp:22) is never silently left open next to
    the IAP-only rule: provision warns, and with offload_restrict_default_ssh restricts it to the IAP range."""
    default = 'global/firewalls/default-allow-ssh'
    assert api(emulator, default)['sourceRanges'] == ['0.0.0.0/0']  # as a new project has it
    proc = provision()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    flat = ' '.join((proc.stdout + proc.stderr).split())  # warnings go to stderr
    assert '[WARNING]' in flat and 'firewall rule default-allow-ssh of project %s' % PROJECT in flat
    assert 'offload_restrict_default_ssh=true' in flat
    assert api(emulator, default)['sourceRanges'] == ['0.0.0.0/0']  # only reported

    # Check mode and diff: the restriction shown, nothing sent.
    mark = emulator.mark()
    proc = provision('provision.yml', '--check', '--diff', offload_restrict_default_ssh='yes')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert emulator.mutating_requests(since=mark) == []
    assert '-    - 0.0.0.0/0' in proc.stdout and '+    - %s' % IAP in proc.stdout, proc.stdout[-3000:]

    proc = provision('provision.yml', offload_restrict_default_ssh='yes')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [(e['method'], e['path'].rsplit('/', 1)[-1]) for e in emulator.mutating_requests(since=mark)] == [
        ('PATCH', 'default-allow-ssh')]
    rule = api(emulator, default)
    assert rule['sourceRanges'] == [IAP] and rule['priority'] == 65534 and 'targetTags' not in rule
    assert 'default-allow-ssh of project' not in ' '.join(proc.stderr.split())

    # Restricted: the next run, warned or not, changes nothing and warns no more.
    mark = emulator.mark()
    proc = provision('provision.yml', offload_restrict_default_ssh='true')
    assert proc.returncode == 0 and emulator.mutating_requests(since=mark) == []
    proc = provision()
    assert proc.returncode == 0 and 'default-allow-ssh of project' not in ' '.join(proc.stderr.split())


def test_iap_access_gives_the_worker_no_external_ip(provision, emulator, tmp_path):
    """With IAP (the default access) the instance is created without an access config; direct access
    (the other tests) keeps one, and offload_external_ip=true asks for one."""
    # No IAP here: a ProxyCommand that fails, so only what provision asked Google for is looked at.
    proc = provision('provision.yml', offload_ssh_access='iap', offload_ssh_host='', offload_gcloud_bin='/bin/false',
                     offload_wait_timeout=5)
    assert recap(proc.stdout, 'localhost')['failed'] == 0, proc.stdout[-3000:]
    nic = api(emulator, 'zones/%s/instances/%s' % (ZONE, provision.name))['networkInterfaces'][0]
    assert 'accessConfigs' not in nic or nic['accessConfigs'] == []
    assert nic['networkIP'].startswith('10.128.')
    # the address in the alias is the internal one (IAP reaches it)
    assert 'HostName %s' % nic['networkIP'] in provision.config.read_text()


@pytest.mark.parametrize('bad', [
    {'offload_ssh_user': 'bob; touch /tmp/prov-pwned'},
    {'offload_gcloud_bin': 'gcloud;id'},
    {'offload_worker_name': 'Gcli_Offload'},
    {'offload_ssh_key': 'key"\n  ProxyCommand sh'},
    {'offload_maintainer_image': ''},
])
def test_invalid_variables_are_refused_before_any_call(provision, emulator, bad):
    proc = provision('provision.yml', **bad)
    assert proc.returncode != 0
    assert 'invalid provisioning input %s: ' % next(iter(bad)) in proc.stdout  # names the variable
    assert '(nothing was changed)' in proc.stdout
    assert emulator.requests() == []
    assert not provision.config.exists()


def test_ssh_wait_fails_clearly_when_nothing_answers(provision, emulator):
    port = free_port()
    start = time.monotonic()
    proc = provision('provision.yml', offload_ssh_port=port, offload_wait_timeout=3)
    assert proc.returncode != 0
    assert 'did not answer SSH on 127.0.0.1:%d within 3 s' % port in proc.stdout
    assert 'gcloud compute instances describe %s' % provision.name in proc.stdout
    assert time.monotonic() - start < 120


def test_maintainer_wait_fails_clearly_when_the_container_is_missing(provision, emulator):
    proc = provision('provision.yml', offload_maintainer_name='prov-missing-maintainer', offload_wait_timeout=3)
    assert proc.returncode != 0
    assert 'was not ready after 3 s' in proc.stdout
    assert 'no container prov-missing-maintainer on the worker yet' in proc.stdout


RELAY = '''import os, selectors, socket, sys
sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))
sel = selectors.DefaultSelector()
sel.register(0, selectors.EVENT_READ)
sel.register(sock, selectors.EVENT_READ)
while True:
    for key, _events in sel.select():
        if key.fileobj == 0:
            data = os.read(0, 65536)
            if not data:
                sock.shutdown(socket.SHUT_WR)
                sel.unregister(0)
                continue
            sock.sendall(data)
        else:
            data = sock.recv(65536)
            if not data:
                sys.exit(0)
            os.write(1, data)
'''


def test_iap_access_goes_through_the_alias_proxy_command(provision, emulator, tmp_path, sshd):
    """offload_ssh_access=iap: the wait reaches the worker only through the alias's ProxyCommand, here a stand-in
    for gcloud that logs its arguments and relays to the loopback sshd (the real one would open an IAP tunnel)."""
    import sys
    log = tmp_path / 'gcloud-args'
    relay = tmp_path / 'relay.py'
    relay.write_text(RELAY)
    fake = tmp_path / 'gcloud'
    fake.write_text('#!/bin/sh\necho "$@" >> %s\nexec %s %s 127.0.0.1 "$4"\n' % (log, sys.executable, relay))
    fake.chmod(0o755)
    proc = provision('provision.yml', offload_ssh_access='iap', offload_gcloud_bin=str(fake),
                     offload_ssh_host='')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'is ready: container %s runs on the worker' % provision.maintainer in proc.stdout
    expected = ('compute start-iap-tunnel %s %d --listen-on-stdin --project=%s --zone=%s --verbosity=warning'
                % (provision.name, sshd.port, PROJECT, ZONE))
    assert log.read_text().splitlines()[0] == expected
    settings = ssh_settings(provision.config)
    assert settings['proxycommand'].startswith(str(fake) + ' compute start-iap-tunnel ' + provision.name)
    # No SSH port wait from the controller in IAP mode (the firewall admits the IAP range only).
    assert re.search(r'Wait for the SSH banner\] \**\nskipping: \[localhost\]', proc.stdout)
    # IAP: no external IP (offload_external_ip's default); the tunnel reaches the internal address
    nic = api(emulator, 'zones/%s/instances/%s' % (ZONE, provision.name))['networkInterfaces'][0]
    assert not nic.get('accessConfigs') and settings['hostname'] == nic['networkIP']


# ---- a real project ---------------------------------------------------------------------------

REAL_PROJECT = os.environ.get('OFFLOAD_TEST_GCP_PROJECT')
REAL_SSH_USER = os.environ.get('OFFLOAD_TEST_SSH_USER')
REAL_IMAGE = os.environ.get('OFFLOAD_TEST_MAINTAINER_IMAGE', 'docker.io/library/busybox:latest')


@pytest.mark.skipif(not (REAL_PROJECT and REAL_SSH_USER),
                    reason='set OFFLOAD_TEST_GCP_PROJECT and OFFLOAD_TEST_SSH_USER (your OS Login user, with the key '
                           '~/.ssh/google_compute_engine registered; credentials as for the modules, IAP TCP forwarding '
                           'allowed) to provision and tear down a real worker; OFFLOAD_TEST_GCP_ZONE and '
                           'OFFLOAD_TEST_MAINTAINER_IMAGE pick the zone and image')
def test_real_project_provision_converge_inventory_teardown(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != 'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE'}
    zone = os.environ.get('OFFLOAD_TEST_GCP_ZONE', 'us-central1-a')
    name = 'gcli-offload-test-%d' % (os.getpid() % 100000)
    base = {'offload_project': REAL_PROJECT, 'offload_zone': zone, 'offload_worker_name': name,
            'offload_machine_type': 'e2-small', 'offload_data_disk_size_gb': 10,
            'offload_maintainer_image': REAL_IMAGE, 'offload_ssh_user': REAL_SSH_USER,
            'offload_ssh_config': str(tmp_path / 'gcli-offload.conf'), 'offload_ssh_alias': name,
            'offload_worker_labels': {'purpose': 'gcli-offload-test'}, 'offload_wait_timeout': 900,
            'offload_firewall_name': name + '-ssh', 'offload_network_tags': [name],
            'offload_worker_service_account_id': 'gcli-offload-test'}  # one account for every run
    runner = PlaybookRunner(tmp_path)
    runner.env = dict(env, **{k: v for k, v in runner.env.items() if k.startswith('ANSIBLE_')})
    try:
        first = runner('provision.yml', base)
        assert first.returncode == 0, first.stdout + first.stderr
        again = runner('provision.yml', base)
        assert again.returncode == 0 and recap(again.stdout, 'localhost')['changed'] == 0, again.stdout
        config = tmp_path / 'real.gce_workers.yml'
        config.write_text('plugin: gcli.offload.gce_workers\nproject: %s\nzones: [%s]\nlabels: {purpose: '
                          'gcli-offload-test}\n' % (REAL_PROJECT, zone))
        listed = subprocess.run(['ansible-inventory', '-i', str(config), '--list'], capture_output=True, text=True,
                                env=runner.env, timeout=300, check=False)
        assert listed.returncode == 0 and name in listed.stdout, listed.stderr
    finally:
        gone = runner('teardown.yml', dict(base, offload_delete_data_disk=True, offload_delete_firewall=True))
    assert gone.returncode == 0, gone.stdout + gone.stderr
