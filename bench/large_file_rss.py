#!/usr/bin/env python3
"""Peak RSS of both livesync nodes while mirroring one large file.

  python3 bench/large_file_rss.py [SIZE_GIB] [--json=PATH] [--bin-dir=DIR]

SIZE_GIB (default 1, fractions allowed) is the file size in GiB (2^30).
One file of that size is written in a temp watched dir (1 MiB blocks: one
os.urandom MiB with the block counter in its first 8 bytes, so blocks
differ but the data is cheap to make), then os.sync(). Then the pair starts
(reference, then watcher, default options, --log-level=info): the watcher's
initial sync sends the file. Every 50 ms VmRSS of both processes is read
from /proc/PID/status, with the size of the reference's staging file (bytes
received so far), until the watcher logs `in-sync`; VmHWM of both is read
then. The reference copy is checked byte-identical (harness.diff_trees:
sha256 of both, mode, mtime). Anchor in the same run: after the pair has
stopped and the reference copy is deleted, `cp SRC DST` of the same file on
the same filesystem (after os.sync()), timed.

The binaries (default: build/) are copied to a temp dir first, so that a
rebuild during the run cannot mix builds. With MALLOC_MMAP_THRESHOLD_=131072
in the environment the nodes run with glibc's mmap threshold pinned (see
bench/README.md).

Disk: the temp dir (tempfile.gettempdir(), /tmp) must hold the file twice
plus a margin (max(1 GiB, 10 %)); the script refuses otherwise. Every temp
file is removed at the end.
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import harness  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
LIMIT_MIB = 150  # the requirement, per process, for an 8 GiB file


def say(msg):
    print("[bench] %s" % msg, flush=True)


def make_file(path, size):
    base = bytearray(os.urandom(MiB))
    left = size
    i = 0
    with open(path, "wb") as f:
        while left > 0:
            struct.pack_into("<Q", base, 0, i)
            n = min(left, MiB)
            f.write(base if n == MiB else base[:n])
            left -= n
            i += 1


def staging_bytes(ref_root, name="big.bin"):
    """Bytes the reference holds: its staging files plus the committed file."""
    d = os.path.join(ref_root, ".livesync", "staging")
    total = 0
    try:
        total += os.lstat(os.path.join(ref_root, name)).st_size
    except OSError:
        pass
    try:
        with os.scandir(d) as it:
            for e in it:
                try:
                    total += e.stat(follow_symlinks=False).st_size
                except OSError:
                    pass
    except OSError:
        pass
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("size_gib", nargs="?", type=float, default=1.0)
    ap.add_argument("--interval", type=float, default=0.05, help="s between RSS samples")
    ap.add_argument("--timeout", type=float, default=None,
                    help="s to wait for in-sync (default 120 + 120 per GiB)")
    ap.add_argument("--json", help="also write the results (with all samples) as JSON here")
    ap.add_argument("--bin-dir", help="dir of the binaries (default: build/)")
    args = ap.parse_args()
    if not args.size_gib > 0:
        ap.error("SIZE_GIB must be > 0")
    size = int(args.size_gib * GiB)
    timeout = args.timeout or 120 + 120 * args.size_gib

    tmp = tempfile.gettempdir()
    print(subprocess.run(["df", "-h", tmp], stdout=subprocess.PIPE).stdout.decode().rstrip())
    free = shutil.disk_usage(tmp).free
    need = 2 * size + max(GiB, size // 10)
    if free < need:
        say("refused: %.2f GiB free in %s, need %.2f GiB (the file twice plus a margin)"
            % (free / GiB, tmp, need / GiB))
        return 2

    with common.BinarySnapshot(args.bin_dir) as snap:
        return run(args, snap, size, timeout, tmp, free)


def run(args, snap, size, timeout, tmp, free):
    res = {"facts": common.host_facts(snap), "size_bytes": size,
           "size_gib": args.size_gib, "tmp": tmp, "free_gib_before": free / GiB}
    env = harness.Env("bench-large")
    try:
        src = env.S("big.bin")
        t0 = time.perf_counter()
        make_file(src, size)
        res["create_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        os.sync()
        res["sync_after_create_s"] = time.perf_counter() - t0
        say("created %s (%.2f GiB) in %.1f s (+%.1f s sync)"
            % (src, size / GiB, res["create_s"], res["sync_after_create_s"]))

        # -- the pair: reference, then watcher; sample until in-sync
        ref, _ = common.start_pair_info(env, wait_sync=False)
        w = env.watcher
        t_start = time.perf_counter()
        samples = []  # (t, watcher VmRSS KiB, reference VmRSS KiB, staging bytes)
        t_sync = None
        while True:
            t = time.perf_counter() - t_start
            samples.append((round(t, 3), common.proc_status_kib(w.proc.pid, "VmRSS"),
                            common.proc_status_kib(ref.proc.pid, "VmRSS"),
                            staging_bytes(env.ref)))
            if w.matching(harness.IN_SYNC_RE):
                t_sync = time.perf_counter() - t_start
                break
            env.check_nodes_alive()
            if t > timeout:
                raise harness.Failure("no in-sync after %.0f s" % timeout)
            time.sleep(args.interval)
        hwm_w = common.proc_status_kib(w.proc.pid, "VmHWM")
        hwm_r = common.proc_status_kib(ref.proc.pid, "VmHWM")
        samples.append((round(time.perf_counter() - t_start, 3),
                        common.proc_status_kib(w.proc.pid, "VmRSS"),
                        common.proc_status_kib(ref.proc.pid, "VmRSS"), staging_bytes(env.ref)))
        say("in-sync after %.2f s; VmHWM watcher %.1f MiB, reference %.1f MiB"
            % (t_sync, hwm_w / 1024, hwm_r / 1024))

        # -- byte-identical?
        t0 = time.perf_counter()
        diffs = env.diff(limit=5, full=True)
        res["verify_s"] = time.perf_counter() - t0
        res["identical"] = not diffs
        res["diffs"] = diffs
        say("reference copy %s (sha256 of both, mode, mtime; %.1f s)"
            % ("byte-identical" if not diffs else "DIFFERS: %s" % diffs, res["verify_s"]))
        res["stop_problem"] = common.stop_pair(env)
        if res["stop_problem"]:
            env.print_tails(n=30)
        if os.path.exists(env.R("big.bin")):
            os.remove(env.R("big.bin"))  # at most two copies on disk at a time

        # -- anchor: cp on the same filesystem
        os.sync()
        dst = env.O("big.copy")
        t0 = time.perf_counter()
        r = subprocess.run(["cp", src, dst])
        cp_s = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError("cp failed with %d" % r.returncode)
        os.remove(dst)

        rss_w = [s[1] for s in samples if s[1] is not None]
        rss_r = [s[2] for s in samples if s[2] is not None]
        res.update({
            "elapsed_s": t_sync, "mib_per_s": size / MiB / t_sync,
            "watcher_vmhwm_mib": hwm_w / 1024, "reference_vmhwm_mib": hwm_r / 1024,
            "watcher_max_sampled_rss_mib": max(rss_w) / 1024,
            "reference_max_sampled_rss_mib": max(rss_r) / 1024,
            "cp_s": cp_s, "cp_mib_per_s": size / MiB / cp_s, "ratio_livesync_vs_cp": t_sync / cp_s,
            "limit_mib": LIMIT_MIB,
            "under_limit": {"watcher": hwm_w / 1024 < LIMIT_MIB,
                            "reference": hwm_r / 1024 < LIMIT_MIB},
            "samples": samples,
        })

        # -- report
        print()
        print("livesync large file, %s, %s cpus, %.2f GiB file in %s, binaries %s"
              % (res["facts"]["date"], res["facts"]["cpus"], size / GiB, tmp,
                 " ".join("%s=%s" % (n.split("-")[-1], f["sha256_16"][:8])
                          for n, f in snap.facts.items())))
        print("  %-44s %10.1f s  (%.1f MiB/s)" % ("livesync: watcher start -> in-sync",
                                                 t_sync, res["mib_per_s"]))
        print("  %-44s %10.1f s  (%.1f MiB/s)" % ("anchor: cp SRC DST (same filesystem)",
                                                 cp_s, res["cp_mib_per_s"]))
        print("  %-44s %10.2f" % ("ratio livesync / cp", res["ratio_livesync_vs_cp"]))
        print("  %-44s %10.1f MiB  (max sampled VmRSS %.1f)" % (
            "peak RSS watcher (VmHWM)", hwm_w / 1024, res["watcher_max_sampled_rss_mib"]))
        print("  %-44s %10.1f MiB  (max sampled VmRSS %.1f)" % (
            "peak RSS reference (VmHWM)", hwm_r / 1024, res["reference_max_sampled_rss_mib"]))
        print("  %-44s %s" % ("byte-identical", res["identical"]))
        print("  %-44s watcher %s, reference %s" % (
            "under %d MiB" % LIMIT_MIB, "yes" if res["under_limit"]["watcher"] else "NO",
            "yes" if res["under_limit"]["reference"] else "NO"))
        if res["stop_problem"]:
            print("  stopping the pair: %s" % res["stop_problem"])
        print("  RSS (MiB) against bytes received by the reference:")
        print("    %8s %10s %10s %10s" % ("t (s)", "recv GiB", "watcher", "reference"))
        step = max(1, len(samples) // 12)
        shown = samples[::step]
        if shown[-1] is not samples[-1]:
            shown.append(samples[-1])
        for t, a, b, recv in shown:
            print("    %8.2f %10.3f %10s %10s" % (
                t, recv / GiB, "%.1f" % (a / 1024) if a else "-", "%.1f" % (b / 1024) if b else "-"))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(res, f, indent=1)
            say("results written to %s" % args.json)
        return 0 if res["identical"] else 1
    except BaseException:
        env.print_tails()
        raise
    finally:
        env.close()  # kills any node still running, removes the temp dir and the files


if __name__ == "__main__":
    sys.exit(main())
