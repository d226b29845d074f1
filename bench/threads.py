#!/usr/bin/env python3
"""What CAF's thread settings do to each node (issue 13, "thread pools
through CAF's config"): the suite's bulk initial sync, no-op reconcile,
one large file stream and idle wake-ups, each setting interleaved with the
defaults in one run.

  python3 bench/threads.py [--workloads=bulk,stream,latency,idle] [--reps=N]
      [--bulk-files=N] [--bulk-bytes=N] [--stream-bytes=N] [--tls]
      [--latency-writes=N]
      [--cfg='NAME ARG ...' ...] [--bin-dir=DIR] [--json=PATH]

A setting is `--cfg='NAME ARG ...'`: each ARG goes to both nodes, or with
`w:` / `r:` in front to the watcher / the reference only, e.g.
  --cfg='t1 --scheduler.max-threads=1'
  --cfg='w1 w:--scheduler.max-threads=1'
The defaults (no argument: CAF's max(cores, 4) threads, and the `sharing`
policy that the programs set when none is given) are the setting named
`default`, always run. Each round runs default, X1, default, X2, ...,
default (the X in reverse order in odd rounds), and each X is quoted as a
ratio to the mean of the two default runs beside it: on this machine file
creation gets slower run after run, so only neighbours compare.

bulk:   treegen tree (seed 1, the suite's), empty reference, watcher start
        -> `in-sync`: wall seconds and CPU seconds of both nodes; then two
        watcher restarts over the unchanged tree -> `in-sync` (no-op
        reconcile), their mean.
stream: one random file renamed into the watched root of an in-sync pair
        until the reference's IN_MOVED_TO (the suite's throughput method;
        plain TCP unless --tls), MiB/s, and both nodes' CPU seconds.
latency: (only when named) the suite's workload 1 without lsyncd: a new
        4 KiB file written and closed -> IN_MOVED_TO/IN_CREATE on the
        reference, one at a time 50 ms apart; p50, p99, max.
idle:   the method of tests/e2e/tests_idle.py: a small synced pair, one
        live change, then voluntary context switches of every thread of
        both nodes over 3 s (each is a later wake-up).
"""

import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
import suite_workloads as wl  # noqa: E402
import treegen  # noqa: E402
from common import harness  # noqa: E402

MiB = 1 << 20


def say(msg):
    print("[threads] %s" % msg, flush=True)


def parse_cfg(text):
    parts = text.split()
    name, args = parts[0], {"watcher": [], "reference": []}
    for a in parts[1:]:
        if a.startswith("w:"):
            args["watcher"].append(a[2:])
        elif a.startswith("r:"):
            args["reference"].append(a[2:])
        else:
            args["watcher"].append(a)
            args["reference"].append(a)
    return name, args


def use(args):
    wl.ROLE_ARGS["watcher"][:] = args["watcher"]
    wl.ROLE_ARGS["reference"][:] = args["reference"]


def schedule(names, reps):
    """[(round, name)]: default, X1, default, X2, ..., default; odd rounds
    take the X in reverse."""
    out = []
    for k in range(reps):
        xs = names if k % 2 == 0 else list(reversed(names))
        for x in xs:
            out.append((k, "default"))
            out.append((k, x))
        out.append((k, "default"))
    return out


def ratios(seq, results, key):
    """For each X run, value / mean(default run before, default run after)."""
    out = {}
    for i, (k, name) in enumerate(seq):
        if name == "default" or results[i] is None:
            continue
        nb = [results[j][key] for j in (i - 1, i + 1)
              if 0 <= j < len(seq) and seq[j][1] == "default" and results[j]
              and results[j][key]]
        if nb and results[i][key]:
            out.setdefault(name, []).append(results[i][key] / (sum(nb) / len(nb)))
    return out


# -- bulk + no-op ----------------------------------------------------------------


