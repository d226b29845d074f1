#!/usr/bin/env python3
"""livesync's benchmark suite (issue 7): seven workloads over loopback, each
next to its anchor from the same run, in one table.

  python3 bench/suite.py [--quick] [--only=NAME[,NAME...]] [--json=PATH]
                         [--set=SIZE=VALUE ...] [--bin-dir=DIR] [--node-arg=ARG ...]
                         [--watcher-arg=ARG ...] [--reference-arg=ARG ...]
                         [--detach-cleanup]
                         [--list]

  1 latency     4 KiB write -> committed on the reference (inotify there),
                p50/p99/max; anchor lsyncd (delay=0) into an rsync daemon
  2 bulk        initial sync of a generated tree (~20,000 files, ~1 GB) to
                an empty reference; anchors rsync -a to a daemon, cp -a
  3 noop        watcher restart over the unchanged tree until in-sync;
                anchor rsync of the unchanged tree (shares 2's tree)
  4 burst       untar of 20,000 files under a running watcher: last write
                -> identical; anchor rsync -a of the same tree
  5 rename      rename of a dir holding 10,000 files: bytes and time;
                anchor rsync -a --delete
  6 scale       100,000 files in 10,000 dirs: RSS per file, watch set-up,
                idle CPU and wake-ups over 30 s; anchor the rsync client's RSS
  7 throughput  one 4 GiB file, plain and TLS; anchor a raw TCP socket copy
  8 fanout      (only with --only=fanout; issue 15) one watcher, several
                references: watcher CPU of a 10,000-file burst to 3
                references against 1 (interleaved 1,3,1,3); latency to two
                live references while a third is SIGSTOPped 30 s under 20
                writes/s; after the thaw, bytes written to it against the
                bytes it lacked
  8d fanlarge   (only with --only=fanlarge; issue 15) watcher CPU for edits
                to a few large files (4 x 32 MiB) with 3 references
                against 1 (interleaved): chunked once for all references

--quick runs small sizes (a couple of minutes: checks the suite works; the
targets are the issue's, meant for the full sizes). Data lives in a fresh
dir under /work (or $LIVESYNC_BENCH_DIR), removed at the end. The two
binaries (default build/) are copied first, so a rebuild during the run
cannot mix builds. Exit code 1 if any livesync result differed from its
source (a product bug) or a workload could not finish (the table has the
others), 2 on bad arguments or a missing command, 0 otherwise (targets missed
are in the table, not in the exit code).
"""

import argparse
import json
import os
import shutil
import sys
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

WORKLOADS = ["latency", "bulk", "noop", "burst", "rename", "scale", "throughput", "fanout",
             "fanlarge"]
# run when --only names them (longer than the others, or not issue 7's)
OPT_IN = {"fanout", "fanlarge"}
NEEDS = {"fanout": ["tar"], "fanlarge": [], "latency": ["rsync", "lsyncd"], "bulk": ["rsync", "cp", "ss"], "noop": ["rsync", "ss"],
         "burst": ["rsync", "tar", "ss"], "rename": ["rsync", "ss"], "scale": ["rsync"],
         "throughput": ["openssl", "ss"]}
GiB = 1 << 30
MiB = 1 << 20

SIZES = {
    "full": {"latency_writes": 200, "latency_gap": 0.05, "latency_timeout": 10.0,
             "bulk_files": 20000, "bulk_bytes": 1_000_000_000, "noop_reps": 3,
             "burst_files": 20000, "burst_bytes": 256 * MiB,
             "rename_files": 10000,
             "scale_files": 100000, "scale_dirs": 10000, "idle_s": 30.0,
             "throughput_bytes": 4 * GiB, "sync_timeout": 900.0,
             "fanout_files": 10000, "fanout_bytes": 128 * MiB, "fanout_rounds": 3,
             "fanout_rate": 20.0, "fanout_lead_s": 10.0, "fanout_freeze_s": 30.0,
             "fanout_tail_s": 5.0,
             "fanlarge_files": 4, "fanlarge_mib": 32, "fanlarge_edits": 16},
    "quick": {"latency_writes": 20, "latency_gap": 0.05, "latency_timeout": 10.0,
              "bulk_files": 1000, "bulk_bytes": 40 * MiB, "noop_reps": 2,
              "burst_files": 1000, "burst_bytes": 16 * MiB,
              "rename_files": 1000,
              "scale_files": 5000, "scale_dirs": 500, "idle_s": 3.0,
              "throughput_bytes": 128 * MiB, "sync_timeout": 120.0,
              "fanout_files": 1000, "fanout_bytes": 16 * MiB, "fanout_rounds": 1,
              "fanout_rate": 20.0, "fanout_lead_s": 2.0, "fanout_freeze_s": 5.0,
              "fanout_tail_s": 2.0,
              "fanlarge_files": 2, "fanlarge_mib": 8, "fanlarge_edits": 8},
}


