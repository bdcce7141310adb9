"""The worker VM's own side, run for real: a COS-like VM (fixtures_cosvm) boots with
the exact user-data cos_instance sent the emulator; its cloud-init writes the unit,
the unit formats and mounts the data disk, pulls the maintainer image with
docker-credential-gcr's credentials and runs the container, and the idle-stop
timer stops the instance through the emulator.

One VM for the module (booted once); the second boot is a restart of it. Tests
that change the VM put it back as they found it, so any order works.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import yaml

from fixtures_cosvm import DATA_ROOT, DISK_LINK, IMAGE, PROJECT, REGISTRY_HOST, UNIT, ZONE
from fixtures_offload import ROOT, WAIT_FOR_STOP, Worker, docker, wait_for
from ansible_collections.gcli.offload.plugins.module_utils import _idle_stop as idle

MAINTAINER = 'maintainer-worker'


def run_playbook(vm, tmp_path, tasks):
    """Tasks in one play against the VM over SSH; (returncode, JSON results of each task)."""
    path = tmp_path / 'play.yml'
    path.write_text(yaml.safe_dump([{'hosts': 'offload_workers', 'gather_facts': False, 'tasks': tasks}]))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', vm.inventory,
                           str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
                          env=dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_NOCOLOR='1',
                                   ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg')))
    try:
        data = json.loads(proc.stdout[proc.stdout.index('{'):])
    except ValueError:
        raise AssertionError('no JSON from ansible-playbook: %s %s' % (proc.stdout[-2000:], proc.stderr[-2000:]))
    return proc.returncode, [t['hosts']['cos-vm'] for play in data['plays'] for t in play['tasks']]


def container(vm, name=MAINTAINER):
    out = vm.docker('container', 'inspect', name).stdout
    found = json.loads(out) if out.strip() else []
    return found[0] if found else None


def unit_active(vm):
    return vm.exec('systemctl', 'is-active', UNIT).stdout.strip() == 'active'


def mount_options(vm):
    return vm.exec('findmnt', '-n', '-o', 'SOURCE,OPTIONS', DATA_ROOT).stdout.split()


def test_the_vm_got_the_user_data_cos_instance_sent(cos_vm):
    seeded = cos_vm.exec('cat', '/var/lib/cloud/instance/user-data.txt').stdout
    items = dict((i['key'], i['value']) for i in cos_vm.instance['metadata']['items'])
    assert seeded == items['user-data'] == cos_vm.user_data
    assert cos_vm.exec('cloud-init', 'status').stdout.split()[-1] == 'done'
    assert cos_vm.sh('command -v python3 python git; echo end').stdout.strip() == 'end'


def test_first_boot_formats_mounts_pulls_with_gcr_credentials_and_runs_an_adoptable_container(cos_vm, tmp_path):
    first = cos_vm.first_boot
    assert first['unit_journal'].count('Creating filesystem with') == 1, first['unit_journal']
    assert first['uuid']
    source, options = mount_options(cos_vm)
    assert os.path.basename(cos_vm.exec('readlink', '-f', DISK_LINK).stdout.strip()) == \
        os.path.basename(cos_vm.disk_loop) and source.endswith(os.path.basename(cos_vm.disk_loop))
    assert 'noexec' not in options.split(',')
    assert cos_vm.exec('stat', '-c', '%u:%g', DATA_ROOT).stdout.strip() == '1000:1000'
    # exec allowed: a program on the disk runs
    probe = DATA_ROOT + '/.exec-probe'
    assert cos_vm.sh("printf '#!/bin/sh\\necho ran\\n' >%s && chmod +x %s && %s; rm -f %s"
                     % (probe, probe, probe, probe)).stdout.strip() == 'ran'

    # the registry was reached with the metadata server's token, through the credential helper's config
    config = json.loads(cos_vm.exec('cat', '/home/gcli-offload/.docker/config.json').stdout)
    assert config == {'credHelpers': {'us-docker.pkg.dev': 'gcr'}}
    pulls = [r for r in first['registry_requests'] if '/manifests/' in r[1]]
    assert pulls and all(ok for _m, _p, ok in pulls)
    assert any(not ok for _m, path, ok in first['registry_requests'] if path.rstrip('/') == '/v2')  # challenged

    info = first['container']
    assert info['State']['Running'] and info['Config']['Image'] == IMAGE
    assert [(m['Source'], m['Destination']) for m in info['Mounts']] == [(DATA_ROOT, '/home/node/dev')]

    wait_for(lambda: unit_active(cos_vm), 120, 'the unit to be active')
    before = container(cos_vm)
    rc, results = run_playbook(cos_vm, tmp_path, [{'gcli.offload.maintainer_container': {
        'name': MAINTAINER, 'image': IMAGE, 'data_root': DATA_ROOT}}])
    assert rc == 0, results
    assert results[0]['changed'] is False, results[0]
    assert container(cos_vm)['Id'] == before['Id']


def test_second_boot_keeps_the_disk_and_runs_the_container_again(cos_vm):
    wait_for(lambda: unit_active(cos_vm), 120, 'the unit to be active')
    marker = 'kept-%d' % time.time_ns()
    assert cos_vm.exec('sh', '-c', 'echo %s >%s/marker' % (marker, DATA_ROOT), user='1000').returncode == 0
    before = container(cos_vm)
    unit_file = '/etc/systemd/system/' + UNIT
    assert cos_vm.exec('touch', '/etc/gone-at-reboot').returncode == 0

    cos_vm.reboot()

    assert cos_vm.exec('blkid', '-p', '-s', 'UUID', '-o', 'value', DISK_LINK).stdout.strip() == \
        cos_vm.first_boot['uuid']
    journal = cos_vm.journal(UNIT)
    assert 'Creating filesystem with' not in journal, journal
    assert cos_vm.exec('cat', DATA_ROOT + '/marker').stdout.strip() == marker
    assert cos_vm.exec('stat', '-c', '%u:%g', DATA_ROOT).stdout.strip() == '1000:1000'
    # /etc is a tmpfs: the unit is there again because cloud-init wrote it at this boot
    assert cos_vm.exec('findmnt', '-n', '-o', 'FSTYPE', '/etc').stdout.strip() == 'tmpfs'
    assert cos_vm.exec('test', '-e', '/etc/gone-at-reboot').returncode != 0
    assert cos_vm.exec('test', '-f', unit_file).returncode == 0
    assert unit_active(cos_vm)
    after = container(cos_vm)
    assert after['State']['Running'] and after['State']['StartedAt'] != before['State']['StartedAt']
    assert after['Config']['Labels']['gcli.offload.spec'] == before['Config']['Labels']['gcli.offload.spec']


def _fingerprint(vm, device):
    """The first 8 MiB of the device, as the VM reads it."""
    return vm.sh('head -c 8388608 %s | sha256sum' % device).stdout.split()[0]


def _make_ambiguous(vm, device):
    """An ext4 file system with a second (BFS) signature at offset 0: `blkid -p` says ambivalent (exit 8)."""
    assert vm.sh("mkfs.ext4 -q -F {0} && printf '\\316\\372\\255\\033' "
                 "| dd of={0} bs=1 seek=0 conv=notrunc,fsync status=none".format(device)).returncode == 0
    assert vm.exec('blkid', '-p', device).returncode == 8


def _point_disk_link(vm, loop):
    assert vm.exec('ln', '-sfn', '../../' + os.path.basename(loop), DISK_LINK).returncode == 0


def test_a_disk_with_an_ambiguous_signature_is_not_formatted(cos_vm):
    _make_ambiguous(cos_vm, cos_vm.spare_loop)
    before = _fingerprint(cos_vm, cos_vm.spare_loop)
    wait_for(lambda: unit_active(cos_vm), 120, 'the unit to be active')
    assert cos_vm.exec('systemctl', 'stop', UNIT).returncode == 0
    assert cos_vm.exec('umount', DATA_ROOT).returncode == 0
    _point_disk_link(cos_vm, cos_vm.spare_loop)
    since = '@%d' % int(time.time())
    try:
        started = cos_vm.exec('systemctl', 'start', UNIT)
        assert started.returncode != 0
        journal = cos_vm.exec('journalctl', '--no-pager', '-o', 'cat', '-u', UNIT, '--since', since).stdout
        assert DISK_LINK in journal, journal  # the message names the disk it refused
        assert 'Creating filesystem' not in journal, journal
        assert _fingerprint(cos_vm, cos_vm.spare_loop) == before
        assert cos_vm.exec('mountpoint', '-q', DATA_ROOT).returncode != 0
        assert container(cos_vm) is None or not container(cos_vm)['State']['Running']
    finally:
        cos_vm.exec('systemctl', 'stop', UNIT)
        cos_vm.sh('! mountpoint -q {0} || umount {0}'.format(DATA_ROOT))
        _point_disk_link(cos_vm, cos_vm.disk_loop)
        cos_vm.exec('systemctl', 'reset-failed', UNIT)
        assert cos_vm.exec('systemctl', 'start', UNIT).returncode == 0
    assert cos_vm.exec('blkid', '-p', '-s', 'UUID', '-o', 'value', DISK_LINK).stdout.strip() == \
        cos_vm.first_boot['uuid']


DROPIN_DIR = '/run/systemd/system/%s.d' % idle.SERVICE
TIMER_DROPIN_DIR = '/run/systemd/system/%s.d' % idle.TIMER


def _speed_up_idle_timer(vm):
    """Runtime drop-ins (not the user-data): the check every 3 s from now instead of every minute from 5
    minutes after boot, and the Compute API over plain http (the emulator); the idle time stays the
    user-data's 1 minute."""
    script = ('mkdir -p {s} {t} && '
              'printf "[Service]\\nEnvironment=OFFLOAD_COMPUTE_URL=http://compute.googleapis.com/compute/v1\\n" '
              '>{s}/test.conf && '
              'printf "[Timer]\\nOnBootSec=\\nOnUnitActiveSec=\\nOnActiveSec=1s\\nOnUnitActiveSec=3s\\n'
              'AccuracySec=1s\\n" >{t}/test.conf && '
              'rm -f /run/gcli-offload/idle-since && systemctl daemon-reload && systemctl restart {timer}'
              ).format(s=DROPIN_DIR, t=TIMER_DROPIN_DIR, timer=idle.TIMER)
    assert vm.sh(script).returncode == 0


