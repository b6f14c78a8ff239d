#!/bin/bash
# Installs turn_<version>_amd64.deb into a fresh Debian 12 minbase root and checks it there.
#
#   tests/package/deb-test.sh artifacts/turn_<version>_amd64.deb
#
# The root comes from a cached mmdebstrap tarball (bookworm, minbase, apt lists kept, and the
# .debs of libssl3, procps and systemd pre-downloaded into /var/cache/turn-test), so after the
# first run the test needs no network: `apt-get install --no-download ./turn.deb` resolves the
# package's Depends from those lists and that cache. A Depends that names something not cached
# fails the install, and a dependency missing from Depends shows when the executable runs.
#
# Env: CACHE_DIR (default /var/cache/turn-deb-test), CACHE_MAX_DAYS (default 7; older tarballs
#      are rebuilt), REFRESH=1 (rebuild now), KEEP=1 (keep the root and print its path),
#      SMOKE=0 (skip running the daemon in a private network namespace).
# Needs: root, mmdebstrap and zstd (only to build the cache), lintian, unshare, chroot, ip (iproute2).
# Prints one line per check and ends with "N passed, N failed".
set -uo pipefail

DEB=$(realpath "${1:?usage: deb-test.sh turn_VERSION_amd64.deb}")
CACHE_DIR=${CACHE_DIR:-/var/cache/turn-deb-test}
CACHE=$CACHE_DIR/bookworm-minbase.tar.zst
SUITE=bookworm
PASSED=0 FAILED=0

