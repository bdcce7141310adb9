# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The branch-to-tag rule of the maintainer image, in one place.

The Cloud Build pipeline (docker/maintainer-worker.yml) runs this file as a script
to compute the tags it pushes, and the modules import it to resolve a branch name
to a tag, so both always agree. It imports nothing but the standard library (no
Ansible), so it runs in a plain `python3` build step.

The rule (docs/image.md explains it with examples):

1. The branch ``main`` gives ``latest``.
2. Any other branch gets the original Cloud Build rule: ASCII letters lower-cased,
   every character (Unicode code point) outside ``[a-z0-9]`` replaced by ``-``.
   ``feature/Foo.Bar`` gives ``feature-foo-bar``.
3. When that result is not a valid, safe tag, it is changed and a short hash of the
   exact branch name is appended (``-`` and 8 hex digits of its UTF-8 SHA-256), so
   that two branches changed this way do not collide. This happens when, and only
   when, the result of step 2:
   - starts with ``-`` (leading ``-`` are stripped; if nothing is left, the base is
     ``branch``);
   - is longer than 128 characters (cut to 119, then the 9-character suffix);
   - is ``latest`` (reserved for ``main``), or looks like a commit id (7 to 40 hex
     digits), which the pipeline's short-SHA tags use.
   Runs of ``-`` are kept as they are (they are valid), so a name valid under
   step 2 is never changed.

Collisions: step 2 maps different branches to one tag (``feature/x``,
``feature-x`` and ``Feature.X`` all give ``feature-x``); this is the original
rule's behaviour and is kept, so tags stay predictable. Step 3 only adds names
with a hash suffix, which differ from each other unless their 32-bit hashes
collide.

Command line (what the pipeline runs)::

    python3 _image_tags.py BRANCH                       # prints the branch's tag
    python3 _image_tags.py BRANCH SHORT_SHA [--pull-request]
                                                        # prints the build's tags, one a line
"""

from __future__ import annotations

import hashlib
import re
import sys

MAIN_BRANCH = 'main'
LATEST = 'latest'
MAX_TAG_LENGTH = 128
HASH_LENGTH = 8
EMPTY_BASE = 'branch'

# The Docker reference grammar's tag (_image_ref.TAG_PATTERN, copied: this file runs without the
# collection in a build step; a unit test keeps the two equal).
_TAG_RE = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z')
_COMMIT_LIKE_RE = re.compile(r'[0-9a-f]{7,40}\Z')
_SHORT_SHA_RE = re.compile(r'[0-9a-f]{7,40}\Z')
_ALNUM = frozenset('abcdefghijklmnopqrstuvwxyz0123456789')


def is_valid_tag(tag):
    """Whether `tag` is a valid Docker image tag (charset, first character, length)."""
    return isinstance(tag, str) and _TAG_RE.match(tag) is not None


def original_rule(branch):
    """Step 2 alone: ASCII lower-case, every code point outside [a-z0-9] -> '-'.

    The original pipeline's rule, without the fixes that make it always valid.
    """
    out = []
    for ch in branch:
        if 'A' <= ch <= 'Z':
            ch = chr(ord(ch) + 32)
        out.append(ch if ch in _ALNUM else '-')
    return ''.join(out)


def branch_hash(branch):
    """The short hash appended to changed names: 8 hex digits of SHA-256(UTF-8 name)."""
    try:  # a name read from argv/environ keeps its undecodable bytes as surrogates
        data = branch.encode('utf-8', 'surrogateescape')
    except UnicodeEncodeError:
        data = branch.encode('utf-8', 'surrogatepass')
    return hashlib.sha256(data).hexdigest()[:HASH_LENGTH]


def _needs_change(tag):
    return (not tag or tag.startswith('-') or len(tag) > MAX_TAG_LENGTH
            or tag == LATEST or _COMMIT_LIKE_RE.match(tag) is not None)


def check_branch_name(branch):
    """Refuse what no git branch name holds: whitespace and control characters (git check-ref-format).

    branch_to_tag maps any string; a name with a newline or a space is a mistake (or an injection attempt)
    upstream of it, not a branch.
    """
    if not isinstance(branch, str) or branch == '':
        raise ValueError('a branch name must be a non-empty string, got %s' % repr(branch)[:60])
    if len(branch) > 1024 or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in branch):
        raise ValueError('%r is not a git branch name: no spaces or control characters, 1024 characters at most'
                         % (branch[:60],))
    return branch


def branch_to_tag(branch):
    """The image tag of a branch: ``main`` -> ``latest``; others as the module doc says.

    Always a valid Docker tag, deterministic. Raises ValueError for an empty or
    non-string branch name.
    """
    if not isinstance(branch, str) or branch == '':
        raise ValueError('a branch name must be a non-empty string, got %s' % repr(branch)[:60])
    if branch == MAIN_BRANCH:
        return LATEST
    tag = original_rule(branch)
    if not _needs_change(tag):
        return tag
    base = tag.lstrip('-') or EMPTY_BASE
    suffix = '-' + branch_hash(branch)
    return base[:MAX_TAG_LENGTH - len(suffix)] + suffix


def pull_request_tag(branch):
    """The tag of a pull-request build from head branch `branch`.

    As branch_to_tag, except that it is never ``latest``: a pull request whose
    head branch is called ``main`` (a fork's main) gets ``main``, since ``latest``
    belongs to pushes to the repository's own main.
    """
    if branch == MAIN_BRANCH:
        return MAIN_BRANCH
    return branch_to_tag(branch)


def check_short_sha(short_sha):
    """Validate a short commit id (7 to 40 lower-case hex digits); returns it."""
    if not isinstance(short_sha, str) or _SHORT_SHA_RE.match(short_sha) is None:
        raise ValueError('a short SHA must be 7 to 40 lower-case hex digits, got %s' % repr(short_sha)[:60])
    return short_sha


def tags_for_build(branch, short_sha, pull_request=False):
    """The tags a pipeline build pushes, in order: the branch's tag, then the short SHA.

    A push to ``main`` gives ``['latest', SHA]``; a pull request (`pull_request`
    true, `branch` its head branch) gives ``[pull_request_tag(branch), SHA]``; a
    push to another branch gives ``[branch_to_tag(branch), SHA]``. An empty branch
    (a build not started from a branch) gives ``[SHA]``.
    """
    check_short_sha(short_sha)
    if branch == '' or branch is None:
        return [short_sha]
    tag = pull_request_tag(branch) if pull_request else branch_to_tag(branch)
    return [tag, short_sha]


def main(argv=None):
    """Command line: print the tag of a branch, or the tags of a build, one a line."""
    args = list(sys.argv[1:] if argv is None else argv)
    pull_request = '--pull-request' in args
    args = [a for a in args if a != '--pull-request']
    usage = 'usage: _image_tags.py BRANCH [SHORT_SHA [--pull-request]]'
    try:
        if len(args) == 1 and not pull_request:
            tags = [branch_to_tag(args[0])]
        elif len(args) == 2:
            tags = tags_for_build(args[0], args[1], pull_request)
        else:
            sys.stderr.write(usage + '\n')
            return 64
    except ValueError as exc:
        sys.stderr.write('_image_tags.py: %s\n' % exc)
        return 65
    sys.stdout.write(''.join(t + '\n' for t in tags))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
