#!/usr/bin/env bash
# Builds the OCI image of turn without a Docker daemon or a base-image registry: a minimal
# Debian root made with mmdebstrap from Debian packages (the libraries the executable loads,
# the CA certificates and the time zones) is the base layer, the Native AOT executable at
# /usr/bin/turn the second; umoci writes the image and skopeo packs it into one OCI archive.
#
#   deploy/image/build.sh [--aot DIR] [--out DIR]
#
#   --aot DIR  a Native AOT publish of src/Turn (`turn` in it); without it the script runs
#              dotnet publish -c Release -r linux-x64 -p:PublishAot=true into artifacts/aot
#   --out DIR  where turn-<version>.oci.tar goes (default: artifacts/)
# Environment: SUITE (default bookworm), MIRROR, SECURITY_MIRROR, SOURCE_DATE_EPOCH (default:
#              the commit's time: two builds of one commit on one day give the same digest).
# Needs: root (mmdebstrap --mode=root); installs mmdebstrap, umoci and skopeo when missing.
#
# Push the archive anywhere: skopeo copy oci-archive:artifacts/turn-0.1.0.oci.tar docker://REGISTRY/turn:0.1.0
# Run it (host networking: a TURN server must see its clients' real addresses):
#   podman run --network host -v /etc/turn:/etc/turn:ro turn:0.1.0 serve --config /etc/turn/turn.json
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../build-args.sh
. "$repo/deploy/build-args.sh"
for tool in mmdebstrap umoci skopeo; do
    need "$tool" "$tool"
done

suite=${SUITE:-bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}
security=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
full_version=$("$aot/turn" --version)
version=${full_version%%+*}
revision=${full_version#*+}; [ "$revision" != "$full_version" ] || revision=unknown
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
uid=65532

work=$(mktemp -d "${TMPDIR:-/tmp}/turn-image.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
tar_layer() { # DIR TAR: a layer tar that depends only on the files and SOURCE_DATE_EPOCH
    tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime --numeric-owner \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$1" -cf "$2" .
}

# 1. The base: packages extracted, not installed (no shell, no dpkg, no maintainer scripts).
#    libssl3 is dlopen()ed by the .NET runtime; glibc loads libgcc_s when a thread exits. The
#    daemon runs without ICU (invariant globalization, its own NFKC).
#    The hook writes a dpkg status file while the .debs are at hand, so image scanners see
#    which packages the image holds.
packages=libc6,libgcc-s1,libssl3,ca-certificates,tzdata
base=$work/base
mmdebstrap --quiet --variant=extract --mode=root --include="$packages" --skip=output/dev \
    --extract-hook='set -e; mkdir -p "$1/var/lib/dpkg"; : > "$1/var/lib/dpkg/status"
        for f in "$1"/var/cache/apt/archives/*.deb; do
            { dpkg-deb -f "$f" | grep -v "^Status:"; echo "Status: install ok installed"; echo; } >> "$1/var/lib/dpkg/status"
        done' \
    "$suite" "$base" "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main"

# The CA bundle update-ca-certificates would write (OpenSSL finds it through /usr/lib/ssl/cert.pem).
mkdir -p "$base/etc/ssl/certs"
find "$base/usr/share/ca-certificates/mozilla" -name '*.crt' | LC_ALL=C sort | xargs cat > "$base/etc/ssl/certs/ca-certificates.crt"
# What a daemon never runs or reads: programs (openssl and debconf come as hard dependencies of
# ca-certificates), documentation but the copyrights, locales, iconv modules, OpenSSL engines,
# apt's state, the build host's resolv.conf and hostname.
rm -rf "$base/usr/bin" "$base/usr/sbin" "$base/sbin" "$base/bin" "$base/usr/share/man" "$base/usr/share/lintian" \
    "$base/usr/share/perl5" "$base/usr/share/pixmaps" "$base/usr/share/debconf" "$base/usr/share/locale" \
    "$base/usr/lib/x86_64-linux-gnu/gconv" "$base/usr/lib/x86_64-linux-gnu/engines-3" \
    "$base/usr/lib/ssl/misc" "$base/usr/share/gcc" \
    "$base/usr/share/ca-certificates" "$base/etc/apt" "$base/var/lib/apt" "$base/var/cache" "$base/var/log" \
    "$base/etc/debconf.conf" "$base/etc/resolv.conf" "$base/etc/hostname" "$base/etc/fstab" \
    "$base/var/lib/dpkg/info" "$base/var/lib/dpkg/alternatives" "$base/var/lib/dpkg/triggers" \
    "$base/var/lib/dpkg/updates" "$base/dev"
find "$base/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -exec rm -f {} +
find "$base/usr/share/doc" -mindepth 1 -type d -empty -delete
ldconfig -r "$base"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/home/nonroot:/sbin/nologin\n' $uid $uid > "$base/etc/passwd"
printf 'root:x:0:\nnonroot:x:%s:\n' $uid > "$base/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$base/etc/nsswitch.conf"
mkdir -p "$base/tmp" "$base/var/tmp" "$base/root" "$base/home/nonroot" "$base/proc" "$base/sys" "$base/dev" "$base/run"
chmod 1777 "$base/tmp" "$base/var/tmp"; chmod 0700 "$base/root"; chown $uid:$uid "$base/home/nonroot"
tar_layer "$base" "$work/base.tar"

# 2. The application: /usr/bin/turn and /etc/turn, where a turn.json is mounted.
app=$work/app
mkdir -p "$app/usr/bin" "$app/etc/turn"
install -m 0755 "$aot/turn" "$app/usr/bin/turn"
tar_layer "$app" "$work/app.tar"

# 3. The image.
layout=$work/layout
umoci init --layout "$layout"
umoci new --image "$layout:$version"
umoci config --image "$layout:$version" --architecture amd64 --os linux --created "$created" --no-history
umoci raw add-layer --image "$layout:$version" --history.created "$created" \
    --history.created_by "mmdebstrap --variant=extract $suite: $packages" "$work/base.tar"
umoci raw add-layer --image "$layout:$version" --history.created "$created" \
    --history.created_by "turn $version (Native AOT) at /usr/bin/turn" "$work/app.tar"
umoci config --image "$layout:$version" --created "$created" --history.created "$created" \
    --history.created_by "turn image configuration" \
    --config.user "$uid:$uid" --config.workingdir / \
    --config.entrypoint /usr/bin/turn --config.cmd serve \
    --config.stopsignal SIGTERM \
    --config.exposedports 3478/udp --config.exposedports 3478/tcp --config.exposedports 8080/tcp \
    --config.env PATH=/usr/bin:/bin \
    --config.label org.opencontainers.image.title=turn \
    --config.label "org.opencontainers.image.description=STUN/TURN relay and WebRTC signaling server" \
    --config.label "org.opencontainers.image.version=$version" \
    --config.label "org.opencontainers.image.revision=$revision" \
    --config.label "org.opencontainers.image.created=$created" \
    --config.label "org.opencontainers.image.base.name=debian:$suite"
umoci gc --layout "$layout"

mkdir -p "$out"
archive=$out/turn-$version.oci.tar
rm -f "$archive"
skopeo copy -q "oci:$layout:$version" "oci-archive:$archive:turn:$version"
echo "$archive"
