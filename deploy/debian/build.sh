#!/usr/bin/env bash
# Builds turn_<version>_amd64.deb from the Native AOT executable with plain dpkg-deb: no
# debian/ source tree and no debhelper. The package needs nothing of .NET on the target.
#
#   deploy/debian/build.sh [--aot DIR] [--out DIR]
#
#   --aot DIR  a Native AOT publish of src/Turn (`turn` in it); without it the script runs
#              dotnet publish -c Release -r linux-x64 -p:PublishAot=true into artifacts/aot
#   --out DIR  where the .deb goes (default: artifacts/)
# Environment: DEB_REVISION (default 1), DEB_VERSION (the whole Debian version),
#              MAINTAINER, DISTRIBUTION (default bookworm), SOURCE_DATE_EPOCH (default: the
#              commit's time, so two builds of one commit give the same bytes).
# Needs: dpkg-deb and dpkg-shlibdeps (dpkg-dev), objcopy (binutils), gzip; installs dpkg-dev
# and binutils when missing and run as root.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../build-args.sh
. "$repo/deploy/build-args.sh"
need dpkg-shlibdeps dpkg-dev
need objcopy binutils

# `turn --version` prints 0.1.0+<commit>. The commit goes into the changelog, not the version:
# a hash does not sort, so versions with it would upgrade in random order.
full_version=$("$aot/turn" --version)
upstream=${full_version%%+*}
commit=${full_version#*+}; [ "$commit" != "$full_version" ] || commit=unknown
version=${DEB_VERSION:-$upstream-${DEB_REVISION:-1}}
maintainer=${MAINTAINER:-$(git -C "$repo" log -1 --format='%an <%ae>' 2>/dev/null || echo 'turn maintainers <root@localhost>')}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}
arch=amd64
exe=usr/lib/turn/turn

work=$(mktemp -d "${TMPDIR:-/tmp}/turn-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/turn
umask 022
mkdir -p "$root/DEBIAN" "$root/usr/lib/turn" "$root/usr/bin" "$root/usr/lib/systemd/system" "$root/etc/turn" \
         "$root/usr/share/doc/turn" "$root/usr/share/man/man1" "$root/usr/share/lintian/overrides"

# The executable (the publish already moved its debug information to turn.dbg); .comment goes
# as dh_strip removes it. /usr/bin/turn is a relative symlink (policy 10.5).
objcopy --remove-section=.comment "$aot/turn" "$root/$exe"
chmod 0755 "$root/$exe"
ln -s ../lib/turn/turn "$root/usr/bin/turn"

# The unit: the repository's, started from /usr/bin/turn, with the manual-install comment
# replaced and the man page as its documentation.
sed -e 's|/usr/local/bin/turn|/usr/bin/turn|g' \
    -e '/^# Install: copy the published daemon/,/^# \/etc\/systemd\/system\/turn.service/d' \
    -e 's|^\(# turn: STUN/TURN relay and WebRTC signaling.\)$|\1\n# Installed by the turn package; change it with: systemctl edit turn|' \
    -e 's|^\(Description=.*\)$|\1\nDocumentation=man:turn(1)|' \
    "$repo/deploy/systemd/turn.service" > "$root/usr/lib/systemd/system/turn.service"
grep -q '^ExecStart=/usr/bin/turn serve --config /etc/turn/turn.json$' "$root/usr/lib/systemd/system/turn.service"

# The configuration, a conffile. 0644: with DynamicUser=yes the daemon reads it as an
# unprivileged user.
install -m 0644 "$repo/turn.example.json" "$root/etc/turn/turn.json"
echo /etc/turn/turn.json > "$root/DEBIAN/conffiles"

install -m 0644 "$here/copyright" "$root/usr/share/doc/turn/copyright"
printf 'turn (%s) %s; urgency=medium\n\n  * Native AOT build of commit %s.\n\n -- %s  %s\n' \
    "$version" "${DISTRIBUTION:-bookworm}" "${commit:0:12}" "$maintainer" "$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")" \
    | gzip -9n > "$root/usr/share/doc/turn/changelog.Debian.gz"
sed -e "s|@VERSION@|$upstream|" -e "s|@DATE@|$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)|" "$here/turn.1" \
    | gzip -9n > "$root/usr/share/man/man1/turn.1.gz"
sed -e "s|@EXE@|$exe|" "$here/lintian-overrides" > "$root/usr/share/lintian/overrides/turn"

# The maintainer scripts are what dh_installsystemd writes for one service that is enabled and
# started on install and restarted on upgrade (deb-systemd-helper is in init-system-helpers,
# which is Essential).
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$root/DEBIAN/"

# Depends. dpkg-shlibdeps sees only libc (the executable's NEEDED entries are libc, libm and the
# loader). The .NET runtime dlopen()s the rest, which ldd cannot see:
#   libssl3   TLS listeners, HMAC of MESSAGE-INTEGRITY, certificates
#   procps    /bin/kill, which the unit's ExecReload runs
# zlib is linked in statically; the daemon runs without ICU (invariant globalization, its own NFKC).
shlibs=$(cd "$work" && mkdir -p debian && printf 'Source: turn\n\nPackage: turn\nArchitecture: %s\n' "$arch" > debian/control \
         && dpkg-shlibdeps -O "$root/$exe" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
depends="${shlibs:-libc6 (>= 2.34)}, libssl3 (>= 3.0.0), procps"

# Installed-Size as dpkg counts it: KiB per file rounded up, 1 per directory or link.
installed_size=$(find "$root" -path "$root/DEBIAN" -prune -o -mindepth 1 -printf '%y %s\n' \
    | awk '{ if ($1 == "f") t += int(($2 + 1023) / 1024); else t += 1 } END { print t }')
cat > "$root/DEBIAN/control" <<EOF
Package: turn
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Section: net
Priority: optional
Description: STUN/TURN relay and WebRTC signaling server
 turn is a self-hosted STUN/TURN relay (RFC 8489, RFC 8656) with a WebRTC
 signaling endpoint over WebSocket, in one daemon. It relays media for
 browsers behind NAT over UDP, TCP and TLS, with static users and TURN REST
 shared-secret credentials, quotas, and peer address filtering that keeps
 relays away from loopback, private and link-local networks by default.
 .
 This package installs the daemon (a .NET Native AOT executable), its
 systemd unit turn.service and the configuration /etc/turn/turn.json.
EOF
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

find "$root" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0 touch -h -d "@$SOURCE_DATE_EPOCH"
mkdir -p "$out"
deb=$out/turn_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
