#!/usr/bin/env bash
# Rooms across daemons: two turn daemons sharing rooms through one redis-server (Signal:Redis),
# against one daemon alone, under the same load generator (tests/SignalLoad): PEERS peers in rooms
# of ROOM_SIZE, peer i on daemon i mod 2 (so every room spans both and about half of the addressed
# messages cross Redis), then ~300-byte messages at RATE per second for SECONDS_RUN seconds.
# Prints, for each setup, delivery latency percentiles, messages per second and the daemons'
# CPU per 1,000 delivered (redis-server's CPU is printed apart).
#
#   tests/bench/signal-across.sh                         # 1,000 peers, 5,000 msg/s, 10 s
#   RATE=20000 DAEMON_EXE=/tmp/aot/turn tests/bench/signal-across.sh
# (not TURN_*: the daemon reads every TURN_ variable as configuration and refuses unknown keys)
#
# Only loopback; every process it starts is stopped by its PID; bounded in count and time.
set -euo pipefail
cd "$(dirname "$0")/../.."

PEERS=${PEERS:-1000}
ROOM_SIZE=${ROOM_SIZE:-10}
SECONDS_RUN=${SECONDS_RUN:-10}
RATE=${RATE:-5000}
SOURCES=${SOURCES:-4}

command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 2; }
dotnet build -c Release src/Turn -v q -nologo >/dev/null
dotnet build -c Release tests/SignalLoad -v q -nologo >/dev/null
ulimit -n "$(ulimit -Hn)"

. tests/bench/signal-lib.sh
wait_port() { for _ in $(seq 100); do python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$1" 2>/dev/null && return; sleep 0.1; done; }
dir=$(mktemp -d)
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; pids=(); }
trap 'stop_all; [ -n "${KEEP:-}" ] && echo "logs in $dir" || rm -rf "$dir"' EXIT

redis_port=$(free_port tcp)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no > "$dir/redis.log" 2>&1 &
redis=$!
wait_port "$redis_port"

# start_turn NAME REDIS(0/1): starts a daemon, sets $port and $pid
start_turn() {
  port=$(free_port tcp)
  local backplane=""
  [ "$2" = 1 ] && backplane="\"Redis\": \"127.0.0.1:$redis_port\","
  turn_daemon "$dir" "$1" "$port" "$backplane"
  pid=$daemon
  pids+=("$pid")
  wait_port "$port"
}

redis_cpu() { awk '{print ($14+$15)*10}' "/proc/$redis/stat"; }
load() {
  timeout 300 dotnet tests/SignalLoad/bin/Release/net10.0/SignalLoad.dll --url "$1" --server-pid "$2" \
    --peers "$PEERS" --room-size "$ROOM_SIZE" --seconds "$SECONDS_RUN" --rate "$RATE" --sources "$SOURCES" \
    | grep -E "held|messages:|latency|for the messages"
}

echo "rooms across daemons: $PEERS peers, rooms of $ROOM_SIZE, $RATE msg/s for $SECONDS_RUN s, $(nproc) cores, $(date -u +%FT%TZ)"
echo
echo "== one daemon, no Redis"
start_turn alone 0
load "ws://127.0.0.1:$port/signal" "$pid"
stop_all

echo
echo "== two daemons through Redis (half the messages cross)"
start_turn one 1; url1="ws://127.0.0.1:$port/signal"; pid1=$pid
start_turn two 1; url2="ws://127.0.0.1:$port/signal"; pid2=$pid
before=$(redis_cpu)
load "$url1,$url2" "$pid1,$pid2"
echo "redis-server CPU: $(( $(redis_cpu) - before )) ms over the connects, joins and messages"
stop_all
kill "$redis" 2>/dev/null || true
wait "$redis" 2>/dev/null || true
