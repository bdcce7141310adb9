# shellcheck shell=sh
# A shell in a job container (offload.yml -e action=open, bin/offload-open), run on the
# worker host through `ssh -t` (or at once on a local worker), with a terminal:
#
#   job_open DOCKER MAINTAINER USER DEV JOB RELEASE GIT_SCRIPT CONTAINER ARGV...
#
# ARGV is the job container's `docker run -it` (the job's mounts and sandbox). When the
# shell ends (or the terminal goes away: a hang-up does not stop this script), the
# container is removed and the worktree released by the git script in the maintainer
# container (RELEASE: release keeps it, remove removes it). A constant: inputs are
# positional parameters.
docker=$1 maintainer=$2 user=$3 dev=$4 job=$5 release=$6 git_script=$7 container=$8
shift 8
trap '' HUP
"$docker" rm -f -v "$container" >/dev/null 2>&1 || true
"$@"
rc=$?
"$docker" rm -f -v "$container" >/dev/null 2>&1 || true
if printf '%s' "$git_script" \
    | "$docker" exec -i --user "$user" "$maintainer" sh -s -- "$release" "$dev" "$job" >/dev/null 2>&1; then
  echo "offload-open: the shell in $container ended (exit $rc); its worktree was ${release%e}ed" >&2
else
  echo "offload-open: the shell in $container ended (exit $rc), but its worktree could not be released: clean.yml removes it" >&2
fi
exit "$rc"
