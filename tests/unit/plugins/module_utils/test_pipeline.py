"""pipeline_spec: image_pipeline.yml's inputs, both triggers, checked before any request."""

from __future__ import annotations

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _cloudbuild as cb
from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError
from ansible_collections.gcli.offload.plugins.module_utils._pipeline import DEFAULTS, pipeline_spec

BASE = {'project': 'my-project', 'github_owner': 'my-org', 'github_repo': 'my-repo'}


def spec(**kw):
    return pipeline_spec(**dict(BASE, **kw))


def refusal(**kw):
    with pytest.raises(JobInputError) as err:
        spec(**kw)
    return str(err.value)


def test_defaults_make_the_two_triggers_of_the_playbook():
    out = spec()
    assert out['state'] == 'present' and out['project'] == 'my-project' and out['api_endpoint'] == ''
    push, pr = out['triggers']
    assert push['name'] == 'maintainer-image-main' and push['event'] == 'push'
    assert pr['name'] == 'maintainer-image-pr' and pr['event'] == 'pull_request' and pr['comment_control'] == 'required'
    for trigger in out['triggers']:
        assert trigger['substitutions'] == {'_LOCATION': 'us', '_REPO': 'offload'}
        assert trigger['filename'] == 'docker/maintainer-worker.yml' and trigger['branch'] == '^main$'
        assert 'service_account' not in trigger  # empty: left out, the module leaves it unmanaged
        cb.desired_trigger(trigger)  # what the module will be given passes the module's own checks


def test_none_takes_the_default():
    assert spec(state=None, pr_trigger=None)['triggers'][1]['name'] == DEFAULTS['pr_trigger']


def test_absent_needs_no_repository():
    out = pipeline_spec(state='absent')
    assert out['triggers'] == [{'name': 'maintainer-image-main', 'state': 'absent', 'location': 'global'},
                               {'name': 'maintainer-image-pr', 'state': 'absent', 'location': 'global'}]


@pytest.mark.parametrize('kw, variable, fragment', [
    ({'pr_trigger': '$(touch x)'}, 'offload_pipeline_pr_trigger', 'is not a valid trigger name'),
    ({'push_trigger': 'x' * 100000}, 'offload_pipeline_push_trigger', 'is not a valid trigger name'),
    ({'state': 'absent', 'pr_trigger': '../x'}, 'offload_pipeline_pr_trigger', 'is not a valid trigger name'),
    ({'pr_trigger': 'maintainer-image-main'}, 'offload_pipeline_pr_trigger', 'must differ from'),
    ({'project': 'x' * 100000}, 'offload_project', 'must be a Google Cloud project ID'),
    ({'project': 'My Project'}, 'offload_project', 'must be a Google Cloud project ID'),
    ({'github_owner': ''}, 'offload_pipeline_github_owner', 'state=present needs github_owner'),
    ({'github_repo': '../../etc'}, 'offload_pipeline_github_repo', 'is not a GitHub owner or repository name'),
    ({'github_repo': 17}, 'offload_pipeline_github_repo', 'must be a string'),
    ({'state': 'gone'}, 'offload_pipeline_state', 'must be one of present, absent'),
    ({'main_branch': '(main'}, 'offload_pipeline_main_branch', 'is not a valid regular expression'),
    ({'config': '../../etc/passwd'}, 'offload_pipeline_config', 'must be a path inside the repository'),
    ({'registry_location': 'uѕ'}, 'offload_pipeline_registry_location', 'must be an Artifact Registry location'),
    ({'registry_repository': 'r;touch x'}, 'offload_pipeline_registry_repository', 'repository ID'),
    ({'registry_repository': 'offload\n'}, 'offload_pipeline_registry_repository', 'repository ID'),
    ({'trigger_location': '../../x'}, 'offload_pipeline_trigger_location', 'is not a Cloud Build location'),
    ({'service_account': 'projects/p/serviceAccounts/a@b\ntouch x'}, 'offload_pipeline_service_account',
     'must be projects/PROJECT/serviceAccounts/EMAIL'),
    ({'api_endpoint': 'http://h/../x'}, 'offload_pipeline_api_endpoint', 'expected a server'),
])
def test_refusals_name_the_playbook_variable(kw, variable, fragment):
    text = refusal(**kw)
    assert text.startswith(variable + ': ') and fragment in text, text
    assert len(text) < 400


def test_unknown_option():
    assert refusal(branch='^main$').startswith('branch: is not a variable of image_pipeline.yml')
