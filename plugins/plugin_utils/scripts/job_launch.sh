# shellcheck shell=sh
# job_launch DATA_ROOT JOB STAMP SUPERVISOR_SCRIPT ARGS... (after log_dir.sh): make the
# run's log and state files in the job's log folder (entered as _log_dir says; never
# over an existing name), open and lock the state file (fd 8), start the supervisor
# detached (setsid: its own session, no terminal; nohup where there is no setsid)
# holding that lock, and return at once: started=STAMP.
enter_log_dir "$1" "$2" 1 || exit 1
stamp=$3 script=$4
shift 4
for f in "$stamp.log" "$stamp.state" "$stamp.exit"; do
  if [ -e "$f" ] || [ -L "$f" ]; then echo "error=$PWD/$f exists already: refusing to write through it"; exit 1; fi
done
umask 022
(set -C; : >"$stamp.log" && : >"$stamp.state") || { echo "error=cannot create the log of $PWD/$stamp"; exit 1; }
exec 8>>"$stamp.state"
flock -n 8 || { echo "error=$PWD/$stamp.state is locked"; exit 1; }
if command -v setsid >/dev/null 2>&1; then
  setsid sh -c "$script" offload-supervisor "$stamp" "$@" </dev/null >/dev/null 2>&1 &
else
  nohup sh -c "$script" offload-supervisor "$stamp" "$@" </dev/null >/dev/null 2>&1 &
fi
echo "started=$stamp"
