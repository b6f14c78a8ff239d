#!/usr/bin/env python3
"""Relay benchmark against the kernel's floor: udp-floor fwd, coturn and turn, one load.

Three servers run side by side on loopback: the C "floor" forwarder (`udp-floor fwd`,
the cheapest possible relay: no protocol, one thread), coturn's `turnserver` and
`turn`. The same load generator (`udp-floor load` / `udp-floor alloc`) drives each of
them in turn, interleaved and in rotating order over several rounds, and the medians
and the ratios turn/floor and turn/coturn are printed. See README.md ("Floor").

    python3 tests/bench/floor.py --turn-dll PATH/turn.dll [--rounds 3] [--quick] ...

Normally started by `tests/bench/run.sh --floor`. When run as root it re-executes
itself in a private network namespace (`unshare -n`, loopback up), so that no other
traffic shares the loopback device. Only 127.0.0.1 is used. Every process it starts
it stops again by PID, also on Ctrl-C, SIGTERM and errors; every wait is bounded.
Python 3 standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # before importing benchlib: no __pycache__ in the repo
from benchlib import (HOST, PASSWORD, USER, clean_env, coturn_argv, cpu_model, fd_count, free_port,  # noqa: E402
                      loadavg, proc_cpu, proc_status_kb, start, stop, stop_all, stun_binding_ok, system_busy,
                      tool_versions, turn_config, warn)

HERE = os.path.dirname(os.path.abspath(__file__))
NETNS_MARK = "FLOOR_BENCH_NETNS"  # set for the copy of us that runs inside `unshare -n`
PRIVATE_ENV = (NETNS_MARK,)  # ours: not passed on to what we start (nor TURN_*, see clean_env)
SERVER_PORTS = (2000, 9999)  # servers' and the echo's ports: below the relay ranges
SERVERS = ("floor", "coturn", "turn")
TURN_SERVERS = ("coturn", "turn")

# name -> (servers it applies to, udp-floor flags, the flags with --quick)
LOADS = {
    "window": (SERVERS, ["-m", "10", "-n", "100000", "-l", "100", "-w", "16"],
               ["-m", "10", "-n", "20000", "-l", "100", "-w", "16"]),
    "pinned": (SERVERS, ["-m", "10", "-n", "100000", "-l", "100", "-w", "16"],
               ["-m", "10", "-n", "20000", "-l", "100", "-w", "16"]),
    "paced": (SERVERS, ["-m", "50", "-n", "500", "-l", "160", "-z", "20000"],
              ["-m", "50", "-n", "250", "-l", "160", "-z", "20000"]),
    "send": (TURN_SERVERS, ["-m", "10", "-n", "100000", "-l", "100", "-w", "16", "-I"],
             ["-m", "10", "-n", "20000", "-l", "100", "-w", "16", "-I"]),
    "alloc5000": (SERVERS, ["-m", "5000", "-n", "6", "-l", "160", "-z", "1000000"],
                  ["-m", "2000", "-n", "4", "-l", "160", "-z", "1000000"]),
    "setup": (TURN_SERVERS, ["-n", "10000", "-w", "256"], ["-n", "4000", "-w", "256"]),
}
# Before the measured runs, not counted: JIT compilation of turn's paths.
WARMUP = [
    ("window", ["-m", "10", "-n", "20000", "-l", "100", "-w", "16"]),
    ("send", ["-m", "10", "-n", "10000", "-l", "100", "-w", "16", "-I"]),
    ("paced", ["-m", "50", "-n", "100", "-l", "160", "-z", "20000"]),
    ("setup", ["-n", "1000", "-w", "256"]),
]
# The same, lighter, for the fresh server that each alloc5000 run gets: its RSS baseline
# is taken after this, so only a few allocations may come before it (at most 100 at once).
WARMUP_FRESH = [
    ("window", ["-m", "10", "-n", "5000", "-l", "100", "-w", "16"]),
    ("send", ["-m", "10", "-n", "2000", "-l", "100", "-w", "16", "-I"]),
    ("paced", ["-m", "50", "-n", "50", "-l", "160", "-z", "20000"]),
    ("setup", ["-n", "100", "-w", "64"]),
]
# Seconds to wait after a load that released many allocations: coturn keeps a released
# allocation's 5-tuple for 2-3 s and answers a new Allocate from it with 437.
SETTLE_MIN_S = 4.0


# ---------------------------------------------------------------- small helpers

def log(msg=""):
    print(msg, flush=True)


def net_interfaces():
    """Interfaces of our own network namespace (/proc/net/dev is per namespace)."""
    with open("/proc/net/dev") as f:
        return [line.split(":", 1)[0].strip() for line in f.readlines()[2:]]


def deep_merge(base, extra):
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_merge(base[k], v)
        else:
            base[k] = v
    return base


# ---------------------------------------------------------------- probes and ports

def echo_ok(port, timeout=0.3):
    """True if a datagram sent to 127.0.0.1:port comes back unchanged (the echo, or fwd -> echo)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        probe = b"floor-probe-" + os.urandom(8)
        s.sendto(probe, (HOST, port))
        data, _ = s.recvfrom(2048)
        return data == probe
    except OSError:
        return False
    finally:
        s.close()


