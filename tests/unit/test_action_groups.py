"""Every plugin of an action group (meta/runtime.yml) takes the group's options:
`module_defaults` for a group hands them to each of its plugins, and one that does
not know an option fails with "Unsupported parameters"."""

from __future__ import annotations

import os

import pytest
import yaml
from plugin_specs import ROOT, documented, plugin_spec

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import gcp_argument_spec
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WORKER_ARGUMENT_SPEC

# What module_defaults for each group is for (the comments of meta/runtime.yml).
GROUP_OPTIONS = {
    'worker': set(WORKER_ARGUMENT_SPEC),
    'gcp': set(gcp_argument_spec()),
}


def action_groups():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml'), encoding='utf-8') as f:
        return yaml.safe_load(f)['action_groups']


def members():
    return [(group, name) for group, names in sorted(action_groups().items()) for name in names]


@pytest.fixture(scope='module')
def docs():
    return documented([name for _group, name in members()])


def test_every_group_has_known_options():
    assert set(action_groups()) == set(GROUP_OPTIONS)


@pytest.mark.parametrize('group, name', members(), ids=['%s-%s' % m for m in members()])
def test_each_plugin_of_a_group_takes_the_groups_options(group, name, docs):
    missing = GROUP_OPTIONS[group] - set(plugin_spec(name))
    assert not missing, '%s is in action group %s but does not take %s' % (name, group, sorted(missing))
    undocumented = GROUP_OPTIONS[group] - set(docs[name])
    assert not undocumented, '%s does not document %s' % (name, sorted(undocumented))
