"""Units for _gce_names: one rule per Compute Engine name, and every plugin uses that one."""

import pathlib
import re

import pytest

from ansible_collections.gcli.offload.plugins.inventory import gce_workers
from ansible_collections.gcli.offload.plugins.module_utils import _gce_names as names
from ansible_collections.gcli.offload.plugins.module_utils import _gcp_firewall as fw
from ansible_collections.gcli.offload.plugins.module_utils import _worker_vm as wv
from ansible_collections.gcli.offload.plugins.module_utils._inputs import InputError

PLUGINS = pathlib.Path(__file__).resolve().parents[4] / 'plugins'


@pytest.mark.parametrize('call, good, bad, words', [
    (lambda v: names.validate_name(v, 'name'), 'gcli-worker-1', 'Worker', 'name: must be a Compute Engine name'),
    (lambda v: names.validate_name(v, 'name'), 'a' * 63, 'a' * 64, 'name: must be a Compute Engine name'),
    (lambda v: names.validate_zone(v, 'zone'), 'europe-west1-b', 'us-central1', 'zone: must be a zone name'),
    (lambda v: names.validate_project(v, 'project'), 'example.com:my-proj', 'My_Proj', 'project: must be a Google'),
    (lambda v: names.validate_email(v, 'sa'), 'sa@p.iam.gserviceaccount.com', 'sa', 'sa: must be a service account'),
    (lambda v: names.validate_labels(v, 'labels'), {'owner': 'me'}, {'Owner': 'me'}, 'labels: keys must be'),
    (lambda v: names.validate_reference(v, 'network'), 'projects/p/global/networks/n',
     'projects/p/global/networks/../n', 'network: must not contain empty, . or ..'),
    (lambda v: names.validate_reference(v, 'network'), 'https://compute.googleapis.com/compute/v1/projects/p/n',
     'https://h/x/N', 'network: must be a Compute Engine name'),
])
def test_each_name_rule(call, good, bad, words):
    call(good)
    with pytest.raises(InputError) as caught:
        call(bad)
    assert str(caught.value).startswith(words)


def test_basename_and_region():
    assert names.basename('https://x/compute/v1/projects/p/zones/us-central1-a/') == 'us-central1-a'
    assert names.basename(None) == ''
    assert names.region_of('us-central1-a') == 'us-central1'


def test_the_firewall_the_role_and_the_inventory_use_the_one_name_rule():
    assert fw.NAME_RE is names.NAME_RE and gce_workers.NAME_RE is names.NAME_RE
    assert gce_workers.ZONE_RE is names.ZONE_RE and gce_workers.PROJECT_RE is names.PROJECT_RE
    assert wv.DATA_ROOT_RE.match('/mnt/disks/offload') and not wv.DATA_ROOT_RE.match('/mnt/disks/Offload')


def test_no_plugin_writes_a_gce_name_zone_or_project_rule_of_its_own():
    """The regexes of a GCE name, zone and project stand in _gce_names.py only (as they did in four files)."""
    own = {'GCE name': r'\[a-z\]\((?:\?:)?\[-a-z0-9\]\{0,61\}', 'zone': r'\[a-z\]\+-\[a-z\]\+\[0-9\]\+',
           'project': r'\{4,28\}\[a-z0-9\]'}
    for path in PLUGINS.rglob('*.py'):
        if path.name == '_gce_names.py':
            continue
        text = path.read_text()
        for what, regex in own.items():
            assert not re.search(regex, text), '%s writes a %s rule of its own' % (path.relative_to(PLUGINS), what)
