#!/usr/bin/env python3
"""The cost of the reference's durability setting (--fsync=none|file|batch).

Initial sync of N small files (default 2000, 1 KiB each) to an empty
reference, once per mode, interleaved over --rounds rounds so that the
machine's drift hits every mode alike. Reports the median time from the
watcher's start to `in-sync` per mode and the ratio to `none`.

  python3 bench/fsync_cost.py [--files=2000] [--rounds=3] [--bin-dir=build]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import harness  # noqa: E402

MODES = ("none", "batch", "file")


def one_run(mode, files):
    env = harness.Env("fsync-%s" % mode)
    try:
        for i in range(files):
            harness.write_file(env.S("d%02d" % (i % 50), "f%05d" % i),
                               os.urandom(512).hex().encode())
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
    times = {m: [] for m in MODES}
    with common.BinarySnapshot(a.bin_dir):
        for r in range(a.rounds):
            for m in MODES:
                t = one_run(m, a.files)
                times[m].append(t)
                print("round %d fsync=%-5s %.2f s" % (r + 1, m, t), flush=True)
    base = statistics.median(times["none"])
    print("\ninitial sync of %d files of 1 KiB, median of %d rounds"
          % (a.files, a.rounds))
    for m in MODES:
        med = statistics.median(times[m])
        print("  --fsync=%-5s %7.2f s  %6.0f files/s  ratio to none %.2f"
              % (m, med, a.files / med, med / base))


if __name__ == "__main__":
    main()