def _restore_idle_timer(vm):
    vm.sh('rm -rf {s} {t} && systemctl daemon-reload && systemctl restart {timer}'.format(
        s=DROPIN_DIR, t=TIMER_DROPIN_DIR, timer=idle.TIMER))


def _idle_log(vm):
    return vm.exec('journalctl', '--no-pager', '-o', 'short-unix', '-b', '0', '-u', idle.SERVICE).stdout


def _stops(vm, since):
    path = '/compute/v1/projects/%s/zones/%s/instances/%s/stop' % (PROJECT, ZONE, vm.instance['name'])
    return [r for r in vm.emulator.requests(since) if r['method'] == 'POST' and r['path'] == path]


def _idle_lines(vm, since, until=None):
    """What the idle check said (not systemd's lines about its unit) from `since` (an epoch) on,
    and before `until`."""
    lines = []
    for line in _idle_log(vm).splitlines():
        stamp, _sep, rest = line.partition(' ')
        try:
            at = float(stamp)
        except ValueError:
            continue
        _host, _sep, rest = rest.partition(' ')
        ident, _sep, message = rest.partition(': ')
        if at >= since and (until is None or at < until) and not ident.startswith('systemd['):
            lines.append(message)
    return lines


def _processes(vm, prefix):
    """The VM's processes whose command line starts with `prefix` (words joined by blanks)."""
    out = vm.sh("for p in /proc/[0-9]*; do tr '\\0' ' ' <$p/cmdline 2>/dev/null; echo; done").stdout
    return [line for line in out.splitlines() if line.startswith(prefix)]


