# shellcheck shell=sh
# The git side of a job, run inside the maintainer container.
#
# The worker host has no git, so this POSIX sh script is fed on standard input
# to `docker exec -i <maintainer> sh -s -- COMMAND DEV JOB ARGS...` as the job user.
# It is a constant: inputs arrive only as positional parameters, never spliced into
# the text. It prints `key=value` lines (plugin_utils/_kv.py) for the actions.
#
# Layout (DEV is the data root as the maintainer container sees it):
#   DEV/main                  clone without a checkout (its git directory only); origin =
#                             the repo, upstream if given. With history "full" it holds every
#                             blob of the history (jobs run git log -p, blame, diffs against
#                             any base without fetching); with "blobless" only the blobs of
#                             the checkouts made.
#   DEV/main/.git/offload-used/PR  touched by each prepare of PR: when its pull ref was last used
#   DEV/main/.git/worktrees/JOB  the job's git admin dir (HEAD, index, objects/)
#   DEV/worktrees/JOB         the job's worktree, detached at refs/offload/pull/PR
#   DEV/worktrees/.offload-git.lock  serialises what git needs serialised (fetch, refs,
#                             config, prune); checkouts of different jobs run in
#                             parallel.
#   DEV/worktrees/.offload-housekeeping.log  the output of the last housekeeping
#
# Housekeeping (see housekeep): main is kept packed by steps that never delete an object
# (packs and loose objects merged into larger packs, refs packed), so a job reading main's
# objects while it runs is unharmed; pull refs no job uses are pruned.
# It runs in the background after a prepare that finds it due, under the repository lock.
#
# Everything in a job's worktree and admin dir was writable by the job: its `.git`
# file, the admin dir's `commondir`, `gitdir`, `HEAD`, `index`, `config.worktree`,
# object files, submodules, attributes. Git never discovers a repository there:
# `gw` pins GIT_DIR, GIT_COMMON_DIR and GIT_WORK_TREE to what `git worktree add`
# made, overrides on the command line every setting that runs a program, never
# recurses into submodules, never writes (no optional locks), never fetches, and
# is bounded in time (a FIFO in place of a file git reads). The worktree's hold
# and its removal are plain file operations, not git reading the admin dir.
#
# A worktree being used by a job is held by a `locked` file in its admin dir
# (what `git worktree lock` writes); it records when. prepare refuses a held worktree younger than the grace period
# (another run is preparing or running it) and takes over an older one (a run
# that died without releasing it), or one made before the worker last booted (its
# run died with the VM: the kernel's boot time, which containers share).
set -eu
umask 022
cmd=$1 dev=$2 job=$3
shift 3
main=$dev/@MAIN@
common=$main/.git
wt=$dev/@WORKTREES@/$job
admin=$common/worktrees/$job
lock=$dev/@WORKTREES@/.offload-git.lock
used=$common/offload-used
lock_timeout=${OFFLOAD_GIT_LOCK_TIMEOUT:-600}
# Bound on git reading what a job left (seconds).
job_git_timeout=${OFFLOAD_JOB_GIT_TIMEOUT:-300}

