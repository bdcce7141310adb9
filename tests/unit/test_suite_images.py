"""The test suite makes every image it runs.

CI starts with none of the project's images on the machine, and any order or
subset of tests must work. So tests name the project's images only through
tests/integration/fixtures_images.py (whose fixtures and `ensure` build them),
and the molecule scenarios only images that `make molecule`'s set-up builds.
"""

from __future__ import annotations

import glob
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

import fixtures_images  # noqa: E402  pylint: disable=wrong-import-position

TAG_RE = re.compile(r'gcli-offload/[a-z0-9-]+:[A-Za-z0-9._-]+')


def _python_sources():
    # Unit tests only validate image references as strings: they run none.
    for pattern in ('tests/integration/**/*.py', 'tests/emulator/**/*.py', 'bench/**/*.py'):
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            if os.path.abspath(path) != os.path.abspath(fixtures_images.__file__):
                yield path


def test_every_builder_target_makes_the_tag_the_tests_use():
    with open(fixtures_images.BUILD, encoding='utf-8') as f:
        script = f.read()
    script = script.replace('$suite', re.search(r'^suite=(\S+)$', script, re.M).group(1))
    for target, tag in fixtures_images.IMAGES.items():
        assert re.search(r'^\s+(?:\S+\|)*%s(?:\|\S+)*\)' % re.escape(target), script, re.M), target
        assert tag in script, tag


def test_tests_name_the_project_s_images_only_through_fixtures_images():
    offenders = []
    for path in _python_sources():
        with open(path, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                for tag in TAG_RE.findall(line):
                    if tag in fixtures_images.IMAGES.values():
                        offenders.append('%s:%d: %s' % (os.path.relpath(path, ROOT), number, tag))
    assert not offenders, 'use fixtures_images (a fixture or ensure()) instead of the literal tag:\n' + '\n'.join(
        offenders)


def test_the_guard_sees_a_literal_tag():
    assert TAG_RE.findall("docker('run', 'gcli-offload/worker:latest')") == ['gcli-offload/worker:latest']


def _make_images_targets():
    with open(os.path.join(ROOT, 'Makefile'), encoding='utf-8') as f:
        makefile = f.read()
    match = re.search(r'^images:.*\n\ttests/images/build (.+)$', makefile, re.M)
    assert match, 'the Makefile has no images target calling tests/images/build'
    return match.group(1).split()


def test_molecule_scenarios_use_only_images_make_builds_first():
    built = {fixtures_images.IMAGES[t] for t in _make_images_targets()}
    with open(os.path.join(ROOT, 'Makefile'), encoding='utf-8') as f:
        assert re.search(r'^molecule: .*\bsetup\b', f.read(), re.M), '`make molecule` must run the set-up first'
    for path in glob.glob(os.path.join(ROOT, 'molecule', '*', 'molecule.yml')):
        with open(path, encoding='utf-8') as f:
            text = f.read()
        config = yaml.safe_load(text)
        used = {p['image'] for p in config.get('platforms', [])} | set(TAG_RE.findall(text))
        project = {u for u in used if u.startswith('gcli-offload/')}
        assert project <= built, '%s uses %s, which `make images` does not build' % (path, project - built)
