"""The job network's host script and proxy: fixed text, inputs as parameters."""

from __future__ import annotations

import ast

from ansible_collections.gcli.offload.plugins.module_utils import _jobs as jobs
from ansible_collections.gcli.offload.plugins.plugin_utils import _job_network as net

SPEC = dict(pr=7, action='review', data_root='/mnt/disks/offload', image='gcli-offload/demo-job:latest')


def test_the_proxy_script_is_valid_python():
    ast.parse(net.PROXY_SCRIPT)


def test_parameters_carry_the_mode_image_and_allow_list_as_separate_arguments():
    egress = jobs.job_spec(egress='github', egress_allow=['a.example.com'], **SPEC)['egress']
    params = net.network_params(egress, 'img:1')
    assert params[0] == 'github' and params[1] == 'img:1' and params[3] == net.PROXY_SCRIPT
    assert params[4:] == ['a.example.com']
    # the proxy is remade when its image or allow-list changes, not otherwise
    assert params[2] == net.network_params(egress, 'img:1')[2] != net.network_params(egress, 'img:2')[2]
    other = jobs.job_spec(egress='github', egress_allow=['b.example.com'], **SPEC)['egress']
    assert net.network_params(other, 'img:1')[2] != params[2]


def test_check_mode_and_none_touch_no_network():
    open_egress = jobs.job_spec(**SPEC)['egress']
    assert net.network_params(open_egress, 'img', check_mode=True)[0] == 'check'
    assert net.network_params(jobs.job_spec(egress='none', **SPEC)['egress'], 'img')[0] == 'none'
    assert net.network_params(open_egress, 'img')[4:] == []  # no allow-list outside github


def test_the_firewall_drops_the_metadata_range_published_ports_and_the_host():
    script = net.NETWORK_SCRIPT
    assert "-A GCLI-OFFLOAD-FWD -d 169.254.0.0/16 -j DROP" in script
    assert "-A GCLI-OFFLOAD-FWD -m conntrack --ctstate DNAT -j DROP" in script
    assert "-A GCLI-OFFLOAD-IN -j DROP" in script
    assert 'iptables-restore -w 10 --noflush' in script
    # only the collection's bridges are matched
    assert '-I DOCKER-USER 1 -i gcli-offload+ -j GCLI-OFFLOAD-FWD' in script
    assert '-I INPUT 1 -i gcli-offload+ -j GCLI-OFFLOAD-IN' in script
