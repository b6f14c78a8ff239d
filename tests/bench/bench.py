#!/usr/bin/env python3
"""Side-by-side relay benchmark: turn against coturn's turnserver, on loopback.

Started by run.sh (which builds turn first); see README.md for what is measured.
Everything it starts (servers, the echo peer, uclient runs) it stops again by PID.
Only 127.0.0.1 is used. Every wait is bounded.
"""
import argparse
import datetime
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (HOST, PASSWORD, USER, clean_env, coturn_argv, cpu_model, free_port, loadavg,  # noqa: E402
                      med, proc_cpu, proc_status_kb, start, stop, stop_all, stun_binding_ok, system_busy,
                      tool_versions, turn_config)
from hold_allocations import AllocationHolder  # noqa: E402

# uclient loads: name -> extra flags. Every load: -m sessions, -n messages, 100-byte
# messages, no pause between messages (-z 0), no RTCP companion allocation (-c).
LOADS = {
    "udp-channel": [],           # UDP client transport, ChannelData
    "udp-send": ["-s"],          # UDP client transport, Send/Data indications
    "tcp-channel": ["-t"],       # TCP client transport, ChannelData
    "tcp-send": ["-t", "-s"],    # TCP client transport, Send/Data indications
}

# turn variants: name -> environment for the daemon.
TURN_VARIANTS = {
    # The daemon as shipped: its defaults, no environment.
    "turn": {},
    # An experiment: .NET's socket continuations inline on its epoll threads (TCP and HTTP sockets).
    "turn-inline": {"DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS": "1"},
}

# Relay port ranges, kept apart and below the kernel's ephemeral range.
TURN_RELAY_PORTS = (20000, 25999)
COTURN_RELAY_PORTS = (26000, 31999)
# Servers' and the peer's ports: outside the relay and ephemeral ranges.
SERVER_PORTS = (10000, 19999)


# ---------------------------------------------------------------- UDP drops

def socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except OSError:
        pass
    return inodes


def udp_drops(owners):
    """{owner: {inode: (local port, drops)}} for the IPv4 UDP sockets each process holds (/proc/net/udp)."""
    table = {}
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            cols = line.split()
            table[int(cols[9])] = (int(cols[1].split(":")[1], 16), int(cols[-1]))
    return {name: {i: table[i] for i in socket_inodes(pid) if i in table} for name, pid in owners.items()}


def drops_delta(before, after, listen_port):
    """Drops between two udp_drops() snapshots (sockets opened in between start at 0), with the
    server's split into its listening socket(s) and the rest (relay sockets; coturn's
    per-client sockets also listen on the server port and count as listener)."""
    out = {}
    for name, socks in after.items():
        for inode, (port, n) in socks.items():
            key = name if name != "server" else ("server listener" if port == listen_port else "server relay")
            old = before.get(name, {}).get(inode, (port, 0))[1]
            out[key] = out.get(key, 0) + n - old
    return out


class UdpSampler(threading.Thread):
    """Samples the machine's UDP counters (/proc/net/snmp) every 10 ms.

    The far leg (server <-> peer) is UDP in every load, so the slots in which
    datagrams were delivered tell when packets flowed, to 10 ms, even though
    uclient reports only once a second. RcvbufErrors counts datagrams dropped
    because a receive buffer was full (anywhere on the machine)."""

    def __init__(self, interval=0.01):
        super().__init__(daemon=True)
        self.interval = interval
        self.samples = []
        self._halt = threading.Event()

    @staticmethod
    def read():
        with open("/proc/net/snmp") as f:
            rows = [line.split() for line in f if line.startswith("Udp:")]
        values = dict(zip(rows[0][1:], (int(x) for x in rows[1][1:])))
        return values["InDatagrams"], values["RcvbufErrors"]

    def run(self):
        while not self._halt.is_set():
            self.samples.append((time.monotonic(),) + self.read())
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join(timeout=2)

    def between(self, t0, t1):
        return [x for x in self.samples if t0 <= x[0] <= t1]

    def active_seconds(self, t0, t1, min_per_slot=10):
        """Seconds in [t0, t1] during which at least min_per_slot datagrams arrived per slot."""
        xs = self.between(t0, t1)
        return sum(b[0] - a[0] for a, b in zip(xs, xs[1:]) if b[1] - a[1] >= min_per_slot)

    def rcvbuf_errors(self, t0, t1):
        xs = self.between(t0, t1)
        return xs[-1][2] - xs[0][2] if len(xs) > 1 else None


