"""job_info's one-line summary of a job, as status.yml shows it."""

from __future__ import annotations

from ansible_collections.gcli.offload.plugins.action.job_info import summary


def job(**kw):
    base = {'job': 'offload-7-review', 'state': 'none', 'age': None, 'image': None, 'image_digests': [],
            'worktree': False, 'run': None, 'parts': '-'}
    base.update(kw)
    return base


def run(state, rc=None, started=100):
    return {'run': '20261201T000000', 'state': state, 'rc': rc, 'started': started, 'ended': None, 'parts': {}}


def test_a_running_run_says_for_how_long_its_parts_and_that_it_holds_the_worktree():
    line = summary(job(state='running', image='img:1', image_digests=['img@sha256:ab'], worktree=True,
                       run=run('running'), parts='build running 40s, checks ok 3s'), now=142)
    assert line == ('offload-7-review: running 42s; parts: build running 40s, checks ok 3s; '
                    'image img:1 (img@sha256:ab); worktree held')


def test_an_ended_run_gives_its_exit_status_and_a_kept_worktree_is_said():
    assert summary(job(run=run('ended', rc=3), parts='build failed 5s', worktree=True)) == \
        'offload-7-review: ended, exit 3; parts: build failed 5s; worktree kept'


def test_a_lost_run_says_a_re_run_starts_anew():
    assert 'lost' in summary(job(run=run('lost'))) and 'a re-run starts anew' in summary(job(run=run('lost')))


def test_without_a_run_the_container_state_is_shown():
    assert summary(job(state='exited', age=9)) == 'offload-7-review: container exited 9s'
    assert summary(job()) == 'offload-7-review: no container'
