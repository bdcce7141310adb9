"""Units for plugin_utils/_kv.py: the one reader of what the worker's scripts print."""

from __future__ import annotations

from ansible_collections.gcli.offload.plugins.plugin_utils import _kv


def test_key_value_lines_are_read_and_other_lines_ignored():
    out = _kv.parse('changed=1\nhead=abc\nnoise\n=x\nbad key=1\n1st=no\nhead=def\nerror=a=b c \n')
    assert out.pairs == [('changed', '1'), ('head', 'abc'), ('head', 'def'), ('error', 'a=b c ')]
    assert out.get('head') == 'def' and out['changed'] == '1'  # the last one wins
    assert out.get('error') == 'a=b c '  # the value is the rest of the line, as printed
    assert out.get('missing') is None and out.get('missing', '') == ''
    assert 'changed' in out and 'noise' not in out and 'bad key' not in out


def test_a_key_that_comes_more_than_once_gives_all_its_values_in_order():
    out = _kv.parse('real=/a\ninspect=0\nreal=\nreal=/c\n')
    assert out.all('real') == ['/a', '', '/c'] and out.all('none') == []


def test_other_lines_are_kept_for_messages():
    out = _kv.parse('real=/a\nstate=running x\nError: boom\nreal=/b')
    assert out.other_lines('real') == ['state=running x', 'Error: boom']
    assert out.lines == ['real=/a', 'state=running x', 'Error: boom', 'real=/b'] and out.text.endswith('real=/b')


def test_a_missing_key_is_a_key_error():
    import pytest
    with pytest.raises(KeyError):
        _kv.parse('a=1')['b']


def test_sudo_warnings_and_crlf_do_not_make_keys():
    out = _kv.parse('sudo: unable to resolve host x: Name or service not known\r\nrc=0\r\n')
    assert out.pairs == [('rc', '0')]