# ---------------------------------------------------------------- servers

def tcp_ok(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.3):
            return True
    except OSError:
        return False


def answering(port):
    """STUN Binding over UDP answered and TCP connections accepted on 127.0.0.1:port."""
    return stun_binding_ok(port) and tcp_ok(port)


class Server:
    def __init__(self, name, kind, args, workdir):
        self.name = name
        self.kind = kind
        self.args = args
        self.workdir = workdir
        self.proc = None
        self.port = None

    def _command(self, tag):
        self.port = free_port(*SERVER_PORTS)
        if self.kind == "turn":
            # No Kestrel (signaling, HTTP API) unless asked.
            http = [f"http://{HOST}:{free_port(*SERVER_PORTS)}"] if self.args.turn_http else []
            config = turn_config(self.port, TURN_RELAY_PORTS, max_allocations=20000, http_urls=http)
            path = os.path.join(self.workdir, f"{self.name}-{tag}.json")
            with open(path, "w") as f:
                json.dump(config, f, indent=1)
            return ["dotnet", self.args.turn_dll, "serve", "--config", path], clean_env(TURN_VARIANTS[self.name])
        argv = coturn_argv(self.port, COTURN_RELAY_PORTS, os.path.join(self.workdir, f"{self.name}-{tag}"))
        if self.args.coturn_relay_threads > 0:
            argv += ["--relay-threads", str(self.args.coturn_relay_threads)]
        return argv, clean_env()

    def start(self, tag):
        argv, env = self._command(tag)
        self.proc = start(f"{self.name}-{tag}", argv, env, self.workdir)
        self.proc.wait_answering(self.name, self.port, answering, 30)

    def stop(self):
        if self.proc:
            stop(self.proc)
            self.proc = None

    @property
    def pid(self):
        return self.proc.pid


# ---------------------------------------------------------------- uclient

PROGRESS = re.compile(r"start_mclient: msz=\d+, tot_send_msgs=(\d+), tot_recv_msgs=(\d+)")
FINAL = re.compile(r"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$")
LOST = re.compile(r"Total lost packets (\d+)")
RTT = re.compile(r"Average round trip delay ([0-9.]+) ms; min = (\d+) ms, max = (\d+) ms")


def proc_cpu_or(pid, default=0.0):
    try:
        return proc_cpu(pid)
    except OSError:
        return default