def say(msg):
    print("[suite] %s" % msg, flush=True)


class Report:
    """The table's rows and any mismatch (a livesync result that was not
    identical to its source)."""

    def __init__(self):
        self.rows = []
        self.notes = []
        self.mismatches = []
        self.errors = []  # a workload that could not finish (the suite's or the product's fault)

    def row(self, n, what, livesync, anchor, unit, anchor_name, target=None, met=None, ratio=None):
        if ratio is None and livesync is not None and anchor:
            ratio = livesync / anchor
        self.rows.append({"n": n, "what": what, "livesync": livesync, "anchor": anchor,
                          "anchor_name": anchor_name, "unit": unit, "ratio": ratio,
                          "target": target, "met": met})

    def note(self, text):
        """A line printed under the table (what a row is made of)."""
        self.notes.append(text)
        print("[suite] %s" % text, flush=True)

    def mismatch(self, msg):
        self.mismatches.append(msg)
        bar = "!" * 78
        print("%s\n!!! LIVESYNC MISMATCH (product bug): %s\n%s" % (bar, msg, bar), flush=True)


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "B":
        return "{:,}".format(int(round(v))) + " B" if v >= 1000 else "%.0f B" % v
    if unit == "s":
        return "%.3f s" % v if v < 10 else "%.1f s" % v
    if unit == "ms":
        return "%.1f ms" % v
    if unit == "MiB/s":
        return "%.0f MiB/s" % v
    return "%g" % v if isinstance(v, float) else str(v)


def table(rows):
    """Markdown: paste-able into README.md as it is."""
    head = ["#", "workload", "livesync", "anchor", "anchor figure", "ratio", "target", "met?"]
    body = []
    for r in rows:
        met = {True: "yes", False: "**NO**", None: "-"}[r["met"]]
        body.append([str(r["n"]), r["what"], fmt(r["livesync"], r["unit"]), r["anchor_name"] or "-",
                     fmt(r["anchor"], r["unit"]),
                     "%.3g" % r["ratio"] if r["ratio"] is not None else "-",
                     r["target"] or "-", met])
    w = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    line = lambda cells: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(cells)) + " |"
    out = [line(head), "|" + "|".join("-" * (k + 2) for k in w) + "|"]
    out += [line(b) for b in body]
    return "\n".join(out)


def write_json(path, facts, report, details):
    with open(path, "w") as f:
        json.dump({"facts": facts, "rows": report.rows, "mismatches": report.mismatches,
                   "errors": report.errors, "notes": report.notes, "details": details},
                  f, indent=1, default=str)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (checks the suite works)")
    ap.add_argument("--only", default="", help="comma-separated workloads: " + ",".join(WORKLOADS))
    ap.add_argument("--json", help="also write every figure and detail as JSON here")
    ap.add_argument("--bin-dir", help="dir of the binaries (default: build/)")
    ap.add_argument("--node-arg", action="append", default=[], metavar="ARG",
                    help="one more option for both nodes of every pair, e.g. "
                         "--node-arg=--scheduler.max-threads=2 (repeatable; experiments)")
    ap.add_argument("--watcher-arg", action="append", default=[], metavar="ARG",
                    help="one more option for every watcher only (repeatable; after --node-arg's)")
    ap.add_argument("--reference-arg", action="append", default=[], metavar="ARG",
                    help="one more option for every reference only (repeatable; after --node-arg's)")
    ap.add_argument("--set", action="append", default=[], metavar="SIZE=VALUE",
                    help="override one size of the chosen scale, e.g. --set=throughput_bytes=1073741824 "
                         "(names: --list); the table's header names it")
    ap.add_argument("--detach-cleanup", action="store_true",
                    help="leave the removal of the data to a detached, idle-priority rm -rf "
                         "(a full run leaves ~500,000 files)")
    ap.add_argument("--list", action="store_true",
                    help="print the workloads and sizes that would run, and exit")
    args = ap.parse_args(argv)
    only = [w.strip() for w in args.only.split(",") if w.strip()]
    bad = [w for w in only if w not in WORKLOADS]
    if bad:
        ap.error("unknown workload(s) %s; choose from %s" % (", ".join(bad), ", ".join(WORKLOADS)))
    args.selected = [w for w in WORKLOADS if (w in only if only else w not in OPT_IN)]
    args.sizes = dict(SIZES["quick" if args.quick else "full"])
    for kv in args.set:
        k, eq, v = kv.partition("=")
        if not eq or k not in args.sizes:
            ap.error("--set=%s: expected SIZE=VALUE with SIZE one of %s" % (kv, ", ".join(args.sizes)))
        kind = type(args.sizes[k])
        try:
            args.sizes[k] = kind(v)
        except ValueError:
            ap.error("--set=%s: %s must be %s" % (kv, k, "an integer" if kind is int else "a number"))
        if not args.sizes[k] > 0:
            ap.error("--set=%s: must be > 0" % kv)
    return args


