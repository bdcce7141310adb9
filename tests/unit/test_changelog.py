"""The changelog: every fragment passes `antsibull-changelog lint`, and `antsibull-changelog release`
writes the repository's CHANGELOG.md (Markdown), not a CHANGELOG.rst beside it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(os.path.dirname(sys.executable), 'antsibull-changelog')


def run(args, cwd, timeout=300):
    assert os.path.exists(TOOL), 'antsibull-changelog is not installed: pip install -r requirements.txt'
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))
    return subprocess.run([TOOL, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def test_fragments_and_changelog_yaml_pass_lint():
    proc = run(['lint'], ROOT)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, '', '')
    proc = run(['lint-changelog-yaml', 'changelogs/changelog.yaml'], ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_release_writes_the_repositorys_changelog_md(tmp_path):
    """A release in a copy of the checkout (the files git knows of): CHANGELOG.md gets the release and the
    fragments' entries, no other changelog file appears, and the fragments are consumed."""
    files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                           capture_output=True, check=True, timeout=60).stdout.decode().split('\0')
    copy = tmp_path / 'ansible_collections' / 'gcli' / 'offload'
    for name in filter(None, files):
        source = os.path.join(ROOT, name)
        if os.path.isfile(source):
            os.makedirs(os.path.dirname(copy / name), exist_ok=True)
            shutil.copy2(source, copy / name)
    fragments = sorted(os.listdir(copy / 'changelogs' / 'fragments'))
    assert fragments, 'no fragment to release'
    proc = run(['release', '--version', '99.0.0', '--date', '2026-12-01'], str(copy))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (copy / 'CHANGELOG.md').read_text()
    assert text.startswith('# gcli\\.offload Release Notes\n') and '## v99\\.0\\.0' in text
    assert 'blkid' in text  # an entry of a fragment, rendered
    assert sorted(p.name for p in copy.glob('CHANGELOG*')) == ['CHANGELOG.md']
    assert os.listdir(copy / 'changelogs' / 'fragments') == []
    assert '99.0.0:' in (copy / 'changelogs' / 'changelog.yaml').read_text()