class UclientRun:
    """One turnutils_uclient run against one server, read line by line in a thread.

    At every once-a-second progress line (and the final one) it samples the CPU of
    the server, the peer, uclient itself and the whole machine, so that every
    figure covers the same window: the seconds in which packets flowed.

    uclient waits STOPPING_TIME (10 s) after its last message when packets were
    lost. settled() turns true once every message is sent and the counts have not
    moved for two progress lines; the caller may then start the next run (on the
    other server) while this one finishes its wait. finish() collects the result."""

    def __init__(self, server, load, sessions, messages, peer, args, workdir, tag, sampler):
        self.server, self.load, self.peer, self.tag, self.sampler = server, load, peer, tag, sampler
        self.expected = sessions * messages
        self.argv = ["turnutils_uclient", "-u", USER, "-w", PASSWORD, "-e", HOST, "-r", str(peer.port),
                     "-p", str(server.port), "-m", str(sessions), "-n", str(messages),
                     "-l", "100", "-z", "0", "-c"] + LOADS[load] + [HOST]
        self.logpath = os.path.join(workdir, f"uclient-{tag}.log")
        self.points = []
        self.final = self.lost = self.rtt = None
        self.lines = []
        self.killed = False
        self._settled = threading.Event()
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.points.append(self._sample(self.t0, 0))
        self.drops_before = udp_drops(self._owners())
        self.drops = None
        self.rss_kb = None
        self.t_settled = None
        self.timer = threading.Timer(args.uclient_timeout, self._on_timeout)
        self.timer.daemon = True
        self.timer.start()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _sample(self, now, total):
        return {"t": now, "total": total, "server": proc_cpu_or(self.server.pid),
                "peer": proc_cpu_or(self.peer.pid), "client": proc_cpu_or(self.p.pid),
                "system": system_busy()}

    def _owners(self):
        return {"server": self.server.pid, "peer": self.peer.pid, "client": self.p.pid}

    def _on_timeout(self):
        if self.p.poll() is None:
            self.killed = True
            self.p.kill()  # by its PID

    def _read(self):
        stable = 0
        for line in self.p.stdout:
            now = time.monotonic()
            self.lines.append(line)
            if m := PROGRESS.search(line):
                sent, total = int(m.group(1)), int(m.group(1)) + int(m.group(2))
                stable = stable + 1 if total == self.points[-1]["total"] else 0
                self.points.append(self._sample(now, total))
                if sent >= self.expected and stable >= 2:
                    # Packets were lost and uclient now waits; its sockets and the
                    # relay sockets are still open: see where the drops happened.
                    if self.drops is None:
                        self.drops = drops_delta(self.drops_before, udp_drops(self._owners()), self.server.port)
                    self._settle(now)
            elif m := FINAL.search(line):
                self.final = (int(m.group(1)), int(m.group(2)), self._sample(now, int(m.group(1)) + int(m.group(2))))
            elif m := LOST.search(line):
                self.lost = int(m.group(1))
            elif m := RTT.search(line):
                self.rtt = (float(m.group(1)), int(m.group(2)), int(m.group(3)))
        self.p.wait()
        self._settle(time.monotonic())

    def _settle(self, now):
        if not self._settled.is_set():
            self.t_settled = now
            self.rss_kb = proc_status_kb(self.server.pid, "VmRSS")  # None once the server is gone
            self._settled.set()

    def wait_settled(self):
        self._settled.wait()

    def stop(self):
        """Ends the run early (interrupt): kills uclient by its PID."""
        self.timer.cancel()
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()

    def finish(self):
        self.reader.join()
        self.timer.cancel()
        with open(self.logpath, "w") as f:
            f.write(" ".join(self.argv) + "\n" + "".join(self.lines))
        run = {"server": self.server.name, "load": self.load, "tag": self.tag,
               "wall_s": round(self.t_settled - self.t0, 3),
               "ok": bool(self.final) and not self.killed and self.p.returncode == 0}
        if not run["ok"]:
            run["error"] = "timeout" if self.killed else \
                f"uclient exit {self.p.returncode}: " + "".join(self.lines[-5:]).strip()
            return run
        sent, recv, last_sample = self.final
        relayed = sent + recv
        points = list(self.points)
        # The final line counts for the rate only if it came right after the last
        # progress line (not after the 10 s wait that follows a loss).
        if last_sample["t"] - points[-1]["t"] <= 1.5 and relayed > points[-1]["total"]:
            points.append(last_sample)
        # The window: from the last sample before the first packet to the first
        # sample with the final count.
        first = next((i for i, p in enumerate(points) if p["total"] > 0), len(points) - 1)
        last = next((i for i, p in enumerate(points) if p["total"] >= relayed), len(points) - 1)
        a, b = points[max(0, first - 1)], points[last]
        d = {k: b[k] - a[k] for k in ("t", "server", "peer", "client", "system")}
        run.update({
            "sent": sent, "received": recv, "relayed": relayed,
            "lost": self.lost if self.lost is not None else sent - recv,
            "loss_pct": 100.0 * (sent - recv) / sent if sent else 0.0,
            "rtt_ms": self.rtt[0] if self.rtt else None, "rtt_max_ms": self.rtt[2] if self.rtt else None,
            "window_s": round(d["t"], 3),
            "server_cpu_s": round(d["server"], 3),
            "cpu_s_per_mpkt": d["server"] / relayed * 1e6 if relayed else None,
            "pps": relayed / active if (active := self.sampler.active_seconds(a["t"], b["t"])) > 0 else None,
            "active_s": round(active, 3),
            "pps_progress_lines": sustained_rate([(p["t"], p["total"]) for p in points]),
            "udp_rcvbuf_errors": self.sampler.rcvbuf_errors(a["t"], b["t"]),
            # Receive-buffer drops per process, known when the run lost packets.
            "udp_drops": self.drops,
            "server_rss_kb_after": self.rss_kb,
            "client_cpu_s": round(d["client"], 3),
            "peer_cpu_s": round(d["peer"], 3),
            # Busy CPU of everything else on the machine in the window: the noise gauge.
            "other_cpu_s": round(max(0.0, d["system"] - d["server"] - d["client"] - d["peer"]), 3),
        })
        return run


