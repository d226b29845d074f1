"""Shared bits of the livesync benchmarks (Python 3 stdlib only).

Reuses the end-to-end harness (tests/e2e/harness.py) for processes, temp
dirs and tree comparison; adds what only the benchmarks need: a ctypes
inotify reader, percentiles, /proc sampling, and host facts for reports.
"""

import ctypes
import ctypes.util
import datetime
import hashlib
import os
import platform
import select
import shutil
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/ or tests/e2e/

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

import harness  # noqa: E402

DEFAULT_BIN_DIR = os.path.join(REPO, "build")


class BinarySnapshot:
    """Private copies of both binaries for one run (the build dir may be
    rebuilt by someone else meanwhile: every node of a run is then the same
    build). `with BinarySnapshot(DIR) as snap:` points the harness at them;
    snap.facts names what was copied; the copies are removed on exit."""

    def __init__(self, bin_dir):
        self.src_dir = os.path.abspath(bin_dir or DEFAULT_BIN_DIR)
        self.dir = None
        self.facts = {}

    def __enter__(self):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="livesync-bench-bin-")
        for n in (harness.WATCHER, harness.REFERENCE):
            src = os.path.join(self.src_dir, n)
            st = os.stat(src)
            dst = os.path.join(self.dir, n)
            shutil.copy2(src, dst)
            self.facts[n] = {"from": src, "sha256_16": _sha16(dst),
                             "mtime": datetime.datetime.fromtimestamp(st.st_mtime)
                             .isoformat(timespec="seconds")}
        harness.set_bin_dir(self.dir)
        return self

    def __exit__(self, *exc):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


def _sha16(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()[:16]


def start_pair_info(env, wait_sync=True, timeout=60.0):
    """Reference + watcher on env.ref/env.src with default options and
    --log-level=info (the harness defaults to debug). Waits for the
    watcher's first `in-sync` line unless wait_sync is False."""
    env.start_reference(argv=harness.reference_argv(env.ref, 0, log_level="info"))
    w = env.start_watcher(
        argv=harness.watcher_argv(env.src, env.reference.port, log_level="info"),
        wait_sync=wait_sync, timeout=timeout)
    return env.reference, w


def stop_pair(env):
    """SIGTERM both nodes (watcher first); returns None or the failure text
    (non-zero exit or slow exit is reported, not raised)."""
    try:
        env.stop_all()
        return None
    except harness.Failure as e:
        return str(e)


# -- inotify through ctypes --------------------------------------------------------

IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)

MASK_NAMES = [(IN_MODIFY, "MODIFY"), (IN_CLOSE_WRITE, "CLOSE_WRITE"),
              (IN_MOVED_TO, "MOVED_TO"), (IN_CREATE, "CREATE"),
              (IN_Q_OVERFLOW, "Q_OVERFLOW"), (IN_IGNORED, "IGNORED"),
              (IN_ISDIR, "ISDIR")]


def mask_str(mask):
    return "|".join(n for m, n in MASK_NAMES if mask & m) or hex(mask)


class Inotify:
    """One inotify instance on one directory (not recursive)."""

    def __init__(self, path, mask):
        name = ctypes.util.find_library("c") or None
        self._libc = ctypes.CDLL(name, use_errno=True)
        self._libc.inotify_init1.argtypes = [ctypes.c_int]
        self._libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            e = ctypes.get_errno()
            raise OSError(e, "inotify_init1: %s" % os.strerror(e))
        self.fd = fd
        wd = self._libc.inotify_add_watch(fd, os.fsencode(path), mask)
        if wd < 0:
            e = ctypes.get_errno()
            os.close(fd)
            raise OSError(e, "inotify_add_watch %s: %s" % (path, os.strerror(e)))
        self.wd = wd
        self.overflows = 0

    def read_events(self, timeout):
        """[(t_ns, mask, cookie, name)] read within `timeout` s ([] if none).
        t_ns is perf_counter_ns() right after the read returned."""
        r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not r:
            return []
        try:
            buf = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return []
        t = time.perf_counter_ns()
        out = []
        off = 0
        while off + _EVENT.size <= len(buf):
            wd, mask, cookie, ln = _EVENT.unpack_from(buf, off)
            name = buf[off + _EVENT.size: off + _EVENT.size + ln].rstrip(b"\0")
            off += _EVENT.size + ln
            if mask & IN_Q_OVERFLOW:
                self.overflows += 1
            out.append((t, mask, cookie, os.fsdecode(name)))
        return out

    def drain(self):
        out = []
        while True:
            ev = self.read_events(0)
            if not ev:
                return out
            out.extend(ev)

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


