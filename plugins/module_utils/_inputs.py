# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Generic input rules, and the one error every plugin raises for a bad input.

Every refusal is an `InputError(variable, message)`: `variable` is the name the user
gave the value under (a module option, a playbook or role variable), so the message
names what to fix; `str()` is ``variable: message``. A bad value is echoed through
`shown()`, bounded, so that a 100 kB value never fills a message.

Each validator takes the variable's name and returns the checked (normalised) value.
The rules of one domain build on these: job inputs in _jobs.py, Compute Engine names
in _gce_names.py, image references in _image_ref.py. Nothing here touches a host.
"""

from __future__ import annotations

import posixpath
import re

from ansible.module_utils.parsing.convert_bool import boolean


class InputError(ValueError):
    """An input that must be refused before anything touches a host or an API.

    `variable` names the value as the user gave it; `message` says what is wrong with it
    and reads on its own.
    """

    def __init__(self, variable, message):
        super().__init__('%s: %s' % (variable, message))
        self.variable = variable
        self.message = message


def option_names(variables=None):
    """`name(option)`: what the user calls a function's option, from `variables` (option -> variable).

    A rule written once for a module's options also checks a playbook's or role's variables:
    the caller passes the names its users know, and every refusal names those directly.
    """
    variables = variables or {}
    return lambda option: variables.get(option, option)


def shown(value, limit=60):
    """A bad value as a message shows it: its repr, cut after `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


# Only ASCII digits: int() also takes other scripts' digits ('١٢٣'), '1_000' and spaces.
_DECIMAL_RE = re.compile(r'^-?[0-9]{1,40}\Z')


def validate_int(value, variable, minimum, maximum, unit='', what=None):
    """Return value as an int between minimum and maximum, or raise InputError.

    Takes an int, an integral float, or a string of ASCII digits (extra vars are
    strings); refuses bools, fractions, other scripts' digits, spaces and '_'.
    """
    shown_unit = ' ' + unit if unit else ''
    what = what or ('a whole number of' if unit else 'a whole number')
    number = None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():  # also NaN and infinities
            raise InputError(variable, 'must be a whole number%s, got %s' % (shown_unit, shown(value)))
        number = int(value)
    elif isinstance(value, str) and _DECIMAL_RE.match(value):
        number = int(value)
    if number is None:
        raise InputError(variable, 'must be %s%s, got %s' % (what, shown_unit, shown(value)))
    if not minimum <= number <= maximum:
        raise InputError(variable, 'must be between %d and %d%s, got %s'
                         % (minimum, maximum, shown_unit, shown(value)))
    return number


def validate_bool(value, variable):
    """Return value as a bool, or raise InputError.

    Takes what Ansible takes for a boolean (its `boolean()`, as for an option of type
    bool): True/False, 1/0, and the strings yes/no, true/false, on/off, y/n, t/f, 1/0
    in any case (`-e name=true` gives the string). Anything else ('maybe', '2', '')
    is refused rather than read as false.
    """
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise InputError(variable, 'must be a boolean (true/false, yes/no, on/off or 1/0), got %s'
                         % shown(value)) from None


def validate_choice(value, variable, choices):
    """value, one of `choices` (compared exactly), or InputError listing them."""
    if not isinstance(value, str) or value not in choices:
        raise InputError(variable, 'must be one of %s, got %s' % (', '.join(choices), shown(value)))
    return value


def validate_match(value, variable, regex, what, allow_empty=False):
    """A string matching `regex` (compiled, anchored by the caller), described as `what` in the refusal.

    allow_empty: None or '' is returned as ''.
    """
    if allow_empty and value in ('', None):
        return ''
    if not isinstance(value, str) or not regex.match(value):
        raise InputError(variable, 'must be %s, got %s' % (what, shown(value)))
    return value


def validate_string(value, variable):
    if not isinstance(value, str):
        raise InputError(variable, 'must be a string, got %s' % shown(value))
    return value


def validate_str_list(value, variable):
    """A list (or tuple) of strings, as a new list; a lone string is refused (not split)."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise InputError(variable, 'must be a list of strings, got %s' % shown(value))
    return list(value)


def validate_argv(value, variable):
    """A command as an argv: a non-empty list of strings without NUL bytes, never a shell string."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise InputError(variable, 'must be a non-empty list of strings (an argv), not a shell string')
    for item in value:
        if not isinstance(item, str) or '\0' in item:
            raise InputError(variable, 'every element must be a string without NUL bytes, got %s' % shown(item))
    return list(value)


# An environment variable's name (for a container's --env).
ENV_NAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]{0,255}\Z')


def validate_env_name(value, variable):
    if not isinstance(value, str) or not ENV_NAME_RE.match(value):
        raise InputError(variable, 'variable names must match [A-Za-z_][A-Za-z0-9_]*, got %s' % shown(value))
    return value


# --- paths on a worker ----------------------------------------------------------------

MAX_PATH = 1024
# A worker path must be something we can pass through `--mount` and a remote
# shell without any quoting subtlety: absolute, no `..`, a plain character set.
_PATH_RE = re.compile(r'^/[A-Za-z0-9._/+-]*\Z')

# Host directories the collection never mounts in a container, creates, chowns or writes
# into, nor anything under them: the system's files, the kernel's views of every process
# and device (/proc showed a job every host process's arguments), root's home, and the
# container runtimes' state (/var/run holds the Docker socket: root on the host).
FORBIDDEN_DIRS = ('/etc', '/proc', '/sys', '/dev', '/run', '/var/run', '/root', '/boot', '/bin', '/sbin', '/lib',
                  '/lib32', '/lib64', '/libx32', '/usr', '/var/lib/docker', '/var/lib/containerd',
                  '/var/lib/kubelet', '/var/lib/dockershim', '/var/snap/docker')
# The one exception, for secrets only: they must be on a tmpfs, and /dev/shm is the tmpfs
# every Linux host with Docker has (COS included), writable, made for this. A directory
# of its own under it, never /dev/shm itself (shared by every user, mode 1777).
SECRETS_TMPFS = '/dev/shm'


def validate_worker_path(value, variable):
    """An absolute path of plain characters, without . or .. components, not the root; normalised."""
    if not isinstance(value, str) or len(value) > MAX_PATH or not _PATH_RE.match(value):
        raise InputError(
            variable,
            'must be an absolute path of letters, digits and . _ / + - only (%d characters at most), got %s'
            % (MAX_PATH, shown(value)))
    parts = value.split('/')
    if '..' in parts or '.' in parts:
        raise InputError(variable, 'must not contain . or .. components, got %s' % shown(value))
    normalized = posixpath.normpath(value)
    if normalized == '/':
        raise InputError(variable, 'must not be the root directory')
    return normalized


def forbidden_place(path, secrets=False):
    """The forbidden directory `path` (normalised, absolute) is or is under, or None."""
    if path == '/':
        return '/'
    if secrets and path.startswith(SECRETS_TMPFS + '/'):
        return None
    for place in FORBIDDEN_DIRS:
        if path == place or path.startswith(place + '/') or (
                place in ('/var/lib/docker', '/var/lib/containerd') and path.startswith(place)):
            return place
    return None


def validate_host_dir(value, variable, secrets=False, resolved=None):
    """A worker directory the collection mounts or writes: validate_worker_path, and not a forbidden
    place (FORBIDDEN_DIRS; with secrets, /dev/shm/<dir> is allowed). resolved: the path as the
    worker resolved it (symlinks followed), checked the same way. Returns the normalised path."""
    path = validate_worker_path(value, variable)
    for shown_path, real in ((path, path), (path, resolved)):
        if real is None:
            continue
        place = forbidden_place(real, secrets)
        if place:
            where = '' if real == path else ' (it resolves to %s on the worker)' % shown(real)
            raise InputError(variable, 'must not be %s or under it%s: a system, kernel or container runtime '
                                       'directory; give a directory of its own%s, got %s' % (
                                           place, where, ' (on a tmpfs: /dev/shm/<name>)' if secrets else '',
                                           shown(shown_path)))
    return path


# --- sizes ------------------------------------------------------------------------------

# `auto` (or empty) takes a default derived later; sizes are bytes or a number with
# k, m or g (binary units, as docker reads them).
AUTO = 'auto'
MIB = 1024 ** 2
GIB = 1024 ** 3
MAX_SIZE = 2 ** 50
_SIZE_RE = re.compile(r'^([0-9]{1,16})([kmgKMG]?)\Z')
_UNITS = {'': 1, 'k': 1024, 'm': MIB, 'g': GIB}


def is_auto(value):
    """None, '' or auto (any case, spaces around): the value is to be derived."""
    return value is None or (isinstance(value, str) and value.strip().lower() in ('', AUTO))


def validate_size(value, variable, minimum=0, maximum=MAX_SIZE):
    """A size in bytes (an int, or digits with an optional k, m or g), or None for auto."""
    if is_auto(value):
        return None
    match = _SIZE_RE.match(value) if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif match:
        number = int(match.group(1)) * _UNITS[match.group(2).lower()]
    else:
        raise InputError(variable, 'must be auto or a size: bytes, or a number with k, m or g (512m, 4g), got %s'
                         % shown(value))
    if not minimum <= number <= maximum:
        raise InputError(variable, 'must be between %s and %s, got %s'
                         % (human_size(minimum), human_size(maximum), shown(value)))
    return number


def human_size(number):
    """Bytes in words for messages: 512 MiB, 4 GiB, 300 KiB."""
    for unit, size in (('TiB', 1024 * GIB), ('GiB', GIB), ('MiB', MIB), ('KiB', 1024)):
        if number >= size:
            value = number / size
            return ('%d %s' if value == int(value) or value >= 100 else '%.1f %s') % (value, unit)
    return '%d bytes' % number


# --- URLs ----------------------------------------------------------------------------

# A DNS label: never starting or ending with `-` (a host `-oProxyCommand=...` is an option).
DNS_LABEL = r'[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?'
# A URL's host: DNS labels, an IPv4 address or a bracketed IPv6 one (nothing git, ssh or
# an HTTP client could read as an option); an SSH user name.
_URL_HOST_RE = re.compile(r'^(?:%s(?:\.%s)*\.?|\[[0-9A-Fa-f:.]+\])\Z' % (DNS_LABEL, DNS_LABEL))
_URL_USER_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}\Z')


def redact_url(value):
    """value with whatever sits before a host's `@` (a user, a password, a token) shown as ***."""
    return re.sub(r'^([A-Za-z][A-Za-z0-9+.-]*://)?[^/@]*@', lambda m: (m.group(1) or '') + '***@', value) \
        if isinstance(value, str) else value


def check_url_authority(netloc, variable, hint, allow_user=False, what='the URL'):
    """Refuse a URL's `[user@]host[:port]` that carries credentials or that a client could read as an option.

    allow_user: an SSH user name (`git@`) is fine, never a password or token (`user:secret@`).
    hint says why credentials are refused and what to do. Raises InputError; the
    message never shows what came before the `@`.
    """
    userinfo, at, hostport = netloc.rpartition('@')
    if at and (not allow_user or ':' in userinfo or '%' in userinfo):
        raise InputError(variable, 'must not carry credentials (user:TOKEN@ before the host): %s' % hint)
    if at and not _URL_USER_RE.match(userinfo):
        raise InputError(variable, 'the user name before the host must be letters, digits and . _ - '
                         '(not starting with - or .)')
    host, port = hostport, ''
    if hostport.startswith('['):
        host, _sep, rest = hostport.partition(']')
        host += ']'
        port = rest[1:] if rest.startswith(':') else rest
    elif ':' in hostport:
        host, _sep, port = hostport.partition(':')
    if host.startswith('-') or not _URL_HOST_RE.match(host) or not re.fullmatch(r'(?:[0-9]{1,5})?', port):
        raise InputError(variable, 'the host of %s must be a host name or IP address (not starting with -), '
                         'got %s' % (what, shown(hostport)))
    return host
