# shellcheck shell=sh
# Prints the newest log of a job folder (after log_dir.sh), its measure and
# its exit code: $1 the data root, $2 the job, $3 = 1 to follow. With follow, first
# waits until that run has ended: the runner writes the .exit file after the job's
# output is complete (the container's own exit comes a little earlier). Links are
# refused, never followed.
enter_log_dir "$1" "$2" 0
case $? in 0) ;; 2) exit 0 ;; *) exit 1 ;; esac
log=
for f in *.log; do
  if [ -e "$f" ] || [ -L "$f" ]; then log=$f; fi
done
[ -n "$log" ] || exit 0
if [ -L "$log" ] || [ ! -f "$log" ]; then
  echo "error=$PWD/$log is a link or not a regular file: refusing it"
  exit 1
fi
echo "log=$1/@LOGS@/$2/$log"
exit_file=${log%.log}.exit
if [ "$3" = 1 ]; then
  while [ ! -e "$exit_file" ]; do sleep 0.2; done
fi
if [ -f "$exit_file" ] && [ ! -L "$exit_file" ]; then echo "rc=$(head -c 16 "$exit_file")"; fi
measure "$log"
exit 0
