"""The seven workloads of bench/suite.py (issue 7), each with its anchors
in the same run. Each takes the sizes (suite.SIZES[...]) and a Report, adds
its rows to the report and returns its details (for --json).

Every livesync result is checked identical to its source (harness
diff_trees: paths, types, modes, mtimes, sha256 of content); a mismatch is
a product bug: the report says so loudly and the suite exits 1.
"""

import hashlib
import os
import subprocess
import time

import anchors
import common
import treegen
from common import harness

MiB = 1 << 20
REPO = common.REPO


def say(msg):
    print("[suite] %s" % msg, flush=True)


def new_env(name):
    """A harness Env whose files stay until the suite's scratch dir is
    removed at the end: deleting a tree of 100,000 files takes minutes on
    this disk, and must not run into the next workload's timing. (Single
    big files are still removed as soon as they are done with.)"""
    return harness.Env(name, keep=True)


# -- pairs ---------------------------------------------------------------------------


def tls_args(certs, role):
    return ["--openssl.certificate=%s/%s.pem" % (certs, role),
            "--openssl.key=%s/%s.key" % (certs, role),
            "--openssl.cafile=%s/ca.pem" % certs]


NODE_ARGS = []  # suite.py --node-arg values, given to both nodes of every pair
ROLE_ARGS = {"watcher": [], "reference": []}  # --watcher-arg / --reference-arg values


def _argv(argv, certs, role):
    """The harness's command line plus NODE_ARGS and the role's own
    ROLE_ARGS, with mutual TLS instead of --insecure when `certs` is a
    make-certs.sh dir."""
    if certs:
        argv = [a for a in argv if a != "--insecure"] + tls_args(certs, role)
    return argv + NODE_ARGS + ROLE_ARGS[role]


def start_reference(env, root=None, certs=None):
    return env.start_reference(argv=_argv(
        harness.reference_argv(root or env.ref, 0, log_level="info"), certs, "reference"))


def start_watcher(env, root=None, certs=None, wait_sync=True, timeout=60.0):
    return env.start_watcher(argv=_argv(
        harness.watcher_argv(root or env.src, env.reference.port, log_level="info"),
        certs, "watcher"), wait_sync=wait_sync, timeout=timeout)


def in_sync_line(node, since, timeout):
    """Waits for the next `in-sync` line from log line `since`; returns it."""
    return node.wait_line(harness.IN_SYNC_RE, timeout=timeout, since=since, what="in-sync")


def wire_bytes(env):
    """Payload bytes both ways on the reference's open connections."""
    b = common.tcp_bytes(env.reference.port)
    return None if b is None else b[0] + b[1]


def verify(env, report, what, src=None, ref=None):
    """Exact comparison; a difference is recorded as a product bug."""
    d = harness.diff_trees(src or env.src, ref or env.ref, limit=5, full=True)
    if d:
        report.mismatch("%s: reference differs from the source: %s" % (what, "; ".join(d)))
    return not d


def settle_disk():
    """Writeback of earlier steps must not land in the next timed one."""
    os.sync()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(4 * MiB), b""):
            h.update(b)
    return h.hexdigest()


def make_random_file(path, size):
    """`size` bytes of os.urandom (nothing repeats: no chunk can be found
    twice, nothing compresses); returns their sha256."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            b = os.urandom(min(left, 4 * MiB))
            h.update(b)
            f.write(b)
            left -= len(b)
    return h.hexdigest()


def wait_moved_to(ino, name, t0_ns, timeout):
    """ms from t0_ns until `name` appears complete in the watched dir, or
    None after `timeout` s: IN_MOVED_TO (a staged file renamed over it), or
    IN_CREATE when `ino` also watches that (the livesync reference links a
    new file in whole from an unnamed O_TMPFILE; rsync never creates the
    final name directly, so its side sees IN_MOVED_TO only)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        for t, mask, _c, n in ino.read_events(min(left, 1.0)):
            if n == name and mask & (common.IN_MOVED_TO | common.IN_CREATE):
                return common.ms(t - t0_ns)


# -- 1 latency -----------------------------------------------------------------------


