# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""create-with-container semantics on Container-Optimized OS, through cloud-init.

The container declared by the cos_instance options becomes:
- `docker run` arguments (`container_run_args`): by default exactly the
  maintainer container of `_maintainer.py`, so the worktree role adopts it as is;
- a systemd unit (`render_unit`) that mounts the data disk (formatting it only
  when `blkid -p` finds no signature on it), lets docker pull from Artifact Registry with
  docker-credential-gcr, and runs the container;
- a `#cloud-config` (`render_cloud_config`) whose `write_files` puts the unit
  under /etc/systemd/system and whose `runcmd` reloads systemd and starts it
  (cloud-init re-applies it at every boot: /etc is a tmpfs on COS);
- optionally the old konlet `gce-container-declaration` (`render_declaration`).

Nothing here touches a host or an API; every value is validated before it is
placed in a unit, and the unit runs argv lists (systemd-quoted), not shells,
except for two fixed sh scripts whose only variable is a validated GCE name.
"""

from __future__ import annotations

import re

from ansible.module_utils.common.yaml import yaml_dump

from ansible_collections.gcli.offload.plugins.module_utils._gce_names import validate_name
from ansible_collections.gcli.offload.plugins.module_utils._inputs import (
    InputError,
    option_names,
    shown,
    validate_env_name,
    validate_host_dir,
    validate_worker_path,
)
from ansible_collections.gcli.offload.plugins.module_utils._image_ref import is_google_registry, registry_of, validate_image
from ansible_collections.gcli.offload.plugins.module_utils._jobs import DEV, validate_container_name
from ansible_collections.gcli.offload.plugins.module_utils import _idle_stop as idle_stop
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import MAINTAINER_NAME
from ansible_collections.gcli.offload.plugins.module_utils._maintainer import (
    maintainer_run_args,
    spec_hash,
)

SPEC_LABEL = 'gcli.offload.spec'
DEFAULT_CONTAINER_NAME = MAINTAINER_NAME
# create-with-container's restart policies, plus the maintainer container's own.
RESTART_POLICIES = {'UnlessStopped': 'unless-stopped', 'Always': 'always', 'OnFailure': 'on-failure',
                    'Never': 'no'}
DEFAULT_RESTART_POLICY = 'UnlessStopped'
MOUNT_ROOT = '/mnt/disks'
CONFIG_HOME = '/home/gcli-offload'  # HOME for docker-credential-gcr's docker config (writable on COS)
# The docker client configuration the unit writes there; the collection's own docker commands
# on the worker use it too (the offload_docker_config host variable -> DOCKER_CONFIG).
DOCKER_CONFIG_DIR = CONFIG_HOME + '/.docker'

_SYSTEMD_PLAIN_RE = re.compile(r'^[A-Za-z0-9_@+=:,./-]+\Z')
MAX_DISK_GB = 65536
MAX_IDLE_STOP_MINUTES = 7 * 24 * 60


def normalize_container(options, variables=None):
    """The container options, validated, with defaults: a dict the other functions take.

    variables: option (container.image...) -> the name the user gave it (_inputs.option_names).
    """
    name = option_names(variables)
    if not isinstance(options, dict):
        raise InputError(name('container'), 'must be a dictionary with at least image')
    image = validate_image(options.get('image'), name('container.image'))
    container_name = validate_container_name(options.get('name') or DEFAULT_CONTAINER_NAME, name('container.name'))
    command = _argv(options.get('command'), name('container.command'))
    args = _argv(options.get('args'), name('container.args'))
    env = options.get('env') or {}
    if isinstance(env, list):  # create-with-container style: [{name, value}]
        try:
            env = dict((item['name'], item.get('value', '')) for item in env)
        except (TypeError, KeyError):
            raise InputError(name('container.env'), 'must be a dictionary, or a list of {name, value}') from None
    if not isinstance(env, dict):
        raise InputError(name('container.env'), 'must be a dictionary of variable names to values')
    clean_env = {}
    for key, value in env.items():
        validate_env_name(key, name('container.env'))
        clean_env[key] = '' if value is None else str(value)
    mounts = []
    for index, mount in enumerate(options.get('mounts') or []):
        where = name('container.mounts') + '[%d]' % index
        if not isinstance(mount, dict):
            raise InputError(where, 'must be a dictionary with mount_path and host_path or tmpfs')
        target = validate_worker_path(mount.get('mount_path'), where + '.mount_path')
        if target == DEV or target.startswith(DEV + '/'):
            raise InputError(where + '.mount_path', 'must not be %s or below: the data disk is mounted there'
                             % DEV)
        tmpfs = bool(mount.get('tmpfs'))
        host = mount.get('host_path')
        if tmpfs == bool(host):
            raise InputError(where, 'needs exactly one of host_path and tmpfs: true')
        entry = {'mount_path': target, 'read_only': bool(mount.get('read_only', False))}
        if tmpfs:
            entry['tmpfs'] = True
        else:
            entry['host_path'] = validate_host_dir(host, where + '.host_path')
        mounts.append(entry)
    policy = options.get('restart_policy') or DEFAULT_RESTART_POLICY
    if policy not in RESTART_POLICIES:
        raise InputError(name('container.restart_policy'), 'must be one of %s, got %s'
                         % (', '.join(RESTART_POLICIES), shown(policy)))
    return {'image': image, 'name': container_name, 'command': command, 'args': args, 'env': clean_env, 'mounts': mounts,
            'restart_policy': policy, 'privileged': bool(options.get('privileged')),
            'stdin': bool(options.get('stdin')), 'tty': bool(options.get('tty'))}


def _argv(value, variable):
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise InputError(variable, 'must be a list of strings (an argv), not a shell string')
    if any(not isinstance(item, (str, int, float)) or isinstance(item, bool) for item in value):
        raise InputError(variable, 'must contain only strings')
    return [str(item) for item in value]


def container_run_args(container, data_root):
    """`docker run` arguments after `run --detach --label <spec>` for the declared container.

    With no command, args, env, mounts, privileged, stdin or tty and the default
    restart policy, this is exactly `maintainer_run_args(name, image, data_root)`,
    so its spec hash is the one the worktree role expects.
    """
    base = maintainer_run_args(container['name'], container['image'], data_root)
    # base = [...options..., '--entrypoint', 'sleep', image, 'infinity']
    head, tail = base[:-4], base[-4:]
    index = head.index('--restart') + 1
    head[index] = RESTART_POLICIES[container['restart_policy']]
    extra = []
    if container['privileged']:
        extra.append('--privileged')
    if container['stdin']:
        extra.append('--interactive')
    if container['tty']:
        extra.append('--tty')
    for key in sorted(container['env']):
        extra += ['--env', '%s=%s' % (key, container['env'][key])]
    for mount in container['mounts']:
        if mount.get('tmpfs'):
            spec = 'type=tmpfs,target=%s' % mount['mount_path']
        else:
            spec = 'type=bind,source=%s,target=%s' % (mount['host_path'], mount['mount_path'])
        if mount['read_only']:
            spec += ',readonly'
        extra += ['--mount', spec]
    command, args = container['command'], container['args']
    if command is None and args is None:
        return head + extra + tail
    if command:
        return head + extra + ['--entrypoint', command[0], container['image']] + command[1:] + (args or [])
    return head + extra + [container['image']] + (args or [])


def container_spec_hash(container, data_root):
    return spec_hash(container_run_args(container, data_root))


def systemd_quote(arg):
    """One argv word for an Exec*= line (systemd's quoting; % and $ doubled)."""
    arg = str(arg)
    if _SYSTEMD_PLAIN_RE.match(arg):
        return arg
    text = arg.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n').replace('\t', '\\t')
    return '"%s"' % text.replace('%', '%%').replace('$', '$$')


def _exec(argv):
    return ' '.join(systemd_quote(a) for a in argv)


def unit_name(container):
    return 'gcli-offload-%s.service' % container['name']


def device_unit(device_name):
    """systemd's unit for /dev/disk/by-id/google-<device_name> (systemd-escape --path)."""
    return 'dev-disk-by\\x2did-google\\x2d%s.device' % device_name.replace('-', '\\x2d')


# blkid -p (low-level probe) exit codes: 0 a signature was found, 2 none was found;
# 4 is a usage error and 8 an ambivalent probe (several signatures): not "empty".
BLKID_NO_SIGNATURE = 2
MKFS = ['mkfs.ext4', '-F', '-m', '0', '-E', 'lazy_itable_init=0,lazy_journal_init=0,discard']


def format_script(device):
    """The sh script that formats `device` only when `blkid -p` reports no signature (exit 2).

    Any other failure of blkid (usage, an ambivalent probe, an I/O error) leaves the disk
    untouched and fails the unit with a message saying what to check: a disk that might hold
    data is never reformatted. `device` is a fixed /dev/disk/by-id path of a checked GCE name.
    """
    return ('blkid -p %(dev)s >/dev/null; rc=$?; '
            'if [ "$rc" -eq %(empty)d ]; then exec %(mkfs)s %(dev)s; fi; '
            'if [ "$rc" -ne 0 ]; then echo "gcli.offload: not formatting %(dev)s: blkid -p exited $rc (only %(empty)d, '
            'no signature, means empty: 8 is an ambivalent probe, 4 a usage error); the disk is left untouched. '
            'Inspect it (blkid -p, wipefs --no-act) and wipe it yourself only if it holds nothing you need" >&2; '
            'exit 1; fi'
            % {'dev': device, 'empty': BLKID_NO_SIGNATURE, 'mkfs': ' '.join(MKFS)})


def render_unit(container, device_name):
    """The systemd unit that mounts the data disk and runs the container."""
    device_name = validate_name(device_name, 'data_disk.device_name')
    device = '/dev/disk/by-id/google-%s' % device_name
    data_root = '%s/%s' % (MOUNT_ROOT, device_name)
    run_args = container_run_args(container, data_root)
    digest = spec_hash(run_args)
    registry = registry_of(container['image'])
    dev_unit = device_unit(device_name)
    lines = [
        '# Written by gcli.offload cos_instance (cloud-init); do not edit on the VM.',
        '[Unit]',
        'Description=gcli.offload container %s' % container['name'],
        'Wants=network-online.target',
        'After=network-online.target docker.service %s' % dev_unit,
        'Requires=docker.service %s' % dev_unit,
        '',
        '[Service]',
        'Type=oneshot',
        'RemainAfterExit=yes',
        'Restart=on-failure',
        'RestartSec=15',
        'Environment=HOME=%s' % CONFIG_HOME,
        'ExecStartPre=' + _exec(['/bin/mkdir', '-p', CONFIG_HOME, data_root]),
        'ExecStartPre=' + _exec(['/bin/sh', '-c', format_script(device)]),
        'ExecStartPre=/bin/sh -c "mountpoint -q %s || mount -o discard,defaults %s %s"'
        % (data_root, device, data_root),
        'ExecStartPre=' + _exec(['/bin/chown', '1000:1000', data_root]),
    ]
    if registry and is_google_registry(registry):
        lines.append('ExecStartPre=' + _exec(['/usr/bin/docker-credential-gcr', 'configure-docker',
                                              '--registries=%s' % registry]))
    lines += [
        'ExecStartPre=' + _exec(['/usr/bin/docker', 'pull', container['image']]),
        'ExecStartPre=-' + _exec(['/usr/bin/docker', 'rm', '--force', container['name']]),
        'ExecStart=' + _exec(['/usr/bin/docker', 'run', '--detach', '--label', '%s=%s' % (SPEC_LABEL, digest)]
                             + run_args),
        'ExecStop=' + _exec(['/usr/bin/docker', 'stop', container['name']]),
        '',
        '[Install]',
        'WantedBy=multi-user.target',
        '',
    ]
    return '\n'.join(lines)


def render_cloud_config(container, device_name, idle_stop_minutes=0):
    """`#cloud-config` user-data: write the unit, reload systemd, start the unit;
    with idle_stop_minutes, also the idle auto-stop script and timer (_idle_stop)."""
    unit = unit_name(container)
    files = [{'path': '/etc/systemd/system/%s' % unit, 'permissions': '0644', 'owner': 'root',
              'content': render_unit(container, device_name)}]
    runcmd = [['systemctl', 'daemon-reload'], ['systemctl', 'start', unit]]
    if idle_stop_minutes:
        idle_files, idle_runcmd = idle_stop.cloud_config_parts(idle_stop_minutes)
        files += idle_files
        runcmd += [cmd for cmd in idle_runcmd if cmd not in runcmd]
    out = ['#cloud-config', '', 'write_files:']
    for f in files:
        out += ['  - path: %s' % f['path'],
                "    permissions: '%s'" % f['permissions'],
                '    owner: %s' % f['owner'],
                '    content: |']
        out += [('      ' + line) if line else '' for line in f['content'].rstrip('\n').split('\n')]
    out += ['', 'runcmd:']
    out += ['  - [%s]' % ', '.join(cmd) for cmd in runcmd]
    out.append('')
    return '\n'.join(out)


DECLARATION_DISCLAIMER = (
    '# DISCLAIMER:\n'
    '# This container declaration format is not a public API and may change without\n'
    '# notice. Please use gcloud command-line tool or Google Cloud Console to run\n'
    '# Containers on Google Compute Engine.\n\n')


def declaration(container):
    """The konlet container declaration as data (what gcloud's create-with-container builds)."""
    spec = {'name': container['name'], 'image': container['image'],
            'securityContext': {'privileged': container['privileged']},
            'stdin': container['stdin'], 'tty': container['tty']}
    if container['command']:
        spec['command'] = list(container['command'])
    if container['args']:
        spec['args'] = list(container['args'])
    if container['env']:
        spec['env'] = [{'name': key, 'value': container['env'][key]} for key in sorted(container['env'])]
    mounts, volumes = [], []
    counters = {'host-path': 0, 'tmpfs': 0}  # gcloud numbers each kind on its own
    for mount in container['mounts']:
        kind = 'tmpfs' if mount.get('tmpfs') else 'host-path'
        name = '%s-%d' % (kind, counters[kind])
        counters[kind] += 1
        entry = {'name': name, 'mountPath': mount['mount_path']}
        if mount.get('tmpfs'):
            if mount['read_only']:
                entry['readOnly'] = True
            volumes.append({'name': name, 'emptyDir': {'medium': 'Memory'}})
        else:
            entry['readOnly'] = mount['read_only']
            volumes.append({'name': name, 'hostPath': {'path': mount['host_path']}})
        mounts.append(entry)
    if mounts:
        spec['volumeMounts'] = mounts
    policy = container['restart_policy'] if container['restart_policy'] != 'UnlessStopped' else 'Always'
    return {'spec': {'containers': [spec], 'volumes': volumes, 'restartPolicy': policy}}


def render_declaration(container):
    """The konlet `gce-container-declaration` YAML, in the format gcloud writes (keys sorted, its header)."""
    return DECLARATION_DISCLAIMER + yaml_dump(declaration(container), default_flow_style=False)
