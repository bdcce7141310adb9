# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The branch-to-tag rule: table-driven cases, properties, and the command line."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.gcli.offload.plugins.module_utils import _image_tags as it

MODULE_FILE = it.__file__
DOCKER_TAG = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z')


def h(branch):
    return hashlib.sha256(branch.encode('utf-8')).hexdigest()[:8]


# branch -> expected tag
CASES = [
    ('main', 'latest'),
    ('Main', 'main'),
    ('MAIN', 'main'),
    ('main2', 'main2'),
    ('feature/foo', 'feature-foo'),
    ('Feature/Foo.Bar', 'feature-foo-bar'),
    ('feature//x', 'feature--x'),          # runs of '-' are kept (valid, original rule)
    ('fix-123', 'fix-123'),
    ('release/1.2.3', 'release-1-2-3'),
    ('user@host', 'user-host'),
    ('a_b', 'a-b'),                        # '_' is valid in a tag but outside [a-z0-9]
    ('trailing/', 'trailing-'),
    ('x', 'x'),
    ('0', '0'),
    ('ünïcode', 'n-code-' + h('ünïcode')),
    ('feat/ünï', 'feat--n-'),              # one '-' per code point, not per byte
    ('日本語', 'branch-' + h('日本語')),     # nothing alphanumeric left
    ('🚀rocket', 'rocket-' + h('🚀rocket')),
    ('\u212a', 'branch-' + h('\u212a')),   # KELVIN SIGN: not ASCII, not lower-cased to k
    ('.hidden', 'hidden-' + h('.hidden')),
    ('-dash', 'dash-' + h('-dash')),
    ('...', 'branch-' + h('...')),
    ('/', 'branch-' + h('/')),
    ('latest', 'latest-' + h('latest')),   # reserved for main
    ('LATEST', 'latest-' + h('LATEST')),
    ('deadbee', 'deadbee-' + h('deadbee')),  # looks like a short SHA
    ('1234567', '1234567-' + h('1234567')),
    ('abcdef', 'abcdef'),                  # 6 hex digits: too short to be a SHA tag
    ('deadbeeg', 'deadbeeg'),
    ('a' * 128, 'a' * 128),                # exactly the limit: unchanged
    ('a' * 129, 'a' * 119 + '-' + h('a' * 129)),
    ('A' * 300, 'a' * 119 + '-' + h('A' * 300)),
    ('/' * 200, 'branch-' + h('/' * 200)),
]


@pytest.mark.parametrize('branch,expected', CASES)
def test_table(branch, expected):
    tag = it.branch_to_tag(branch)
    assert tag == expected
    assert it.is_valid_tag(tag)


def test_long_names_differing_only_after_the_cut_get_different_tags():
    a, b = 'x' * 200 + 'a', 'x' * 200 + 'b'
    assert it.branch_to_tag(a) != it.branch_to_tag(b)
    assert len(it.branch_to_tag(a)) == 128


def test_original_rule_collisions_are_kept():
    # Documented: the original rule maps these to one tag, and the rule keeps that.
    assert {it.branch_to_tag(b) for b in ('feature/x', 'feature-x', 'Feature.X', 'feature_x')} == {'feature-x'}


def test_changed_names_do_not_collide_with_each_other():
    names = ['.a', '-a', '_a', '/a', '..a']
    tags = [it.branch_to_tag(n) for n in names]
    assert len(set(tags)) == len(names)
    assert all(t.startswith('a-') for t in tags)


@pytest.mark.parametrize('bad', ['', None, 42, b'main'])
def test_branch_must_be_a_non_empty_string(bad):
    with pytest.raises(ValueError):
        it.branch_to_tag(bad)


@pytest.mark.parametrize('tag,valid', [
    ('latest', True), ('v1.2.3', True), ('_x', True), ('A-b_C.d', True), ('a' * 128, True),
    ('', False), ('.x', False), ('-x', False), ('a' * 129, False), ('a/b', False),
    ('a:b', False), ('é', False), ('a b', False), ('a\n', False), (None, False), (1, False),
])
def test_is_valid_tag(tag, valid):
    assert it.is_valid_tag(tag) is valid


@pytest.mark.parametrize('branch,sha,pr,expected', [
    ('main', 'abc1234', False, ['latest', 'abc1234']),
    ('feature/x', 'abc1234', False, ['feature-x', 'abc1234']),
    ('feature/x', 'abc1234', True, ['feature-x', 'abc1234']),
    ('main', 'abc1234', True, ['main', 'abc1234']),   # a fork's main never becomes latest
    ('', 'abc1234', False, ['abc1234']),
    ('latest', 'abc1234', True, ['latest-' + h('latest'), 'abc1234']),
])
def test_tags_for_build(branch, sha, pr, expected):
    assert it.tags_for_build(branch, sha, pull_request=pr) == expected


