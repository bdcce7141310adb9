# shellcheck shell=sh
# The job supervisor: runs one job on the worker host to its end, detached from the
# connection that started it (job_launch starts it with setsid in the job's log folder,
# entered as _log_dir says, and returns). POSIX sh and coreutils, flock, awk: what a
# Container-Optimized OS host has; no Python, no git. A constant: inputs are
# positional parameters.
#
#   job_supervisor STAMP SECONDS GRACE DOCKER SECRETS MAINTAINER USER DEV JOB RELEASE GIT_SCRIPT STALE \
#                  PART CONTAINER PREFIX N ARGV... [PART CONTAINER PREFIX N ARGV...]...
#
# SECRETS: the secret files to mask in the logs (space-separated worker paths; empty:
# none). STALE: the names (space-separated) of every container the job could have left (a run
# of other parts, or one that died), removed before the parts start.
#
# Every part runs at once (a review: build, checks, ai_review), each under
# `timeout -k GRACE SECONDS` (TERM, proxied by `docker run` to the container's init,
# then KILL). What it writes, in the folder it starts in (nobody else can write it;
# every name is created with noclobber, never through a link):
#   STAMP.log               the job's output (every part's; with several parts, each line
#                           prefixed with [part]), every occurrence of the token masked
#   STAMP.PART.log, .exit   one part's output (masked) and exit code
#   STAMP.state             what happened, one line an event, appended:
#                             supervisor PID EPOCH / part NAME EPOCH / done NAME EPOCH RC OOM
#                             space AVAIL_KB / released EPOCH RC / end EPOCH RC
#                           The supervisor holds an flock on it until it ends: a run whose
#                           state has no `end` and whose lock is free died (the worker
#                           restarted, the supervisor was killed): it is lost.
#   STAMP.release           what the git script said when it released the worktree
#   STAMP.exit              the job's exit code, written last (after the release)
# After the parts: their containers are removed (their state read first: the
# out-of-memory killer), the worktree released by the git script in the maintainer
# container (RELEASE: release keeps it, remove removes it; git never runs on the host),
# and nothing is left running.
stamp=$1 seconds=$2 grace=$3 docker=$4 secret=$5 maintainer=$6 user=$7 dev=$8 job=$9 release=${10}
git_script=${11} stale=${12}
shift 12
umask 022
# fd 8: the state file, locked (job_launch opens and locks it, then starts this script
# with it: the lock is held from before the launch returns until the last part ends)
{ true >&8; } 2>/dev/null || exec 8>>"$stamp.state"
flock -n 8 || { echo "another supervisor holds $PWD/$stamp.state" >&2; exit 1; }
echo "supervisor $$ $(date +%s)" >&8
# fd 7: busy for the worker's idle stop (its own /run, as root: a COS VM), however the
# SSH session that started the job ended; removed at the end
busy=/run/gcli-offload/busy/$job.$stamp
if [ "$(id -u)" = 0 ] && mkdir -p /run/gcli-offload/busy 2>/dev/null && [ ! -L /run/gcli-offload/busy ] \
   && exec 7>>"$busy"; then
  flock -n 7 || true
else
  busy=
fi

if awk -W interactive 'BEGIN { exit }' </dev/null >/dev/null 2>&1; then
  lines_awk() { LC_ALL=C awk -W interactive "$@"; }
else
  lines_awk() { LC_ALL=C awk "$@"; }
fi
end=offload-end-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
# mask SECRET_FILES PART_FILE PREFIX: stdin to stdout (the job's log) and PART_FILE, every
# occurrence of each secret (the first line of each file of $1, space-separated paths:
# the GitHub token, the model's API key; read by awk from the files, never in an
# argument) as ***.
# mawk reads a pipe in blocks unless -W interactive, which mangles a last line without
# a newline: so every line reaches awk terminated, then a random end marker. awk writes
# each line whole at once (a follower shows it at once), an empty line only when the
# next one comes (the one before the marker stands for the output's final newline);
# when the output did not end with a newline, awk exits 3 and the newline it added to
# the last line is cut off: the logs are the output, byte for byte but the token. With
# a PREFIX (several parts share the job's log) each line of the job's log has it.
mask() {
  lines_awk -v f="$1" -v part="$2" -v prefix="$3" -v end="$end" '
    function out(text) { printf "%s\n", text >part; fflush(part); printf "%s%s\n", prefix, text; fflush() }
    function emit(text) {
      if (text == "") { empties++; return }
      while (empties > 0) { out(""); empties-- }
      out(text); started = 1 }
    BEGIN { k = split(f, files, " "); m = 0
      for (j = 1; j <= k; j++) if ((getline t < files[j]) > 0) { sub(/\r$/, "", t); if (t != "") secret[++m] = t } }
    { if (held) { emit(end); held = 0 }
      if ($0 == end) { held = 1; next }
      s = $0
      for (j = 1; j <= m; j++) {
        o = ""; t = secret[j]; n = length(t)
        while ((i = index(s, t)) > 0) { o = o substr(s, 1, i - 1) "***"; s = substr(s, i + n) }
        s = o s }
      emit(s) }
    END {
      if (!held) { while (empties > 0) { out(""); empties-- }; exit 0 }
      if (empties > 0) { while (empties > 1) { out(""); empties-- } }
      else if (started) exit 3 }'
}

