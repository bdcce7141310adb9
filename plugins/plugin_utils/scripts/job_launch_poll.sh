# shellcheck shell=sh
# After job_launch.sh, before job_poll.sh: the follower's first poll in the launch's own
# command (from byte 0, up to @TICKS@ x 50 ms), so that a short job starts and ends in
# one round trip. job_launch.sh set data_root, job and stamp.
# shellcheck disable=SC2154
set -- "$data_root" "$job" "$stamp" 0 @TICKS@