def relay_ranges(own_netns):
    """(turn range, coturn range): the two halves of 10000 .. (start of the ephemeral range - 1).
    In our own namespace the ephemeral range is first moved to 40000-60999, so both
    servers get 15,000 relay ports (setup holds 10,000 allocations at once)."""
    path = "/proc/sys/net/ipv4/ip_local_port_range"
    if own_netns:
        try:
            with open(path, "w") as f:
                f.write("40000 60999")
        except OSError as e:
            warn(f"cannot set {path}: {e}")
    with open(path) as f:
        eph_lo = int(f.read().split()[0])
    hi = min(eph_lo, 65536) - 1
    if hi - 10000 < 2000:
        raise RuntimeError(f"ephemeral ports start at {eph_lo}: no room for relay ranges above 10000")
    mid = 10000 + (hi - 10000 + 1) // 2
    return (10000, mid - 1), (mid, hi)


# ---------------------------------------------------------------- processes

def taskset_pid(pid, cpus):
    """Pins every thread of pid (taskset -a -p) to the CPU list cpus ("0", "0-1", ...)."""
    r = subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=20)
    if r.returncode != 0:
        raise RuntimeError(f"taskset -a -p -c {cpus} {pid}: {r.stderr.strip()}")


def cpu_list(cpus):
    return ",".join(str(c) for c in sorted(cpus))


# ---------------------------------------------------------------- servers

class Server:
    def __init__(self, name, args, workdir, uf, echo_port, ranges, lifetime_s):
        self.name = name
        self.args = args
        self.workdir = workdir
        self.uf = uf
        self.echo_port = echo_port
        self.ranges = ranges
        self.lifetime_s = lifetime_s
        self.proc = None
        self.port = None
        self.starts = 0

    @property
    def is_turn(self):
        return self.name in TURN_SERVERS

    def _command(self):
        self.port = free_port(*SERVER_PORTS)
        if self.name == "floor":
            return [self.uf, "fwd", "-l", f"{HOST}:{self.port}", "-p", f"{HOST}:{self.echo_port}",
                    "-S", "65536", "-T", str(self.lifetime_s)], clean_env(drop=PRIVATE_ENV)
        if self.name == "coturn":
            argv = coturn_argv(self.port, self.ranges[1], os.path.join(self.workdir, "coturn"))
            if self.args.coturn_relay_threads:
                argv += ["--relay-threads", str(self.args.coturn_relay_threads)]
            return argv, clean_env(drop=PRIVATE_ENV)
        config = turn_config(self.port, self.ranges[0], max_allocations=100000)
        if self.args.turn_config_json:
            deep_merge(config, json.loads(self.args.turn_config_json))
        path = os.path.join(self.workdir, f"turn-{self.starts}.json")
        with open(path, "w") as f:
            json.dump(config, f, indent=1)
        turn = ["dotnet", self.args.turn_dll] if self.args.turn_dll.endswith(".dll") else [self.args.turn_dll]
        return turn + ["serve", "--config", path], clean_env(self.args.turn_env, drop=PRIVATE_ENV)

    def start(self):
        self.starts += 1
        argv, env = self._command()
        self.proc = start(self.name, argv, env, self.workdir, f"{self.name}-{self.starts}")
        self.started_at = time.monotonic()

    def stop(self):
        if self.proc:
            stop(self.proc)
            self.proc = None

    def wait_ready(self, timeout=40):
        self.proc.wait_answering(self.name, self.port, stun_binding_ok if self.is_turn else echo_ok, timeout)

    @property
    def pid(self):
        return self.proc.pid


# ---------------------------------------------------------------- one load on one server

