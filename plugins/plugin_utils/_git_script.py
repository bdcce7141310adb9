# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The git side of a job, run inside the maintainer container.

The worker host has no git, so this POSIX sh script is fed on standard input
to `docker exec -i <maintainer> sh -s -- COMMAND ARGS...`. It is a constant:
inputs arrive only as positional parameters, never spliced into the text.
It prints `key=value` lines that the git_worktree action parses.

Layout (DEV is the data root as the maintainer container sees it):
  DEV/main                  blobless clone; origin = the repo, upstream if given
  DEV/worktrees/JOB         the job's worktree, detached at refs/offload/pull/PR
  DEV/worktrees/.offload-git.lock  serialises what git needs serialised (fetch, refs,
                            config, prune); checkouts of different jobs run in
                            parallel.

A worktree being used by a job is held with `git worktree lock`; its reason
records when. prepare refuses a held worktree younger than the grace period
(another run is preparing or running it) and takes over an older one (a run
that died without releasing it), or one made before the worker last booted (its
run died with the VM: the kernel's boot time, which containers share).
"""

SCRIPT = r'''
set -eu
umask 022
cmd=$1 dev=$2 job=$3
shift 3
main=$dev/main
wt=$dev/worktrees/$job
lock=$dev/worktrees/.offload-git.lock
lock_timeout=${OFFLOAD_GIT_LOCK_TIMEOUT:-600}

die() { echo "error=$*"; echo "offload-git: $*" >&2; exit 1; }
g() { git -c gc.auto=0 -c maintenance.auto=false "$@"; }
with_lock() {
  exec 9>"$lock"
  flock -w "$lock_timeout" 9 || die "timed out after ${lock_timeout}s waiting for the git lock $lock"
}
unlock_repo() { flock -u 9; }
now() { date +%s; }

# Holder of a worktree lock: "offload <epoch>" or nothing.
held_since() {
  f=$(g -C "$main" rev-parse --absolute-git-dir)/worktrees/$job/locked
  [ -f "$f" ] || return 0
  sed -n 's/^offload \([0-9][0-9]*\)$/\1/p' "$f"
}

# The worker's boot, in epoch seconds (empty when unknown).
booted() { sed -n 's/^btime \([0-9][0-9]*\)$/\1/p' /proc/stat 2>/dev/null || true; }

ensure_remote() {  # name url
  if cur=$(g -C "$main" remote get-url "$1" 2>/dev/null); then
    [ "$cur" = "$2" ] || { g -C "$main" remote set-url "$1" "$2"; changed=1; }
  else
    g -C "$main" remote add "$1" "$2"
    changed=1
  fi
}

# A repository given as a local path is owned by someone else than the job
# user; trust that one path (and only it) for git's ownership check. Only the
# user's global config counts for that (git clears -c and GIT_CONFIG_* for the
# local upload-pack), and it lives in the maintainer container, not the host.
trust_local() {  # url
  case $1 in
    file://*) path=${1#file://} ;;
    /*) path=$1 ;;
    *) return 0 ;;
  esac
  git config --global --get-all safe.directory 2>/dev/null | grep -qxF "$path" \
    || git config --global --add safe.directory "$path"
}

prepare() {  # pr origin_url upstream_url grace
  pr=$1 origin=$2 upstream=$3 grace=$4
  changed=0
  trust_local "$origin"
  [ -z "$upstream" ] || trust_local "$upstream"
  with_lock
  fresh=0
  if [ ! -e "$main/.git" ]; then
    g clone --quiet --filter=blob:none --no-checkout -- "$origin" "$main" || die "cannot clone $origin"
    fresh=1
    changed=1
  fi
  ensure_remote origin "$origin"
  src=origin
  if [ -n "$upstream" ]; then
    ensure_remote upstream "$upstream"
    src=upstream
  fi
  g -C "$main" fetch --quiet --prune --no-write-fetch-head origin || die "cannot fetch origin ($origin)"
  g -C "$main" remote set-head origin --auto >/dev/null 2>&1 || true
  if [ "$src" = upstream ]; then
    g -C "$main" fetch --quiet --no-write-fetch-head upstream || die "cannot fetch upstream ($upstream)"
  fi
  before=$(g -C "$main" rev-parse -q --verify "refs/offload/pull/$pr" || true)
  g -C "$main" fetch --quiet --no-write-fetch-head "$src" "+refs/pull/$pr/head:refs/offload/pull/$pr" \
    || die "pull request $pr not found: $src has no refs/pull/$pr/head"
  head=$(g -C "$main" rev-parse "refs/offload/pull/$pr")
  [ "$before" = "$head" ] || changed=1

  # Keep the main checkout at origin's default branch.
  base=$(g -C "$main" rev-parse -q --verify refs/remotes/origin/HEAD || g -C "$main" rev-parse refs/remotes/origin/main)
  if [ "$fresh" = 1 ] || [ "$(g -C "$main" rev-parse -q --verify HEAD || true)" != "$base" ]; then
    g -C "$main" checkout --quiet --force --detach "$base"
    changed=1
  fi

  # The job's worktree: reuse a clean one at the same head, else make it anew.
  if [ -e "$wt/.git" ]; then
    since=$(held_since)
    boot=$(booted)
    if [ -n "$since" ] && [ $(( $(now) - since )) -lt "$grace" ] && [ "$since" -ge "${boot:-0}" ]; then
      die "worktree $job is held by another offload run since $(date -u -d "@$since" +%FT%TZ); wait for it or run clean.yml"
    fi
    if [ "$(g -C "$wt" rev-parse HEAD 2>/dev/null || true)" = "$head" ] \
       && [ -z "$(g -C "$wt" status --porcelain 2>/dev/null || echo dirty)" ]; then
      g -C "$main" worktree unlock "$wt" 2>/dev/null || true
      g -C "$main" worktree lock --reason "offload $(now)" "$wt"
      gitdir=$(g -C "$wt" rev-parse --absolute-git-dir)
      mkdir -p "$gitdir/objects"
      echo "changed=$changed"; echo "head=$head"; echo "base=$base"; echo "gitdir=$gitdir"
      return 0
    fi
    g -C "$main" worktree remove --force --force "$wt" 2>/dev/null || rm -rf "$wt"
  fi
  rm -rf "$wt"
  g -C "$main" worktree prune
  mkdir -p "$dev/worktrees"
  unlock_repo
  # Outside the repository lock: git marks the new worktree locked while it
  # initialises it, so a concurrent prune leaves it alone.
  g -C "$main" worktree add --quiet --force --detach --lock --reason "offload $(now)" "$wt" "$head" \
    || die "cannot create the worktree $wt at $head"
  gitdir=$(g -C "$wt" rev-parse --absolute-git-dir)
  mkdir -p "$gitdir/objects"
  echo "changed=1"; echo "head=$head"; echo "base=$base"; echo "gitdir=$gitdir"
}

# The state a job leaves: did it move HEAD or touch files?
report_state() {  # start_head
  [ -e "$wt/.git" ] || { echo "exists=0"; return 0; }
  echo "exists=1"
  echo "head=$(g -C "$wt" rev-parse HEAD)"
  if [ -n "$(g -C "$wt" status --porcelain)" ]; then echo "dirty=1"; else echo "dirty=0"; fi
}

remove() {
  report_state
  [ -e "$wt" ] || { with_lock; g -C "$main" worktree prune 2>/dev/null || true; echo "changed=0"; return 0; }
  g -C "$main" worktree remove --force --force "$wt" 2>/dev/null || rm -rf "$wt"
  with_lock
  g -C "$main" worktree prune
  echo "changed=1"
}

release() {
  report_state
  [ -e "$wt/.git" ] || { echo "changed=0"; return 0; }
  gitdir=$(g -C "$wt" rev-parse --absolute-git-dir)
  common=$(g -C "$main" rev-parse --absolute-git-dir)
  # Objects a job wrote went to its own directory; the kept worktree's HEAD
  # must stay readable by git in main, so hand them over (they are immutable
  # and content-named: copying never overwrites anything).
  if [ -d "$gitdir/objects" ] && [ -n "$(ls -A "$gitdir/objects")" ]; then
    cp -Rn "$gitdir/objects/." "$common/objects/"
    rm -rf "$gitdir/objects"
    mkdir -p "$gitdir/objects"
  fi
  g -C "$main" worktree unlock "$wt" 2>/dev/null || true
  echo "changed=0"
}

list() {  # worktree=<name> <head> <held since epoch, or 0>
  [ -d "$dev/worktrees" ] || return 0
  for d in "$dev"/worktrees/*/; do
    [ -e "$d.git" ] || continue
    name=$(basename "$d")
    job=$name
    since=$(held_since)
    echo "worktree=$name $(g -C "$d" rev-parse HEAD 2>/dev/null || echo unknown) ${since:-0}"
  done
  with_lock
  g -C "$main" worktree prune 2>/dev/null || true
}

case $cmd in
  prepare) prepare "$@" ;;
  remove) remove ;;
  release) release ;;
  list) list ;;
  remove-main)
    with_lock
    rm -rf "$main" "$dev"/worktrees/*/
    echo "changed=1"
    ;;
  *) die "unknown command $cmd" ;;
esac
'''


def parse_output(text):
    """The script's `key=value` lines -> dict (later keys win; other lines ignored)."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition('=')
        if sep and key.isidentifier():
            out[key] = value
    return out
