"""Units for the defects the bad-input corpus (tests/integration/bad_inputs.yml) found:
each rule refuses the input with a message naming the option, before anything runs."""

from __future__ import annotations

import os
import subprocess
import types

import pytest

from ansible_collections.gcli.offload.plugins.action import job_cleanup, worker_secret
from ansible_collections.gcli.offload.plugins.module_utils._gcp_instance import validate_options
from ansible_collections.gcli.offload.plugins.module_utils._image_tags import check_branch_name
from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    JobInputError,
    job_spec,
    validate_docker_bin,
    validate_env,
    validate_int,
    validate_timeout,
)
from ansible_collections.gcli.offload.plugins.module_utils._registry import RegistryError, parse_image
from ansible_collections.gcli.offload.plugins.module_utils import _gcp_firewall as fw
from ansible_collections.gcli.offload.plugins.modules import image_tag_info
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError
from ansible_collections.gcli.offload.plugins.module_utils import _gce_names as gce_names

HUGE = 'x' * 100000


# --- whole numbers: ASCII digits only, in range --------------------------------------------------------------------

@pytest.mark.parametrize('value', ['١٢٣', '1_000', ' 5', '5 ', '+5', '0x10', 1.5, True, None, [], 'soon', '', HUGE])
def test_validate_int_refuses_what_int_would_take_or_is_not_a_number(value):
    with pytest.raises(JobInputError, match='^grace: must be'):
        validate_int(value, 'grace', 0, 100, 'seconds')


@pytest.mark.parametrize('value', [-1, 101, 2 ** 64, '-1', '18446744073709551616'])
def test_validate_int_refuses_out_of_range(value):
    with pytest.raises(JobInputError, match='^grace: must be between 0 and 100 seconds'):
        validate_int(value, 'grace', 0, 100, 'seconds')


@pytest.mark.parametrize('value,expected', [(5, 5), ('5', 5), (5.0, 5), ('0', 0), (100, 100)])
def test_validate_int_accepts(value, expected):
    assert validate_int(value, 'grace', 0, 100) == expected


def test_timeout_in_another_scripts_digits_is_refused():
    # int('١٢٣') is 123: the job timeout took it before
    with pytest.raises(JobInputError, match='offload_job_timeout: must be a number of seconds'):
        validate_timeout('١٢٣')
    assert validate_timeout('3600') == 3600


def test_job_spec_checks_the_lock_grace_before_the_worker():
    base = dict(pr=1, action='review', data_root='/srv/offload', image='img:1')
    for bad in (-1, 2 ** 64, '١٢٠', 'long'):
        with pytest.raises(JobInputError, match='^offload_lock_grace: must be'):
            job_spec(lock_grace=bad, **base)
    assert job_spec(lock_grace='120', **base)['name'] == 'offload-1-review'


# --- the docker client, container environment ---------------------------------------------------------------------

@pytest.mark.parametrize('value', ['docker; touch /tmp/x', '$(touch /tmp/x)', 'docker\ntouch', '../../bin/sh',
                                   '/usr/../bin/sh', '', 'dоcker', '-v', HUGE, None, ['docker']])
def test_docker_bin_refused(value):
    with pytest.raises(JobInputError, match='^docker_bin: must be a command name or an absolute path'):
        validate_docker_bin(value)


@pytest.mark.parametrize('value', ['docker', 'podman', '/usr/bin/docker', '/opt/docker-24.0/bin/docker'])
def test_docker_bin_accepted(value):
    assert validate_docker_bin(value) == value


@pytest.mark.parametrize('env,message', [
    ({'A;touch x': 'v'}, 'variable names must match'),
    ({'1A': 'v'}, 'variable names must match'),
    ({'A': 'x\0y'}, 'the value of A must be a string without NUL'),
    ({'A': ['x']}, 'the value of A must be a string'),
    ('A=1', 'must be a dictionary'),
])
def test_env_refused(env, message):
    with pytest.raises(JobInputError, match='^env: ' + message):
        validate_env(env)


def test_env_accepted():
    assert validate_env({'A': 'x\ny', 'B_2': 3}) == {'A': 'x\ny', 'B_2': '3'}
    assert validate_env(None) == {}


# --- the worker plugins check their whole-number options and docker_bin first -------------------------------------

def _action(cls, args):
    action = cls.ActionModule.__new__(cls.ActionModule)
    action._task = types.SimpleNamespace(args=args, check_mode=False)
    spec_args = dict({'docker_bin': 'docker'}, **args)
    action.validate_argument_spec = lambda argument_spec: (None, dict(spec_args))
    return action


@pytest.mark.parametrize('grace', [-1, 2 ** 64, '٦٠٠'])
def test_job_cleanup_refuses_a_bad_grace_before_any_command(grace):
    # a negative grace would have removed the worktrees of runs still preparing them
    action = _action(job_cleanup, {'scope': 'reconcile', 'grace': grace})
    with pytest.raises(JobInputError, match='^grace: must be'):
        action._validated_args()


def test_worker_plugins_refuse_a_bad_docker_bin_before_any_command():
    action = _action(job_cleanup, {'scope': 'reconcile', 'docker_bin': '../../bin/sh'})
    with pytest.raises(JobInputError, match='^docker_bin: '):
        action._validated_args()


def test_worker_secret_refuses_a_bad_owner():
    action = _action(worker_secret, {'path': '/dev/shm/x/t', 'content': 'c', 'owner': -1})
    with pytest.raises(JobInputError, match='^owner: must be between 0 and'):
        action._validated_args()


