#!/usr/bin/env bash
# Signaling load on loopback, turn and a minimal Node `ws` room relay (tests/bench/signal-node)
# side by side under the same load generator (tests/SignalLoad): PEERS WebSocket peers joined
# in rooms of ROOM_SIZE, then ~300-byte addressed messages among them at RATE per second for
# SECONDS (0: connect, join and measure the idle connections only). Prints, per server,
# connections held, the server's RSS per connection (slope from half to all peers), its CPU
# per 1,000 connects and joins and per 1,000 delivered messages, messages per second and
# delivery latency percentiles.
#
#   tests/bench/signal-load.sh                       # both servers, 2,000 peers, 5,000 msg/s, 10 s
#   PEERS=10000 SECONDS_RUN=0 SOURCES=8 tests/bench/signal-load.sh   # idle memory per connection
#   SERVERS=turn DAEMON_EXE=/path/to/aot/turn tests/bench/signal-load.sh
#   TRANSPORT=polling SERVERS=turn IDLE_SECONDS=20 tests/bench/signal-load.sh    # the HTTP fallback
# (TRANSPORT=polling has the peers use turn's HTTP fallback instead of WebSockets; the Node relay
# has none, so it runs with SERVERS=turn only. IDLE_SECONDS holds the joined peers idle that long
# and prints the requests and server CPU they cost.)
# (not TURN_*: the daemon reads every TURN_ variable as configuration and refuses unknown keys)
#
# SOURCES spreads the client sockets over 127.0.1.1 .. 127.0.1.N. Every process it starts is
# stopped by its PID; only loopback is used; bounded in count (PEERS) and time (timeouts).
# A server holds one descriptor per connection: PEERS is capped by the hard RLIMIT_NOFILE.
set -euo pipefail
cd "$(dirname "$0")/../.."

PEERS=${PEERS:-2000}
ROOM_SIZE=${ROOM_SIZE:-10}
SECONDS_RUN=${SECONDS_RUN:-10}
RATE=${RATE:-5000}
SOURCES=${SOURCES:-1}
SERVERS=${SERVERS:-turn,node}
TRANSPORT=${TRANSPORT:-websocket}
IDLE_SECONDS=${IDLE_SECONDS:-0}
if [ "$TRANSPORT" = polling ] && [ "$SERVERS" != turn ]; then
  echo "TRANSPORT=polling needs SERVERS=turn (the Node relay has no HTTP fallback)" >&2
  exit 2
fi

limit=$(ulimit -Hn)
ulimit -n "$limit"
if [ "$PEERS" -gt $((limit - 200)) ]; then
  echo "PEERS=$PEERS does not fit the descriptor limit $limit of this machine (each server holds one per connection)" >&2
  exit 2
fi

dotnet build -c Release src/Turn -v q -nologo >/dev/null
dotnet build -c Release tests/SignalLoad -v q -nologo >/dev/null
[ -f tests/bench/signal-node/node_modules/ws/package.json ] || npm ci --prefix tests/bench/signal-node --no-audit --no-fund >/dev/null

. tests/bench/signal-lib.sh
dir=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

start_turn() {
  turn_daemon "$dir" server "$1"
  server=$daemon
}

start_node() {
  node tests/bench/signal-node/relay.mjs --port "$1" > "$dir/server.log" 2>&1 &
  server=$!
}

echo "signaling load: $PEERS peers ($TRANSPORT), rooms of $ROOM_SIZE, $RATE msg/s for $SECONDS_RUN s, $SOURCES source address(es), $(nproc) cores, $(date -u +%FT%TZ)"
IFS=, read -r -a servers <<< "$SERVERS"
for name in "${servers[@]}"; do
  port=$(free_port tcp)
  case $name in
    turn) start_turn "$port" ;;
    node) start_node "$port" ;;
    *) echo "unknown server $name (turn, node)" >&2; exit 2 ;;
  esac
  for _ in $(seq 100); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$port" 2>/dev/null && break
    sleep 0.1
  done
  echo
  echo "== $name (pid $server)"
  set +e
  timeout 600 dotnet tests/SignalLoad/bin/Release/net10.0/SignalLoad.dll \
    --url "ws://127.0.0.1:$port/signal" --peers "$PEERS" --room-size "$ROOM_SIZE" \
    --seconds "$SECONDS_RUN" --rate "$RATE" --sources "$SOURCES" --server-pid "$server" \
    --transport "$TRANSPORT" --idle-seconds "$IDLE_SECONDS"
  set -e
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
done
