"""image_tag_info against a real registry on loopback (Debian's docker-registry), through
real ansible-playbook runs; every digest is compared with what skopeo reports."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest
import requests

from fixtures_registry import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PAGED_TAGS = ['t%02d' % i for i in range(7)]


def run_tasks(tmp_path, tasks, check=False):
    """Run one play of image_tag_info tasks (each ``(name, args)``) on localhost; results by name.

    Each task ignores errors, so one run covers failures too; the ansible.posix.json
    callback gives every task's full result.
    """
    play = [{
        'name': 'image_tag_info integration', 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
        'tasks': [{'name': name, 'gcli.offload.image_tag_info': args, 'ignore_errors': True}
                  for name, args in tasks],
    }]
    path = tmp_path / ('play-%s.yml' % uuid.uuid4().hex[:8])
    path.write_text(json.dumps(play))
    argv = ['ansible-playbook', str(path)] + (['--check'] if check else [])
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_NOCOLOR='1',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='false', ANSIBLE_LOCALHOST_WARNING='false',
               GCP_AUTH_KIND='accesstoken')
    env.pop('CLOUDSDK_AUTH_ACCESS_TOKEN', None)
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode in (0, 2), proc.stderr + proc.stdout
    out = json.loads(proc.stdout)
    results = {}
    for task in out['plays'][0]['tasks']:
        results[task['task']['name']] = task['hosts']['localhost']
    assert set(results) == {name for name, _args in tasks}
    return results


@pytest.fixture(scope='module')
def images(registry, oci_layout):
    """Push the test images once: several single-platform tags in OCI and Docker v2 form, a paged repository,
    OCI and Docker multi-platform indexes, and a branch tag."""
    ns = 'it%s' % uuid.uuid4().hex[:6]
    layout = None
    for tag, fmt in (('latest', None), ('v1', None), ('v2', 'v2s2'), ('feature-foo-bar', None)):
        layout = oci_layout('%s-%s' % (ns, tag), 'single %s %s' % (ns, tag))
        registry.push(layout, '%s-%s' % (ns, tag), '%s/single:%s' % (ns, tag), fmt=fmt)
    for tag in PAGED_TAGS:
        layout = oci_layout('%s-paged-%s' % (ns, tag), 'paged %s %s' % (ns, tag))
        registry.push(layout, '%s-paged-%s' % (ns, tag), '%s/paged:%s' % (ns, tag))
    layout = oci_layout('%s-multi' % ns, 'multi %s' % ns, platforms=('linux/amd64', 'linux/arm64'))
    registry.push(layout, '%s-multi' % ns, '%s/multi:oci' % ns)
    registry.push(layout, '%s-multi' % ns, '%s/multi:docker' % ns, fmt='v2s2')
    return {'ns': ns, 'single': '%s/%s/single' % (registry.host, ns), 'paged': '%s/%s/paged' % (registry.host, ns),
            'multi': '%s/%s/multi' % (registry.host, ns)}


def test_several_tags_match_skopeo(tmp_path, registry, images):
    ns = images['ns']
    tasks = [(tag, {'image': images['single'], 'tag': tag, 'plain_http': True}) for tag in ('latest', 'v1', 'v2')]
    tasks.append(('all', {'image': images['single'], 'plain_http': True, 'digests': 'all'}))
    res = run_tasks(tmp_path, tasks)
    skopeo_tags = registry.inspect('%s/single:latest' % ns)['RepoTags']
    for tag in ('latest', 'v1', 'v2'):
        r = res[tag]
        assert not r.get('failed'), r.get('msg')
        assert r['changed'] is False
        assert sorted(r['tags']) == sorted(skopeo_tags) == sorted(['latest', 'v1', 'v2', 'feature-foo-bar'])
        assert r['tag'] == r['requested_tag'] == tag and r['fallback_used'] is False
        expected = registry.raw_digest('%s/single:%s' % (ns, tag))
        assert r['digest'] == expected == registry.inspect('%s/single:%s' % (ns, tag))['Digest']
        assert r['reference'] == '%s@%s' % (images['single'], expected)
        assert r['tagged_reference'] == '%s:%s' % (images['single'], tag)
        assert r['platforms'] == []
        assert list(r['manifests']) == [tag], 'only the resolved tag is read by default'
    assert res['latest']['media_type'] == 'application/vnd.oci.image.manifest.v1+json'
    assert res['v2']['media_type'] == 'application/vnd.docker.distribution.manifest.v2+json'
    digests = {t: m['digest'] for t, m in res['all']['manifests'].items()}
    assert digests == {t: registry.raw_digest('%s/single:%s' % (ns, t)) for t in skopeo_tags}
    assert len(set(digests.values())) == 4
    assert 'digest' not in res['all'], 'no tag asked for: nothing resolved'


def test_tags_over_several_pages(tmp_path, registry, paging_proxy, images):
    # through the paging proxy: the real registry's tags, paged as the spec (and Artifact Registry) do
    paged_image = '%s/%s/paged' % (paging_proxy.host, images['ns'])
    paging_proxy.reset()
    res = run_tasks(tmp_path, [
        ('paged', {'image': paged_image, 'plain_http': True, 'page_size': 2, 'tag': 't06', 'digests': 'all'}),
        ('one page', {'image': paged_image, 'plain_http': True}),
    ])
    paged = res['paged']
    assert not paged.get('failed'), paged.get('msg')
    listed = subprocess.run(['skopeo', 'list-tags', '--tls-verify=false', 'docker://%s' % images['paged']],
                            check=True, capture_output=True, text=True).stdout
    assert sorted(paged['tags']) == sorted(json.loads(listed)['Tags']) == PAGED_TAGS
    assert paged['tags'] == PAGED_TAGS, 'pages joined in order, no tag twice'
    assert paged['pages'] == 4  # 7 tags, 2 a page
    assert paging_proxy.count('GET', '/tags/list?') == 4
    assert res['one page']['pages'] == 1 and sorted(res['one page']['tags']) == PAGED_TAGS
    assert paged['digest'] == registry.raw_digest('%s/paged:t06' % images['ns'])
    assert set(paged['manifests']) == set(PAGED_TAGS)
    for tag, manifest in paged['manifests'].items():
        assert manifest['digest'] == registry.raw_digest('%s/paged:%s' % (images['ns'], tag))


def test_resolving_one_tag_reads_one_manifest(tmp_path, paging_proxy, images):
    """7 tags: resolving one is one tags/list and one HEAD; an index adds one GET (its platforms)."""
    base = '%s/%s' % (paging_proxy.host, images['ns'])
    paging_proxy.reset()
    res = run_tasks(tmp_path, [('one', {'image': base + '/paged', 'tag': 't03', 'plain_http': True})])
    assert not res['one'].get('failed'), res['one'].get('msg')
    assert paging_proxy.count('GET', '/paged/tags/list') == 1
    assert paging_proxy.count('HEAD', '/paged/manifests/') == 1
    assert paging_proxy.count('GET', '/paged/manifests/') == 0
    paging_proxy.reset()
    res = run_tasks(tmp_path, [('index', {'image': base + '/multi', 'tag': 'oci', 'plain_http': True})])
    assert paging_proxy.count('HEAD', '/multi/manifests/oci') == 1
    assert paging_proxy.count('GET', '/multi/manifests/%s' % res['index']['digest']) == 1
    assert paging_proxy.count(None, '/manifests/') == 2


@pytest.mark.parametrize('tag, media_type', [
    ('oci', 'application/vnd.oci.image.index.v1+json'),
    ('docker', 'application/vnd.docker.distribution.manifest.list.v2+json'),
])
def test_multi_platform_index(tmp_path, registry, images, tag, media_type):
    res = run_tasks(tmp_path, [('index', {'image': images['multi'], 'tag': tag, 'plain_http': True})])['index']
    assert not res.get('failed'), res.get('msg')
    ref = '%s/multi:%s' % (images['ns'], tag)
    raw, _bytes = registry.inspect(ref, raw=True)
    assert res['media_type'] == media_type == raw['mediaType']
    assert res['digest'] == registry.raw_digest(ref) == registry.inspect(ref)['Digest']
    assert sorted(p['platform'] for p in res['platforms']) == ['linux/amd64', 'linux/arm64']
    assert {p['platform']: p['digest'] for p in res['platforms']} == {
        '%s/%s' % (m['platform']['os'], m['platform']['architecture']): m['digest'] for m in raw['manifests']}
    assert res['manifests'][tag]['platforms'] == res['platforms']


def test_branch_resolution_and_fallback(tmp_path, registry, images):
    img = images['single']
    res = run_tasks(tmp_path, [
        ('branch', {'image': img, 'branch': 'feature/Foo.Bar', 'plain_http': True}),
        ('main', {'image': img, 'branch': 'main', 'plain_http': True}),
        ('missing branch', {'image': img, 'branch': 'no/such-branch', 'plain_http': True}),
        ('fallback', {'image': img, 'branch': 'no/such-branch', 'plain_http': True, 'fallback_to_latest': True}),
        ('unknown tag', {'image': img, 'tag': 'nope', 'plain_http': True}),
        ('no latest', {'image': images['paged'], 'tag': 'nope', 'plain_http': True, 'fallback_to_latest': True}),
    ])
    ns = images['ns']
    assert res['branch']['tag'] == 'feature-foo-bar'
    assert res['branch']['digest'] == registry.raw_digest('%s/single:feature-foo-bar' % ns)
    assert res['main']['tag'] == 'latest'
    assert res['main']['digest'] == registry.raw_digest('%s/single:latest' % ns)
    assert res['missing branch']['failed']
    assert "branch 'no/such-branch' (tag 'no-such-branch')" in res['missing branch']['msg']
    assert 'fallback_to_latest' in res['missing branch']['msg']
    fb = res['fallback']
    assert not fb.get('failed') and fb['fallback_used'] is True
    assert fb['requested_tag'] == 'no-such-branch' and fb['tag'] == 'latest'
    assert fb['digest'] == res['main']['digest']
    assert res['unknown tag']['failed']
    # the whole message: which tag, which image, every tag the image has (in the registry's order), what to do
    head = "tag 'nope' of image %s not found on %s; the image has the tags: " % (img, img.split('/', 1)[0])
    tail = '; set fallback_to_latest: true to use latest instead'
    msg = res['unknown tag']['msg']
    assert msg.startswith(head) and msg.endswith(tail), msg
    assert sorted(msg[len(head):-len(tail)].split(', ')) == ['feature-foo-bar', 'latest', 'v1', 'v2']
    assert res['no latest']['failed'] and 'no latest tag to fall back to' in res['no latest']['msg']


def test_errors_are_readable(tmp_path, registry, images):
    closed = free_port()
    res = run_tasks(tmp_path, [
        ('unknown image', {'image': '%s/%s/nothing-here' % (registry.host, images['ns']), 'plain_http': True}),
        ('unreachable', {'image': '127.0.0.1:%d/x/y' % closed, 'plain_http': True, 'request_retries': 0}),
        ('https to http', {'image': images['single'], 'request_retries': 0}),
        ('bad tag', {'image': images['single'], 'tag': '-bad', 'plain_http': True}),
        ('tag in image', {'image': images['single'] + ':latest', 'plain_http': True}),
    ])
    r = res['unknown image']
    assert r['failed'] and 'image %s/%s/nothing-here not found' % (registry.host, images['ns']) in r['msg']
    assert 'NAME_UNKNOWN' in r['msg']
    r = res['unreachable']
    assert r['failed'] and 'cannot reach the registry at http://127.0.0.1:%d' % closed in r['msg']
    assert 'Traceback' not in r['msg'] and r.get('kind') == 'unreachable'
    r = res['https to http']
    assert r['failed'] and r['kind'] in ('tls', 'unreachable') and 'plain_http' in r['msg']
    assert res['bad tag']['failed'] and 'not a valid image tag' in res['bad tag']['msg']
    assert res['tag in image']['failed'] and 'carries a tag' in res['tag in image']['msg']


def test_check_mode_reads_the_same(tmp_path, registry, images):
    args = {'image': images['single'], 'tag': 'v1', 'plain_http': True}
    normal = run_tasks(tmp_path, [('r', args)])['r']
    checked = run_tasks(tmp_path, [('r', args)], check=True)['r']
    assert checked['changed'] is False and not checked.get('failed')
    assert checked['digest'] == normal['digest'] == registry.raw_digest('%s/single:v1' % images['ns'])


def test_tls_and_basic_auth(tmp_path, tls_registry, oci_layout):
    reg = tls_registry
    layout = oci_layout('tls-latest', 'tls image')
    reg.push(layout, 'tls-latest', 'secure/app:latest')
    img = '%s/secure/app' % reg.host
    good = {'image': img, 'tag': 'latest', 'username': reg.username, 'password': reg.password,
            'ca_path': reg.ca_path}
    res = run_tasks(tmp_path, [
        ('good', good),
        ('no ca', dict(good, ca_path=None)),
        ('no verify', dict(good, ca_path=None, validate_certs=False)),
        ('bad password', dict(good, password='wrong')),
        ('anonymous', {'image': img, 'tag': 'latest', 'ca_path': reg.ca_path}),
    ])
    assert not res['good'].get('failed'), res['good'].get('msg')
    assert res['good']['digest'] == reg.raw_digest('secure/app:latest')
    assert res['no ca']['failed'] and res['no ca']['kind'] == 'tls' and 'ca_path' in res['no ca']['msg']
    assert res['no verify']['digest'] == res['good']['digest']
    for name in ('bad password', 'anonymous'):
        assert res[name]['failed'] and res[name]['kind'] == 'denied', res[name]
        assert 'access denied' in res[name]['msg'] and 'HTTP 401' in res[name]['msg']
    assert reg.password not in json.dumps(res['bad password']) and 'wrong' not in res['bad password']['msg']


def test_google_credentials_end_to_end(tmp_path, paging_proxy, images, emulator):
    """registry_auth=google: a service-account key whose token_uri is the emulator gives an access token
    (google-auth, through the collection's gcp options) that the registry side checks with the emulator."""
    emulator.configure(require_token=True)

    def token_ok(token):
        r = requests.get(emulator.url + '/v1/projects/emu-project/triggers', timeout=10,
                         headers={'Authorization': 'Bearer ' + token})
        return r.status_code == 200
    key = json.dumps(emulator.service_account_info())
    image = '%s/%s/single' % (paging_proxy.host, images['ns'])
    common = {'image': image, 'tag': 'v1', 'plain_http': True, 'request_retries': 0}
    paging_proxy.token_check = token_ok
    try:
        res = run_tasks(tmp_path, [
            ('service account', dict(common, registry_auth='google', auth_kind='serviceaccount',
                                     service_account_contents=key)),
            ('forged token', dict(common, registry_auth='google', auth_kind='accesstoken', access_token='forged')),
            ('anonymous', dict(common, registry_auth='anonymous')),
        ])
    finally:
        paging_proxy.token_check = None
    ok = res['service account']
    assert not ok.get('failed'), ok.get('msg')
    assert ok['digest'] == res['service account']['manifests']['v1']['digest']
    assert any(e['path'] == '/token' for e in emulator.requests()), 'the token came from the key\'s token_uri'
    for name in ('forged token', 'anonymous'):
        assert res[name]['failed'] and res[name]['kind'] == 'denied', res[name].get('msg')
        assert 'roles/artifactregistry.reader' not in res[name]['msg']  # not a Google host: the generic hint
    assert 'forged' not in res['forged token']['msg']
