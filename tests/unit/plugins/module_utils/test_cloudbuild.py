"""Units of module_utils/_cloudbuild: the desired trigger, the comparison, the update body, converge()
with a stub API, and the REST calls against a stub session."""

from __future__ import annotations

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _cloudbuild as cb
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError


def params(**kw):
    base = {k: None for k in cb.argument_spec()}
    base.update(state='present', location='global', event='push', invert_regex=False, comment_control='disabled',
                disabled=False, request_retries=0, retry_initial_delay=0.0, retry_max_delay=0.0, project='proj-1',
                name='maintainer-image-main', github_owner='org', github_repo='repo', branch='^main$',
                filename='docker/maintainer-worker.yml')
    base.update(kw)
    return base


def test_push_trigger():
    assert cb.desired_trigger(params(substitutions={'_REPO': 'offload'}, description='d')) == {
        'name': 'maintainer-image-main', 'filename': 'docker/maintainer-worker.yml', 'disabled': False,
        'description': 'd', 'substitutions': {'_REPO': 'offload'},
        'github': {'owner': 'org', 'name': 'repo', 'push': {'branch': '^main$'}}}


def test_pull_request_trigger_with_comment_control():
    t = cb.desired_trigger(params(event='pull_request', comment_control='required', invert_regex=True))
    assert t['github']['pullRequest'] == {'branch': '^main$', 'commentControl': 'COMMENTS_ENABLED',
                                          'invertRegex': True}


def test_push_tag_trigger():
    assert cb.desired_trigger(params(branch=None, tag=r'^v\d+'))['github']['push'] == {'tag': r'^v\d+'}


@pytest.mark.parametrize('kw, words', [
    ({'name': '-x'}, 'not a valid trigger name'),
    ({'name': 'a' * 65}, 'not a valid trigger name'),
    ({'name': 'a_b'}, 'not a valid trigger name'),
    ({'location': 'US'}, 'not a Cloud Build location'),
    ({'github_owner': None}, 'needs github_owner'),
    ({'github_repo': 'a/b'}, 'not a GitHub owner or repository name'),
    ({'branch': None}, 'exactly one of branch'),
    ({'tag': 'v.*'}, 'exactly one of branch'),
    ({'branch': '(('}, 'not a valid regular expression'),
    ({'event': 'pull_request', 'branch': None}, 'needs branch'),
    ({'comment_control': 'required'}, 'event=pull_request only'),
    ({'filename': None}, 'needs filename'),
    ({'filename': '../x.yml'}, 'inside the repository'),
    ({'substitutions': {'PROJECT_ID': 'x'}}, 'built-in ones'),
    ({'substitutions': {'_X': ['a']}}, 'must be a string'),
    ({'service_account': 'me@x'}, 'projects/PROJECT/serviceAccounts/EMAIL'),
])
def test_invalid(kw, words):
    with pytest.raises(InputError) as err:
        cb.desired_trigger(params(**kw))
    assert words in str(err.value)


def test_substitution_values_become_strings():
    t = cb.desired_trigger(params(substitutions={'_N': 3, '_B': False, '_S': 'x'}))
    assert t['substitutions'] == {'_N': '3', '_B': 'false', '_S': 'x'}


def existing(**kw):
    t = {'id': 'id-1', 'createTime': '2026-01-01T00:00:00Z', 'resourceName': 'projects/p/locations/global/triggers/i',
         'name': 'maintainer-image-main', 'filename': 'docker/maintainer-worker.yml',
         'github': {'owner': 'org', 'name': 'repo', 'push': {'branch': '^main$', 'invertRegex': False}},
         'approvalConfig': {'approvalRequired': True}}
    t.update(kw)
    return t


def test_api_defaults_compare_equal():
    assert cb.compare(existing(disabled=False, substitutions={}), cb.desired_trigger(params())) == []
    pr = existing(github={'owner': 'org', 'name': 'repo', 'pullRequest': {'branch': '^main$'}})
    assert cb.compare(pr, cb.desired_trigger(params(event='pull_request'))) == [], 'COMMENTS_DISABLED is the default'
    assert cb.compare(pr, cb.desired_trigger(params(event='pull_request', comment_control='required'))) == ['github']


def test_unmanaged_options_are_left_alone():
    current = existing(description='by hand', tags=['x'])
    assert cb.compare(current, cb.desired_trigger(params())) == []
    assert cb.compare(current, cb.desired_trigger(params(description='new'))) == ['description']


def test_updated_body_keeps_unmanaged_fields():
    current = existing(filename='old.yml', description='keep me')
    body = cb.updated_body(current, cb.desired_trigger(params(substitutions={})))
    assert body['filename'] == 'docker/maintainer-worker.yml' and body['description'] == 'keep me'
    assert body['approvalConfig'] == {'approvalRequired': True} and body['id'] == 'id-1'
    assert 'createTime' not in body and 'substitutions' not in body