die() { echo "error=$*"; echo "offload-git: $*" >&2; exit 1; }
g() { git -c gc.auto=0 -c maintenance.auto=false "$@"; }
# Git on a job's worktree ($wt, $admin): see the module's docstring.
gw() {
  GIT_DIR=$admin GIT_COMMON_DIR=$common GIT_WORK_TREE=$wt GIT_OPTIONAL_LOCKS=0 \
  GIT_ALTERNATE_OBJECT_DIRECTORIES=$admin/objects GIT_CONFIG_COUNT=0 GIT_TERMINAL_PROMPT=0 \
    timeout -k 5 "$job_git_timeout" git -c gc.auto=0 -c maintenance.auto=false \
    -c core.fsmonitor=false -c core.hooksPath=/dev/null -c core.untrackedCache=false \
    -c core.sshCommand=false -c core.askPass=false -c credential.helper= \
    -c diff.ignoreSubmodules=all -c submodule.recurse=false \
    -c status.submoduleSummary=false -c protocol.allow=never "$@"
}
# The GitHub token, only with OFFLOAD_GIT_TOKEN=stdin (the host feeds the worker's tmpfs file
# on standard input, _docker_cli.git): copied into this container's /dev/shm (memory, the
# job user's only), removed when the script ends, and given to git by a credential helper
# that reads it, for the repository's host only. Never in a URL, argv, the environment or
# a config file.
tokfile=
read_token() {
  [ "${OFFLOAD_GIT_TOKEN:-}" = stdin ] || return 0
  tokdir=$(umask 077; mktemp -d /dev/shm/offload-git.XXXXXX) || die "cannot make a memory-backed file for the token"
  trap 'rm -rf -- "$tokdir"' EXIT
  (umask 077; head -c 4096 >"$tokdir/token")
  if [ -s "$tokdir/token" ]; then tokfile=$tokdir/token; fi
}
# scheme://authority of an http(s) URL ('' for any other: file://, ssh, a path).
url_host() { printf '%s\n' "$1" | sed -n 's|^\(https\{0,1\}://[^/]*\)/.*$|\1|p'; }
# git with the token for the hosts of the URLs given first (up to the word --), no other
# credential helper, no prompt; bounded in time when $bound is set.
ga() {
  hosts=
  while [ "$1" != -- ]; do hosts="$hosts $(url_host "$1")"; shift; done
  shift
  if [ -n "$tokfile" ]; then
    helper="!f() { test \"\$1\" = get || exit 0; echo username=x-access-token; printf 'password=%s\\n' \"\$(tr -d '\\r\\n' <$tokfile)\"; }; f"
    for h in $hosts; do set -- -c "credential.$h.helper=$helper" "$@"; done
  fi
  set -- -c credential.helper= -c credential.useHttpPath=false -c http.lowSpeedLimit=1000 -c http.lowSpeedTime=60 "$@"
  if [ -n "${bound:-}" ]; then
    GIT_TERMINAL_PROMPT=0 timeout -k 5 "$bound" git -c gc.auto=0 -c maintenance.auto=false "$@"
  else
    GIT_TERMINAL_PROMPT=0 g "$@"
  fi
}
with_lock() {
  exec 9>"$lock"
  flock -w "$lock_timeout" 9 || die "timed out after ${lock_timeout}s waiting for the git lock $lock"
}
unlock_repo() { flock -u 9; }
now() { date +%s; }

# A small file the job could have written, read only when it is a plain file
# (not a link, not a FIFO or device), at most 4 KiB.
plain() { [ -f "$1" ] && [ ! -L "$1" ] && head -c 4096 -- "$1"; }

# Holder of a worktree: "offload <epoch>" or nothing (a time in the future is nobody's).
held_since() {
  since=$(plain "$admin/locked" | sed -n 's/^offload \([0-9][0-9]*\)$/\1/p' || true)
  if [ -n "$since" ] && [ "$since" -le "$(now)" ]; then echo "$since"; fi
}
hold() {
  rm -f -- "$admin/locked"
  ( set -C; echo "offload $(now)" >"$admin/locked" ) || die "cannot hold the worktree $job"
}

# Are the files that tell git where the repository is still what `git worktree add`
# wrote? A job that rewrote them does not get its worktree kept or reused.
sealed() {
  if [ ! -d "$admin" ] || [ -L "$admin" ]; then return 1; fi
  [ "$(plain "$wt/.git")" = "gitdir: $admin" ] || return 1
  [ "$(plain "$admin/commondir")" = "../.." ] || return 1
  [ "$(plain "$admin/gitdir")" = "$wt/.git" ] || return 1
  for f in HEAD index; do  # absent, or a plain file
    if [ -L "$admin/$f" ] || { [ -e "$admin/$f" ] && [ ! -f "$admin/$f" ]; }; then return 1; fi
  done
}