class Bench:
    def __init__(self, args, workdir, uf, echo, servers):
        self.args = args
        self.workdir = workdir
        self.uf = uf
        self.echo = echo
        self.servers = servers
        self.cpus = sorted(os.sched_getaffinity(0))
        self.current = None  # the running load process, killed by PID on interrupt

    def argv_for(self, server, mode, flags, timeout):
        t = str(max(5, int(timeout) - 5))  # udp-floor stops by itself before we kill it
        if mode == "alloc":
            return [self.uf, "alloc", "-s", f"{HOST}:{server.port}", "-A", f"{USER}:{PASSWORD}"] + flags + ["-T", t]
        argv = [self.uf, "load", "-s", f"{HOST}:{server.port}"] + flags + ["-T", t]
        if server.is_turn:
            argv += ["-A", f"{USER}:{PASSWORD}", "-e", f"{HOST}:{self.echo.port}"]
        return argv

    def run(self, server, load, flags, tag, pinned=False):
        """Runs one udp-floor load against server; returns a result dict."""
        mode = "alloc" if load == "setup" else "load"
        timeout = self.args.load_timeout
        argv = self.argv_for(server, mode, flags, timeout)
        if pinned:
            argv = ["taskset", "-c", str(self.cpus[1])] + argv
        out_path = os.path.join(self.workdir, f"load-{tag}.out")
        err_path = os.path.join(self.workdir, f"load-{tag}.err")
        res = {"server": server.name, "load": load, "tag": tag, "argv": " ".join(argv), "ok": False}
        restore = None
        if pinned:
            restore = (cpu_list(os.sched_getaffinity(server.pid)), cpu_list(os.sched_getaffinity(self.echo.pid)))
            taskset_pid(server.pid, str(self.cpus[0]))
            taskset_pid(self.echo.pid, str(self.cpus[1]))
        try:
            rss0 = proc_status_kb(server.pid, "VmRSS")
            fds0 = fd_count(server.pid)
            sys0, echo0 = system_busy(), proc_cpu(self.echo.pid)
            cpu0 = proc_cpu(server.pid)
            t0 = time.monotonic()
            rss_max = rss0 or 0
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     env=clean_env(drop=PRIVATE_ENV), cwd=self.workdir)
                self.current = p
                killed = False
                while p.poll() is None:
                    if time.monotonic() - t0 > timeout:
                        p.kill()  # by its PID
                        killed = True
                        break
                    rss = proc_status_kb(server.pid, "VmRSS")
                    if rss and rss > rss_max:
                        rss_max = rss
                    time.sleep(0.05)
                p.wait()
                self.current = None
            wall = time.monotonic() - t0
            cpu1 = proc_cpu(server.pid)
            sys1, echo1 = system_busy(), proc_cpu(self.echo.pid)
            rss1 = proc_status_kb(server.pid, "VmRSS")
        finally:
            if restore:
                taskset_pid(server.pid, restore[0])
                taskset_pid(self.echo.pid, restore[1])
        res.update({"wall_s": round(wall, 3), "server_cpu_s": round(cpu1 - cpu0, 4), "rss_before_kb": rss0,
                    "rss_max_kb": rss_max, "rss_after_kb": rss1, "fds_before": fds0, "exit": p.returncode})
        with open(out_path) as f:
            lines = [line for line in f.read().splitlines() if line.startswith("{")]
        with open(err_path) as f:
            res["stderr"] = f.read()[-2000:]
        if killed:
            res["error"] = f"killed after {timeout:.0f} s"
            return res
        if not lines:
            res["error"] = f"no result (exit {p.returncode}): {res['stderr'][-300:].strip()}"
            return res
        j = json.loads(lines[-1])
        res["result"] = j
        res["ok"] = True
        # Noise gauge: busy CPU of the machine during the load that was not the server,
        # the load generator or the echo (other jobs on this shared machine), in % of one core.
        other = (sys1 - sys0) - (cpu1 - cpu0) - (echo1 - echo0) - (j["cpu_user_s"] + j["cpu_sys_s"])
        res["other_cpu_pct"] = round(100 * max(0.0, other) / wall, 1) if wall > 0 else None
        if mode == "load":
            relayed = 2 * j["recv"]
            res["relayed"] = relayed
            res["cpu_us_per_pkt"] = (cpu1 - cpu0) * 1e6 / relayed if relayed else None
            res["pps"] = relayed / j["duration_s"] if j["duration_s"] > 0 else None
            res["loss_pct"] = j["loss_pct"]
            res["rtt_p50_us"] = j["rtt_p50_us"]
            res["rtt_p99_us"] = j["rtt_p99_us"]
            res["setup_s"] = j["setup_s"]
            res["setup_failures"] = j["setup_failures"]
            sessions = j["sessions"]
            res["rss_kb_per_alloc"] = (rss_max - rss0) / sessions if rss0 else None
            if j["sent"] == 0 or j["recv"] == 0 or j["setup_failures"] >= sessions:
                res["ok"] = False
                res["error"] = f"nothing relayed (sent {j['sent']}, received {j['recv']}, " \
                               f"set-up failures {j['setup_failures']})"
        else:
            res["allocs_per_s"] = j["allocs_per_s"]
            res["alloc_ok"] = j["ok"]
            res["alloc_failed"] = j["failed"] + j["unfinished"]
            res["setup_p50_us"] = j["setup_p50_us"]
            res["setup_p99_us"] = j["setup_p99_us"]
            for line in res["stderr"].splitlines():
                if "released {" in line:
                    res["release"] = json.loads(line.split("released ", 1)[1])
            if j["ok"] == 0:
                res["ok"] = False
                res["error"] = "no allocation succeeded"
        return res

    def settle(self, server, fds_before, min_s, max_s=20.0):
        """Waits until the server has let go of the load's allocations: its open file count
        is back near where it was before the load (or has stopped falling) and its RSS has
        stopped moving. At least min_s, at most max_s. Returns (seconds waited, open files
        left over compared with before the load, server CPU ms per second while waiting)."""
        t0 = time.monotonic()
        cpu0 = proc_cpu(server.pid)
        history = []
        while True:
            now = time.monotonic()
            fds, rss = fd_count(server.pid), proc_status_kb(server.pid, "VmRSS")
            history.append((now, fds, rss))
            if now - t0 >= max_s:
                break
            if now - t0 >= min_s and len(history) >= 4:
                last = history[-4:]
                fds_stable = len({h[1] for h in last}) == 1
                rss_vals = [h[2] or 0 for h in last]
                rss_stable = max(rss_vals) - min(rss_vals) <= 0.01 * max(rss_vals)
                if (fds_stable or (fds_before is not None and fds <= fds_before + 8)) and rss_stable:
                    break
            time.sleep(0.5)
        fds = history[-1][1]
        took = time.monotonic() - t0
        cpu_ms_per_s = (proc_cpu(server.pid) - cpu0) * 1000 / took
        return round(took, 1), (fds - fds_before if fds is not None and fds_before is not None else None), \
            round(cpu_ms_per_s, 1)


