#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: image_tag_info
short_description: List an image's tags and resolve a tag or branch to a digest-pinned reference
version_added: 0.1.0
description:
  - Lists the tags of an image through the Docker Registry HTTP API v2 (the OCI distribution API), which Artifact
    Registry (C(LOCATION-docker.pkg.dev)), C(gcr.io) and any other OCI registry speak, following C(Link) header
    pagination.
  - Resolves one tag, or a branch name through the collection's branch-to-tag rule (C(main) gives C(latest)),
    optionally falling back to C(latest), to its manifest digest, and returns the digest-pinned reference
    C(IMAGE@sha256:...) that C(provision.yml) deploys.
  - Reads single manifests (OCI, Docker v2) and multi-platform ones (OCI image index, Docker manifest list), for which
    it returns the platforms.
  - To resolve one tag it lists the tags and sends one C(HEAD) for the manifest (plus one C(GET) when it is a
    multi-platform index, for its platforms); it reads every tag's manifest only with O(digests=all).
  - Read-only; C(changed) is always false.
options:
  image:
    description:
      - The image name without tag or digest, C(HOST[:PORT]/PATH), e.g. C(us-docker.pkg.dev/PROJECT/REPOSITORY/maintainer)
        or C(127.0.0.1:5000/offload/maintainer). A name without a registry host is a Docker Hub image.
    type: str
    required: true
  tag:
    description:
      - The tag to resolve.
      - Mutually exclusive with O(branch). With neither, the module only lists tags.
    type: str
  branch:
    description:
      - A branch name to resolve through the branch-to-tag rule the image pipeline uses (C(main) gives C(latest),
        C(feature/Foo.Bar) gives C(feature-foo-bar); see the collection's C(docs/image.md)).
    type: str
  pull_request:
    description:
      - Resolve O(branch) as a pull request's head branch, that is to the tag the pull-request trigger's build pushes.
        It is the branch's tag, except for a head branch called C(main) (a fork's main), whose pull-request builds are
        tagged C(main), never C(latest).
    type: bool
    default: false
  fallback_to_latest:
    description:
      - When the tag (given, or made from O(branch)) does not exist, resolve C(latest) instead of failing.
    type: bool
    default: false
  digests:
    description:
      - V(resolved) reads only the resolved tag's manifest. V(all) reads every tag's manifest, so that RV(manifests)
        holds each tag's digest (one request per tag, O(parallel) at a time).
    type: str
    choices: [resolved, all]
    default: resolved
  page_size:
    description:
      - How many tags to ask for per page (the C(n) parameter of C(tags/list)); the default lets the registry choose.
    type: int
  parallel:
    description: With O(digests=all), how many manifests to read at once.
    type: int
    default: 8
  registry_auth:
    description:
      - How to authenticate to the registry.
      - V(auto) uses Google credentials (the O(auth_kind) options) for C(*-docker.pkg.dev), C(gcr.io) and C(*.gcr.io),
        basic credentials when O(username) is set, anonymous access otherwise.
      - V(google) sends a Google OAuth2 access token (and exchanges it as C(oauth2accesstoken) when the registry asks
        for its token service). V(basic) sends O(username)/O(password), to the registry or to its token service.
        V(anonymous) sends nothing, but still follows an anonymous token challenge.
    type: str
    choices: [auto, google, basic, anonymous]
    default: auto
  username:
    description: User name for basic authentication (or for the registry's token service).
    type: str
  password:
    description: Password or token for basic authentication.
    type: str
  validate_certs:
    description:
      - Verify the registry's TLS certificate. Turning it off is for tests only.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM bundle of the certificate authorities to trust for the registry instead of the system's.
    type: path
  plain_http:
    description:
      - Talk plain HTTP instead of HTTPS, for a registry on loopback without TLS. Credentials are never sent over
        plain HTTP to a host that is not a loopback address.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - gcli.offload.gcp
attributes:
  check_mode:
    support: full
    details: Read-only; it runs the same in check mode.
  diff_mode:
    support: N/A
    details: Read-only.
  action_group:
    support: full
    membership: [gcli.offload.gcp]
  platform:
    platforms: posix
notes:
  - Only O(auth_kind) and its credential options, O(scopes) and O(request_retries) apply to this module; O(project),
    O(api_endpoint) and O(timeout) are ignored (the image name holds the project, and each registry request has its
    own 60 second limit).
  - Requests answered with HTTP 429 or 5xx, or not answered, are retried O(request_retries) times with backoff.
seealso:
  - name: Docker Registry HTTP API V2
    description: The API the module speaks.
    link: https://distribution.github.io/distribution/spec/api/
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: The digest of the maintainer image's latest tag (Artifact Registry, application default credentials)
  gcli.offload.image_tag_info:
    image: us-docker.pkg.dev/my-project/offload/maintainer
    tag: latest
  register: maintainer_image

- name: Deploy exactly that image
  ansible.builtin.debug:
    msg: "{{ maintainer_image.reference }}"  # us-docker.pkg.dev/my-project/offload/maintainer@sha256:...

- name: The image built for a pull request's branch, or latest when that branch has no image yet
  gcli.offload.image_tag_info:
    image: us-docker.pkg.dev/my-project/offload/maintainer
    branch: feature/faster-build
    fallback_to_latest: true
    auth_kind: serviceaccount
    service_account_file: /etc/offload/sa.json

- name: Every tag with its digest, from a local registry without TLS
  gcli.offload.image_tag_info:
    image: 127.0.0.1:5000/offload/maintainer
    plain_http: true
    digests: all
  register: all_tags

- name: A private registry with basic credentials and its own CA
  gcli.offload.image_tag_info:
    image: registry.example.com/team/maintainer
    tag: v1.2.0
    username: robot
    password: "{{ registry_password }}"
    ca_path: /etc/ssl/registry-ca.pem
'''

RETURN = r'''
image:
  description: The image name, as given.
  returned: always
  type: str
  sample: us-docker.pkg.dev/my-project/offload/maintainer
registry:
  description: The registry host (and port).
  returned: always
  type: str
  sample: us-docker.pkg.dev
repository:
  description: The repository path on the registry.
  returned: always
  type: str
  sample: my-project/offload/maintainer
tags:
  description: Every tag of the image, in the registry's order.
  returned: always
  type: list
  elements: str
  sample: [latest, feature-x, 3f2a9c1]
requested_tag:
  description: The tag asked for (O(tag), or the tag made from O(branch)), before any fallback.
  returned: when O(tag) or O(branch) is set
  type: str
  sample: feature-faster-build
tag:
  description: The tag resolved (V(latest) when the fallback was used).
  returned: when O(tag) or O(branch) is set
  type: str
  sample: latest
fallback_used:
  description: Whether the requested tag did not exist and V(latest) was resolved instead.
  returned: when O(tag) or O(branch) is set
  type: bool
digest:
  description: The resolved tag's manifest digest (of the index, for a multi-platform image).
  returned: when O(tag) or O(branch) is set
  type: str
  sample: sha256:0437e190a667381dcf492b2b3771a2e726c6a07474ed4592e5673d537e235e92
media_type:
  description: The resolved manifest's media type.
  returned: when O(tag) or O(branch) is set
  type: str
  sample: application/vnd.oci.image.index.v1+json
platforms:
  description: The platforms of a multi-platform image (empty for a single-platform one).
  returned: when O(tag) or O(branch) is set
  type: list
  elements: dict
  contains:
    platform:
      description: C(os/architecture[/variant]).
      type: str
      sample: linux/arm64
    os:
      description: The operating system.
      type: str
    architecture:
      description: The CPU architecture.
      type: str
    variant:
      description: The CPU variant, if any.
      type: str
    digest:
      description: That platform's manifest digest.
      type: str
    media_type:
      description: That platform's manifest media type.
      type: str
reference:
  description: The digest-pinned reference to deploy, C(IMAGE@DIGEST).
  returned: when O(tag) or O(branch) is set
  type: str
  sample: us-docker.pkg.dev/my-project/offload/maintainer@sha256:0437e190a667381dcf492b2b3771a2e726c6a07474ed4592e5673d537e235e92
tagged_reference:
  description: C(IMAGE:TAG) of the resolved tag.
  returned: when O(tag) or O(branch) is set
  type: str
  sample: us-docker.pkg.dev/my-project/offload/maintainer:latest
manifests:
  description:
    - The manifests read, by tag (only the resolved tag unless O(digests=all)); each has C(digest), C(media_type),
      C(size) when known, and C(platforms) for a multi-platform image.
  returned: always
  type: dict
  sample:
    latest:
      digest: sha256:0437e190a667381dcf492b2b3771a2e726c6a07474ed4592e5673d537e235e92
      media_type: application/vnd.oci.image.index.v1+json
      platforms: [{platform: linux/amd64, digest: "sha256:0369..."}]
pages:
  description: How many pages the tag list took.
  returned: always
  type: int
  sample: 1
kind:
  description: On failure, what failed.
  returned: on failure
  type: str
  choices: [not_found, denied, unreachable, tls, protocol, invalid, auth]
  sample: not_found
'''

import concurrent.futures

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import (
    GcpAuthError,
    access_token,
    gcp_argument_spec,
    get_credentials,
)
from ansible_collections.gcli.offload.plugins.module_utils._gcp_retry import RetryPolicy
from ansible_collections.gcli.offload.plugins.module_utils._image_tags import (
    LATEST,
    branch_to_tag,
    check_branch_name,
    is_valid_tag,
    pull_request_tag,
)
from ansible_collections.gcli.offload.plugins.module_utils._registry import (
    HAS_REQUESTS,
    RegistryClient,
    RegistryError,
    is_google_registry,
    parse_image,
    pinned_reference,
)
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError, shown, validate_int

REQUEST_TIMEOUT = 60.0
MAX_PARALLEL = 32
MAX_PAGE_SIZE = 10000


def argument_spec():
    spec = gcp_argument_spec()
    spec.update(
        image=dict(type='str', required=True),
        tag=dict(type='str'),
        branch=dict(type='str'),
        pull_request=dict(type='bool', default=False),
        fallback_to_latest=dict(type='bool', default=False),
        digests=dict(type='str', choices=['resolved', 'all'], default='resolved'),
        page_size=dict(type='int'),
        parallel=dict(type='int', default=8),
        registry_auth=dict(type='str', choices=['auto', 'google', 'basic', 'anonymous'], default='auto'),
        username=dict(type='str'),
        password=dict(type='str', no_log=True),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        plain_http=dict(type='bool', default=False),
    )
    return spec


def requested_tag(params):
    """The tag asked for: O(tag) checked, or O(branch) through the shared rule; None when neither."""
    if params.get('tag') is not None:
        tag = params['tag']
        if not is_valid_tag(tag):
            raise RegistryError('invalid', 'tag %s is not a valid image tag (1 to 128 of letters, digits, "_", "." '
                                'and "-", not starting with "." or "-"); to resolve a branch name use the branch '
                                'option' % shown(tag))
        return tag
    if params.get('branch') is not None:
        if not isinstance(params['branch'], str) or params['branch'] == '':
            raise RegistryError('invalid', 'branch must be a non-empty branch name')
        try:
            check_branch_name(params['branch'])
            rule = pull_request_tag if params.get('pull_request') else branch_to_tag
            return rule(params['branch'])
        except ValueError as exc:
            raise RegistryError('invalid', 'branch: %s' % exc)
    return None


def auth_mode(params, registry):
    mode = params['registry_auth']
    if mode == 'auto':
        if params.get('username'):
            return 'basic'
        return 'google' if is_google_registry(registry) else 'anonymous'
    return mode


def make_client(params, name, policy):
    mode = auth_mode(params, name.registry)
    username = password = token_provider = None
    if mode == 'basic':
        if not params.get('username') or params.get('password') is None:
            raise RegistryError('invalid', 'registry_auth=basic needs username and password')
        username, password = params['username'], params['password']
    elif mode == 'google':
        def token_provider():
            # project is not used to read a registry: the image name holds it
            credentials, _project = get_credentials(params, need_project=False)
            return access_token(credentials)
    return RegistryClient(name.registry if name.registry != 'docker.io' else name.api_host(),
                          plain_http=params['plain_http'], validate_certs=params['validate_certs'],
                          ca_path=params.get('ca_path'), username=username, password=password,
                          token_provider=token_provider, timeout=REQUEST_TIMEOUT, retry_policy=policy)


def resolve(params, client=None, policy=None):
    """Run the module's logic; returns the result dict (raises RegistryError/GcpAuthError)."""
    name = parse_image(params['image'])
    want = requested_tag(params)
    for option, maximum in (('parallel', MAX_PARALLEL), ('page_size', MAX_PAGE_SIZE)):
        if params.get(option) is not None:
            try:
                validate_int(params[option], option, 1, maximum)
            except InputError as exc:
                raise RegistryError('invalid', str(exc))
    if policy is None:
        policy = RetryPolicy.from_params(params)
    if client is None:
        client = make_client(params, name, policy)
    tags, pages = client.list_tags(name.repository, page_size=params.get('page_size'), image=name.display)
    result = dict(changed=False, image=name.display, registry=name.registry, repository=name.repository,
                  tags=tags, pages=pages, manifests={})

    if want is not None:
        tag = want
        fallback = False
        if want not in tags:
            if params['fallback_to_latest'] and LATEST in tags:
                tag, fallback = LATEST, True
            else:
                raise RegistryError('not_found', unknown_tag_message(params, name, want, tags))
        manifest = client.manifest(name.repository, tag, head=True, image=name.display)
        if manifest.is_index:
            manifest = client.manifest(name.repository, manifest.digest, head=False, image=name.display)
        result['manifests'][tag] = manifest.as_dict()
        result.update(requested_tag=want, tag=tag, fallback_used=fallback, digest=manifest.digest,
                      media_type=manifest.media_type, platforms=manifest.platforms(),
                      reference=pinned_reference(name.display, manifest.digest),
                      tagged_reference='%s:%s' % (name.display, tag))

    if params['digests'] == 'all':
        todo = [t for t in tags if t not in result['manifests']]
        workers = max(1, min(int(params.get('parallel') or 1), 32, len(todo) or 1))

        def read(tag):
            return tag, client.manifest(name.repository, tag, head=False, image=name.display)
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            for tag, manifest in pool.map(read, todo):
                result['manifests'][tag] = manifest.as_dict()
        result['manifests'] = {t: result['manifests'][t] for t in tags if t in result['manifests']}
    return result


def unknown_tag_message(params, name, want, tags):
    source = 'tag %r' % want
    if params.get('tag') is None:
        source = 'branch %r (tag %r)' % (params['branch'], want)
    shown = ', '.join(tags[:10]) + (', ... (%d in all)' % len(tags) if len(tags) > 10 else '')
    text = '%s of image %s not found on %s; the image has %s' % (
        source, name.display, name.registry, ('the tags: ' + shown) if tags else 'no tags')
    if params['fallback_to_latest']:
        text += ', and no latest tag to fall back to'
    elif LATEST in tags:
        text += '; set fallback_to_latest: true to use latest instead'
    return text


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[('tag', 'branch')], required_by={'password': 'username'})
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'))
    try:
        result = resolve(module.params)
    except (RegistryError, GcpAuthError) as exc:
        module.fail_json(msg=str(exc), kind=getattr(exc, 'kind', 'auth'))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
