#!/usr/bin/env python3
"""Open many TURN allocations over UDP and keep them open (stdlib only).

Each allocation gets its own UDP socket (its own client five-tuple), does the
long-term-credential dance (Allocate -> 401 -> authenticated Allocate), then a
ChannelBind to one peer (which also installs a permission), as a WebRTC call
would. Requests are pipelined over a bounded window, retransmitted a bounded
number of times, and the whole thing is bounded by a deadline.

Used by bench.py to measure RSS per allocation; also runnable by hand:

    python3 hold_allocations.py --server 127.0.0.1:3478 --peer 127.0.0.1:3480 \
        --user bench --password benchpw --count 2000 --hold 10

Only loopback targets are accepted.
"""
import argparse
import hashlib
import hmac
import ipaddress
import os
import selectors
import socket
import struct
import sys
import time

MAGIC = 0x2112A442

ALLOCATE = 0x003
REFRESH = 0x004
CHANNEL_BIND = 0x009

ATTR_USERNAME = 0x0006
ATTR_MESSAGE_INTEGRITY = 0x0008
ATTR_ERROR_CODE = 0x0009
ATTR_CHANNEL_NUMBER = 0x000C
ATTR_LIFETIME = 0x000D
ATTR_XOR_PEER_ADDRESS = 0x0012
ATTR_REALM = 0x0014
ATTR_NONCE = 0x0015
ATTR_REQUESTED_TRANSPORT = 0x0019


