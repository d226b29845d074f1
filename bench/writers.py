#!/usr/bin/env python3
"""What the reference's path writers (--writers) buy on an initial sync,
with and without --fsync=file, next to rsync -a and rsync -a --fsync into
a daemon, all in one run.

One source tree (--files files, sizes 1 KiB to --max-kib KiB, in 100
directories) is generated once. Each round runs every configuration once,
in order, to an empty reference (the rounds interleave them, so the
machine's drift hits all alike):

  livesync --writers=W --fsync=none|file   from the watcher's start to
                                           `in-sync`, then checked identical
  rsync -a [--fsync] SRC/ rsync://...      from the client's start to exit

Prints the time of each run, then medians and the ratios the issue asks
for: fsync=file against its own none, and livesync against rsync.

  python3 bench/writers.py [--files=5000] [--max-kib=64] [--rounds=3]
                           [--writers=1,4] [--bin-dir=build]
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anchors  # noqa: E402
import common  # noqa: E402
from common import harness  # noqa: E402


def make_tree(root, files, max_kib, seed=7):
    rnd = random.Random(seed)
    total = 0
    for i in range(files):
        size = rnd.randint(1, max_kib) * 1024
        path = os.path.join(root, "d%02d" % (i % 100), "f%05d" % i)
        harness.write_file(path, rnd.randbytes(size))
        total += size
    return total


def livesync_run(src, writers, fsync):
    env = harness.Env("writers-%d-%s" % (writers, fsync))
    try:
        env.start_reference(argv=harness.reference_argv(
            env.ref, 0, log_level="info",
            extra=["--fsync=%s" % fsync, "--writers=%d" % writers]))
        t0 = time.monotonic()
        env.start_watcher(argv=harness.watcher_argv(
            src, env.reference.port, log_level="info"), timeout=900)
        elapsed = time.monotonic() - t0
        common.stop_pair(env)
        diff = harness.diff_trees(src, env.ref)
        if diff:
            raise RuntimeError("reference differs from the source: %r" % diff[:3])
        return elapsed
    finally:
        env.kill_all()
        env.close()


def rsync_run(scratch, src, fsync, n):
    daemon = anchors.RsyncDaemon(os.path.join(scratch, "rsyncd-%s-%d" % (fsync, n)))
    try:
        extra = ["--fsync"] if fsync == "file" else []
        return anchors.rsync_push(daemon, src, "t", extra=extra)["seconds"]
    finally:
        daemon.proc.kill()
        daemon.proc.wait()
        shutil.rmtree(daemon.base, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--max-kib", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--writers", default="1,4",
                    help="comma-separated --writers values to compare")
    ap.add_argument("--fsync", default="none,file",
                    help="comma-separated --fsync modes to compare (none, file)")
    ap.add_argument("--no-rsync", action="store_true", help="skip the rsync anchors")
    ap.add_argument("--bin-dir", default=None)
    a = ap.parse_args()
    writer_counts = [int(x) for x in a.writers.split(",")]
    modes = a.fsync.split(",")
    configs = [("livesync w=%d" % w, "livesync", w, f)
               for f in modes for w in writer_counts]
    if not a.no_rsync:
        configs += [("rsync", "rsync", 0, f) if f == "none" else ("rsync --fsync", "rsync", 0, f)
                    for f in modes]
    times = {}
    with common.BinarySnapshot(a.bin_dir), common.Scratch() as scratch:
        src = os.path.join(scratch.dir, "src")
        total = make_tree(src, a.files, a.max_kib)
        print("tree: %d files, %.1f MiB" % (a.files, total / 2**20), flush=True)
        for r in range(a.rounds):
            for label, tool, w, fsync in configs:
                if tool == "livesync":
                    t = livesync_run(src, w, fsync)
                else:
                    t = rsync_run(scratch.dir, src, fsync, r)
                key = label + (" fsync=file" if tool == "livesync" and fsync == "file" else "")
                times.setdefault(key, []).append(t)
                print("round %d %-28s %7.2f s" % (r + 1, key, t), flush=True)
    med = {k: statistics.median(v) for k, v in times.items() if v}
    print("\ninitial sync, %d files, median of %d rounds (interleaved)" % (a.files, a.rounds))
    for k, v in med.items():
        print("  %-28s %7.2f s" % (k, v))
    rs = med.get("rsync")
    rsf = med.get("rsync --fsync")
    for w in writer_counts:
        none = med.get("livesync w=%d" % w)
        fil = med.get("livesync w=%d fsync=file" % w)
        parts = []
        if none and fil:
            parts.append("fsync=file / none %.2f" % (fil / none))
        if none and rs:
            parts.append("none / rsync %.2f" % (none / rs))
        if fil and rsf:
            parts.append("fsync=file / rsync --fsync %.2f" % (fil / rsf))
        if none and med.get("livesync w=1"):
            parts.append("none / w=1 %.2f" % (none / med["livesync w=1"]))
        if fil and med.get("livesync w=1 fsync=file"):
            parts.append("fsync=file / w=1 %.2f" % (fil / med["livesync w=1 fsync=file"]))
        print("  writers=%d: %s" % (w, "; ".join(parts)))
    if rs and rsf:
        print("  rsync --fsync / rsync %.2f" % (rsf / rs))

if __name__ == "__main__":
    main()
