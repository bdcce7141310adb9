# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller-side checks of the worker plugins: the folder logs are fetched to."""

from __future__ import annotations

import os

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _jobs as jobs
from ansible_collections.gcli.offload.plugins.plugin_utils._checks import check_log_dest


def test_the_log_folder_is_checked_on_the_controller(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    assert check_log_dest('~/logs') == str(tmp_path / 'logs')
    (tmp_path / 'a-file').write_text('x')
    link = tmp_path / 'to-etc'
    os.symlink('/etc', str(link))
    for value, words in (('logs', 'must be an absolute path'), ('/etc/gcli', 'must not be /etc'),
                         (str(link / 'x'), "resolves to '/etc/x'"), (str(tmp_path / 'a-file' / 'x'), 'is a file'),
                         ('', 'must be a folder'), (None, 'must be a folder')):
        with pytest.raises(jobs.JobInputError, match=words) as err:
            check_log_dest(value)
        assert err.value.variable == 'offload_log_dest'
    if os.geteuid() != 0:
        ro = tmp_path / 'ro'
        ro.mkdir(mode=0o500)
        with pytest.raises(jobs.JobInputError, match='not writable'):
            check_log_dest(str(ro / 'logs'))
