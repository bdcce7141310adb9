# shellcheck shell=sh
# job_launch DATA_ROOT JOB STAMP SUPERVISOR_SCRIPT ARGS... (after log_dir.sh): make the
# run's log and state files in the job's log folder (entered as _log_dir says; never
# over an existing name), open and lock the state file (fd 8), start the supervisor
# detached (setsid: its own session, no terminal; nohup where there is no setsid)
# holding that lock, and return at once: started=STAMP, supervisor=scope UNIT or setsid.
#
# As root on a host that systemd runs (COS), the supervisor gets a scope unit of its own
# first (systemd-run --scope, which execs the command it is given: the environment, the
# folder, the lock's descriptor and every argument pass as they are, nothing expanded):
# out of the SSH session's scope, which logind ends with all its processes at logout
# when KillUserProcesses=yes (setsid leaves a process in its session's cgroup). The
# scope lasts while the supervisor and its processes run. Elsewhere, or when
# systemd-run cannot make the scope, setsid alone.
enter_log_dir "$1" "$2" 1 || exit 1
# shellcheck disable=SC2034  # data_root: for job_launch_poll.sh (the first poll in the same command)
data_root=$1 job=$2 stamp=$3 script=$4
shift 4
for f in "$stamp.log" "$stamp.state" "$stamp.exit"; do
  if [ -e "$f" ] || [ -L "$f" ]; then echo "error=$PWD/$f exists already: refusing to write through it"; exit 1; fi
done
umask 022
(set -C; : >"$stamp.log" && : >"$stamp.state") || { echo "error=cannot create the log of $PWD/$stamp"; exit 1; }
exec 8>>"$stamp.state"
flock -n 8 || { echo "error=$PWD/$stamp.state is locked"; exit 1; }
unit=gcli-offload-$job-$stamp
# systemd-run fails (non-zero) only before it runs the command, which exits 0 once the
# supervisor is started in the background: no supervisor runs twice
if [ "$(id -u)" = 0 ] && [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1 \
   && command -v setsid >/dev/null 2>&1 \
   && systemd-run --scope --quiet --collect --unit="$unit" -- \
        sh -c '"$@" </dev/null >/dev/null 2>&1 & exit 0' offload-scope \
        setsid sh -c "$script" offload-supervisor "$stamp" "$@" </dev/null >/dev/null 2>&1; then
  echo "supervisor=scope $unit.scope"
elif command -v setsid >/dev/null 2>&1; then
  setsid sh -c "$script" offload-supervisor "$stamp" "$@" </dev/null >/dev/null 2>&1 &
  echo "supervisor=setsid"
else
  nohup sh -c "$script" offload-supervisor "$stamp" "$@" </dev/null >/dev/null 2>&1 &
  echo "supervisor=nohup"
fi
echo "started=$stamp"
# the supervisor's copy of fd 8 holds the lock from now on (this shell's would make a
# poll in this command see a dead supervisor as alive)
exec 8>&-
