#!/usr/bin/env bash
# Signaling load on loopback: starts `turn serve` (Release) with HTTP on a free port, holds
# PEERS WebSocket peers in rooms of ROOM_SIZE, relays ~300-byte addressed messages among them
# at RATE per second for SECONDS, and prints connections held, messages per second, delivery
# latency percentiles and the server's memory per connection. Bounded in count and time; only
# 127.0.0.1 is used; the daemon it starts is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/../.."

PEERS=${PEERS:-2000}
ROOM_SIZE=${ROOM_SIZE:-10}
SECONDS_RUN=${SECONDS_RUN:-10}
RATE=${RATE:-5000}

dotnet build -c Release src/Turn -v q -nologo >/dev/null
dotnet build -c Release tests/SignalLoad -v q -nologo >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
stun=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
cat > "$dir/turn.json" <<JSON
{
  "Listen": { "Addresses": [ "127.0.0.1" ], "UdpPort": $stun, "Transports": [ "udp" ] },
  "Http": { "Urls": [ "http://127.0.0.1:$port" ] },
  "Signal": { "MessagesPerSecond": 1000, "MaxPeersPerRoom": 1000, "SendQueueLength": 1024,
              "MaxConnectionsPerAddress": 100000, "MaxPeersPerAddress": 100000, "MaxPeersPerRoomPerAddress": 1000,
              "MaxRoomsPerAddress": 100000, "JoinsPerSecond": 0, "CredentialsPerMinute": 0 },
  "Auth": { "Realm": "load", "Secrets": [ "load-test-secret-0123456789" ] },
  "Logging": { "LogLevel": { "Default": "Warning" } }
}
JSON

dotnet src/Turn/bin/Release/net10.0/turn.dll serve --config "$dir/turn.json" > "$dir/turn.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done

echo "signaling load: $PEERS peers, rooms of $ROOM_SIZE, $RATE msg/s target for $SECONDS_RUN s ($(nproc) cores)"
timeout 300 dotnet tests/SignalLoad/bin/Release/net10.0/SignalLoad.dll \
  --url "ws://127.0.0.1:$port/signal" --peers "$PEERS" --room-size "$ROOM_SIZE" \
  --seconds "$SECONDS_RUN" --rate "$RATE" --server-pid "$server"