def latency(sz, report):
    """A new 4 KiB file written and closed -> committed on the other side
    (IN_MOVED_TO, or IN_CREATE of a file linked in whole, by inotify
    there), livesync and lsyncd (delay=0, rsync
    daemon target) running side by side on their own dirs, alternating
    which goes first, one write at a time."""
    n, size = sz["latency_writes"], 4096
    env = new_env("suite-latency")
    daemon = lsy = ino_ls = ino_ly = None
    try:
        start_reference(env)
        start_watcher(env)
        daemon = anchors.RsyncDaemon(env.O("rsyncd"))
        lsrc = env.O("lsyncd-src")
        os.mkdir(lsrc)
        lsy = anchors.Lsyncd(env.outside, lsrc, daemon, "lsyncd", delay=0)
        ino_ls = common.Inotify(env.ref, common.IN_MOVED_TO | common.IN_CREATE)
        ino_ly = common.Inotify(lsy.target_dir, common.IN_MOVED_TO)
        sides = {"livesync": (env.src, env.ref, ino_ls), "lsyncd": (lsrc, lsy.target_dir, ino_ly)}
        got = {"livesync": [], "lsyncd": []}
        missing = {"livesync": 0, "lsyncd": 0}
        wrong = []
        for i in range(n):
            data = os.urandom(size)
            name = "w%04d.bin" % i
            for side in (("livesync", "lsyncd") if i % 2 == 0 else ("lsyncd", "livesync")):
                src, dst, ino = sides[side]
                ino.drain()
                t0 = time.perf_counter_ns()
                with open(os.path.join(src, name), "wb") as f:
                    f.write(data)
                ms = wait_moved_to(ino, name, t0, sz["latency_timeout"])
                if ms is None:
                    missing[side] += 1
                    continue
                got[side].append(ms)
                try:
                    with open(os.path.join(dst, name), "rb") as f:
                        if f.read() != data:
                            wrong.append((side, name))
                except OSError as e:
                    wrong.append((side, "%s: %s" % (name, e)))
            time.sleep(sz["latency_gap"])
        if missing["livesync"] or [w for w in wrong if w[0] == "livesync"]:
            report.mismatch("latency: livesync missed %d commits, wrong content %s"
                            % (missing["livesync"], [w for w in wrong if w[0] == "livesync"]))
        if missing["lsyncd"] or [w for w in wrong if w[0] == "lsyncd"]:
            report.note("1: lsyncd missed %d of %d commits (%.0f s each), wrong content %s"
                        % (missing["lsyncd"], n, sz["latency_timeout"],
                           [w for w in wrong if w[0] == "lsyncd"]))
        env.wait_converged(timeout=30)
        verify(env, report, "latency")
        ls, ly = common.summary_ms(got["livesync"]), common.summary_ms(got["lsyncd"])
        say("latency: livesync p50 %.1f ms, lsyncd p50 %s ms"
            % (ls["p50"], "%.1f" % ly["p50"] if ly else "-"))
        a = "lsyncd delay=0"
        for q, limit in (("p50", 10.0), ("p99", 50.0), ("max", None)):
            report.row(1, "latency %s (%d writes)" % (q, n), ls[q], ly[q] if ly else None, "ms", a,
                       target="<= %g ms" % limit if limit else None,
                       met=(ls[q] <= limit) if limit else None)
        if ly:
            report.row(1, "latency p50, ratio to lsyncd", None, None, "", a,
                       ratio=ls["p50"] / ly["p50"], target="ratio <= 0.1",
                       met=ls["p50"] / ly["p50"] <= 0.1)
        return {"livesync_ms": ls, "lsyncd_ms": ly, "missing": missing, "wrong": wrong,
                "samples": got}
    except BaseException:
        env.print_tails(n=20)
        raise
    finally:
        for x in (ino_ls, ino_ly):
            if x:
                x.close()
        for x in (lsy, daemon):
            if x:
                x.close()
        env.close()


# -- 2 bulk initial sync, 3 no-op reconcile -------------------------------------------