def main(argv):
    args = parse_args(argv)
    if args.list:
        print("scale: %s" % ("quick" if args.quick else "full"))
        print("workloads: %s" % " ".join(args.selected))
        for k, v in args.sizes.items():
            print("  %s = %s" % (k, v))
        return 0
    missing = sorted({c for w in args.selected for c in NEEDS[w] if not shutil.which(c)})
    if missing:
        print("suite: missing commands %s (bash scripts/setup.sh installs them)"
              % ", ".join(missing), file=sys.stderr)
        return 2
    import suite_workloads as wl  # after the checks: it imports the other benches
    import suite_fanout as fo
    wl.NODE_ARGS.extend(args.node_arg)
    wl.ROLE_ARGS["watcher"].extend(args.watcher_arg)
    wl.ROLE_ARGS["reference"].extend(args.reference_arg)
    report = Report()
    details = {}
    with common.BinarySnapshot(args.bin_dir) as snap, \
            common.Scratch(detach=args.detach_cleanup) as scratch:
        facts = common.host_facts(snap)
        facts["scratch"] = scratch.dir
        facts["scale"] = "quick" if args.quick else "full"
        facts["node_args"] = args.node_arg
        facts["watcher_args"] = args.watcher_arg
        facts["reference_args"] = args.reference_arg
        facts["sizes"] = args.sizes
        facts["set"] = args.set
        print("suite: %s, %s scale, %s cpus, load %s, data in %s, binaries %s" % (
            facts["date"], facts["scale"], facts["cpus"], " ".join(facts["loadavg_at_start"] or []),
            scratch.dir, " ".join("%s=%s" % (n.split("-")[-1], f["sha256_16"][:8])
                                  for n, f in snap.facts.items())), flush=True)
        sz = args.sizes
        sel = args.selected
        steps = [("latency", lambda: wl.latency(sz, report)),
                 ("bulk_noop", lambda: wl.bulk_and_noop(sz, report, "bulk" in sel, "noop" in sel)),
                 ("burst", lambda: wl.burst(sz, report)),
                 ("rename", lambda: wl.dir_rename(sz, report)),
                 ("scale", lambda: wl.scale(sz, report)),
                 ("throughput", lambda: wl.throughput(sz, report)),
                 ("fanout", lambda: fo.fanout(sz, report)),
                 ("fanlarge", lambda: fo.large(sz, report))]
        for name, step in steps:
            if not [w for w in name.split("_") if w in sel]:
                continue
            first = len(report.rows)
            try:
                details[name] = step()
            except Exception as e:  # one broken workload must not lose the others' figures
                traceback.print_exc()
                report.errors.append("%s: %s: %s" % (name, type(e).__name__, e))
            if args.json:  # so far: an interrupted run keeps what it measured
                write_json(args.json, facts, report, details)
            print(table(report.rows[first:]), flush=True)  # this workload's rows, as they come
        with open("/proc/loadavg") as f:
            facts["loadavg_at_end"] = f.read().split()[:3]
        print()
        print("livesync suite, %s, %s scale%s%s, %s (%s cpus), load %s -> %s, git %s, binaries %s" % (
            facts["date"], facts["scale"], ", " + " ".join(args.set) if args.set else "",
            "".join(", %s args %s" % (who, " ".join(a)) for who, a in
                    (("node", args.node_arg), ("watcher", args.watcher_arg),
                     ("reference", args.reference_arg)) if a),
            facts["host"], facts["cpus"],
            " ".join(facts["loadavg_at_start"] or []), " ".join(facts["loadavg_at_end"]),
            facts["git_head"], " ".join("%s=%s" % (n.split("-")[-1], f["sha256_16"][:8])
                                        for n, f in snap.facts.items())))
        print(table(report.rows))
        for n in report.notes:
            print("- %s" % n)
        for m in report.mismatches:
            print("MISMATCH: %s" % m)
        for e in report.errors:
            print("ERROR (no figures for it): %s" % e)
        if args.json:
            write_json(args.json, facts, report, details)
            print("suite: results written to %s" % args.json)
        if not args.detach_cleanup:
            say("removing %s" % scratch.dir)
    return 1 if report.mismatches or report.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
