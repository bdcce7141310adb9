"""A role's defaults are stated in three places that must agree: its defaults/main.yml (what
Ansible applies), its meta/argument_specs.yml (what ansible-doc -t role shows; Ansible never
applies a spec's default), and the default of the module option the role hands the variable
to. worker_vm's variables are also checked by _worker_vm.worker_vm_spec, which fills in
_worker_vm.DEFAULTS for what it is not given. Each test here fails when one of them drifts."""

from __future__ import annotations

import os
import re

import pytest
import yaml
from plugin_specs import MODULES, ROOT, documented

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.gcli.offload.plugins.module_utils import _worker_vm

ROLES_DIR = os.path.join(ROOT, 'roles')
ROLES = sorted(os.listdir(ROLES_DIR))
# A module argument that is one role variable, maybe omitted when undefined.
PLAIN = re.compile(r'^\{\{ (offload_[a-z0-9_]+)( \| default\(omit\))? \}\}\Z')
NOT_GIVEN = object()


def _load(*parts):
    path = os.path.join(ROLES_DIR, *parts)
    if not os.path.exists(path):
        return None
    with open(path, encoding='utf-8') as f:
        return yaml.safe_load(f)


def _defaults(role):
    return _load(role, 'defaults', 'main.yml') or {}


def _entry_points(role):
    return (_load(role, 'meta', 'argument_specs.yml') or {}).get('argument_specs', {})


def _templated(value):
    return isinstance(value, str) and '{{' in value


def _rendered(value):
    """A templated default's value when it needs nothing but itself (NOT_GIVEN otherwise)."""
    try:
        return Templar(loader=DataLoader(), variables={}).template(trust_as_template(value))
    except Exception:  # an undefined variable, a lookup: the value depends on the run
        return NOT_GIVEN


def _module_tasks(role):
    """(file, task name, module, {option: argument}) of each gcli.offload module task of the role."""
    tasks_dir = os.path.join(ROLES_DIR, role, 'tasks')
    for name in sorted(os.listdir(tasks_dir)):
        with open(os.path.join(tasks_dir, name), encoding='utf-8') as f:
            queue = list(yaml.safe_load(f) or [])
        while queue:
            task = queue.pop(0)
            for key in ('block', 'rescue', 'always'):
                queue.extend(task.get(key) or [])
            for key, args in task.items():
                if key.startswith('gcli.offload.') and isinstance(args, dict):
                    yield name, task.get('name', '?'), key.rsplit('.', 1)[1], args


@pytest.fixture(scope='module')
def docs():
    return documented(MODULES)


def _module_default(module, option, docs):
    if module == 'worker_vm_spec':  # its documentation has no defaults: the function applies DEFAULTS
        return _worker_vm.DEFAULTS.get(option)
    return docs[module].get(option, {}).get('default')


@pytest.mark.parametrize('role', ROLES)
def test_argument_specs_document_the_defaults(role):
    defaults, wrong = _defaults(role), []
    documented_names = set()
    for entry, spec in _entry_points(role).items():
        for name, option in (spec.get('options') or {}).items():
            documented_names.add(name)
            if name not in defaults:
                continue
            value = defaults[name]
            if _templated(value):
                # Worked out at run time: the description says how; a documented default must be what
                # the template gives whenever it depends on nothing else.
                if 'default' in option and _rendered(value) is not NOT_GIVEN and _rendered(value) != option['default']:
                    wrong.append((entry, name, value, option['default']))
            elif option.get('default', NOT_GIVEN) != value:
                wrong.append((entry, name, value, option.get('default', 'no default')))
    assert not wrong, '%s: defaults/main.yml and meta/argument_specs.yml disagree (entry, variable, default, ' \
                      'documented): %s' % (role, wrong)
    undocumented = sorted(set(defaults) - documented_names)
    assert not undocumented, '%s: variables with a default but in no entry point: %s' % (role, undocumented)


@pytest.mark.parametrize('role', ROLES)
def test_role_defaults_are_the_defaults_of_the_module_options_they_feed(role, docs):
    """A variable handed to a module option as it is has the option's default, or the role and the
    module would differ about what leaving it out means; one the role leaves undefined (passed with
    default(omit)) gets the module's default, which its argument spec must document."""
    defaults = _defaults(role)
    documented_defaults = {name: option['default'] for spec in _entry_points(role).values()
                           for name, option in (spec.get('options') or {}).items() if 'default' in option}
    wrong, fed = [], 0
    for path, task, module, args in _module_tasks(role):
        for option, argument in args.items():
            match = PLAIN.match(argument) if isinstance(argument, str) else None
            if not match:
                continue
            variable, omitted = match.groups()
            module_default = _module_default(module, option, docs)
            if variable in defaults:
                value = defaults[variable]
                if _templated(value) or module_default is None:
                    continue  # worked out at run time, or the module needs it given
                fed += 1
                if value != module_default:
                    wrong.append((path, task, variable, value, '%s.%s' % (module, option), module_default))
            elif omitted:
                fed += 1
                if documented_defaults.get(variable, module_default) != module_default:
                    wrong.append((path, task, variable, documented_defaults[variable],
                                  '%s.%s' % (module, option), module_default))
    assert not wrong, '%s: role and module defaults differ (file, task, variable, role default, option, ' \
                      'module default): %s' % (role, wrong)
    assert fed, '%s hands no variable with a default to a module: is the task parser still right?' % role


def test_worker_vm_defaults_are_worker_vm_spec_defaults():
    """worker_vm_spec fills in DEFAULTS for an input it is not given: they are the role's defaults."""
    defaults = _defaults('worker_vm')
    variables = {_worker_vm.PREFIX + name for name in _worker_vm.DEFAULTS}
    assert set(defaults) <= variables, 'not inputs of worker_vm_spec: %s' % sorted(set(defaults) - variables)
    # One the role leaves undefined is omitted, so that worker_vm_spec applies DEFAULTS (its only statement).
    omitted = {name for path, dummy, module, args in _module_tasks('worker_vm') if module == 'worker_vm_spec'
               for name, argument in args.items()
               if argument == '{{ %s%s | default(omit) }}' % (_worker_vm.PREFIX, name)}
    missing = sorted(name for name in _worker_vm.DEFAULTS
                     if _worker_vm.PREFIX + name not in defaults and name not in omitted)
    assert not missing, 'neither in defaults/main.yml nor given to worker_vm_spec with default(omit): %s' % missing
    wrong = []
    for name, value in _worker_vm.DEFAULTS.items():
        if _worker_vm.PREFIX + name not in defaults:
            continue
        role_value = defaults[_worker_vm.PREFIX + name]
        if _templated(role_value):
            # Worked out by the role (from $USER, offload_image...): worker_vm_spec needs it given,
            # or derives it the same way when it renders to a constant.
            if value not in (None, '') and _rendered(role_value) != value:
                wrong.append((name, role_value, value))
        elif role_value != value:
            wrong.append((name, role_value, value))
    assert not wrong, 'defaults/main.yml and _worker_vm.DEFAULTS disagree (variable, role, DEFAULTS): %s' % wrong


def test_worker_vm_spec_is_given_every_variable():
    """The role hands worker_vm_spec every variable it has, so DEFAULTS never silently applies."""
    given = set()
    for path, dummy, module, args in _module_tasks('worker_vm'):
        if module == 'worker_vm_spec' and args.get('state', 'present') == 'present':
            given |= set(args)
    assert given == set(_worker_vm.DEFAULTS) - {'delete_data_disk', 'delete_firewall'}