pass() { PASSED=$((PASSED + 1)); echo "ok: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; return 1; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
t0=$(date +%s.%N)
lap() { local t; t=$(date +%s.%N); awk -v a="$t0" -v b="$t" -v n="$1" 'BEGIN { printf "time: %-28s %6.1f s\n", n, b - a }'; t0=$t; }

# 1. lintian, at every level with experimental tags: nothing but the overrides the package
#    ships with their reasons (deploy/debian/lintian-overrides).
OUT=$(lintian --allow-root --display-level '>=pedantic' --display-experimental "$DEB" 2>&1); rc=$?
[ -z "$OUT" ] || echo "$OUT" | sed 's/^/  | /'
check "lintian: no tags" test $rc = 0 -a -z "$OUT"
lap "lintian"

# 2. The cached root.
mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/lock"; flock 9     # one cache build at a time; released after extraction
if [ "${REFRESH:-0}" = 1 ] || [ -z "$(find "$CACHE" -mtime -"${CACHE_MAX_DAYS:-7}" 2>/dev/null)" ]; then
    echo "building $CACHE with mmdebstrap"
    mmdebstrap --quiet --variant=minbase --skip=cleanup/apt/lists \
        --customize-hook='mkdir -p "$1/var/cache/turn-test/partial"' \
        --customize-hook='chroot "$1" apt-get install --download-only -y --no-install-recommends -o Dir::Cache::Archives=/var/cache/turn-test libssl3 procps systemd' \
        "$SUITE" "$CACHE.tmp.tar.zst" || { echo "mmdebstrap failed" >&2; exit 1; }
    mv "$CACHE.tmp.tar.zst" "$CACHE"
    lap "mmdebstrap (cache build)"
fi

R=$(mktemp -d "${TMPDIR:-/tmp}/turn-deb-root.XXXXXX")
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "root kept: $R"; else rm -rf --one-file-system "$R"; fi; }
trap cleanup EXIT
tar -C "$R" --zstd -xf "$CACHE"
mv "$R"/var/cache/turn-test/*.deb "$R/var/cache/apt/archives/"
exec 9>&-
lap "extract root"

# Every command in the root runs in its own mount and PID namespace with a fresh /proc, so
# nothing stays mounted and no process outlives it.
in_root() { unshare --fork --pid --mount --mount-proc="$R/proc" chroot "$R" env SYSTEMD_COLORS=0 SYSTEMD_URLIFY=0 "$@"; }
# Offline: every .deb must come from the cache. (apt-get --no-download cannot install a local
# .deb: "Internal Error, Pathname to install is not absolute"; a proxy on a closed loopback port
# makes any download fail at once instead.)
APT=(apt-get -q -y --no-install-recommends -o Dpkg::Use-Pty=0 -o Acquire::http::Proxy=http://127.0.0.1:9 -o Acquire::https::Proxy=http://127.0.0.1:9)

# 3. Install with its dependencies, offline.
cp "$DEB" "$R/tmp/turn.deb"
in_root env DEBIAN_FRONTEND=noninteractive "${APT[@]}" install /tmp/turn.deb >"$R/tmp/install.log" 2>&1
check "apt-get install /tmp/turn.deb (Depends resolved offline)" test $? = 0 || sed 's/^/  | /' "$R/tmp/install.log"
lap "install .deb"
grep -E '^(Setting up|Unpacking) ' "$R/tmp/install.log" | sed 's/^/  /'

# 4. The package's files and state.
VERSION_DEB=$(dpkg-deb -f "$DEB" Version)
check "dpkg status: installed" test "$(in_root dpkg-query -W -f='${db:Status-Abbrev}' turn)" = "ii "
check "dpkg --verify turn (md5sums)" in_root dpkg --verify turn
check "/etc/turn/turn.json is a conffile" grep -q '^ /etc/turn/turn.json [0-9a-f]*$' <<<"$(in_root dpkg-query -W -f='${Conffiles}\n' turn)"
check "/usr/bin/turn is executable" test -x "$R/usr/bin/turn"
check "man page turn(1) installed" test -f "$R/usr/share/man/man1/turn.1.gz"
# deb-systemd-helper links to /lib/systemd/system/turn.service (found first; /lib is /usr/lib).
check "unit enabled by postinst (multi-user.target.wants)" \
    grep -qx '\(/usr\)\?/lib/systemd/system/turn.service' <<<"$(readlink "$R/etc/systemd/system/multi-user.target.wants/turn.service")"

# 5. The executable, with only what Depends brought in.
V=$(in_root turn --version 2>&1); rc=$?
check "turn --version exits 0 and prints $V" test $rc = 0 -a "${V%%+*}" = "${VERSION_DEB%-*}"
OUT=$(in_root turn check-config /etc/turn/turn.json 2>"$R/tmp/check.err"); rc=$?
sed "s/^/  | /" "$R/tmp/check.err"
echo "  | $OUT"
check "turn check-config /etc/turn/turn.json exits 0, valid" test $rc = 0 -a "$(head -1 <<<"$OUT")" = "/etc/turn/turn.json: configuration is valid"
# The example configuration has no secret: the local default, HTTP on loopback only.
check "check-config names the local default for the example configuration" grep -q '^mode: local default' <<<"$OUT"
printf '{ "Listen": { "UdpPort": 70000 } }' > "$R/tmp/bad.json"
OUT=$(in_root turn check-config /tmp/bad.json 2>&1); rc=$?
check "turn check-config on a bad file exits 2" test $rc = 2
OUT=$(in_root turn credentials --secret s3cret --user alice 2>&1); rc=$?
check "turn credentials (HMAC via libssl3) exits 0" test $rc = 0 -a -n "$(echo "$OUT" | grep '^password: ')"
lap "run the executable"

# 6. The daemon itself, as the unit starts it, in a private network namespace (only its own
#    loopback), probed with its own STUN client; bounded by timeout.
if [ "${SMOKE:-1}" = 1 ]; then
    OUT=$(unshare --fork --pid --mount --net --mount-proc="$R/proc" sh -c '
        ip link set lo up
        chroot "$1" /bin/sh -c "
            TURN_Listen__Addresses=127.0.0.1 timeout 20 turn serve --config /etc/turn/turn.json >/tmp/serve.log 2>&1 &
            for i in \$(seq 50); do turn probe stun:127.0.0.1:3478 --timeout 0.5 >/tmp/probe.log 2>&1 && break; sleep 0.2; done
            cat /tmp/probe.log; kill -TERM %1 2>/dev/null; wait"' sh "$R" 2>&1)
    echo "$OUT" | sed 's/^/  | /'
    check "turn serve answers turn probe stun:127.0.0.1:3478" grep -q '127.0.0.1' <<<"$OUT"
    lap "serve + probe"
fi

# 7. The unit, with bookworm's systemd-analyze inside the root (systemd from the cache).
in_root env DEBIAN_FRONTEND=noninteractive "${APT[@]}" install systemd >"$R/tmp/systemd.log" 2>&1
check "apt-get install systemd (offline)" test $? = 0 || tail -5 "$R/tmp/systemd.log"
lap "install systemd"
OUT=$(in_root systemd-analyze verify --man=no /usr/lib/systemd/system/turn.service 2>&1); rc=$?
[ -z "$OUT" ] || echo "$OUT" | sed 's/^/  | /'
check "systemd-analyze verify turn.service: exit 0, no output" test $rc = 0 -a -z "$OUT"
OUT=$(in_root systemd-analyze security --offline=true --no-pager /usr/lib/systemd/system/turn.service 2>&1 | tail -1)
echo "  | $OUT"
lap "systemd-analyze"

# 8. Reinstall (the upgrade path of the maintainer scripts), remove, purge.
quiet() { "$@" >"$R/tmp/cmd.log" 2>&1 || { sed 's/^/  | /' "$R/tmp/cmd.log"; return 1; }; }
check "reinstall (dpkg -i over itself)" quiet in_root dpkg -i /tmp/turn.deb
check "dpkg --remove turn" quiet in_root dpkg --remove turn
check "conffile kept after remove" test -f "$R/etc/turn/turn.json"
check "dpkg --purge turn" quiet in_root dpkg --purge turn
check "purge removed /etc/turn and the enable symlink" \
    test ! -e "$R/etc/turn" -a ! -L "$R/etc/systemd/system/multi-user.target.wants/turn.service"
lap "reinstall/remove/purge"

echo "deb-test: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
