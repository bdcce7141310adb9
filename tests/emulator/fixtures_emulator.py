# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the Compute Engine / Cloud Build emulator (tests/emulator).

- `gce_emulator` (session): one emulator process for the whole run.
- `emulator` (function): the same process, reset (state, faults, config) for
  each test; `emulator.requests()` then lists only this test's requests.
"""

from __future__ import annotations

import harness
import pytest

DEFAULT_CONFIG = {'require_token': False, 'operation_delay': 0.05, 'wait_timeout': 120.0}


@pytest.fixture(scope='session')
def gce_emulator(tmp_path_factory):
    emu = harness.start_emulator(tmp_path_factory.mktemp('emu-gce'))
    yield emu
    emu.stop()


@pytest.fixture
def emulator(gce_emulator):
    if not gce_emulator.alive():
        pytest.fail('the emulator process died; see %s' % gce_emulator.workdir)
    gce_emulator.configure(**DEFAULT_CONFIG)
    gce_emulator.reset()
    yield gce_emulator
    gce_emulator.clear_faults()


def create_running_instance(emu, name, project='emu-project', zone='us-central1-a', deadline=30.0, labels=None):
    """Insert a minimal COS instance straight through the API (with `labels`) and wait until it runs."""
    import time

    emu.call('POST', '/compute/v1/projects/%s/zones/%s/instances' % (project, zone), dict({
        'name': name, 'machineType': 'zones/%s/machineTypes/e2-small' % zone,
        'disks': [{'boot': True, 'initializeParams': {
            'sourceImage': 'projects/cos-cloud/global/images/family/cos-stable'}}],
        'networkInterfaces': [{'network': 'global/networks/default'}]}, **({'labels': labels} if labels else {})))
    path = '/compute/v1/projects/%s/zones/%s/instances/%s' % (project, zone, name)
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if emu.call('GET', path)['status'] == 'RUNNING':
            return path
        time.sleep(0.05)
    raise AssertionError('instance %s did not reach RUNNING within %ss' % (name, deadline))
