# shellcheck shell=sh
# Before a job runs, one round trip (after log_dir.sh and job_state.sh; network.sh
# follows it in the same script):
# the job container's state ($1 docker, $2 the container), whether the token file
# exists ($3; empty: none configured) and can be read here, to mask it, what the
# job's default limits and the disk reserve are derived from: the worker's CPUs and
# memory, the size and free space of the data root's file system ($4), and where
# the host paths the job mounts ($3, $4, the gemini dir $5 and the model's API key
# file $6, empty: none configured) really are (symlinks followed).
"$1" container inspect --format 'status:{{.State.Status}}' "$2" 2>&1
echo "inspect=$?"
[ -z "$3" ] || { if test -f "$3" && test -r "$3"; then echo token=1; elif test -f "$3"; then echo token=unreadable
  else echo token=0; fi; }
[ -z "$6" ] || { if test -f "$6" && test -r "$6"; then echo key=1; elif test -f "$6"; then echo key=unreadable
  else echo key=0; fi; }
echo "cpus=$(nproc)"
while read -r key value _; do [ "$key" = MemTotal: ] && echo "mem_kb=$value"; done </proc/meminfo
df -Pk "$4" 2>/dev/null | { read -r _; read -r _ size _ avail _; echo "disk_kb=$size $avail"; }
for path in "$3" "$4" "$5" "$6"; do [ -z "$path" ] || echo "real=$(realpath -m -- "$path" 2>/dev/null)"; done
# The job's newest run (after log_dir.sh and job_state.sh): running, ended or lost.
( enter_log_dir "$4" "$2" 0; case $? in 0) job_run ;; *) echo "run=none" ;; esac )
