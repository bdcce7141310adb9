"""Every plugin of an action group (meta/runtime.yml) takes the group's options:
`module_defaults` for a group hands them to each of its plugins, and one that does
not know an option fails with "Unsupported parameters"."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import gcp_argument_spec
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WORKER_ARGUMENT_SPEC, WorkerAction

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = 'ansible_collections.gcli.offload.plugins'

# What module_defaults for each group is for (the comments of meta/runtime.yml).
GROUP_OPTIONS = {
    'worker': set(WORKER_ARGUMENT_SPEC),
    'gcp': set(gcp_argument_spec()),
}


def action_groups():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml'), encoding='utf-8') as f:
        return yaml.safe_load(f)['action_groups']


class Captured(Exception):
    def __init__(self, spec):
        super().__init__('captured')
        self.spec = spec


def module_spec(name):
    """The argument spec a module's main() gives AnsibleModule (caught before it runs)."""
    module = importlib.import_module('%s.modules.%s' % (PACKAGE, name))

    def capture(argument_spec=None, **kwargs):
        raise Captured(argument_spec)

    original = module.AnsibleModule
    module.AnsibleModule = capture
    try:
        module.main()
    except Captured as exc:
        return exc.spec
    finally:
        module.AnsibleModule = original
    raise AssertionError('%s.main() built no AnsibleModule' % name)


def accepted_options(name):
    """The options the plugin validates: an action plugin's spec when it has one, else the module's."""
    if os.path.exists(os.path.join(ROOT, 'plugins', 'action', name + '.py')):
        action = importlib.import_module('%s.action.%s' % (PACKAGE, name)).ActionModule
        spec = dict(action.ARGUMENT_SPEC)
        if issubclass(action, WorkerAction):
            spec.update(WORKER_ARGUMENT_SPEC)  # WorkerAction._validated_args adds them
        return set(spec)
    return set(module_spec(name))


@pytest.fixture(scope='module')
def documented():
    """Each group member's documented options (doc fragments included), from ansible-doc."""
    names = ['gcli.offload.%s' % name for _group, name in members()]
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-doc'), '--json', '-t', 'module']
                          + names, cwd=ROOT, capture_output=True, text=True, check=True,
                          env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg')))
    return {name.rsplit('.', 1)[1]: set(doc['doc']['options']) for name, doc in json.loads(proc.stdout).items()}


def members():
    return [(group, name) for group, names in sorted(action_groups().items()) for name in names]


def test_every_group_has_known_options():
    assert set(action_groups()) == set(GROUP_OPTIONS)


@pytest.mark.parametrize('group, name', members(), ids=['%s-%s' % m for m in members()])
def test_each_plugin_of_a_group_takes_the_groups_options(group, name, documented):
    missing = GROUP_OPTIONS[group] - accepted_options(name)
    assert not missing, '%s is in action group %s but does not take %s' % (name, group, sorted(missing))
    undocumented = GROUP_OPTIONS[group] - documented[name]
    assert not undocumented, '%s does not document %s' % (name, sorted(undocumented))
