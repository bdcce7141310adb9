# shellcheck shell=sh
# job_run (after log_dir.sh; in a job's log folder, entered): the job's newest run,
# run=STAMP running|ended|lost EPOCH (when its supervisor started), or run=none. A run
# is alive while its state file's lock is held (job_supervisor.sh), ended once the
# state says `end`; without either its supervisor died (the worker restarted): lost.
job_run() {
  st=
  for f in ????????T??????Z.state; do
    if [ -f "$f" ] && [ ! -L "$f" ]; then st=$f; fi
  done
  if [ -z "$st" ]; then echo "run=none"; return 0; fi
  if grep -q '^end ' "$st"; then how=ended
  elif flock -n "$st" true 2>/dev/null; then how=lost
  else how=running; fi
  echo "run=${st%.state} $how $(sed -n 's/^supervisor [0-9]* \([0-9]*\)$/\1/p' "$st" | head -n 1)"
}