def _attr(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def _xor_address(host, port):
    ip = ipaddress.ip_address(host)
    xport = port ^ (MAGIC >> 16)
    if ip.version == 4:
        xaddr = int(ip) ^ MAGIC
        return struct.pack("!BBHI", 0, 1, xport, xaddr)
    raise ValueError("IPv4 peers only")


def build(method, txid, attrs, key=None):
    """A STUN request; with key, MESSAGE-INTEGRITY (HMAC-SHA1) is appended."""
    body = b"".join(_attr(k, v) for k, v in attrs)
    if key is None:
        return struct.pack("!HHI", method, len(body), MAGIC) + txid + body
    # MESSAGE-INTEGRITY covers the header with the length already counting it.
    header = struct.pack("!HHI", method, len(body) + 24, MAGIC) + txid
    mac = hmac.new(key, header + body, hashlib.sha1).digest()
    return header + body + _attr(ATTR_MESSAGE_INTEGRITY, mac)


def parse(data):
    """(message type, transaction id, {attribute type: value}) or None."""
    if len(data) < 20:
        return None
    mtype, length, magic = struct.unpack_from("!HHI", data)
    if magic != MAGIC or 20 + length > len(data):
        return None
    txid = data[8:20]
    attrs = {}
    pos = 20
    end = 20 + length
    while pos + 4 <= end:
        kind, alen = struct.unpack_from("!HH", data, pos)
        attrs.setdefault(kind, data[pos + 4:pos + 4 + alen])
        pos += 4 + alen + (4 - alen % 4) % 4
    return mtype, txid, attrs


def _error_code(value):
    if value is None or len(value) < 4:
        return None
    return value[2] * 100 + value[3]


class _Alloc:
    __slots__ = ("sock", "state", "txid", "packet", "sent_at", "tries", "realm", "nonce", "key")

    def __init__(self, sock):
        self.sock = sock
        self.state = "new"
        self.txid = None
        self.packet = None
        self.sent_at = 0.0
        self.tries = 0
        self.realm = None
        self.nonce = None
        self.key = None


class AllocationHolder:
    """Holds allocations open until close() is called."""

    def __init__(self, server, peer, user, password, lifetime=600):
        for host, _ in (server, peer):
            if not ipaddress.ip_address(host).is_loopback:
                raise ValueError(f"{host} is not a loopback address")
        self.server = server
        self.peer = peer
        self.user = user.encode()
        self.password = password.encode()
        self.lifetime = lifetime
        self.allocs = []
        self.failures = {}
        self.retransmits = 0

    def _send(self, a, method, attrs, key=None):
        a.txid = os.urandom(12)
        a.packet = build(method, a.txid, attrs, key)
        a.tries = 1
        a.sent_at = time.monotonic()
        try:
            a.sock.send(a.packet)
        except (BlockingIOError, InterruptedError):
            pass

    def _start(self, a):
        a.state = "probe"
        self._send(a, ALLOCATE, [(ATTR_REQUESTED_TRANSPORT, bytes([17, 0, 0, 0]))])

    def _authenticated(self, a, method, attrs):
        attrs = list(attrs) + [(ATTR_USERNAME, self.user), (ATTR_REALM, a.realm), (ATTR_NONCE, a.nonce)]
        self._send(a, method, attrs, a.key)

    def _on_response(self, a, mtype, attrs):
        cls = mtype & 0x0110
        if a.state == "probe":
            if cls == 0x0110 and _error_code(attrs.get(ATTR_ERROR_CODE)) == 401:
                a.realm = attrs.get(ATTR_REALM)
                a.nonce = attrs.get(ATTR_NONCE)
                if a.realm is None or a.nonce is None:
                    return self._fail(a, "401 without realm or nonce")
                a.key = hashlib.md5(self.user + b":" + a.realm + b":" + self.password).digest()
                a.state = "allocate"
                self._authenticated(a, ALLOCATE, [
                    (ATTR_REQUESTED_TRANSPORT, bytes([17, 0, 0, 0])),
                    (ATTR_LIFETIME, struct.pack("!I", self.lifetime)),
                ])
                return None
            return self._fail(a, f"probe answered {mtype:#06x}")
        if a.state in ("allocate", "bind"):
            if cls == 0x0110 and _error_code(attrs.get(ATTR_ERROR_CODE)) == 438 and attrs.get(ATTR_NONCE):
                # Stale nonce: retry the same step with the fresh one, once per step.
                a.nonce = attrs[ATTR_NONCE]
                a.state = a.state + "-retry"
                return self._step(a, a.state)
            if cls != 0x0100:
                return self._fail(a, f"{a.state} answered {mtype:#06x} code {_error_code(attrs.get(ATTR_ERROR_CODE))}")
            if a.state == "allocate":
                a.state = "bind"
                return self._step(a, "bind")
            a.state = "done"
            return "done"
        if a.state in ("allocate-retry", "bind-retry"):
            if cls != 0x0100:
                return self._fail(a, f"{a.state} answered {mtype:#06x}")
            if a.state == "allocate-retry":
                a.state = "bind"
                return self._step(a, "bind")
            a.state = "done"
            return "done"
        return None

    def _step(self, a, state):
        if state.startswith("allocate"):
            self._authenticated(a, ALLOCATE, [
                (ATTR_REQUESTED_TRANSPORT, bytes([17, 0, 0, 0])),
                (ATTR_LIFETIME, struct.pack("!I", self.lifetime)),
            ])
        else:
            self._authenticated(a, CHANNEL_BIND, [
                (ATTR_CHANNEL_NUMBER, struct.pack("!HH", 0x4000, 0)),
                (ATTR_XOR_PEER_ADDRESS, _xor_address(*self.peer)),
            ])
        return None

    def _fail(self, a, why):
        a.state = "failed"
        self.failures[why] = self.failures.get(why, 0) + 1
        return "failed"

    def open(self, count, window=64, timeout=1.0, retries=4, deadline=60.0):
        """Opens count more allocations; returns how many succeeded."""
        sel = selectors.DefaultSelector()
        pending = []
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.connect(self.server)
            pending.append(_Alloc(s))
        todo = list(reversed(pending))
        active = {}
        done = 0
        end = time.monotonic() + deadline
        buf = bytearray(2048)
        while (todo or active) and time.monotonic() < end:
            while todo and len(active) < window:
                a = todo.pop()
                self._start(a)
                active[a.sock.fileno()] = a
                sel.register(a.sock, selectors.EVENT_READ, a)
            for key, _ in sel.select(0.05):
                a = key.data
                try:
                    n = a.sock.recv_into(buf)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    result = self._fail(a, f"recv: {e.strerror}")
                else:
                    msg = parse(bytes(buf[:n]))
                    if msg is None or msg[1] != a.txid:
                        continue
                    result = self._on_response(a, msg[0], msg[2])
                if result in ("done", "failed"):
                    sel.unregister(a.sock)
                    del active[a.sock.fileno()]
                    if result == "done":
                        done += 1
                        self.allocs.append(a)
                    else:
                        a.sock.close()
            now = time.monotonic()
            for a in list(active.values()):
                if now - a.sent_at >= timeout:
                    if a.tries > retries:
                        sel.unregister(a.sock)
                        del active[a.sock.fileno()]
                        self._fail(a, f"timeout in {a.state}")
                        a.sock.close()
                        continue
                    a.tries += 1
                    self.retransmits += 1
                    a.sent_at = now
                    try:
                        a.sock.send(a.packet)
                    except OSError:
                        pass
        for a in list(active.values()) + todo:
            self._fail(a, "deadline")
            a.sock.close()
        sel.close()
        return done

    def close(self, release=False):
        """Closes the sockets; with release, sends Refresh lifetime 0 first (no waiting)."""
        for a in self.allocs:
            if release:
                try:
                    self._authenticated(a, REFRESH, [(ATTR_LIFETIME, struct.pack("!I", 0))])
                except OSError:
                    pass
            a.sock.close()
        self.allocs = []


def _hostport(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True, type=_hostport)
    ap.add_argument("--peer", required=True, type=_hostport)
    ap.add_argument("--user", default="bench")
    ap.add_argument("--password", default="benchpw")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--hold", type=float, default=5.0, help="seconds to keep them open (at most 600)")
    args = ap.parse_args()
    holder = AllocationHolder(args.server, args.peer, args.user, args.password)
    t0 = time.monotonic()
    ok = holder.open(args.count)
    print(f"{ok}/{args.count} allocations in {time.monotonic() - t0:.2f} s, {holder.retransmits} retransmissions; "
          f"failures: {holder.failures or 'none'}", flush=True)
    time.sleep(max(0.0, min(args.hold, 600.0)))
    holder.close(release=True)
    return 0 if ok == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