# ---------------------------------------------------------------- report

# Figures for which a ratio to the floor means nothing: the floor has no set-up, and its
# RSS holds only a 32-byte session entry (no process's RSS holds the kernel's socket memory).
NO_FLOOR_RATIO = {("alloc5000", "setup_s"), ("alloc5000", "rss_kb_per_alloc")}

FIGURES = [
    # (load, key, label, digits, higher is better)
    ("window", "pps", "relayed pkt/s", 0, True),
    ("window", "cpu_us_per_pkt", "server CPU µs/pkt", 2, False),
    ("window", "loss_pct", "loss %", 3, False),
    ("pinned", "pps", "relayed pkt/s (server on 1 core)", 0, True),
    ("pinned", "cpu_us_per_pkt", "server CPU µs/pkt", 2, False),
    ("paced", "cpu_us_per_pkt", "server CPU µs/pkt", 2, False),
    ("paced", "rtt_p50_us", "RTT p50 µs", 0, False),
    ("paced", "rtt_p99_us", "RTT p99 µs", 0, False),
    ("send", "cpu_us_per_pkt", "server CPU µs/pkt", 2, False),
    ("send", "send_over_window", "CPU/pkt send ÷ window", 2, False),
    ("alloc5000", "rss_kb_per_alloc", "RSS KB per allocation", 2, False),
    ("alloc5000", "setup_s", "set-up s (load's setup_s)", 2, False),
    ("setup", "allocs_per_s", "allocations/s", 0, True),
    ("setup", "alloc_failed", "failed allocations", 0, False),
    ("setup", "setup_p99_us", "set-up latency p99 µs", 0, False),
    ("idle", "idle_rss_mb", "RSS MB, idle (each start)", 1, False),
]


def fmt(v, digits):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def summarize(results, names):
    """{(load, key): {server: median}} plus {(load, key): {server: (min, max, n)}}."""
    meds, spread = {}, {}
    for load, key, _, _, _ in FIGURES:
        for name in names:
            if load == "idle":
                vals = [v / 1024 for v in results["idle"].get(name, []) if v is not None]
            elif key == "send_over_window":
                continue
            else:
                vals = [r.get(key) for r in results["runs"] if r["server"] == name and r["load"] == load and r["ok"]]
                vals = [v for v in vals if v is not None]
            if vals:
                meds[(load, key, name)] = statistics.median(vals)
                spread[(load, key, name)] = (min(vals), max(vals), len(vals))
    for name in names:
        s, w = meds.get(("send", "cpu_us_per_pkt", name)), meds.get(("window", "cpu_us_per_pkt", name))
        if s is not None and w:
            meds[("send", "send_over_window", name)] = s / w
    return meds, spread


