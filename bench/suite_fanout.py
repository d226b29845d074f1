"""Workload 8 of bench/suite.py (issue 15): one watched tree, several
references (`livesync-watcher --references=[...]`), all on loopback.

  a. Watcher CPU (utime + stime of /proc/PID/stat, before and after) for
     the burst workload's untar (same generator, 10,000 files) into a
     watched root mirrored to 1 reference, then to 3, interleaved
     1,3,1,3,...: the ratio of the medians (target <= 1.5).
  b. A steady stream of small new files (4 KiB of os.urandom, 20 a
     second) into a pair of 1 watcher and 3 references; after a lead
     time, one reference is frozen (SIGSTOP) for 30 s, then thawed
     (SIGCONT), then a tail. Latency = just before the open -> IN_CREATE
     or IN_MOVED_TO of its name on each reference root (as workload 1);
     p50/p99 to the two live ones while the third is frozen (target p99
     <= 50 ms), next to the same figures before the freeze (all live).
  c. After the thaw: what the thawed reference lacked (its tree at the
     thaw, which did not move while it was stopped) and what it was sent
     and wrote: its own counters (--metrics-file, written_bytes_total,
     files_committed_total) and the watcher's per-reference status
     (`status --json`: files, literal_bytes, payload_bytes) over the
     whole stream, next to the live references' and the stream's bytes.
     Content it already held is re-sent iff its figures exceed the
     stream's.

  d. (`--only=fanlarge`, issue 15's "chunked once") Watcher CPU for
     `fanlarge_files` files of `fanlarge_mib` MiB each, synced, then
     edited in place (`fanlarge_edits` random 4 KiB writes per file) with
     1 reference, then 3, interleaved: the cost of chunking, hashing and
     delta-encoding the new versions (the initial sync is not counted).

Every reference is compared exactly with the source at the end.
"""

import json
import os
import random
import re
import select
import signal
import subprocess
import time

import common
import suite_workloads as wl
import treegen
from common import harness

MiB = 1 << 20
CLK_TCK = os.sysconf("SC_CLK_TCK")
CONTROL_RE = re.compile(r"control-listening bind=\S+ port=(\d+)")
STREAM_SIZE = 4096


def say(msg):
    print("[suite] %s" % msg, flush=True)


