"""The maintainer image's tag moved (`:latest` rebuilt and pushed): offload.yml with
offload_maintainer_refresh pulls it on the worker and recreates the maintainer container when no
job runs, saying which digest it runs; a running job holds the refresh (said so); a container
pinned by digest (provision.yml with offload_maintainer_image_pin) keeps its digest, and the jobs
of that image run it too. Real playbooks on the local Docker engine with the loopback registry."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from fixtures_offload import Worker, docker, pr_upstream
from ansible_collections.gcli.offload.plugins.module_utils._maintainer import maintainer_run_args, spec_hash
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import SPEC_LABEL

NOOP = ['true']
# pull requests of this file's own: job names are engine-wide, other tests' jobs never collide
PR_A, PR_B, PR_C = 151, 152, 153


@pytest.fixture(scope='module')
def refresh_upstream(tmp_path_factory):
    return pr_upstream(tmp_path_factory.mktemp('refresh-upstream'), (PR_A, PR_B, PR_C), 'refresh')


def push_revision(registry, base, repo, revision):
    """Build a new image FROM base (a label of its own: another image id) and push it to repo:latest;
    the pushed manifest's digest."""
    ref = '%s/%s:latest' % (registry.host, repo)
    subprocess.run(['docker', 'build', '--quiet', '-t', ref, '-'], input='FROM %s\nLABEL rev=%s\n' % (base, revision),
                   text=True, capture_output=True, check=True, timeout=300)
    out = docker('push', ref).stdout
    return re.search(r'digest: (sha256:[0-9a-f]{64})', out).group(1)


def inspect(name):
    return json.loads(docker('container', 'inspect', name).stdout)[0]


def image_digests(image_id):
    return json.loads(docker('image', 'inspect', '--format', '{{json .RepoDigests}}', image_id).stdout)


@pytest.fixture
def refresh_worker(tmp_path, refresh_upstream, job_image, registry):
    repo = 'offload/refresh-%s' % tmp_path.name[-12:].lower().replace('_', '-')
    image = '%s/%s:latest' % (registry.host, repo)
    w = Worker(tmp_path, refresh_upstream, image)
    w.vars['offload_maintainer_refresh'] = True
    w.repo, w.image, w.base = repo, image, job_image
    yield w
    w.cleanup()
    docker('rmi', '-f', image, check=False)


def test_a_moved_tag_refreshes_the_maintainer_when_no_job_runs_and_says_its_digest(refresh_worker, registry):
    w = refresh_worker
    first = push_revision(registry, w.base, w.repo, 1)
    proc = w.playbook('-e', 'pr=%d' % PR_A, extra={'offload_job_command': NOOP})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    v1 = inspect(w.maintainer)
    assert first in ' '.join(image_digests(v1['Image']))
    assert 'runs %s at %s (current)' % (w.image, first) in ' '.join(proc.stdout.split())

    moved = push_revision(registry, w.base, w.repo, 2)
    docker('rmi', '-f', w.image)  # the worker has only the old image: the tag is pulled there again
    proc = w.playbook('-e', 'pr=%d' % PR_A, extra={'offload_job_command': NOOP})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    v2 = inspect(w.maintainer)
    assert v2['Id'] != v1['Id'] and v2['Image'] != v1['Image']
    assert moved in ' '.join(image_digests(v2['Image']))
    assert 'runs %s at %s (refreshed: the tag had moved)' % (w.image, moved) in ' '.join(proc.stdout.split())

    # converged: the tag did not move, the container is kept
    proc = w.playbook('-e', 'pr=%d' % PR_A, extra={'offload_job_command': NOOP})
    assert proc.returncode == 0 and inspect(w.maintainer)['Id'] == v2['Id'], proc.stdout
    assert '(current)' in proc.stdout


def test_a_running_job_holds_the_refresh_and_says_so(refresh_worker, registry):
    w = refresh_worker
    push_revision(registry, w.base, w.repo, 1)
    job = w.start_blocking_job(pr=PR_B)
    try:
        before = inspect(w.maintainer)
        moved = push_revision(registry, w.base, w.repo, 2)
        proc = w.playbook('-e', 'pr=%d' % PR_A, extra={'offload_job_command': NOOP})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        flat = ' '.join((proc.stdout + proc.stderr).split())
        assert inspect(w.maintainer)['Id'] == before['Id']  # not refreshed under the running job
        assert '[WARNING]' in flat and 'moved to %s' % moved in flat and 'offload-%d-review' % PR_B in flat, flat
        assert 'not refreshed: a job runs' in flat
    finally:
        w.finish(job, pr=PR_B)
    proc = w.playbook('-e', 'pr=%d' % PR_A, extra={'offload_job_command': NOOP})
    assert proc.returncode == 0, proc.stdout
    assert moved in ' '.join(image_digests(inspect(w.maintainer)['Image']))  # the job ended: refreshed


def test_a_pinned_digest_is_kept_and_the_jobs_use_it(refresh_worker, registry):
    w = refresh_worker
    pinned_digest = push_revision(registry, w.base, w.repo, 1)
    pinned = '%s/%s@%s' % (registry.host, w.repo, pinned_digest)
    # the container as provision's boot unit makes it from the pinned reference
    docker('pull', pinned)
    os.makedirs(w.data_root)
    args = maintainer_run_args(w.maintainer, pinned, w.data_root, [w.upstream_dir])
    docker('run', '--detach', '--label', '%s=%s' % (SPEC_LABEL, spec_hash(args)), *args)
    before = inspect(w.maintainer)
    push_revision(registry, w.base, w.repo, 2)  # the tag moves on; the pin holds

    job = w.start_blocking_job(pr=PR_C)
    try:
        assert inspect(w.maintainer)['Id'] == before['Id']  # no recreate from the tag
        assert inspect('offload-%d-review' % PR_C)['Config']['Image'] == pinned  # the job runs the pinned reference
    finally:
        out = w.finish(job, pr=PR_C)
    assert 'runs %s pinned at %s' % (w.image, pinned_digest) in ' '.join(out.split()), out
