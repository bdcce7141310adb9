"""The reconciliation rules, on what a worker might report."""

from __future__ import annotations

from ansible_collections.gcli.offload.plugins.module_utils._reconcile import (
    jobs_on_worker,
    leftovers,
    parse_docker_time,
)

NOW = 1_800_000_000


def container(name, state, started='2027-01-15T08:00:00.123456789Z'):
    pr, action = name.split('-')[1:]
    return {'name': name, 'state': state, 'started': started, 'image': 'img:1', 'image_id': 'sha256:x',
            'job': name, 'pr': pr, 'action': action, 'image_digests': ['img@sha256:abc']}


def worktree(name, held_since=0):
    return {'name': name, 'head': 'abc', 'held_since': held_since}


def test_parse_docker_time():
    assert parse_docker_time('1970-01-01T00:01:40.5Z') == 100
    assert parse_docker_time('0001-01-01T00:00:00Z') is None
    assert parse_docker_time('') is None


def test_jobs_merge_containers_and_worktrees():
    jobs = jobs_on_worker([container('offload-1-review', 'running', '2027-01-15T08:00:00Z')],
                          [worktree('offload-1-review', NOW - 5), worktree('offload-2-fix')], NOW)
    assert [j['job'] for j in jobs] == ['offload-1-review', 'offload-2-fix']
    one, two = jobs
    assert one['state'] == 'running' and one['worktree'] and one['held_since'] == NOW - 5
    assert one['age'] == NOW - parse_docker_time('2027-01-15T08:00:00Z')
    assert two['state'] == 'none' and two['pr'] == '2' and two['action'] == 'fix' and two['held_since'] is None


def test_leftovers_never_touch_live_work():
    jobs = jobs_on_worker(
        [container('offload-1-review', 'running'),    # live, with worktree
         container('offload-2-review', 'running'),    # live, worktree gone: reported, not killed
         container('offload-3-review', 'exited'),     # stopped: removed
         container('offload-4-review', 'created')],   # never started: removed
        [worktree('offload-1-review', NOW - 10_000),  # held long ago but its container runs: live
         worktree('offload-5-review', NOW - 30),      # held recently, no container: being prepared
         worktree('offload-6-review', NOW - 10_000),  # held long ago, no container: its run died
         worktree('offload-7-review')], NOW)          # kept (no hold)
    plan = leftovers(jobs, NOW, grace=600)
    assert plan['containers'] == ['offload-3-review', 'offload-4-review']
    assert plan['worktrees'] == ['offload-6-review']
    kept = {k['job']: k['why'] for k in plan['kept']}
    assert set(kept) == {'offload-2-review', 'offload-5-review', 'offload-7-review'}
    assert 'never killed' in kept['offload-2-review']
    assert 'held by a run for 30s' in kept['offload-5-review']
    assert leftovers(jobs, NOW, grace=600, include_kept=True)['worktrees'] == ['offload-6-review', 'offload-7-review']
    assert leftovers(jobs, NOW, grace=0)['worktrees'] == ['offload-5-review', 'offload-6-review']
