# shellcheck shell=sh
# The worker's gemini profile, in the maintainer container as root (its data root at
# /home/node/dev): $1 list or write, $2 the profile directory (/home/node/dev/gemini). Never follows a
# link: list reports one in the profile's place (state=link) and what is in the
# directory without following anything (find -P); write extracts the archive (base64
# of a tar.gz made by the controller: files and directories only) into a new directory
# of its own (mktemp, 0700, root's: nobody can plant anything in it), refuses anything
# in it but files and directories, gives it to root (the job user can read, not write),
# then moves it into the profile's place: a link or directory found there is moved
# aside (mv never follows a link given as the name to move) and removed (rm -r never
# follows links).
set -eu
mode=$1 dest=$2
parent=${dest%/*}
case $mode in
  list)
    if [ -L "$dest" ]; then echo state=link; exit 0; fi
    if [ ! -d "$dest" ]; then echo state=absent; exit 0; fi
    echo state=dir
    cd "$dest"
    find . -mindepth 1 \( -type d -printf 'entry=d %m %P\n' \) -o \( -type f -printf 'entry=f %m %P\n' \) \
      -o -printf 'entry=o %m %P\n'
    find . -type f -print0 | xargs -0r sha256sum | sed 's|^\([0-9a-f]*\)  \./|sum=\1 |'
    ;;
  write)
    umask 077
    tmp=$(mktemp -d "$parent/.gemini-profile.XXXXXX")
    trap 'rm -rf -- "$tmp"' EXIT
    base64 -d | tar -x -z -C "$tmp" --no-same-owner -f -
    odd=$(find "$tmp" -mindepth 1 ! -type f ! -type d -print | head -n 1)
    if [ -n "$odd" ]; then
      echo "error=the profile's archive holds ${odd#"$tmp"/}, neither a file nor a directory"
      exit 3
    fi
    chown -R 0:0 "$tmp"
    chmod 0755 "$tmp"
    if [ -L "$dest" ] || [ -e "$dest" ]; then mv -T -- "$dest" "$tmp.old"; fi
    mv -T -- "$tmp" "$dest"
    trap 'rm -rf -- "$tmp.old"' EXIT
    echo written=1
    ;;
  *) echo "error=unknown mode $mode"; exit 2 ;;
esac
