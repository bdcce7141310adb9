"""Units for _image_ref: one image reference grammar for docker run, the registry client, cloud-init and the filter."""

import pathlib
import re

import pytest

from ansible_collections.gcli.offload.plugins.filter.image import FilterModule
from ansible_collections.gcli.offload.plugins.module_utils import _cloud_init as ci
from ansible_collections.gcli.offload.plugins.module_utils import _image_ref as ref
from ansible_collections.gcli.offload.plugins.module_utils import _image_tags
from ansible_collections.gcli.offload.plugins.module_utils import _registry as reg
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError

from ansible.errors import AnsibleFilterError

PLUGINS = pathlib.Path(__file__).resolve().parents[4] / 'plugins'
DIGEST = 'sha256:' + 'a' * 64
CONTAINER = {'image': None, 'name': 'maintainer-worker', 'command': None, 'args': None, 'env': {}, 'mounts': [],
             'restart_policy': 'UnlessStopped', 'privileged': False, 'stdin': False, 'tty': False}


@pytest.mark.parametrize('image', [
    'busybox', 'library/busybox:1', 'us-docker.pkg.dev/p/r/m:latest', 'localhost/a', '127.0.0.1:5000/x/y:v1',
    'registry:5000/x', 'x@' + DIGEST, 'r.example.com/a__b/c-d.e_f:v1@' + DIGEST, '[::1]:5000/a/b',
])
def test_a_reference_docker_and_the_registry_client_both_read(image):
    assert ref.validate_image(image, 'v') == image
    name, tag, digest = ref.split_reference(image)
    assert reg.parse_image(name).display == name
    assert (tag, digest) == (re.search(r':([^:/@]+)(?:@|$)', image.rsplit('/', 1)[-1]).group(1)
                             if ':' in image.rsplit('/', 1)[-1].split('@')[0] else None, ref.digest_of(image))


@pytest.mark.parametrize('image', [
    '-l.x/y', '--privileged.a/b', 'img;x', 'Upper/x', 'x//y', 'x/y:', 'x/y:-bad', 'x@sha256:short', '',
    'a' * 600, 'r.example.com/x y', 'h-.example.com/x',
])
def test_a_reference_is_refused_by_every_reader(image):
    with pytest.raises(InputError):
        ref.validate_image(image, 'v')
    with pytest.raises(InputError):
        ref.split_reference(image)


def test_registry_of_and_digest_of():
    assert ref.registry_of('us-docker.pkg.dev/p/r/m') == 'us-docker.pkg.dev'
    assert ref.registry_of('busybox') is None and ref.registry_of('library/busybox') is None
    assert ref.registry_of('127.0.0.1:5000/x') == '127.0.0.1:5000' and ref.registry_of('localhost/x') == 'localhost'
    assert ref.digest_of('x@' + DIGEST) == DIGEST and ref.digest_of('x:1') is None


@pytest.mark.parametrize('host, google', [
    ('us-docker.pkg.dev', True), ('us-docker.pkg.dev:443', True), ('gcr.io:443', True), ('eu.gcr.io', True),
    ('us-docker.pkg.dev:5000', False), ('us-docker.pkg.dev.evil.com', False), ('evilgcr.io', False),
])
def test_a_google_registry_with_the_https_port_is_the_same_registry(host, google):
    assert ref.is_google_registry(host) is google


@pytest.mark.parametrize('image', ['us-docker.pkg.dev/p/r/m:1', 'us-docker.pkg.dev:443/p/r/m:1'])
def test_cloud_init_and_the_registry_client_agree_on_google_registries(image):
    """Both once had a regex of their own, and only the client's took :443: the VM then pulled
    from us-docker.pkg.dev:443 without docker-credential-gcr while image_tag_info used Google auth."""
    unit = ci.render_unit(dict(CONTAINER, image=image), 'offload')
    registry = reg.parse_image(ref.split_reference(image)[0]).registry
    assert reg.is_google_registry(registry)
    assert '--registries=%s' % registry in unit


def test_the_build_steps_tag_rule_is_the_grammars():
    """_image_tags.py runs alone in a Cloud Build step, so it keeps a copy of the tag pattern: the same one."""
    assert _image_tags._TAG_RE.pattern == ref.TAG_PATTERN + r'\Z'
    for tag in ('latest', 'v1.2-rc_3', '_x', 'a' * 128):
        assert _image_tags.is_valid_tag(tag) and ref.TAG_RE.match(tag)
    for tag in ('-x', '.x', 'a' * 129, 'lаtest'):
        assert not _image_tags.is_valid_tag(tag) and not ref.TAG_RE.match(tag)


def test_the_filter_splits_and_refuses():
    split = FilterModule().filters()['image_reference']
    assert split('r.example.com/x:1') == {'name': 'r.example.com/x', 'tag': '1', 'digest': None}
    with pytest.raises(AnsibleFilterError, match='is not a valid tag'):
        split('x:-1')


def test_no_other_plugin_writes_the_reference_grammar():
    """The path component and digest patterns stand in _image_ref.py only (they were in four files)."""
    for path in PLUGINS.rglob('*.py'):
        if path.name == '_image_ref.py':
            continue
        text = path.read_text()
        assert '(?:[._]|__|-+)' not in text, path.name
        assert 'docker\\.pkg\\.dev' not in text, path.name
        assert '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}' not in text or path.name == '_image_tags.py', path.name
