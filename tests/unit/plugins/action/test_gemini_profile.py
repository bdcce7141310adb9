# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""gemini_profile on the controller: what it mirrors, what it refuses (before the worker),
and how it compares with what the worker lists."""

from __future__ import annotations

import base64
import io
import os
import tarfile

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.action.gemini_profile import (
    archive,
    collect,
    manifest,
    wanted_profile,
    worker_manifest,
)


@pytest.fixture
def src(tmp_path):
    d = tmp_path / 'profile'
    (d / 'policies').mkdir(parents=True)
    (d / 'settings.json').write_text('{}\n')
    (d / 'policies' / 'a.toml').write_text('# a\n')
    (d / 'run.sh').write_text('#!/bin/sh\n')
    os.chmod(d / 'run.sh', 0o755)
    return d


def test_files_dirs_and_links_inside_become_plain_entries(src):
    os.symlink('settings.json', src / 'copy.json')
    entries = collect(str(src))
    assert entries['policies'] == ('d', 0o755, None)
    assert entries['copy.json'] == ('f', 0o644, b'{}\n') and entries['run.sh'][1] == 0o755


@pytest.mark.parametrize('make, words', [
    (lambda d: os.symlink('/etc/passwd', d / 'x'), 'x is a link that leads out of the directory (to /etc/passwd)'),
    (lambda d: os.symlink('../..', d / 'up'), 'up is a link that leads out'),
    (lambda d: os.symlink('policies', d / 'pol'), 'pol is a link to something other than a file'),
    (lambda d: (d / 'offload').mkdir(), "offload is in offload/, the collection's own"),
    (lambda d: (d / '-rf').write_text(''), '-rf has a name with characters'),
    (lambda d: (d / 'a\nb').write_text(''), 'has a name with characters'),
    (lambda d: os.mkfifo(d / 'fifo'), 'fifo is neither a file nor a directory'),
])
def test_what_the_worker_must_never_get_is_refused_on_the_controller(src, make, words):
    make(src)
    with pytest.raises(AnsibleActionFail) as err:
        collect(str(src))
    assert words in str(err.value) and 'nothing was changed on the worker' in str(err.value)


def test_the_collections_policy_is_always_added_and_the_defaults_without_a_directory(src, tmp_path):
    entries, source = wanted_profile(str(src))
    assert source == 'directory' and {'offload/review.toml', 'offload/agent.toml', 'settings.json'} <= set(entries)
    bundled, source = wanted_profile(str(tmp_path / 'missing'))
    assert source == 'bundled' and sorted(bundled) == [
        'offload', 'offload/agent.toml', 'offload/review-settings.json', 'offload/review.toml', 'settings.json']


def test_the_worker_s_listing_compares_equal_to_the_same_content(src):
    entries = collect(str(src))
    wanted = manifest(entries)
    lines = ['state=dir'] + ['entry=%s %s %s' % (v[0], oct(v[1])[2:], k) for k, v in sorted(entries.items())]
    lines += ['sum=%s %s' % (wanted[k].split()[2], k) for k, v in entries.items() if v[0] == 'f']
    state, current = worker_manifest('\n'.join(lines) + '\n')
    assert state == 'dir' and current == wanted
    lines[-1] = 'sum=%s %s' % ('0' * 64, lines[-1].split()[-1])  # one file differs
    assert worker_manifest('\n'.join(lines))[1] != wanted


def test_the_archive_is_deterministic_and_holds_only_files_and_directories(src):
    entries = collect(str(src))
    assert archive(entries) == archive(dict(reversed(list(entries.items()))))
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(archive(entries)))) as tar:
        members = tar.getmembers()
    assert all((m.isfile() or m.isdir()) and m.uid == 0 and m.mtime == 0 for m in members)
    assert sorted(m.name for m in members) == sorted(entries)
