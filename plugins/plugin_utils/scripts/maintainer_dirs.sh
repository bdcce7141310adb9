# shellcheck shell=sh
# Run in the maintainer container (as root) to make the data directories
# ("$@"): then, since a job runs its worktree's scripts from the data root, check
# that a file there can be executed (a data disk mounted noexec, or a data root on
# COS's noexec /home, /var or /tmp, would fail every job later, with "Permission
# denied" deep in its log). The probe's name is this shell's own, for runs at once.
install -d -o @JOB_UID@ -g @JOB_UID@ "$@" || exit
probe=@DEV@/@WORKTREES@/.offload-exec-probe.$$
# A probe that cannot be written (a full disk) tells nothing about exec: the step
# that needs the space says the disk is full.
if printf '#!/bin/sh\nexit 0\n' 2>/dev/null >"$probe" && chmod 755 "$probe"; then
  "$probe" 2>/dev/null
  rc=$?
  rm -f "$probe"
  [ "$rc" = 0 ] || { echo "noexec=1"; exit 3; }
else
  rm -f "$probe"
fi
