# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rules of an offload job, in one place.

Every name, path, label and docker argument of a job is derived here, from
inputs validated here (with the generic rules of _inputs.py); plugins and roles
call these functions and never re-derive a rule themselves. Nothing in this file
touches a host.
"""

from __future__ import annotations

import re

from ansible_collections.gcli.offload.plugins.module_utils._inputs import (
    GIB,
    MIB,
    InputError,
    check_url_authority,
    human_size,
    is_auto,
    redact_url,
    shown,
    validate_argv,
    validate_bool,
    validate_env_name,
    validate_host_dir,
    validate_int,
    validate_size,
)
from ansible_collections.gcli.offload.plugins.module_utils._image_ref import validate_image
# The worker path rules, for the plugins that take them with the job's (_inputs holds them).
from ansible_collections.gcli.offload.plugins.module_utils._inputs import (  # pylint: disable=unused-import
    FORBIDDEN_DIRS,
    MAX_PATH,
    SECRETS_TMPFS,
    forbidden_place,
    validate_worker_path,
)

# The names of _inputs' error and echo before it held them, for the plugins that still use them.
JobInputError = InputError
_shown = shown

from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import (
    GEMINI,
    GIT_ADMIN_DIRS,
    LABEL_PREFIX,
    MAIN,
    MANAGED_LABEL,
    data_dir,
    job_paths,
)

# Actions a batch job can run (the original tool's `offload <PR> <action>`;
# `open`, an interactive shell, is attach.yml's business, not a job's).
ACTIONS = ('review', 'fix', 'ready', 'implement', 'open')

JOB_PREFIX = 'offload'

# Where things live inside the containers. The maintainer container mounts the
# whole data root at DEV; a job container sees only its own worktree (rw), its
# own git admin dir (rw), the main clone (ro) without any other job's admin dir,
# and the worker's gemini config (ro).
CONTAINER_HOME = '/home/node'
DEV = CONTAINER_HOME + '/dev'
JOB_WORKTREE = DEV + '/worktree'
# The main clone at the path it has in the maintainer container (git's records hold it).
JOB_MAIN = data_dir(DEV, MAIN)
# git's admin dirs of all worktrees: an empty file system in a job, but for its own.
JOB_ADMIN_DIRS = data_dir(DEV, GIT_ADMIN_DIRS)
JOB_GEMINI = CONTAINER_HOME + '/.gemini'
# The GitHub token, when the worker has one: a read-only file, never an env value.
JOB_GH_TOKEN = '/run/secrets/gh_token'
JOB_GEMINI_API_KEY = '/run/secrets/gemini_api_key'
JOB_UID = 1000  # the node user of the maintainer image
JOB_USER = '%d:%d' % (JOB_UID, JOB_UID)

# The job network (see plugin_utils/_job_network.py): what a job can reach.
#   open    the internet; not the worker's own services (metadata server, the host, its ports)
#   github  only the hosts of an allow-list, through the egress proxy
#   none    nothing (loopback only)
EGRESS_MODES = ('open', 'github', 'none')
JOB_NETWORK = 'gcli-offload-jobs'
JOB_BRIDGE = 'gcli-offload0'
EGRESS_NETWORK = 'gcli-offload-egress'
EGRESS_BRIDGE = 'gcli-offload1'
PROXY_NAME = 'gcli-offload-proxy'
PROXY_PORT = 3128
# GitHub (git, the API, release and raw downloads), the package registries of the
# image's tool chains (npm, PyPI), and the Gemini API the agent calls.
DEFAULT_EGRESS_ALLOW = (
    'github.com', 'api.github.com', 'codeload.github.com', 'uploads.github.com', '.githubusercontent.com',
    'registry.npmjs.org', 'pypi.org', 'files.pythonhosted.org',
    'generativelanguage.googleapis.com', 'cloudcode-pa.googleapis.com', 'oauth2.googleapis.com',
)
MAX_ALLOW = 200
# A host name (lower case, an optional leading dot for its subdomains) or an IPv4 address.
_HOST_RE = re.compile(r'^\.?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z')

MAX_PR = 10 ** 9
MAX_TIMEOUT = 7 * 24 * 3600
# Upper bounds of the other counts the plugins take (seconds, lines, uids).
MAX_GRACE = 30 * 24 * 3600
MAX_LINES = 10 ** 7
MAX_UID = 2 ** 31 - 2

# git remotes: URLs with a scheme, scp-like user@host:path, or a local path.
_URL_RE = re.compile(
    r'^(?:(?:https?|ssh|git|file)://[^\s\'"`$;|&<>\\]+'
    r'|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s\'"`$;|&<>\\]+'
    r'|/[^\s\'"`$;|&<>\\]+)\Z'
)
_SCP_RE = re.compile(r'^([^/@:]*)@([^/:]*):')
_CONTAINER_NAME_RE = re.compile(r'^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}\Z')
# The docker client: a command name (found in PATH) or an absolute path.
_DOCKER_BIN_RE = re.compile(r'^(?:[A-Za-z0-9_][A-Za-z0-9._+-]{0,63}|/[A-Za-z0-9._/+-]{1,1023})\Z')


def validate_pr(value, variable='pr'):
    """Return the pull request number as an int, or raise JobInputError.

    Accepts an int or a string of decimal digits (extra vars are strings);
    refuses bools, signs, spaces, zero and anything else. An issue's number (variable
    issue) follows the same rule.
    """
    rule = 'must be a positive integer (%s number), got %%s' % ('an issue' if variable == 'issue' else 'a pull request')
    if isinstance(value, bool):
        raise InputError(variable, rule % shown(value))
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r'[0-9]{1,10}', value):
        number = int(value)
    else:
        raise InputError(variable, rule % shown(value))
    if not 1 <= number < MAX_PR:
        raise InputError(variable, rule % shown(value))
    return number


def validate_action(value, variable='action'):
    if value not in ACTIONS:
        raise InputError(variable, 'must be one of %s, got %s' % (', '.join(ACTIONS), shown(value)))
    return value


# Why a git remote must not carry credentials, and what to do instead.
GIT_CREDENTIALS_HINT = ('git would keep them in the main clone\'s config, which jobs can read, and show them in '
                        'process lists and errors. Give the GitHub token with github_auth.yml (OFFLOAD_GH_TOKEN) '
                        'and the URL without it, e.g. https://github.com/OWNER/REPO')


def validate_repo_url(value, variable='offload_repo_url', required=True):
    if value in (None, ''):
        if required:
            raise InputError(variable, 'is required: the git URL (or worker-local path) of the repository')
        return ''
    if not isinstance(value, str) or len(value) > 2048 or not _URL_RE.match(value) or value.startswith('-'):
        raise InputError(variable, 'must be a git URL (https://, ssh://, git://, file://, user@host:path) '
                         'or an absolute path, got %s' % shown(redact_url(value)))
    scheme, sep, rest = value.partition('://')
    if sep:
        netloc = rest.split('/', 1)[0]
        if scheme == 'file':
            if netloc not in ('', 'localhost'):
                raise InputError(variable, 'a file:// URL names a path on the worker (file:///path), got %s'
                                 % shown(redact_url(value)))
        else:
            check_url_authority(netloc, variable, allow_user=scheme == 'ssh', what='the repository URL',
                                hint=GIT_CREDENTIALS_HINT)
    elif not value.startswith('/'):
        user, host = _SCP_RE.match(value).groups()
        check_url_authority('%s@%s' % (user, host), variable, allow_user=True, what='the repository URL',
                            hint=GIT_CREDENTIALS_HINT)
    return value


def validate_command(value, variable='offload_job_command'):
    """The job's command as an argv (None: the image's entrypoint for the job)."""
    return None if value is None else validate_argv(value, variable)


def validate_timeout(value, variable='offload_job_timeout', maximum=MAX_TIMEOUT):
    return validate_int(value, variable, 1, maximum, 'seconds', 'a number of')


# Resource limits of a job container. `auto` (or empty) takes the default derived
# from the worker at job start (worker_limits); sizes are _inputs.validate_size's.
MIN_MEMORY = 6 * MIB  # docker's own minimum
MAX_PIDS = 4194304  # the kernel's pid_max ceiling
MIN_PIDS = 8
MAX_CPUS = 1024
_CPUS_RE = re.compile(r'^[0-9]{1,4}(?:\.[0-9]{1,2})?\Z')
# The defaults: each job may use 3/4 of the worker's CPUs and memory (the rest
# stays for the host, Docker and the maintainer container), 1024 processes and
# threads per CPU, and a job starts only while 5 % of the data disk (at most
# 2 GiB) is free.
SHARE = 0.75
PIDS_PER_CPU = 1024
RESERVE_SHARE = 0.05
MAX_AUTO_RESERVE = 2 * GIB


def validate_cpus(value, variable='offload_job_cpus'):
    """CPUs as a decimal with at most two places (1, 1.5, 0.25), or None for auto."""
    if is_auto(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not _CPUS_RE.match(str(value)):
        raise InputError(variable, 'must be auto or a number of CPUs such as 2 or 1.5 (two decimals at most), '
                         'got %s' % shown(value))
    number = float(value)
    if not 0.01 <= number <= MAX_CPUS:
        raise InputError(variable, 'must be between 0.01 and %d CPUs, got %s' % (MAX_CPUS, shown(value)))
    return round(number, 2)


def validate_pids(value, variable='offload_job_pids'):
    if is_auto(value):
        return None
    return validate_int(value, variable, MIN_PIDS, MAX_PIDS, 'processes and threads', 'auto or a number of')


def validate_egress(value, variable='offload_job_egress'):
    if value not in EGRESS_MODES:
        raise InputError(variable, 'must be one of %s, got %s' % (', '.join(EGRESS_MODES), shown(value)))
    return value


def validate_egress_allow(value, variable='offload_job_egress_allow'):
    """The hosts a `github` job may reach: names (`.example.com`: its subdomains) or IPv4 addresses."""
    if value is None or (isinstance(value, (list, tuple)) and not value):
        return sorted(DEFAULT_EGRESS_ALLOW)
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or len(value) > MAX_ALLOW:
        raise InputError(variable, 'must be a list of at most %d host names (empty: the default list), got %s'
                         % (MAX_ALLOW, shown(value)))
    for host in value:
        if not isinstance(host, str) or len(host) > 253 or not _HOST_RE.match(host):
            raise InputError(variable, 'every entry must be a lower-case host name (.example.com for its '
                             'subdomains) or an IPv4 address, got %s' % shown(host))
    return sorted(set(value))


def job_network_argv(egress):
    """The `docker run` options that put a job on its network (and its proxy, for github)."""
    if egress['mode'] == 'none':
        return ['--network', 'none']
    if egress['mode'] == 'open':
        return ['--network', JOB_NETWORK]
    proxy = 'http://%s:%d' % (PROXY_NAME, PROXY_PORT)
    argv = ['--network', EGRESS_NETWORK]
    for key in ('HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'):
        argv += ['--env', '%s=%s' % (key, proxy)]
    return argv + ['--env', 'NO_PROXY=localhost,127.0.0.1', '--env', 'no_proxy=localhost,127.0.0.1']


def job_limits(memory=None, cpus=None, pids=None, disk_reserve=None):
    """The job's resource options as given (None: derive from the worker)."""
    return {
        'memory': validate_size(memory, 'offload_job_memory', MIN_MEMORY),
        'cpus': validate_cpus(cpus),
        'pids': validate_pids(pids),
        'disk_reserve': validate_size(disk_reserve, 'offload_job_disk_reserve'),
    }