def ratio_text(a, b, higher_better, names=("turn", "other")):
    if a is None or b is None or b == 0:
        return "-"
    r = a / b
    if higher_better:
        who = names[0] if a > b else names[1] if b > a else "equal"
        return f"{r:.2f} ({who} higher)"
    return f"{r:.2f}"


def report(results, names, args):
    meds, spread = summarize(results, names)
    loads = args.loads + ["idle"]
    out = []
    m = results["machine"]
    out.append(f"Machine: {m['nproc']} CPUs ({m['cpu']}), Linux {m['kernel']}, .NET SDK {m['dotnet']}, "
               f"coturn {m['coturn']}; {m['network']}.")
    out.append(f"Date: {results['started']} .. {results['finished']} ({results['elapsed_min']:.1f} min); "
               f"load average at start {results['loadavg_start']}, at end {results['loadavg_end']}.")
    out.append(f"Command: {results['command']}")
    out.append(f"Medians over {args.rounds} round(s); server CPU = utime+stime of the server process over "
               f"the load / relayed packets (2 x echoes received).")
    out.append("")
    cols = [n for n in SERVERS if n in names]
    ratio_cols = []
    if "turn" in names and "floor" in names:
        ratio_cols.append("floor")
    if "turn" in names and "coturn" in names:
        ratio_cols.append("coturn")
    out.append("| load | figure | " + " | ".join(cols) + "".join(f" | turn/{c}" for c in ratio_cols) + " |")
    out.append("|---|---|" + "---:|" * (len(cols) + len(ratio_cols)))
    for load, key, label, digits, higher in FIGURES:
        if load not in loads:
            continue
        vals = {n: meds.get((load, key, n)) for n in cols}
        if all(v is None for v in vals.values()):
            continue
        cells = [fmt(vals[n], digits) for n in cols]
        for c in ratio_cols:
            if c == "floor" and (load, key) in NO_FLOOR_RATIO:
                cells.append("-")
            else:
                cells.append(ratio_text(vals.get("turn"), vals.get(c), higher, ("turn", c)))
        out.append(f"| {load} | {label} | " + " | ".join(cells) + " |")
    # run-to-run spread of the main figures
    if not results["runs"]:
        return "\n".join(out)
    out.append("")
    out.append("Spread over the rounds (min – max, of n runs):")
    out.append("")
    out.append("| load | figure | " + " | ".join(cols) + " |")
    out.append("|---|---|" + "---:|" * len(cols))
    for load, key, label, digits, _ in FIGURES:
        if load not in loads or key == "send_over_window":
            continue
        cells = []
        for n in cols:
            s = spread.get((load, key, n))
            cells.append("-" if s is None else f"{fmt(s[0], digits)} – {fmt(s[1], digits)} ({s[2]})")
        if any(c != "-" for c in cells):
            out.append(f"| {load} | {label} | " + " | ".join(cells) + " |")
    others = [r["other_cpu_pct"] for r in results["runs"] if r["ok"] and r.get("other_cpu_pct") is not None]
    if others:
        out.append("")
        out.append(f"Background CPU (other processes on the machine) during the runs: median "
                   f"{statistics.median(others):.0f}% of one core, max {max(others):.0f}%.")
    failed = [r for r in results["runs"] if not r["ok"]]
    notes = []
    for r in failed:
        notes.append(f"- {r['tag']}: FAILED: {r.get('error')}")
    for r in results["runs"]:
        if r["ok"] and r.get("setup_failures"):
            notes.append(f"- {r['tag']}: {r['setup_failures']} session set-up failure(s)")
        if r["ok"] and r["load"] == "setup" and r.get("alloc_failed"):
            notes.append(f"- {r['tag']}: {r['alloc_failed']} of {r['result']['requested']} allocations failed "
                         f"(timeouts {r['result']['failed_timeout']}, 4xx {r['result']['failed_4xx']}, "
                         f"5xx {r['result']['failed_5xx']})")
        rel = r.get("release")
        if rel and rel.get("released", 0) < rel.get("to_release", 0):
            notes.append(f"- {r['tag']}: released {rel['released']} of {rel['to_release']} allocations "
                         f"(errors {rel['errors']}, unanswered {rel['unanswered']})")
        if r.get("leftover_fds") and r["server"] != "floor":  # the floor never frees a session
            notes.append(f"- {r['tag']}: {r['leftover_fds']} more open files after {r['settle_s']} s settling")
    if notes:
        out.append("")
        out.append("Notes:")
        out.extend(notes)
    return "\n".join(out)


