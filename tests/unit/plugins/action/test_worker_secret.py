# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""worker_secret's check of a GitHub token on the controller: what it takes, and
that it refuses anything else without showing it."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.action.worker_secret import checked_secret, github_token

TOKEN = 'github_pat_11UNIT0000000000_' + 'aB3' * 10


@pytest.mark.parametrize('content, token', [
    (TOKEN, TOKEN), (TOKEN + '\n', TOKEN), (TOKEN + '\r\n', TOKEN), ('ghp_' + 'a' * 36, 'ghp_' + 'a' * 36),
    ('0123456789abcdef0123456789abcdef01234567', '0123456789abcdef0123456789abcdef01234567'),
])
def test_a_github_token_is_taken_with_one_trailing_newline_stripped(content, token):
    assert github_token(content) == token


@pytest.mark.parametrize('content, words', [
    (TOKEN + '\n\n', 'has characters'), (TOKEN + ' ', 'has characters'), ('ghp_x;touch /tmp/a' + 'b' * 20, 'has characters'),
    ('ghp_$(id)' + 'c' * 20, 'has characters'), ('ghp_\u0430' + 'd' * 20, 'has characters'), ('ghp_abc', 'has 7'),
    ('e' * (1 << 20), 'has 1048576'),
])
def test_anything_else_is_refused_without_showing_it(content, words):
    with pytest.raises(AnsibleActionFail) as err:
        github_token(content)
    assert words in str(err.value) and 'nothing was written to the worker' in str(err.value)
    for part in ('UNIT', 'touch', '$(id)', 'ddddd', 'eeeee', 'ghp_abc'):
        assert part not in str(err.value)
    assert len(str(err.value)) < 400


KEY = 'AIza' + 'Sy_UNIT-0' * 4


@pytest.mark.parametrize('content, key', [(KEY, KEY), (KEY + '\n', KEY)])
def test_a_gemini_api_key_is_taken_with_dashes(content, key):
    assert checked_secret(content, 'gemini_api_key') == key


@pytest.mark.parametrize('content, words', [
    (KEY + ' x', 'has characters'), ('-' + KEY, 'has characters'), ('AIza', 'has 4'), (KEY + '\nmore', 'has characters'),
])
def test_a_bad_gemini_api_key_is_refused_without_showing_it(content, words):
    with pytest.raises(AnsibleActionFail) as err:
        checked_secret(content, 'gemini_api_key')
    assert words in str(err.value) and 'Gemini API key' in str(err.value) and 'GEMINI_API_KEY' in str(err.value)
    assert 'UNIT' not in str(err.value)
