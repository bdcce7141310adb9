"""Units: the Google-side input checks refuse a huge value without echoing it whole."""

from __future__ import annotations

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _cloud_init as ci
from ansible_collections.gcli.offload.plugins.module_utils import _cloudbuild as cb
from ansible_collections.gcli.offload.plugins.module_utils import _gcp_auth as auth
from ansible_collections.gcli.offload.plugins.module_utils import _gcp_firewall as fw
from ansible_collections.gcli.offload.plugins.module_utils import _image_tags as tags
from ansible_collections.gcli.offload.plugins.module_utils._jobs import JobInputError
from ansible_collections.gcli.offload.plugins.module_utils._registry import RegistryError
from ansible_collections.gcli.offload.plugins.modules import image_tag_info
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError
from ansible_collections.gcli.offload.plugins.module_utils import _gce_names as gce_names

HUGE = 'x' * 100000
RULE = {'name': 'r1', 'network': 'default', 'target_tags': ['t'], 'allow_all_instances': False, 'priority': 1000,
        'description': None}

CHECKS = {
    'zone': (gce_names.validate_zone, JobInputError),
    'firewall source_ranges': (lambda v: fw.normalize_ranges([v], False), InputError),
    'firewall ports': (lambda v: fw.normalize_ports([v]), InputError),
    'firewall network': (lambda v: fw.desired_rule(dict(RULE, network=v + ';')), InputError),
    'firewall target_tags': (lambda v: fw.desired_rule(dict(RULE, target_tags=[v + ';'])), InputError),
    'firewall priority': (lambda v: fw.desired_rule(dict(RULE, priority=-int('9' * 4000))), InputError),
    'compute api_endpoint': (lambda v: auth.compute_endpoint('http://h/' + v), auth.GcpAuthError),
    'cloudbuild api_endpoint': (lambda v: cb.cloudbuild_endpoint('http://h/' + v), InputError),
    'scopes': (lambda v: auth.expand_scopes([v + ' ']), JobInputError),
    'container restart_policy': (lambda v: ci.normalize_container({'image': 'busybox', 'restart_policy': v}),
                                 JobInputError),
    'container env name': (lambda v: ci.normalize_container({'image': 'busybox', 'env': {v + '-': '1'}}),
                           JobInputError),
    'image tag': (lambda v: image_tag_info.requested_tag({'tag': v}), RegistryError),
    'short sha': (tags.check_short_sha, ValueError),
    'branch': (lambda v: tags.branch_to_tag([v]), ValueError),
}


@pytest.mark.parametrize('check', sorted(CHECKS))
def test_a_huge_value_is_refused_and_shown_cut(check):
    function, error = CHECKS[check]
    with pytest.raises(error) as info:
        function(HUGE)
    assert len(str(info.value)) < 800, str(info.value)[:300]