def proc_cpu_s(pid):
    """user + system CPU seconds of a process, all its threads (ticks)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14, 15 of stat(5)


def references_option(refs):
    return "--references=[%s]" % ", ".join('"%s:%d"' % (harness.LOOPBACK, r.port) for r in refs)


def start_fanout(env, k, metrics=False):
    """k references (roots env.base/ref0..), then one watcher mirroring to
    all of them; waits for one `in-sync` per reference. Returns (refs,
    roots, metrics files, watcher, its control port)."""
    refs, roots, mfiles = [], [], []
    for i in range(k):
        root = os.path.join(env.base, "ref%d" % i)
        extra = []
        if metrics:
            mfiles.append(os.path.join(env.logs, "ref%d.prom" % i))
            extra = ["--metrics-file=%s" % mfiles[-1], "--metrics-interval=100ms"]
        argv = wl._argv(harness.reference_argv(root, 0, log_level="info", extra=extra),
                        None, "reference")
        refs.append(env.start_reference(argv=argv))
        roots.append(root)
    argv = wl._argv(harness.watcher_argv(env.src, None, host=None, log_level="info",
                                         extra=[references_option(refs)]), None, "watcher")
    w = env.start_watcher(argv=argv, wait_sync=False)
    w.wait_in_sync(k, timeout=60)
    line = w.wait_line(CONTROL_RE, what="control-listening line")
    return refs, roots, mfiles, w, int(CONTROL_RE.search(line).group(1))


def status(env, port):
    """{reference "host:port": its status object}."""
    argv = [harness.binary(harness.WATCHER), "status", "--control-port=%d" % port,
            "--json"] + harness.COMMON_ARGS
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    if p.returncode != 0:
        raise RuntimeError("status: rc=%d %s" % (p.returncode, p.stderr.decode(errors="replace")))
    got = json.loads(p.stdout)
    return {s["reference"]: s for s in (got if isinstance(got, list) else [got])}


def metrics(path):
    """{name: value} of a Prometheus text file's unlabelled-or-not samples
    (one series per name for the reference)."""
    out = {}
    with open(path) as f:
        for l in f:
            if l.startswith("#") or not l.strip():
                continue
            name = l.split("{", 1)[0].split(" ", 1)[0]
            out[name] = float(l.rsplit(" ", 1)[1])
    return out


def wait_manifests(roots, expected, timeout, env):
    """Polls until every root's manifest equals `expected`; returns the
    perf_counter() when it did, or None."""
    deadline = time.perf_counter() + timeout
    left = list(roots)
    while time.perf_counter() < deadline:
        left = [r for r in left if treegen.manifest(r) != expected]
        if not left:
            return time.perf_counter()
        env.check_nodes_alive()
        time.sleep(0.05)
    return None


def verify_all(env, report, what, roots):
    ok = True
    for r in roots:
        ok = wl.verify(env, report, "%s (%s)" % (what, os.path.basename(r)), ref=r) and ok
    return ok


# -- a: watcher CPU, 1 reference against 3 ---------------------------------------------


def cpu_one(sz, report, tarball, k, rnd):
    env = wl.new_env("suite-fanout-cpu%d-%d" % (k, rnd))
    try:
        refs, roots, _, w, _port = start_fanout(env, k)
        time.sleep(0.5)  # the watcher idle after its in-sync lines
        pid = w.proc.pid
        c0 = proc_cpu_s(pid)
        r0 = sum(proc_cpu_s(r.proc.pid) for r in refs)
        t0 = time.perf_counter()
        subprocess.run(["tar", "-xf", tarball, "-C", env.src], check=True)
        t_last = time.perf_counter()
        expected = treegen.manifest(env.src)
        t_done = wait_manifests(roots, expected, sz["sync_timeout"], env)
        if t_done is None:
            report.mismatch("fanout cpu: %d references not identical %.0f s after the last write"
                            % (k, sz["sync_timeout"]))
        time.sleep(0.5)  # the last acknowledgements
        c1 = proc_cpu_s(pid)
        r1 = sum(proc_cpu_s(r.proc.pid) for r in refs)
        verify_all(env, report, "fanout cpu %d refs" % k, roots)
        env.stop_all()
        res = {"refs": k, "round": rnd, "watcher_cpu_s": c1 - c0,
               "references_cpu_s": r1 - r0, "untar_s": t_last - t0,
               "after_last_write_s": (t_done - t_last) if t_done else None}
        say("fanout cpu: %d reference(s), round %d: watcher %.2f s CPU, references %.2f s "
            "together; untar %.2f s, last write -> all identical %s s"
            % (k, rnd, res["watcher_cpu_s"], res["references_cpu_s"], res["untar_s"],
               "%.2f" % res["after_last_write_s"] if t_done else "NEVER"))
        return res
    except BaseException:
        env.print_tails(n=20)
        raise
    finally:
        env.close()
        common.rm_tree(env.base)  # 10k files x (1 + k): not kept for the end


def cpu(sz, report):
    stage_env = wl.new_env("suite-fanout-stage")
    try:
        stage = stage_env.O("stage")
        os.mkdir(stage)
        plan = treegen.make_tree(stage, sz["fanout_files"], sz["fanout_bytes"], seed=2,
                                 large_files=0)
        tarball = stage_env.O("stage.tar")
        subprocess.run(["tar", "-cf", tarball, "-C", stage, "."], check=True)
        common.rm_tree(stage)
        say("fanout burst tree: %s" % plan.describe())
        runs = []
        for rnd in range(sz["fanout_rounds"]):
            for k in (1, 3):
                wl.settle_disk()
                runs.append(cpu_one(sz, report, tarball, k, rnd))
    finally:
        stage_env.close()
        common.rm_tree(stage_env.base)
    one = [r["watcher_cpu_s"] for r in runs if r["refs"] == 1]
    three = [r["watcher_cpu_s"] for r in runs if r["refs"] == 3]
    m1, m3 = common.median(one), common.median(three)
    report.note("8a: watcher CPU (utime+stime) per burst of %d files %.0f MiB, in run order "
                "(refs: s): %s; references' CPU together: %s"
                % (plan.files, plan.bytes / MiB,
                   ", ".join("%d: %.2f" % (r["refs"], r["watcher_cpu_s"]) for r in runs),
                   ", ".join("%d: %.2f" % (r["refs"], r["references_cpu_s"]) for r in runs)))
    ratio = m3 / m1 if m1 else None
    report.row(8, "fanout: watcher CPU, %d-file burst to 3 refs (median of %d)"
               % (plan.files, len(three)), m3, m1, "s", "1 ref, same burst",
               target="ratio <= 1.5", met=ratio is not None and ratio <= 1.5, ratio=ratio)
    return {"tree": plan.as_dict(), "runs": runs, "median_1": m1, "median_3": m3}


# -- b, c: one of three frozen under a stream of writes ---------------------------------


def freeze(sz, report):
    rate, lead, frz, tail = (sz["fanout_rate"], sz["fanout_lead_s"], sz["fanout_freeze_s"],
                             sz["fanout_tail_s"])
    env = wl.new_env("suite-fanout-freeze")
    inos = []
    victim = None
    try:
        refs, roots, mfiles, w, port = start_fanout(env, 3, metrics=True)
        names = ["%s:%d" % (harness.LOOPBACK, r.port) for r in refs]
        v = 1  # the frozen one
        victim = refs[v]
        inos = [common.Inotify(r, common.IN_MOVED_TO | common.IN_CREATE) for r in roots]
        time.sleep(0.5)
        st0 = status(env, port)
        m0 = [metrics(p) for p in mfiles]
        t0s = {}       # name -> perf_counter_ns just before the open
        phase = {}     # name -> before / frozen / after
        got = [{} for _ in roots]  # per reference: name -> ms
        fd_ref = {ino.fd: i for i, ino in enumerate(inos)}
        start = time.perf_counter()
        t_freeze, t_thaw, t_end = start + lead, start + lead + frz, start + lead + frz + tail
        frozen = thawed = False
        at_thaw = None
        i = 0
        nxt = start

        def drain(timeout):
            r, _, _ = select.select(list(fd_ref), [], [], max(0.0, timeout))
            for fd in r:
                k = fd_ref[fd]
                for t, mask, _c, n in inos[k].read_events(0):
                    if n in t0s and n not in got[k] and mask & (common.IN_MOVED_TO | common.IN_CREATE):
                        got[k][n] = common.ms(t - t0s[n])

        while True:
            now = time.perf_counter()
            if not frozen and now >= t_freeze:
                os.kill(victim.proc.pid, signal.SIGSTOP)
                t_stop = time.perf_counter()
                frozen = True
                say("fanout: reference %s frozen (SIGSTOP) after %d writes" % (names[v], i))
            if frozen and not thawed and now >= t_thaw:
                at_thaw = {"status": status(env, port)[names[v]], "writes": i,
                           "tree": treegen.manifest(roots[v])}
                os.kill(victim.proc.pid, signal.SIGCONT)
                thawed = True
                t_cont = time.perf_counter()
                say("fanout: reference %s thawed (SIGCONT) after %d writes" % (names[v], i))
            if now >= t_end:
                break
            if now >= nxt:
                name = "s%05d.bin" % i
                data = os.urandom(STREAM_SIZE)
                t0s[name] = time.perf_counter_ns()
                phase[name] = "before" if not frozen else ("frozen" if not thawed else "after")
                with open(os.path.join(env.src, name), "wb") as f:
                    f.write(data)
                i += 1
                nxt += 1.0 / rate
            drain(min(nxt, t_freeze if not frozen else t_thaw if not thawed else t_end)
                  - time.perf_counter())
        # every name on every reference
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline and any(len(g) < len(t0s) for g in got):
            drain(0.2)
        t_identical = wait_manifests([roots[v]], treegen.manifest(env.src), 60, env)
        catch_up_s = (t_identical - t_cont) if t_identical else None
        for k, r in enumerate(roots):
            if len(got[k]) < len(t0s):
                report.mismatch("fanout freeze: %s never showed %d of %d files"
                                % (names[k], len(t0s) - len(got[k]), len(t0s)))
        verify_all(env, report, "fanout freeze", roots)
        time.sleep(1.0)  # counters settle, metrics files rewritten (100 ms)
        st1 = status(env, port)
        m1 = [metrics(p) for p in mfiles]
        env.stop_all()
        victim = None

        # b: latency to the live ones
        live = [k for k in range(3) if k != v]
        lat = {}
        for ph in ("before", "frozen", "after"):
            vals = [got[k][n] for k in live for n in got[k] if phase[n] == ph]
            lat[ph] = common.summary_ms(vals) if vals else None
        vic = {ph: common.summary_ms([got[v][n] for n in got[v] if phase[n] == ph])
               for ph in ("before", "frozen", "after") if any(phase[n] == ph for n in got[v])}
        per_ref = {names[k]: common.summary_ms([got[k][n] for n in got[k] if phase[n] == "frozen"])
                   for k in live}
        b, f = lat["before"], lat["frozen"]
        t_freeze_ns = int(t_stop * 1e9)
        worst = sorted(((got[k][n], names[k], (t0s[n] - t_freeze_ns) / 1e9) for k in live
                        for n in got[k]), reverse=True)[:6]
        n_frozen = sum(1 for n in phase if phase[n] == "frozen")
        for q, limit in (("p50", None), ("p99", 50.0), ("max", None)):
            report.row(8, "fanout: latency %s to the 2 live refs, 1 of 3 frozen %.0f s (%d writes)"
                       % (q, frz, n_frozen), f[q], b[q] if b else None, "ms",
                       "same, none frozen",
                       target="<= %g ms" % limit if limit else None,
                       met=(f[q] <= limit) if limit else None)
        report.note("8b: %d writes at %g/s (%g s, then %g s frozen, then %g s); latency to each "
                    "live ref while frozen: %s; to the frozen one: %s; thaw -> it is identical: %s s"
                    % (len(t0s), rate, lead, frz, tail,
                       "; ".join("%s p50 %.1f p99 %.1f max %.1f ms" % (n, s["p50"], s["p99"], s["max"])
                                 for n, s in per_ref.items()),
                       "; ".join("%s p50 %.0f max %.0f ms" % (ph, s["p50"], s["max"])
                                 for ph, s in vic.items()),
                       "%.3f" % catch_up_s if catch_up_s is not None else "NEVER"))
        report.note("8b: the slowest writes to a live ref (ms, ref, written at s from the freeze; "
                    "the thaw at %g s): %s" % (frz, ", ".join("%.0f %s %+.2f" % w for w in worst)))

        # c: what the thawed one lacked, was sent, and wrote
        stream_bytes = len(t0s) * STREAM_SIZE
        had = at_thaw["tree"]
        written_by_thaw = ["s%05d.bin" % j for j in range(at_thaw["writes"])]
        lacked = [n for n in written_by_thaw if had.get(n) is None or had[n][2] != STREAM_SIZE]
        lacked_bytes = len(lacked) * STREAM_SIZE
        held_at_thaw = at_thaw["writes"] - len(lacked)
        later_bytes = (len(t0s) - at_thaw["writes"]) * STREAM_SIZE  # written after the thaw

        def wdelta(k, key):
            return st1[names[k]][key] - st0[names[k]][key]

        def mdelta(k, key):
            return m1[k].get(key, 0) - m0[k].get(key, 0)

        per = {}
        for k in range(3):
            per[names[k]] = {
                "frozen": k == v,
                "watcher_files": wdelta(k, "files"),
                "watcher_literal_bytes": wdelta(k, "literal_bytes"),
                "watcher_copied_bytes": wdelta(k, "copied_bytes"),
                "watcher_payload_bytes": wdelta(k, "payload_bytes"),
                "watcher_reconnects": wdelta(k, "reconnects"),
                "ref_files_committed": mdelta(k, "livesync_reference_files_committed_total"),
                "ref_written_bytes": mdelta(k, "livesync_reference_written_bytes_total"),
                "ref_received_bytes": mdelta(k, "livesync_reference_received_bytes_total"),
            }
        pv = per[names[v]]
        after_thaw_written = pv["ref_written_bytes"] - held_at_thaw * STREAM_SIZE
        live_written = [per[names[k]]["ref_written_bytes"] for k in live]
        report.row(8, "fanout: thawed ref, content bytes written over the stream",
                   pv["ref_written_bytes"], stream_bytes, "B", "bytes of the stream's files",
                   target="ratio 1", met=pv["ref_written_bytes"] == stream_bytes)
        report.row(8, "fanout: thawed ref, content bytes written after the thaw",
                   after_thaw_written, lacked_bytes + later_bytes, "B",
                   "lacked at the thaw + written later",
                   target="ratio 1", met=after_thaw_written == lacked_bytes + later_bytes)
        report.row(8, "fanout: thawed ref, literal bytes the watcher sent it",
                   pv["watcher_literal_bytes"], common.median(
                       [per[names[k]]["watcher_literal_bytes"] for k in live]), "B",
                   "same, to a live ref", target="ratio <= 1",
                   met=pv["watcher_literal_bytes"] <= min(
                       per[names[k]]["watcher_literal_bytes"] for k in live))
        report.note("8c: at the thaw the frozen ref held %d of the %d files written so far and "
                    "lacked %d (%s B; %s B of files were written after the thaw); the watcher's status for it then: state %s, pending_paths %d, "
                    "in_flight_bytes %d; over the whole stream (%d files, %s B), per reference: %s; "
                    "live refs wrote %s B"
                    % (held_at_thaw, at_thaw["writes"], len(lacked), "{:,}".format(lacked_bytes),
                       "{:,}".format(later_bytes),
                       at_thaw["status"]["state"], at_thaw["status"]["pending_paths"],
                       at_thaw["status"]["in_flight_bytes"], len(t0s), "{:,}".format(stream_bytes),
                       "; ".join("%s%s %s" % (n, " (frozen)" if d["frozen"] else "",
                                               " ".join("%s=%d" % (k2, v2) for k2, v2 in d.items()
                                                        if k2 != "frozen"))
                                 for n, d in per.items()),
                       ", ".join("{:,}".format(int(x)) for x in live_written)))
        return {"latency_live": lat, "latency_live_per_ref_frozen": per_ref, "latency_frozen": vic,
                "catch_up_s": catch_up_s, "writes": len(t0s), "lacked": len(lacked),
                "held_at_thaw": held_at_thaw, "status_at_thaw": at_thaw["status"],
                "per_reference": per, "stream_bytes": stream_bytes, "worst_live": worst}
    except BaseException:
        if victim is not None and victim.alive():
            os.kill(victim.proc.pid, signal.SIGCONT)
        env.print_tails(n=20)
        raise
    finally:
        for x in inos:
            x.close()
        env.close()


# -- d: watcher CPU for edited large files, 1 reference against 3 -------------------


def large_one(sz, report, k, rnd):
    env = wl.new_env("suite-fanlarge-%d-%d" % (k, rnd))
    size = sz["fanlarge_mib"] * MiB
    paths = [os.path.join(env.src, "big%d" % i) for i in range(sz["fanlarge_files"])]
    try:
        gen = random.Random(7)  # the same files in every run
        for p in paths:
            with open(p, "wb") as f:
                for _ in range(sz["fanlarge_mib"]):
                    f.write(gen.randbytes(MiB))
        refs, roots, _, w, _port = start_fanout(env, k)
        time.sleep(0.5)  # the watcher idle after its in-sync lines
        pid = w.proc.pid
        c0 = proc_cpu_s(pid)
        t0 = time.perf_counter()
        edits = random.Random(100 + rnd)
        for p in paths:
            fd = os.open(p, os.O_WRONLY)
            try:
                for _ in range(sz["fanlarge_edits"]):
                    os.pwrite(fd, edits.randbytes(4096), edits.randrange(size - 4096))
            finally:
                os.close(fd)
        t_last = time.perf_counter()
        expected = treegen.manifest(env.src)
        t_done = wait_manifests(roots, expected, sz["sync_timeout"], env)
        if t_done is None:
            report.mismatch("fanlarge: %d references not identical %.0f s after the last write"
                            % (k, sz["sync_timeout"]))
        time.sleep(0.5)  # the last acknowledgements
        c1 = proc_cpu_s(pid)
        verify_all(env, report, "fanlarge %d refs" % k, roots)
        env.stop_all()
        res = {"refs": k, "round": rnd, "watcher_cpu_s": c1 - c0,
               "after_last_write_s": (t_done - t_last) if t_done else None}
        say("fanlarge: %d reference(s), round %d: watcher %.3f s CPU, last write -> all "
            "identical %s s" % (k, rnd, res["watcher_cpu_s"],
                                "%.2f" % res["after_last_write_s"] if t_done else "NEVER"))
        return res
    except BaseException:
        env.print_tails(n=20)
        raise
    finally:
        env.close()
        common.rm_tree(env.base)


def large(sz, report):
    runs = []
    for rnd in range(sz["fanout_rounds"]):
        for k in (1, 3):
            wl.settle_disk()
            runs.append(large_one(sz, report, k, rnd))
    one = [r["watcher_cpu_s"] for r in runs if r["refs"] == 1]
    three = [r["watcher_cpu_s"] for r in runs if r["refs"] == 3]
    m1, m3 = common.median(one), common.median(three)
    what = "%d files of %d MiB, %d edits of 4 KiB each" % (
        sz["fanlarge_files"], sz["fanlarge_mib"], sz["fanlarge_edits"])
    report.note("8d: watcher CPU per round of edits to %s, in run order (refs: s): %s"
                % (what, ", ".join("%d: %.3f" % (r["refs"], r["watcher_cpu_s"]) for r in runs)))
    ratio = m3 / m1 if m1 else None
    report.row(8, "fanlarge: watcher CPU, edits to %s, 3 refs (median of %d)"
               % (what, len(three)), m3, m1, "s", "1 ref, same edits",
               target="ratio <= 1.5", met=ratio is not None and ratio <= 1.5, ratio=ratio)
    return {"runs": runs, "median_1": m1, "median_3": m3}


def fanout(sz, report):
    return {"cpu": cpu(sz, report), "freeze": freeze(sz, report)}