def machine(network):
    info = {"nproc": os.cpu_count(), "kernel": platform.release(), "cpu": "?", "network": network}
    try:
        info["cpu"] = cpu_model() or "?"
    except OSError:
        pass
    info.update(tool_versions(timeout=30))
    return info


# ---------------------------------------------------------------- setup steps

def ensure_tools(names):
    if "coturn" in names and not shutil.which("turnserver"):
        log("installing coturn (turnserver) with apt-get ...")
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(sudo + ["apt-get", "update", "-qq"], env=env, check=False, timeout=300)
        subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "coturn"],
                       env=env, check=True, timeout=600, stdout=subprocess.DEVNULL)
    missing = [t for t in (["dotnet"] if "turn" in names else []) + (["turnserver"] if "coturn" in names else [])
               + ["taskset"] if not shutil.which(t)]
    if not (shutil.which("gcc") or shutil.which("cc")):
        missing.append("gcc (or cc)")
    if missing:
        raise SystemExit(f"missing: {', '.join(missing)}")


def enter_private_netns():
    """Re-executes this script under `unshare -n` when root and not yet in a private
    namespace. Returns a description of the network the benchmark runs on."""
    if os.environ.get(NETNS_MARK) == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=20)
        return "own network namespace (unshare -n), loopback only"
    if net_interfaces() == ["lo"]:
        return "private network namespace (only lo), loopback"
    if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"):
        probe = subprocess.run(["unshare", "-n", "true"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=20)
        if probe.returncode == 0:
            sys.stdout.flush()
            sys.stderr.flush()
            os.environ[NETNS_MARK] = "1"
            os.execvp("unshare", ["unshare", "-n", "--", sys.executable, "-B", os.path.abspath(__file__)]
                      + sys.argv[1:])
    warn("not root or unshare -n failed: running on the host's loopback, other loopback traffic shares it")
    return "host network namespace, loopback (not isolated)"


def compile_floor(workdir):
    src = os.path.join(HERE, "udp-floor.c")
    exe = os.path.join(workdir, "udp-floor")
    compiler = shutil.which("gcc") or shutil.which("cc")
    r = subprocess.run([compiler, "-O2", "-Wall", "-o", exe, src], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"compiling udp-floor.c failed:\n{r.stderr}")
    if r.stderr.strip():
        warn(f"udp-floor.c compiler output:\n{r.stderr}")
    return exe


def raise_nofile():
    """Children inherit it: setup holds 10,000 allocations (a socket each), and the floor
    never frees a session."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536
    if soft >= want:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


# ---------------------------------------------------------------- main

def parse_args():
    ap = argparse.ArgumentParser(description="floor / coturn / turn relay benchmark (see tests/bench/README.md)")
    ap.add_argument("--turn-dll", required=True, help="the built turn.dll, or a Native AOT turn executable")
    ap.add_argument("--workdir", help="logs, configs and the udp-floor binary (default: a temporary "
                                      "directory, removed at the end unless --keep)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    ap.add_argument("--rounds", type=int, help="rounds (default 3; --quick 1)")
    ap.add_argument("--quick", action="store_true", help="1 round, smaller counts: a smoke test")
    ap.add_argument("--loads", default=",".join(LOADS), help="comma-separated, of: " + ", ".join(LOADS))
    ap.add_argument("--servers", default=",".join(SERVERS), help="comma-separated, of: " + ", ".join(SERVERS))
    ap.add_argument("--json", help="write the raw results here")
    ap.add_argument("--turn-env", action="append", default=[], metavar="K=V",
                    help="environment variable for turn (repeatable; none by default)")
    ap.add_argument("--turn-config-json", help="JSON object merged into turn's configuration")
    ap.add_argument("--coturn-relay-threads", type=int, help="turnserver --relay-threads (default: coturn's own)")
    ap.add_argument("--max-minutes", type=float, default=30.0, help="start no new run after this (default 30)")
    ap.add_argument("--load-timeout", type=float, default=120.0, help="kill a load after this many seconds")
    ap.add_argument("--idle-wait", type=float, default=5.0, help="seconds after start before the idle RSS")
    args = ap.parse_args()
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    args.loads = [x for x in args.loads.split(",") if x]
    args.servers = [x for x in args.servers.split(",") if x]
    for x in args.loads:
        if x not in LOADS:
            ap.error(f"unknown load {x}")
    for x in args.servers:
        if x not in SERVERS:
            ap.error(f"unknown server {x}")
    if not 1 <= args.rounds <= 20:
        ap.error("--rounds 1-20")
    env = {}
    for kv in args.turn_env:
        if "=" not in kv:
            ap.error(f"--turn-env {kv}: K=V")
        k, v = kv.split("=", 1)
        env[k] = v
    args.turn_env = env
    if args.turn_config_json:
        try:
            if not isinstance(json.loads(args.turn_config_json), dict):
                raise ValueError("not an object")
        except ValueError as e:
            ap.error(f"--turn-config-json: {e}")
    if "turn" in args.servers and not os.path.isfile(args.turn_dll):
        ap.error(f"no such file: {args.turn_dll}")
    args.turn_dll = os.path.abspath(args.turn_dll)
    return args


def main():
    args = parse_args()
    command = "floor.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    ensure_tools(args.servers)
    network = enter_private_netns()  # may re-exec this script
    own_netns = os.environ.get(NETNS_MARK) == "1"
    raise_nofile()
    t_start = time.monotonic()
    deadline = t_start + args.max_minutes * 60
    cleanup_dir = None
    if args.workdir:
        workdir = os.path.abspath(args.workdir)
        os.makedirs(workdir, exist_ok=True)
    else:
        workdir = tempfile.mkdtemp(prefix="turn-floor.")
        cleanup_dir = None if args.keep else workdir

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    results = {"command": command, "args": {k: v for k, v in vars(args).items()},
               "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
               "loadavg_start": loadavg(), "machine": machine(network), "idle": {}, "runs": []}
    mi = results["machine"]
    log(f"# {mi['nproc']} CPUs ({mi['cpu']}), Linux {mi['kernel']}, .NET SDK {mi['dotnet']}, coturn {mi['coturn']}")
    log(f"# network: {network}; load average {results['loadavg_start']}; work directory {workdir}")
    status = 0
    bench = None
    names = [n for n in SERVERS if n in args.servers]
    try:
        uf = compile_floor(workdir)
        ranges = relay_ranges(own_netns)
        lifetime = int(args.max_minutes * 60 + 3 * args.load_timeout + 600)  # fwd/echo stop by themselves
        echo = start("echo", [uf, "echo", "-l", f"{HOST}:{(echo_port := free_port(*SERVER_PORTS))}",
                              "-T", str(lifetime)], clean_env(drop=PRIVATE_ENV), workdir)
        echo.port = echo_port
        for _ in range(50):
            if echo_ok(echo_port):
                break
            if not echo.alive():
                raise RuntimeError("udp-floor echo exited:\n" + echo.log_tail())
            time.sleep(0.1)
        else:
            raise RuntimeError("udp-floor echo does not answer")
        servers = {n: Server(n, args, workdir, uf, echo_port, ranges, lifetime) for n in names}
        for s in servers.values():
            s.start()
        for s in servers.values():
            s.wait_ready()
        log(f"# servers up: " + ", ".join(f"{n} pid {s.pid} port {s.port}" for n, s in servers.items())
            + f"; echo port {echo_port}; relay ports turn {ranges[0][0]}-{ranges[0][1]}, "
              f"coturn {ranges[1][0]}-{ranges[1][1]}")
        # Idle RSS: a few seconds after start, before any load.
        time.sleep(max(0.0, args.idle_wait - (time.monotonic() - min(s.started_at for s in servers.values()))))
        for n, s in servers.items():
            results["idle"][n] = [proc_status_kb(s.pid, "VmRSS")]
        log("idle RSS: " + ", ".join(f"{n} {results['idle'][n][0] / 1024:.1f} MB" for n in names
                                      if results['idle'][n][0]))
        bench = Bench(args, workdir, uf, echo, servers)

        def warm_up(s, plan, tag):
            for load, flags in plan:
                if s.name not in LOADS[load][0]:
                    continue
                r = bench.run(s, load, flags, f"{tag}-{load}-{s.name}")
                if not r["ok"]:
                    raise RuntimeError(f"{tag} {load} on {s.name} failed: {r.get('error')}\n"
                                       f"{r.get('stderr', '')[-500:]}")

        def restart(s, rnd):
            """A fresh server for alloc5000 (RSS never shrinks back after an earlier, larger
            load): stop, start, idle RSS, a light warm-up, settle. It stays for the loads after."""
            s.stop()
            s.start()
            s.wait_ready()
            time.sleep(max(0.0, args.idle_wait - (time.monotonic() - s.started_at)))
            idle = proc_status_kb(s.pid, "VmRSS")
            results["idle"][s.name].append(idle)
            warm_up(s, WARMUP_FRESH, f"r{rnd}-fresh")
            time.sleep(SETTLE_MIN_S)
            return idle
        pinned_ok = len(bench.cpus) >= 2
        if "pinned" in args.loads and not pinned_ok:
            warn("fewer than 2 CPUs available: the pinned load is skipped")

        # Warm-up, not counted.
        log("warm-up (not counted) ...")
        for s in servers.values():
            warm_up(s, WARMUP, "warmup")
        time.sleep(SETTLE_MIN_S)

        for rnd in range(args.rounds):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for load in args.loads:
                applies, flags_full, flags_quick = LOADS[load]
                if load == "pinned" and not pinned_ok:
                    continue
                flags = flags_quick if args.quick else flags_full
                for n in order:
                    if n not in applies:
                        continue
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"--max-minutes {args.max_minutes} reached; no new runs started")
                    s = servers[n]
                    tag = f"r{rnd + 1}-{load}-{n}"
                    if load == "alloc5000":
                        idle = restart(s, rnd + 1)
                        log(f"{'r%d-restart-%s' % (rnd + 1, n):24} fresh pid {s.pid} port {s.port}, "
                            f"idle RSS {idle / 1024:.1f} MB, warmed up")
                    r = bench.run(s, load, flags, tag, pinned=load == "pinned")
                    r["round"] = rnd + 1
                    if load in ("alloc5000", "setup"):
                        r["settle_s"], r["leftover_fds"], r["settle_cpu_ms_per_s"] = \
                            bench.settle(s, r["fds_before"], min_s=SETTLE_MIN_S)
                    results["runs"].append(r)
                    log(run_line(r))
                    if not r["ok"]:
                        status = 1
                    if not s.proc.alive():
                        raise RuntimeError(f"{n} exited during {tag}:\n{s.proc.log_tail()}")
    except KeyboardInterrupt:
        warn("interrupted")
        status = 130
    except (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError) as e:
        warn(f"error: {e}")
        status = 1
    finally:
        if bench and bench.current and bench.current.poll() is None:
            bench.current.kill()  # by its PID
            bench.current.wait()
        stop_all()
    try:
        results["loadavg_end"] = loadavg()
        results["finished"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        results["elapsed_min"] = (time.monotonic() - t_start) / 60
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        if results["runs"] or results["idle"]:
            log()
            log(report(results, names, args))
        if not cleanup_dir and not args.workdir:
            log(f"\nlogs kept in {workdir}")
    finally:
        if cleanup_dir:
            shutil.rmtree(cleanup_dir, ignore_errors=True)
    return status


def run_line(r):
    head = f"{r['tag']:24}"
    if not r["ok"]:
        return f"{head} FAILED: {r.get('error')}"
    return run_text(r, head) + f"  [other {r.get('other_cpu_pct')}%]"


def run_text(r, head):
    if r["load"] == "setup":
        rel = r.get("release") or {}
        return (f"{head} {r['alloc_ok']:,} ok, {r['alloc_failed']:,} failed, {r['allocs_per_s']:,.0f} allocs/s, "
                f"p50 {r['setup_p50_us']:,} µs p99 {r['setup_p99_us']:,} µs; released {rel.get('released', '?')}; "
                f"settled {r.get('settle_s')} s (+{r.get('leftover_fds')} fds, "
                f"CPU {r.get('settle_cpu_ms_per_s')} ms/s)")
    text = (f"{head} {r['relayed']:>9,} pkts {fmt(r['pps'], 0):>8} pkt/s  CPU {r['server_cpu_s']:.2f} s = "
            f"{fmt(r['cpu_us_per_pkt'], 2)} µs/pkt  loss {r['loss_pct']:.3f}%  RTT p50 {r['rtt_p50_us']:,.0f} "
            f"p99 {r['rtt_p99_us']:,.0f} µs")
    if r["load"] == "alloc5000":
        text += (f"  RSS {r['rss_before_kb'] / 1024:.1f} -> max {r['rss_max_kb'] / 1024:.1f} MB = "
                 f"{fmt(r['rss_kb_per_alloc'], 2)} KB/alloc, setup {r['setup_s']:.2f} s; "
                 f"settled {r.get('settle_s')} s (+{r.get('leftover_fds')} fds, "
                 f"CPU {r.get('settle_cpu_ms_per_s')} ms/s)")
    if r.get("setup_failures"):
        text += f"  ({r['setup_failures']} set-up failures)"
    return text


if __name__ == "__main__":
    sys.exit(main())
