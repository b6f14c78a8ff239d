# Sourced by deploy/image/build.sh and deploy/debian/build.sh: reads their common arguments
#   [--aot DIR] [--out DIR]
# into $aot and $out, and publishes the Native AOT build into artifacts/aot when no --aot is
# given. Needs $repo (the repository root) set by the caller.
aot="" out="$repo/artifacts"
while [ $# -gt 0 ]; do
    case $1 in
        --aot) aot=$(realpath "$2"); shift 2 ;;
        --out) out=$(realpath -m "$2"); shift 2 ;;
        *) echo "usage: $0 [--aot DIR] [--out DIR]" >&2; exit 2 ;;
    esac
done
if [ -z "$aot" ]; then
    aot=$repo/artifacts/aot
    echo "publishing the Native AOT build into $aot ..." >&2
    dotnet publish "$repo/src/Turn" -c Release -r linux-x64 -p:PublishAot=true --nologo -v q -o "$aot" >&2
fi
[ -x "$aot/turn" ] || { echo "no executable $aot/turn: give the output of a Native AOT publish" >&2; exit 1; }
file -b "$aot/turn" | grep -q '^ELF' || { echo "$aot/turn is not a Native AOT executable" >&2; exit 1; }
