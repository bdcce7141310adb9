"""provision.yml deploys the maintainer image by digest, resolved with image_tag_info (issue 4)."""

from __future__ import annotations

from test_provision import PROJECT, ZONE, api, provision  # noqa: F401 pylint: disable=unused-import


def metadata(instance):
    return dict((i['key'], i['value']) for i in instance['metadata']['items'])


def test_provision_deploys_the_maintainer_image_by_digest(provision, emulator, registry, oci_layout):  # noqa: F811
    layout = oci_layout('pin', 'the maintainer image, pinned')
    registry.push(layout, 'pin', 'offload/maintainer:v1')
    digest = registry.raw_digest('offload/maintainer:v1')
    image = '%s/offload/maintainer' % registry.host
    proc = provision(offload_maintainer_image=image + ':v1', offload_maintainer_image_pin=True,
                     offload_registry_plain_http=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    instance = api(emulator, 'zones/%s/instances/%s' % (ZONE, provision.name))
    user_data = metadata(instance)['user-data']
    assert '%s@%s' % (image, digest) in user_data
    assert '%s:v1' % image not in user_data

    # a reference already pinned is deployed as given, with no registry lookup
    pinned = '%s@%s' % (image, digest)
    again = provision(offload_maintainer_image=pinned, offload_maintainer_image_pin=True,
                      offload_registry_plain_http=True)
    assert again.returncode == 0, again.stdout
    assert 'Resolve the maintainer image' in again.stdout and 'skipping' in again.stdout


def test_an_unknown_tag_fails_before_anything_is_created(provision, emulator, registry, oci_layout):  # noqa: F811
    # the repository exists (whatever ran before): only the tag is unknown
    registry.push(oci_layout('pin', 'the maintainer image, pinned'), 'pin', 'offload/maintainer:v1')
    proc = provision(offload_maintainer_image='%s/offload/maintainer:no-such-tag' % registry.host,
                     offload_maintainer_image_pin=True, offload_registry_plain_http=True)
    assert proc.returncode != 0
    assert 'no-such-tag' in proc.stdout
    assert api(emulator, 'zones/%s/instances/%s' % (ZONE, provision.name)) is None
    assert emulator.mutating_requests() == []  # not even the firewall rule
