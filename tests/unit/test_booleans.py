"""Booleans, by one rule everywhere: what Ansible's boolean() takes (true/false, yes/no,
on/off, 1/0... in any case: `-e name=true` gives a string) is accepted, anything else
('maybe', '2', '') refused naming the variable, never read as false."""

from __future__ import annotations

import glob
import os
import re

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from plugin_specs import MODULES, ROOT, documented, plugin_spec

from ansible_collections.gcli.offload.plugins.filter.worker import strict_bool
from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError, job_spec, validate_bool
from ansible_collections.gcli.offload.plugins.module_utils import _worker_vm
from ansible_collections.gcli.offload.plugins.module_utils._worker_vm import worker_vm_spec

TRUE = ['true', 'True', 'TRUE', 'yes', 'Yes', 'on', 'ON', '1', 'y', 't', True, 1]
FALSE = ['false', 'False', 'no', 'NO', 'off', 'Off', '0', 'n', 'f', False, 0]
REFUSED = ['maybe', '2', '-1', '', 'truthy', 'yes please', 2, None, [], {}, [True]]

# Options typed raw (checked by the collection's own rules) that are booleans: each goes
# through validate_bool, shown below through the function the plugin calls.
RAW_BOOLEANS = {
    ('job_spec', 'keep_worktree'): 'offload_keep_worktree',
    ('worker_vm_spec', 'spot'): 'offload_spot',
    ('worker_vm_spec', 'external_ip'): 'offload_external_ip',
    ('worker_vm_spec', 'ssh_allow_any_source'): 'offload_ssh_allow_any_source',
}
JOB = {'pr': 1, 'action': 'review', 'data_root': '/mnt/disks/offload', 'image': 'img:1'}
VM = {'worker_name': 'gcli-offload-me', 'maintainer_image': 'us-docker.pkg.dev/p/r/maintainer:latest',
      'ssh_user': 'me'}


@pytest.mark.parametrize('value', TRUE)
def test_true(value):
    assert validate_bool(value, 'v') is True and strict_bool(value, 'v') is True


@pytest.mark.parametrize('value', FALSE)
def test_false(value):
    assert validate_bool(value, 'v') is False and strict_bool(value, 'v') is False


@pytest.mark.parametrize('value', REFUSED, ids=repr)
def test_refused_naming_the_variable(value):
    with pytest.raises(JobInputError, match=r'^offload_x: must be a boolean \(true/false, yes/no, on/off or 1/0\)'):
        validate_bool(value, 'offload_x')
    with pytest.raises(Exception, match=r'offload_x: must be a boolean'):
        strict_bool(value, 'offload_x')


def test_a_huge_value_is_not_echoed_whole():
    with pytest.raises(JobInputError) as exc:
        validate_bool('x' * 100000, 'v')
    assert len(str(exc.value)) < 200


def raw_boolean(plugin, option, value):
    if plugin == 'job_spec':
        return job_spec(**dict(JOB, keep_worktree=value))['keep_worktree']
    if option == 'spot':
        return worker_vm_spec(**dict(VM, spot=value))['instance']['provisioning_model'] == 'SPOT'
    worker_vm_spec(**dict(VM, **{option: value}))  # refuses what is not a boolean
    return _worker_vm._bool({option: value}, option)  # what it uses for the instance and the firewall


@pytest.mark.parametrize('plugin, option', sorted(RAW_BOOLEANS))
def test_raw_booleans_take_the_one_rule(plugin, option):
    for value in TRUE:
        assert raw_boolean(plugin, option, value) is True, value
    for value in FALSE:
        assert raw_boolean(plugin, option, value) is False, value
    for value in ['maybe', '2', '']:
        with pytest.raises(JobInputError, match='^%s: must be a boolean' % RAW_BOOLEANS[plugin, option]):
            raw_boolean(plugin, option, value)


def bool_options(options, prefix=''):
    for name, doc in options.items():
        if doc.get('type') in ('bool', 'boolean'):
            yield prefix + name
        yield from bool_options(doc.get('suboptions') or {}, prefix + name + '.')


def spec_entry(spec, dotted):
    entry = {'options': spec}
    for part in dotted.split('.'):
        entry = entry['options'][part]
    return entry


@pytest.fixture(scope='module')
def docs():
    return documented(MODULES)


def test_every_documented_boolean_is_validated_as_one(docs):
    """Each option documented as a boolean is typed bool where it is validated (Ansible's
    boolean(), the rule validate_bool applies) or is a raw boolean checked by validate_bool."""
    seen = []
    for module in MODULES:
        spec = plugin_spec(module)
        for option in bool_options(docs[module]):
            seen.append((module, option))
            if (module, option) in RAW_BOOLEANS:
                continue
            entry = spec_entry(spec, option)
            assert entry.get('type') == 'bool', '%s %s is documented as a boolean but typed %s' % (
                module, option, entry.get('type'))
            validator = ArgumentSpecValidator({'x': dict(entry, required=False)})
            for value in TRUE + FALSE:
                assert not validator.validate({'x': value}).error_messages, (module, option, value)
            for value in ('maybe', '2'):
                assert validator.validate({'x': value}).error_messages, (module, option, value)
    assert ('job_cleanup', 'force') in seen and ('cos_instance', 'container.tty') in seen
    for (module, option) in RAW_BOOLEANS:
        assert option in docs[module], (module, option)


def role_bool_variables():
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, 'roles', '*', 'meta', 'argument_specs.yml'))):
        with open(path, encoding='utf-8') as f:
            specs = yaml.safe_load(f)['argument_specs']
        for entry, spec in specs.items():
            for name, option in (spec.get('options') or {}).items():
                if option.get('type') == 'bool':
                    found.append((path.split(os.sep)[-3], entry, name))
    return found


@pytest.mark.parametrize('role, entry, variable', role_bool_variables())
def test_role_booleans_take_the_one_rule(role, entry, variable):
    """The roles' boolean variables are validated by Ansible's role argument check (its
    boolean()) before the role's first task: a string from -e is taken, 'maybe' refused."""
    with open(os.path.join(ROOT, 'roles', role, 'meta', 'argument_specs.yml'), encoding='utf-8') as f:
        option = yaml.safe_load(f)['argument_specs'][entry]['options'][variable]
    validator = ArgumentSpecValidator({variable: dict(option, required=False, description=None)})
    for value in TRUE + FALSE:
        assert not validator.validate({variable: value}).error_messages, value
    assert validator.validate({variable: 'maybe'}).error_messages


# Ansible's `bool` filter reads an unknown string ('maybe', 'y') as false (with a deprecation
# warning); a playbook boolean goes through gcli.offload.strict_bool instead.
LENIENT = re.compile(r'\|\s*bool\b')
# A boolean variable tested bare ("'x' if offload_keep_worktree else ...") is true for the
# string 'false'.
BARE = re.compile(r'\bif\s+(offload_[a-z_]+|all|force|follow|include_kept|remove_main)\s+else\b')


def playbook_files():
    return sorted(glob.glob(os.path.join(ROOT, 'playbooks', '*.yml'))
                  + glob.glob(os.path.join(ROOT, 'roles', '*', 'tasks', '*.yml')))


@pytest.mark.parametrize('path', playbook_files(), ids=lambda p: os.path.relpath(p, ROOT))
def test_playbooks_read_booleans_by_the_one_rule(path):
    with open(path, encoding='utf-8') as f:
        text = f.read()
    assert not LENIENT.search(text), '%s uses the bool filter: use gcli.offload.strict_bool' % path
    bare = BARE.findall(text)
    assert not bare, '%s tests %s bare: the string "false" is true' % (path, bare)
