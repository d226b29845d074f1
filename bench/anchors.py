"""The tools livesync is measured against, driven the same way by every
workload of the suite: an rsync daemon on 127.0.0.1 (the daemon itself is
delta_vs_rsync.RsyncDaemon), lsyncd pushing into it, `cp -a`, and a raw
TCP file copy (bench/tcp_copy.py)."""

import os
import subprocess
import sys
import time

import common
from common import harness
from delta_vs_rsync import RSYNC_TOTAL_RE, RsyncDaemon, _num  # noqa: F401 (re-exported)

HERE = os.path.dirname(os.path.abspath(__file__))


def rsync_push(daemon, src, sub, extra=()):
    """`rsync -a --stats SRC/ rsync://127.0.0.1:PORT/mod/SUB/`, timed from
    process start to exit. Returns {seconds, bytes (sent + received, from
    --stats), literal, peak_rss_kib (the client's VmHWM)}. Raises if rsync
    fails."""
    argv = ["rsync", "-a", "--stats"] + list(extra) + [src.rstrip("/") + "/", daemon.url(sub)]
    client0 = common.children_cpu_s()
    server0 = daemon.cpu_s()
    dt, rc, out, err, peak = common.run_peak_rss(argv)
    if rc != 0:
        raise RuntimeError("rsync failed (%d): %s\n%s" % (rc, " ".join(argv), err[-500:]))
    client = common.children_cpu_s() - client0
    # The daemon's side of this transfer (its forked children) counts once
    # the daemon has reaped them: wait for that, untimed.
    deadline = time.monotonic() + 10
    while common.children_of(daemon.proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    server = daemon.cpu_s() - server0
    res = {"argv": " ".join(argv), "seconds": dt, "peak_rss_kib": peak,
           "cpu_s": client + server, "client_cpu_s": client, "server_cpu_s": server}
    for k, rx in RSYNC_TOTAL_RE.items():
        m = rx.search(out)
        res[k] = _num(m.group(1)) if m else None
    if res["sent"] is None or res["received"] is None:
        raise RuntimeError("no totals in rsync --stats output:\n" + out)
    res["bytes"] = res["sent"] + res["received"]
    return res


def timed(argv):
    """Seconds a command takes (raises on a non-zero exit)."""
    t0 = time.perf_counter()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, preexec_fn=harness._child_setup)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), r.returncode,
                                                    r.stderr.decode()[-300:]))
    return dt


class Lsyncd:
    """lsyncd (default.rsync) from SRC into the rsync daemon's module
    subdir SUB, `delay` seconds of event aggregation (0 = its smallest),
    in the foreground. Waits for its startup rsync to finish."""

    def __init__(self, base, src, daemon, sub, delay=0, timeout=60.0):
        self.log = os.path.join(base, "lsyncd.log")
        self.conf = os.path.join(base, "lsyncd.lua")
        self.target_dir = daemon.dest(sub)
        os.makedirs(self.target_dir, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write('settings { nodaemon = true, logfile = "%s", insist = true }\n'
                    'sync { default.rsync, source = "%s/", target = "%s", delay = %s }\n'
                    % (self.log, src.rstrip("/"), daemon.url(sub), delay))
        self.proc = subprocess.Popen(["lsyncd", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     preexec_fn=harness._child_setup)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("lsyncd exited with %s; see %s" % (self.proc.returncode, self.log))
            if os.path.exists(self.log):
                with open(self.log) as f:
                    if "finished." in f.read():
                        return
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("lsyncd: no startup in %.0f s; see %s" % (timeout, self.log))
            time.sleep(0.05)

    def close(self):
        common.stop_process(self.proc)
        self.proc = None


def tcp_copy(src, dest, timeout):
    """Copies SRC to DEST through bench/tcp_copy.py (receiver and sender in
    two processes). Returns seconds from the sender's start until the
    receiver has written and closed DEST."""
    me = os.path.join(HERE, "tcp_copy.py")
    recv = subprocess.Popen([sys.executable, me, "recv", dest], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, preexec_fn=harness._child_setup)
    try:
        port = int(recv.stdout.readline())
        t0 = time.perf_counter()
        sent = subprocess.run([sys.executable, me, "send", src, str(port)],
                              stdin=subprocess.DEVNULL, timeout=timeout,
                              preexec_fn=harness._child_setup)
        n = int(recv.stdout.readline() or -1)
        recv.wait(timeout=timeout)
        dt = time.perf_counter() - t0
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.wait()
        recv.stdout.close()
    size = os.path.getsize(src)
    if sent.returncode != 0 or recv.returncode != 0 or n != size:
        raise RuntimeError("tcp_copy failed: sender %s, receiver %s, %d of %d bytes"
                           % (sent.returncode, recv.returncode, n, size))
    return dt
