# shellcheck shell=sh
# clean.yml -e all=true: the proxy, then the networks (docker refuses while a
# job container is attached: then nothing else is removed), then the rules. A job
# that starts later makes them all again before it runs. $1 the docker client.
docker=$1
if [ -w /run ] && command -v flock >/dev/null 2>&1; then exec 9>>@LOCK@; flock -w 60 9; fi
"$docker" rm -f @PROXY_NAME@ >/dev/null 2>&1
for n in @EGRESS@ @JOBS@; do
  "$docker" network inspect --format '{{.Name}}' "$n" >/dev/null 2>&1 || continue
  "$docker" network rm "$n" >/dev/null 2>&1 || { echo "net=busy $n"; exit 0; }
done
if command -v iptables >/dev/null 2>&1; then
  while iptables -w 10 -D DOCKER-USER -i @BRIDGES@ -j @FWD@ 2>/dev/null; do :; done
  while iptables -w 10 -D INPUT -i @BRIDGES@ -j @INP@ 2>/dev/null; do :; done
  for c in @FWD@ @INP@; do iptables -w 10 -F "$c" 2>/dev/null && iptables -w 10 -X "$c" 2>/dev/null; done
fi
echo net=removed