def bulk_and_noop(sz, report, do_bulk=True, do_noop=True):
    """One generated tree (treegen, seeded). 2: cp -a, rsync -a to the
    daemon, and livesync's initial sync to an empty reference (watcher
    start -> in-sync), one after the other, sync(2) between them. 3: then
    alternately a watcher restart over the unchanged tree (start ->
    in-sync) and rsync of the unchanged tree again, median of N each."""
    env = new_env("suite-bulk")
    daemon = None
    out = {}
    try:
        t0 = time.perf_counter()
        plan = treegen.make_tree(env.src, sz["bulk_files"], sz["bulk_bytes"], seed=1)
        settle_disk()
        out["tree"] = plan.as_dict()
        say("bulk tree: %s (made in %.1f s)" % (plan.describe(), time.perf_counter() - t0))
        daemon = anchors.RsyncDaemon(env.O("rsyncd"))
        if do_bulk:
            cp_s = anchors.timed(["cp", "-a", env.src, env.O("cp-dst")])
            settle_disk()
        rs = anchors.rsync_push(daemon, env.src, "bulk")
        settle_disk()
        start_reference(env)
        t_spawn = time.time()
        t0 = time.perf_counter()
        w = start_watcher(env, wait_sync=False)
        line = in_sync_line(w, 0, sz["sync_timeout"])
        ls_s = time.perf_counter() - t0
        # CPU of both nodes from their start to in-sync (the reference's
        # idle wait before the watcher came is a few ms).
        ls_cpu_w = common.proc_cpu_s(w.proc.pid)
        ls_cpu_r = common.proc_cpu_s(env.reference.proc.pid)
        ls_b = wire_bytes(env)
        watching = w.matching(r"\bwatching root=")
        start_s = common.log_wall(watching[0]) - t_spawn if watching else None
        report.note("2: livesync initial sync %.2f s from the watcher's start: start ->"
                    " `watching` (watches added) %s s, reconcile (in-sync elapsed_ms) %s ms" % (
                        ls_s, "%.3f" % start_s if start_s is not None else "?",
                        common.log_fields(line).get("elapsed_ms")))
        verify(env, report, "bulk initial sync")
        say("bulk: livesync %.2f s %s B, rsync %.2f s %d B%s" % (
            ls_s, ls_b, rs["seconds"], rs["bytes"], ", cp %.2f s" % cp_s if do_bulk else ""))
        if do_bulk:
            what = "bulk sync %d files %.0f MiB" % (plan.files, plan.bytes / MiB)
            report.row(2, what + ": time", ls_s, rs["seconds"], "s", "rsync -a daemon",
                       target="ratio <= 1.0", met=ls_s <= rs["seconds"])
            report.row(2, what + ": time", ls_s, cp_s, "s", "cp -a",
                       target="ratio <= 2.0", met=ls_s <= 2 * cp_s)
            report.row(2, what + ": CPU (user+sys)", ls_cpu_w + ls_cpu_r, rs["cpu_s"], "s",
                       "rsync -a daemon", target="ratio <= 1.2",
                       met=ls_cpu_w + ls_cpu_r <= 1.2 * rs["cpu_s"])
            report.note("2: CPU seconds (user + system) to in-sync: watcher %.2f, reference %.2f;"
                        " rsync client %.2f, daemon side %.2f" % (
                            ls_cpu_w, ls_cpu_r, rs["client_cpu_s"], rs["server_cpu_s"]))
            report.row(2, what + ": bytes", ls_b, rs["bytes"], "B", "rsync -a daemon")
            out["bulk"] = {"livesync_s": ls_s, "livesync_wire_bytes": ls_b, "in_sync": line,
                           "livesync_cpu_s": {"watcher": ls_cpu_w, "reference": ls_cpu_r},
                           "rsync": rs, "cp_s": cp_s}
        if do_noop:
            out["noop"] = _noop(sz, report, env, daemon)
        return out
    except BaseException:
        env.print_tails(n=20)
        raise
    finally:
        if daemon:
            daemon.close()
        env.close()


