# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The job network on the worker host: what a job container can reach.

scripts/network.sh is a fixed shell script run as root on the worker (COS has sh,
iptables and Docker; no Python) as part of the command that inspects the job
container before a run, so it costs no round trip. It is idempotent:

- the networks: `gcli-offload-jobs` (bridge `gcli-offload0`, no traffic between
  its containers) for `open`; for `github` also `gcli-offload-egress` (bridge
  `gcli-offload1`, internal: no route out) and the egress proxy container on
  both, the only way out of the internal network;
- the firewall, in chains of the collection's own: GCLI-OFFLOAD-FWD (jumped to
  from Docker's DOCKER-USER for traffic coming from the job bridges) drops the
  link-local range (the metadata server, 169.254.169.254), connections to the
  host's published ports (destination NAT), and, from the internal network,
  everything but the proxy's port; GCLI-OFFLOAD-IN (jumped to from INPUT) drops
  every new connection from the job bridges to the host itself (its bridge
  gateways, its own addresses, every port). Both chains are written in one
  `iptables-restore --noflush` transaction: never a moment with half the rules.

scripts/proxy.py is the egress proxy (Python, in a container of the job image):
it opens CONNECT tunnels to port 443 of allowed host names only and refuses
anything else. scripts/network_remove.sh takes it all away (clean.yml -e all=true)
once no job uses the networks.
"""

from __future__ import annotations

import hashlib

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    EGRESS_BRIDGE,
    EGRESS_NETWORK,
    JOB_BRIDGE,
    JOB_NETWORK,
    PROXY_NAME,
    PROXY_PORT,
)
from ansible_collections.gcli.offload.plugins.module_utils._worker_layout import LABEL_PREFIX, SPEC_LABEL
from ansible_collections.gcli.offload.plugins.plugin_utils import _scripts

CHAIN_FORWARD = 'GCLI-OFFLOAD-FWD'
CHAIN_INPUT = 'GCLI-OFFLOAD-IN'
BRIDGES = 'gcli-offload+'  # iptables' interface wildcard: both job bridges
PROXY_LABEL = LABEL_PREFIX + 'proxy'
LOCK = '/run/gcli-offload-network.lock'

PROXY_SCRIPT = _scripts.load('proxy.py')
# Run after the precheck's lines (job_precheck.sh), as the same `sh -c`.
NETWORK_SCRIPT = _scripts.load(
    'network.sh', LOCK=LOCK, JOBS=JOB_NETWORK, JOBS_BRIDGE=JOB_BRIDGE, EGRESS=EGRESS_NETWORK,
    EGRESS_BRIDGE=EGRESS_BRIDGE, PROXY_NAME=PROXY_NAME, PROXY_LABEL=PROXY_LABEL, SPEC_LABEL=SPEC_LABEL,
    PORT=PROXY_PORT, FWD=CHAIN_FORWARD, INP=CHAIN_INPUT, BRIDGES=BRIDGES)
# clean.yml -e all=true, once no job uses the networks.
NETWORK_REMOVE_SCRIPT = _scripts.load(
    'network_remove.sh', LOCK=LOCK, JOBS=JOB_NETWORK, EGRESS=EGRESS_NETWORK, PROXY_NAME=PROXY_NAME,
    FWD=CHAIN_FORWARD, INP=CHAIN_INPUT, BRIDGES=BRIDGES)


def network_params(egress, image, check_mode=False):
    """NETWORK_SCRIPT's parameters ($7 on) for a job's egress ({'mode', 'allow'}) and image."""
    mode = 'check' if check_mode else egress['mode']
    spec = hashlib.sha256('\0'.join([image, PROXY_SCRIPT] + egress['allow']).encode()).hexdigest()[:16]
    return [mode, image, spec, PROXY_SCRIPT] + (egress['allow'] if egress['mode'] == 'github' else [])
