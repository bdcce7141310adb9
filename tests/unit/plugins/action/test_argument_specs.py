"""Each action plugin validates the options its module's DOCUMENTATION promises.

An action plugin's argument spec (the dict it hands validate_argument_spec) and the
documentation of the same-named module (doc fragments included, as ansible-doc shows
it) are two statements of one interface: a documented default the plugin does not
apply, a type ansible-doc announces but the plugin does not convert, a required
option the plugin lets through, or a secret the plugin would log, is a lie to the
user. So every option must agree on name, type, elements, default, required and
choices; module documentation has no no_log key, so an option the plugin keeps out
of its logs says C(no_log) in its description, and only such an option does.

And the action groups of meta/runtime.yml hold exactly the plugins that take the
group's options: module_defaults for a group hands them to each member, so a member
without one fails with "Unsupported parameters", and a plugin taking them outside the
group never gets them from module_defaults."""

from __future__ import annotations

import os

import pytest
import yaml
from plugin_specs import MODULES, ROOT, documented, plugin_spec

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import gcp_argument_spec
from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WORKER_ARGUMENT_SPEC

ACTIONS = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, 'plugins', 'action'))
                 if f.endswith('.py') and not f.startswith('_'))
# The properties compared, and the value each has when a spec or a documentation leaves it out.
PROPERTIES = {'type': 'str', 'elements': None, 'default': None, 'required': False, 'choices': None}
# What module_defaults for each group sets (the comments of meta/runtime.yml), as the group's plugins take it.
GROUP_OPTIONS = {'worker': WORKER_ARGUMENT_SPEC, 'gcp': gcp_argument_spec()}


@pytest.fixture(scope='module')
def docs():
    return documented(MODULES)


def _properties(option):
    """What a spec's or a documentation's option says, missing properties filled in; no_log from the
    spec's key or the documentation's words."""
    found = {name: option.get(name, missing) for name, missing in PROPERTIES.items()}
    if found['choices'] is not None:
        found['choices'] = sorted(found['choices'], key=str)
    description = option.get('description')
    if description is None:
        found['no_log'] = bool(option.get('no_log', False))
    else:
        text = ' '.join(description) if isinstance(description, list) else description
        found['no_log'] = 'C(no_log)' in text
    return found


def test_every_action_plugin_has_a_documented_module():
    assert ACTIONS and set(ACTIONS) <= set(MODULES)


@pytest.mark.parametrize('name', ACTIONS)
def test_action_spec_matches_documentation(name, docs):
    spec, doc = plugin_spec(name), docs[name]
    assert sorted(spec) == sorted(doc), '%s: options in the spec only %s, in the documentation only %s' % (
        name, sorted(set(spec) - set(doc)), sorted(set(doc) - set(spec)))
    wrong = {option: {'spec': _properties(spec[option]), 'documentation': _properties(doc[option])}
             for option in spec if _properties(spec[option]) != _properties(doc[option])}
    assert not wrong, '%s: spec and documentation disagree: %s' % (name, wrong)


def test_the_comparison_sees_a_drift():
    """The properties compared are the ones a spec and a documentation can disagree on."""
    base = {'type': 'int', 'default': 5}
    for change in ({'type': 'str'}, {'default': 6}, {'required': True}, {'choices': [5]}, {'no_log': True},
                   {'elements': 'str'}):
        assert _properties(base) != _properties(dict(base, **change)), change
    assert _properties({'type': 'str'}) == _properties({})  # ansible-doc's default type is str
    secret = {'type': 'str', 'no_log': True}
    assert _properties(secret) == _properties({'type': 'str', 'description': 'The token, never logged (C(no_log)).'})
    assert _properties(secret) != _properties({'type': 'str', 'description': ['The token.']})


def _action_groups():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml'), encoding='utf-8') as f:
        return yaml.safe_load(f)['action_groups']


def test_every_action_group_is_known():
    assert set(_action_groups()) == set(GROUP_OPTIONS)


@pytest.mark.parametrize('group', sorted(GROUP_OPTIONS))
def test_action_group_holds_exactly_the_plugins_taking_its_options(group, docs):
    members = set(_action_groups()[group])
    assert members <= set(MODULES), 'not plugins of the collection: %s' % sorted(members - set(MODULES))
    # A plugin with an option of the same name but another meaning (worker_vm_spec's docker_bin is
    # the role variable offload_docker_bin, checked raw) is no taker; an environment fallback of
    # its own (cloudbuild_trigger's api_endpoint) is no other meaning.
    takers = {name for name in MODULES if all(
        option in plugin_spec(name) and _properties(plugin_spec(name)[option]) == _properties(spec)
        for option, spec in GROUP_OPTIONS[group].items())}
    assert members == takers, 'group %s: members that miss its options %s; plugins that take them but are not in it %s' % (
        group, sorted(members - takers), sorted(takers - members))
    undocumented = {name for name in members if not set(GROUP_OPTIONS[group]) <= set(docs[name])}
    assert not undocumented, 'group %s: members that do not document its options: %s' % (group, sorted(undocumented))