def _noop(sz, report, env, daemon):
    runs = []
    for k in range(sz["noop_reps"]):
        env.watcher.stop()
        settle_disk()
        r = {}
        for side in (("livesync", "rsync") if k % 2 == 0 else ("rsync", "livesync")):
            if side == "rsync":
                r["rsync"] = anchors.rsync_push(daemon, env.src, "bulk")
                continue
            t0 = time.perf_counter()
            w = start_watcher(env, wait_sync=False)
            line = in_sync_line(w, 0, sz["sync_timeout"])
            r["livesync_s"] = time.perf_counter() - t0
            r["livesync_wire_bytes"] = wire_bytes(env)
            f = common.log_fields(line)
            r["content_bytes"] = int(f.get("literal_bytes", -1)) + int(f.get("copied_bytes", -1))
            r["in_sync"] = line
        runs.append(r)
    verify(env, report, "no-op reconcile")
    ls_s = common.median([r["livesync_s"] for r in runs])
    rs_s = common.median([r["rsync"]["seconds"] for r in runs])
    ls_b = common.median([r["livesync_wire_bytes"] for r in runs])
    rs_b = common.median([r["rsync"]["bytes"] for r in runs])
    content = max(r["content_bytes"] for r in runs)
    say("no-op: livesync %.3f s %d B (content %d), rsync %.3f s %d B" % (ls_s, ls_b, content, rs_s, rs_b))
    n = len(runs)
    report.row(3, "no-op reconcile: time (median of %d)" % n, ls_s, rs_s, "s", "rsync -a daemon",
               target="ratio <= 0.5", met=ls_s <= 0.5 * rs_s)
    report.row(3, "no-op reconcile: file content bytes", content,
               max(r["rsync"]["literal"] for r in runs), "B", "rsync literal data",
               target="0", met=content == 0)
    report.row(3, "no-op reconcile: bytes on the wire", ls_b, rs_b, "B", "rsync -a daemon")
    return {"runs": runs}


# -- 4 burst -------------------------------------------------------------------------


def burst(sz, report):
    """A generated tree (no large files) is untarred (`tar -xf`, a real
    untar) into the watched root of a running, in-sync pair. Time from
    tar's exit (the last write) until the reference holds the same tree
    (polled: types, modes, sizes, mtimes, link targets; then confirmed
    with sha256). Anchor: rsync -a of the same finished tree to the
    daemon, after the pair has stopped; also the same untar into an
    unwatched dir with no pair running (what the writer alone costs)."""
    env = new_env("suite-burst")
    daemon = None
    try:
        stage = env.O("stage")
        os.mkdir(stage)
        plan = treegen.make_tree(stage, sz["burst_files"], sz["burst_bytes"], seed=2, large_files=0)
        tarball = env.O("stage.tar")
        subprocess.run(["tar", "-cf", tarball, "-C", stage, "."], check=True)
        say("burst tree: %s" % plan.describe())
        settle_disk()
        plain = env.O("plain")
        os.mkdir(plain)
        untar_alone_s = anchors.timed(["tar", "-xf", tarball, "-C", plain])
        settle_disk()
        start_reference(env)
        start_watcher(env)
        b0 = wire_bytes(env)
        t0 = time.perf_counter()
        subprocess.run(["tar", "-xf", tarball, "-C", env.src], check=True)
        t_last = time.perf_counter()
        expected = treegen.manifest(env.src)
        polls, prev, t_done = 0, t_last, None
        deadline = t_last + sz["sync_timeout"]
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            polls += 1
            if treegen.manifest(env.ref) == expected:
                t_done = time.perf_counter()
                break
            env.check_nodes_alive()
            prev = start
            time.sleep(0.02)
        if t_done is None:
            report.mismatch("burst: reference not identical %.0f s after the last write"
                            % sz["sync_timeout"])
        time.sleep(0.3)  # the last acknowledgements
        ls_b = wire_bytes(env) - b0
        verify(env, report, "burst")
        after_s = (t_done - t_last) if t_done else None
        env.stop_all()
        settle_disk()
        daemon = anchors.RsyncDaemon(env.O("rsyncd"))
        rs = anchors.rsync_push(daemon, env.src, "burst")
        say("burst: untar %.2f s (alone %.2f s), then identical after %s s (poll resolution %.3f s);"
            " rsync %.2f s" % (t_last - t0, untar_alone_s,
                               "%.3f" % after_s if after_s is not None else "NEVER",
                               (t_done or t_last) - prev, rs["seconds"]))
        what = "burst %d files %.0f MiB: last write -> identical" % (plan.files, plan.bytes / MiB)
        report.row(4, what, after_s, rs["seconds"], "s", "rsync -a daemon",
                   target="ratio <= 1.5", met=after_s is not None and after_s <= 1.5 * rs["seconds"])
        report.row(4, "burst: the untar itself, pair running", t_last - t0, untar_alone_s, "s",
                   "untar, no pair")
        report.row(4, "burst: bytes", ls_b, rs["bytes"], "B", "rsync -a daemon")
        return {"tree": plan.as_dict(), "untar_s": t_last - t0, "untar_alone_s": untar_alone_s,
                "after_last_write_s": after_s, "poll_resolution_s": (t_done or t_last) - prev,
                "polls": polls, "livesync_wire_bytes": ls_b, "rsync": rs}
    except BaseException:
        env.print_tails(n=20)
        raise
    finally:
        if daemon:
            daemon.close()
        env.close()


