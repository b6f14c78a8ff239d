#!/usr/bin/env bash
# Runs the OCI image as a container and checks it from outside: podman (storage in a temporary
# directory, runtime runc), in a network namespace this script creates, with the image's own
# user, a read-only root, no capabilities and a turn.json mounted read-only at /etc/turn.
#
#   tests/package/image-test.sh artifacts/turn-<version>.oci.tar
#
# Needs: root, podman, runc, iproute2, curl, stun-client (stun), coturn (turnutils_*).
# Prints one line per check and ends with "image-test: N passed, N failed".
set -uo pipefail

archive=$(realpath "${1:?usage: image-test.sh turn-VERSION.oci.tar}")
work=$(mktemp -d "${TMPDIR:-/tmp}/turn-image-test.XXXXXX")
ns=turn-image-$$
name=turn-image-test-$$
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@" >"$work/check.log" 2>&1; then pass "$what"; else fail "$what"; sed 's/^/  | /' "$work/check.log"; fi; }
in_ns() { ip netns exec "$ns" "$@"; }

# This machine's hard RLIMIT_NOFILE may be below podman's default (1048576), and without
# CAP_SYS_RESOURCE podman cannot raise it: ask for what the host allows. crun does not run on
# hosts whose cgroups are in hybrid mode; runc does everywhere.
podman=(podman --root "$work/storage" --runroot "$work/run" --tmpdir "$work/tmp" --cgroup-manager cgroupfs --events-backend file --storage-driver overlay)
run_options=(--runtime runc --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=32768:32768)
peer_pid=""
cleanup() {
    [ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null
    "${podman[@]}" rm -f -t 0 "$name" >/dev/null 2>&1
    "${podman[@]}" rmi -a -f >/dev/null 2>&1
    ip netns del "$ns" 2>/dev/null
    umount -R "$work/storage" "$work/run" 2>/dev/null
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

ip netns add "$ns" && in_ns ip link set lo up || { echo "FAIL: cannot create network namespace $ns"; exit 1; }

# The image: its size, its user and what it runs.
size=$(stat -c %s "$archive")
check "image archive is under 60 MB ($((size / 1000000)) MB compressed)" test "$size" -lt 60000000
image=$("${podman[@]}" load -q -i "$archive" 2>&1 | sed -n 's/^Loaded image[^:]*: //p' | head -1)
check "podman load gives an image ($image)" test -n "$image"
unpacked=$("${podman[@]}" image inspect --format '{{.Size}}' "$image" 2>/dev/null || echo 0)
check "image unpacked is under 100 MB ($((unpacked / 1000000)) MB)" test "$unpacked" -gt 0 -a "$unpacked" -lt 100000000
config=$("${podman[@]}" image inspect --format '{{.Config.User}} {{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$image" 2>&1)
check "image config: numeric non-root user, entrypoint /usr/bin/turn serve ($config)" test "$config" = '65532:65532 ["/usr/bin/turn"] ["serve"]'
version=$("${podman[@]}" run --rm --network none "${run_options[@]}" "$image" --version 2>&1)
check "turn --version in the image ($version)" grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+' <<<"$version"

# A configuration as an operator mounts it: loopback addresses of the namespace, one user,
# loopback peers allowed (the peer below is on the namespace's loopback). The rest comes from
# TURN_* variables, as a Kubernetes manifest would give it.
mkdir -p "$work/etc"
cat > "$work/etc/turn.json" <<'EOF'
{
  "Listen": { "Addresses": [ "127.0.0.1" ] },
  "Auth": { "Users": [ "image:imagetest" ] },
  "Relay": { "UnsafeAllowLoopbackPeers": true },
  "Http": { "Urls": [ "http://127.0.0.1:8080" ] }
}
EOF
chmod 0755 "$work/etc"; chmod 0644 "$work/etc/turn.json"
check "check-config /etc/turn/turn.json in the image" \
    "${podman[@]}" run --rm --network none "${run_options[@]}" -v "$work/etc:/etc/turn:ro" "$image" check-config /etc/turn/turn.json

started=$(date +%s.%N)
"${podman[@]}" run -d --name "$name" --network "ns:/run/netns/$ns" "${run_options[@]}" \
    --read-only --read-only-tmpfs=false --cap-drop=all --security-opt no-new-privileges \
    -e TURN_Drain__ShutdownSeconds=2 -e TURN_Relay__MinPort=50000 -e TURN_Relay__MaxPort=50999 \
    -v "$work/etc:/etc/turn:ro" "$image" serve --config /etc/turn/turn.json >/dev/null 2>"$work/run.log" \
    || { cat "$work/run.log"; fail "podman run"; echo "image-test: $passed passed, $failed failed"; exit 1; }
ready=no
for _ in $(seq 100); do
    if in_ns curl -fsS -m 1 http://127.0.0.1:8080/readyz >/dev/null 2>&1; then ready=yes; break; fi
    sleep 0.1
done
check "/readyz answers ($(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s after podman run", b - a }'))" test $ready = yes
check "/healthz answers" in_ns curl -fsS -m 2 http://127.0.0.1:8080/healthz
pid=$("${podman[@]}" inspect -f '{{.State.Pid}}' "$name")
check "the daemon runs as uid 65532 with no capabilities" \
    sh -c "grep -q '^Uid:[[:space:]]*65532' /proc/$pid/status && grep -q '^CapEff:[[:space:]]*0000000000000000' /proc/$pid/status"
check "STUN over UDP answers Debian's stun client" sh -c "ip netns exec $ns stun 127.0.0.1:3478 2>&1 | grep -q 'Primary: Open'"
check "STUN answers turnutils_stunclient" sh -c "ip netns exec $ns timeout 10 turnutils_stunclient -p 3478 127.0.0.1 | grep -q 'reflexive addr'"

# Not through in_ns: a backgrounded function is a subshell, and killing it would leave the peer running.
ip netns exec "$ns" turnutils_peer -p 3480 -L 127.0.0.1 >"$work/peer.log" 2>&1 & peer_pid=$!
sleep 0.3
for transport in udp tcp; do
    flag=""; [ $transport = tcp ] && flag=-t
    check "turnutils_uclient relays over $transport (100 sent, 100 received, 0 lost)" sh -c "
        ip netns exec $ns timeout 60 turnutils_uclient $flag -u image -w imagetest -e 127.0.0.1 -r 3480 -p 3478 -m 2 -n 50 -l 400 -c 127.0.0.1 >$work/uclient.log 2>&1
        grep -q 'Total lost packets 0 ' $work/uclient.log && grep -q 'tot_send_msgs=100, tot_recv_msgs=100' $work/uclient.log || { tail -5 $work/uclient.log; exit 1; }"
done

check "podman stop (SIGTERM) ends the container" "${podman[@]}" stop -t 20 "$name"
check "exit code 0 after SIGTERM" test "$("${podman[@]}" inspect -f '{{.State.ExitCode}}' "$name")" = 0
"${podman[@]}" logs "$name" >"$work/daemon.log" 2>&1
check "nothing logged at error level (read-only root, no capabilities)" sh -c "! grep -E '(fail|crit):' $work/daemon.log"
check "the log says it stopped" grep -q 'turn stopped' "$work/daemon.log"

echo "image-test: $passed passed, $failed failed"
[ "$failed" = 0 ]
