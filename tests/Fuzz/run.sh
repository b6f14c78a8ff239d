#!/usr/bin/env bash
# Coverage-guided fuzzing of one parser with afl-fuzz and SharpFuzz; a manual command, not part of
# tests/run.sh or CI.
#
#   tests/Fuzz/run.sh stun|framing|signal [EXECUTIONS]      (default 1000000 executions)
#
# Builds tests/Fuzz in Release, instruments a copy of turn.dll / Turn.Signal.dll with sharpfuzz,
# and runs afl-fuzz on the seeds in tests/Fuzz/seeds/TARGET until EXECUTIONS inputs have run.
# Findings go to tests/Fuzz/bin/afl/TARGET/findings (a second run resumes there); at the end the
# saved crashes and hangs are replayed through the uninstrumented build, which prints each
# exception. Exits 1 when afl-fuzz saved a crash or a hang.
#
# Needs afl-fuzz (Debian: apt-get install afl++) and the sharpfuzz tool (installed here from
# NuGet, SharpFuzz.CommandLine 2.3.0, into tests/Fuzz/bin/tools when it is not on PATH).
# FUZZ_NICE sets the niceness afl-fuzz runs at (default 10).
set -euo pipefail

target=${1:-}
executions=${2:-1000000}
case "$target" in
    stun) prefixes=(Turn.Wire Turn.Server Turn.Auth Turn.Relay); assembly=turn.dll; dict=stun.dict ;;
    framing) prefixes=(Turn.Wire); assembly=turn.dll; dict=stun.dict ;;
    signal) prefixes=(Turn.Signal.ClientMessage); assembly=Turn.Signal.dll; dict=signal.dict ;;
    *) echo "usage: $0 stun|framing|signal [EXECUTIONS]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
out="$here/bin/afl"
build="$out/build"
app="$out/$target/app"
findings="$out/$target/findings"

command -v afl-fuzz > /dev/null || { echo "afl-fuzz not found: apt-get install afl++" >&2; exit 1; }
sharpfuzz=$(command -v sharpfuzz || true)
if [ -z "$sharpfuzz" ]; then
    sharpfuzz="$here/bin/tools/sharpfuzz"
    [ -x "$sharpfuzz" ] || dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$here/bin/tools"
fi

rm -rf "$build" "$app"
dotnet build "$here/Fuzz.csproj" -c Release --nologo -v quiet -o "$build"
mkdir -p "$app"
cp -r "$build/." "$app/"
"$sharpfuzz" "$app/$assembly" "${prefixes[@]}"

mkdir -p "$findings"
echo "fuzzing $target for $executions executions; findings in $findings"
AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_AUTORESUME=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 \
AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 DOTNET_TieredCompilation=0 \
    nice -n "${FUZZ_NICE:-10}" afl-fuzz -i "$here/seeds/$target" -o "$findings" -x "$here/dictionaries/$dict" \
    -t 2000 -m none -E "$executions" -- "$(command -v dotnet)" "$app/Turn.Fuzz.dll" "$target"

stats="$findings/default/fuzzer_stats"
for key in execs_done execs_per_sec bitmap_cvg edges_found total_edges corpus_count saved_crashes saved_hangs; do
    grep -E "^$key +:" "$stats" || true
done

found=0
for kind in crashes hangs; do
    dir="$findings/default/$kind"
    if compgen -G "$dir/id:*" > /dev/null; then
        found=1
        echo "replaying $kind:"
        timeout 120 dotnet "$build/Turn.Fuzz.dll" "$target" "$dir" || true
    fi
done
exit "$found"