def bulk_run(env, n, files_check):
    ref = env.O("ref-%d" % n)
    wl.settle_disk()
    wl.start_reference(env, root=ref)
    t0 = time.perf_counter()
    w = wl.start_watcher(env, wait_sync=False)
    wl.in_sync_line(w, 0, 900)
    s = time.perf_counter() - t0
    cw = common.proc_cpu_s(w.proc.pid)
    cr0 = common.proc_cpu_s(env.reference.proc.pid)
    noop = []
    for _ in range(2):
        env.watcher.stop()
        t0 = time.perf_counter()
        w = wl.start_watcher(env, wait_sync=False)
        wl.in_sync_line(w, 0, 900)
        noop.append(time.perf_counter() - t0)
    env.stop_all()
    d = harness.diff_trees(env.src, ref, limit=5, full=files_check)
    if d:
        raise RuntimeError("bulk run %d: reference differs: %s" % (n, d))
    common.rm_tree(ref)
    return {"s": s, "cpu_w": cw, "cpu_r": cr0, "cpu": cw + cr0,
            "noop_s": sum(noop) / len(noop), "noop_runs": noop}


def bulk(a, cfgs, seq):
    env = wl.new_env("threads-bulk")
    try:
        t0 = time.perf_counter()
        plan = treegen.make_tree(env.src, a.bulk_files, a.bulk_bytes, seed=1)
        wl.settle_disk()
        say("bulk tree: %s (made in %.1f s)" % (plan.describe(), time.perf_counter() - t0))
        res = []
        for i, (k, name) in enumerate(seq):
            use(cfgs[name])
            r = bulk_run(env, i, i == 0)
            say("bulk %2d round %d %-10s %.2f s  CPU %.2f (w %.2f r %.2f)  no-op %.3f s"
                % (i, k, name, r["s"], r["cpu"], r["cpu_w"], r["cpu_r"], r["noop_s"]))
            res.append(r)
        return {"tree": plan.describe(), "runs": [dict(r, name=n, round=k) for (k, n), r in zip(seq, res)],
                "ratio_s": ratios(seq, res, "s"), "ratio_cpu": ratios(seq, res, "cpu"),
                "ratio_noop": ratios(seq, res, "noop_s"), "_res": res}
    except BaseException:
        env.print_tails(n=20)
        raise
    finally:
        env.close()


# -- stream ------------------------------------------------------------------------


def stream(a, cfgs, seq):
    env = wl.new_env("threads-stream")
    size = a.stream_bytes
    try:
        big = env.O("big.bin")
        want = wl.make_random_file(big, size)
        certs = None
        if a.tls:
            certs = env.O("certs")
            import subprocess
            subprocess.run(["bash", os.path.join(wl.REPO, "scripts", "make-certs.sh"), certs],
                           check=True, stdout=subprocess.DEVNULL)
        timeout = 120 + size / MiB / 5
        res = []
        for i, (k, name) in enumerate(seq):
            use(cfgs[name])
            ref = env.O("ref-%d" % i)
            wl.start_reference(env, root=ref, certs=certs)
            wl.start_watcher(env, certs=certs)
            ino = common.Inotify(ref, common.IN_MOVED_TO)
            try:
                wl.settle_disk()
                c0 = (common.proc_cpu_s(env.watcher.proc.pid), common.proc_cpu_s(env.reference.proc.pid))
                t0 = time.perf_counter_ns()
                os.rename(big, env.S("big.bin"))
                ms = wl.wait_moved_to(ino, "big.bin", t0, timeout)
                c1 = (common.proc_cpu_s(env.watcher.proc.pid), common.proc_cpu_s(env.reference.proc.pid))
            finally:
                ino.close()
            env.stop_all()
            if ms is None:
                raise RuntimeError("stream run %d: no commit in %.0f s" % (i, timeout))
            d = harness.diff_trees(env.src, ref, limit=5, full=False)
            if d or (i == 0 and wl.sha256(os.path.join(ref, "big.bin")) != want):
                raise RuntimeError("stream run %d: the reference copy differs: %s" % (i, d))
            os.rename(env.S("big.bin"), big)
            common.rm_tree(ref)
            r = {"s": ms / 1000, "mib_s": size / MiB / (ms / 1000),
                 "cpu_w": c1[0] - c0[0], "cpu_r": c1[1] - c0[1]}
            say("stream %2d round %d %-10s %.2f s  %.0f MiB/s  CPU w %.2f r %.2f"
                % (i, k, name, r["s"], r["mib_s"], r["cpu_w"], r["cpu_r"]))
            res.append(r)
        return {"bytes": size, "tls": a.tls,
                "runs": [dict(r, name=n, round=k) for (k, n), r in zip(seq, res)],
                "ratio_mib_s": ratios(seq, res, "mib_s"), "_res": res}
    except BaseException:
        env.print_tails(n=20)
        raise
    finally:
        env.close()