def warm_up(servers, peer, args, workdir):
    """A short UDP and TCP load on every server at once, not measured: the JIT
    compiles turn's hot paths here rather than in the first measured run."""
    procs = []
    try:
        for server in servers:
            for load in ("udp-channel", "tcp-send"):
                argv = ["turnutils_uclient", "-u", USER, "-w", PASSWORD, "-e", HOST, "-r", str(peer.port),
                        "-p", str(server.port), "-m", "2", "-n", "3000", "-l", "100", "-z", "0", "-c"] \
                    + LOADS[load] + [HOST]
                log = open(os.path.join(workdir, f"uclient-warmup-{server.name}-{load}.log"), "w")
                procs.append((subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                               stderr=subprocess.STDOUT), log))
        end = time.monotonic() + args.uclient_timeout
        for p, _ in procs:
            try:
                p.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
    finally:
        for p, log in procs:
            if p.poll() is None:
                p.kill()  # by its PID
                p.wait()
            log.close()


def drops_text(run):
    if not run.get("lost"):
        return ""
    where = run.get("udp_drops")
    if where:
        return " (UDP drops: " + ", ".join(f"{k} {v}" for k, v in where.items()) + ")"
    return f" (UDP rcvbuf drops on the machine: {run.get('udp_rcvbuf_errors')})"


def sustained_rate(points):
    """Relayed packets per second over the seconds in which packets flowed.

    points are (arrival time, cumulative sent+received) from uclient's once-a-second
    progress lines. The first and last active intervals are partial (sessions start
    1-6 s apart by uclient's design and stop mid-second), so they are left out
    when there are at least three."""
    active = [(b[0] - a[0], b[1] - a[1]) for a, b in zip(points, points[1:]) if b[1] > a[1]]
    if len(active) >= 3:
        active = active[1:-1]
    secs = sum(d for d, _ in active)
    return sum(n for _, n in active) / secs if secs > 0 else None


# ---------------------------------------------------------------- allocations

def rss_per_allocation(server, peer, count, warm, settle):
    holder = AllocationHolder((HOST, server.port), (HOST, peer.port), USER, PASSWORD)
    try:
        # A first batch pays for one-time costs (code paths, pools, tables) so
        # that the difference below is the marginal cost of an allocation.
        ok_warm = holder.open(warm)
        time.sleep(1.0)
        base = proc_status_kb(server.pid, "VmRSS", missing_ok=False)
        t0 = time.monotonic()
        ok = holder.open(count)
        took = time.monotonic() - t0
        samples = []
        end = time.monotonic() + settle
        while time.monotonic() < end:
            time.sleep(0.25)
            samples.append(proc_status_kb(server.pid, "VmRSS", missing_ok=False))
        held = samples[-1]
        return {"server": server.name, "warm_ok": ok_warm, "ok": ok, "requested": count,
                "open_s": round(took, 3), "rss_base_kb": base, "rss_held_kb": held,
                "rss_held_max_kb": max(samples),
                "bytes_per_alloc": (held - base) * 1024 / ok if ok else None,
                "retransmits": holder.retransmits, "failures": holder.failures}
    finally:
        holder.close(release=False)


# ---------------------------------------------------------------- report

def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.{digits}f}"