def _ssh_sessions(vm):
    """sshd's per-connection processes in the VM (not the listening sshd)."""
    return _processes(vm, 'sshd: worker') + _processes(vm, 'sshd-session: worker')


def _run_state(vm, job):
    return vm.sh('cat %s/logs/%s/*.state' % (DATA_ROOT, job)).stdout


GIT_LOCK_HELD = '/tmp/test-git-lock-held'
GIT_LOCK_FREE = '/tmp/test-git-lock-free'


def test_a_detached_job_outlives_its_ssh_session_and_keeps_the_vm_up_until_it_ends(cos_vm, tmp_path, upstream_dir):
    """-e detach=true over SSH: the SSH session ends (logind ends its scope and kills what is
    in it: KillUserProcesses=yes), the job's supervisor runs on in a scope of its own, and the
    idle timer counts the job busy while it runs, its container first, then its supervisor
    alone (releasing the worktree waits for the git lock here); then an SSH session; then the
    VM is idle and stops itself, once, after the idle minute, with its own token."""
    assert cos_vm.exec('systemctl', 'is-active', idle.TIMER).stdout.strip() == 'active'
    since = cos_vm.emulator.mark()
    job = 'offload-1-review'
    worktree = '%s/worktrees/%s' % (DATA_ROOT, job)
    w = Worker(tmp_path, upstream_dir, IMAGE, data_root=DATA_ROOT, inventory=cos_vm.inventory,
               secrets_dir='/dev/shm/gcli-offload-boot')
    w.vars['offload_maintainer_name'] = MAINTAINER
    ssh = None
    try:
        # the case: what an SSH session starts with setsid, even as root, dies with the session
        assert cos_vm.ssh('sudo setsid sh -c "sleep 6061 </dev/null >/dev/null 2>&1 &"').returncode == 0
        wait_for(lambda: not _processes(cos_vm, 'sleep 6061'), 30, 'logind to end the session with its processes')

        started = w.playbook('-e', 'pr=1', '-e', 'detach=true',
                             extra={'offload_job_command': ['sh', '-c', WAIT_FOR_STOP]})
        assert started.returncode == 0, started.stdout[-4000:] + started.stderr[-2000:]
        assert 'runs on without this playbook' in started.stdout, started.stdout[-4000:]
        # no SSH session left: Ansible's ControlPersist masters closed, none in the VM
        cos_vm.close_ssh_masters()
        wait_for(lambda: not _ssh_sessions(cos_vm) and not os.listdir(cos_vm.control_dir), 30,
                 'every SSH session to the VM to end')
        # the job runs on, its supervisor in a scope of its own (the session's is gone)
        wait_for(lambda: 'JOB-STARTED' in cos_vm.sh('cat %s/logs/%s/*.log' % (DATA_ROOT, job)).stdout, 60,
                 'the job to print its first line')
        # its supervisor holds its run's lock (a supervisor that died would leave it free: the run lost)
        assert cos_vm.sh('flock -n %s/logs/%s/*.state true' % (DATA_ROOT, job)).returncode != 0, _run_state(cos_vm, job)
        scopes = cos_vm.exec('systemctl', 'list-units', '--no-legend', '--plain', '--type=scope',
                             'gcli-offload-%s-*' % job).stdout.split()
        assert scopes and scopes[0].startswith('gcli-offload-%s-' % job) and scopes[1:3] == ['loaded', 'active'], \
            scopes
        assert container(cos_vm, job)['State']['Running']

        _speed_up_idle_timer(cos_vm)
        watched = time.time()
        wait_for(lambda: 'busy: a job container runs' in _idle_lines(cos_vm, watched), 60,
                 'the timer to see the job')
        # the job's container ends; its supervisor releases the worktree, which waits for the git lock
        docker('exec', '-d', '--user', '1000', cos_vm.name, 'sh', '-c',
               'exec 9>>%s/worktrees/.offload-git.lock && flock 9 && touch %s && while [ ! -e %s ]; do sleep 0.1; '
               'done' % (DATA_ROOT, GIT_LOCK_HELD, GIT_LOCK_FREE))
        wait_for(lambda: cos_vm.exec('test', '-e', GIT_LOCK_HELD).returncode == 0, 30, 'the git lock to be held')
        assert cos_vm.exec('touch', worktree + '/stop', user='1000').returncode == 0
        wait_for(lambda: container(cos_vm, job) is None, 60, 'the job container to end')
        parts_done = time.time()
        wait_for(lambda: "busy: a job's supervisor runs" in _idle_lines(cos_vm, parts_done), 60,
                 'the timer to see the supervisor alone')
        assert '\nend ' not in _run_state(cos_vm, job)
        assert cos_vm.exec('touch', GIT_LOCK_FREE).returncode == 0
        wait_for(lambda: '\nend ' in _run_state(cos_vm, job), 60, 'the job to end')
        ended = time.time()
        # while it ran: busy at every check, and no stop
        checks = _idle_lines(cos_vm, watched, ended)
        assert checks and all(c.startswith('busy: ') for c in checks), checks
        assert _stops(cos_vm, since) == []
        state = _run_state(cos_vm, job)
        assert state.splitlines()[-1].split()[-1] == '0', state
        assert cos_vm.sh('cat %s/logs/%s/*[0-9]Z.log' % (DATA_ROOT, job)).stdout == 'JOB-STARTED\nJOB-DONE\n'
        assert cos_vm.exec('test', '-e', worktree).returncode != 0  # released by the supervisor
        wait_for(lambda: not cos_vm.exec('systemctl', 'list-units', '--no-legend', '--type=scope',
                                         'gcli-offload-*').stdout.strip(), 30, 'the scope to go with the job')

        ssh = subprocess.Popen(cos_vm.ssh_argv('cat'), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        wait_for(lambda: 'busy: an SSH session is open' in _idle_lines(cos_vm, ended), 60,
                 'the timer to see the session')
        ssh.stdin.close()
        ssh.wait(timeout=30)
        wait_for(lambda: 'idle since now' in _idle_lines(cos_vm, ended), 60, 'the timer to see the VM idle')
        idle_from = time.time()
        wait_for(lambda: _stops(cos_vm, since), 120, 'the stop request')
        stopped_after = time.time() - idle_from
    finally:
        if ssh is not None and ssh.poll() is None:
            ssh.kill()
        cos_vm.exec('touch', GIT_LOCK_FREE)
        cos_vm.docker('rm', '-f', job)
        _restore_idle_timer(cos_vm)
        cos_vm.exec('rm', '-f', GIT_LOCK_HELD, GIT_LOCK_FREE)
        # the maintainer container back to the unit's own spec (offload.yml added the upstream's mount)
        cos_vm.exec('systemctl', 'restart', UNIT)
    stops = _stops(cos_vm, since)
    assert len(stops) == 1 and stops[0]['auth'] == 'bearer' and stops[0]['status'] == 200, stops
    assert stopped_after >= 55, stopped_after  # the user-data's 1 minute (from the first idle check)
    log = _idle_log(cos_vm)
    assert 'stopping %s in %s (%s)' % (cos_vm.instance['name'], ZONE, PROJECT) in log, log


def test_offload_runs_a_pr_job_over_ssh_and_status_reports_it(cos_vm, tmp_path, upstream_dir):
    w = Worker(tmp_path, upstream_dir, IMAGE, data_root=DATA_ROOT, inventory=cos_vm.inventory,
               secrets_dir='/dev/shm/gcli-offload-boot')
    w.vars['offload_maintainer_name'] = MAINTAINER
    job = 'offload-3-review'
    worktree = '%s/worktrees/%s' % (DATA_ROOT, job)
    proc = w.start('-e', 'pr=3', extra={'offload_job_command': ['sh', '-c', WAIT_FOR_STOP]})
    try:
        wait_for(lambda: proc.poll() is not None or cos_vm.docker(
            'container', 'inspect', '-f', '{{.State.Status}}', job).stdout.strip() == 'running',
            180, 'the job container %s in the VM' % job)
        assert proc.poll() is None, proc.communicate()[0][-4000:]
        status = w.playbook(playbook='status.yml')
        assert status.returncode == 0, status.stdout[-4000:] + status.stderr[-2000:]
        assert job in status.stdout and 'running' in status.stdout, status.stdout[-4000:]
        assert cos_vm.exec('touch', worktree + '/stop', user='1000').returncode == 0
        out = proc.communicate(timeout=180)[0]
        assert proc.returncode == 0, out[-4000:]
        assert 'job %s on cos-vm succeeded' % job in out, out[-4000:]
        assert any('JOB-DONE' in open(log).read() for log in w.logs())
        assert cos_vm.exec('test', '-e', worktree).returncode != 0
    finally:
        if proc.poll() is None:
            cos_vm.docker('rm', '-f', job)
            proc.communicate(timeout=120)
        # the maintainer container back to the unit's own spec (offload.yml added the upstream's mount)
        cos_vm.exec('systemctl', 'restart', UNIT)


def test_a_job_image_not_on_the_vm_is_pulled_over_ssh_with_the_registry_credentials(cos_vm, tmp_path, upstream_dir):
    """The collection's docker commands over SSH (sudo docker, root's HOME has no docker config) use the
    config the boot unit wrote with docker-credential-gcr (offload_docker_config): a private image pulls."""
    job_image = '%s/%s/offload/job:pull-%d' % (REGISTRY_HOST, PROJECT, os.getpid())
    subprocess.run(['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', 'docker-daemon:%s' % cos_vm.job_image,
                    'docker://%s/%s' % (cos_vm.registry.host, job_image.split('/', 1)[1])],
                   check=True, capture_output=True, text=True, timeout=600)
    assert cos_vm.docker('image', 'inspect', job_image).returncode != 0  # not on the VM yet
    # what the collection ran before: sudo docker over SSH, without the unit's config, is refused
    plain = cos_vm.ssh('sudo', 'docker', 'pull', job_image)
    assert plain.returncode != 0 and cos_vm.docker('image', 'inspect', job_image).returncode != 0, plain.stdout

    w = Worker(tmp_path, upstream_dir, job_image, data_root=DATA_ROOT, inventory=cos_vm.inventory,
               secrets_dir='/dev/shm/gcli-offload-boot-pull')
    w.vars.update(offload_maintainer_name=MAINTAINER, offload_maintainer_image=IMAGE)
    seen = len(cos_vm.front.registry_requests)
    try:
        # PR 2: no other test here runs it (a job's logs and state stay on the VM's disk)
        proc = w.playbook('-e', 'pr=2', extra={'offload_job_command': ['sh', '-c', 'echo JOB-PULLED']})
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        assert 'job offload-2-review on cos-vm succeeded' in proc.stdout, proc.stdout[-4000:]
        assert cos_vm.docker('image', 'inspect', job_image).returncode == 0
        pulls = [(path, ok) for _m, path, ok in cos_vm.front.registry_requests[seen:]
                 if '/offload/job/manifests/' in path]
        assert pulls and pulls[-1][1], pulls  # authorised with the metadata server's token
    finally:
        cos_vm.docker('rmi', '-f', job_image)
        cos_vm.exec('systemctl', 'restart', UNIT)  # the maintainer container back to the unit's own spec
