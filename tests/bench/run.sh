#!/usr/bin/env bash
# Side-by-side relay benchmark: turn against coturn's turnserver on loopback.
#
#   tests/bench/run.sh            # 3 rounds: about 4-5 minutes on 2 cores
#   tests/bench/run.sh --quick    # 1 round, fewer messages: about 1-1.5 minutes
#   tests/bench/run.sh --no-build --variants turn,turn-noinline --json out.json
#   tests/bench/run.sh --floor    # floor.py instead: udp-floor fwd, coturn, turn (about 9-10 minutes)
#   tests/bench/run.sh --floor --quick --loads window,paced
#   tests/bench/run.sh --floor --aot   # the Native AOT build (what the image ships) instead
#
# Builds turn (Release), copies the build to a temporary directory (so a rebuild
# elsewhere cannot change it mid-run), then runs bench.py (uclient loads), or with
# --floor floor.py (udp-floor loads; the other options are floor.py's). Everything
# started is stopped by PID; only 127.0.0.1 is used. See tests/bench/README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

build=1
keep=0
floor=0
aot=0
help=0
args=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    --keep) keep=1 ;;
    --floor) floor=1 ;;
    --aot) aot=1 ;;
    -h|--help) help=1 ;;
    *) args+=("$a") ;;
  esac
done
script="$here/bench.py"
if [ "$floor" = 1 ]; then script="$here/floor.py"; fi
if [ "$help" = 1 ]; then
  sed -n '2,13p' "$0"
  echo
  echo "run.sh options: --no-build (use the existing Release build), --keep (keep logs and configs),"
  echo "  --floor (run floor.py instead of bench.py), --aot (publish and measure the Native AOT build)"
  echo "$(basename "$script") options (--turn-dll and --workdir are set by run.sh):"
  python3 -B "$script" --turn-dll x --help | sed -n '/^options:/,$p' | tail -n +2
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
if ! command -v turnutils_uclient >/dev/null 2>&1 || ! command -v turnserver >/dev/null 2>&1; then
  echo "installing coturn (turnserver, turnutils_uclient, turnutils_peer)"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends coturn >/dev/null
fi
for tool in dotnet python3 turnserver turnutils_uclient turnutils_peer; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool" >&2; exit 1; }
done

out="$repo/src/Turn/bin/Release/net10.0"
entry="turn.dll"
buildcmd=(dotnet build -c Release --nologo -v q "$repo/src/Turn")
if [ "$aot" = 1 ]; then
  out="$repo/src/Turn/bin/Release/aot"
  entry="turn"
  buildcmd=(dotnet publish -c Release -r linux-x64 -p:PublishAot=true --nologo -v q -o "$out" "$repo/src/Turn")
fi
if [ "$build" = 1 ]; then
  echo "building turn ($([ "$aot" = 1 ] && echo "Native AOT" || echo Release)) ..."
  buildlog="$(mktemp)"
  if ! "${buildcmd[@]}" >"$buildlog" 2>&1; then
    cat "$buildlog" >&2; rm -f "$buildlog"; echo "build failed" >&2; exit 1
  fi
  rm -f "$buildlog"
fi
[ -f "$out/$entry" ] || { echo "no build at $out; run without --no-build" >&2; exit 1; }

work="$(mktemp -d /tmp/turn-bench.XXXXXX)"
cleanup() {
  if [ "$keep" = 1 ]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
cp -r "$out" "$work/turn-build"

# bench.py and floor.py stop what they started when they get SIGTERM or SIGINT; pass ours on.
# (floor.py, as root, re-executes itself under `unshare -n`: same PID, own network namespace.)
python3 -B "$script" --turn-dll "$work/turn-build/$entry" --workdir "$work" "${args[@]}" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM INT
status=0
while :; do
  wait "$pid" && status=0 || status=$?
  # wait returns early (status > 128) when a trapped signal arrives; wait again.
  kill -0 "$pid" 2>/dev/null || break
done
exit "$status"
