#!/usr/bin/env python3
"""Soak test for turn: hours of mixed load, then a check that everything came back.

    python3 tests/bench/soak.py --minutes 120        # the real soak (2 h load + up to 11 min drain)
    python3 tests/bench/soak.py --quick              # a smoke test: 3 min load, smaller loads
    python3 tests/bench/soak.py --minutes 8 --out /tmp/soak --keep

Builds src/Turn (Release) unless --no-build or --turn-dll, copies the build to a
temporary directory, starts `dotnet turn.dll serve` on 127.0.0.1 and runs in parallel,
for --minutes:

  udp      `udp-floor load` runs: TURN/UDP allocations with ChannelData or Send
           indications to an echo peer (`udp-floor echo`), long-term or TURN REST
           credentials; each run makes its allocations and ends them (Refresh 0).
  vanish   some of those runs are killed with SIGKILL midway: their allocations are
           left to expire (Relay:DefaultLifetimeSeconds, see --lifetime).
  uclient  coturn's turnutils_uclient over TCP (-t), with Send indications (-s), both,
           and plain UDP; -c, a few messages, each run with a timeout.
  signal   WebSocket peers (a client written here) join rooms of 2-4, trade
           offer/answer/candidate messages, then half leave (leave + close frame) and
           half drop (FIN or RST without a close frame); some dropped peers resume;
           a few rooms stay open for a minute or two (the server's pings are answered).
  hostile  random bytes, truncated and malformed STUN, ChannelData for unbound
           channels to the UDP port; garbage and half messages to the TCP port.

Every 10 s it samples the daemon (VmRSS, RssAnon, threads, fds, CPU from /proc; the
turn_* metrics from /metrics) into a CSV. After the load it stops every client, waits
(bounded) until allocations, signaling connections and peers are back to 0, samples the
idle daemon and prints a summary with PASS/FAIL. Exit code 0 only on PASS.

Only 127.0.0.1 is used. Every process it starts it stops again by PID, also on Ctrl-C,
SIGTERM and errors. Python 3 standard library only. See tests/bench/README.md ("Soak").
"""
import argparse
import base64
import collections
import csv
import hashlib
import hmac
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # before importing benchlib: no __pycache__ in the repo
from benchlib import HOST, fd_count, proc_cpu as read_proc_cpu  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
USER, PASSWORD, REALM = "soak", "soakpw", "soak"
SECRET = "soak-secret-0123456789-0123456789-abcdef"
RELAY_PORTS = (30000, 39999)
MAGIC = 0x2112A442
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
LOADS = ("udp", "vanish", "uclient", "signal", "hostile")

# Metrics sampled: CSV column -> Prometheus metric name (summed over its labels).
METRICS = collections.OrderedDict([
    ("allocations", "turn_allocations"),
    ("exceptions", "turn_process_exceptions_total"),
    ("gc_heap_bytes", "turn_gc_heap_bytes"),
    ("gc_committed_bytes", "turn_gc_committed_bytes"),
    ("signal_connections", "turn_signal_connections"),
    ("signal_peers", "turn_signal_peers"),
    ("signal_rooms", "turn_signal_rooms"),
    ("signal_queued_bytes", "turn_signal_queued_bytes"),
    ("relayed_packets", "turn_relayed_packets_total"),
    ("allocations_created", "turn_allocations_created_total"),
    ("allocations_ended", "turn_allocations_ended_total"),
    ("dropped_packets", "turn_dropped_packets_total"),
    ("io_errors", "turn_io_errors_total"),
    ("gc_collections", "dotnet_collection_count_total"),
])
CSV_COLUMNS = ["time", "elapsed_s", "phase", "vmrss_kb", "rssanon_kb", "threads", "fds", "cpu_s"] + list(METRICS)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Interrupted(Exception):
    pass


# ----------------------------------------------------------------- processes

class Processes:
    """Every child process, by PID; spawning stops once closed, so none escapes the cleanup."""

    def __init__(self):
        self._lock = threading.Lock()
        self._procs = {}
        self._closed = False

    def spawn(self, argv, stdout, stderr=subprocess.STDOUT, env=None, cwd=None):
        with self._lock:
            if self._closed:
                return None
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                 env=env, cwd=cwd, start_new_session=True)
            self._procs[p.pid] = p
            return p

    def forget(self, p):
        with self._lock:
            self._procs.pop(p.pid, None)

    @staticmethod
    def stop(p, sig=signal.SIGTERM, grace=5.0):
        """Signals p (by PID, only while it is our unreaped child), waits up to grace, then SIGKILL."""
        if p.poll() is not None:
            return p.returncode
        try:
            os.kill(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                return p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                return None

    def close(self, grace=5.0):
        with self._lock:
            self._closed = True
            procs = list(self._procs.values())
        for p in procs:
            self.stop(p, grace=grace)
            self.forget(p)


class Counters:
    def __init__(self):
        self._lock = threading.Lock()
        self.c = collections.Counter()

    def add(self, key, n=1):
        with self._lock:
            self.c[key] += n

    def snapshot(self):
        with self._lock:
            return dict(self.c)


# ----------------------------------------------------------------- helpers

def free_port(udp_and_tcp=True, avoid=()):
    """A port free for UDP (and TCP) on 127.0.0.1, outside the relay range."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((HOST, 0))
            port = u.getsockname()[1]
            if RELAY_PORTS[0] <= port <= RELAY_PORTS[1] or port in avoid:
                continue
            if not udp_and_tcp:
                return port
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                    t.bind((HOST, port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "Threads"):
                    out[key] = int(value.split()[0])
    except OSError:
        return None
    return out


def proc_cpu(pid):
    try:
        return read_proc_cpu(pid)
    except (OSError, IndexError, ValueError):
        return None


def scrape(port, timeout=5.0):
    """{metric name: value summed over labels}, or None when /metrics does not answer."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=timeout) as r:
            text = r.read().decode("utf-8", "replace")
    except (OSError, urllib.error.URLError):
        return None
    sums = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)", line)
        if not m:
            continue
        try:
            v = float(m.group(3))
        except ValueError:
            continue
        sums[m.group(1)] = sums.get(m.group(1), 0.0) + v
    return sums


def http_status(port, path, timeout=2.0):
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, urllib.error.URLError):
        return None


def turn_argv(path):
    """`dotnet turn.dll`, or a native (Native AOT) `turn` executable as it is."""
    return ["dotnet", path] if path.endswith(".dll") else [path]


def slope_per_hour(points):
    """Least-squares slope of (seconds, value) points, in value units per hour; None if < 3 points."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    if sxx == 0:
        return None
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    return sxy / sxx * 3600.0


def tail(path, n=20):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 65536))
            return f.read().decode("utf-8", "replace").splitlines()[-n:]
    except OSError:
        return []


def exception_trace_summary(path, top=12):
    """Exception types, messages and catching frames from an EventPipe file (--trace-exceptions).

    Reads the UTF-16 strings of the events rather than parsing the nettrace format: an
    ExceptionThrown event carries the type and then the message; ExceptionCatch events name the
    method that caught it."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    strings = [m.decode("utf-16-le") for m in re.findall(rb"(?:[\x20-\x7e]\x00){4,}", data)]
    thrown = collections.Counter()
    catchers = collections.Counter()
    for i, text in enumerate(strings):
        if re.fullmatch(r"[\w.+`]*Exception", text):
            message = strings[i + 1] if i + 1 < len(strings) else ""
            if re.fullmatch(r"[\w.+`]*Exception", message) or message.startswith("instance ") or message.startswith("static "):
                message = ""
            thrown[(text, message[:100])] += 1
        elif text.startswith(("instance ", "static ")) and "::" in text:
            catchers[re.sub(r"^(instance|static) \S+ ", "", text)[:140]] += 1
    lines = [f"  {n:7d}  {t}: {m}" for (t, m), n in thrown.most_common(top)]
    if catchers:
        lines.append("  frames that caught or unwound them (most frequent):")
        lines += [f"  {n:7d}  {f}" for f, n in catchers.most_common(top)]
    dropped = sum(n for (t, m), n in thrown.items() if is_drop_exception(t, m))
    return lines, dropped, sum(thrown.values()) - dropped


