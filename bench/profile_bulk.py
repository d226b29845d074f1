#!/usr/bin/env python3
"""A pair's initial sync of an existing tree to an empty reference, once,
with the CPU seconds of each node at `in-sync` (user + system from
/proc/PID/stat), optionally under `perf record` or `strace -c -f`.

    python3 bench/profile_bulk.py SRC [--bin-dir=build] [--mode=cpu|perf|strace]
                                  [--out=DIR] [--perf-args="-g -F 999"] [--node-arg=ARG ...] [--watcher-arg=ARG ...]

SRC is a tree made beforehand (e.g. treegen.make_tree(SRC, 20000,
1_000_000_000, seed=1), the suite's bulk tree). The reference's root is a
fresh dir under --out (default a temp dir, removed at the end). perf data
and strace summaries are left in --out as reference.* / watcher.*.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK, int(fields[11]) / TICK, int(fields[12]) / TICK


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def wait_line(path, rx, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    m = re.search(rx, line)
                    if m:
                        return m
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    raise RuntimeError("no %r in %s after %.0f s" % (rx, path, timeout))


def child_of(pid, timeout=10):
    """The program started by a wrapper (perf, strace): its first child."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        if out:
            return int(out[0])
        time.sleep(0.01)
    raise RuntimeError("no child of %d" % pid)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--mode", default="cpu", choices=["cpu", "perf", "strace"])
    ap.add_argument("--out")
    ap.add_argument("--perf-args", default="-g -F 999")
    ap.add_argument("--node-arg", action="append", default=[])
    ap.add_argument("--watcher-arg", action="append", default=[])
    a = ap.parse_args()
    out = a.out or tempfile.mkdtemp(prefix="profile-bulk-")
    os.makedirs(out, exist_ok=True)
    ref = os.path.join(out, "ref")
    shutil.rmtree(ref, ignore_errors=True)
    os.makedirs(ref)
    binp = lambda n: os.path.join(a.bin_dir, n)

    def wrap(name, argv):
        if a.mode == "perf":
            return ["perf", "record", "-o", os.path.join(out, name + ".perf.data")] + a.perf_args.split() + ["--"] + argv
        if a.mode == "strace":
            return ["strace", "-c", "-f", "-o", os.path.join(out, name + ".strace")] + ["--"] + argv
        return argv

    os.sync()
    procs = []
    try:
        rlog = os.path.join(out, "reference.log")
        rargv = [binp("livesync-reference"), "--root=" + ref, "--port=0", "--insecure",
                 "--log-level=info"] + a.node_arg
        rp = subprocess.Popen(wrap("reference", rargv), stdout=open(rlog, "w"), stderr=subprocess.STDOUT)
        procs.append(rp)
        port = int(wait_line(rlog, r"listening.*port=(\d+)", 20).group(1))
        rpid = rp.pid if a.mode == "cpu" else child_of(rp.pid)
        wlog = os.path.join(out, "watcher.log")
        wargv = [binp("livesync-watcher"), "--root=" + a.src, "--host=127.0.0.1", "--port=%d" % port,
                 "--insecure", "--control-port=0", "--log-level=info"] + a.node_arg + a.watcher_arg
        t0 = time.perf_counter()
        wp = subprocess.Popen(wrap("watcher", wargv), stdout=open(wlog, "w"), stderr=subprocess.STDOUT)
        procs.append(wp)
        wpid = wp.pid if a.mode == "cpu" else child_of(wp.pid)
        r0 = cpu_s(rpid)
        m = wait_line(wlog, r"in-sync.*", 600)
        dt = time.perf_counter() - t0
        rc, wc = cpu_s(rpid), cpu_s(wpid)
        print("in-sync after %.2f s: watcher %.2f CPU-s (user %.2f sys %.2f), reference %.2f CPU-s "
              "(user %.2f sys %.2f; %.2f before the watcher), total %.2f" % (
                  dt, wc[0], wc[1], wc[2], rc[0], rc[1], rc[2], r0[0], wc[0] + rc[0]))
        print("  " + m.group(0))
        time.sleep(2)
        print("  VmRSS 2 s after in-sync: watcher %d KiB, reference %d KiB" % (rss_kib(wpid), rss_kib(rpid)))
        for pid in (wpid, rpid):
            os.kill(pid, signal.SIGTERM)
        for p in procs:
            p.wait(timeout=600 if a.mode == "strace" else 60)
        diff = subprocess.run(["diff", "-r", "--no-dereference", "-x", ".livesync", a.src, ref], capture_output=True, text=True)
        print("tree identical (diff -r)" if diff.returncode == 0 else "DIFFERS: " + diff.stdout[:500])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        if not a.out:
            shutil.rmtree(out, ignore_errors=True)
        else:
            shutil.rmtree(ref, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