# Remove a tree a job wrote (rm never follows a link; a job may have left
# directories without write permission).
rm_tree() {
  rm -rf -- "$1" 2>/dev/null || { chmod -R u+rwx -- "$1" 2>/dev/null || true; rm -rf -- "$1"; }
}
discard() { rm_tree "$wt"; rm_tree "$admin"; }

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

# A local path as a file:// URL: git copies a repository given by path whole (a "local
# clone" ignores --filter=blob:none, and --quiet hides its warning); through file:// it
# speaks the git protocol, so the clone is really blobless.
as_url() {  # url-or-path
  case $1 in
    /*) printf 'file://%s\n' "$1" ;;
    *) printf '%s\n' "$1" ;;
  esac
}

# implement: the issue's text for the agent, in the worktree as .offload-issue.md, which
# main's info/exclude ignores (never committed by `git add -A`). Written afresh (a name a
# kept worktree's job could have made a link is removed first; noclobber).
write_issue() {  # text
  [ -n "$1" ] || return 0
  grep -qxF /.offload-issue.md "$common/info/exclude" 2>/dev/null \
    || { mkdir -p "$common/info"; echo /.offload-issue.md >>"$common/info/exclude"; }
  rm -rf -- "$wt/.offload-issue.md"
  ( set -C; printf '%s\n' "$1" >"$wt/.offload-issue.md" ) || die "cannot write the issue's text into $wt"
}

prepare() {  # pr origin_url upstream_url grace [lost [history [keep_refs [ref_days [base_branch [issue_text]]]]]]
  # lost: the epoch at which the job's last run, now known to be lost (its supervisor
  # died), had started: a hold made until then was that run's (as one before a boot).
  # history: full (every blob of the history in main) or blobless. keep_refs, ref_days:
  # the pull refs housekeeping keeps (see prune_refs).
  pr=$1 origin=$(as_url "$2") upstream=$(as_url "$3") grace=$4 lost=${5:-}
  history=${6:-full} keep_refs=${7:-50} ref_days=${8:-30}
  # base_branch: start from that branch of the repository (implement: its default branch),
  # not from the pull request; the job is still named and fetched into refs by the number.
  base_branch=${9:-} issue_text=${10:-}
  # The clone is partial in both modes: its packs are promisor packs, so a fetch does not
  # walk from every worktree's HEAD (a kept job's HEAD may be a commit only its own object
  # directory has; a full clone's fetch would fail on it). "full" filters no blob up to 1 GiB.
  case $history in
    full) filter=blob:limit=1g ;;
    blobless) filter=blob:none ;;
    *) die "unknown history mode '$history' (full or blobless)" ;;
  esac
  changed=0
  trust_local "$origin"
  [ -z "$upstream" ] || trust_local "$upstream"
  read_token
  with_lock
  fresh=0
  if [ ! -e "$main/.git" ]; then
    ga "$origin" -- clone --quiet --filter="$filter" --no-checkout -- "$origin" "$main" || die "cannot clone $origin"
    fresh=1
    changed=1
  fi
  ensure_remote origin "$origin"
  src=origin
  if [ -n "$upstream" ]; then
    ensure_remote upstream "$upstream"
    # a promisor remote too (see above: its packs are promisor packs)
    [ "$(g -C "$main" config --get remote.upstream.partialclonefilter || true)" = "$filter" ] \
      || { g -C "$main" config remote.upstream.promisor true
           g -C "$main" config remote.upstream.partialclonefilter "$filter"; }
    src=upstream
  fi
  was=$(g -C "$main" config --get remote.origin.partialclonefilter || true)
  if [ "$was" != "$filter" ]; then
    g -C "$main" config remote.origin.promisor true
    g -C "$main" config remote.origin.partialclonefilter "$filter"
  fi
  if [ "$history" = full ] && [ "$was" != "$filter" ]; then
    # main asked for its history (it was blobless): every object of origin's refs, once
    ga "$origin" -- -C "$main" fetch --quiet --refetch --prune --no-write-fetch-head origin \
      || die "cannot fetch the history of origin ($origin)"
    changed=1
  elif [ "$fresh" = 0 ]; then
    ga "$origin" -- -C "$main" fetch --quiet --prune --no-write-fetch-head origin || die "cannot fetch origin ($origin)"
    g -C "$main" remote set-head origin --auto >/dev/null 2>&1 || true
  fi
  if [ "$src" = upstream ]; then
    ga "$upstream" -- -C "$main" fetch --quiet --no-write-fetch-head upstream || die "cannot fetch upstream ($upstream)"
  fi
  before=$(g -C "$main" rev-parse -q --verify "refs/offload/pull/$pr" || true)
  if [ "$src" = upstream ]; then src_url=$upstream; else src_url=$origin; fi
  if [ -n "$base_branch" ]; then
    g check-ref-format "refs/heads/$base_branch" || die "not a branch name: $base_branch"
    ga "$src_url" -- -C "$main" fetch --quiet --no-write-fetch-head "$src" "+refs/heads/$base_branch:refs/offload/pull/$pr" \
      || die "branch $base_branch not found: $src has no refs/heads/$base_branch"
  else
    ga "$src_url" -- -C "$main" fetch --quiet --no-write-fetch-head "$src" "+refs/pull/$pr/head:refs/offload/pull/$pr" \
      || die "pull request $pr not found: $src has no refs/pull/$pr/head"
  fi
  head=$(g -C "$main" rev-parse "refs/offload/pull/$pr")
  # Where this job starts from, in main's own refs (the job cannot write them): what
  # deliver pushes on top of, with a lease on it.
  g -C "$main" update-ref "refs/offload/start/$job" "$head"
  [ "$before" = "$head" ] || changed=1
  mkdir -p "$used"
  : >"$used/$pr"

  # main's HEAD at origin's default branch (jobs compare with it); main has no checkout.
  base=$(g -C "$main" rev-parse -q --verify refs/remotes/origin/HEAD || g -C "$main" rev-parse refs/remotes/origin/main)
  if [ "$(g -C "$main" rev-parse -q --verify HEAD || true)" != "$base" ]; then
    g -C "$main" update-ref --no-deref HEAD "$base"
    changed=1
  fi
  if [ -e "$common/index" ]; then
    # a checkout of main made by an earlier version: its files go (jobs read main's history, not them)
    find "$main" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf -- {} +
    rm -f -- "$common/index"
    changed=1
  fi

  # The job's worktree: reuse a clean one at the same head, else make it anew.
  if [ -e "$wt" ] || [ -e "$admin" ]; then
    since=$(held_since)
    boot=$(booted)
    if [ -n "$lost" ] && [ "$lost" -gt "${boot:-0}" ]; then boot=$((lost + 1)); fi
    if [ -n "$since" ] && [ $(( $(now) - since )) -lt "$grace" ] && [ "$since" -ge "${boot:-0}" ]; then
      die "worktree $job is held by another offload run since $(date -u -d "@$since" +%FT%TZ); wait for it or run clean.yml"
    fi
    if sealed && [ "$(gw rev-parse HEAD 2>/dev/null || true)" = "$head" ] \
       && [ -z "$(gw status --porcelain --ignore-submodules=all 2>/dev/null || echo dirty)" ]; then
      hold
      mkdir -p "$admin/objects"
      write_issue "$issue_text"
      echo "changed=$changed"; echo "head=$head"; echo "base=$base"; echo "gitdir=$admin"
      unlock_repo
      housekeep_if_due
      return 0
    fi
    discard
  fi
  g -C "$main" worktree prune
  mkdir -p "$dev/@WORKTREES@"
  unlock_repo
  # Outside the repository lock: git marks the new worktree locked while it
  # initialises it, so a concurrent prune leaves it alone.
  # (a blobless clone fetches the blobs it checks out: with the token too)
  ga "$origin" "$upstream" -- -C "$main" worktree add --quiet --force --detach --lock --reason "offload $(now)" "$wt" "$head" \
    || die "cannot create the worktree $wt at $head"
  sealed || die "git made the worktree $wt with another admin dir than $admin"
  mkdir -p "$admin/objects"
  write_issue "$issue_text"
  echo "changed=1"; echo "head=$head"; echo "base=$base"; echo "gitdir=$admin"
  housekeep_if_due
}

# --- housekeeping ------------------------------------------------------------------
# Limits past which housekeeping is due.
max_packs=${OFFLOAD_GIT_MAX_PACKS:-8}
max_loose=${OFFLOAD_GIT_MAX_LOOSE:-200}

packs() { find "$common/objects/pack" -maxdepth 1 -name '*.pack' 2>/dev/null | wc -l; }
loose() { find "$common/objects" -mindepth 2 -maxdepth 2 -path "$common/objects/[0-9a-f][0-9a-f]/*" 2>/dev/null | wc -l; }

# Pull refs to delete: a ref is kept while a worktree of its PR exists, or while it is
# one of the keep_refs last used and was used in the last ref_days days.
refs_to_prune() {  # keep_refs ref_days
  cutoff=$(( $(now) - $2 * 86400 ))
  # "<last use> <pr>" for each pull ref (0: no record of its use), the newest first
  { find "$used" -mindepth 1 -maxdepth 1 -type f -printf 'used %T@ %f\n' 2>/dev/null || true
    g -C "$main" for-each-ref --format='ref %(refname:lstrip=3)' refs/offload/pull/
  } | awk '$1 == "used" { t[$3] = $2; next }
           $1 == "ref" && $2 ~ /^[0-9]+$/ { print ($2 in t ? t[$2] : 0), $2 }' \
    | sort -k1,1gr -k2,2nr | awk -v keep="$1" -v cutoff="$cutoff" 'NR > keep || $1 < cutoff { print $2 }' \
    | while read -r p; do
      set -- "$dev"/@WORKTREES@/@JOB_PREFIX@-"$p"-*
      [ -e "$1" ] || echo "$p"
    done
}

housekeeping_due() {  # keep_refs ref_days
  [ "$(packs)" -gt "$max_packs" ] || [ "$(loose)" -gt "$max_loose" ] || [ -n "$(refs_to_prune "$@" | head -n 1)" ]
}

# Under the repository lock (fetches wait): nothing here deletes an object a job can read.
housekeep() {  # keep_refs ref_days
  with_lock
  for p in $(refs_to_prune "$1" "$2"); do
    echo "delete refs/offload/pull/$p"
    # with the start refs of its jobs (no worktree of the PR is left to deliver from)
    g -C "$main" for-each-ref --format='delete %(refname)' "refs/offload/start/@JOB_PREFIX@-$p-*"
    rm -f -- "$used/$p"
  done | g -C "$main" update-ref --stdin
  merge_packs
  g -C "$main" pack-refs --all --prune || die "git pack-refs failed in $main"
  echo "packs=$(packs)"; echo "loose=$(loose)"; echo "pull_refs=$(g -C "$main" for-each-ref refs/offload/pull/ | wc -l)"
}

# Every pack but the largest (rewriting it each time would cost its size), and the loose
# objects, merged into one new pack. The objects are listed from the packs' indexes and
# the object directories: no ref is walked (a kept worktree's HEAD may name a commit only
# its job's object directory has; git's own repack walks refs in a partial clone), and an
# old pack is deleted only once the new one holding its objects is in place, so a job
# reading main meanwhile finds every object. The new pack is a promisor pack like the
# ones it replaces (main is a partial clone: see prepare).
merge_packs() {
  pack_dir=$common/objects/pack
  big=$(find "$pack_dir" -maxdepth 1 -name 'pack-*.pack' -printf '%s %p\n' | sort -rn | sed -n '1s/^[0-9]* //p')
  olds=$(find "$pack_dir" -maxdepth 1 -name 'pack-*.pack' ! -path "$big")
  [ "$(loose)" -gt 0 ] || [ "$(printf '%s\n' "$olds" | grep -c .)" -ge 2 ] || return 0
  new=$(
    { for p in $olds; do g show-index <"${p%.pack}.idx" | cut -d' ' -f2; done
      find "$common/objects" -mindepth 2 -maxdepth 2 -path "$common/objects/[0-9a-f][0-9a-f]/*" \
        | sed 's|.*/\([0-9a-f][0-9a-f]\)/\([0-9a-f]*\)$|\1\2|'
    } | sort -u | g -C "$main" pack-objects -q "$pack_dir/pack"
  ) || die "git pack-objects failed in $main"
  [ -n "$new" ] || return 0
  : >"$pack_dir/pack-$new.promisor"
  for p in $olds; do
    [ "$p" = "$pack_dir/pack-$new.pack" ] && continue
    rm -f -- "${p%.pack}.idx" "$p" "${p%.pack}.rev" "${p%.pack}.bitmap" "${p%.pack}.promisor"
  done
  rm -f -- "$pack_dir/multi-pack-index"
  g -C "$main" prune-packed -q
}

