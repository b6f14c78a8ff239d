# Sourced by deploy/image/build.sh and deploy/debian/build.sh: reads their common arguments
#   [--aot DIR] [--out DIR]
# into $aot and $out, installs what the build needs (`need COMMAND PACKAGE`, with apt-get when
# run as root), and publishes the Native AOT build into artifacts/aot when no --aot is given.
# Needs $repo (the repository root) set by the caller.
need() { # COMMAND PACKAGE: install PACKAGE when COMMAND is missing
    command -v "$1" >/dev/null 2>&1 && return
    if [ "$(id -u)" != 0 ]; then
        echo "$1 is missing: apt-get install $2" >&2
        exit 1
    fi
    echo "installing $2 ..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null; }
}
aot="" out="$repo/artifacts"
while [ $# -gt 0 ]; do
    case $1 in
        --aot) aot=$(realpath "$2"); shift 2 ;;
        --out) out=$(realpath -m "$2"); shift 2 ;;
        *) echo "usage: $0 [--aot DIR] [--out DIR]" >&2; exit 2 ;;
    esac
done
need file file
if [ -z "$aot" ]; then
    # What the Native AOT build needs on Linux: clang to link, zlib's headers.
    need clang clang
    [ -f /usr/include/zlib.h ] || need /usr/include/zlib.h zlib1g-dev
    aot=$repo/artifacts/aot
    echo "publishing the Native AOT build into $aot ..." >&2
    dotnet publish "$repo/src/Turn" -c Release -r linux-x64 -p:PublishAot=true --nologo -v q -o "$aot" >&2
fi
[ -x "$aot/turn" ] || { echo "no executable $aot/turn: give the output of a Native AOT publish" >&2; exit 1; }
file -b "$aot/turn" | grep -q '^ELF' || { echo "$aot/turn is not a Native AOT executable" >&2; exit 1; }
