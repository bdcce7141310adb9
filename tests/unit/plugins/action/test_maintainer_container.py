"""Units for maintainer_container's converged check: the real CHECK_SCRIPT, run by sh
against a fake docker client (the fake worker runs each command here), and the
plugin's reading of what it prints."""

from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.gcli.offload.plugins.action.maintainer_container import CHECK_SCRIPT, ActionModule
from ansible_collections.gcli.offload.plugins.plugin_utils._docker_cli import DockerCLI, WorkerCommandError
from ansible_collections.gcli.offload.plugins.plugin_utils._supervisor import RUNS_SCRIPT

# A docker client that answers `container inspect` from $FAKE_INSPECT (exit $FAKE_INSPECT_RC)
# and `exec` from $FAKE_EXEC (exit $FAKE_EXEC_RC), and records every call in $FAKE_CALLS.
FAKE_DOCKER = r'''#!/bin/sh
printf '%s\n' "$*" | tr '\n' ' ' | sed 's/ *$//' >>"$FAKE_CALLS"; echo >>"$FAKE_CALLS"
case "$1" in
container)
  case "$4" in
  *State.Status*Labels*) printf '%s\n' "$FAKE_INSPECT"; exit "$FAKE_INSPECT_RC" ;;
  esac ;;
exec) [ -z "$FAKE_EXEC" ] || printf '%s\n' "$FAKE_EXEC" >&2; exit "$FAKE_EXEC_RC" ;;
esac
exit 99
'''


@pytest.fixture
def fake(tmp_path, worker):
    """A maintainer_container whose worker runs each command for real here, with the fake docker."""
    docker = tmp_path / 'docker'
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    calls = tmp_path / 'calls'

    def make(inspect, inspect_rc=0, exec_out='', exec_rc=0, check_mode=False):
        env = dict(os.environ, FAKE_CALLS=str(calls), FAKE_INSPECT=inspect, FAKE_INSPECT_RC=str(inspect_rc),
                   FAKE_EXEC=exec_out, FAKE_EXEC_RC=str(exec_rc))
        worker.on(lambda cmd: True, local=True, env=env, cwd=str(tmp_path))
        action = worker.action(ActionModule, {}, check_mode=check_mode)
        action.cli = DockerCLI(action, str(docker))  # as run() makes it
        return action

    make.docker = str(docker)
    make.dir = tmp_path
    make.calls = lambda: calls.read_text().splitlines() if calls.exists() else []
    return make


def test_running_and_converged_in_one_call_makes_the_data_dirs(fake):
    action = fake('state=running abc123')
    status, spec, dirs, _real, _running = action._check('maint', [], make_dirs=True)
    assert (status, spec, dirs) == ('running', 'abc123', (0, '', ''))
    calls = fake.calls()
    assert len(calls) == 2 and calls[1].startswith('exec --user 0 maint sh -c install -d -o 1000 -g 1000 "$@" ')
    assert calls[1].endswith('/home/node/dev/main /home/node/dev/worktrees /home/node/dev/gemini')  # not logs/: the worker's user owns it


def test_host_paths_are_resolved_and_a_symlink_holds_the_exec_back(fake):
    """The data root as the worker resolves it comes back; behind a symlink, nothing is made in it yet."""
    real = fake.dir / 'real'
    real.mkdir()
    os.symlink(str(real), str(fake.dir / 'link'))
    action = fake('state=running abc123')
    plain = str(fake.dir / 'plain-data')
    status, _spec, dirs, found, _running = action._check('maint', [plain], make_dirs=True)
    assert found == [plain] and dirs == (0, '', '') and len(fake.calls()) == 2
    status, _spec, dirs, found, _running = action._check('maint', [str(fake.dir / 'link' / 'data'), plain],
                                                         make_dirs=True)
    assert status == 'running' and found == [str(real / 'data'), plain]
    assert dirs is None and len(fake.calls()) == 3  # inspected, no exec


def test_check_mode_only_inspects(fake):
    action = fake('state=running abc123')
    assert action._check('maint', [], make_dirs=False)[:3] == ('running', 'abc123', None)
    assert len(fake.calls()) == 1


