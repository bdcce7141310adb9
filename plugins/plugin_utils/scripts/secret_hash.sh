# shellcheck shell=sh
# Where the secret's directory really is (symlinks followed), then the file's
# sha256, or nothing when it does not exist: $1 the path.
echo "real=$(realpath -m -- "${1%/*}" 2>/dev/null)"
[ -f "$1" ] || exit 0
sha256sum "$1" | cut -d" " -f1
