# shellcheck shell=sh
# The git script (git.sh) in the maintainer container with the GitHub token on its
# standard input, read there from the worker's memory-backed token file: the token
# never appears in an argv, an environment, a URL or a file on disk (git.sh's
# read_token). Without the file, the script runs without a token (a public repository).
# $1 docker  $2 maintainer  $3 user  $4 the token file  $5 the git script; the rest are
# its parameters.
docker=$1 maint=$2 user=$3 token=$4 script=$5
shift 5
if [ -f "$token" ] && [ -r "$token" ]; then
  exec "$docker" exec --interactive --env OFFLOAD_GIT_TOKEN=stdin --user "$user" "$maint" \
    sh -c "$script" offload-git "$@" <"$token"
fi
exec "$docker" exec --interactive --user "$user" "$maint" sh -c "$script" offload-git "$@" </dev/null