def is_drop_exception(kind, message):
    """What Kestrel and System.Net.WebSockets throw inside their own reads when a peer goes
    away without a close frame (FIN or RST): each such drop surfaces as a few first-chance
    exceptions, one per async frame they unwind."""
    return ((kind.endswith("WebSocketException") and "without completing the close handshake" in message)
            or kind.endswith("ConnectionResetException")
            or kind.endswith("ConnectionAbortedException")
            or (kind.endswith("OperationCanceledException") and message == "Aborted"))


# ----------------------------------------------------------------- STUN bits

def stun_attr(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def stun_msg(mtype, attrs=b"", txid=None, length=None):
    txid = txid if txid is not None else os.urandom(12)
    return struct.pack("!HHI", mtype, len(attrs) if length is None else length, MAGIC) + txid + attrs


def xor_peer(host, port):
    a = struct.unpack("!I", socket.inet_aton(host))[0] ^ MAGIC
    return struct.pack("!BBHI", 0, 1, port ^ (MAGIC >> 16), a)


def hostile_datagram(rng, echo_port):
    """One malformed or unwelcome datagram for the UDP listener: (kind, bytes)."""
    k = rng.randrange(12)
    if k == 0:
        return "random", os.urandom(rng.randrange(1, 600))
    if k == 1:
        return "truncated-header", stun_msg(0x0001)[:rng.randrange(1, 20)]
    if k == 2:  # length says more than there is, or is not a multiple of 4
        body = os.urandom(rng.choice([0, 4, 8, 12]))
        return "bad-length", stun_msg(rng.choice([0x0001, 0x0003, 0x0004]), body,
                                      length=rng.choice([len(body) + 4, len(body) + 1, 65532, 3]))
    if k == 3:  # bad magic cookie, otherwise a Binding request
        return "bad-cookie", struct.pack("!HHI", 0x0001, 0, rng.getrandbits(32)) + os.urandom(12)
    if k == 4:  # an attribute whose length runs past the message
        a = struct.pack("!HH", rng.choice([0x0006, 0x0014, 0x0013, 0x0012]), rng.choice([200, 65535])) + os.urandom(8)
        return "attr-overrun", stun_msg(0x0003, a)
    if k == 5:  # Allocate with credentials and a wrong MESSAGE-INTEGRITY
        attrs = (stun_attr(0x0019, b"\x11\0\0\0") + stun_attr(0x0006, USER.encode())
                 + stun_attr(0x0014, REALM.encode()) + stun_attr(0x0015, os.urandom(16).hex().encode())
                 + stun_attr(0x0008, os.urandom(20)))
        return "bad-integrity", stun_msg(0x0003, attrs)
    if k == 6:  # unknown comprehension-required attributes, duplicates, odd sizes
        attrs = (stun_attr(rng.choice([0x0023, 0x7ABC, 0x0002, 0x0005]), os.urandom(rng.randrange(0, 9)))
                 + stun_attr(0x0006, b"x" * rng.choice([0, 1, 600])) + stun_attr(0x0006, b"y"))
        return "bad-attrs", stun_msg(rng.choice([0x0001, 0x0003, 0x0009, 0x0008]), attrs)
    if k == 7:  # ChannelData on a channel nobody bound; length honest, lying or reserved
        ch = rng.randrange(0x4000, 0x5000)
        data = os.urandom(rng.randrange(0, 300))
        ln = rng.choice([len(data), len(data) + 40, 65535, 0])
        return "channeldata-unbound", struct.pack("!HH", ch, ln) + data
    if k == 8:
        return "channeldata-reserved", struct.pack("!HH", rng.randrange(0x5000, 0x8000), 16) + os.urandom(16)
    if k == 9:  # Send indication without an allocation
        attrs = stun_attr(0x0012, xor_peer(HOST, echo_port)) + stun_attr(0x0013, os.urandom(64))
        return "send-no-allocation", stun_msg(0x0016, attrs)
    if k == 10:  # Refresh / CreatePermission / ChannelBind without an allocation or credentials
        attrs = stun_attr(0x000C, b"\x40\x01\0\0") + stun_attr(0x0012, xor_peer(HOST, echo_port))
        return "request-no-allocation", stun_msg(rng.choice([0x0004, 0x0008, 0x0009]), attrs)
    # responses and indications a client should never send, a wrong FINGERPRINT
    attrs = stun_attr(0x0020, os.urandom(8)) + stun_attr(0x8028, os.urandom(4))
    return "odd-class", stun_msg(rng.choice([0x0101, 0x0111, 0x0017, 0x0113, 0x0001]), attrs)


def hostile_stream(rng):
    """Bytes for one hostile TCP connection: (kind, list of chunks)."""
    k = rng.randrange(6)
    if k == 0:
        return "random", [os.urandom(rng.randrange(1, 2000))]
    if k == 1:  # header promising 500 bytes, 100 sent
        return "half-stun", [stun_msg(0x0003, os.urandom(100), length=500)]
    if k == 2:  # a valid Binding request, then garbage
        return "binding-then-garbage", [stun_msg(0x0001), os.urandom(rng.randrange(1, 300))]
    if k == 3:  # ChannelData frame cut short
        return "half-channeldata", [struct.pack("!HH", 0x4000, 1000) + os.urandom(200)]
    if k == 4:  # a Binding request a few bytes at a time
        m = stun_msg(0x0001)
        return "trickle", [m[i:i + 3] for i in range(0, len(m), 3)]
    return "http-to-turn", [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]


# ----------------------------------------------------------------- WebSocket

class WsError(Exception):
    pass


class WebSocket:
    """A minimal RFC 6455 client: handshake, masked frames, text, ping/pong, close."""

    def __init__(self, port, path="/signal", timeout=5.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = bytearray()
        self.closed = False
        self.close_received = False
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            request = (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
                       f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                       f"Origin: http://{HOST}:{port}\r\n\r\n")
            self.sock.sendall(request.encode())
            deadline = time.monotonic() + timeout
            data = bytearray()
            while b"\r\n\r\n" not in data:
                if time.monotonic() > deadline or len(data) > 65536:
                    raise WsError("handshake timed out")
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise WsError("closed during the handshake")
                data += chunk
            head, _, rest = bytes(data).partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            if len(lines[0].split()) < 2 or lines[0].split()[1] != "101":
                raise WsError(f"upgrade refused: {lines[0]}")
            want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
            if headers.get("sec-websocket-accept") != want:
                raise WsError("bad Sec-WebSocket-Accept")
            self.buf += rest
        except BaseException:
            self.sock.close()
            raise

    def fileno(self):
        return self.sock.fileno()

    def send_frame(self, opcode, payload=b""):
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        key = os.urandom(4)
        if n:
            k = (key * (n // 4 + 1))[:n]
            payload = (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")
        self.sock.sendall(head + key + payload)

    def send_json(self, obj):
        self.send_frame(0x1, json.dumps(obj, separators=(",", ":")).encode())

    def _frame(self):
        """One complete frame from the buffer: (fin, opcode, payload) or None."""
        b = self.buf
        if len(b) < 2:
            return None
        n = b[1] & 0x7F
        pos = 2
        if n == 126:
            if len(b) < 4:
                return None
            n = struct.unpack_from("!H", b, 2)[0]
            pos = 4
        elif n == 127:
            if len(b) < 10:
                return None
            n = struct.unpack_from("!Q", b, 2)[0]
            pos = 10
        if b[1] & 0x80:
            raise WsError("masked frame from the server")
        if len(b) < pos + n:
            return None
        frame = (bool(b[0] & 0x80), b[0] & 0x0F, bytes(b[pos:pos + n]))
        del b[:pos + n]
        return frame

    def buffered(self):
        try:
            return self._peek_complete()
        except WsError:
            return True

    def _peek_complete(self):
        b = self.buf
        if len(b) < 2:
            return False
        n, pos = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return False
            n, pos = struct.unpack_from("!H", b, 2)[0], 4
        elif n == 127:
            if len(b) < 10:
                return False
            n, pos = struct.unpack_from("!Q", b, 2)[0], 10
        return len(b) >= pos + n

    def recv(self, timeout):
        """The next text message as a dict, None on timeout; raises WsError when the connection ends."""
        deadline = time.monotonic() + timeout
        parts, first_op = [], None
        while True:
            frame = self._frame()
            if frame is None:
                left = max(0.0, deadline - time.monotonic())
                r, _, _ = select.select([self.sock], [], [], left)
                if not r:
                    return None
                chunk = self.sock.recv(65536)
                if not chunk:
                    self.closed = True
                    raise WsError("connection closed without a close frame")
                self.buf += chunk
                continue
            fin, op, payload = frame
            if op == 0x9:  # ping: answer
                self.send_frame(0xA, payload)
                continue
            if op == 0xA:
                continue
            if op == 0x8:
                self.close_received = True
                raise WsError(f"close frame {struct.unpack('!H', payload[:2])[0] if len(payload) >= 2 else ''}"
                              f" {payload[2:].decode('utf-8', 'replace')}")
            if op in (0x1, 0x2):
                parts, first_op = [payload], op
            elif op == 0x0:
                parts.append(payload)
            if fin and first_op is not None:
                text = b"".join(parts)
                parts, first_op = [], None
                try:
                    return json.loads(text)
                except ValueError:
                    return {"type": "?", "raw": text[:100].decode("utf-8", "replace")}

    def close_clean(self, timeout=3.0):
        """Close frame 1000, wait for the server's close frame (or EOF), close the socket."""
        try:
            if not self.close_received:
                self.send_frame(0x8, struct.pack("!H", 1000) + b"bye")
            deadline = time.monotonic() + timeout
            while not self.close_received and time.monotonic() < deadline:
                try:
                    self.recv(max(0.01, deadline - time.monotonic()))
                except WsError:
                    break
            return self.close_received
        except OSError:
            return False
        finally:
            self.sock.close()

    def drop(self, rst):
        """Abrupt end: no close frame; FIN, or RST with SO_LINGER 0."""
        try:
            if rst:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:  # unread bytes would turn close() into a RST: read them first
                self.sock.setblocking(False)
                for _ in range(64):
                    if not self.sock.recv(65536):
                        break
        except OSError:
            pass
        self.sock.close()


# ----------------------------------------------------------------- the daemon

class Daemon:
    def __init__(self, ctx, dll):
        self.ctx = ctx
        self.dll = dll
        self.p = None
        self.logpath = os.path.join(ctx.out, "turn.log")

    def config(self):
        a = self.ctx
        cfg = {
            "Listen": {"Addresses": [HOST], "UdpPort": a.port, "TcpPort": a.port, "Transports": ["udp", "tcp"]},
            "Auth": {"Realm": REALM, "Users": [f"{USER}:{PASSWORD}"], "Secrets": [SECRET],
                     "UnauthenticatedBytesPerSecond": 0},
            "Relay": {"Addresses": [HOST], "UnsafeAllowLoopbackPeers": True,
                      "MinPort": RELAY_PORTS[0], "MaxPort": RELAY_PORTS[1],
                      "MaxAllocations": 20000, "MaxAllocationsPerUser": 20000, "MaxAllocationsPerAddress": 20000},
            "Http": {"Urls": [f"http://{HOST}:{a.http_port}"]},
            "Metrics": {"Urls": [f"http://{HOST}:{a.metrics_port}"]},
            "Signal": {"MaxConnectionsPerAddress": 100000, "MaxPeersPerAddress": 100000,
                       "MaxPeersPerRoomPerAddress": 1000, "MaxRoomsPerAddress": 100000,
                       "JoinsPerSecond": 0, "CredentialsPerMinute": 0, "MessagesPerSecond": 1000},
            "Logging": {"LogLevel": {"Default": "Warning"}},
        }
        # Allocations nobody deletes (vanished clients; uclient leaves one of each pair behind and
        # asks for 777 s) live at most this long after their last refresh.
        cfg["Relay"]["DefaultLifetimeSeconds"] = a.lifetime
        cfg["Relay"]["MaxLifetimeSeconds"] = a.lifetime
        return cfg

    def env(self, serve=True):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TURN_") and not k.startswith("DOTNET_") and k != "JOURNAL_STREAM"}
        if serve and self.ctx.gen0_mb:
            # The smallest gen0 budget and its cap (hex bytes): collections come regularly, so RSS
            # shows what survives rather than how much garbage fits the default budget.
            env["DOTNET_GCgen0size"] = env["DOTNET_GCgen0MaxBudget"] = format(self.ctx.gen0_mb << 20, "x")
        if serve and self.ctx.trace_path:
            # EventPipe to a file from start-up: exception events (keyword 0x8000) with their catch frames.
            env["DOTNET_EnableEventPipe"] = "1"
            env["DOTNET_EventPipeConfig"] = "Microsoft-Windows-DotNETRuntime:0x8000:4"
            env["DOTNET_EventPipeOutputPath"] = self.ctx.trace_path
            env["DOTNET_EventPipeRundown"] = "0"  # the catch events name their methods themselves
        return env

    def write_config(self):
        path = os.path.join(self.ctx.out, "turn-soak.json")
        with open(path, "w") as f:
            json.dump(self.config(), f, indent=2)
        self.config_path = path
        r = subprocess.run(turn_argv(self.dll) + ["check-config", path], env=self.env(serve=False), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("check-config refused the soak configuration:\n" + r.stdout.decode("utf-8", "replace"))
        return path

    def start(self, timeout=60.0):
        self.logf = open(self.logpath, "ab")
        self.p = self.ctx.procs.spawn(turn_argv(self.dll) + ["serve", "--config", self.config_path],
                                      stdout=self.logf, env=self.env(), cwd=self.ctx.work)
        if self.p is None:
            raise Interrupted()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError(f"turn exited with {self.p.returncode} at start:\n" + "\n".join(tail(self.logpath)))
            # Metrics:Urls serve /metrics alone; /readyz is on the Http:Urls listener.
            if http_status(self.ctx.http_port, "/readyz") == 200 and scrape(self.ctx.metrics_port) is not None:
                return
            time.sleep(0.25)
        raise RuntimeError("turn did not become ready within 60 s:\n" + "\n".join(tail(self.logpath)))

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def stop(self, grace=60.0):
        """SIGTERM, then SIGKILL after grace: (seconds to exit, exit code)."""
        if self.p is None:
            return None, None
        t0 = time.monotonic()
        code = Processes.stop(self.p, signal.SIGTERM, grace)
        self.ctx.procs.forget(self.p)
        return time.monotonic() - t0, code


# ----------------------------------------------------------------- loads

class Context:
    pass


def run_bounded(ctx, argv, logf, timeout, kill_after=None):
    """Runs argv; SIGKILL after kill_after seconds (a vanishing client), SIGTERM at timeout or on stop.
    Returns (status, output): status is "ok", "exit N", "killed", "timeout" or "stopped"."""
    p = ctx.procs.spawn(argv, stdout=subprocess.PIPE)
    if p is None:
        return "stopped", ""
    out = []
    reader = threading.Thread(target=lambda: out.append(p.stdout.read()), daemon=True)
    reader.start()
    t0 = time.monotonic()
    status = None
    try:
        while p.poll() is None:
            now = time.monotonic() - t0
            if kill_after is not None and now >= kill_after:
                Processes.stop(p, signal.SIGKILL, 5)
                status = "killed"
                break
            if now >= timeout:
                Processes.stop(p, signal.SIGTERM, 5)
                status = "timeout"
                break
            if ctx.stop.is_set():
                Processes.stop(p, signal.SIGTERM, 5)
                status = "stopped"
                break
            time.sleep(0.05)
    finally:
        ctx.procs.forget(p)
    reader.join(10)
    text = (out[0] if out else b"").decode("utf-8", "replace")
    if status is None:
        status = "ok" if p.returncode == 0 else f"exit {p.returncode}"
    if logf is not None:
        lines = text.splitlines()
        with ctx.log_lock:
            logf.write(f"--- {time.strftime('%H:%M:%S')} {status}: {' '.join(argv)}\n")
            logf.write("\n".join(lines[-25:]) + "\n")
            logf.flush()
    return status, text


def echo_worker(ctx):
    """Keeps `udp-floor echo` running on the echo port; restarts it if it exits."""
    logf = open(os.path.join(ctx.out, "echo.log"), "a")
    while not ctx.stop_echo.is_set():
        p = ctx.procs.spawn([ctx.udp_floor, "echo", "-l", f"{HOST}:{ctx.echo_port}", "-T", str(ctx.echo_seconds)],
                            stdout=logf)
        if p is None:
            return
        ctx.echo_proc = p
        ctx.counters.add("echo starts")
        while p.poll() is None and not ctx.stop_echo.is_set():
            ctx.stop_echo.wait(0.5)
        Processes.stop(p, signal.SIGTERM, 5)
        ctx.procs.forget(p)
        if not ctx.stop_echo.is_set():
            ctx.stop_echo.wait(1)


def udp_worker(ctx, idx):
    """udp-floor load runs: channel or indication data, long-term or REST credentials; some vanish."""
    rng = random.Random(ctx.seed * 100 + idx)
    logf = open(os.path.join(ctx.out, f"udp-load-{idx}.log"), "a")
    n_run = 0
    while not ctx.stop.is_set():
        n_run += 1
        sessions = rng.randrange(*ctx.udp_sessions)
        argv = [ctx.udp_floor, "load", "-s", f"{HOST}:{ctx.port}", "-e", f"{HOST}:{ctx.echo_port}",
                "-m", str(sessions), "-n", str(ctx.udp_messages), "-l", str(rng.choice([100, 160, 500, 1200])),
                "-z", str(ctx.udp_interval_us), "-T", "50", "-D", "500"]
        if rng.random() < 0.3:
            argv += ["-S", f"{USER}:{SECRET}"]
            cred = "rest"
        else:
            argv += ["-A", f"{USER}:{PASSWORD}"]
            cred = "longterm"
        data = "indication" if rng.random() < 0.3 else "channel"
        if data == "indication":
            argv.append("-I")
        vanish = "vanish" in ctx.loads and (rng.random() < ctx.vanish_share or "udp" not in ctx.loads)
        kill_after = rng.uniform(0.5, ctx.udp_messages * ctx.udp_interval_us / 1e6) if vanish else None
        status, text = run_bounded(ctx, argv, logf, 60, kill_after)
        if status == "stopped":
            break
        if vanish:
            ctx.counters.add("udp runs vanished (SIGKILL)")
            ctx.counters.add("udp sessions vanished (upper bound)", sessions)
        else:
            ctx.counters.add(f"udp runs {status}")
            ctx.counters.add(f"udp runs {data}/{cred}")
            m = re.search(r"^\{.*\}$", text, re.M)
            if m:
                try:
                    r = json.loads(m.group(0))
                    ctx.counters.add("udp messages sent", int(r.get("sent", 0)))
                    ctx.counters.add("udp messages echoed", int(r.get("recv", 0)))
                    ctx.counters.add("udp setup failures", int(r.get("setup_failures", 0)))
                    # 437: the client's new socket got the port of a vanished one whose allocation
                    # has not expired yet (the same 5-tuple): the server is right to refuse it.
                    for code in re.findall(r"failed: type 0x\w+ error (\d+)", text):
                        ctx.counters.add(f"udp setup failures: error {code}")
                except ValueError:
                    pass
        ctx.stop.wait(rng.uniform(0.2, 1.0))


UCLIENT_VARIANTS = (("udp-channel", []), ("tcp", ["-t"]), ("udp-send", ["-s"]), ("tcp-send", ["-t", "-s"]))


def uclient_worker(ctx):
    rng = random.Random(ctx.seed * 100 + 50)
    logf = open(os.path.join(ctx.out, "uclient.log"), "a")
    i = 0
    while not ctx.stop.is_set():
        name, flags = UCLIENT_VARIANTS[i % len(UCLIENT_VARIANTS)]
        i += 1
        argv = [ctx.uclient, "-u", USER, "-w", PASSWORD, "-e", HOST, "-r", str(ctx.echo_port), "-p", str(ctx.port),
                "-m", str(rng.randrange(1, ctx.uclient_sessions + 1)), "-n", str(ctx.uclient_messages),
                "-l", str(rng.choice([100, 400])), "-z", "5", "-c"] + flags + [HOST]
        status, text = run_bounded(ctx, argv, logf, ctx.uclient_timeout)
        if status == "stopped":
            break
        ctx.counters.add(f"uclient {name} {status}")
        # The last "start_mclient: tot_send_msgs=N, tot_recv_msgs=M" line (without msz=) is the total.
        m = re.findall(r"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)", text)
        if m:
            ctx.counters.add("uclient messages sent", int(m[-1][0]))
            ctx.counters.add("uclient messages received", int(m[-1][1]))
        ctx.stop.wait(rng.uniform(0.2, 1.0))


class Peer:
    def __init__(self, ws, name):
        self.ws = ws
        self.name = name
        self.id = None
        self.token = None
        self.got = 0
        self.expect = 0


def signal_connect(ctx, counters):
    try:
        return WebSocket(ctx.http_port)
    except (OSError, WsError) as e:
        counters.add(f"signal connect failed: {type(e).__name__} {str(e)[:60]}")
        return None


def signal_join(ctx, peer, room, counters, timeout=5.0):
    peer.ws.send_json({"type": "join", "room": room, "name": peer.name, "meta": {"soak": True}, "id": "j"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = peer.ws.recv(deadline - time.monotonic())
        if m is None:
            break
        if m.get("type") == "joined":
            peer.id, peer.token = m.get("id"), m.get("resumeToken")
            if not any(s.get("username") for s in m.get("iceServers", [])):
                counters.add("signal joined without TURN credentials")
            return True
        if m.get("type") == "error":
            counters.add(f"signal join error {m.get('code')}")
            return False
    counters.add("signal join timed out")
    return False


def pump(peers, deadline, on_message):
    """Reads from the peers until each has what it expects or the deadline passes."""
    while time.monotonic() < deadline:
        waiting = [p for p in peers if p.ws is not None and p.got < p.expect]
        if not waiting:
            return
        ready = [p for p in waiting if p.ws.buffered()]
        if not ready:
            r, _, _ = select.select([p.ws for p in waiting], [], [], max(0.0, min(0.2, deadline - time.monotonic())))
            ready = [p for p in waiting if p.ws in r]
        for p in ready:
            try:
                m = p.ws.recv(0.05)
            except (OSError, WsError):
                p.ws = None
                continue
            if m is not None:
                on_message(p, m)


def end_room(ctx, peers, rng, counters):
    """Half leave cleanly, half drop (FIN or RST); some dropped peers resume, then leave."""
    live = [p for p in peers if p.ws is not None]
    rng.shuffle(live)
    half = len(live) // 2 + rng.randrange(2) * (len(live) % 2)
    for p in live[:half]:
        try:
            p.ws.send_json({"type": "leave"})
            counters.add("signal peers left cleanly" if p.ws.close_clean() else "signal clean close unanswered")
        except (OSError, WsError):
            counters.add("signal leave failed")
    dropped = []
    for p in live[half:]:
        rst = rng.random() < 0.5
        p.ws.drop(rst)
        counters.add("signal peers dropped (RST)" if rst else "signal peers dropped (FIN)")
        dropped.append(p)
    for p in dropped:
        if p.token and rng.random() < 0.25:
            ws = signal_connect(ctx, counters)
            if ws is None:
                continue
            try:
                ws.send_json({"type": "join", "resume": p.token, "id": "r"})
                m = ws.recv(5.0)
                while m is not None and m.get("type") not in ("joined", "error"):
                    m = ws.recv(5.0)
                if m and m.get("type") == "joined" and m.get("resumed") and m.get("id") == p.id:
                    counters.add("signal resumes ok")
                    ws.send_json({"type": "leave"})
                else:
                    counters.add(f"signal resume failed: {(m or {}).get('code', 'timeout')}")
                ws.close_clean()
            except (OSError, WsError):
                counters.add("signal resume broke")
                ws.drop(False)


def signal_worker(ctx, idx):
    rng = random.Random(ctx.seed * 100 + 10 + idx)
    counters = ctx.counters
    lingering = []  # (deadline, peers)
    n_room = 0
    try:
        while not ctx.stop.is_set():
            t_room = time.monotonic()
            n_room += 1
            room = f"soak-{idx}-{n_room}"
            peers = []
            for i in range(rng.randrange(2, 5)):
                ws = signal_connect(ctx, counters)
                if ws is None:
                    continue
                p = Peer(ws, f"p{i}")
                peers.append(p)
                try:
                    if not signal_join(ctx, p, room, counters):
                        p.ws.drop(False)
                        p.ws = None
                except (OSError, WsError) as e:
                    counters.add(f"signal join broke: {str(e)[:50]}")
                    p.ws.drop(False)
                    p.ws = None
            joined = [p for p in peers if p.ws is not None and p.id]
            counters.add("signal rooms")
            counters.add("signal peers joined", len(joined))
            # Everyone sends an offer and two candidates to each roommate and answers each offer.
            for p in joined:
                p.expect = 4 * (len(joined) - 1)
            sent = 0
            for p in joined:
                for q in joined:
                    if q is p:
                        continue
                    try:
                        p.ws.send_json({"type": "offer", "to": q.id, "data": {"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * rng.randrange(1, 60)}})
                        for c in range(2):
                            p.ws.send_json({"type": "candidate", "to": q.id, "data": {"candidate": f"candidate:{c} 1 udp 41885695 127.0.0.1 {30000 + c} typ relay", "sdpMid": "0", "sdpMLineIndex": 0}})
                        sent += 3
                    except (OSError, WsError):
                        counters.add("signal send failed")
                if rng.random() < 0.2:
                    try:
                        p.ws.send_json({"type": "ice-servers", "id": "i"})
                        p.ws.send_json({"type": "ping", "id": "p"})
                    except (OSError, WsError):
                        pass
            counters.add("signal messages sent", sent)

            def on_message(p, m):
                t = m.get("type")
                if t in ("offer", "answer", "candidate"):
                    p.got += 1
                    counters.add("signal messages received")
                    if t == "offer":
                        try:
                            p.ws.send_json({"type": "answer", "to": m.get("from"), "data": {"type": "answer", "sdp": "v=0\r\n"}})
                            counters.add("signal messages sent")
                        except (OSError, WsError):
                            pass
                elif t == "error":
                    counters.add(f"signal error {m.get('code')}")

            pump(joined, time.monotonic() + 10.0, on_message)
            for p in joined:
                if p.got < p.expect:
                    counters.add("signal messages missing", p.expect - p.got)
            if joined and len(lingering) < ctx.signal_linger_rooms and rng.random() < 0.1:
                lingering.append((time.monotonic() + rng.uniform(*ctx.signal_linger_seconds), peers))
            else:
                end_room(ctx, peers, rng, counters)
            # The rooms kept open: read (answering the server's pings), now and then a broadcast.
            now = time.monotonic()
            for entry in list(lingering):
                deadline, lpeers = entry
                for p in lpeers:
                    if p.ws is None:
                        continue
                    try:
                        while p.ws.recv(0) is not None:
                            pass
                        if rng.random() < 0.05:
                            p.ws.send_json({"type": "broadcast", "data": {"t": now}})
                    except (OSError, WsError) as e:
                        counters.add(f"signal lingering peer lost: {str(e)[:40]}")
                        p.ws = None
                if now >= deadline:
                    lingering.remove(entry)
                    counters.add("signal rooms lingered")
                    end_room(ctx, lpeers, rng, counters)
            ctx.stop.wait(max(0.0, ctx.signal_room_interval - (time.monotonic() - t_room)))
    finally:
        for _, lpeers in lingering:
            end_room(ctx, lpeers, rng, counters)


def hostile_udp_worker(ctx):
    rng = random.Random(ctx.seed * 100 + 70)
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
    for s in socks:
        s.setblocking(False)
    sent = 0
    try:
        tick = 0.05
        per_tick = max(1, int(ctx.hostile_rate * tick))
        next_t = time.monotonic()
        while not ctx.stop.is_set():
            for _ in range(per_tick):
                kind, data = hostile_datagram(rng, ctx.echo_port)
                s = socks[rng.randrange(len(socks))]
                try:
                    s.sendto(data, (HOST, ctx.port))
                    ctx.counters.add(f"hostile udp {kind}")
                except OSError:
                    ctx.counters.add("hostile udp send failed")
                sent += 1
                if sent % 2000 == 0:  # a new source address now and then
                    i = rng.randrange(len(socks))
                    socks[i].close()
                    socks[i] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    socks[i].setblocking(False)
            for s in socks:
                while True:
                    try:
                        s.recv(4096)
                        ctx.counters.add("hostile udp answers")
                    except OSError:
                        break
            next_t += tick
            delay = next_t - time.monotonic()
            if delay > 0:
                ctx.stop.wait(delay)
            else:
                next_t = time.monotonic()
    finally:
        for s in socks:
            s.close()


def hostile_tcp_worker(ctx):
    rng = random.Random(ctx.seed * 100 + 80)
    while not ctx.stop.is_set():
        kind, chunks = hostile_stream(rng)
        try:
            s = socket.create_connection((HOST, ctx.port), timeout=2.0)
        except OSError:
            ctx.counters.add("hostile tcp connect failed")
            ctx.stop.wait(1.0)
            continue
        try:
            for c in chunks:
                s.sendall(c)
                if kind == "trickle":
                    time.sleep(0.05)
            if rng.random() < 0.3:  # read what comes back for a moment
                s.settimeout(0.3)
                try:
                    s.recv(4096)
                except OSError:
                    pass
            ctx.counters.add(f"hostile tcp {kind}")
        except OSError:
            ctx.counters.add("hostile tcp send failed")
        finally:
            if rng.random() < 0.5:
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            s.close()
        ctx.stop.wait(ctx.hostile_tcp_interval * rng.uniform(0.5, 1.5))


def guarded(ctx, name, fn, *args):
    def run():
        try:
            fn(ctx, *args)
        except Exception as e:  # a bug in a load must not pass silently
            ctx.counters.add(f"worker {name} crashed: {type(e).__name__}: {str(e)[:80]}")
            log(f"worker {name} crashed: {type(e).__name__}: {e}")
    t = threading.Thread(target=run, name=name, daemon=True)
    t.start()
    return t


# ----------------------------------------------------------------- sampling

class Sampler:
    def __init__(self, ctx, pid, path, interval):
        self.ctx = ctx
        self.pid = pid
        self.interval = interval
        self.rows = []
        self.phase = "start"
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.f = open(path, "w", newline="")
        self.w = csv.writer(self.f)
        self.w.writerow(CSV_COLUMNS)
        self.f.flush()
        self.done = threading.Event()
        self.thread = None

    def sample(self):
        st = proc_status(self.pid) or {}
        m = scrape(self.ctx.metrics_port) or {}
        row = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "elapsed_s": round(time.monotonic() - self.t0, 1),
               "phase": self.phase, "vmrss_kb": st.get("VmRSS"), "rssanon_kb": st.get("RssAnon"),
               "threads": st.get("Threads"), "fds": fd_count(self.pid), "cpu_s": proc_cpu(self.pid),
               "metrics_ok": bool(m)}
        for col, name in METRICS.items():
            row[col] = m.get(name)
        with self.lock:
            self.rows.append(row)
            self.w.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
            self.f.flush()
        return row

    def start(self):
        def loop():
            while not self.done.wait(self.interval):
                self.sample()
        self.thread = threading.Thread(target=loop, name="sampler", daemon=True)
        self.thread.start()

    def stop(self):
        self.done.set()
        if self.thread:
            self.thread.join(15)
        self.f.close()


# ----------------------------------------------------------------- main

def build(args, ctx):
    if args.turn_dll:
        src = os.path.dirname(os.path.abspath(args.turn_dll))
        dll_name = os.path.basename(args.turn_dll)
    else:
        if not args.no_build:
            log("building turn (Release) ...")
            r = subprocess.run(["dotnet", "build", "-c", "Release", "--nologo", "-v", "q", os.path.join(REPO, "src", "Turn")],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
            if r.returncode != 0:
                raise RuntimeError("build failed:\n" + r.stdout.decode("utf-8", "replace")[-4000:])
        src = os.path.join(REPO, "src", "Turn", "bin", "Release", "net10.0")
        dll_name = "turn.dll"
    if not os.path.isfile(os.path.join(src, dll_name)):
        raise RuntimeError(f"no build at {src}/{dll_name}; run without --no-build")
    dst = os.path.join(ctx.work, "turn-build")
    shutil.copytree(src, dst)
    ctx.dll = os.path.join(dst, dll_name)

    c_src = os.path.join(HERE, "udp-floor.c")
    if not os.path.isfile(c_src):
        c_src = "/work/shared/bench/udp-floor.c"
    ctx.udp_floor = os.path.join(ctx.work, "udp-floor")
    r = subprocess.run(["cc", "-O2", "-o", ctx.udp_floor, c_src], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"cc {c_src} failed:\n" + r.stdout.decode("utf-8", "replace"))

    ctx.uclient = shutil.which("turnutils_uclient")
    if ctx.uclient is None and "uclient" in ctx.loads:
        log("installing coturn (turnutils_uclient) with apt-get ...")
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "coturn"]):
            subprocess.run(sudo + cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=600)
        ctx.uclient = shutil.which("turnutils_uclient")
        if ctx.uclient is None:
            log("turnutils_uclient unavailable: the uclient load is skipped")
            ctx.skipped.append("uclient (turnutils_uclient not installed)")


def configure_loads(args, ctx):
    quick = args.quick
    ctx.loads = set(args.loads.split(","))
    unknown = ctx.loads - set(LOADS)
    if unknown:
        raise SystemExit(f"unknown load(s): {', '.join(sorted(unknown))}; choose from {', '.join(LOADS)}")
    ctx.udp_workers = 1 if quick else 2
    ctx.udp_sessions = (5, 21) if quick else (10, 51)
    ctx.udp_messages = 200 if quick else 400
    ctx.udp_interval_us = 10000            # 100 messages/s per session
    ctx.vanish_share = 0.2
    ctx.uclient_sessions = 2 if quick else 4
    ctx.uclient_messages = 50 if quick else 200
    ctx.uclient_timeout = 60
    ctx.signal_workers = 1 if quick else 2
    ctx.signal_room_interval = 1.0 if quick else 0.5
    ctx.signal_linger_rooms = 2 if quick else 5
    ctx.signal_linger_seconds = (20, 40) if quick else (30, 120)
    ctx.hostile_rate = 100 if quick else 300
    ctx.hostile_tcp_interval = 1.0 if quick else 0.3


def summary(ctx, sampler, args, t_load0, t_load1, warmup_s, start_row, load_start_row, load_end_row, idle_row,
            drain_s, drained, shutdown):
    rows = sampler.rows
    lines = []
    out = lines.append

    def mb(row, key="vmrss_kb"):
        v = row.get(key) if row else None
        return f"{v / 1024:.1f}" if v is not None else "n/a"

    def val(row, key):
        v = row.get(key) if row else None
        if v is None:
            return "n/a"
        return f"{int(v)}" if float(v).is_integer() else f"{v:.1f}"

    # The warm-up ends after warmup_s and not before the first garbage collection: until then
    # RSS grows with garbage filling the gen0 budget (tens of MB), whatever survives.
    load_rows = [r for r in rows if r["phase"] == "load"]
    t_warm = t_load0 + warmup_s
    first_gc = next((r["elapsed_s"] for r in load_rows if (r.get("gc_collections") or 0) > 0), None)
    gc_exported = any(r.get("gc_collections") is not None for r in load_rows)
    if first_gc is not None:
        t_warm = max(t_warm, first_gc)
    elif gc_exported:
        t_warm = t_load1 + 1  # no collection during the load: no window
    warm_rows = [r for r in load_rows if r["elapsed_s"] >= t_warm]
    warm_row = warm_rows[0] if warm_rows else None
    pts = [(r["elapsed_s"], r["vmrss_kb"] / 1024) for r in warm_rows if r["vmrss_kb"] is not None]
    slope = slope_per_hour(pts)
    anon_slope = slope_per_hour([(r["elapsed_s"], r["rssanon_kb"] / 1024) for r in warm_rows if r["rssanon_kb"] is not None])
    heap_slope = slope_per_hour([(r["elapsed_s"], r["gc_heap_bytes"] / 1048576) for r in warm_rows if r["gc_heap_bytes"] is not None])
    commit_slope = slope_per_hour([(r["elapsed_s"], r["gc_committed_bytes"] / 1048576) for r in warm_rows if r["gc_committed_bytes"] is not None])
    gc_rows = [r for r in warm_rows if r.get("gc_collections") is not None]
    gcs = gc_rows[-1]["gc_collections"] - gc_rows[0]["gc_collections"] if len(gc_rows) >= 2 else None
    peak = max((r["vmrss_kb"] for r in rows if r["vmrss_kb"]), default=None)
    peak_alloc = max((r["allocations"] for r in load_rows if r["allocations"] is not None), default=None)
    peak_conn = max((r["signal_connections"] for r in load_rows if r["signal_connections"] is not None), default=None)

    window = max(0.0, t_load1 - t_warm) / 60
    out(f"turn soak: {args.minutes:g} min of load ({', '.join(sorted(ctx.loads))}), "
        f"warm-up {warmup_s / 60:.1f} min (ended at {(t_warm - t_load0) / 60:.1f} min{', the first GC' if first_gc is not None and first_gc > t_load0 + warmup_s else ''}), "
        f"allocation lifetime {ctx.lifetime} s, samples every {args.interval:g} s, seed {ctx.seed}")
    out(f"  GC: {'gen0 budget ' + str(ctx.gen0_mb) + ' MB (DOTNET_GCgen0size)' if ctx.gen0_mb else 'runtime defaults (the project: workstation, non-concurrent)'}"
        + ("; exception events traced (EventPipe)" if ctx.trace_path else ""))
    out(f"  daemon: {ctx.dll} (pid {ctx.daemon_pid}); CSV and logs in {ctx.out}")
    out("")
    out("RSS (VmRSS MB)   start {}   warm-up end {}   load end {}   idle {}   peak {}".format(
        mb(start_row), mb(warm_row), mb(load_end_row), mb(idle_row), f"{peak / 1024:.1f}" if peak else "n/a"))
    out("RssAnon (MB)     start {}   warm-up end {}   load end {}   idle {}".format(
        mb(start_row, "rssanon_kb"), mb(warm_row, "rssanon_kb"), mb(load_end_row, "rssanon_kb"), mb(idle_row, "rssanon_kb")))
    gc = lambda r, k: f"{r[k] / 1048576:.1f}" if r and r.get(k) is not None else "n/a"
    out("GC heap (MB)     start {}   warm-up end {}   load end {}   idle {}".format(
        gc(start_row, "gc_heap_bytes"), gc(warm_row, "gc_heap_bytes"), gc(load_end_row, "gc_heap_bytes"), gc(idle_row, "gc_heap_bytes")))
    out("GC committed (MB) start {}  warm-up end {}   load end {}   idle {}".format(
        gc(start_row, "gc_committed_bytes"), gc(warm_row, "gc_committed_bytes"), gc(load_end_row, "gc_committed_bytes"), gc(idle_row, "gc_committed_bytes")))
    fmt_slope = lambda s: f"{s:+.2f} MB/h" if s is not None else "n/a"
    out(f"slope after warm-up ({len(pts)} samples over {window:.1f} min, "
        f"{'n/a' if gcs is None else int(gcs)} collections): VmRSS {fmt_slope(slope)}, "
        f"RssAnon {fmt_slope(anon_slope)}, GC heap {fmt_slope(heap_slope)}, GC committed {fmt_slope(commit_slope)}")
    if window < 30:
        out("  (a window under 30 min makes the slope noisy: GC and allocation churn move RSS by MBs; use --minutes 120)")
    out("")
    out(f"{'':22}{'start':>10}{'load start':>12}{'load end':>10}{'idle':>10}")
    for key in ("fds", "threads", "allocations", "signal_connections", "signal_peers", "signal_rooms", "exceptions", "gc_collections", "cpu_s"):
        out(f"{key:22}{val(start_row, key):>10}{val(load_start_row, key):>12}{val(load_end_row, key):>10}{val(idle_row, key):>10}")
    out(f"peak during load: allocations {val({'v': peak_alloc}, 'v')}, signaling connections {val({'v': peak_conn}, 'v')}")
    if load_end_row and load_start_row and load_end_row.get("relayed_packets") is not None:
        out(f"relayed packets during load: {int(load_end_row['relayed_packets'] - (load_start_row.get('relayed_packets') or 0))}, "
            f"allocations created: {int((load_end_row.get('allocations_created') or 0) - (load_start_row.get('allocations_created') or 0))}, "
            f"daemon CPU: {(load_end_row.get('cpu_s') or 0) - (load_start_row.get('cpu_s') or 0):.0f} s")
    out(f"drain: {'back to 0' if drained else 'NOT back to 0'} after {drain_s:.0f} s")
    out("")
    out("load counters:")
    for k, v in sorted(ctx.counters.snapshot().items()):
        out(f"  {k}: {v}")
    if ctx.skipped:
        out("skipped: " + "; ".join(ctx.skipped))
    out("")

    # Verdicts.
    checks = []
    def check(name, ok, detail):
        checks.append(ok)
        out(f"{'PASS' if ok is True else 'FAIL' if ok is False else 'n/a '}  {name}: {detail}")

    check("daemon alive through the load", ctx.daemon_alive_at_end, "yes" if ctx.daemon_alive_at_end else "it exited")
    if gc_exported and first_gc is None:
        check(f"RSS slope < {args.max_slope:g} MB/h", None, "INCONCLUSIVE: no garbage collection during the load "
              "(RSS grows with garbage until the gen0 budget is used up); run longer, or with --gen0-mb 32")
        inconclusive = True
    elif slope is None:
        check(f"RSS slope < {args.max_slope:g} MB/h", None, "INCONCLUSIVE: too few samples after the warm-up")
        inconclusive = True
    else:
        check(f"RSS slope < {args.max_slope:g} MB/h", slope < args.max_slope, fmt_slope(slope))
        inconclusive = False
    a = idle_row.get("allocations") if idle_row else None
    check("allocations back to 0", None if a is None else a == 0, val(idle_row, "allocations"))
    c = idle_row.get("signal_connections") if idle_row else None
    check("signaling connections back to 0", None if c is None else c == 0, val(idle_row, "signal_connections"))
    p = idle_row.get("signal_peers") if idle_row else None
    check("signaling peers back to 0", None if p is None else p == 0, val(idle_row, "signal_peers"))
    fd0, fd1 = (start_row or {}).get("fds"), (idle_row or {}).get("fds")
    check(f"fds within {args.fd_margin} of the start", None if fd0 is None or fd1 is None else fd1 <= fd0 + args.fd_margin,
          f"{fd0} -> {fd1}")
    th0, th1 = (start_row or {}).get("threads"), (idle_row or {}).get("threads")
    check(f"threads within {args.thread_margin} of the start", None if th0 is None or th1 is None else th1 <= th0 + args.thread_margin,
          f"{th0} -> {th1}")
    e0 = (load_start_row or {}).get("exceptions")
    e1 = (idle_row or {}).get("exceptions")
    e_mid = (load_end_row or {}).get("exceptions")
    if e0 is None or e1 is None:
        check("exceptions unchanged", None, "turn_process_exceptions_total not exported by this build")
    else:
        check("exceptions unchanged", (e1 == e0) if not ctx.trace_path else None, f"{int(e0)} at load start, {int(e_mid) if e_mid is not None else 'n/a'} at load end, {int(e1)} idle"
              + (" (judged by the trace below)" if ctx.trace_path and e1 != e0 else "" if e1 == e0 else " (find them: --trace-exceptions, or one load at a time with --loads)"))
    if shutdown[0] is not None:
        check("clean shutdown (SIGTERM)", shutdown[1] == 0 and shutdown[0] < 30, f"exit {shutdown[1]} after {shutdown[0]:.1f} s")

    levels = collections.Counter()
    samples = collections.OrderedDict()
    try:
        with open(os.path.join(ctx.out, "turn.log"), encoding="utf-8", errors="replace") as f:
            for line in f:
                m = re.search(r"\b(warn|fail|crit): (\S+)", line)
                if m:
                    levels[m.group(1)] += 1
                    key = re.sub(r"\d+", "N", line[line.find(m.group(0)):])[:160]
                    samples.setdefault(key, line.rstrip()[:300])
                elif re.search(r"Unhandled exception|   at ", line):
                    levels["trace"] += 1
                    samples.setdefault(line.strip()[:120], line.rstrip()[:300])
    except OSError:
        pass
    out("")
    out("daemon log: " + (", ".join(f"{k} {v}" for k, v in sorted(levels.items())) or "no warnings or errors"))
    for line in list(samples.values())[:12]:
        out("  " + line)

    if ctx.trace_path:
        found = exception_trace_summary(ctx.trace_path)
        out("")
        if found is None:
            out(f"exception trace: {ctx.trace_path} was not written")
        else:
            listed, dropped, other = found
            drops = sum(v for k, v in ctx.counters.snapshot().items() if k.startswith("signal peers dropped"))
            out(f"exceptions thrown (from {ctx.trace_path}, start-up included):")
            lines.extend(listed or ["  none"])
            out(f"  {dropped} thrown by Kestrel/System.Net.WebSockets reading from the {drops} WebSockets dropped "
                f"without a close frame ({dropped / drops if drops else 0:.1f} each); {other} elsewhere")
            check("no exception outside abrupt WebSocket drops (traced)", other == 0, f"{other}")

    verdict = "FAIL" if any(c is False for c in checks) else "INCONCLUSIVE" if inconclusive else "PASS"
    out("")
    out("RESULT: " + verdict)
    return lines, verdict


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See tests/bench/README.md, section Soak.")
    ap.add_argument("--minutes", type=float, default=None, help="load duration (default 120; 3 with --quick)")
    ap.add_argument("--quick", action="store_true", help="a few minutes, smaller loads, short drain")
    ap.add_argument("--no-build", action="store_true", help="use the existing src/Turn/bin/Release build")
    ap.add_argument("--turn-dll", help="use this turn.dll, or a Native AOT turn executable (its directory is copied), instead of building")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (build copy, logs)")
    ap.add_argument("--out", help="directory for the CSV, summary and logs (kept; default: the temporary directory)")
    ap.add_argument("--loads", default=",".join(LOADS), help=f"comma-separated subset of {','.join(LOADS)}")
    ap.add_argument("--lifetime", type=int, default=None,
                    help="Relay:DefaultLifetimeSeconds, how long vanished allocations live (60-3600; default 600, "
                         "60 for runs under 30 min)")
    ap.add_argument("--warmup", type=float, default=None,
                    help="minutes before the slope counts (default: 10%% of the run, at least lifetime + 1 min, at most half)")
    ap.add_argument("--interval", type=float, default=10.0, help="seconds between samples (default 10)")
    ap.add_argument("--idle-seconds", type=float, default=None, help="idle time sampled after the drain (default 60; 30 with --quick)")
    ap.add_argument("--max-slope", type=float, default=5.0, help="RSS slope limit in MB/h (default 5)")
    ap.add_argument("--fd-margin", type=int, default=10, help="idle fds may exceed the start by this (default 10)")
    ap.add_argument("--thread-margin", type=int, default=6, help="idle threads may exceed the start by this (default 6)")
    ap.add_argument("--gen0-mb", type=int, default=0,
                    help="give the daemon this gen0 budget (DOTNET_GCgen0size), so that short runs see collections "
                         "(default 0: the runtime's own, up to 200 MB with non-concurrent workstation GC)")
    ap.add_argument("--trace-exceptions", action="store_true",
                    help="record the daemon's exception events with EventPipe and list their types, messages "
                         "and catching frames in the summary")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    args = ap.parse_args()

    if args.minutes is None:
        args.minutes = 3.0 if args.quick else 120.0
    if args.minutes <= 0 or args.minutes > 24 * 60:
        ap.error("--minutes must be in (0, 1440]")
    ctx = Context()
    ctx.seed = args.seed if args.seed is not None else int(time.time())
    ctx.gen0_mb = max(0, args.gen0_mb)
    ctx.lifetime = args.lifetime if args.lifetime is not None else (600 if args.minutes >= 30 and not args.quick else 60)
    if not 60 <= ctx.lifetime <= 3600:
        ap.error("--lifetime must be 60-3600")
    configure_loads(args, ctx)
    load_s = args.minutes * 60
    if args.warmup is not None:
        warmup_s = args.warmup * 60
    else:
        warmup_s = min(max(0.1 * load_s, ctx.lifetime + 60.0 if "vanish" in ctx.loads else 60.0), 0.5 * load_s)
    idle_s = args.idle_seconds if args.idle_seconds is not None else (30.0 if args.quick else 60.0)
    drain_limit = ctx.lifetime + 60 + 30  # expiry + sweep + signaling grace, bounded
    ctx.echo_seconds = int(load_s + drain_limit + idle_s + 600)

    ctx.work = tempfile.mkdtemp(prefix="turn-soak.")
    ctx.out = os.path.abspath(args.out) if args.out else ctx.work
    os.makedirs(ctx.out, exist_ok=True)
    ctx.trace_path = os.path.join(ctx.out, "exceptions.nettrace") if args.trace_exceptions else None
    ctx.procs = Processes()
    ctx.counters = Counters()
    ctx.stop = threading.Event()
    ctx.stop_echo = threading.Event()
    ctx.log_lock = threading.Lock()
    ctx.skipped = []
    ctx.daemon_alive_at_end = False
    daemon = None
    sampler = None
    exit_code = 2

    def interrupted(signum, frame):
        raise Interrupted()
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)

    try:
        build(args, ctx)
        ctx.port = free_port()
        ctx.http_port = free_port(avoid=(ctx.port,))
        ctx.metrics_port = free_port(avoid=(ctx.port, ctx.http_port))
        ctx.echo_port = free_port(avoid=(ctx.port, ctx.http_port, ctx.metrics_port))
        daemon = Daemon(ctx, ctx.dll)
        daemon.write_config()
        log(f"starting turn: UDP/TCP {HOST}:{ctx.port}, HTTP {ctx.http_port}, metrics {ctx.metrics_port}, "
            f"echo peer {ctx.echo_port}; work dir {ctx.work}")
        daemon.start()
        ctx.daemon_pid = daemon.pid
        threading.Thread(target=echo_worker, args=(ctx,), name="echo", daemon=True).start()
        time.sleep(5)  # let start-up settle before the baseline
        sampler = Sampler(ctx, daemon.pid, os.path.join(ctx.out, "soak.csv"), args.interval)
        start_row = sampler.sample()
        log(f"baseline: VmRSS {start_row['vmrss_kb']} kB, {start_row['threads']} threads, {start_row['fds']} fds, "
            f"exceptions {start_row['exceptions']}")
        missing = [name for col, name in METRICS.items() if start_row.get(col) is None]
        if missing:
            log("metrics not exported by this build (shown as n/a): " + ", ".join(missing))

        workers = []
        sampler.phase = "load"
        load_start_row = sampler.sample()
        t_load0 = load_start_row["elapsed_s"]
        sampler.start()
        if "udp" in ctx.loads or "vanish" in ctx.loads:
            for i in range(ctx.udp_workers):
                workers.append(guarded(ctx, f"udp{i}", udp_worker, i))
        if "uclient" in ctx.loads and ctx.uclient:
            workers.append(guarded(ctx, "uclient", uclient_worker))
        if "signal" in ctx.loads:
            for i in range(ctx.signal_workers):
                workers.append(guarded(ctx, f"signal{i}", signal_worker, i))
        if "hostile" in ctx.loads:
            workers.append(guarded(ctx, "hostile-udp", hostile_udp_worker))
            workers.append(guarded(ctx, "hostile-tcp", hostile_tcp_worker))
        log(f"load running for {args.minutes:g} min ({len(workers)} workers; warm-up {warmup_s / 60:.1f} min) ...")
        t_end = time.monotonic() + load_s
        next_report = time.monotonic() + 60
        while time.monotonic() < t_end:
            if not daemon.alive():
                log(f"turn exited during the load (code {daemon.p.returncode})")
                break
            time.sleep(min(1.0, max(0.0, t_end - time.monotonic())))
            if time.monotonic() >= next_report:
                next_report += 60
                r = sampler.rows[-1]
                log(f"{(time.monotonic() - (t_end - load_s)) / 60:.0f} min: VmRSS {r['vmrss_kb']} kB, "
                    f"allocations {r['allocations']}, signal connections {r['signal_connections']}, "
                    f"fds {r['fds']}, threads {r['threads']}, exceptions {r['exceptions']}")
        ctx.daemon_alive_at_end = daemon.alive()
        load_end_row = sampler.sample() if ctx.daemon_alive_at_end else sampler.rows[-1]
        t_load1 = load_end_row["elapsed_s"]
        log("stopping the load ...")
        ctx.stop.set()
        for t in workers:
            t.join(30)
        sampler.phase = "drain"
        drained = False
        t_drain = time.monotonic()
        log(f"waiting (at most {drain_limit} s) for allocations, signaling connections and peers to reach 0 ...")
        while ctx.daemon_alive_at_end and time.monotonic() - t_drain < drain_limit:
            m = scrape(ctx.metrics_port) or {}
            if m and all((m.get(k) or 0) == 0 for k in ("turn_allocations", "turn_signal_connections", "turn_signal_peers")):
                drained = True
                break
            time.sleep(2)
        drain_s = time.monotonic() - t_drain
        log(f"drain {'done' if drained else 'NOT done'} after {drain_s:.0f} s; idle for {idle_s:.0f} s ...")
        sampler.phase = "idle"
        t_idle = time.monotonic() + idle_s
        while time.monotonic() < t_idle and daemon.alive():
            time.sleep(1)
        idle_row = sampler.sample() if daemon.alive() else sampler.rows[-1]
        sampler.stop()
        ctx.stop_echo.set()
        shutdown = daemon.stop() if daemon.alive() else (None, None)
        lines, verdict = summary(ctx, sampler, args, t_load0, t_load1, warmup_s, start_row, load_start_row,
                            load_end_row, idle_row, drain_s, drained, shutdown)
        text = "\n".join(lines)
        print("\n" + text, flush=True)
        with open(os.path.join(ctx.out, "summary.txt"), "w") as f:
            f.write(text + "\n")
        exit_code = 0 if verdict == "PASS" else 1
    except Interrupted:
        log("interrupted: stopping everything")
        exit_code = 130
    except Exception as e:
        log(f"error: {type(e).__name__}: {e}")
        exit_code = 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        ctx.stop.set()
        ctx.stop_echo.set()
        if sampler is not None and not sampler.done.is_set():
            sampler.stop()
        if daemon is not None and daemon.alive():
            daemon.stop(grace=10)  # interrupted or failed: no need to wait out its drain
        ctx.procs.close()
        # --out: kept; the temporary directory: kept with --keep, or its logs when the soak did not pass.
        if not args.keep:
            shutil.rmtree(os.path.join(ctx.work, "turn-build"), ignore_errors=True)
            if ctx.out != ctx.work or exit_code == 0:
                shutil.rmtree(ctx.work, ignore_errors=True)
        if args.keep or args.out or exit_code != 0:
            log(f"CSV, summary and logs in {ctx.out}" + (f"; build copy in {ctx.work}" if args.keep and ctx.out != ctx.work else ""))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
