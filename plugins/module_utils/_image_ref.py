# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The grammar of a container image reference, in one place.

    [registry[:port]/]path[:tag][@sha256:digest]

as the distribution project's reference/regexp.go reads it. The first component is
a registry only when it has a `.` or a `:`, or is `localhost`; otherwise the name is
a Docker Hub path. A registry is DNS labels (never starting or ending with `-`: a
`-l.x/y` or `--privileged.a/b` would reach docker's command line as an option) or a
bracketed IPv6 address, with an optional port. Everything that reads an image
reference calls this file: the job and maintainer images (`validate_image`, for
`docker run`), the registry client (`split_name`, for a name without tag or digest),
the `image_reference` filter (`split_reference`), and cloud-init (`registry_of`,
`is_google_registry`). Refusals are InputError. Nothing here touches a host.
"""

from __future__ import annotations

import re

from ansible_collections.gcli.offload.plugins.module_utils._inputs import DNS_LABEL, InputError, shown

# A path component, and a path: components joined by `/`.
COMPONENT = r'[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
PATH_PATTERN = r'%s(?:/%s)*' % (COMPONENT, COMPONENT)
# A registry: host name or [IPv6], optional port.
REGISTRY_PATTERN = r'(?:%s(?:\.%s)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?' % (DNS_LABEL, DNS_LABEL)
# A tag: [\w][\w.-]{0,127} with \w = [A-Za-z0-9_]. (_image_tags.py, which must run without
# the collection in a build step, has a copy; a unit test keeps the two equal.)
TAG_PATTERN = r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}'
DIGEST_PATTERN = r'sha256:[a-f0-9]{64}'

PATH_RE = re.compile(r'^%s\Z' % PATH_PATTERN)
REGISTRY_RE = re.compile(r'^%s\Z' % REGISTRY_PATTERN)
TAG_RE = re.compile(r'^%s\Z' % TAG_PATTERN)
DIGEST_RE = re.compile(r'^%s\Z' % DIGEST_PATTERN)
# A whole reference as `docker run` takes it; the registry needs a `.`, a port, or localhost.
REFERENCE_RE = re.compile(
    r'^(?:(?:%s(?:\.%s)+(?::[0-9]{1,5})?|%s:[0-9]{1,5}|\[[0-9a-fA-F:.]+\](?::[0-9]{1,5})?|localhost)/)?'
    % (DNS_LABEL, DNS_LABEL, DNS_LABEL)
    + r'%s(?::%s)?(?:@%s)?\Z' % (PATH_PATTERN, TAG_PATTERN, DIGEST_PATTERN))
MAX_REFERENCE = 512
MAX_PATH = 255

DOCKER_HUB = 'docker.io'
# Artifact Registry (*-docker.pkg.dev) and Container Registry (gcr.io, *.gcr.io). A registry
# named with the HTTPS port (`us-docker.pkg.dev:443`) is the same registry: Google's too.
GOOGLE_REGISTRY_RE = re.compile(r'^(?:[a-z0-9-]+-docker\.pkg\.dev|(?:[a-z]+\.)?gcr\.io)(?::443)?\Z')


def _has_registry(first):
    return '.' in first or ':' in first or first == 'localhost'


def registry_of(reference):
    """The registry host[:port] of an image reference, or None for Docker Hub."""
    first, sep, _rest = reference.partition('/')
    return first if sep and _has_registry(first) else None


def digest_of(reference):
    """`sha256:...` when the reference is digest-pinned, else None."""
    return reference.split('@', 1)[1] if '@' in reference else None


def is_google_registry(host):
    """Whether a registry host[:port] is Google's (Artifact Registry or Container Registry)."""
    return bool(GOOGLE_REGISTRY_RE.match((host or '').lower()))


def validate_image(value, variable='offload_image'):
    """A reference for `docker run`: [registry/]path[:tag][@sha256:digest], never option-like."""
    if isinstance(value, str) and value.startswith('-'):
        raise InputError(variable, 'must be a docker image reference, not an option (it starts with -), got %s'
                         % shown(value))
    if not isinstance(value, str) or len(value) > MAX_REFERENCE or not REFERENCE_RE.match(value):
        raise InputError(variable, 'must be a docker image reference such as '
                                   'registry/name:tag or name@sha256:..., got %s' % shown(value))
    return value


def split_name(image, variable='image'):
    """(registry, path) of an image name without tag or digest; Docker Hub's `library/` added to
    a one-component name. Raises InputError whose message names the image."""
    if not isinstance(image, str) or not image:
        raise InputError(variable, 'image must be a non-empty string such as '
                                   'us-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE')
    if len(image) > MAX_REFERENCE:
        raise InputError(variable, 'image is %d characters long (%r...): an image name has %d at most'
                         % (len(image), image[:40], MAX_REFERENCE))
    if any(c.isspace() for c in image) or '://' in image:
        raise InputError(variable, 'image %r is not an image name: give host/path, without a scheme '
                                   'or spaces (for example us-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE)' % image)
    if '@' in image:
        raise InputError(variable, 'image %r carries a digest: give the name only and resolve a tag with '
                                   'the tag or branch option' % image)
    registry = registry_of(image)
    if registry:
        path = image.partition('/')[2]
        if not REGISTRY_RE.match(registry):
            raise InputError(variable, 'image %r: %r is not a valid registry host[:port]' % (image, registry))
    else:
        registry, path = DOCKER_HUB, image if '/' in image else 'library/' + image
    if ':' in path.rsplit('/', 1)[-1]:
        raise InputError(variable, 'image %r carries a tag: give the name only and the tag in the tag option'
                         % image)
    if not PATH_RE.match(path) or len(path) > MAX_PATH:
        raise InputError(variable, 'image %r: repository path %r is not valid (lower-case letters, digits, '
                                   'and separators ".", "_", "__", "-" between them, components joined by "/")'
                         % (image, path))
    return registry, path


def split_reference(reference, variable='image'):
    """``name[:tag][@sha256:digest]`` -> (name, tag or None, digest or None), the name checked by split_name."""
    if not isinstance(reference, str):
        raise InputError(variable, 'image reference must be a string, got %r' % (reference,))
    name, _at, digest = reference.partition('@')
    if _at and not DIGEST_RE.match(digest):
        raise InputError(variable, 'image %r: %r is not a sha256 digest' % (reference, digest))
    tag = None
    head, slash, last = name.rpartition('/')
    if ':' in last:
        last, tag = last.split(':', 1)
        if not TAG_RE.match(tag):
            raise InputError(variable, 'image %r: %r is not a valid tag' % (reference, tag))
        name = head + slash + last
    split_name(name, variable)
    return name, tag, digest or None
