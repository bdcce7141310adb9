# shellcheck shell=sh
# Runs a job container to its end on the worker host (after log_dir.sh):
# $1 the log, $2 the timeout, $3 the kill grace, $4 the container, $5 docker,
# $6 the token file to mask (empty: none), then the job's `docker run` argv.
# `timeout` sends TERM (proxied by `docker run` to the container's init), then
# KILL to the client after the grace. Whatever the exit, the script then reads
# whether the out-of-memory killer ended the container and removes it (the job
# runs without --rm so that its state can be read), before it reports: a
# reported rc means nothing is left.
#
# The job's output reaches the log through mask: every occurrence of the GitHub token
# becomes ***, whatever the job prints, as GitHub Actions masks secrets. awk reads the
# token from the file itself: it is never in a process's arguments. The job's exit code
# comes back on fd 3 (sh has no pipefail). mawk reads a pipe in blocks unless
# -W interactive, which mangles a last line without a newline: so every line reaches
# awk terminated, then a random end marker, and awk writes each line at once but its
# newline only when the next one comes (the marker drops the newline added after the
# job's output): the log is the output, byte for byte but the token, and follows the
# job line by line.
log=$1 seconds=$2 grace=$3 name=$4 docker=$5 secret=$6
shift 6
umask 022
if awk -W interactive 'BEGIN { exit }' </dev/null >/dev/null 2>&1; then
  lines_awk() { LC_ALL=C awk -W interactive "$@"; }
else
  lines_awk() { LC_ALL=C awk "$@"; }
fi
end=offload-end-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
mask() {
  lines_awk -v f="$1" -v end="$end" '
    function emit(text) { if (started) printf "\n"; printf "%s", text; started = 1; fflush() }
    BEGIN { if (f != "" && (getline t < f) > 0) sub(/\r$/, "", t); else t = ""; n = length(t) }
    { if (held) { emit(end); held = 0 }
      if ($0 == end) { held = 1; next }
      s = $0; out = ""
      if (n) while ((i = index(s, t)) > 0) { out = out substr(s, 1, i - 1) "***"; s = substr(s, i + n) }
      emit(out s) }'
}
dir=${log%/*} base=${log##*/}
enter_log_dir "${dir%/@LOGS@/*}" "${dir##*/}" 1 || exit 1
for f in "$base" "${base%.log}.exit"; do
  if [ -e "$f" ] || [ -L "$f" ]; then echo "error=$dir/$f exists already: refusing to write through it"; exit 1; fi
done
set -C
rc=$( { { timeout -k "$grace" "$seconds" "$@" 2>&1 </dev/null 3>&-; echo "$?" >&3; printf '\n%s\n' "$end"; } \
  | mask "$secret" >"$base"; } 3>&1 )
echo "$rc" >"${base%.log}.exit"
set +C
"$docker" container inspect --format 'oom={{.State.OOMKilled}}' "$name" 2>/dev/null
"$docker" rm -f -v "$name" >/dev/null 2>&1 || true
df -Pk . 2>/dev/null | { read -r _; read -r _ _ _ avail _; echo "avail_kb=$avail"; }
measure "$base"
echo "rc=$rc"
