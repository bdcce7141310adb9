# shellcheck shell=sh
# worktree_prepare DATA_ROOT JOB DOCKER MAINTAINER USER TOKEN_FILE GIT_SCRIPT PARAMS... (after
# log_dir.sh and job_state.sh; git_token.sh follows it): in one round trip, whether job JOB
# runs (status= of its container, run= its newest run, as job_state_check.sh says) and,
# when neither runs, the line git=start and then git_token.sh: the git script (the
# controller's, a parameter) in the maintainer container as USER with PARAMS (prepare ...),
# the token file (empty: none) on its standard input. PARAMS are git.sh's prepare's:
# the 8th (the start of a lost run, whose hold on the worktree is taken over) is
# filled in here from the job's newest run.
data_root=$1 name=$2 docker=$3 maintainer=$4 user=$5 token=$6 git_script=$7
shift 7
status=$("$docker" container inspect --format '{{.State.Status}}' "$name" 2>/dev/null) || status=none
echo "status=$status"
run=$( enter_log_dir "$data_root" "$name" 0; case $? in 0) job_run ;; 2) echo "run=none" ;; *) exit 1 ;; esac ) \
  || { printf '%s\n' "$run"; exit 1; }
echo "$run"
read -r _stamp how started <<END
${run#run=}
END
if [ "$status" = running ] || [ "$how" = running ]; then exit 0; fi
lost=
if [ "$how" = lost ] && [ -n "$started" ]; then lost=$started; fi
a1=$1 a2=$2 a3=$3 a4=$4 a5=$5 a6=$6 a7=$7
shift 8
set -- "$a1" "$a2" "$a3" "$a4" "$a5" "$a6" "$a7" "$lost" "$@"
echo "git=start"
set -- "$docker" "$maintainer" "$user" "$token" "$git_script" "$@"
