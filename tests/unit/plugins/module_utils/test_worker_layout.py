"""Units for module_utils/_worker_layout.py: the one source of a job's paths on the
worker, the maintainer's name and the labels, and the places that use it."""

from __future__ import annotations

import importlib

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _worker_layout as layout
from ansible_collections.gcli.offload.plugins.module_utils._jobs import DEV, job_spec


def test_a_jobs_paths_under_the_data_root():
    assert layout.job_paths('/mnt/disks/offload', 'offload-7-fix') == {
        'main_dir': '/mnt/disks/offload/main',
        'worktree_dir': '/mnt/disks/offload/worktrees/offload-7-fix',
        'gitdir': '/mnt/disks/offload/main/.git/worktrees/offload-7-fix',
        'log_dir': '/mnt/disks/offload/logs/offload-7-fix',
    }
    assert layout.data_dir(DEV, layout.GEMINI) == DEV + '/gemini'


def test_the_job_spec_takes_its_paths_from_the_layout():
    spec = job_spec(7, 'fix', '/srv/offload', 'demo:latest')
    paths = layout.job_paths('/srv/offload', spec['name'])
    assert {k: spec[k] for k in paths} == paths
    assert spec['gemini_dir'] == '/srv/offload/gemini'


def test_the_scripts_are_given_the_same_layout():
    from ansible_collections.gcli.offload.plugins.action import job_container, job_log, maintainer_container
    from ansible_collections.gcli.offload.plugins.plugin_utils._docker_cli import GIT_SCRIPT
    assert 'main=$dev/main\n' in GIT_SCRIPT and 'wt=$dev/worktrees/$job\n' in GIT_SCRIPT
    assert 'admin=$common/worktrees/$job\n' in GIT_SCRIPT  # common=$main/.git: GIT_ADMIN_DIRS
    assert layout.GIT_ADMIN_DIRS == layout.MAIN + '/.git/worktrees'
    assert 'for part in logs "$2"; do' in job_log.NEWEST and 'echo "log=$1/logs/$2/$log"' in job_log.NEWEST
    from ansible_collections.gcli.offload.plugins.plugin_utils import _supervisor
    assert 'for part in logs "$2"; do' in job_container.PRECHECK_SCRIPT + _supervisor.LAUNCH_SCRIPT
    assert 'for d in "$1"/logs/offload-*; do' in _supervisor.RUNS_SCRIPT
    assert 'probe=%s/worktrees/' % DEV in maintainer_container.DIRS_SCRIPT
    assert maintainer_container.ActionModule._data_dirs() == [DEV + '/main', DEV + '/worktrees', DEV + '/gemini']


@pytest.mark.parametrize('plugin, option', [
    ('maintainer_container', 'name'), ('git_worktree', 'maintainer'), ('job_cleanup', 'maintainer'),
    ('job_info', 'maintainer'), ('attach_command', 'maintainer'), ('worker_ready', 'container'),
])
def test_every_action_defaults_to_the_one_maintainer_name(plugin, option):
    action = importlib.import_module('ansible_collections.gcli.offload.plugins.action.' + plugin)
    assert action.ActionModule.ARGUMENT_SPEC[option]['default'] == layout.MAINTAINER_NAME == 'maintainer-worker'


def test_the_vm_and_cloud_init_default_to_it_too():
    from ansible_collections.gcli.offload.plugins.module_utils import _cloud_init, _worker_vm
    assert _cloud_init.DEFAULT_CONTAINER_NAME == _worker_vm.DEFAULTS['maintainer_name'] == layout.MAINTAINER_NAME


def test_one_spec_label_for_the_maintainer_and_the_proxy():
    from ansible_collections.gcli.offload.plugins.action import maintainer_container
    from ansible_collections.gcli.offload.plugins.plugin_utils import _job_network
    assert maintainer_container.SPEC_LABEL is _job_network.SPEC_LABEL is layout.SPEC_LABEL
    assert layout.SPEC_LABEL == 'gcli.offload.spec' and layout.MANAGED_LABEL == 'gcli.offload.managed'
    assert '"gcli.offload.spec"' in _job_network.NETWORK_SCRIPT
