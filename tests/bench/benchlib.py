"""Helpers shared by the relay benchmarks (bench.py, floor.py; soak.py uses a few).

/proc readings (process CPU and memory, open files, the machine's busy CPU, load
average, CPU model), tool versions, loopback ports, the STUN Binding probe, processes
we start and stop by their PID only (Proc, start, stop, stop_all), the environment,
configuration and command line the benchmarks give turn and coturn, and the median.
Only 127.0.0.1 is used. Python 3 standard library only.
"""
import os
import random
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

HOST = "127.0.0.1"
USER, PASSWORD, REALM = "bench", "benchpw", "bench"  # the long-term credentials every server gets
CLK_TCK = os.sysconf("SC_CLK_TCK")
STUN_MAGIC = 0x2112A442


def warn(msg):
    print(f"warning: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- /proc

def proc_cpu(pid):
    """utime + stime of the whole process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kb(pid, key, missing_ok=True):
    """A kB figure of /proc/PID/status (VmRSS, VmHWM, ...), or None. When the file cannot
    be read (the process is gone): None, or with missing_ok=False the OSError."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        if not missing_ok:
            raise
    return None


def fd_count(pid):
    """Open files of the process, or None."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def system_busy():
    """Busy CPU seconds of the whole machine (all cores, /proc/stat) since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, or None; OSError if it cannot be read."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


def tool_versions(timeout):
    """{"dotnet": SDK version, "coturn": turnserver version}, "?" where unknown."""
    info = {}
    for key, argv in (("dotnet", ["dotnet", "--version"]), ("coturn", ["turnserver", "--version"])):
        try:
            outp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout).stdout.strip().splitlines()
            info[key] = outp[-1] if outp else "?"
        except (OSError, subprocess.TimeoutExpired):
            info[key] = "?"
    return info


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# ---------------------------------------------------------------- ports and probes

_used_ports = set()


def free_port(lo, hi):
    """A port in lo..hi free for both UDP and TCP on 127.0.0.1, not handed out before."""
    for _ in range(500):
        port = random.randint(lo, hi)
        if port in _used_ports:
            continue
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind((HOST, port))
            t.bind((HOST, port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        _used_ports.add(port)
        return port
    raise RuntimeError(f"no free port found in {lo}-{hi}")


def stun_binding_ok(port, timeout=0.3):
    """True if 127.0.0.1:port answers a STUN Binding request (a success response)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        txid = os.urandom(12)
        s.sendto(struct.pack("!HHI", 0x0001, 0, STUN_MAGIC) + txid, (HOST, port))
        data, _ = s.recvfrom(2048)
        if len(data) < 20:
            return False
        mtype, length, magic = struct.unpack_from("!HHI", data)
        return mtype == 0x0101 and magic == STUN_MAGIC and 20 + length <= len(data) and data[8:20] == txid
    except OSError:
        return False
    finally:
        s.close()


# ---------------------------------------------------------------- processes

class Proc:
    """A process we started; stopped by its PID only."""

    def __init__(self, name, argv, env, logpath, cwd):
        self.name = name
        self.argv = argv
        self.logpath = logpath
        self.log = open(logpath, "wb")
        self.p = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                  stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, grace=8.0):
        if self.p.poll() is None:
            try:
                os.kill(self.p.pid, signal.SIGTERM)
                self.p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(timeout=5)
            except ProcessLookupError:
                pass
        self.log.close()

    def log_tail(self, n=15):
        try:
            with open(self.logpath, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""

    def wait_answering(self, name, port, check, timeout):
        """Until check(port) is true; RuntimeError if the process exits first or after timeout s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{name} exited at start:\n{self.log_tail()}")
            if check(port):
                return
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer on {HOST}:{port} within {timeout} s:\n{self.log_tail()}")


_started = []


def start(name, argv, env, workdir, logname=None):
    """Starts argv in workdir, its output to workdir/LOGNAME.log (default: name); stop_all() stops it."""
    proc = Proc(name, argv, env, os.path.join(workdir, f"{logname or name}.log"), workdir)
    _started.append(proc)
    return proc


def stop(proc):
    """Stops one process start() started (by its PID) before stop_all()."""
    proc.stop()
    _started.remove(proc)


def stop_all():
    """Stops every process start() started, the last started first, by PID."""
    for proc in reversed(_started):
        try:
            proc.stop()
        except Exception as e:  # keep stopping the others
            warn(f"stopping {proc.name} (pid {proc.pid}): {e}")
    _started.clear()


def clean_env(extra=None, drop=()):
    """The caller's environment without TURN_*, DOTNET_SYSTEM_NET_SOCKETS_* and the names in drop,
    with extra added."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TURN_") and not k.startswith("DOTNET_SYSTEM_NET_SOCKETS_") and k not in drop}
    env.update(extra or {})
    return env


# ---------------------------------------------------------------- servers

def turn_config(port, relay_ports, max_allocations, http_urls=()):
    """turn's configuration for a benchmark: UDP and TCP on 127.0.0.1:port, relay ports
    relay_ports (lo, hi), the bench user, Warning logs, HTTP (signaling, API) on http_urls only."""
    lo, hi = relay_ports
    return {
        "Listen": {"Addresses": [HOST], "UdpPort": port, "TcpPort": port, "Transports": ["udp", "tcp"]},
        # All bench clients share 127.0.0.1: the per-source budget for
        # unauthenticated answers (401s) would throttle the set-up loads.
        "Auth": {"Realm": REALM, "Users": [f"{USER}:{PASSWORD}"], "UnauthenticatedBytesPerSecond": 0},
        "Relay": {"Addresses": [HOST], "UnsafeAllowLoopbackPeers": True, "MinPort": lo, "MaxPort": hi,
                  "MaxAllocations": max_allocations, "MaxAllocationsPerUser": max_allocations,
                  "MaxAllocationsPerAddress": max_allocations},
        "Logging": {"LogLevel": {"Default": "Warning"}},
        # No Kestrel unless asked: coturn runs without its web admin too,
        # and the default URL binds 0.0.0.0:8080.
        "Http": {"Urls": list(http_urls)},
    }


def coturn_argv(port, relay_ports, tmpdir):
    """coturn's turnserver on 127.0.0.1:port, UDP and TCP only, relay ports relay_ports (lo, hi),
    the bench user, no quotas, log to stdout; tmpdir (created) holds its pid file and user database."""
    lo, hi = relay_ports
    os.makedirs(tmpdir, exist_ok=True)
    return ["turnserver", "-n",
            "--listening-port", str(port), "--listening-ip", HOST,
            "--relay-ip", HOST, "--min-port", str(lo), "--max-port", str(hi),
            "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
            "--lt-cred-mech", "--user", f"{USER}:{PASSWORD}", "--realm", REALM,
            "--total-quota", "0", "--user-quota", "0",
            "--log-file", "stdout", "--simple-log",
            "--pidfile", os.path.join(tmpdir, "turnserver.pid"),
            "--userdb", os.path.join(tmpdir, "turndb")]