# -- latency -------------------------------------------------------------------------


def latency(a, cfgs, seq):
    """The suite's workload 1 without lsyncd: a new 4 KiB file written and
    closed in the watched root of an in-sync pair -> its IN_MOVED_TO or
    IN_CREATE on the reference, one at a time, --latency-writes of them."""
    env = wl.new_env("threads-latency")
    try:
        res = []
        for i, (k, name) in enumerate(seq):
            use(cfgs[name])
            ref = env.O("ref-%d" % i)
            src = env.O("src-%d" % i)
            os.mkdir(src)
            wl.start_reference(env, root=ref)
            wl.start_watcher(env, root=src)
            ino = common.Inotify(ref, common.IN_MOVED_TO | common.IN_CREATE)
            data = os.urandom(4096)
            lat = []
            try:
                for n in range(a.latency_writes):
                    name_n = "f%04d" % n
                    t0 = time.perf_counter_ns()
                    with open(os.path.join(src, name_n), "wb") as f:
                        f.write(data)
                    ms = wl.wait_moved_to(ino, name_n, t0, 10.0)
                    if ms is None:
                        raise RuntimeError("latency run %d: %s not committed in 10 s" % (i, name_n))
                    lat.append(ms)
                    time.sleep(0.05)
            finally:
                ino.close()
            env.stop_all()
            lat.sort()
            r = {"p50": common.percentile(lat, 50), "p99": common.percentile(lat, 99), "max": lat[-1]}
            say("latency %2d round %d %-10s p50 %.2f ms  p99 %.2f ms  max %.2f ms"
                % (i, k, name, r["p50"], r["p99"], r["max"]))
            res.append(r)
        return {"runs": [dict(r, name=n, round=k) for (k, n), r in zip(seq, res)],
                "ratio_p50": ratios(seq, res, "p50"), "ratio_p99": ratios(seq, res, "p99"), "_res": res}
    except BaseException:
        env.print_tails(n=20)
        raise
    finally:
        env.close()


# -- idle ----------------------------------------------------------------------------


def idle(a, cfgs, names):
    out = {}
    for name in ["default"] + names:
        use(cfgs[name])
        env = wl.new_env("threads-idle")
        try:
            harness.fill_tree(env.src, files=60, depth=2, fanout=3, size=300, seed=7)
            wl.start_reference(env)
            wl.start_watcher(env)
            env.wait_converged(timeout=30)
            harness.write_file(env.S("live.txt"), b"one more change\n")
            env.wait_converged(timeout=30)
            time.sleep(0.3)
            pids = {"w": env.watcher.proc.pid, "r": env.reference.proc.pid}
            before = {k: common.thread_counters(p) for k, p in pids.items()}
            time.sleep(3.0)
            after = {k: common.thread_counters(p) for k, p in pids.items()}
            r = {}
            for k in pids:
                d = common.thread_delta(before[k], after[k])
                r[k] = sum(v[2] for v in d.values())
                r[k + "_threads"] = len(after[k])
                r[k + "_by_thread"] = sorted("%s:%d" % (v[0], v[2]) for v in d.values() if v[2])
            say("idle %-10s wake-ups in 3 s: watcher %d (%d threads), reference %d (%d threads)"
                % (name, r["w"], r["w_threads"], r["r"], r["r_threads"]))
            out[name] = r
        finally:
            env.close()
    return out