def report(results, servers, args):
    out = []
    turns = [s for s in servers if s != "coturn"]
    out.append(f"Relay runs: {args.sessions} sessions x {args.messages} messages of 100 B per load, "
               f"{args.rounds} round(s), medians. A relayed packet is one datagram the server took in on one side "
               f"and sent out on the other: uclient's tot_send_msgs (client->peer) + tot_recv_msgs (peer->client).")
    out.append("")
    out.append("| load | server | relayed pkt/s | lost (of sent) | avg RTT ms | server CPU s per M pkt (= µs/pkt) | implied pkt/s per core | runs |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|")
    summary = {}
    for load in args.loads:
        for name in servers:
            runs = [r for r in results["runs"] if r["server"] == name and r["load"] == load and r["ok"]]
            failed = sum(1 for r in results["runs"] if r["server"] == name and r["load"] == load and not r["ok"])
            s = {
                "pps": med([r["pps"] for r in runs]),
                "lost": med([r["lost"] for r in runs]),
                "loss_pct": med([r["loss_pct"] for r in runs]),
                "rtt_ms": med([r["rtt_ms"] for r in runs]),
                "cpu": med([r["cpu_s_per_mpkt"] for r in runs]),
            }
            summary[(load, name)] = s
            lost = "-" if s["lost"] is None else f"{s['lost']:,.0f} ({s['loss_pct']:.2f}%)"
            out.append(f"| {load} | {name} | {fmt(s['pps'], 0)} | {lost} | {fmt(s['rtt_ms'], 3)} | "
                       f"{fmt(s['cpu'], 2)} | {fmt(1e6 / s['cpu'] if s['cpu'] else None, 0)} | {len(runs)}{f' ({failed} failed)' if failed else ''} |")
    drop_lines = []
    for load in args.loads:
        for name in servers:
            runs = [r for r in results["runs"] if r["server"] == name and r["load"] == load and r["ok"] and r["lost"]]
            if runs:
                where = {}
                for r in runs:
                    for k, v in (r.get("udp_drops") or {}).items():
                        where[k] = where.get(k, 0) + v
                text = ", ".join(f"{k} {v:,}" for k, v in sorted(where.items()) if v) or "not attributed"
                drop_lines.append(f"- {load}, {name}: {sum(r['lost'] for r in runs):,} lost in {len(runs)} run(s); "
                                  f"UDP receive-buffer drops at: {text}")
    if drop_lines:
        out.append("")
        out.append("Where packets were lost (per-socket drop counters of /proc/net/udp, summed over runs):")
        out.append("")
        out.extend(drop_lines)
    out.append("")
    out.append(f"Memory: peak RSS (VmHWM) over all relay runs; RSS per allocation = growth of VmRSS "
               f"from {args.warm_allocations} to {args.warm_allocations}+{args.allocations} held allocations "
               f"(each with one permission and one channel), fresh server per round, medians.")
    out.append("")
    out.append("| server | peak RSS, relay runs (MB) | RSS with warm-up allocations (MB) | RSS with all held (MB) | KB per allocation |")
    out.append("|---|---:|---:|---:|---:|")
    mem = {}
    for name in servers:
        allocs = [a for a in results["allocations"] if a["server"] == name and a["ok"] == a["requested"]]
        m = {
            "peak_mb": results["peak_rss_kb"].get(name, 0) / 1024 if name in results["peak_rss_kb"] else None,
            "base_mb": med([a["rss_base_kb"] / 1024 for a in allocs]),
            "held_mb": med([a["rss_held_kb"] / 1024 for a in allocs]),
            "kb_per_alloc": med([a["bytes_per_alloc"] / 1024 for a in allocs]),
        }
        mem[name] = m
        out.append(f"| {name} | {fmt(m['peak_mb'])} | {fmt(m['base_mb'])} | {fmt(m['held_mb'])} | {fmt(m['kb_per_alloc'], 2)} |")
    if "coturn" in servers and turns:
        out.append("")
        out.append("Ratios (turn / coturn; below 1 is better for turn except relayed pkt/s):")
        out.append("")
        out.append("| load | " + " | ".join(f"{t}: pkt/s | {t}: lost | {t}: RTT | {t}: CPU/pkt" for t in turns) + " |")
        out.append("|---|" + "---:|---:|---:|---:|" * len(turns))
        for load in args.loads:
            c = summary[(load, "coturn")]
            cells = []
            for t in turns:
                s = summary[(load, t)]
                cells += [ratio(s["pps"], c["pps"]), ratio(s["lost"], c["lost"]),
                          ratio(s["rtt_ms"], c["rtt_ms"]), ratio(s["cpu"], c["cpu"])]
            out.append(f"| {load} | " + " | ".join(cells) + " |")
        out.append("")
        out.append("| memory | " + " | ".join(turns) + " |")
        out.append("|---|" + "---:|" * len(turns))
        out.append("| peak RSS | " + " | ".join(ratio(mem[t]["peak_mb"], mem["coturn"]["peak_mb"]) for t in turns) + " |")
        out.append("| RSS per allocation | " + " | ".join(ratio(mem[t]["kb_per_alloc"], mem["coturn"]["kb_per_alloc"]) for t in turns) + " |")
    others = [r["other_cpu_s"] / r["window_s"] for r in results["runs"] if r["ok"] and r["window_s"] > 0]
    out.append("")
    if others:
        out.append(f"Background CPU (other processes) during the relay runs: median {100 * med(others):.0f}% "
                   f"of one core, max {100 * max(others):.0f}%. Load average before/after: "
                   f"{results['loadavg_before']} / {results['loadavg_after']}.")
    return "\n".join(out)


