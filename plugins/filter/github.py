# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.gcli.offload.plugins.module_utils._github import github_repo, pat_link


def _github_repo(url):
    return github_repo(url) or ''


def _pat_link(repositories, name):
    return pat_link(name, repositories)


class FilterModule:
    def filters(self):
        return {'github_repo': _github_repo, 'pat_link': _pat_link}
