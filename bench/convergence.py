#!/usr/bin/env python3
"""livesync convergence benchmark (Python 3 stdlib only).

(a) Single small file latency. A watcher+reference pair (default options,
    --log-level=info) mirrors a temp dir. N times (--writes, default 50) a
    new 4 KiB file is written (open, write, close) in the watched root;
    latency = from just before the open until the reference commits it,
    seen ON THE REFERENCE by inotify (ctypes): the reference links a new
    file in whole from an unnamed O_TMPFILE (IN_CREATE of its name) or
    renames a staged one over an old one (IN_MOVED_TO), so either event with
    the file's name on the reference root means committed.
    Anchor, interleaved write by write (the order alternates every write):
    the same 4 KiB write in an unwatched dir followed by `rsync -a FILE
    DIR2/` run locally, timed until rsync returns. It is a local rsync
    invocation of one file (process start-up included), a scale reference
    only, not a like-for-like network sync.

(b) 10,000-file burst. A fresh pair, in sync on an empty tree; then 10,000
    files of 100-2000 bytes in 100 directories are created as fast as
    possible (per directory: mkdir, then its 100 files). Time of the last
    write (close) is recorded; then the reference root is polled (names
    every 50 ms; sizes once the count is right) until it holds every file
    with its size, then confirmed once with harness.diff_trees (paths,
    types, modes, mtimes, content). Anchors in the same run, on the same
    finished tree, after the pair is stopped: `rsync -a SRC/ DST/` into a
    fresh DST, and `cp -a SRC DST`.

Usage: python3 bench/convergence.py [--writes=N] [--files=N] [--dirs=N]
                                    [--burst-writer=python|cp]
                                    [--json=PATH] [--bin-dir=DIR]
The binaries (default: build/) are copied to a temp dir first, so that a
rebuild during the run cannot mix builds.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import harness  # noqa: E402

FILE_SIZE = 4096
REF_MASK = common.IN_MOVED_TO | common.IN_CLOSE_WRITE | common.IN_CREATE


def say(msg):
    print("[bench] %s" % msg, flush=True)


# -- (a) single small file latency -------------------------------------------------


def measure_livesync_write(env, ino, name, data, timeout):
    """Writes src/NAME; returns (latency_ms or None, events seen for NAME)."""
    stale = ino.drain()
    path = env.S(name)
    t0 = time.perf_counter_ns()
    with open(path, "wb") as f:
        f.write(data)
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, seen, stale
        for t, mask, _cookie, ev_name in ino.read_events(left):
            if ev_name != name:
                continue
            seen.append(common.mask_str(mask))
            # The reference links a new file in whole (O_TMPFILE + linkat:
            # IN_CREATE of the complete file) or renames a staged one over
            # an old one (IN_MOVED_TO); either is its commit.
            if mask & (common.IN_MOVED_TO | common.IN_CREATE):
                return common.ms(t - t0), seen, stale


def measure_rsync_write(outside, rsync_dst, name, data):
    path = os.path.join(outside, name)
    t0 = time.perf_counter_ns()
    with open(path, "wb") as f:
        f.write(data)
    r = subprocess.run(["rsync", "-a", path, rsync_dst + "/"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    t1 = time.perf_counter_ns()
    if r.returncode != 0:
        raise RuntimeError("rsync failed (%d): %s" % (r.returncode, r.stderr.decode()[-300:]))
    return common.ms(t1 - t0)


def run_latency(args, rsync):
    res = {"writes": args.writes, "file_size": FILE_SIZE, "interval_s": args.interval}
    env = harness.Env("bench-latency")
    ino = None
    try:
        common.start_pair_info(env)
        env.wait_converged(timeout=30)
        ino = common.Inotify(env.ref, REF_MASK)
        rsync_dst = env.O("rsync-dst")
        anchor_src = env.O("anchor-src")
        os.mkdir(rsync_dst)
        os.mkdir(anchor_src)
        rng = random.Random(1)
        lat, anchor, missing, odd_events, wrong_content = [], [], [], [], []
        per_write = []
        for i in range(args.writes):
            slot_start = time.monotonic()
            name = "small-%04d.bin" % i
            data = rng.randbytes(FILE_SIZE)
            order = ("livesync", "rsync") if i % 2 == 0 else ("rsync", "livesync")
            rec = {"i": i, "first": order[0]}
            for what in order:
                if what == "livesync":
                    l, seen, stale = measure_livesync_write(env, ino, name, data, args.timeout)
                    rec["livesync_ms"] = l
                    rec["ref_events"] = seen
                    if l is None:
                        missing.append(name)
                    else:
                        lat.append(l)
                    if seen[:-1]:  # anything before IN_MOVED_TO: not one atomic commit
                        odd_events.append((name, seen))
                    stale_names = [e[3] for e in stale if e[3].startswith("small-")]
                    if stale_names:
                        rec["late_events_before"] = stale_names
                elif rsync:
                    a = measure_rsync_write(anchor_src, rsync_dst, name, data)
                    rec["rsync_ms"] = a
                    anchor.append(a)
            try:
                with open(env.R(name), "rb") as f:
                    if f.read() != data:
                        wrong_content.append(name)
            except OSError as e:
                wrong_content.append("%s (%s)" % (name, e))
            per_write.append(rec)
            # the next write starts about `interval` after this one
            rest = args.interval - (time.monotonic() - slot_start)
            if rest > 0:
                time.sleep(rest)
        conv = env.wait_converged(timeout=30, what="latency tree converged at the end")
        res.update({
            "livesync_ms": common.summary_ms(lat),
            "rsync_anchor_ms": common.summary_ms(anchor) if rsync else None,
            "missing_commits": missing, "non_atomic_events": odd_events,
            "wrong_content": wrong_content, "inotify_overflows": ino.overflows,
            "converged_check_s": conv,
            "watcher_vmhwm_kib": env.watcher.peak_rss_kib(),
            "reference_vmhwm_kib": env.reference.peak_rss_kib(),
            "per_write": per_write,
        })
        res["stop_problem"] = common.stop_pair(env)
        if res["stop_problem"]:
            env.print_tails(n=30)
        return res
    except BaseException:
        env.print_tails()
        raise
    finally:
        if ino is not None:
            ino.close()
        env.close()  # kills any node still running, removes the temp dir


# -- (b) burst -----------------------------------------------------------------------


def make_burst_plan(files, dirs, seed=7):
    rng = random.Random(seed)
    pool = rng.randbytes(1 << 16)
    plan = []
    for i in range(files):
        d = "dir%03d" % (i * dirs // files)
        size = rng.randint(100, 2000)
        off = rng.randrange(0, len(pool) - size)
        plan.append((d, "f%05d.dat" % i, off, size))
    return pool, plan


def create_tree(root, pool, plan):
    """Creates the burst tree under root; returns (start, last close) times."""
    t_start = time.perf_counter()
    made = set()
    for d, n, off, size in plan:
        if d not in made:
            os.mkdir(os.path.join(root, d))
            made.add(d)
        with open(os.path.join(root, d, n), "wb") as f:
            f.write(pool[off:off + size])
    return t_start, time.perf_counter()


def create_unwatched(env, pool, plan, stage=None):
    """The same creation (by the same writer: this script, or cp -a of
    `stage`) in an unwatched dir, no pair running (done before the pair
    starts and after it stops): what the writer costs by itself on this
    machine at about that time."""
    os.sync()
    plain = env.O("plain")
    os.mkdir(plain)
    try:
        if stage:
            t0 = time.perf_counter()
            subprocess.run(["cp", "-a", stage + "/.", plain + "/"], check=True)
            t1 = time.perf_counter()
        else:
            t0, t1 = create_tree(plain, pool, plan)
    finally:
        common.rm_tree(plain)
    os.sync()
    return t1 - t0


def scan_count(root, dirs):
    """Number of entries in the dirs under root (no stat; cheap)."""
    n = 0
    for d in dirs:
        try:
            n += len(os.listdir(os.path.join(root, d)))
        except FileNotFoundError:
            pass
    return n


def scan_sizes(root, expected):
    """True when every expected (relpath -> size) is a file of that size."""
    for rel, size in expected.items():
        try:
            if os.lstat(os.path.join(root, rel)).st_size != size:
                return False
        except OSError:
            return False
    return True


def timed(argv):
    t0 = time.perf_counter()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (argv, r.returncode, r.stderr.decode()[-300:]))
    return dt


def run_burst(args, rsync):
    res = {"files": args.files, "dirs": args.dirs, "writer": args.burst_writer}
    pool, plan = make_burst_plan(args.files, args.dirs)
    dirs = sorted({p[0] for p in plan})
    expected = {os.path.join(d, n): size for d, n, _, size in plan}
    res["bytes"] = sum(expected.values())
    env = harness.Env("bench-burst")
    try:
        stage = None
        if args.burst_writer == "cp":
            stage = env.O("stage")  # the tree, made before the pair starts
            os.mkdir(stage)
            create_tree(stage, pool, plan)
            os.sync()
        res["create_unwatched_before_s"] = create_unwatched(env, pool, plan, stage)
        common.start_pair_info(env)
        env.wait_converged(timeout=30)
        # -- the burst
        if args.burst_writer == "cp":
            # cp -a of a finished tree into the watched root: a faster writer
            # than this Python loop; "last write" = when cp returned
            t_start = time.perf_counter()
            subprocess.run(["cp", "-a", stage + "/.", env.src + "/"], check=True)
            t_last = time.perf_counter()
        else:
            t_start, t_last = create_tree(env.src, pool, plan)
        create_s = t_last - t_start
        say("created %d files in %d dirs in %.3f s" % (args.files, len(dirs), create_s))
        # -- wait until the reference holds every file with its size
        polls = 0
        prev_scan_start = t_last
        deadline = t_last + args.burst_timeout
        detect = None
        while True:
            scan_start = time.perf_counter()
            n = scan_count(env.ref, dirs)
            t_count = time.perf_counter()
            polls += 1
            if n == args.files and scan_sizes(env.ref, expected):
                detect = t_count
                break
            if time.perf_counter() > deadline:
                break
            env.check_nodes_alive()
            prev_scan_start = scan_start
            time.sleep(args.poll)
        if detect is None:
            d = env.diff(limit=10)
            raise harness.Failure("burst: reference not converged %.0f s after the last write:\n  %s"
                                  % (args.burst_timeout, "\n  ".join(d)))
        after_s = detect - t_last
        resolution_s = detect - prev_scan_start  # converged after prev_scan_start at the earliest
        say("reference holds all %d files %.3f s after the last write (%d polls)"
            % (args.files, after_s, polls))
        # -- confirm once with the exact comparison (content, modes, mtimes)
        t_cmp = time.perf_counter()
        diffs = env.diff(limit=10, full=True)
        if diffs:
            # allow a late attribute change; then report it
            conv = env.wait_converged(timeout=30, what="burst exact comparison")
            res["exact_diff_at_detection"] = diffs
            res["exact_converged_extra_s"] = conv
        cmp_s = time.perf_counter() - t_cmp
        res.update({
            "create_s": create_s, "after_last_write_s": after_s,
            "total_s": create_s + after_s, "detect_resolution_s": resolution_s,
            "polls": polls, "diff_trees_s": cmp_s,
            "watcher_vmhwm_kib": env.watcher.peak_rss_kib(),
            "reference_vmhwm_kib": env.reference.peak_rss_kib(),
        })
        try:
            res["staging_leftovers"] = len(os.listdir(env.R(".livesync", "staging")))
        except OSError:
            res["staging_leftovers"] = None
        res["stop_problem"] = common.stop_pair(env)
        if res["stop_problem"]:
            env.print_tails(n=30)
        # -- anchors on the same finished tree (pair stopped: no CPU contention)
        os.sync()
        if rsync:
            dst = env.O("rsync-dst")
            res["rsync_s"] = timed(["rsync", "-a", env.src + "/", dst + "/"])
            d = harness.diff_trees(env.src, dst, limit=3)
            res["rsync_diff"] = d
            common.rm_tree(dst)
            os.sync()
        dst = env.O("cp-dst")
        res["cp_s"] = timed(["cp", "-a", env.src, dst])
        common.rm_tree(dst)
        res["create_unwatched_after_s"] = create_unwatched(env, pool, plan, stage)
        res["create_unwatched_s"] = (res["create_unwatched_before_s"]
                                     + res["create_unwatched_after_s"]) / 2
        if rsync:
            res["ratio_total_vs_rsync"] = res["total_s"] / res["rsync_s"]
            res["ratio_after_last_write_vs_rsync"] = after_s / res["rsync_s"]
        res["ratio_total_vs_cp"] = res["total_s"] / res["cp_s"]
        res["ratio_after_last_write_vs_cp"] = after_s / res["cp_s"]
        return res
    except BaseException:
        env.print_tails()
        raise
    finally:
        env.close()


# -- report --------------------------------------------------------------------------


def fmt_ms(s):
    if s is None:
        return "-"
    return "%7.1f %7.1f %7.1f %7.1f %7.1f" % (s["p50"], s["p90"], s["p99"], s["max"], s["min"])


def table(r):
    out = []
    a, b = r.get("latency"), r.get("burst")
    if a:
        out.append("(a) single 4 KiB file, %d writes ~%d ms apart; ms from just before the write"
                   % (a["writes"], a["interval_s"] * 1000))
        out.append("    %-50s %7s %7s %7s %7s %7s" % ("", "p50", "p90", "p99", "max", "min"))
        out.append("    %-50s %s" % ("livesync: write -> IN_MOVED_TO on reference", fmt_ms(a["livesync_ms"])))
        if a["rsync_anchor_ms"]:
            out.append("    %-50s %s" % ("anchor: local rsync invocation of one file",
                                        fmt_ms(a["rsync_anchor_ms"])))
            ls, rs = a["livesync_ms"], a["rsync_anchor_ms"]
            if ls:
                out.append("    %-50s %7.2f %7.2f %7.2f %7.2f" % (
                    "ratio livesync / anchor", ls["p50"] / rs["p50"], ls["p90"] / rs["p90"],
                    ls["p99"] / rs["p99"], ls["max"] / rs["max"]))
        else:
            out.append("    anchor skipped: rsync is not installed")
        out.append("    missing commits: %d, non-atomic events: %d, wrong content: %d"
                   % (len(a["missing_commits"]), len(a["non_atomic_events"]), len(a["wrong_content"])))
    if b:
        out.append("(b) burst: %d files (%.1f MiB) in %d dirs, writer: %s" % (
            b["files"], b["bytes"] / 2**20, b["dirs"],
            "cp -a of a finished tree" if b["writer"] == "cp" else "this script"))
        out.append("    %-50s %8.3f s" % ("create (writer, in the watched tree)", b["create_s"]))
        out.append("    %-50s %8.3f s  (before %.3f, after %.3f; watched/unwatched x%.2f)" % (
            "  same create, unwatched dir, no pair running", b["create_unwatched_s"],
            b["create_unwatched_before_s"], b["create_unwatched_after_s"],
            b["create_s"] / b["create_unwatched_s"]))
        out.append("    %-50s %8.3f s  (poll resolution %.3f s)" % (
            "last write -> reference identical", b["after_last_write_s"], b["detect_resolution_s"]))
        out.append("    %-50s %8.3f s" % ("livesync total (create + converge)", b["total_s"]))
        if "rsync_s" in b:
            out.append("    %-50s %8.3f s" % ("anchor: rsync -a SRC/ DST/ (local, fresh DST)", b["rsync_s"]))
        else:
            out.append("    anchor skipped: rsync is not installed")
        out.append("    %-50s %8.3f s" % ("anchor: cp -a SRC DST (local)", b["cp_s"]))
        if "rsync_s" in b:
            out.append("    %-50s %8.2f" % ("ratio livesync_total / rsync", b["ratio_total_vs_rsync"]))
            out.append("    %-50s %8.2f" % ("ratio livesync_after_last_write / rsync",
                                            b["ratio_after_last_write_vs_rsync"]))
        out.append("    %-50s %8.2f" % ("ratio livesync_total / cp", b["ratio_total_vs_cp"]))
        out.append("    %-50s %8.2f" % ("ratio livesync_after_last_write / cp", b["ratio_after_last_write_vs_cp"]))
        out.append("    peak RSS after burst: watcher %.1f MiB, reference %.1f MiB"
                   % (b["watcher_vmhwm_kib"] / 1024, b["reference_vmhwm_kib"] / 1024))
    for k in ("latency", "burst"):
        if r.get(k) and r[k].get("stop_problem"):
            out.append("    %s: stopping the pair: %s" % (k, r[k]["stop_problem"]))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--writes", type=int, default=50, help="single-file writes (default 50)")
    ap.add_argument("--interval", type=float, default=0.1, help="s between writes (default 0.1)")
    ap.add_argument("--timeout", type=float, default=10.0, help="s to wait for one commit")
    ap.add_argument("--files", type=int, default=10000, help="burst files (default 10000)")
    ap.add_argument("--dirs", type=int, default=100, help="burst directories (default 100)")
    ap.add_argument("--poll", type=float, default=0.05, help="s between reference scans (0.05)")
    ap.add_argument("--burst-timeout", type=float, default=600.0)
    ap.add_argument("--burst-writer", choices=("python", "cp"), default="python",
                    help="python: this script writes each file (default); cp: the tree "
                         "is made unwatched first, then `cp -a` copies it into the watched root")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--skip-burst", action="store_true")
    ap.add_argument("--json", help="also write the results as JSON here")
    ap.add_argument("--bin-dir", help="dir of the binaries (default: build/)")
    args = ap.parse_args()
    with common.BinarySnapshot(args.bin_dir) as snap:
        return run(args, snap)


def run(args, snap):
    rsync = common.have_command("rsync")
    if not rsync:
        say("rsync is not installed: the rsync anchors are skipped (nothing is installed)")
    results = {"facts": common.host_facts(snap), "rsync": rsync}
    if not args.skip_latency:
        results["latency"] = run_latency(args, rsync)
    if not args.skip_burst:
        results["burst"] = run_burst(args, rsync)
    try:
        with open("/proc/loadavg") as f:
            results["facts"]["loadavg_at_end"] = f.read().split()[:3]
    except OSError:
        pass
    print()
    print("livesync convergence, %s, %s cpus, load %s -> %s, binaries %s" % (
        results["facts"]["date"], results["facts"]["cpus"],
        " ".join(results["facts"]["loadavg_at_start"] or []),
        " ".join(results["facts"].get("loadavg_at_end") or []),
        " ".join("%s=%s" % (n.split("-")[-1], f["sha256_16"][:8]) for n, f in snap.facts.items())))
    print(table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        say("results written to %s" % args.json)
    bad = []
    a = results.get("latency")
    if a and (a["missing_commits"] or a["wrong_content"]):
        bad.append("latency: missing or wrong commits")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
