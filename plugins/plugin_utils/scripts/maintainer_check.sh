# shellcheck shell=sh
# The maintainer container's converged case in one round trip: the host paths
# as the worker resolves them (symlinks followed: the controller checks where they
# really are), the container's state and spec, and, when it runs, the data
# directories made in it by maintainer_dirs.sh (cheap and idempotent; also the probe
# that finds a data root replaced under the running container, and one that cannot
# execute files) unless a host path is a symlink (the controller checks it first).
# $1 docker, $2 the container, $3 the number of host paths, $4 maintainer_dirs.sh,
# the host paths, then the directories (none: only inspect, as in check mode).
docker=$1 name=$2 hosts=$3 dirs_script=$4
shift 4
plain=1
while [ "$hosts" -gt 0 ]; do
  real=$(realpath -m -- "$1" 2>/dev/null) || real=
  echo "real=$real"
  [ "$real" = "$1" ] || plain=0
  hosts=$((hosts - 1))
  shift
done
out=$("$docker" container inspect --format '@INSPECT_FORMAT@' "$name" 2>&1)
rc=$?
printf '%s\ninspect=%s\n' "$out" "$rc"
case "$out" in
"state=running "*) [ $# = 0 ] || [ "$plain" = 0 ] || {
  "$docker" exec --user 0 "$name" sh -c "$dirs_script" offload-dirs "$@" 2>&1; echo "dirs=$?"; } ;;
esac