# run_part PART CONTAINER PREFIX ARGV...: one part, to its end; its container removed.
run_part() {
  part=$1 container=$2 prefix=$3
  shift 3
  # a stopped leftover of a run that died before removing it
  "$docker" rm -f -v "$container" >/dev/null 2>&1 || true
  echo "part $part $(date +%s)" >&8
  (set -C; : >"$stamp.$part.log") || { echo "done $part $(date +%s) 1 false" >&8; return; }
  # fd 8 (the state's lock) stays with the supervisor's shells: it means "supervised"
  rc=$( { { timeout -k "$grace" "$seconds" "$@" 2>&1 </dev/null 3>&- 8>&-; echo "$?" >&3; printf '\n%s\n' "$end"; } \
    | { mask "$secret" "$stamp.$part.log" "$prefix" >>"$stamp.log" 8>&-
        if [ $? = 3 ]; then
          truncate -s -1 -- "$stamp.$part.log"
          if [ -z "$prefix" ]; then truncate -s -1 -- "$stamp.log"; fi
        fi; }; } 3>&1 )
  case $rc in '' | *[!0-9]*) rc=1 ;; esac
  oom=$("$docker" container inspect --format '{{.State.OOMKilled}}' "$container" 2>/dev/null) || oom=false
  "$docker" rm -f -v "$container" >/dev/null 2>&1 || true
  (set -C; echo "$rc" >"$stamp.$part.exit") || true
  echo "done $part $(date +%s) $rc ${oom:-false}" >&8
}

# shellcheck disable=SC2086 # $stale: container names, which have no blanks
[ -z "$stale" ] || "$docker" rm -f -v $stale >/dev/null 2>&1 || true

# The parts, all at once: PART CONTAINER PREFIX N, then the N words of its argv.
parts=
while [ $# -gt 0 ]; do
  part=$1 container=$2 prefix=$3 n=$4
  shift 4
  parts="$parts $part"
  (
    i=0
    for word do
      i=$((i + 1))
      if [ "$i" -le "$n" ]; then set -- "$@" "$word"; fi
    done
    shift "$i"
    run_part "$part" "$container" "$prefix" "$@"
  ) &
  shift "$n"
done
wait
# the space left once the parts ended, before the release frees what a job wrote
avail=$(df -Pk . 2>/dev/null | { read -r _; read -r _ _ _ avail _; echo "$avail"; })
echo "space ${avail:-unknown}" >&8

# The job's exit code: the first part's when it failed (a review's build), else 1 when
# another failed (`gh pr checks` exits 8 for checks still pending: not a failure).
status=0 summary='' first=1 many=0
for part in $parts; do
  [ "$first" = 1 ] || many=1
  # from the state (its first block is written at the start: lines within it need no
  # new space on a full disk, where the exit files may not be made)
  rc=$(sed -n "s/^done $part [0-9]* \([0-9]*\) .*/\1/p" "$stamp.state")
  case $rc in '' | *[!0-9]*) rc=1 ;; esac
  case $part:$rc in
    *:0) word=ok ;;
    checks:8) word=pending ;;
    *) word="failed ($rc)"
       if [ "$first" = 1 ]; then status=$rc; elif [ "$status" -eq 0 ]; then status=1; fi ;;
  esac
  first=0
  summary="$summary${summary:+, }$part $word"
done
if [ "$many" = 1 ]; then printf '==> %s: %s\n' "${job##*-}" "$summary" >>"$stamp.log"; fi

# Release the worktree: git runs in the maintainer container, with the pinned script.
if [ -n "$maintainer" ]; then
  if (set -C; : >"$stamp.release"); then
    printf '%s' "$git_script" \
      | timeout -k 10 900 "$docker" exec -i --user "$user" "$maintainer" sh -s -- "$release" "$dev" "$job" \
        >>"$stamp.release" 2>&1
    echo "released $(date +%s) $?" >&8
  else
    echo "released $(date +%s) 1" >&8
  fi
fi
(set -C; echo "$status" >"$stamp.exit") || true
echo "end $(date +%s) $status" >&8
if [ -n "$busy" ]; then rm -f -- "$busy"; fi
