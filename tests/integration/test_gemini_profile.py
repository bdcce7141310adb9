"""The worker's gemini profile (gemini_profile): mirrored from a directory on the controller
before each job, changed only when its content changed, never through a link, read-only in
the job; the collection's tool policy given to the agent. Real offload.yml runs on a local
worker, with the stand-in gemini CLI (tests/images/gemini-standin) recording what it saw."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from fixtures_offload import ROOT, Worker

SETTINGS = '{"model": {"name": "gemini-2.5-pro"}}\n'


@pytest.fixture
def gworker(tmp_path, upstream_dir, gemini_job_image):
    w = Worker(tmp_path, upstream_dir, gemini_job_image)
    yield w
    w.cleanup()


def profile(tmp_path):
    src = tmp_path / 'profile'
    (src / 'policies').mkdir(parents=True)
    (src / 'settings.json').write_text(SETTINGS)
    (src / 'policies' / 'mine.toml').write_text('# mine\n')
    os.symlink('settings.json', src / 'settings-link.json')  # a link inside: mirrored as a copy
    return src


def mirror(w, src, *args):
    """gemini_profile on its own (ad hoc), against the worker's maintainer container."""
    proc = subprocess.run(['ansible', 'local-worker', '-i', 'inventory/local.yml', '-m', 'gcli.offload.gemini_profile',
                           '-a', 'src=%s maintainer=%s' % (src, w.maintainer), *args], cwd=ROOT, capture_output=True,
                          text=True, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR='1'))
    return proc


def records(path):
    return [json.loads(line.split('GEMINI-STANDIN ', 1)[1]) for line in open(path) if 'GEMINI-STANDIN ' in line]


