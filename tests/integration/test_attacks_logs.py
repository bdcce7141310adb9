"""Attacks on the files root-run host scripts write and read (a job's logs), performed
through real offload.yml and logs.yml runs on the local and the COS-like SSH worker;
each test fails if the attack works. See docs/security.md, "A hostile pull request".

The attacker is uid 1000 in the maintainer container (what a job that took it over
would be): it plants links where the worker's root-run runner writes a job's log and
exit code, and where logs.yml picks the log it prints.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest

from fixtures_offload import docker

pytestmark = pytest.mark.skipif(subprocess.run(['docker', 'info'], capture_output=True, check=False).returncode != 0,
                                reason='needs a Docker engine')

# As uid 1000 in the maintainer container, in the logs folder $3: the job's folder
# ($4) replaced by one of its own (logs/ was uid 1000's), with links for the next 90
# seconds' log and exit file names to $1 (a root-only file on the worker), and a log
# named to sort last, to $2.
PLANT = r'''
cd "$3" || exit 0
mv "$4" "$4.old" 2>/dev/null
mkdir -p "$4" 2>/dev/null
cd "$4" || exit 0
now=$(date +%s)
i=0
while [ "$i" -lt 90 ]; do
  s=$(date -u -d "@$((now + i))" +%Y%m%dT%H%M%SZ)
  ln -sf "$1" "$s.log"; ln -sf "$1" "$s.exit"
  i=$((i + 1))
done
ln -sf "$2" zzzz.log
'''
# A logs folder of its own put in place of the data root's (on a COS VM the data root
# belongs to uid 1000); $5 is the data root as the worker host sees it.
SWAP = r'''
cd /home/node/dev || exit 1
mkdir -p worktrees/evil
mv logs logs.old && ln -s "$5/worktrees/evil" logs && echo SWAPPED
'''


class Host:
    """Root on the worker host: this machine (local worker) or the COS-like container."""

    def __init__(self, worker, tmp_path):
        self.worker = worker
        self.cos = getattr(worker, 'host', None)
        self.dir = '/root/gcli-offload-victims-%s' % uuid.uuid4().hex[:8] if self.cos else str(tmp_path / 'victims')

    def sh(self, script, *args):
        argv = ['sh', '-c', script, 'host'] + list(args)
        if self.cos:
            argv = ['docker', 'exec', '--user', '0', self.cos.name] + argv
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    def victim(self, name, content):
        """A file only root can read and write, outside the data root."""
        path = '%s/%s' % (self.dir, name)
        assert self.sh('umask 077; mkdir -p "${1%/*}" && printf "%s\\n" "$2" > "$1"', path, content).returncode == 0
        return path

    def read(self, path):
        return self.sh('cat "$1"', path).stdout


@pytest.fixture(params=['local', 'ssh'])
def any_worker(request):
    return request.getfixturevalue('worker' if request.param == 'local' else 'cos_worker')


def as_uid_1000(worker, script, *args):
    return docker('exec', '--user', '1000:1000', worker.maintainer, 'sh', '-c', script, 'attack', *args, check=False)


def fetched(worker):
    text = ''
    for path in worker.logs():
        with open(path, errors='replace') as f:
            text += f.read()
    return text


@pytest.mark.parametrize('where', ['in-the-job-folder', 'the-logs-folder-swapped'])
def test_links_planted_for_the_root_run_runner_and_logs_yml_are_never_followed(any_worker, private_pr,
                                                                               tmp_path, where):
    worker = any_worker
    host = Host(worker, tmp_path)
    pr = private_pr()
    job_folder = 'offload-%d-review' % pr
    first = worker.playbook('-e', 'pr=%d' % pr)
    assert first.returncode == 0, first.stdout
    secret = 'ROOT-ONLY-%s' % uuid.uuid4().hex
    written, read = host.victim('written', secret), host.victim('read', secret)
    folder = '/home/node/dev/logs'
    if where == 'the-logs-folder-swapped':
        host.sh('chown 1000:1000 "$1"', worker.data_root)  # as cloud-init leaves a COS data disk
        swapped = as_uid_1000(worker, SWAP, written, read, '', '', worker.data_root)
        folder = '/home/node/dev/worktrees/evil'
    as_uid_1000(worker, PLANT, written, read, folder, job_folder)

    job = worker.playbook('-e', 'pr=%d' % pr)
    assert host.read(written).strip() == secret, 'the root-run runner wrote through a planted link'
    shown = worker.playbook('-e', 'pr=%d' % pr, playbook='logs.yml')
    assert secret not in shown.stdout + shown.stderr, 'logs.yml printed a root-only file'
    assert secret not in fetched(worker)
    assert host.read(read).strip() == secret
    if where == 'the-logs-folder-swapped' and 'SWAPPED' in swapped.stdout:
        assert job.returncode != 0 and 'is a link or not a directory: refusing to follow it' in job.stdout, job.stdout
    else:
        assert job.returncode == 0, job.stdout  # nothing could be planted: logs/ is not uid 1000's
