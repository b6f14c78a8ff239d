# Shared by signal-load.sh and signal-across.sh (sourced, not run): free loopback ports and a turn
# daemon configured for load (limits out of the way, warnings only in its log).

free_port() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }

# turn_daemon DIR NAME PORT [EXTRA_SIGNAL_JSON]: writes DIR/NAME.json, starts the daemon (DAEMON_EXE
# when set, else the JIT build) with its output in DIR/NAME.log, and sets $daemon to its PID.
turn_daemon() {
  local dir=$1 name=$2 port=$3 extra=${4:-} stun
  stun=$(free_port udp)
  cat > "$dir/$name.json" <<JSON
{
  "Listen": { "Addresses": [ "127.0.0.1" ], "UdpPort": $stun, "Transports": [ "udp" ] },
  "Http": { "Urls": [ "http://127.0.0.1:$port" ] },
  "Signal": { $extra "MessagesPerSecond": 1000, "MaxPeersPerRoom": 1000, "SendQueueLength": 1024, "MaxConnections": 1000000,
              "MaxConnectionsPerAddress": 100000, "MaxPeersPerAddress": 100000, "MaxPeersPerRoomPerAddress": 1000,
              "MaxRoomsPerAddress": 100000, "JoinsPerSecond": 0, "CredentialsPerMinute": 0 },
  "Auth": { "Realm": "load", "Secrets": [ "load-test-secret-0123456789" ] },
  "Logging": { "LogLevel": { "Default": "Warning" } }
}
JSON
  if [ -n "${DAEMON_EXE:-}" ]; then
    "$DAEMON_EXE" serve --config "$dir/$name.json" > "$dir/$name.log" 2>&1 &
  else
    dotnet src/Turn/bin/Release/net10.0/turn.dll serve --config "$dir/$name.json" > "$dir/$name.log" 2>&1 &
  fi
  daemon=$!
}