def test_the_profile_is_mirrored_read_only_and_the_review_gets_its_policy(gworker, tmp_path, private_pr):
    w = gworker
    pr = '-e', 'pr=%d' % private_pr()
    src = profile(tmp_path)
    proc = w.playbook(*pr, extra={'offload_gemini_config': str(src)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    dest = os.path.join(w.data_root, 'gemini')
    assert open(os.path.join(dest, 'settings.json')).read() == SETTINGS
    assert open(os.path.join(dest, 'settings-link.json')).read() == SETTINGS
    assert not os.path.islink(os.path.join(dest, 'settings-link.json'))
    for rel in ('policies/mine.toml', 'offload/review.toml', 'offload/agent.toml', 'offload/review-settings.json'):
        st = os.stat(os.path.join(dest, rel))
        assert st.st_uid == 0 and st.st_mode & 0o022 == 0, rel  # root's, nobody else writes it
    (rec,) = records(w.logs()[0])
    assert rec['profile_writable'] is False  # mounted read-only in the job
    assert {'settings.json', 'policies/mine.toml', 'offload/review.toml'} <= set(rec['home_files'])
    policy = '/home/node/.gemini/offload/review.toml'
    assert rec['argv'][-2:] == ['--admin-policy', policy]
    bundled = os.path.join(ROOT, 'plugins', 'plugin_utils', 'gemini', 'offload', 'review.toml')
    assert rec['admin_policies'] == {policy: hashlib.sha256(open(bundled, 'rb').read()).hexdigest()}
    assert rec['env']['GEMINI_CLI_SYSTEM_SETTINGS_PATH'] == '/home/node/.gemini/offload/review-settings.json'
    # a job cannot write there, even as the profile's directory's owner
    probe = ['sh', '-c', 'touch /home/node/.gemini/x 2>/dev/null && echo WROTE-PROFILE; '
                         'rm -f /home/node/.gemini/settings.json 2>/dev/null && echo REMOVED-PROFILE; echo probed']
    proc = w.playbook(*pr, extra={'offload_gemini_config': str(src), 'offload_job_command': probe})
    log = open(sorted(w.logs())[-1]).read()
    assert proc.returncode == 0 and 'probed' in log, proc.stdout[-2000:]
    assert 'WROTE-PROFILE' not in log and 'REMOVED-PROFILE' not in log
    assert os.path.exists(os.path.join(dest, 'settings.json'))


def test_mirroring_is_idempotent_previews_in_check_mode_and_replaces_only_on_change(gworker, tmp_path, private_pr):
    w = gworker
    pr = '-e', 'pr=%d' % private_pr()
    src = profile(tmp_path)
    first = w.playbook(*pr, extra={'offload_gemini_config': str(src), 'offload_job_command': ['true']})
    assert first.returncode == 0, first.stdout[-3000:]
    again = mirror(w, src)
    assert again.returncode == 0 and '| SUCCESS' in again.stdout and 'changed: false' in again.stdout, again.stdout
    (src / 'settings.json').write_text('{"model": {"name": "gemini-2.5-flash"}}\n')
    (src / 'policies' / 'mine.toml').unlink()
    preview = mirror(w, src, '--check', '--diff')
    assert preview.returncode == 0 and '| CHANGED' in preview.stdout, preview.stdout
    assert '-f 644' in preview.stdout and 'policies/mine.toml' in preview.stdout  # the diff names what goes
    dest = os.path.join(w.data_root, 'gemini')
    assert open(os.path.join(dest, 'settings.json')).read() == SETTINGS  # check mode wrote nothing
    changed = mirror(w, src)
    assert changed.returncode == 0 and '| CHANGED' in changed.stdout, changed.stdout
    assert 'gemini-2.5-flash' in open(os.path.join(dest, 'settings.json')).read()
    assert not os.path.exists(os.path.join(dest, 'policies', 'mine.toml'))  # a mirror: removed files go


def test_a_link_that_leads_out_of_the_profile_is_refused_before_the_job(gworker, tmp_path, private_pr):
    w = gworker
    pr = '-e', 'pr=%d' % private_pr()
    src = profile(tmp_path)
    os.symlink('/etc/passwd', src / 'leak.json')
    proc = w.playbook(*pr, extra={'offload_gemini_config': str(src)})
    assert proc.returncode != 0
    assert 'leak.json is a link that leads out of the directory (to /etc/passwd)' in proc.stdout, proc.stdout
    assert w.job_containers() == [] and w.logs() == []


def test_a_link_planted_in_the_profiles_place_is_replaced_never_followed(gworker, tmp_path, private_pr):
    w = gworker
    pr = '-e', 'pr=%d' % private_pr()
    src = profile(tmp_path)
    first = w.playbook(*pr, extra={'offload_gemini_config': str(src), 'offload_job_command': ['true']})
    assert first.returncode == 0, first.stdout[-3000:]
    victim = tmp_path / 'victim'
    victim.mkdir()
    (victim / 'settings.json').write_text('victim\n')
    dest = os.path.join(w.data_root, 'gemini')
    subprocess.run(['rm', '-rf', dest], check=True)
    os.symlink(str(victim), dest)
    proc = mirror(w, src)
    assert proc.returncode == 0 and '| CHANGED' in proc.stdout, proc.stdout
    assert 'was a link' in proc.stderr
    assert not os.path.islink(dest) and open(os.path.join(dest, 'settings.json')).read() == SETTINGS
    assert sorted(os.listdir(victim)) == ['settings.json'] and (victim / 'settings.json').read_text() == 'victim\n'


def test_without_a_profile_directory_the_bundled_defaults_and_policy_are_mirrored(gworker, tmp_path, private_pr):
    w = gworker
    pr = '-e', 'pr=%d' % private_pr()
    proc = w.playbook(*pr, '-e', 'action=fix', extra={
        'offload_gemini_config': str(tmp_path / 'none'), 'offload_gh_token': 'github_pat_11PROFILE000_' + 'a' * 40})
    assert proc.returncode == 0, proc.stdout[-3000:]
    dest = os.path.join(w.data_root, 'gemini')
    assert sorted(os.listdir(dest)) == ['offload', 'settings.json']
    (rec,) = records(w.logs()[0])
    assert rec['argv'][-2:] == ['--admin-policy', '/home/node/.gemini/offload/agent.toml']
    assert 'GEMINI_CLI_SYSTEM_SETTINGS_PATH' not in rec['env']  # the review's only
