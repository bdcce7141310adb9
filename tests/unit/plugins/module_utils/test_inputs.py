"""Units for _inputs: the one input error, its bounded echo, the generic validators, and who uses them."""

import pathlib
import re

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _inputs as inputs
from ansible_collections.gcli.offload.plugins.module_utils import _jobs as jobs
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError

PLUGINS = pathlib.Path(__file__).resolve().parents[4] / 'plugins'


def test_an_input_error_names_the_variable_and_keeps_its_parts():
    exc = InputError('offload_zone', 'must be a zone name')
    assert str(exc) == 'offload_zone: must be a zone name'
    assert (exc.variable, exc.message) == ('offload_zone', 'must be a zone name')
    assert isinstance(exc, ValueError)


def test_the_job_rules_raise_the_same_error():
    """Code that still catches _jobs.JobInputError catches what every rule raises now."""
    assert jobs.JobInputError is InputError and jobs._shown is inputs.shown
    with pytest.raises(InputError, match='^pr: '):
        jobs.validate_pr('x')


def test_a_bad_value_is_shown_bounded():
    assert inputs.shown('abc') == "'abc'"
    assert inputs.shown('x' * 1000) == repr('x' * 1000)[:60] + '...'
    assert len(inputs.shown('x' * 1000, 120)) == 123


def test_option_names_map_a_rules_options_to_the_users_names():
    name = inputs.option_names({'name': 'offload_worker_name'})
    assert name('name') == 'offload_worker_name' and name('zone') == 'zone'
    assert inputs.option_names()('zone') == 'zone'


@pytest.mark.parametrize('call, good, bad, words', [
    (lambda v: inputs.validate_choice(v, 'v', ('a', 'b')), 'a', ['a'], 'v: must be one of a, b, got'),
    (lambda v: inputs.validate_match(v, 'v', re.compile(r'^[a-z]+\Z'), 'letters'), 'ab', 'a;b', 'v: must be letters'),
    (lambda v: inputs.validate_str_list(v, 'v'), ['a'], 'a', 'v: must be a list of strings'),
    (lambda v: inputs.validate_argv(v, 'v'), ['ls', '-l'], 'ls -l', 'v: must be a non-empty list of strings'),
    (lambda v: inputs.validate_string(v, 'v'), 'a', 17, 'v: must be a string'),
    (lambda v: inputs.validate_env_name(v, 'v'), 'A_1', 'A-1', 'v: variable names must match'),
    (lambda v: inputs.validate_int(v, 'v', 1, 9), '3', '١', 'v: must be a whole number'),
    (lambda v: inputs.validate_bool(v, 'v'), 'yes', 'maybe', 'v: must be a boolean'),
    (lambda v: inputs.validate_size(v, 'v'), '4g', '4 g', 'v: must be auto or a size'),
    (lambda v: inputs.validate_worker_path(v, 'v'), '/a/b', '/a/../b', 'v: must not contain . or ..'),
    (lambda v: inputs.validate_host_dir(v, 'v'), '/var/tmp/x', '/proc/1', 'v: must not be /proc'),
])
def test_each_generic_rule_takes_good_values_and_names_the_variable(call, good, bad, words):
    call(good)
    with pytest.raises(InputError) as caught:
        call(bad)
    assert str(caught.value).startswith(words)


def test_match_may_allow_empty():
    assert inputs.validate_match(None, 'v', re.compile(r'^x\Z'), 'x', allow_empty=True) == ''


def test_url_authority_refuses_credentials_and_option_like_hosts():
    with pytest.raises(InputError, match='^u: must not carry credentials .*: do this'):
        inputs.check_url_authority('a:secret@h', 'u', 'do this')
    with pytest.raises(InputError, match='^u: the host of the URL'):
        inputs.check_url_authority('-oProxyCommand=x', 'u', 'do this')
    assert inputs.check_url_authority('git@h:22', 'u', 'hint', allow_user=True) == 'h'


# The Google side's files: they raise InputError and never the job rules' error or echo.
GOOGLE_FILES = sorted(
    [p for p in (PLUGINS / 'module_utils').glob('_*.py')
     if p.name.startswith(('_gcp_', '_gce_')) or p.name in ('_worker_vm.py', '_pipeline.py', '_cloudbuild.py',
                                                            '_cloud_init.py', '_image_ref.py')]
    + [PLUGINS / 'inventory' / 'gce_workers.py']
    + [PLUGINS / 'modules' / name
       for name in ('compute_firewall.py', 'cloudbuild_trigger.py', 'cos_instance.py', 'cos_instance_info.py',
                    'image_tag_info.py', 'default_ssh_rule.py', 'worker_orphans.py', 'service_account.py')
       if (PLUGINS / 'modules' / name).exists()], key=str)


@pytest.mark.parametrize('path', GOOGLE_FILES, ids=lambda p: p.name)
def test_google_code_has_no_error_class_of_its_own_nor_the_jobs_one(path):
    text = path.read_text()
    assert not re.search(r'\b(JobInputError|FirewallInputError|TriggerError|_shown)\b', text), path.name
    assert not re.search(r'^class \w+(InputError|Error)\((ValueError|Exception)\)', text, re.M) or \
        path.name in ('_gcp_auth.py', '_gcp_retry.py'), path.name  # credentials and API failures, not inputs
    assert '_renamed' not in text, path.name
