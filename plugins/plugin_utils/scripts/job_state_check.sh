# shellcheck shell=sh
# Whether job $2 runs (after log_dir.sh and job_state.sh): its container's state
# (status=, docker $3) and its newest run (run=, under data root $1). One round trip.
"$3" container inspect --format 'status={{.State.Status}}' "$2" 2>/dev/null || echo status=none
( enter_log_dir "$1" "$2" 0; case $? in 0) job_run ;; 2) echo "run=none" ;; *) exit 1 ;; esac )