def worker_limits(limits, worker, cpus, memory, disk_size=None):
    """The limits of a job on a worker with `cpus` CPUs and `memory` bytes (and a data
    disk of `disk_size` bytes, when known): the given ones, checked against the
    worker, and the defaults for the others. Raises JobInputError when a given
    limit is more than the worker has (docker would refuse it less clearly)."""
    resolved = dict(limits)
    if resolved['cpus'] is None:
        resolved['cpus'] = max(1.0, round(cpus * SHARE, 2)) if cpus >= 1 else cpus
    elif resolved['cpus'] > cpus:
        raise InputError('offload_job_cpus', 'must be at most %d, the CPUs of %s, got %g'
                         % (cpus, worker, resolved['cpus']))
    if resolved['memory'] is None:
        resolved['memory'] = max(MIN_MEMORY, int(memory * SHARE) // MIB * MIB)
    elif resolved['memory'] > memory:
        raise InputError('offload_job_memory', 'must be at most %s, the memory of %s, got %s'
                         % (human_size(memory), worker, human_size(resolved['memory'])))
    if resolved['pids'] is None:
        resolved['pids'] = PIDS_PER_CPU * max(1, int(cpus))
    if resolved['disk_reserve'] is None:
        resolved['disk_reserve'] = min(MAX_AUTO_RESERVE, int((disk_size or 0) * RESERVE_SHARE))
    return resolved


def limit_argv(limits):
    """The `docker run` options of resolved limits: memory without swap on top of it."""
    return ['--memory', str(limits['memory']), '--memory-swap', str(limits['memory']),
            '--cpus', '%g' % limits['cpus'], '--pids-limit', str(limits['pids'])]


def validate_docker_bin(value, variable='docker_bin'):
    """The docker client: a command name or an absolute path, nothing a shell would read."""
    if not isinstance(value, str) or not _DOCKER_BIN_RE.match(value) or '..' in value.split('/'):
        raise InputError(variable, 'must be a command name or an absolute path (letters, digits and . _ / + -, '
                         'no ..), such as docker or /usr/bin/docker, got %s' % shown(value))
    return value


def validate_env(value, variable='env'):
    """Environment variables for a container: names [A-Za-z_][A-Za-z0-9_]*, string values without NUL."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(variable, 'must be a dictionary of variable names to values, got %s' % shown(value))
    env = {}
    for key, item in value.items():
        validate_env_name(key, variable)
        if isinstance(item, bool) or not isinstance(item, (str, int, float)) or '\0' in str(item):
            raise InputError(variable, 'the value of %s must be a string without NUL bytes, got %s'
                             % (key, shown(item)))
        env[key] = str(item)
    return env


def validate_container_name(value, variable):
    if not isinstance(value, str) or not _CONTAINER_NAME_RE.match(value):
        raise InputError(variable, 'must be a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*), got %s' % shown(value))
    return value


def job_name(pr, action):
    """`offload-<pr>-<action>`: the container name, worktree name and log folder."""
    return '%s-%d-%s' % (JOB_PREFIX, validate_pr(pr), validate_action(action))


# Linux signal numbers (the worker's), for exit codes 128+N of a killed job.
_SIGNALS = {1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 13: 'SIGPIPE', 14: 'SIGALRM',
            15: 'SIGTERM'}


def exit_reason(rc):
    """A job's exit code in words, for its failure message.

    128+N is how a shell (and `docker run`) reports a process killed by signal N:
    137 is SIGKILL (`docker kill`, the out-of-memory killer, a worker going down),
    143 SIGTERM (`docker stop`). Anything else is the job's own exit code.
    """
    if 128 < rc < 128 + 65:
        signal = _SIGNALS.get(rc - 128, 'signal %d' % (rc - 128))
        return 'was killed by %s (exit code %d)' % (signal, rc)
    return 'failed with exit code %d' % rc


_DISK_FULL_RE = re.compile(r'No space left on device|Disk quota exceeded', re.I)


def disk_full(text):
    """Does a command's output say the disk it wrote to is full?"""
    return bool(_DISK_FULL_RE.search(text or ''))


# What a process sees when fork() or clone() fails at the container's pids limit
# (EAGAIN): bash, dash, Python, Node.js (spawn EAGAIN), glibc's pthread_create.
_FORK_FAILED_RE = re.compile(r'fork: (?:retry: )?Resource temporarily unavailable|Cannot fork|'
                             r"can't start new thread|spawn(?: \S+)? EAGAIN|\bEAGAIN\b.*\b(?:fork|spawn|clone|thread)|"
                             r'BlockingIOError: \[Errno 11\]|pthread_create\S*: Resource temporarily unavailable', re.I)


def fork_failed(text):
    """Does a job's log show processes or threads it could not create (its pids limit)?"""
    return bool(_FORK_FAILED_RE.search(text or ''))


def disk_full_message(worker, data_root, doing):
    """What to say when the worker's data disk is full (instead of the raw errors)."""
    return ('the disk of %s is full at %s (no space left on device while %s): free space there '
            '(clean.yml -e all=true removes the worktrees of jobs that are not running; old logs are under %s/logs), '
            'then re-run' % (worker, data_root, doing, data_root))


def job_labels(pr, action):
    name = job_name(pr, action)
    return {
        MANAGED_LABEL: 'true',
        LABEL_PREFIX + 'job': name,
        LABEL_PREFIX + 'pr': str(pr),
        LABEL_PREFIX + 'action': action,
    }


def job_spec(pr, action, data_root, image, repo_url=None, upstream_url=None, command=None,
             timeout=3600, gemini_dir=None, keep_worktree=False, lock_grace=None, memory=None, cpus=None,
             pids=None, disk_reserve=None, egress='open', egress_allow=None):
    """Validate every input of a job and derive all of its names and paths.

    Raises JobInputError naming the first offending variable. repo_url may be
    None for callers that do not touch git (it is then not checked); an empty
    string is refused.
    """
    pr = validate_pr(pr)
    action = validate_action(action)
    data_root = validate_host_dir(data_root, 'offload_data_root')
    image = validate_image(image)
    repo_url = validate_repo_url(repo_url, required=repo_url is not None)
    upstream_url = validate_repo_url(upstream_url, 'offload_upstream_url', required=False)
    command = validate_command(command)
    timeout = validate_timeout(timeout)
    gemini_dir = validate_host_dir(gemini_dir or data_dir(data_root, GEMINI), 'offload_gemini_dir')
    keep_worktree = validate_bool(keep_worktree, 'offload_keep_worktree')
    if lock_grace is not None:
        validate_int(lock_grace, 'offload_lock_grace', 0, MAX_GRACE, 'seconds')
    limits = job_limits(memory, cpus, pids, disk_reserve)
    egress = {'mode': validate_egress(egress), 'allow': validate_egress_allow(egress_allow)}
    name = job_name(pr, action)
    return {
        'pr': pr,
        'action': action,
        'name': name,
        'image': image,
        'repo_url': repo_url,
        'upstream_url': upstream_url,
        'command': command or ['offload-entrypoint', str(pr), action],
        'timeout': timeout,
        'keep_worktree': keep_worktree,
        'data_root': data_root,
        # main_dir, worktree_dir, gitdir (git's admin dir of the worktree), log_dir
        **job_paths(data_root, name),
        'gemini_dir': gemini_dir,
        'labels': job_labels(pr, action),
        # None: derived from the worker at job start (worker_limits)
        'limits': limits,
        'egress': egress,
    }


# Settings for every git command in a job, through the environment (a file in the
# worktree is the job's to change; main's config is read-only and the maintainer's).
JOB_GIT_CONFIG = (('gc.auto', '0'), ('maintenance.auto', 'false'))


def job_git_config(pairs):
    """GIT_CONFIG_COUNT/_KEY_n/_VALUE_n for pairs (the entrypoint appends its own after them)."""
    env = {'GIT_CONFIG_COUNT': str(len(pairs))}
    for n, (key, value) in enumerate(pairs):
        env['GIT_CONFIG_KEY_%d' % n] = key
        env['GIT_CONFIG_VALUE_%d' % n] = value
    return env


def job_run_argv(spec, docker='docker', extra_env=None, gh_token_file=None, limits=None, part=None,
                 container=None, command=None, gemini_key_file=None):
    """The `docker run` argv of a job container (never a shell string).

    The worktree is read-write; the main clone and the gemini config are
    read-only; git's admin dir for this one worktree is writable so that git
    in the job can update its index and HEAD, and new objects go to a
    per-job object directory (the shared object store stays read-only).
    Main's directory of admin dirs is covered by an empty, root-owned tmpfs:
    no job sees another's index, HEAD or objects.
    gh_token_file (a worker path) is mounted read-only at JOB_GH_TOKEN and
    only its path is in the environment: `docker inspect` never shows a token.
    gemini_key_file (the model's API key, a worker path) is mounted the same way at
    JOB_GEMINI_API_KEY, named by OFFLOAD_GEMINI_API_KEY_FILE (the agent's parts only).
    limits are the resolved resource limits (worker_limits; None: docker's
    defaults, for check mode's preview only). No `--rm`: the runner reads the
    container's state (was it OOM-killed?) before it removes it.
    The output goes to no docker log driver: only the runner, which masks the
    token, stores it.
    part names the part of the job this container runs (a label; container: its
    name, else the job's; command: its argv, else the job's).
    """
    name = container or spec['name']
    job_gitdir = '%s/%s' % (JOB_ADMIN_DIRS, spec['name'])
    argv = [docker, 'run', '--name', name, '--init',
            '--user', JOB_USER,
            '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
            # the output is the runner's (masked, then stored): no copy in the daemon's log files
            '--log-driver', 'none',
            '--workdir', JOB_WORKTREE]
    if limits:
        argv += limit_argv(limits)
    argv += job_network_argv(spec['egress'])
    labels = dict(spec['labels'])
    if part:
        labels[LABEL_PREFIX + 'part'] = part
    for key, value in sorted(labels.items()):
        argv += ['--label', '%s=%s' % (key, value)]
    mounts = [
        (spec['worktree_dir'], JOB_WORKTREE, False),
        (spec['main_dir'], JOB_MAIN, True),
        (spec['gitdir'], job_gitdir, False),
        (spec['gemini_dir'], JOB_GEMINI, True),
    ]
    if gh_token_file:
        mounts.append((validate_host_dir(gh_token_file, 'gh_token_file', secrets=True), JOB_GH_TOKEN, True))
    if gemini_key_file:
        mounts.append((validate_host_dir(gemini_key_file, 'gemini_key_file', secrets=True), JOB_GEMINI_API_KEY, True))
    for source, target, readonly in mounts:
        argv += ['--mount', 'type=bind,source=%s,target=%s%s' % (source, target, ',readonly' if readonly else '')]
    # docker mounts by depth: main, then this tmpfs over its admin dirs, then the job's own
    argv += ['--mount', 'type=tmpfs,target=%s,tmpfs-size=65536,tmpfs-mode=0755' % JOB_ADMIN_DIRS]
    env = {
        'OFFLOAD_PR': str(spec['pr']),
        'OFFLOAD_ACTION': spec['action'],
        'OFFLOAD_JOB': spec['name'],
        'GIT_OBJECT_DIRECTORY': job_gitdir + '/objects',
        'GIT_ALTERNATE_OBJECT_DIRECTORIES': JOB_MAIN + '/.git/objects',
    }
    # git's automatic gc and maintenance off in the job: they would repack main's
    # read-only store and fail; housekeeping is the maintainer container's.
    env.update(job_git_config(JOB_GIT_CONFIG))
    if gh_token_file:
        env['OFFLOAD_GH_TOKEN_FILE'] = JOB_GH_TOKEN
    if gemini_key_file:
        env['OFFLOAD_GEMINI_API_KEY_FILE'] = JOB_GEMINI_API_KEY
    env.update(extra_env or {})
    for key in sorted(env):
        argv += ['--env', '%s=%s' % (key, env[key])]
    argv.append(spec['image'])
    argv += command or spec['command']
    return argv
