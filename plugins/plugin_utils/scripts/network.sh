# shellcheck shell=sh
# The job network and its firewall, as root on the worker (see
# plugin_utils/_job_network.py), run after job_precheck.sh as the same `sh -c`:
# $1 is the docker client, $2-$6 the precheck's; then $7 the egress mode (open,
# github; anything else: nothing to do), $8 the proxy image, $9 the proxy's spec
# hash, $10 the proxy script, then the allow-list. Prints net=ok, or net=fail <why>.
# The @...@ words are the collection's constants, filled in by the controller.
docker=$1
shift 6
mode=$1 image=$2 spec=$3 proxy=$4
shift 4
case "$mode" in open|github) ;; *) echo net=skip; exit 0 ;; esac
fail() { echo "net=fail $*"; exit 0; }
# shellcheck disable=SC2015  # fail when either is missing
command -v iptables >/dev/null 2>&1 && command -v iptables-restore >/dev/null 2>&1 || fail 'iptables is not installed'
if [ -w /run ] && command -v flock >/dev/null 2>&1; then
  exec 9>>@LOCK@
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
network @JOBS@ @JOBS_BRIDGE@ -o com.docker.network.bridge.enable_icc=false
proxy_ip=
if [ "$mode" = github ]; then
  network @EGRESS@ @EGRESS_BRIDGE@ --internal
  state=$("$docker" container inspect --format '{{.State.Status}} {{index .Config.Labels "@SPEC_LABEL@"}}' @PROXY_NAME@ 2>/dev/null)
  if [ "$state" != "running $spec" ]; then
    "$docker" rm -f @PROXY_NAME@ >/dev/null 2>&1
    # shellcheck disable=SC2015  # fail when any step fails
    "$docker" create --name @PROXY_NAME@ --label "@PROXY_LABEL@=true" --label "@SPEC_LABEL@=$spec" \
      --network @EGRESS@ --user 65534:65534 --cap-drop ALL --security-opt no-new-privileges --read-only \
      --memory 256m --pids-limit 256 --entrypoint python3 "$image" -c "$proxy" "$@" >/dev/null 2>&1 &&
    "$docker" network connect @JOBS@ @PROXY_NAME@ >/dev/null 2>&1 &&
    "$docker" start @PROXY_NAME@ >/dev/null 2>&1 || fail "could not start the egress proxy @PROXY_NAME@ from $image"
    i=0
    until "$docker" exec @PROXY_NAME@ python3 -c 'import socket; socket.create_connection(("127.0.0.1", @PORT@), 1)' >/dev/null 2>&1; do
      i=$((i + 1))
      [ "$i" -lt 100 ] || fail "the egress proxy @PROXY_NAME@ does not listen: see docker logs @PROXY_NAME@"
      sleep 0.1
    done
  fi
  proxy_ip=$("$docker" container inspect --format '{{with index .NetworkSettings.Networks "@EGRESS@"}}{{.IPAddress}}{{end}}' @PROXY_NAME@)
  [ -n "$proxy_ip" ] || fail 'the egress proxy has no address on @EGRESS@'
fi
{
  echo '*filter'
  echo ':@FWD@ - [0:0]'
  echo ':@INP@ - [0:0]'
  echo '-A @FWD@ -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN'
  echo '-A @FWD@ -d 169.254.0.0/16 -j DROP'
  echo '-A @FWD@ -m conntrack --ctstate DNAT -j DROP'
  [ -z "$proxy_ip" ] || echo "-A @FWD@ -i @EGRESS_BRIDGE@ -o @EGRESS_BRIDGE@ -d $proxy_ip/32 -p tcp -m tcp --dport @PORT@ -j RETURN"
  echo '-A @FWD@ -i @EGRESS_BRIDGE@ -j DROP'
  echo '-A @INP@ -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN'
  echo '-A @INP@ -j DROP'
  echo 'COMMIT'
} | iptables-restore -w 10 --noflush 2>&1 || fail 'iptables-restore refused the rules'
iptables -w 10 -C DOCKER-USER -i @BRIDGES@ -j @FWD@ 2>/dev/null ||
  iptables -w 10 -I DOCKER-USER 1 -i @BRIDGES@ -j @FWD@ || fail 'could not hook @FWD@ into DOCKER-USER'
iptables -w 10 -C INPUT -i @BRIDGES@ -j @INP@ 2>/dev/null ||
  iptables -w 10 -I INPUT 1 -i @BRIDGES@ -j @INP@ || fail 'could not hook @INP@ into INPUT'
echo net=ok
