# shellcheck shell=sh
# Writes a secret file on the worker: $1 the path, $2 its owner; the secret
# arrives on standard input, never in argv. Refuses any directory that is not on a
# tmpfs (before making it), writes through a temporary file in the same directory
# and renames it into place. Only a directory it makes itself is given to the job
# user (0700); an existing one is left as it is, and refused when others may write
# to it (they could replace the secret).
set -eu
path=$1 uid=$2
dir=${path%/*}
umask 077
# The nearest existing directory tells the file system: nothing is made before.
probe=$dir
while [ ! -d "$probe" ]; do probe=${probe%/*}; probe=${probe:-/}; done
fs=$(stat -f -c %T "$probe")
if [ "$fs" != tmpfs ]; then
  echo "error=$dir is on $fs, not tmpfs: a secret never goes to a persistent disk"
  exit 3
fi
made=0
if [ -d "$dir" ]; then
  case $(stat -c %A "$dir") in
    ?????w????* | ????????w?*)
      echo "error=$dir exists and others may write to it ($(stat -c %a "$dir")): give a directory of its own (it is made 0700)"
      exit 3 ;;
  esac
else
  mkdir -p "$dir"
  made=1
fi
tmp=$(mktemp "$dir/.secret.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
chmod 0600 "$tmp"
chown "$uid:$uid" "$tmp"
mv -f "$tmp" "$path"
trap - EXIT
if [ "$made" = 1 ]; then
  chown "$uid:$uid" "$dir"
  chmod 0700 "$dir"
fi
