# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Idle auto-stop: a systemd timer on the worker VM that stops the VM after N idle
minutes (no job container running, no job supervisor running, no SSH session).

The VM stops itself with its own service account's token from the metadata
server; no user credential is ever forwarded to it. The token goes to curl on
standard input (`-H @-`), never in a process's arguments. The script needs sh,
coreutils, grep, sed, flock, curl and the docker CLI: what Container-Optimized OS has.
"""

from __future__ import annotations

SCRIPT_PATH = '/etc/gcli-offload/idle-stop'  # /etc is a tmpfs re-written at every boot, and executable
SERVICE = 'gcli-offload-idle-stop.service'
TIMER = 'gcli-offload-idle-stop.timer'

# A string, not a file under plugin_utils/scripts/ like the worker's other scripts: a
# module renders it into cloud-init, and a module ships no data file (AnsiballZ carries
# module_utils' Python only). tests/unit/plugins/plugin_utils/test_scripts.py runs
# shellcheck on it.
SCRIPT = r'''#!/bin/sh
# gcli-offload idle stop: stops this VM after OFFLOAD_IDLE_MINUTES with no job
# container running, no job supervisor running and no SSH session. Run every minute by
# a systemd timer.
set -eu
minutes=${OFFLOAD_IDLE_MINUTES:?}
state=${OFFLOAD_IDLE_STATE:-/run/gcli-offload/idle-since}
md=${OFFLOAD_METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}
api=${OFFLOAD_COMPUTE_URL:-https://compute.googleapis.com/compute/v1}
docker=${OFFLOAD_DOCKER:-docker}
net=${OFFLOAD_PROC_NET:-/proc/net}
now=$(date +%s)

busy_dir=${OFFLOAD_IDLE_BUSY_DIR:-/run/gcli-offload/busy}
# A job's supervisor holds an flock on its file in busy_dir from its start to its end
# (between the parts too, and while it releases the worktree): it counts whatever the
# SSH session that started it did. A file whose lock is free is a supervisor that died.
supervised() {
  for f in "$busy_dir"/*; do
    if [ -f "$f" ] && ! flock -n "$f" true 2>/dev/null; then return 0; fi
  done
  return 1
}

busy=
if [ -n "$("$docker" ps -q --filter label=gcli.offload.managed=true --filter status=running)" ]; then
  busy="a job container runs"
elif supervised; then
  busy="a job's supervisor runs"
# an established TCP connection on local port 22 (0016): an SSH session
elif cat "$net/tcp" "$net/tcp6" 2>/dev/null | grep -Eq '^ *[0-9]+: [0-9A-F]+:0016 [0-9A-F]+:[0-9A-F]+ 01 '; then
  busy="an SSH session is open"
fi
if [ -n "$busy" ]; then
  rm -f "$state"
  echo "busy: $busy"
  exit 0
fi
mkdir -p "$(dirname "$state")"
[ -f "$state" ] || { echo "$now" >"$state"; echo "idle since now"; exit 0; }
idle=$(( now - $(cat "$state") ))
if [ "$idle" -lt $(( minutes * 60 )) ]; then
  echo "idle for ${idle}s of $(( minutes * 60 ))s"
  exit 0
fi

flavor='Metadata-Flavor: Google'
get() { curl -sSf --max-time 10 -H "$flavor" "$md/$1"; }
token=$(get instance/service-accounts/default/token | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "no token from the metadata server" >&2; exit 1; }
project=$(get project/project-id)
zone=$(get instance/zone)
zone=${zone##*/}
name=$(get instance/name)
echo "idle for ${idle}s: stopping $name in $zone ($project)"
printf 'Authorization: Bearer %s\n' "$token" \
  | curl -sSf --max-time 30 -X POST -H @- -H 'Content-Length: 0' \
      "$api/projects/$project/zones/$zone/instances/$name/stop" >/dev/null
rm -f "$state"
'''


def render_units(minutes):
    """The service and the timer (every minute, from 5 minutes after boot)."""
    minutes = int(minutes)
    if minutes < 1:
        raise ValueError('idle stop minutes must be at least 1')
    service = '\n'.join([
        '# Written by gcli.offload (cloud-init); do not edit on the VM.',
        '[Unit]',
        'Description=gcli.offload: stop this VM when idle for %d minutes' % minutes,
        'After=docker.service',
        '',
        '[Service]',
        'Type=oneshot',
        'Environment=OFFLOAD_IDLE_MINUTES=%d' % minutes,
        'ExecStart=/bin/sh %s' % SCRIPT_PATH,
        '',
    ])
    timer = '\n'.join([
        '# Written by gcli.offload (cloud-init); do not edit on the VM.',
        '[Unit]',
        'Description=gcli.offload: check every minute whether this VM is idle',
        '',
        '[Timer]',
        'OnBootSec=5min',
        'OnUnitActiveSec=1min',
        'AccuracySec=10s',
        '',
        '[Install]',
        'WantedBy=timers.target',
        '',
    ])
    return {SERVICE: service, TIMER: timer}


def cloud_config_parts(minutes):
    """(write_files entries, runcmd entries) to merge into a #cloud-config."""
    files = [{'path': SCRIPT_PATH, 'permissions': '0755', 'owner': 'root', 'content': SCRIPT}]
    files += [{'path': '/etc/systemd/system/%s' % name, 'permissions': '0644', 'owner': 'root', 'content': body}
              for name, body in sorted(render_units(minutes).items())]
    return files, [['systemctl', 'daemon-reload'], ['systemctl', 'start', TIMER]]