def machine():
    info = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "cores": os.cpu_count(), "kernel": platform.release()}
    try:
        if cpu := cpu_model():
            info["cpu"] = cpu
        with open("/proc/meminfo") as f:
            info["mem_gb"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    info.update(tool_versions(timeout=20))
    return info


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description="turn vs coturn relay benchmark (see README.md)")
    ap.add_argument("--turn-dll", required=True, help="the built turn.dll")
    ap.add_argument("--workdir", required=True, help="logs, configs and coturn's files go here")
    ap.add_argument("--quick", action="store_true", help="one round, 10000 messages per session")
    ap.add_argument("--rounds", type=int, help="default 3; quick 1")
    ap.add_argument("--sessions", type=int, default=4, help="uclient -m (default 4)")
    ap.add_argument("--messages", type=int, help="messages per session (default 25000; quick 10000)")
    ap.add_argument("--allocations", type=int, default=2000, help="held at once for RSS per allocation")
    ap.add_argument("--warm-allocations", type=int, default=100, help="opened first, before the RSS baseline")
    ap.add_argument("--loads", default=",".join(LOADS), help="comma-separated: " + ", ".join(LOADS))
    ap.add_argument("--variants", default="turn",
                    help="turn variants, comma-separated: turn (the defaults), turn-inline "
                         "(DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1, an experiment)")
    ap.add_argument("--coturn-relay-threads", type=int, default=0, help="turnserver --relay-threads (default: coturn's own, one per core)")
    ap.add_argument("--turn-http", action="store_true",
                    help="also run turn's HTTP listener (signaling, API) on a loopback port")
    ap.add_argument("--uclient-timeout", type=float, default=90.0, help="seconds before a uclient run is killed")
    ap.add_argument("--max-minutes", type=float, default=20.0, help="stop starting new runs after this")
    ap.add_argument("--json", help="also write raw results here")
    args = ap.parse_args()
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.messages is None:
        args.messages = 10000 if args.quick else 25000
    args.loads = [x for x in args.loads.split(",") if x]
    for load in args.loads:
        if load not in LOADS:
            ap.error(f"unknown load {load}")
    variants = [x for x in args.variants.split(",") if x]
    for v in variants:
        if v not in TURN_VARIANTS:
            ap.error(f"unknown variant {v}")
    if not (1 <= args.rounds <= 20 and 1 <= args.sessions <= 64 and 1 <= args.messages <= 1_000_000
            and 1 <= args.allocations <= 5000):
        ap.error("rounds 1-20, sessions 1-64, messages 1-1000000, allocations 1-5000")

    deadline = time.monotonic() + args.max_minutes * 60
    workdir = args.workdir
    os.makedirs(workdir, exist_ok=True)
    names = variants + ["coturn"]
    results = {"machine": machine(), "args": {k: v for k, v in vars(args).items()},
               "runs": [], "allocations": [], "peak_rss_kb": {}, "loadavg_before": loadavg()}
    m = results["machine"]
    print(f"# {m['date']}: {m['cores']} cores ({m.get('cpu', '?')}), {m.get('mem_gb', '?')} GB, "
          f"Linux {m['kernel']}, .NET SDK {m['dotnet']}, coturn {m['coturn']}", flush=True)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    status = 0
    pending = []
    try:
        peer = start("peer", ["turnutils_peer", "-L", HOST, "-p", str(peer_port := free_port(*SERVER_PORTS))],
                     None, workdir)
        peer.port = peer_port
        time.sleep(0.3)
        if not peer.alive():
            raise RuntimeError("turnutils_peer exited:\n" + peer.log_tail())

        # Relay runs: every server up at once on its own port, loads alternated
        # between them, the order flipped every round; idle servers cost ~nothing.
        servers = {n: Server(n, "coturn" if n == "coturn" else "turn", args, workdir) for n in names}
        for s in servers.values():
            s.start("relay")
        print(f"warm-up: {', '.join(names)} ...", flush=True)
        warm_up(list(servers.values()), peer, args, workdir)
        sampler = UdpSampler()
        sampler.start()
        def collect(run_, r_):
            nonlocal status
            res = run_.finish()
            res["round"] = r_
            results["runs"].append(res)
            if res["ok"]:
                print(f"round {r_} {res['load']:12} {res['server']:14} {res['relayed']:>8,} pkts  "
                      f"{fmt(res['pps'], 0):>8} pkt/s  lost {res['lost']:>6,}{drops_text(res)}  "
                      f"RTT {res['rtt_ms']:.3f} ms  CPU {res['server_cpu_s']:.2f} s = "
                      f"{res['cpu_s_per_mpkt']:.2f} s/Mpkt  (flowing {res['active_s']:.1f} of {res['window_s']:.1f} s, "
                      f"other load {res['other_cpu_s']:.2f} s)", flush=True)
            else:
                status = 1
                print(f"round {r_} {res['load']:12} {res['server']:14} FAILED: {res['error']}", flush=True)

        for r in range(args.rounds):
            order = names if r % 2 == 0 else list(reversed(names))
            for load in args.loads:
                for name in order:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"--max-minutes {args.max_minutes} reached")
                    # A run still in uclient's end-of-run wait on this server finishes first.
                    for item in [x for x in pending if x[0].server.name == name]:
                        pending.remove(item)
                        collect(*item)
                    run = UclientRun(servers[name], load, args.sessions, args.messages, peer, args, workdir,
                                     f"r{r + 1}-{load}-{name}", sampler)
                    pending.append((run, r + 1))
                    run.wait_settled()
                    while pending and pending[0][0].p.poll() is not None:
                        collect(*pending.pop(0))
        while pending:
            collect(*pending.pop(0))
        sampler.stop()
        for s in servers.values():
            results["peak_rss_kb"][s.name] = proc_status_kb(s.pid, "VmHWM", missing_ok=False)
            s.stop()

        # RSS per allocation: a fresh server each round.
        for r in range(args.rounds):
            order = names if r % 2 == 0 else list(reversed(names))
            for name in order:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"--max-minutes {args.max_minutes} reached")
                s = Server(name, "coturn" if name == "coturn" else "turn", args, workdir)
                s.start(f"alloc{r + 1}")
                try:
                    time.sleep(0.5)
                    a = rss_per_allocation(s, peer, args.allocations, args.warm_allocations, settle=2.0)
                finally:
                    s.stop()
                a["round"] = r + 1
                results["allocations"].append(a)
                per = "-" if a["bytes_per_alloc"] is None else f"{a['bytes_per_alloc'] / 1024:.2f} KB"
                print(f"round {r + 1} allocations {name:14} {a['ok']}/{a['requested']} in {a['open_s']:.2f} s  "
                      f"({a['retransmits']} retransmissions)  RSS {a['rss_base_kb'] / 1024:.1f} -> "
                      f"{a['rss_held_kb'] / 1024:.1f} MB  = {per} each"
                      f"{'  failures: ' + str(a['failures']) if a['failures'] else ''}", flush=True)
                if a["ok"] != a["requested"]:
                    status = 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        status = 130
    except (RuntimeError, TimeoutError) as e:
        print(f"error: {e}", file=sys.stderr)
        status = 1
    finally:
        for run, _ in pending:
            run.stop()
        stop_all()
    results["loadavg_after"] = loadavg()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if results["runs"] or results["allocations"]:
        print()
        print(report(results, names, args))
    return status


if __name__ == "__main__":
    sys.exit(main())