# -- statistics and facts ------------------------------------------------------------


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(1, -(-len(s) * p // 100))  # ceil(n*p/100), at least 1
    return s[int(k) - 1]


def summary_ms(values_ms):
    if not values_ms:
        return None
    return {"n": len(values_ms), "p50": percentile(values_ms, 50),
            "p90": percentile(values_ms, 90), "p99": percentile(values_ms, 99),
            "max": max(values_ms), "min": min(values_ms),
            "mean": sum(values_ms) / len(values_ms)}


def proc_status_kib(pid, key):
    """A `key:` line of /proc/PID/status in KiB (VmRSS, VmHWM), or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for l in f:
                if l.startswith(key + ":"):
                    return int(l.split()[1])
    except OSError:
        return None
    return None


def have_command(name):
    r = subprocess.run(["sh", "-c", "command -v %s" % name],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return r.stdout.decode().strip() if r.returncode == 0 else None


def host_facts(snapshot):
    """Date, machine, git HEAD, and which binaries (a BinarySnapshot)."""
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
    except OSError:
        rev = None
    try:
        with open("/proc/loadavg") as f:
            load = f.read().split()[:3]
    except OSError:
        load = None
    return {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "host": platform.node(), "kernel": platform.release(),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "git_head": rev, "binaries": snapshot.facts, "loadavg_at_start": load,
            "argv": " ".join([os.path.basename(sys.executable)] + sys.argv)}


def rm_tree(path):
    shutil.rmtree(path, ignore_errors=True)


def ms(ns):
    return ns / 1e6


# -- scratch space, log times, sockets and threads (the suite) -----------------------


def scratch_base():
    """Where the suite puts its data: $LIVESYNC_BENCH_DIR, else /work when it
    exists (/tmp may be small on other machines), else the temp dir."""
    import tempfile
    d = os.environ.get("LIVESYNC_BENCH_DIR")
    if d:
        return d
    return "/work" if os.path.isdir("/work") and os.access("/work", os.W_OK) else tempfile.gettempdir()


class Scratch:
    """`with Scratch() as s:` a fresh dir under scratch_base() that every
    harness.Env of the run is created in (tempfile.tempdir points there);
    removed on exit, whatever happened. With detach=True the removal is
    left to a detached `rm -rf` at idle I/O priority (a full suite run
    leaves ~500,000 files, which take this disk many minutes to delete)."""

    def __init__(self, base=None, detach=False):
        self.base = base or scratch_base()
        self.detach = detach
        self.dir = None
        self._old = None

    def __enter__(self):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="livesync-bench-", dir=self.base)
        self._old = tempfile.tempdir
        tempfile.tempdir = self.dir
        return self

    def __exit__(self, *exc):
        import tempfile
        tempfile.tempdir = self._old
        if self.detach:
            argv = ["rm", "-rf", "--one-file-system", self.dir]
            if shutil.which("ionice"):
                argv = ["ionice", "-c3"] + argv
            p = subprocess.Popen(["nice", "-n19"] + argv, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
            print("[bench] removing %s in the background: pid %d" % (self.dir, p.pid), flush=True)
        else:
            rm_tree(self.dir)
        return False


LOG_TS_PREFIX = 23  # "2026-12-01T18:53:05.123"


def log_wall(line):
    """Wall-clock seconds (time.time() scale) of a livesync log line's local
    timestamp (ms resolution), or None."""
    try:
        return datetime.datetime.fromisoformat(line[:LOG_TS_PREFIX]).timestamp()
    except ValueError:
        return None


def log_fields(line):
    """{key: value} of the `key=value` words of a log line."""
    out = {}
    for w in line.split():
        k, eq, v = w.partition("=")
        if eq:
            out[k] = v
    return out


def tcp_bytes(port):
    """(received, sent) payload bytes of the established TCP connections
    whose local port is `port` (the reference's side of its links), from
    the kernel's tcp_info through `ss -tin`: every byte of the protocol,
    BASP framing, TLS records, acknowledgements. The connection must still
    be open. None if ss is missing."""
    try:
        out = subprocess.run(["ss", "-tinH", "state", "established", "( sport = :%d )" % port],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
    except OSError:
        return None
    rx = sent = 0
    for w in out.split():
        k, _, v = w.partition(":")
        if k == "bytes_received":
            rx += int(v)
        elif k == "bytes_sent":
            sent += int(v)
    return rx, sent


def tasks(pid):
    """Thread ids of a process (empty once it has exited)."""
    try:
        return [int(t) for t in os.listdir("/proc/%d/task" % pid)]
    except OSError:
        return []


def thread_counters(pid):
    """{tid: (name, cpu_ns, voluntary, involuntary context switches)} of
    every thread: CPU from /proc/PID/task/TID/schedstat (ns, unlike the
    10 ms ticks of /proc/PID/stat), switches from its status file (a
    voluntary switch is a thread going to sleep, so each one is a later
    wake-up)."""
    out = {}
    for tid in tasks(pid):
        base = "/proc/%d/task/%d/" % (pid, tid)
        try:
            with open(base + "comm") as f:
                name = f.read().strip()
            with open(base + "schedstat") as f:
                cpu = int(f.read().split()[0])
            vol = inv = 0
            with open(base + "status") as f:
                for l in f:
                    if l.startswith("voluntary_ctxt_switches:"):
                        vol = int(l.split()[1])
                    elif l.startswith("nonvoluntary_ctxt_switches:"):
                        inv = int(l.split()[1])
            out[tid] = (name, cpu, vol, inv)
        except OSError:
            pass
    return out


def thread_delta(before, after):
    """Per-thread (name, cpu_ns, voluntary, involuntary) increments between
    two thread_counters snapshots (threads born in between count from 0)."""
    out = {}
    for tid, (name, cpu, vol, inv) in after.items():
        b = before.get(tid, (name, 0, 0, 0))
        out[tid] = (name, cpu - b[1], vol - b[2], inv - b[3])
    return out


_TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid, children=False):
    """user + system CPU seconds of a live process from /proc/PID/stat; with
    `children`, those of its children it has waited for instead."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    i = 13 if children else 11  # utime/stime, or cutime/cstime
    return (int(fields[i]) + int(fields[i + 1])) / _TICK


def children_of(pid):
    """pids whose parent is `pid` (a scan of /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return out


def children_cpu_s():
    """user + system CPU seconds of this process's waited-for children."""
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_peak_rss(argv, interval=0.01):
    """Runs argv to completion; returns (seconds, returncode, stdout, stderr,
    peak RSS in KiB). The peak is the child's VmHWM as last read while it
    ran (every `interval` s): wait4's ru_maxrss is no good here, it counts
    the forked Python image before exec."""
    import tempfile
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             preexec_fn=harness._child_setup)
        peak = 0
        while p.poll() is None:
            v = proc_status_kib(p.pid, "VmHWM")
            if v:
                peak = max(peak, v)
            time.sleep(interval)
        dt = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return dt, p.returncode, out.read().decode("utf-8", "replace"), \
            err.read().decode("utf-8", "replace"), peak


def median(values):
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def stop_process(proc, timeout=5.0):
    """SIGTERM, then SIGKILL after `timeout`; waits. None or an ended
    process is fine."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