@pytest.mark.parametrize('sha', ['', 'abc', 'ABC1234', 'xyz1234', 'a' * 41, None, 'abc1234\n'])
def test_tags_for_build_rejects_a_bad_short_sha(sha):
    with pytest.raises(ValueError):
        it.tags_for_build('main', sha)


# --- properties ---------------------------------------------------------------

branches = st.text(min_size=1, max_size=400)
ascii_branches = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=300)


@settings(max_examples=400, deadline=None)
@given(st.one_of(branches, ascii_branches))
def test_always_a_valid_tag(branch):
    tag = it.branch_to_tag(branch)
    assert DOCKER_TAG.match(tag), (branch, tag)
    assert it.is_valid_tag(tag)
    assert len(tag) <= 128
    assert tag == it.branch_to_tag(branch)          # deterministic
    if branch != 'main':
        assert tag != 'latest'
        assert not re.fullmatch(r'[0-9a-f]{7,40}', tag)   # never mistaken for a SHA tag
    for pr in (False, True):
        for t in it.tags_for_build(branch, 'abc1234', pull_request=pr):
            assert it.is_valid_tag(t)
        assert it.tags_for_build(branch, 'abc1234', pull_request=True)[0] != 'latest'


@settings(max_examples=300, deadline=None)
@given(ascii_branches)
def test_names_valid_under_the_original_rule_are_unchanged(branch):
    orig = it.original_rule(branch)
    tag = it.branch_to_tag(branch)
    if branch == 'main':
        assert tag == 'latest'
    elif it.is_valid_tag(orig) and orig != 'latest' and not re.fullmatch(r'[0-9a-f]{7,40}', orig):
        assert tag == orig
    else:
        assert tag.endswith('-' + h(branch))


@settings(max_examples=300, deadline=None)
@given(branches, branches)
def test_changed_names_collide_only_through_the_original_rule(a, b):
    ta, tb = it.branch_to_tag(a), it.branch_to_tag(b)
    if a != b and ta == tb:
        # only names the original rule already merged, and left unchanged, may share a tag
        assert it.original_rule(a) == it.original_rule(b) == ta


def test_stable_values():
    # Pinned: a change of the rule would retag every image; do it on purpose only.
    assert it.branch_to_tag('feature/Ünicode-Ω') == 'feature--nicode--'
    assert it.branch_to_tag('-x') == 'x-a4209624'
    assert it.branch_to_tag('日本語/Ü' * 40) == 'branch-a5ca438a'


# --- command line (what the pipeline runs) -------------------------------------

def run_cli(*args, env=None):
    # A bare python, with no Ansible on its path: the pipeline's build step has none.
    return subprocess.run([sys.executable, '-I', MODULE_FILE, *args], capture_output=True, text=True,
                          env=env if env is not None else {'PATH': os.environ.get('PATH', '')},
                          check=False)


def test_cli_does_not_import_ansible():
    src = open(MODULE_FILE, encoding='utf-8').read()
    assert 'import ansible' not in src and 'from ansible' not in src
    r = run_cli('feature/x')
    assert r.returncode == 0, r.stderr
    assert r.stdout == 'feature-x\n'


@pytest.mark.parametrize('args,expected', [
    (['main', 'abc1234'], ['latest', 'abc1234']),
    (['feature/ünï', 'abc1234', '--pull-request'], ['feature--n-', 'abc1234']),
    (['main', 'abc1234', '--pull-request'], ['main', 'abc1234']),
    (['', 'abc1234'], ['abc1234']),
])
def test_cli_build_tags(args, expected):
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == expected
    assert expected == it.tags_for_build(args[0], args[1], pull_request='--pull-request' in args)


@pytest.mark.parametrize('args,code', [([], 64), (['a', 'b', 'c'], 64), (['x', '--pull-request'], 64),
                                       (['main', 'nothex!'], 65), ([''], 65)])
def test_cli_errors(args, code):
    r = run_cli(*args)
    assert r.returncode == code
    assert r.stdout == ''
    assert r.stderr


def test_cli_main_function(capsys):
    assert it.main(['Feature/X']) == 0
    assert capsys.readouterr().out == 'feature-x\n'
