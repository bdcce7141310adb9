# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The job network on the worker host: what a job container can reach.

NETWORK_SCRIPT is a fixed shell script run as root on the worker (COS has sh,
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

PROXY_SCRIPT is the egress proxy (Python, in a container of the job image): it
opens CONNECT tunnels to port 443 of allowed host names only and refuses
anything else. NETWORK_REMOVE_SCRIPT takes it all away (clean.yml -e all=true)
once no job uses the networks.
"""

from __future__ import annotations

import hashlib

from ansible_collections.gcli.offload.plugins.module_utils._jobs import (
    EGRESS_BRIDGE,
    EGRESS_NETWORK,
    JOB_BRIDGE,
    JOB_NETWORK,
    LABEL_PREFIX,
    PROXY_NAME,
    PROXY_PORT,
)

CHAIN_FORWARD = 'GCLI-OFFLOAD-FWD'
CHAIN_INPUT = 'GCLI-OFFLOAD-IN'
BRIDGES = 'gcli-offload+'  # iptables' interface wildcard: both job bridges
PROXY_LABEL = LABEL_PREFIX + 'proxy'
SPEC_LABEL = LABEL_PREFIX + 'spec'
LOCK = '/run/gcli-offload-network.lock'

# The proxy: CONNECT host:443 for allowed names (an entry `.example.com` allows
# its subdomains), everything else 403. It logs each refusal (docker logs).
PROXY_SCRIPT = r'''
import asyncio, sys
ALLOW = [a.lower() for a in sys.argv[1:]]


def allowed(host):
    host = host.lower().rstrip('.')
    return any(host == a or (a.startswith('.') and host.endswith(a)) for a in ALLOW)


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except Exception:
        pass
    finally:
        writer.close()


async def handle(reader, writer):
    try:
        head = await asyncio.wait_for(reader.readuntil(b'\r\n\r\n'), 30)
        method, target = (head.split(b'\r\n', 1)[0].decode('latin-1').split(' ') + ['', ''])[:2]
        host, _sep, port = target.rpartition(':')
        if method != 'CONNECT' or port != '443' or not allowed(host):
            print('refused %s %s' % (method[:16], target[:200]), flush=True)
            writer.write(b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
            await writer.drain()
            writer.close()
            return
        up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, 443), 30)
    except Exception as exc:
        print('failed: %s' % str(exc)[:200], flush=True)
        try:
            writer.write(b'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n')
            await writer.drain()
        finally:
            writer.close()
        return
    writer.write(b'HTTP/1.1 200 Connection established\r\n\r\n')
    await writer.drain()
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def main():
    server = await asyncio.start_server(handle, '0.0.0.0', %(port)d)
    async with server:
        await server.serve_forever()


asyncio.run(main())
'''.replace('%(port)d', str(PROXY_PORT))

# Runs after the precheck's own lines, as the same `sh -c`: $1 is the docker
# client, $2-$5 the precheck's; then $6 the egress mode (open, github; anything
# else: nothing to do), $7 the proxy image, $8 the proxy's spec hash, $9 the
# proxy script, then the allow-list. Prints net=ok, or net=fail <why>.
NETWORK_SCRIPT = r'''
docker=$1
shift 5
mode=$1 image=$2 spec=$3 proxy=$4
shift 4
case "$mode" in open|github) ;; *) echo net=skip; exit 0 ;; esac
fail() { echo "net=fail $*"; exit 0; }
command -v iptables >/dev/null 2>&1 && command -v iptables-restore >/dev/null 2>&1 || fail 'iptables is not installed'
if [ -w /run ] && command -v flock >/dev/null 2>&1; then
  exec 9>>%(lock)s
  flock -w 60 9 || fail 'another run held the network lock for 60 s'
fi
iptables -w 10 -n -L DOCKER-USER >/dev/null 2>&1 || fail 'no DOCKER-USER chain: this needs root on the worker and Docker managing iptables'
network() {  # name bridge [options]: make it unless it is there (another run may make it meanwhile)
  n=$1 b=$2
  shift 2
  "$docker" network inspect --format '{{.Name}}' "$n" >/dev/null 2>&1 ||
  "$docker" network create --driver bridge -o "com.docker.network.bridge.name=$b" "$@" "$n" >/dev/null 2>&1 ||
  "$docker" network inspect --format '{{.Name}}' "$n" >/dev/null 2>&1 || fail "could not create the docker network $n"
}
network %(jobs)s %(jobs_bridge)s -o com.docker.network.bridge.enable_icc=false
proxy_ip=
if [ "$mode" = github ]; then
  network %(egress)s %(egress_bridge)s --internal
  state=$("$docker" container inspect --format '{{.State.Status}} {{index .Config.Labels "%(spec_label)s"}}' %(proxy_name)s 2>/dev/null)
  if [ "$state" != "running $spec" ]; then
    "$docker" rm -f %(proxy_name)s >/dev/null 2>&1
    "$docker" create --name %(proxy_name)s --label "%(proxy_label)s=true" --label "%(spec_label)s=$spec" \
      --network %(egress)s --user 65534:65534 --cap-drop ALL --security-opt no-new-privileges --read-only \
      --memory 256m --pids-limit 256 --entrypoint python3 "$image" -c "$proxy" "$@" >/dev/null 2>&1 &&
    "$docker" network connect %(jobs)s %(proxy_name)s >/dev/null 2>&1 &&
    "$docker" start %(proxy_name)s >/dev/null 2>&1 || fail "could not start the egress proxy %(proxy_name)s from $image"
    i=0
    until "$docker" exec %(proxy_name)s python3 -c 'import socket; socket.create_connection(("127.0.0.1", %(port)d), 1)' >/dev/null 2>&1; do
      i=$((i + 1))
      [ "$i" -lt 100 ] || fail "the egress proxy %(proxy_name)s does not listen: see docker logs %(proxy_name)s"
      sleep 0.1
    done
  fi
  proxy_ip=$("$docker" container inspect --format '{{with index .NetworkSettings.Networks "%(egress)s"}}{{.IPAddress}}{{end}}' %(proxy_name)s)
  [ -n "$proxy_ip" ] || fail 'the egress proxy has no address on %(egress)s'
fi
{
  echo '*filter'
  echo ':%(fwd)s - [0:0]'
  echo ':%(inp)s - [0:0]'
  echo '-A %(fwd)s -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN'
  echo '-A %(fwd)s -d 169.254.0.0/16 -j DROP'
  echo '-A %(fwd)s -m conntrack --ctstate DNAT -j DROP'
  [ -z "$proxy_ip" ] || echo "-A %(fwd)s -i %(egress_bridge)s -o %(egress_bridge)s -d $proxy_ip/32 -p tcp -m tcp --dport %(port)d -j RETURN"
  echo '-A %(fwd)s -i %(egress_bridge)s -j DROP'
  echo '-A %(inp)s -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN'
  echo '-A %(inp)s -j DROP'
  echo 'COMMIT'
} | iptables-restore -w 10 --noflush 2>&1 || fail 'iptables-restore refused the rules'
iptables -w 10 -C DOCKER-USER -i %(bridges)s -j %(fwd)s 2>/dev/null ||
  iptables -w 10 -I DOCKER-USER 1 -i %(bridges)s -j %(fwd)s || fail 'could not hook %(fwd)s into DOCKER-USER'
iptables -w 10 -C INPUT -i %(bridges)s -j %(inp)s 2>/dev/null ||
  iptables -w 10 -I INPUT 1 -i %(bridges)s -j %(inp)s || fail 'could not hook %(inp)s into INPUT'
echo net=ok
''' % {
    'lock': LOCK, 'jobs': JOB_NETWORK, 'jobs_bridge': JOB_BRIDGE, 'egress': EGRESS_NETWORK,
    'egress_bridge': EGRESS_BRIDGE, 'proxy_name': PROXY_NAME, 'proxy_label': PROXY_LABEL, 'spec_label': SPEC_LABEL,
    'port': PROXY_PORT, 'fwd': CHAIN_FORWARD, 'inp': CHAIN_INPUT, 'bridges': BRIDGES,
}

# clean.yml -e all=true: the proxy, then the networks (docker refuses while a job
# container is attached: then nothing else is removed), then the rules. A job that
# starts later makes them all again before it runs. $1 the docker client.
NETWORK_REMOVE_SCRIPT = r'''
docker=$1
if [ -w /run ] && command -v flock >/dev/null 2>&1; then exec 9>>%(lock)s; flock -w 60 9; fi
"$docker" rm -f %(proxy_name)s >/dev/null 2>&1
for n in %(egress)s %(jobs)s; do
  "$docker" network inspect --format '{{.Name}}' "$n" >/dev/null 2>&1 || continue
  "$docker" network rm "$n" >/dev/null 2>&1 || { echo "net=busy $n"; exit 0; }
done
if command -v iptables >/dev/null 2>&1; then
  while iptables -w 10 -D DOCKER-USER -i %(bridges)s -j %(fwd)s 2>/dev/null; do :; done
  while iptables -w 10 -D INPUT -i %(bridges)s -j %(inp)s 2>/dev/null; do :; done
  for c in %(fwd)s %(inp)s; do iptables -w 10 -F "$c" 2>/dev/null && iptables -w 10 -X "$c" 2>/dev/null; done
fi
echo net=removed
''' % {
    'lock': LOCK, 'jobs': JOB_NETWORK, 'egress': EGRESS_NETWORK, 'proxy_name': PROXY_NAME, 'fwd': CHAIN_FORWARD,
    'inp': CHAIN_INPUT, 'bridges': BRIDGES,
}


def network_params(egress, image, check_mode=False):
    """NETWORK_SCRIPT's parameters ($5 on) for a job's egress ({'mode', 'allow'}) and image."""
    mode = 'check' if check_mode else egress['mode']
    spec = hashlib.sha256('\0'.join([image, PROXY_SCRIPT] + egress['allow']).encode()).hexdigest()[:16]
    return [mode, image, spec, PROXY_SCRIPT] + (egress['allow'] if egress['mode'] == 'github' else [])
