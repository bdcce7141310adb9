# shellcheck shell=sh
# After a name conflict with another run's `docker run`: docker reserves the
# name before the container can be inspected, so wait (on the worker, one round
# trip) until it can be, at most $3 tenths of a second. $1 docker, $2 the container.
i=0
while [ "$i" -lt "$3" ]; do
  "$1" container inspect --format '@INSPECT_FORMAT@' "$2" 2>/dev/null && exit 0
  i=$((i + 1))
  sleep 0.1
done
exit 1