# -- 5 directory rename ----------------------------------------------------------------


def dir_rename(sz, report):
    """A directory holding N files (in N/100 subdirs) renamed in the watched
    tree of an in-sync pair: bytes both ways on the connection and time
    until the reference's IN_MOVED_TO of the new name (its rename(2)).
    Anchor: rsync -a --delete of the renamed tree to the daemon, which
    held the tree before the rename."""
    env = new_env("suite-rename")
    daemon = ino = None
    try:
        os.mkdir(env.S("moved"))
        files = sz["rename_files"]
        treegen.make_flat_tree(env.S("moved"), files, max(1, files // 100), 100, 1000, seed=3)
        settle_disk()
        daemon = anchors.RsyncDaemon(env.O("rsyncd"))
        anchors.rsync_push(daemon, env.src, "rename")
        start_reference(env)
        start_watcher(env, timeout=120)
        env.wait_converged(timeout=60)
        ino = common.Inotify(env.ref, common.IN_MOVED_TO)
        time.sleep(0.5)  # the last acknowledgements of the initial sync
        b0 = wire_bytes(env)
        t0 = time.perf_counter_ns()
        os.rename(env.S("moved"), env.S("renamed"))
        ms = wait_moved_to(ino, "renamed", t0, 30)
        time.sleep(0.5)
        ls_b = wire_bytes(env) - b0
        if ms is None:
            report.mismatch("rename: no IN_MOVED_TO of the new name on the reference in 30 s")
        env.wait_converged(timeout=30)
        verify(env, report, "rename")
        env.stop_all()
        settle_disk()
        rs = anchors.rsync_push(daemon, env.src, "rename", ["--delete"])
        say("rename: livesync %s ms %d B, rsync %.3f s %d B" % (ms, ls_b, rs["seconds"], rs["bytes"]))
        report.row(5, "rename of a dir of %d files: bytes" % files, ls_b, rs["bytes"], "B",
                   "rsync -a --delete", target="< 10 KB", met=ls_b < 10_000)
        report.row(5, "rename of a dir of %d files: time" % files,
                   ms / 1000 if ms is not None else None, rs["seconds"], "s",
                   "rsync -a --delete", target="< 100 ms", met=ms is not None and ms < 100)
        return {"livesync_ms": ms, "livesync_wire_bytes": ls_b, "rsync": rs}
    except BaseException:
        env.print_tails(n=20)
        raise
    finally:
        if ino:
            ino.close()
        if daemon:
            daemon.close()
        env.close()


# -- 6 scale ---------------------------------------------------------------------------


def _rss(node):
    return common.proc_status_kib(node.proc.pid, "VmRSS")


def _idle(pids, seconds):
    before = {p: common.thread_counters(p) for p in pids}
    time.sleep(seconds)
    return {p: common.thread_delta(before[p], common.thread_counters(p)) for p in pids}


def _idle_summary(delta):
    cpu = sum(v[1] for v in delta.values())
    vol = sum(v[2] for v in delta.values())
    inv = sum(v[3] for v in delta.values())
    busy = sorted(((v[2] + v[3], v[0], v[1]) for v in delta.values()), reverse=True)
    return {"cpu_ms": cpu / 1e6, "wakeups": vol, "involuntary": inv, "threads": len(delta),
            "by_thread": ["%s:%d wakeups %.2f ms" % (n, k, c / 1e6) for k, n, c in busy if k]}


def scale(sz, report):
    """N files (1-64 B) in D directories. Base: a pair on an empty tree
    (VmRSS after in-sync). Then the same on the big tree: time from the
    watcher's start to its `watching ... directories=D` line (every watch
    added), time to in-sync (initial sync), VmRSS after in-sync beyond the
    base, per file; then CPU time and wake-ups of every thread of both
    nodes over an idle period. Anchor: the rsync client's peak RSS beyond
    its own base (an empty tree), per file, and its time for the tree."""
    env = new_env("suite-scale")
    daemon = None
    try:
        files, dirs = sz["scale_files"], sz["scale_dirs"]
        # -- bases: the same programs on an empty tree
        empty_src, empty_ref = env.O("empty-src"), env.O("empty-ref")
        os.mkdir(empty_src)
        start_reference(env, root=empty_ref)
        start_watcher(env, root=empty_src)
        time.sleep(1.0)
        base_w, base_r = _rss(env.watcher), _rss(env.reference)
        empty_pids = {"watcher": env.watcher.proc.pid, "reference": env.reference.proc.pid}
        idle_empty = _idle(list(empty_pids.values()), min(5.0, sz["idle_s"]))
        env.stop_all()
        daemon = anchors.RsyncDaemon(env.O("rsyncd"))
        rs_empty = anchors.rsync_push(daemon, empty_src, "empty")
        # -- the big tree
        t0 = time.perf_counter()
        n, nbytes = treegen.make_flat_tree(env.src, files, dirs, 1, 64, seed=4)
        say("scale tree: %d files in %d dirs (%.1f MiB), made in %.1f s"
            % (n, dirs, nbytes / MiB, time.perf_counter() - t0))
        settle_disk()
        rs = anchors.rsync_push(daemon, env.src, "scale")
        settle_disk()
        start_reference(env)
        t_spawn = time.time()
        t0 = time.perf_counter()
        w = start_watcher(env, wait_sync=False)
        line = w.wait_line(r"\bwatching root=", timeout=sz["sync_timeout"], what="watching line")
        setup_s = common.log_wall(line) - t_spawn
        in_sync_line(w, 0, sz["sync_timeout"])
        sync_s = time.perf_counter() - t0
        watched = int(common.log_fields(line).get("directories", -1))
        time.sleep(2.0)
        rss_w, rss_r = _rss(w), _rss(env.reference)
        hwm_w, hwm_r = env.watcher.peak_rss_kib(), env.reference.peak_rss_kib()
        idle = _idle([w.proc.pid, env.reference.proc.pid], sz["idle_s"])
        iw, ir = _idle_summary(idle[w.proc.pid]), _idle_summary(idle[env.reference.proc.pid])
        t_cmp = time.perf_counter()
        verify(env, report, "scale")
        cmp_s = time.perf_counter() - t_cmp
        env.stop_all()
        per_w = (rss_w - base_w) * 1024 / n
        per_r = (rss_r - base_r) * 1024 / n
        per_rsync = (rs["peak_rss_kib"] - rs_empty["peak_rss_kib"]) * 1024 / n
        say("scale: watches for %d dirs in %.3f s; in-sync in %.1f s (rsync %.1f s); VmRSS watcher"
            " %d -> %d KiB, reference %d -> %d KiB; rsync %d -> %d KiB; diff %.1f s"
            % (watched, setup_s, sync_s, rs["seconds"], base_w, rss_w, base_r, rss_r,
               rs_empty["peak_rss_kib"], rs["peak_rss_kib"], cmp_s))
        for who, s in (("watcher", iw), ("reference", ir)):
            report.note("6: idle %.0f s, %s: %d threads, CPU %.2f ms, %d wake-ups (+%d involuntary "
                        "switches); by thread: %s" % (sz["idle_s"], who, s["threads"], s["cpu_ms"],
                                                      s["wakeups"], s["involuntary"],
                                                      ", ".join(s["by_thread"]) or "none"))
        what = "scale %d files/%d dirs" % (n, dirs)
        report.row(6, what + ": watcher RSS per file", per_w, per_rsync, "B", "rsync client",
                   target="<= 200 B", met=per_w <= 200)
        report.row(6, what + ": reference RSS per file", per_r, per_rsync, "B", "rsync client")
        report.row(6, what + ": watch setup", setup_s, None, "s", "")
        report.row(6, what + ": initial sync", sync_s, rs["seconds"], "s", "rsync -a daemon")
        for who, s in (("watcher", iw), ("reference", ir)):
            report.row(6, "idle %.0f s, %s: CPU" % (sz["idle_s"], who), s["cpu_ms"], None, "ms", "",
                       target="< 10 ms", met=s["cpu_ms"] < 10)
            report.row(6, "idle %.0f s, %s: wake-ups" % (sz["idle_s"], who), s["wakeups"], None,
                       "", "", target="0 (timers)", met=s["wakeups"] == 0)
        return {"files": n, "dirs": dirs, "bytes": nbytes, "watched_dirs": watched,
                "watch_setup_s": setup_s, "initial_sync_s": sync_s,
                "base_rss_kib": {"watcher": base_w, "reference": base_r},
                "rss_kib": {"watcher": rss_w, "reference": rss_r},
                "hwm_kib": {"watcher": hwm_w, "reference": hwm_r},
                "per_file_bytes": {"watcher": per_w, "reference": per_r, "rsync": per_rsync},
                "idle": {"watcher": iw, "reference": ir},
                "idle_empty_tree": {who: _idle_summary(idle_empty[pid])
                                    for who, pid in empty_pids.items()},
                "rsync": rs, "rsync_empty": rs_empty, "diff_s": cmp_s}
    except BaseException:
        env.print_tails(n=20)
        raise
    finally:
        if daemon:
            daemon.close()
        env.close()


# -- 7 throughput ----------------------------------------------------------------------


def throughput(sz, report):
    """One big file (random bytes) renamed into the watched root of
    an in-sync pair (no write happens under the watcher: the timing is the
    streaming alone), until the reference's IN_MOVED_TO of it; plain TCP,
    then mutual TLS (scripts/make-certs.sh). Anchor: the same file copied
    over a raw loopback socket (bench/tcp_copy.py) before and after; the
    ratios are against their mean."""
    env = new_env("suite-throughput")
    size = sz["throughput_bytes"]
    try:
        big = env.O("big.bin")
        want = make_random_file(big, size)
        certs = env.O("certs")
        subprocess.run(["bash", os.path.join(REPO, "scripts", "make-certs.sh"), certs],
                       check=True, stdout=subprocess.DEVNULL)
        timeout = 120 + size / MiB / 5
        raw = []

        def raw_copy():
            settle_disk()
            dst = env.O("raw.bin")
            raw.append(anchors.tcp_copy(big, dst, timeout))
            os.remove(dst)

        raw_copy()
        got = {}
        for mode in ("plain", "tls"):
            ref_root = env.O("ref-" + mode)
            c = certs if mode == "tls" else None
            start_reference(env, root=ref_root, certs=c)
            start_watcher(env, certs=c)
            ino = common.Inotify(ref_root, common.IN_MOVED_TO)
            try:
                settle_disk()
                t0 = time.perf_counter_ns()
                os.rename(big, env.S("big.bin"))
                ms = wait_moved_to(ino, "big.bin", t0, timeout)
                b = wire_bytes(env)
            finally:
                ino.close()
            env.stop_all()
            # content by sha256 against the source's (hashed once), the rest
            # (mode, size, mtime) by the harness
            d = harness.diff_trees(env.src, ref_root, limit=5, full=False)
            if ms is None:
                report.mismatch("throughput %s: no commit in %.0f s" % (mode, timeout))
            elif d or sha256(os.path.join(ref_root, "big.bin")) != want:
                report.mismatch("throughput %s: the reference copy differs: %s" % (mode, d))
            got[mode] = {"s": ms / 1000 if ms else None, "wire_bytes": b}
            os.rename(env.S("big.bin"), big)
            common.rm_tree(ref_root)
        raw_copy()
        raw_s = sum(raw) / len(raw)
        mib = size / MiB
        rate = {m: (mib / g["s"] if g["s"] else None) for m, g in got.items()}
        say("throughput %.0f MiB: raw TCP %s s, livesync plain %s s, TLS %s s"
            % (mib, ["%.2f" % x for x in raw], got["plain"]["s"], got["tls"]["s"]))
        for mode, limit in (("plain", 0.7), ("tls", 0.5)):
            r = rate[mode]
            report.row(7, "throughput %.0f MiB file, %s" % (mib, "TLS" if mode == "tls" else "plain TCP"),
                       r, mib / raw_s, "MiB/s", "raw TCP copy", target="ratio >= %g" % limit,
                       met=r is not None and r >= limit * mib / raw_s)
        return {"size": size, "raw_s": raw, "livesync": got, "mib_per_s": rate}
    except BaseException:
        env.print_tails(n=20)
        raise
    finally:
        env.close()