def test_worker_secret_makes_no_directory_off_tmpfs(tmp_path):
    """The write script checks the file system of the nearest existing directory before mkdir."""
    target = tmp_path / 'not' / 'made' / 'gh_token'
    proc = subprocess.run(['sh', '-c', worker_secret.WRITE_SCRIPT, 'secret', str(target), str(os.getuid())],
                          input='token', capture_output=True, text=True, check=False)
    if 'tmpfs' in subprocess.run(['stat', '-f', '-c', '%T', str(tmp_path)], capture_output=True, text=True,
                                 check=True).stdout:
        pytest.skip('the temporary directory is on a tmpfs here')
    assert proc.returncode == 3 and 'not tmpfs' in proc.stdout
    assert not (tmp_path / 'not').exists()


# --- cos_instance ---------------------------------------------------------------------------------------------------

def _instance(**kw):
    params = dict(name='w1', zone='us-central1-a', state='present', machine_type='e2-standard-4', labels={},
                  tags=[], worker_service_account='default', service_account_scopes=[], network='default',
                  subnetwork=None, boot_disk_size_gb=10, data_disk={}, cos_image=None, idle_stop_minutes=0,
                  container={'image': 'us-docker.pkg.dev/p/r/m:latest'}, project='emu-project')
    params.update(kw)
    return validate_options(params)


@pytest.mark.parametrize('kw,message', [
    (dict(boot_disk_size_gb=2 ** 64), '^boot_disk_size_gb: must be between 10 and 65536 GB'),
    (dict(data_disk={'size_gb': -1}), '^data_disk.size_gb: must be between 1 and 65536 GB'),
    (dict(data_disk={'size_gb': 2 ** 64}), '^data_disk.size_gb: must be between'),
    (dict(idle_stop_minutes=-5), '^idle_stop_minutes: must be between 0 and'),
    (dict(idle_stop_minutes=2 ** 64), '^idle_stop_minutes: must be between 0 and'),
    (dict(labels={'a;b': 'c'}), '^labels: keys must be'),
    (dict(labels={'a': HUGE}), '^labels: the value of a must be'),
    (dict(labels={'owner': 'jоhn'}), '^labels: the value of owner must be'),
    (dict(network='default;x'), '^network: must be a Compute Engine resource'),
    (dict(network='projects/p/global/networks/../x'), '^network: must not contain'),
    (dict(subnetwork='../../x'), '^subnetwork: must not contain'),
    (dict(worker_service_account='sa@x\nfoo'), '^worker_service_account: must be a service account email'),
    (dict(project='../../other'), '^project: must be a Google Cloud project ID'),
    (dict(name=HUGE), r"^name: must be a Compute Engine name .*got 'x{50,60}\.\.\.$"),
])
def test_cos_instance_refuses(kw, message):
    with pytest.raises(JobInputError, match=message):
        _instance(**kw)


def test_cos_instance_accepts_references_and_labels():
    wanted = _instance(network='projects/p/global/networks/net-1', labels={'type': 'offload-worker', 'k': ''},
                       worker_service_account='w@p.iam.gserviceaccount.com', data_disk={'size_gb': 300},
                       cos_image='https://www.googleapis.com/compute/v1/projects/cos-cloud/global/images/cos-1',
                       idle_stop_minutes=60, project='example.com:my-project')
    assert wanted['data_disk']['size_gb'] == 300 and wanted['labels'] == {'type': 'offload-worker', 'k': ''}


# --- compute_firewall ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['../../routes/x', '', None, HUGE])
def test_firewall_name_checked_for_absent_too(name):
    # state=absent sent the name into the request's URL unchecked (a protobuf error, or a traversal)
    with pytest.raises(InputError, match='^name: '):
        fw.check_name(name)


def test_firewall_description_limited():
    params = dict(name='r', network='default', source_ranges=['35.235.240.0/20'], allow_any_source=False,
                  ports=['22'], target_tags=['t'], allow_all_instances=False, priority=1000, description=HUGE)
    with pytest.raises(InputError, match='^description: 100000 characters'):
        fw.desired_rule(params)


# --- image_tag_info --------------------------------------------------------------------------------------------------

def test_huge_image_name_is_not_echoed():
    with pytest.raises(RegistryError) as info:
        parse_image('registry.example.com/' + HUGE)
    assert len(str(info.value)) < 300


@pytest.mark.parametrize('branch', ['main\ntouch x', 'a b', 'x\x7f', 'x' * 2000])
def test_branch_names_git_cannot_have_are_refused(branch):
    with pytest.raises(ValueError, match='is not a git branch name'):
        check_branch_name(branch)
    with pytest.raises(RegistryError, match='branch: '):
        image_tag_info.requested_tag({'tag': None, 'branch': branch, 'pull_request': False})


@pytest.mark.parametrize('option,value', [('parallel', 0), ('parallel', 2 ** 64), ('page_size', -1)])
def test_image_tag_info_counts_in_range(option, value):
    params = {'image': 'registry.example.com/p/img', 'tag': 'latest', 'branch': None, 'parallel': 8,
              'page_size': None, option: value}

    class NoClient:
        def list_tags(self, *a, **kw):
            raise AssertionError('a request was made')
    with pytest.raises(RegistryError, match='^%s: must be' % option):
        image_tag_info.resolve(params, client=NoClient(), policy=object())


def test_gce_reference_rule():
    assert gce_names.validate_reference('default', 'network') == 'default'
    with pytest.raises(JobInputError):
        gce_names.validate_reference('https://x/compute/v1//networks/n', 'network')
