# shellcheck shell=sh
# Prints the newest log of a job folder (after log_dir.sh and job_state.sh; $1 the data
# root, $2 the job; with a part, $4, that run's log of the part), the run's state
# (job_run), its measure and its exit code. Links are refused, never followed.
enter_log_dir "$1" "$2" 0
case $? in 0) ;; 2) exit 0 ;; *) exit 1 ;; esac
log=
for f in *.log; do
  case $f in *.*.log) continue ;; esac  # a part's log (STAMP.PART.log)
  if [ -e "$f" ] || [ -L "$f" ]; then log=$f; fi
done
[ -n "$log" ] || exit 0
if [ -n "$4" ]; then log=${log%.log}.$4.log; fi
if [ -L "$log" ] || [ ! -f "$log" ]; then
  if [ -n "$4" ] && [ ! -e "$log" ] && [ ! -L "$log" ]; then echo "error=the newest run has no part $4"; exit 1; fi
  echo "error=$PWD/$log is a link or not a regular file: refusing it"
  exit 1
fi
echo "log=$1/@LOGS@/$2/$log"
job_run
exit_file=${log%.log}.exit
if [ -f "$exit_file" ] && [ ! -L "$exit_file" ]; then echo "rc=$(head -c 16 "$exit_file")"; fi
measure "$log"
exit 0