def summary(title, seq, res, cols):
    """Per setting: mean of each column, and the mean ratio to its
    neighbouring default runs."""
    names = []
    for _, n in seq:
        if n not in names:
            names.append(n)
    print(title)
    for n in names:
        rows = [r for (k, m), r in zip(seq, res) if m == n]
        line = "  %-10s n=%d" % (n, len(rows))
        for key, fmt in cols:
            line += "  %s %s" % (key, fmt % (sum(r[key] for r in rows) / len(rows)))
            if n != "default":
                rt = ratios(seq, res, key).get(n, [])
                if rt:
                    line += " (x%.2f: %s)" % (sum(rt) / len(rt), " ".join("%.2f" % x for x in rt))
        print(line)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", default="bulk,stream,idle")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--bulk-files", type=int, default=5000)
    ap.add_argument("--bulk-bytes", type=int, default=250_000_000)
    ap.add_argument("--stream-bytes", type=int, default=1 << 30)
    ap.add_argument("--latency-writes", type=int, default=150)
    ap.add_argument("--tls", action="store_true", help="stream over mutual TLS instead of plain TCP")
    ap.add_argument("--cfg", action="append", default=[], metavar="'NAME ARG ...'")
    ap.add_argument("--bin-dir")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    cfgs = {"default": {"watcher": [], "reference": []}}
    names = []
    for c in a.cfg:
        n, args = parse_cfg(c)
        if n in cfgs:
            ap.error("setting %s given twice" % n)
        cfgs[n] = args
        names.append(n)
    seq = schedule(names, a.reps)
    work = [w for w in a.workloads.split(",") if w]
    out = {"settings": cfgs, "order": seq}
    with common.BinarySnapshot(a.bin_dir) as snap, common.Scratch(detach=True) as scratch:
        facts = common.host_facts(snap)
        out["facts"] = facts
        say("%s, %s cpus, load %s, binaries %s; order %s" % (
            facts["date"], facts["cpus"], " ".join(facts["loadavg_at_start"] or []),
            " ".join("%s=%s" % (n.split("-")[-1], f["sha256_16"][:8]) for n, f in snap.facts.items()),
            " ".join(n for _, n in seq)))
        for n in names:
            say("setting %s: watcher %s, reference %s" % (n, cfgs[n]["watcher"], cfgs[n]["reference"]))
        if "idle" in work:
            out["idle"] = idle(a, cfgs, names)
        if "latency" in work:
            out["latency"] = latency(a, cfgs, seq)
        if "bulk" in work:
            out["bulk"] = bulk(a, cfgs, seq)
        if "stream" in work:
            out["stream"] = stream(a, cfgs, seq)
        with open("/proc/loadavg") as f:
            out["loadavg_at_end"] = f.read().split()[:3]
    print()
    print("threads bench, %s, load %s -> %s, git %s" % (
        facts["date"], " ".join(facts["loadavg_at_start"] or []), " ".join(out["loadavg_at_end"]),
        facts["git_head"]))
    for n in names:
        print("  %s: watcher %s, reference %s" % (n, " ".join(cfgs[n]["watcher"]) or "-",
                                                   " ".join(cfgs[n]["reference"]) or "-"))
    if "bulk" in out:
        summary("bulk (%s) and no-op reconcile (mean of 2 restarts per run):" % out["bulk"]["tree"],
                seq, out["bulk"]["_res"],
                [("s", "%.2f"), ("cpu", "%.2f"), ("cpu_w", "%.2f"), ("cpu_r", "%.2f"), ("noop_s", "%.3f")])
    if "stream" in out:
        summary("stream of %d MiB (%s):" % (a.stream_bytes // MiB, "TLS" if a.tls else "plain TCP"),
                seq, out["stream"]["_res"], [("mib_s", "%.0f"), ("cpu_w", "%.2f"), ("cpu_r", "%.2f")])
    if "latency" in out:
        summary("latency of a 4 KiB file, %d writes per run (ms):" % a.latency_writes,
                seq, out["latency"]["_res"], [("p50", "%.2f"), ("p99", "%.2f"), ("max", "%.2f")])
    if "idle" in out:
        print("idle wake-ups in 3 s (watcher / reference):")
        for n, r in out["idle"].items():
            print("  %-10s %d / %d  (threads %d / %d)  %s | %s" % (
                n, r["w"], r["r"], r["w_threads"], r["r_threads"],
                " ".join(r["w_by_thread"]), " ".join(r["r_by_thread"])))
    for k in ("bulk", "stream", "latency"):
        if k in out:
            out[k].pop("_res", None)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
