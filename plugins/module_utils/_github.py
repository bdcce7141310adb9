# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""GitHub facts the collection needs: which repository a URL names, and the
pre-filled link that creates a fine-grained token with just the rights a job needs."""

from __future__ import annotations

import re

try:
    from urllib.parse import urlencode
except ImportError:  # pragma: no cover
    from urllib import urlencode  # type: ignore

PAT_URL = 'https://github.com/settings/personal-access-tokens/new'
# The rights a job needs: push fixes, comment on and update pull requests.
PAT_PERMISSIONS = (('contents', 'write'), ('pull_requests', 'write'), ('metadata', 'read'))

_REPO_RE = re.compile(
    r'^(?:https?://(?:[^@/]+@)?github\.com/|ssh://git@github\.com/|git@github\.com:)'
    r'([A-Za-z0-9-]+)/([A-Za-z0-9._-]+?)(?:\.git)?/?\Z')


def github_repo(url):
    """'owner/repo' for a github.com URL, else None."""
    match = _REPO_RE.match(url or '')
    return '%s/%s' % match.groups() if match else None


def pat_link(name, repositories):
    """The token-creation link, pre-filled with a name, the repositories and the rights."""
    query = [('name', name)]
    query += [('repositories[]', repo) for repo in repositories if repo]
    query += list(PAT_PERMISSIONS)
    return '%s?%s' % (PAT_URL, urlencode(query, safe='[]/'))