def mutating(api):
    return [c for c in api.calls if c[0] != 'find']


class StubApi:
    def __init__(self, current=None):
        self.current = current
        self.calls = []

    def find(self, name):
        self.calls.append(('find', name))
        return self.current

    def create(self, body):
        self.calls.append(('create', body['name']))
        return dict(body, id='new')

    def update(self, current, body):
        self.calls.append(('update', current['id']))
        return body

    def delete(self, current):
        self.calls.append(('delete', current['id']))


@pytest.mark.parametrize('check', [False, True])
def test_converge_paths(check):
    api = StubApi()
    r = cb.converge(params(), api, check_mode=check)
    assert r['changed'] and r['operation'] == 'create' and r['before'] == {}
    assert r['after']['github']['push'] == {'branch': '^main$'}
    assert mutating(api) == ([] if check else [('create', 'maintainer-image-main')])

    api = StubApi(existing())
    r = cb.converge(params(), api, check_mode=check)
    assert not r['changed'] and mutating(api) == [] and r['before'] == r['after']

    api = StubApi(existing(filename='x.yml'))
    r = cb.converge(params(), api, check_mode=check)
    assert r['changed'] and r['changed_fields'] == ['filename']
    assert r['before']['filename'] == 'x.yml' and r['after']['filename'] == 'docker/maintainer-worker.yml'
    assert mutating(api) == ([] if check else [('update', 'id-1')])

    api = StubApi(existing())
    r = cb.converge(params(state='absent'), api, check_mode=check)
    assert r['changed'] and r['operation'] == 'delete' and r['after'] == {} and r['trigger'] is None
    assert mutating(api) == ([] if check else [('delete', 'id-1')])

    api = StubApi(None)
    r = cb.converge(params(state='absent'), api, check_mode=check)
    assert not r['changed'] and mutating(api) == []


@pytest.mark.parametrize('value, endpoint', [
    (None, 'https://cloudbuild.googleapis.com'),
    ('http://127.0.0.1:8080/', 'http://127.0.0.1:8080'),
    ('http://127.0.0.1:8080/v1/', 'http://127.0.0.1:8080'),
    ('https://cloudbuild.googleapis.com', 'https://cloudbuild.googleapis.com'),
])
def test_endpoint(value, endpoint):
    assert cb.cloudbuild_endpoint(value) == endpoint


@pytest.mark.parametrize('value', ['127.0.0.1:8080', 'http://h/x/y', 'ftp://h', 'http://u:secret@h/', 'https://-x/'])
def test_endpoint_refused(value):
    with pytest.raises(InputError) as err:
        cb.cloudbuild_endpoint(value)
    assert err.value.variable == 'api_endpoint' and 'secret' not in str(err.value)


class Resp:
    def __init__(self, status, body):
        self.status_code = status
        self._body = body
        self.content = b'x' if body is not None else b''

    def json(self):
        return self._body

    def raise_for_status(self):
        if self.status_code >= 400:
            import requests
            err = requests.HTTPError('%d error' % self.status_code)
            err.response = self
            raise err


class Session:
    def __init__(self, answers):
        self.answers = list(answers)
        self.sent = []

    def request(self, method, url, json=None, params=None, timeout=None):
        self.sent.append((method, url, params))
        return self.answers.pop(0)


def test_list_follows_page_tokens_and_paths():
    session = Session([Resp(200, {'triggers': [{'name': 'a'}], 'nextPageToken': 't1'}),
                       Resp(200, {'triggers': [{'name': 'b', 'id': 'B'}]})])
    api = cb.CloudBuildApi(params(api_endpoint='http://127.0.0.1:1/'), session=session, project='proj-1')
    assert api.find('b') == {'name': 'b', 'id': 'B'}
    assert session.sent[0] == ('GET', 'http://127.0.0.1:1/v1/projects/proj-1/triggers', {'pageSize': 100})
    assert session.sent[1][2] == {'pageSize': 100, 'pageToken': 't1'}
    regional = cb.CloudBuildApi(params(location='europe-west1'), session=Session([Resp(200, {})]), project='proj-1')
    assert regional.find('x') is None
    assert regional.session.sent[0][1] == 'https://cloudbuild.googleapis.com/v1/projects/proj-1/locations/europe-west1/triggers'


def test_api_error_is_readable():
    body = {'error': {'code': 400, 'message': 'Repository mapping does not exist.', 'status': 'FAILED_PRECONDITION'}}
    api = cb.CloudBuildApi(params(), session=Session([Resp(400, body)]), project='proj-1')
    with pytest.raises(Exception) as err:
        api.create(cb.desired_trigger(params()))
    text = str(err.value)
    assert text.startswith('cannot create build trigger maintainer-image-main of project proj-1: Repository mapping does '
                           'not exist. (HTTP 400 FAILED_PRECONDITION)')
    assert 'Cloud Build GitHub app' in text and '{' not in text