# After a prepare: housekeeping when due, in the background (the job does not wait for
# it) unless OFFLOAD_HOUSEKEEPING says wait (tests) or off.
housekeep_if_due() {
  case ${OFFLOAD_HOUSEKEEPING:-background} in off) return 0 ;; esac
  housekeeping_due "$keep_refs" "$ref_days" || return 0
  case ${OFFLOAD_HOUSEKEEPING:-background} in
    wait) housekeep "$keep_refs" "$ref_days" >"$dev/@WORKTREES@/.offload-housekeeping.log" 2>&1 ;;
    *) ( housekeep "$keep_refs" "$ref_days" ) </dev/null >"$dev/@WORKTREES@/.offload-housekeeping.log" 2>&1 & ;;
  esac
  echo "housekeeping=1"
}

# The state a job leaves: did it move HEAD or touch files? (Its own claim: only
# `changed` depends on it.)
report_state() {
  [ -d "$wt" ] || { echo "exists=0"; return 0; }
  echo "exists=1"
  echo "head=$(gw rev-parse HEAD 2>/dev/null || echo unknown)"
  if [ -n "$(gw status --porcelain --ignore-submodules=all 2>/dev/null || echo dirty)" ]; then
    echo "dirty=1"
  else
    echo "dirty=0"
  fi
}

