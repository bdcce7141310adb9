"""Units for the worker's scripts (plugins/plugin_utils/scripts/) and their loader: each
file is checked by shellcheck (here and in `make lint`), every placeholder is filled
from the collection's constants, and what is shipped is the file's text."""

from __future__ import annotations

import ast
import glob
import os
import shutil
import subprocess

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _idle_stop, _jobs
from ansible_collections.gcli.offload.plugins.plugin_utils import _scripts

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SHELL_SCRIPTS = sorted(glob.glob(os.path.join(_scripts.DIRECTORY, '*.sh')))


def shellcheck(*paths):
    assert shutil.which('shellcheck'), 'shellcheck is not installed (tests/setup/apt-deps installs it)'
    return subprocess.run(['shellcheck', '--shell=sh', *paths], capture_output=True, text=True, check=False)


def test_the_scripts_are_found():
    names = {os.path.basename(p) for p in SHELL_SCRIPTS}
    assert {'git.sh', 'job_supervisor.sh', 'log_dir.sh', 'network.sh', 'maintainer_check.sh', 'secret_write.sh'} <= names


@pytest.mark.parametrize('path', SHELL_SCRIPTS, ids=os.path.basename)
def test_every_shell_script_passes_shellcheck(path):
    proc = shellcheck(path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shellcheck_finds_a_fault_in_such_a_file(tmp_path):
    """The check above can fail: an unquoted expansion in a script is reported."""
    bad = tmp_path / 'bad.sh'
    bad.write_text('# shellcheck shell=sh\nrm -rf $1/x\n')
    assert shellcheck(str(bad)).returncode != 0


def test_make_lint_shellchecks_the_scripts_directory():
    with open(os.path.join(ROOT, 'Makefile'), encoding='utf-8') as f:
        makefile = f.read()
    lint = makefile.split('\nlint:', 1)[1].split('\n\n', 1)[0]
    assert 'plugins/plugin_utils/scripts/*.sh' in lint and 'shellcheck' in lint


def test_every_script_file_is_a_shell_script_or_the_python_proxy():
    others = [n for n in os.listdir(_scripts.DIRECTORY) if not n.endswith('.sh')]
    assert sorted(n for n in others if n != '__pycache__') == ['proxy.py']


def test_the_idle_stop_script_rendered_into_cloud_init_passes_shellcheck(tmp_path):
    """It stays a string in module_utils (a module ships no data file): checked here instead."""
    script = tmp_path / 'idle-stop'
    script.write_text(_idle_stop.SCRIPT.lstrip('\n'))
    proc = shellcheck(str(script))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_proxy_is_python_on_the_port_the_jobs_are_given():
    text = _scripts.load('proxy.py')
    tree = ast.parse(text)
    port = [n.value.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == 'PORT']
    assert port == [_jobs.PROXY_PORT]


def test_leading_comments_are_not_shipped_and_the_rest_is_the_file():
    text = _scripts.load('secret_hash.sh')
    with open(os.path.join(_scripts.DIRECTORY, 'secret_hash.sh'), encoding='utf-8') as f:
        whole = f.read()
    assert not text.startswith('#') and whole.endswith(text) and whole.startswith('# shellcheck shell=sh\n')


def test_scripts_are_joined_in_order():
    joined = _scripts.load('log_dir.sh', 'log_newest.sh', LOGS='logs')
    assert joined == _scripts.load('log_dir.sh', LOGS='logs') + _scripts.load('log_newest.sh', LOGS='logs')
    assert joined.index('enter_log_dir() {') < joined.index('enter_log_dir "$1" "$2" 0')


def test_placeholders_must_all_be_filled_and_nothing_else_given():
    from ansible_collections.gcli.offload.plugins.plugin_utils import _job_network as net
    assert not _scripts.PLACEHOLDER.search(net.NETWORK_SCRIPT + net.NETWORK_REMOVE_SCRIPT)
    assert net.JOB_NETWORK in net.NETWORK_SCRIPT and net.CHAIN_FORWARD in net.NETWORK_REMOVE_SCRIPT
    with pytest.raises(ValueError, match='placeholders'):
        _scripts.load('network_remove.sh')
    with pytest.raises(ValueError, match='placeholders'):
        _scripts.load('secret_hash.sh', EXTRA='x')


def test_the_loaded_scripts_have_no_placeholder_left():
    from ansible_collections.gcli.offload.plugins.action import (
        job_container, job_log, maintainer_container, worker_secret)
    from ansible_collections.gcli.offload.plugins.plugin_utils import _docker_cli, _supervisor
    for text in (_supervisor.SUPERVISOR_SCRIPT, _supervisor.LAUNCH_SCRIPT, _supervisor.LAUNCH_POLL_SCRIPT, _supervisor.POLL_SCRIPT,
                 _supervisor.OPEN_SCRIPT, _supervisor.STATE_CHECK_SCRIPT, _supervisor.RUNS_SCRIPT,
                 job_container.PRECHECK_SCRIPT, job_log.NEWEST,
                 maintainer_container.DIRS_SCRIPT, maintainer_container.CHECK_SCRIPT,
                 maintainer_container.APPEARED_SCRIPT, worker_secret.WRITE_SCRIPT, worker_secret.HASH_SCRIPT,
                 _docker_cli.GIT_SCRIPT):
        assert not _scripts.PLACEHOLDER.search(text)
    assert "-o 1000 -g 1000" in maintainer_container.DIRS_SCRIPT
    assert 'gcli.offload.spec' in maintainer_container.CHECK_SCRIPT
