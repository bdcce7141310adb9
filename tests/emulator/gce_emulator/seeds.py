# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Seeded, read-only data: zones, regions, machine types, disk types, public
images. Everything the emulator serves but never mutates lives here."""

from __future__ import annotations

import hashlib

ZONES = [
    'us-central1-a', 'us-central1-b', 'us-central1-c', 'us-central1-f',
    'us-east1-b', 'us-east1-c', 'us-east1-d',
    'us-west1-a', 'us-west1-b',
    'europe-west1-b', 'europe-west1-c', 'europe-west1-d',
    'europe-west4-a', 'europe-west4-b',
    'asia-east1-a', 'asia-east1-b',
]


def region_of(zone):
    return zone.rsplit('-', 1)[0]


REGIONS = sorted({region_of(z) for z in ZONES})

# Auto-mode subnetwork ranges of the `default` network (as in GCE).
AUTO_SUBNET_RANGES = {
    'us-central1': '10.128.0.0/20', 'europe-west1': '10.132.0.0/20', 'us-west1': '10.138.0.0/20',
    'asia-east1': '10.140.0.0/20', 'us-east1': '10.142.0.0/20', 'europe-west4': '10.164.0.0/20',
}

# The firewall rules of a new project's `default` network (as Compute Engine creates them, priority 65534,
# no target: every instance of the network): (name, description, sourceRanges, allowed).
DEFAULT_FIREWALLS = [
    ('default-allow-icmp', 'Allow ICMP from anywhere', ['0.0.0.0/0'], [{'IPProtocol': 'icmp'}]),
    ('default-allow-internal', 'Allow internal traffic on the default network', ['10.128.0.0/9'],
     [{'IPProtocol': 'tcp', 'ports': ['0-65535']}, {'IPProtocol': 'udp', 'ports': ['0-65535']},
      {'IPProtocol': 'icmp'}]),
    ('default-allow-rdp', 'Allow RDP from anywhere', ['0.0.0.0/0'], [{'IPProtocol': 'tcp', 'ports': ['3389']}]),
    ('default-allow-ssh', 'Allow SSH from anywhere', ['0.0.0.0/0'], [{'IPProtocol': 'tcp', 'ports': ['22']}]),
]

# name -> (guestCpus, memoryMb, description)
MACHINE_TYPES = {
    'e2-micro': (2, 1024, '2 vCPU (0.25 shared physical core) and 1 GB RAM'),
    'e2-small': (2, 2048, '2 vCPU (0.5 shared physical core) and 2 GB RAM'),
    'e2-medium': (2, 4096, '2 vCPU (1 shared physical core) and 4 GB RAM'),
    'e2-standard-2': (2, 8192, 'Efficient Instance, 2 vCPUs, 8 GB RAM'),
    'e2-standard-4': (4, 16384, 'Efficient Instance, 4 vCPUs, 16 GB RAM'),
    'e2-standard-8': (8, 32768, 'Efficient Instance, 8 vCPUs, 32 GB RAM'),
    'n1-standard-1': (1, 3840, '1 vCPU, 3.75 GB RAM'),
    'n1-standard-2': (2, 7680, '2 vCPUs, 7.5 GB RAM'),
    'n2-standard-2': (2, 8192, '2 vCPUs, 8 GB RAM'),
    'n2-standard-4': (4, 16384, '4 vCPUs, 16 GB RAM'),
    'n2-standard-8': (8, 32768, '8 vCPUs, 32 GB RAM'),
    'n2-standard-16': (16, 65536, '16 vCPUs, 64 GB RAM'),
    'n2d-standard-8': (8, 32768, '8 vCPUs, 32 GB RAM'),
    'c3-standard-8': (8, 32768, '8 vCPUs, 32 GB RAM'),
}

DISK_TYPES = {
    'pd-standard': ('Standard Persistent Disk', '10GB-65536GB'),
    'pd-balanced': ('Balanced Persistent Disk', '10GB-65536GB'),
    'pd-ssd': ('SSD Persistent Disk', '10GB-65536GB'),
    'pd-extreme': ('Extreme Persistent Disk', '500GB-65536GB'),
    'hyperdisk-balanced': ('Hyperdisk Balanced', '4GB-65536GB'),
}

_COS_LICENSES = ['projects/cos-cloud/global/licenses/cos', 'projects/cos-cloud-shielded/global/licenses/shielded-cos']

# project -> list of (name, family, creationTimestamp, diskSizeGb, deprecated state or None, licenses)
IMAGES = {
    'cos-cloud': [
        # oldest, yet the last by name ('9' > '1'): pick by creationTimestamp, never by name.
        ('cos-stable-97-16919-404-23', 'cos-stable', '2024-08-20T13:20:04.201-07:00', 10, None, _COS_LICENSES),
        ('cos-stable-113-18244-151-14', 'cos-stable', '2025-01-14T10:02:11.532-08:00', 10, 'DEPRECATED', _COS_LICENSES),
        ('cos-stable-117-18613-75-37', 'cos-stable', '2025-03-18T17:41:02.812-07:00', 10, None, _COS_LICENSES),
        ('cos-stable-121-18867-90-62', 'cos-stable', '2025-06-02T09:12:45.019-07:00', 10, None, _COS_LICENSES),
        # the newest of cos-stable (what the family resolves to)
        ('cos-stable-125-19216-0-94', 'cos-stable', '2026-10-21T11:30:00.101-07:00', 10, None, _COS_LICENSES),
        ('cos-beta-129-19488-0-12', 'cos-beta', '2026-11-02T08:00:00.000-08:00', 10, None, _COS_LICENSES),
        ('cos-dev-133-19701-0-3', 'cos-dev', '2026-11-16T08:00:00.000-08:00', 10, None, _COS_LICENSES),
        ('cos-121-18867-90-62', 'cos-121-lts', '2025-06-02T09:12:45.019-07:00', 10, None, _COS_LICENSES),
        ('cos-arm64-stable-125-19216-0-94', 'cos-arm64-stable', '2026-10-21T11:30:00.101-07:00', 10, None,
         _COS_LICENSES),
    ],
    'debian-cloud': [
        ('debian-12-bookworm-v20260910', 'debian-12', '2026-09-10T10:00:00.000-07:00', 10, None,
         ['projects/debian-cloud/global/licenses/debian-12-bookworm']),
        ('debian-12-bookworm-v20261014', 'debian-12', '2026-10-14T10:00:00.000-07:00', 10, None,
         ['projects/debian-cloud/global/licenses/debian-12-bookworm']),
    ],
    'ubuntu-os-cloud': [
        ('ubuntu-2404-noble-amd64-v20261101', 'ubuntu-2404-lts-amd64', '2026-11-01T10:00:00.000-07:00', 10, None,
         ['projects/ubuntu-os-cloud/global/licenses/ubuntu-2404-lts']),
    ],
}


def stable_id(*parts):
    """A deterministic numeric id (as GCE ids, a uint64 as a decimal string)."""
    digest = hashlib.sha256('/'.join(parts).encode()).digest()
    return str(int.from_bytes(digest[:8], 'big') >> 1)


def project_number(project):
    return str(100000000000 + int(stable_id('project', project)) % 900000000000)
