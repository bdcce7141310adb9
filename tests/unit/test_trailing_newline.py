"""Python's `$` also matches before a trailing newline: every input rule must refuse
a value that is right but for a final "\\n" (it would reach a shell, an SSH config
or a systemd unit as a line break). The rules anchor with \\Z."""

from __future__ import annotations

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _cloud_init as ci
from ansible_collections.gcli.offload.plugins.module_utils import _jobs as jobs
from ansible_collections.gcli.offload.plugins.module_utils._gcp_auth import validate_project
from ansible_collections.gcli.offload.plugins.module_utils._gcp_firewall import check_name
from ansible_collections.gcli.offload.plugins.module_utils._image_ref import split_reference
from ansible_collections.gcli.offload.plugins.module_utils._registry import RegistryError, parse_image
from ansible_collections.gcli.offload.plugins.module_utils._worker_vm import worker_vm_spec
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError
from ansible_collections.gcli.offload.plugins.module_utils import _gce_names as gce_names

CHECKS = [
    (lambda v: jobs.validate_worker_path(v, 'offload_data_root'), '/mnt/disks/offload'),
    (jobs.validate_image, 'us-docker.pkg.dev/p/r/maintainer:latest'),
    (jobs.validate_repo_url, 'https://github.com/me/repo.git'),
    (lambda v: jobs.validate_container_name(v, 'name'), 'maintainer-worker'),
    (jobs.validate_pr, '12'),
    (lambda v: jobs.validate_int(v, 'offload_job_timeout', 1, 10), '5'),
    (jobs.validate_docker_bin, 'docker'),
    (lambda v: gce_names.validate_name(v, 'name'), 'gcli-offload-me'),
    (lambda v: gce_names.validate_reference(v, 'network'), 'default'),
    (lambda v: gce_names.validate_email(v, 'service_account_email'), 'sa@p.iam.gserviceaccount.com'),
    (lambda v: gce_names.validate_labels({'owner': v}), 'me'),
    (validate_project, 'my-project'),
    (check_name, 'gcli-offload-ssh-from-iap'),
    (split_reference, "us-docker.pkg.dev/p/r/maintainer:latest"),
    (parse_image, "us-docker.pkg.dev/p/r/maintainer"),
    (lambda v: worker_vm_spec(worker_name='w1', maintainer_image='img:1', ssh_user=v), 'me'),
    (lambda v: worker_vm_spec(worker_name='w1', maintainer_image='img:1', ssh_user='me', zone=v), 'us-central1-a'),
    (lambda v: worker_vm_spec(worker_name='w1', maintainer_image='img:1', ssh_user='me', ssh_alias=v), 'gcli-worker'),
]


@pytest.mark.parametrize('check,good', CHECKS, ids=[str(i) for i in range(len(CHECKS))])
def test_a_trailing_newline_is_refused(check, good):
    check(good)  # the value itself passes
    with pytest.raises((InputError, RegistryError)):
        check(good + '\n')


def test_a_systemd_argument_with_a_trailing_newline_is_quoted():
    """An argument written into the cloud-init systemd unit: a plain one stays bare,
    one ending in a newline is not taken for plain."""
    assert ci._SYSTEMD_PLAIN_RE.match('/usr/bin/docker')
    assert not ci._SYSTEMD_PLAIN_RE.match('/usr/bin/docker\n')
