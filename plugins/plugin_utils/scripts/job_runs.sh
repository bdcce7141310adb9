# shellcheck shell=sh
# job_runs DATA_ROOT (after log_dir.sh and job_state.sh): every job folder's newest run,
# job=NAME, its run= line and its state file's lines (state=), and the worker's clock
# (now=). Folders are entered as _log_dir says; one that is refused is skipped.
echo "now=$(date +%s)"
if [ ! -d "$1/@LOGS@" ] || [ -L "$1/@LOGS@" ]; then exit 0; fi
for d in "$1"/@LOGS@/offload-*; do
  job=${d##*/}
  if [ ! -d "$d" ] || [ -L "$d" ]; then continue; fi
  ( enter_log_dir "$1" "$job" 0 >/dev/null || exit 0
    echo "job=$job"
    job_run
    st=
    for f in ????????T??????Z.state; do if [ -f "$f" ] && [ ! -L "$f" ]; then st=$f; fi; done
    [ -z "$st" ] || head -c 65536 "$st" | sed 's/^/state=/' )
done
