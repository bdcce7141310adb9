# shellcheck shell=sh
# Functions for a job's log folder, put before job_launch.sh, job_poll.sh, log_newest.sh...
# (see plugin_utils/_log_dir.py for why the folder is entered, never followed).
# enter_log_dir DATA_ROOT JOB CREATE: cd into DATA_ROOT/logs/JOB; with CREATE=1 make
# what is missing (mode 0755) and take back, as root, a folder an older version made
# for uid 1000 (chown -h changes a link itself, never what it points to). Returns 2
# when a folder is missing (CREATE=0), 1 with an error= line when one is refused.
enter_log_dir() {
  if [ "$3" != 1 ] && [ ! -e "$1" ]; then return 2; fi
  cd -P -- "$1" 2>/dev/null || { echo "error=cannot enter the data root $1"; return 1; }
  for part in @LOGS@ "$2"; do
    if [ ! -e "$part" ] && [ ! -L "$part" ]; then
      [ "$3" = 1 ] || return 2
      mkdir -m 0755 -- "$part" 2>/dev/null || true
    elif [ "$3" = 1 ] && [ "$(id -u)" = 0 ] && [ "$(stat -c %u -- "$part")" != 0 ]; then
      chown -h 0:0 -- "$part"
    fi
    if [ -L "$part" ] || [ ! -d "$part" ]; then
      echo "error=$PWD/$part is a link or not a directory: refusing to follow it (remove it)"
      return 1
    fi
    parent=$(stat -c %d:%i .)
    cd -P -- "$part" || return 1
    mode=$(stat -c %a .)
    if [ "$(stat -c %d:%i ..)" != "$parent" ] || [ "$(stat -c %u .)" != "$(id -u)" ] \
       || [ $(( 0$mode & 022 )) != 0 ]; then
      echo "error=$PWD must be a folder of uid $(id -u) that no one else can write, found uid $(stat -c %u .) mode $mode: refusing it"
      return 1
    fi
  done
}
# measure FILE: its size and the SHA-256 of that many bytes (it may still grow).
measure() {
  size=$(wc -c <"$1")
  echo "log_size=$size"
  echo "log_sha256=$(head -c "$size" <"$1" | sha256sum | cut -d' ' -f1)"
}
