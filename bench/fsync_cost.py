#!/usr/bin/env python3
"""The cost of the reference's durability setting (--fsync=none|file|batch).

Initial sync of N small files (default 2000, 1 KiB each) to an empty
reference, once per mode, interleaved over --rounds rounds so that the
machine's drift hits every mode alike. Reports the median time from the
watcher's start to `in-sync` per mode and the ratio to `none`. The anchor,
in the same rounds: a local `rsync -a` of the same tree to an empty dir on
the same disk, with and without `--fsync` (rsync 3.2.3+).

  python3 bench/fsync_cost.py [--files=2000] [--rounds=3] [--bin-dir=build]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import harness  # noqa: E402

MODES = ("none", "batch", "file")
RSYNC_MODES = ("rsync", "rsync --fsync")


def make_files(root, files):
    for i in range(files):
        harness.write_file(os.path.join(root, "d%02d" % (i % 50), "f%05d" % i),
                           os.urandom(512).hex().encode())


def rsync_run(mode, files):
    base = tempfile.mkdtemp(prefix="livesync-fsync-rsync-")
    try:
        src = os.path.join(base, "src")
        make_files(src, files)
        os.sync()
        argv = ["rsync", "-a"] + mode.split()[1:] + [src + "/", base + "/dst/"]
        t0 = time.monotonic()
        subprocess.run(argv, check=True)
        return time.monotonic() - t0
    finally:
        shutil.rmtree(base, ignore_errors=True)


def one_run(mode, files):
    env = harness.Env("fsync-%s" % mode)
    try:
        make_files(env.src, files)
        env.start_reference(argv=harness.reference_argv(
            env.ref, 0, log_level="info", extra=["--fsync=%s" % mode]))
        t0 = time.monotonic()
        env.start_watcher(argv=harness.watcher_argv(
            env.src, env.reference.port, log_level="info"), timeout=600)
        elapsed = time.monotonic() - t0
        env.wait_converged(timeout=60)
        common.stop_pair(env)
        return elapsed
    finally:
        env.kill_all()
        env.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bin-dir", default=None)
    a = ap.parse_args()
    times = {m: [] for m in MODES + RSYNC_MODES}
    with common.BinarySnapshot(a.bin_dir):
        for r in range(a.rounds):
            for m in MODES:
                t = one_run(m, a.files)
                times[m].append(t)
                print("round %d fsync=%-5s %.2f s" % (r + 1, m, t), flush=True)
            for m in RSYNC_MODES:
                t = rsync_run(m, a.files)
                times[m].append(t)
                print("round %d %-13s %.2f s" % (r + 1, m, t), flush=True)
    base = statistics.median(times["none"])
    rbase = statistics.median(times["rsync"])
    print("\ninitial sync of %d files of 1 KiB, median of %d rounds"
          % (a.files, a.rounds))
    for m in MODES:
        med = statistics.median(times[m])
        print("  --fsync=%-5s %7.2f s  %6.0f files/s  ratio to none %.2f"
              % (m, med, a.files / med, med / base))
    for m in RSYNC_MODES:
        med = statistics.median(times[m])
        print("  %-13s %7.2f s  %6.0f files/s  ratio to rsync %.2f"
              % (m, med, a.files / med, med / rbase))
    print("  --fsync=file against rsync --fsync: %.2f"
          % (statistics.median(times["file"])
             / statistics.median(times["rsync --fsync"])))


if __name__ == "__main__":
    main()