remove() {
  report_state
  # what deliver wrote for the job (its bundle and patches, already copied to the controller)
  rm_tree "$dev/@WORKTREES@/.offload-results/$job"
  if [ ! -e "$wt" ] && [ ! -e "$admin" ]; then
    with_lock; g -C "$main" worktree prune 2>/dev/null || true; echo "changed=0"; return 0
  fi
  discard
  with_lock
  g -C "$main" worktree prune
  echo "changed=1"
}

# Keep the worktree after its job: not held any more. A job's objects stay in
# its admin dir (never in main's store, which every job reads). One whose git
# control files were rewritten is removed instead.
release() {
  report_state
  [ -e "$wt" ] || { echo "changed=0"; return 0; }
  if ! sealed; then
    discard
    echo "tampered=1"
    echo "changed=1"
    return 0
  fi
  rm -f -- "$admin/locked"
  echo "changed=0"
}

# The job's new commits: refs/offload/start/JOB..HEAD of its worktree, HEAD read by the pinned
# gw (nothing of the worktree's config, hooks or .git pointer is used), and only when it
# descends from the start. Written, by a repository of this script's own (no template,
# no hooks; main's and the job's objects as alternates), to RESULTS/JOB/commits.bundle
# and commits.patch (a folder the job never sees), then, unless MODE is none, pushed
# as that one ref, nothing else (no tags), to URL's refs/heads/BRANCH:
#   lease  --force-with-lease on the start: only while BRANCH is still where the job started
#   new    a plain push: a new branch BRANCH-<the head's first 12 hex digits>
# Prints start=, head=, commits=, results=, then branch= and pushed=1, or pushed=0 and push_error=.
deliver() {  # url branch mode
  url=$1 branch=$2 mode=$3
  results=$dev/@WORKTREES@/.offload-results/$job
  [ -d "$wt" ] || die "job $job has no worktree to deliver from (one whose git files the job rewrote is removed): nothing delivered"
  sealed || { echo "tampered=1"; die "job $job rewrote the files that tell git where its repository is: nothing delivered"; }
  start=$(g -C "$main" rev-parse -q --verify "refs/offload/start/$job^{commit}") \
    || die "job $job has no recorded start (refs/offload/start/$job)"
  head=$(gw rev-parse -q --verify "HEAD^{commit}" 2>/dev/null) || die "cannot read the HEAD of job $job: nothing delivered"
  case $head in *[!0-9a-f]*|'') die "the HEAD of job $job is not a commit id: nothing delivered" ;; esac
  echo "start=$start"
  echo "head=$head"
  if [ "$head" = "$start" ]; then echo "commits=0"; return 0; fi
  gw merge-base --is-ancestor "$start" "$head" \
    || die "the HEAD of job $job ($head) does not descend from the commit it started from ($start): nothing delivered"
  rm_tree "$results"
  mkdir -p "$results"
  res=$results/git
  g init --quiet --bare --template= "$res" >/dev/null
  printf '%s\n%s\n' "$common/objects" "$admin/objects" >"$res/objects/info/alternates"
  r() (
    export GIT_DIR="$res" GIT_CONFIG_COUNT=0 GIT_OPTIONAL_LOCKS=0
    bound=$job_git_timeout
    ga "$url" -- -c core.hooksPath=/dev/null -c core.fsmonitor=false -c push.followTags=false \
      -c core.askPass=false -c core.sshCommand=false "$@"
  )
  r update-ref refs/offload/result "$head"
  count=$(r rev-list --count "$start..$head") || die "the commits of job $job cannot be read"
  r bundle create --quiet "$results/commits.bundle" refs/offload/result "^$start" || die "cannot bundle the commits of job $job"
  r format-patch --quiet --stdout "$start..$head" >"$results/commits.patch" || die "cannot write the patches of job $job"
  echo "commits=$count"
  echo "results=$results"
  [ "$mode" != none ] || return 0
  case $mode in
    lease) lease=--force-with-lease=refs/heads/$branch:$start ;;
    new) lease=--no-force-with-lease branch=$branch-$(printf %.12s "$head") ;;
    *) die "unknown delivery mode $mode" ;;
  esac
  g check-ref-format "refs/heads/$branch" || die "not a branch name: $branch"
  echo "branch=$branch"
  read_token
  if out=$(r push --porcelain --no-verify --no-follow-tags "$lease" "$url" "refs/offload/result:refs/heads/$branch" 2>&1); then
    echo "pushed=1"
  else
    echo "pushed=0"
    printf '%s\n' "$out" | grep -E '^(!|error|fatal|remote:)' | head -n 3 | sed 's/^/push_error=/'
  fi
}

list() {  # worktree=<name> <head> <held since epoch, or 0>
  [ -d "$dev/@WORKTREES@" ] || return 0
  for d in "$dev"/@WORKTREES@/*/; do
    if [ ! -d "$d" ] || [ -L "${d%/}" ]; then continue; fi
    job=$(basename "$d")
    wt=$dev/@WORKTREES@/$job admin=$common/worktrees/$job
    since=$(held_since)
    echo "worktree=$job $(gw rev-parse HEAD 2>/dev/null || echo unknown) ${since:-0}"
  done
  with_lock
  g -C "$main" worktree prune 2>/dev/null || true
}

case $cmd in
  prepare) prepare "$@" ;;
  remove) remove ;;
  release) release ;;
  list) list ;;
  deliver) deliver "$@" ;;
  housekeep) housekeep "${1:-50}" "${2:-30}" ;;  # keep_refs ref_days
  remove-main)
    with_lock
    # main/ stays, emptied: the data root holding it is not the job user's to unlink from
    # (prepare clones into the empty directory again).
    rm -rf "$dev"/@WORKTREES@/*/ "${main:?}"/* "$main"/.[!.]* "$main"/..?*
    echo "changed=1"
    ;;
  *) die "unknown command $cmd" ;;
esac