def test_a_stopped_container_is_not_exec_into(fake):
    action = fake('state=exited abc123')
    assert action._check('maint', [], make_dirs=True)[:3] == ('exited', 'abc123', None)
    assert len(fake.calls()) == 1


def test_no_such_container(fake):
    action = fake('Error: No such container: maint', inspect_rc=1)
    assert action._check('maint', [], make_dirs=True)[:3] == (None, None, None)


def test_a_container_without_the_spec_label_reads_as_another_spec(fake):
    status, spec, _dirs, _real, _running = fake('state=running <no value>')._check('maint', [], make_dirs=True)
    assert status == 'running' and spec == '<no'


def test_a_failed_exec_is_reported_with_its_message(fake):
    action = fake('state=running abc', exec_out='install: cannot change owner: No such file or directory', exec_rc=1)
    _status, _spec, dirs, _real, _running = action._check('maint', [], make_dirs=True)
    assert dirs == (1, '', 'install: cannot change owner: No such file or directory')


def test_an_engine_error_is_a_failure_naming_the_container(fake):
    action = fake('Cannot connect to the Docker daemon', inspect_rc=1)
    with pytest.raises(WorkerCommandError, match='inspect container maint failed'):
        action._check('maint', [], make_dirs=True)


def test_inputs_are_arguments_not_script_text(fake):
    """A container name with shell syntax reaches docker as one argument, never as code."""
    action = fake('state=running abc')
    name = 'maint$(touch pwned);x'
    action._check(name, [], make_dirs=True)
    calls = fake.calls()
    assert calls[0].endswith(' ' + name) and calls[1].startswith('exec --user 0 %s sh -c ' % name)
    assert not (fake.dir / 'pwned').exists()
    assert '$2' in CHECK_SCRIPT and name not in CHECK_SCRIPT


# --- losing the race to create the container ----------------------------------------

# A docker client whose `container inspect` fails until its $FAKE_APPEAR_AFTER-th call
# (the other run's container is still being created), then answers $FAKE_INSPECT.
RACE_DOCKER = r'''#!/bin/sh
echo "$*" >>"$FAKE_CALLS"
case "$1" in
container)
  n=$(($(cat "$FAKE_COUNT" 2>/dev/null || echo 0) + 1)); echo "$n" >"$FAKE_COUNT"
  [ "$n" -ge "$FAKE_APPEAR_AFTER" ] || { echo "Error: No such container: $5" >&2; exit 1; }
  printf '%s\n' "$FAKE_INSPECT"; exit 0 ;;
start) exit 0 ;;
esac
exit 99
'''
CONFLICT = 'docker: Error response from daemon: Conflict. The container name "/maint" is already in use by container "x".'


@pytest.fixture
def race(tmp_path, monkeypatch, worker):
    docker = tmp_path / 'docker'
    docker.write_text(RACE_DOCKER)
    docker.chmod(0o755)
    calls = tmp_path / 'calls'
    monkeypatch.setattr('ansible_collections.gcli.offload.plugins.action.maintainer_container.APPEAR_TIMEOUT_TENTHS', 20)

    def make(inspect, appear_after):
        env = dict(os.environ, FAKE_CALLS=str(calls), FAKE_COUNT=str(tmp_path / 'count'), FAKE_INSPECT=inspect,
                   FAKE_APPEAR_AFTER=str(appear_after))
        worker.on(lambda cmd: True, local=True, env=env, cwd=str(tmp_path))
        action = worker.action(ActionModule, {})
        action.cli = DockerCLI(action, str(docker))  # as run() makes it
        return action

    make.docker = str(docker)
    make.calls = lambda: calls.read_text().splitlines() if calls.exists() else []
    return make


def test_a_container_still_being_made_by_another_run_is_waited_for_and_started(race):
    action = race('state=created abc123', appear_after=3)
    assert action._made_meanwhile('maint', 'abc123', CONFLICT) is True
    calls = race.calls()
    assert [c.split()[0] for c in calls] == ['container', 'container', 'container', 'start']


def test_a_running_one_is_taken_as_it_is(race):
    action = race('state=running abc123', appear_after=1)
    assert action._made_meanwhile('maint', 'abc123', CONFLICT) is True
    assert [c.split()[0] for c in race.calls()] == ['container']


