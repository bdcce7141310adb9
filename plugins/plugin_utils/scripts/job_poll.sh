# shellcheck shell=sh
# job_poll DATA_ROOT JOB STAMP OFFSET TICKS (after log_dir.sh): one poll of a follower.
# Waits up to TICKS x 50 ms for the run's log to grow past OFFSET or the run to end,
# then prints alive= (0: ended, or lost), the state (state= lines), once it is not
# alive the release facts (release=), the log's measure and the space left
# (avail_kb=), size= (the log's size, at most @CHUNK_MAX@ past OFFSET), the line
# @CHUNK@, and the log's bytes from OFFSET to size.
enter_log_dir "$1" "$2" 0
case $? in 0) ;; 2) echo "error=no log folder $1/@LOGS@/$2"; exit 1 ;; *) exit 1 ;; esac
stamp=$3 off=$4 ticks=$5
for f in "$stamp.log" "$stamp.state"; do
  if [ -L "$f" ] || [ ! -f "$f" ]; then echo "error=$PWD/$f is a link or not a regular file: refusing it"; exit 1; fi
done
i=0
while :; do
  size=$(wc -c <"$stamp.log")
  if [ "$size" -gt "$off" ] || [ "$i" -ge "$ticks" ] || grep -q '^end ' "$stamp.state" \
     || flock -n "$stamp.state" true 2>/dev/null; then break; fi
  i=$((i + 1))
  sleep 0.05
done
if grep -q '^end ' "$stamp.state"; then alive=0
elif flock -n "$stamp.state" true 2>/dev/null; then alive=0
else alive=1; fi
echo "alive=$alive"
sed 's/^/state=/' "$stamp.state"
if [ "$alive" = 0 ]; then
  size=$(wc -c <"$stamp.log")
  if [ -f "$stamp.release" ] && [ ! -L "$stamp.release" ]; then head -c 65536 "$stamp.release" | sed 's/^/release=/'; fi
  measure "$stamp.log"
  df -Pk . 2>/dev/null | { read -r _; read -r _ _ _ avail _; echo "avail_kb=$avail"; }
fi
max=@CHUNK_MAX@
if [ $((size - off)) -gt "$max" ]; then size=$((off + max)); fi
echo "size=$size"
echo "@CHUNK@"
if [ "$size" -gt "$off" ]; then tail -c +$((off + 1)) "$stamp.log" | head -c $((size - off)); fi
