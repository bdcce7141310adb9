# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every input of image_pipeline.yml, checked before the first request.

The playbook ensures two Cloud Build triggers, one request after the other: a bad
value for the second must not be found only after the first was created. So the
playbook checks everything first, through this one function, which applies the
rules cloudbuild_trigger applies (_cloudbuild.desired_trigger, validate_name,
validate_location, cloudbuild_endpoint; _gce_names.validate_project) to both
triggers, adds the playbook's own (the Artifact Registry location and repository,
two distinct trigger names), and returns the two triggers' module options. Each
refusal names the playbook variable. Nothing here sends a request.
"""

from __future__ import annotations

import re

from ansible_collections.gcli.offload.plugins.module_utils._cloudbuild import (
    argument_spec,
    cloudbuild_endpoint,
    desired_trigger,
    validate_location,
    validate_name,
)
from ansible_collections.gcli.offload.plugins.module_utils._gce_names import validate_project
from ansible_collections.gcli.offload.plugins.module_utils._inputs import (
    InputError,
    shown,
    validate_choice,
    validate_string,
)

# The options (the playbook variables without their prefix) and their defaults.
DEFAULTS = {
    'project': '', 'github_owner': '', 'github_repo': '', 'state': 'present', 'main_branch': '^main$',
    'config': 'docker/maintainer-worker.yml', 'registry_location': 'us', 'registry_repository': 'offload',
    'trigger_location': 'global', 'push_trigger': 'maintainer-image-main', 'pr_trigger': 'maintainer-image-pr',
    'service_account': '', 'api_endpoint': '',
}
STATES = ('present', 'absent')
# Artifact Registry locations (us, europe-west1...) and repository IDs.
REGISTRY_NAME_RE = re.compile(r'^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?\Z')
# The two triggers: the option holding the name, and what differs between them.
TRIGGERS = (
    ('push_trigger', {'description': 'Maintainer image: latest, on every push to main', 'event': 'push',
                      'comment_control': 'disabled'}),
    ('pr_trigger', {'description': "Maintainer image of a pull request's branch, after a /gcbrun comment",
                    'event': 'pull_request', 'comment_control': 'required'}),
)
# cloudbuild_trigger's option -> this function's option (the trigger's name: per trigger).
MODULE_OPTIONS = {
    'location': 'trigger_location', 'github_owner': 'github_owner', 'github_repo': 'github_repo',
    'branch': 'main_branch', 'filename': 'config', 'service_account': 'service_account',
    'api_endpoint': 'api_endpoint',
}


def variable(option):
    """The playbook variable behind an option: offload_project, offload_pipeline_<option>."""
    return 'offload_project' if option == 'project' else 'offload_pipeline_' + option


def trigger_variables(name_option):
    """cloudbuild_trigger's options -> the playbook variables behind them, for one trigger.

    The options the playbook sets itself (event, substitutions...) are image_pipeline's own.
    """
    names = {option: 'image_pipeline' for option in argument_spec()}
    names.update((option, variable(ours)) for option, ours in MODULE_OPTIONS.items())
    names['name'] = variable(name_option)
    return names


def pipeline_spec(**given):
    """Check image_pipeline.yml's values (given as options, see DEFAULTS; None or a missing
    option takes the default). Return {'state', 'project', 'api_endpoint', 'triggers'}: the
    triggers are the cloudbuild_trigger options of each trigger (without the gcp options,
    empty ones left out). Raise InputError naming the playbook variable."""
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise InputError(unknown[0], 'is not a variable of image_pipeline.yml (expected one of %s)'
                         % ', '.join(sorted(DEFAULTS)))
    values = dict(DEFAULTS, **{k: v for k, v in given.items() if v is not None})
    for option in DEFAULTS:
        validate_string(values[option], variable(option))
    state = validate_choice(values['state'], variable('state'), STATES)
    if values['project']:
        validate_project(values['project'], variable('project'))
    for option, what in (('registry_location', 'an Artifact Registry location such as us or europe-west1'),
                         ('registry_repository', 'an Artifact Registry repository ID')):
        if not REGISTRY_NAME_RE.fullmatch(values[option]):
            raise InputError(variable(option), 'must be %s (lower-case letters, digits and -, starting with a '
                             'letter, at most 63 characters), got %s'
                             % (what, shown(values[option])))
    if values['push_trigger'] == values['pr_trigger']:
        raise InputError(variable('pr_trigger'), 'must differ from %s (both are %s): one trigger would overwrite '
                         'the other' % (variable('push_trigger'),
                                        shown(values['pr_trigger'])))
    triggers = []
    for name_option, own in TRIGGERS:
        options = dict(own, name=values[name_option], state=state, location=values['trigger_location'],
                       github_owner=values['github_owner'], github_repo=values['github_repo'],
                       branch=values['main_branch'], filename=values['config'],
                       service_account=values['service_account'], disabled=False, invert_regex=False,
                       substitutions={'_LOCATION': values['registry_location'],
                                      '_REPO': values['registry_repository']})
        names = trigger_variables(name_option)
        cloudbuild_endpoint(values['api_endpoint'], names)
        if state == 'present':
            desired_trigger(options, names)
        else:
            validate_name(options['name'], names)
            validate_location(options['location'], names)
        if state == 'absent':
            options = {k: options[k] for k in ('name', 'state', 'location')}
        triggers.append({k: v for k, v in options.items() if v != ''})
    return {'state': state, 'project': values['project'], 'api_endpoint': values['api_endpoint'],
            'triggers': triggers}