def test_one_of_another_spec_or_one_that_never_appears_is_an_error_saying_what_was_found(race):
    found = race('state=running other', appear_after=1)._made_meanwhile('maint', 'abc123', CONFLICT)
    assert found == ' (another run made maint meanwhile; found: state=running other)'
    found = race('state=running abc123', appear_after=10 ** 6)._made_meanwhile('maint', 'abc123', CONFLICT)
    assert found == ' (another run made maint meanwhile; found: nothing)'


def test_another_docker_error_is_not_a_race(race):
    assert race('state=running abc123', appear_after=1)._made_meanwhile(
        'maint', 'abc123', 'docker: invalid reference format') == ''
    assert race.calls() == []


# --- a data root whose files cannot be executed ------------------------------------


def test_a_noexec_data_root_fails_before_any_job_saying_what_to_do(fake):
    """The container runs with the wanted spec; making the data directories reports that a
    file there cannot be executed: the task fails with what to do, before any job."""
    from ansible.errors import AnsibleActionFail

    from ansible_collections.gcli.offload.plugins.module_utils._maintainer import maintainer_run_args, spec_hash
    image = 'gcli-offload/demo-job:latest'
    wanted = spec_hash(maintainer_run_args('maint', image, '/mnt/disks/offload', []))
    action = fake('state=running %s' % wanted, exec_out='noexec=1', exec_rc=3)
    args = {'name': 'maint', 'image': image, 'data_root': '/mnt/disks/offload', 'state': 'started',
            'extra_mounts': [], 'network': '', 'refresh': False, 'docker_bin': fake.docker}
    with pytest.raises(AnsibleActionFail) as exc:
        action.act(args, {'inventory_hostname': 'w1'})
    msg = str(exc.value)
    assert msg.startswith('the data root /mnt/disks/offload on w1 does not let files be executed (mounted noexec?)')
    assert 'under /mnt/disks' in msg and 'nothing was run' in msg


def dirs_script_in(root):
    """DIRS_SCRIPT with the maintainer container's data root replaced by a local directory."""
    from ansible_collections.gcli.offload.plugins.action.maintainer_container import DIRS_SCRIPT
    from ansible_collections.gcli.offload.plugins.module_utils._jobs import DEV
    return DIRS_SCRIPT.replace(DEV, str(root))


def run_dirs_script(root):
    dirs = [str(root / d) for d in ('main', 'worktrees', 'gemini')]
    return subprocess.run(['sh', '-c', dirs_script_in(root), 'offload-dirs'] + dirs, capture_output=True, text=True,
                          check=False)


def test_the_dirs_script_makes_the_directories_and_leaves_no_probe(tmp_path):
    proc = run_dirs_script(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(os.listdir(tmp_path)) == ['gemini', 'main', 'worktrees']
    assert os.listdir(tmp_path / 'worktrees') == []


def test_the_dirs_script_reports_a_noexec_data_root(noexec_dir):
    proc = run_dirs_script(noexec_dir)
    assert proc.returncode == 3 and proc.stdout.splitlines() == ['noexec=1'], proc.stdout + proc.stderr
    assert os.listdir(noexec_dir / 'worktrees') == []  # the probe is removed


def test_a_run_between_its_containers_holds_the_refresh(worker):
    """A supervised run whose container ended but which still releases its worktree (through the
    maintainer container) counts as running, as a job container of the data root does; a run of
    another data root's container and an ended run do not."""
    worker.script(RUNS_SCRIPT, out='now=1700000100\njob=offload-7-fix\nrun=20261201T100000Z running 1700000000\n'
                                   'job=offload-8-review\nrun=20261201T090000Z ended 1700000000\n')
    worker.docker('ps', out='%s\n' % ('a' * 64))
    worker.docker('inspect', out='/offload-9-review /srv/other/worktrees/offload-9-review\n')
    action = worker.action(ActionModule, {})
    action.cli = DockerCLI(action, 'docker')
    assert action._running_jobs('/srv/offload') == ['offload-7-fix']
    worker.docker('inspect', out='/offload-9-review /srv/offload/worktrees/offload-9-review\n')
    assert action._running_jobs('/srv/offload') == ['offload-7-fix', 'offload-9-review']
