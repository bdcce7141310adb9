"""Units of the image_tag_info module's logic, with a stub registry client."""

from __future__ import annotations

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _registry as reg
from ansible_collections.gcli.offload.plugins.modules import image_tag_info as mod

D = {t: 'sha256:' + (c * 64) for t, c in (('latest', 'a'), ('v1', 'b'), ('feature-x', 'c'), ('idx', 'd'), ('main', 'f'))}


class StubClient:
    def __init__(self, tags, index_tags=()):
        self.tags = list(tags)
        self.index_tags = set(index_tags)
        self.calls = []

    def list_tags(self, repository, page_size=None, image=None):
        self.calls.append(('list', repository, page_size))
        return list(self.tags), 1

    def manifest(self, repository, reference, head=True, image=None):
        self.calls.append(('HEAD' if head else 'GET', reference))
        tag = next((t for t, d in D.items() if d == reference), reference)
        if tag in self.index_tags:
            body = None if head else {'manifests': [{'digest': 'sha256:' + 'e' * 64, 'mediaType': reg.OCI_MANIFEST,
                                                     'platform': {'os': 'linux', 'architecture': 'arm64'}}]}
            return reg.Manifest(D[tag], reg.OCI_INDEX, 100, body)
        return reg.Manifest(D[tag], reg.OCI_MANIFEST, 50)


def params(**kw):
    base = {k: None for k in mod.argument_spec()}
    base.update(fallback_to_latest=False, digests='resolved', registry_auth='auto', validate_certs=True,
                plain_http=False, parallel=8, request_retries=0, retry_initial_delay=0.0, retry_max_delay=0.0,
                auth_kind='application')
    base.update(kw)
    return base


IMG = 'us-docker.pkg.dev/p/r/maintainer'


def test_resolve_tag_reads_one_manifest():
    client = StubClient(['latest', 'v1'])
    out = mod.resolve(params(image=IMG, tag='v1'), client=client)
    assert out['changed'] is False
    assert out['digest'] == D['v1'] and out['reference'] == IMG + '@' + D['v1']
    assert out['tagged_reference'] == IMG + ':v1' and out['fallback_used'] is False
    assert out['registry'] == 'us-docker.pkg.dev' and out['repository'] == 'p/r/maintainer'
    assert client.calls == [('list', 'p/r/maintainer', None), ('HEAD', 'v1')]
    assert list(out['manifests']) == ['v1']


def test_resolve_index_gets_platforms():
    client = StubClient(['idx'], index_tags=['idx'])
    out = mod.resolve(params(image=IMG, tag='idx'), client=client)
    assert client.calls[1:] == [('HEAD', 'idx'), ('GET', D['idx'])]
    assert out['platforms'][0]['platform'] == 'linux/arm64' and out['media_type'] == reg.OCI_INDEX


@pytest.mark.parametrize('branch, tag', [('main', 'latest'), ('feature/X', 'feature-x')])
def test_branch_goes_through_the_shared_rule(branch, tag):
    out = mod.resolve(params(image=IMG, branch=branch), client=StubClient(['latest', 'feature-x']))
    assert out['requested_tag'] == out['tag'] == tag


def test_fallback_to_latest():
    out = mod.resolve(params(image=IMG, branch='gone/branch', fallback_to_latest=True), client=StubClient(['latest']))
    assert (out['requested_tag'], out['tag'], out['fallback_used']) == ('gone-branch', 'latest', True)
    assert out['digest'] == D['latest']


def test_unknown_tag_messages():
    with pytest.raises(reg.RegistryError) as err:
        mod.resolve(params(image=IMG, tag='v9'), client=StubClient(['latest', 'v1']))
    assert err.value.kind == 'not_found'
    assert str(err.value) == ("tag 'v9' of image %s not found on us-docker.pkg.dev; the image has the tags: latest, "
                              "v1; set fallback_to_latest: true to use latest instead" % IMG)
    with pytest.raises(reg.RegistryError) as err:
        mod.resolve(params(image=IMG, branch='x/y', fallback_to_latest=True), client=StubClient([]))
    assert "branch 'x/y' (tag 'x-y')" in str(err.value) and 'no tags, and no latest tag' in str(err.value)
    many = ['t%02d' % i for i in range(30)]
    with pytest.raises(reg.RegistryError) as err:
        mod.resolve(params(image=IMG, tag='zz'), client=StubClient(many))
    assert '... (30 in all)' in str(err.value)


def test_list_only_and_all_digests():
    client = StubClient(['v1', 'latest', 'feature-x'])
    out = mod.resolve(params(image=IMG), client=client)
    assert 'digest' not in out and out['manifests'] == {} and client.calls == [('list', 'p/r/maintainer', None)]
    out = mod.resolve(params(image=IMG, tag='latest', digests='all', page_size=50), client=client)
    assert list(out['manifests']) == ['v1', 'latest', 'feature-x'], 'in the registry order'
    assert {t: m['digest'] for t, m in out['manifests'].items()} == {t: D[t] for t in ('v1', 'latest', 'feature-x')}
    assert ('list', 'p/r/maintainer', 50) in client.calls


@pytest.mark.parametrize('kw, words', [
    ({'tag': '.bad'}, 'not a valid image tag'),
    ({'tag': 'x' * 129}, 'not a valid image tag'),
    ({'branch': ''}, 'branch must be a non-empty'),
])
def test_invalid_requests_touch_nothing(kw, words):
    client = StubClient(['latest'])
    with pytest.raises(reg.RegistryError) as err:
        mod.resolve(params(image=IMG, **kw), client=client)
    assert words in str(err.value) and client.calls == []


@pytest.mark.parametrize('kw, registry, mode', [
    ({}, 'us-docker.pkg.dev', 'google'),
    ({}, 'gcr.io', 'google'),
    ({}, '127.0.0.1:5000', 'anonymous'),
    ({'username': 'u'}, 'us-docker.pkg.dev', 'basic'),
    ({'registry_auth': 'anonymous'}, 'us-docker.pkg.dev', 'anonymous'),
])
def test_auth_mode(kw, registry, mode):
    assert mod.auth_mode(params(**kw), registry) == mode


def test_google_token_comes_from_the_gcp_options():
    p = params(image=IMG, auth_kind='accesstoken', access_token='ya29.test-token')
    client = mod.make_client(p, reg.parse_image(IMG), None)
    assert client.token_provider() == 'ya29.test-token'
    assert client.base == 'https://us-docker.pkg.dev' and client.verify is True


def test_basic_needs_both():
    with pytest.raises(reg.RegistryError) as err:
        mod.make_client(params(image='r.example.com/a', registry_auth='basic'), reg.parse_image('r.example.com/a'),
                        None)
    assert 'username and password' in str(err.value)


def test_ca_path_and_docker_hub():
    c = mod.make_client(params(image='busybox', ca_path='/etc/ca.pem'), reg.parse_image('busybox'), None)
    assert c.verify == '/etc/ca.pem' and c.base == 'https://registry-1.docker.io'


@pytest.mark.parametrize('branch, pr, tag', [
    ('main', True, 'main'), ('main', False, 'latest'), ('feature/X', True, 'feature-x')])
def test_pull_request_head_branch(branch, pr, tag):
    out = mod.resolve(params(image=IMG, branch=branch, pull_request=pr),
                      client=StubClient(['latest', 'main', 'feature-x']))
    assert out['tag'] == tag
