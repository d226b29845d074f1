"""E2E: metrics in Prometheus' text exposition format (issue 14, "Metrics
and messages people expect"): `status --format=prometheus`, and
`--metrics-file` on both nodes for node_exporter's textfile collector,
replaced atomically while there is activity and never rewritten while the
pair is idle."""

import json
import os
import re
import shutil
import subprocess
import threading
import time

from harness import (COMMON_ARGS, REFERENCE, WATCHER, Skip, binary, check,
                     e2e_test, log, reference_argv, watcher_argv, write_file)
from tests_control import command, control_port, flush
from tests_idle import switches, woken

INTERVAL = 0.2  # --metrics-interval of these tests, in seconds
IDLE_WINDOW = 11.0  # seconds observed for wake-ups (see test_metrics_file)

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse(text):
    """{(name, ((label, value), ...)): float} of an exposition text, after
    checking that each sample follows its family's HELP and TYPE lines."""
    check(text.endswith("\n"), "exposition does not end with a newline")
    out, family, types = {}, None, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            family = line.split(" ")[2]
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            check(name == family, "TYPE %s not right after its HELP" % name)
            types[name] = kind
            continue
        m = SAMPLE_RE.match(line)
        check(m, "malformed line %r" % line)
        name, labels, value = m.groups()
        base = re.sub(r"_(bucket|sum|count)$", "", name) \
            if types.get(family) == "histogram" else name
        check(base == family and family in types,
              "sample %s outside its family (%s)" % (name, family))
        pairs = tuple((k, v) for k, v, _ in LABEL_RE.findall(labels or ""))
        key = (name, pairs)
        check(key not in out, "series twice: %r" % (key,))
        out[key] = float(value)
    return out, types


def value(samples, name, **labels):
    hits = [v for (n, ls), v in samples.items()
            if n == name and all(dict(ls).get(k) == w for k, w in labels.items())]
    check(len(hits) == 1, "%d samples of %s %r" % (len(hits), name, labels))
    return hits[0]


def check_histogram(samples, name):
    """Buckets ascending and cumulative, +Inf last and equal to _count."""
    buckets = sorted(((float(dict(ls)["le"]), v) for (n, ls), v in samples.items()
                      if n == name + "_bucket"))
    check(buckets and buckets[-1][0] == float("inf"), "no +Inf bucket in %s" % name)
    counts = [v for _, v in buckets]
    check(counts == sorted(counts), "%s buckets not cumulative: %r" % (name, buckets))
    check(buckets[-1][1] == value(samples, name + "_count"),
          "%s: +Inf bucket differs from _count" % name)
    return buckets


def read_whole(path):
    """(inode, text) of the file as one open sees it; None if absent."""
    try:
        with open(path, "rb") as f:
            return os.fstat(f.fileno()).st_ino, f.read().decode("utf-8")
    except FileNotFoundError:
        return None


def wait_file(path, cond, what, timeout=15.0):
    """Polls `path` until cond(samples) holds; returns the samples."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        got = read_whole(path)
        if got is not None:
            last, _ = parse(got[1])
            if cond(last):
                return last
        time.sleep(0.02)
    raise AssertionError("%s: no %s within %.0f s; last read: %r"
                         % (path, what, timeout, sorted(last.items())[:8] if last else None))


def wait_quiet(path, quiet=3 * INTERVAL, timeout=15.0):
    """Polls until the file has not been replaced for `quiet` seconds: the
    pacer writes at most one interval after the last change, so any write
    still owed has been made."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if time.time() - os.stat(path).st_mtime > quiet:
            return
        time.sleep(0.05)
    raise AssertionError("%s still rewritten after %.0f s" % (path, timeout))


def wait_threads_quiet(pids, quiet=0.5, timeout=15.0):
    """Polls until no thread of these processes has gone to sleep again for
    `quiet` seconds: what the last command run against them (a status
    connection closing) set off is over before an idle window starts."""
    deadline = time.monotonic() + timeout
    last = {p: switches(p) for p in pids}
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = {p: switches(p) for p in pids}
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
    raise AssertionError("threads of %r still busy after %.0f s" % (pids, timeout))


class TornReadWatch(threading.Thread):
    """Reads the files over and over while the pair works: every read must
    be a whole exposition (each file ends with its last family's last
    line), and each write a new inode (renamed in, never rewritten in
    place)."""

    def __init__(self, paths_and_last):
        super().__init__(daemon=True)
        self.paths = paths_and_last
        self.stop = threading.Event()
        self.inodes = {p: set() for p in paths_and_last}
        self.reads = 0
        self.torn = []

    def run(self):
        while not self.stop.is_set():
            for path, last in self.paths.items():
                got = read_whole(path)
                if got is None:
                    continue
                ino, text = got
                self.reads += 1
                self.inodes[path].add(ino)
                lines = text.splitlines()
                if not text.endswith("\n") or not lines or not lines[-1].startswith(last):
                    self.torn.append((path, text[-200:]))
            time.sleep(0.002)


def start_pair_with_metrics(env, tdir):
    wfile = os.path.join(tdir, "watcher.prom")
    rfile = os.path.join(tdir, "reference.prom")
    interval = "--metrics-interval=%dms" % (INTERVAL * 1000)
    env.start_reference(extra=["--metrics-file=" + rfile, interval])
    env.start_watcher(extra=["--metrics-file=" + wfile, interval])
    return wfile, rfile


@e2e_test()
def test_status_prometheus(env):
    """status --format=prometheus: every family with HELP and TYPE, the
    counters status --json shows, the state, labels naming the root and
    the reference, the latency as a histogram; --format=bogus is exit 2."""
    env.start_pair()
    port = control_port(env)
    for i in range(5):
        write_file(env.S("f%d" % i), b"x" * (i + 1) * 1000)
    rc, _, _ = flush(env, port)
    check(rc == 0, "flush failed")
    rc, out, err = command(env, "status", "--control-port=%d" % port,
                           "--format=prometheus")
    check(rc == 0 and not err, "status --format=prometheus: rc=%s err=%r" % (rc, err))
    samples, types = parse(out)
    rc, js, _ = command(env, "status", "--control-port=%d" % port, "--format=json")
    s = json.loads(js)
    ref = "127.0.0.1:%d" % env.reference.port
    for (name, labels), _ in samples.items():
        ls = dict(labels)
        check(ls.get("root") == env.src and ls.get("reference") == ref,
              "%s lacks root/reference labels: %r" % (name, ls))
    for name, kind in types.items():
        check(kind != "counter" or name.endswith("_total"), "counter %s" % name)
    for name, key in (("livesync_watcher_ops_total", "ops"),
                      ("livesync_watcher_files_sent_total", "files"),
                      ("livesync_watcher_request_bytes_total", "wire_bytes"),
                      ("livesync_watcher_literal_bytes_total", "literal_bytes")):
        check(value(samples, name) == s[key], "%s=%s, status says %s"
              % (name, value(samples, name), s[key]))
    check(value(samples, "livesync_watcher_files_sent_total") >= 5, "files sent")
    check(value(samples, "livesync_watcher_state", state="in-sync") == 1
          and value(samples, "livesync_watcher_state", state="syncing") == 0,
          "state is not in-sync")
    check(value(samples, "livesync_watcher_info", transport="tcp") == 1, "info")
    check(types["livesync_watcher_latency_seconds"] == "histogram", "histogram type")
    buckets = check_histogram(samples, "livesync_watcher_latency_seconds")
    check(buckets[-1][1] == s["latency_samples"] >= 1, "latency samples")
    check(0 < value(samples, "livesync_watcher_latency_seconds_sum") < 60, "latency sum")
    started = value(samples, "livesync_watcher_start_time_seconds")
    check(abs(time.time() - s["uptime_s"] - started) <= 2, "start time %s" % started)

    for bad in (["--format=bogus"], ["--format=prometheus", "--json"]):
        rc, out, err = command(env, "status", "--control-port=%d" % port, *bad)
        check(rc == 2 and "format" in err and len(err.strip().splitlines()) == 1
              and not out, "status %s: rc=%s err=%r" % (" ".join(bad), rc, err))
    rc, _, err = command(env, "status", "--control-port=%d" % port, "--format=bogus")
    check("expected text, json or prometheus" in err, "unclear error: %r" % err)


@e2e_test(timeout=90)
def test_metrics_file(env):
    """--metrics-file on both nodes: present from the start, replaced by
    rename while files are written (no read ever sees half a file), equal
    to `status` once the pair settles, then never rewritten while idle (and
    neither node wakes up); the last write says stopped."""
    tdir = os.path.join(env.base, "textfile")
    os.mkdir(tdir)
    wfile, rfile = start_pair_with_metrics(env, tdir)
    port = control_port(env)
    wait_file(wfile, lambda s: value(s, "livesync_watcher_state", state="in-sync") == 1,
              "in-sync state")
    wait_file(rfile, lambda s: value(s, "livesync_reference_watcher_connected") == 1,
              "connected watcher")
    watch = TornReadWatch({wfile: "livesync_watcher_latency_seconds_count",
                           rfile: "livesync_reference_written_bytes_total"})
    watch.start()
    n = 200
    t0 = time.monotonic()
    for i in range(n):
        write_file(env.S("d%d" % (i % 7), "f%03d" % i), ("file %d\n" % i).encode() * 50)
        if i % 10 == 9:
            time.sleep(0.05)  # spread the work over several intervals
    rc, _, _ = flush(env, port)
    check(rc == 0, "flush failed")
    log("wrote %d files in %.2f s" % (n, time.monotonic() - t0))
    rc, js, _ = command(env, "status", "--control-port=%d" % port, "--format=json")
    s = json.loads(js)
    wsamples = wait_file(
        wfile, lambda x: value(x, "livesync_watcher_ops_total") == s["ops"]
        and value(x, "livesync_watcher_state", state="in-sync") == 1,
        "final counters")
    rsamples = wait_file(
        rfile, lambda x: value(x, "livesync_reference_files_committed_total") >= n,
        "files committed")
    wait_quiet(wfile)
    wait_quiet(rfile)
    watch.stop.set()
    watch.join()
    log("reads while writing: %d; inodes seen: watcher %d, reference %d"
        % (watch.reads, len(watch.inodes[wfile]), len(watch.inodes[rfile])))
    check(not watch.torn, "a read saw a partial file: %r" % watch.torn[:2])
    for p in (wfile, rfile):
        check(len(watch.inodes[p]) >= 3, "%s was not replaced while the pair "
              "worked (inodes %r)" % (p, watch.inodes[p]))

    # Once settled, the file says what status says.
    wsamples, _ = parse(read_whole(wfile)[1])
    rc, prom, _ = command(env, "status", "--control-port=%d" % port,
                          "--format=prometheus")
    now, _ = parse(prom)
    for name in ("livesync_watcher_ops_total", "livesync_watcher_requests_total",
                 "livesync_watcher_files_sent_total", "livesync_watcher_latency_seconds_count"):
        check(value(wsamples, name) == value(now, name), "file and status differ on %s" % name)
    check(value(wsamples, "livesync_watcher_files_sent_total") >= n, "files sent")
    check_histogram(wsamples, "livesync_watcher_latency_seconds")
    rsamples, _ = parse(read_whole(rfile)[1])
    check(value(rsamples, "livesync_reference_batches_total") >= 1
          and value(rsamples, "livesync_reference_op_errors_total") == 0
          and value(rsamples, "livesync_reference_written_bytes_total") > 0,
          "reference counters: %r" % sorted(rsamples.items()))
    info = [dict(ls)["watcher"] for (n, ls), _ in rsamples.items()
            if n == "livesync_reference_watcher_info"]
    check(len(info) == 1 and info[0].endswith(":" + env.src),
          "the reference does not name the watcher: %r" % info)
    check(sorted(os.listdir(tdir)) == ["reference.prom", "watcher.prom"],
          "left behind in the textfile directory: %r" % os.listdir(tdir))

    # Idle: no rewrite and no wake-up.
    pids = {"watcher": env.watcher.proc.pid, "reference": env.reference.proc.pid}
    wait_threads_quiet(pids.values())
    files = {p: os.stat(p) for p in (wfile, rfile)}
    before = {k: switches(p) for k, p in pids.items()}
    # The window observed, not a wait for anything. Longer than the 10 s
    # timeout of the status requests behind each write (metrics file ->
    # control -> sender, debouncer, tracker): CAF 0.17 fires a timeout
    # even after its answer unless it is cancelled, and this catches one
    # left behind.
    time.sleep(IDLE_WINDOW)
    after = {k: switches(p) for k, p in pids.items()}
    for p, st in files.items():
        now_st = os.stat(p)
        check((now_st.st_ino, now_st.st_mtime_ns) == (st.st_ino, st.st_mtime_ns),
              "%s rewritten while idle" % p)
    for k in pids:
        w = woken(before[k], after[k])
        log("%s: threads woken in %.0f s: %s" % (k, IDLE_WINDOW, w or "none"))
        check(not w, "%s woke up while idle: %s" % (k, ", ".join(w)))

    # The last writes say the nodes stopped.
    env.watcher.stop()
    wsamples, _ = parse(read_whole(wfile)[1])
    check(value(wsamples, "livesync_watcher_state", state="stopped") == 1
          and value(wsamples, "livesync_watcher_state", state="in-sync") == 0,
          "watcher state after exit")
    check(value(wsamples, "livesync_watcher_ops_total") == s["ops"], "final ops")
    env.reference.stop()
    rsamples, _ = parse(read_whole(rfile)[1])
    check(value(rsamples, "livesync_reference_running") == 0
          and value(rsamples, "livesync_reference_watcher_connected") == 0,
          "reference after exit")


@e2e_test(timeout=60)
def test_metrics_file_validated(env):
    """--metrics-file whose directory is missing (or a directory itself), on
    the command line or in the INI, and --metrics-interval out of range:
    one line naming the option, exit code 2, on both programs."""
    write_file(os.path.join(env.base, "plain"), b"not a directory")
    bad_paths = (os.path.join(env.base, "nope", "w.prom"),
                 os.path.join(env.base, "plain", "w.prom"),
                 env.outside)
    env.check_watcher_option_rejected("metrics-file", bad_paths)
    env.check_watcher_option_rejected("metrics-interval", ("10ms", "2h"))
    for extra in (["--metrics-file=" + bad_paths[0]], ["--metrics-interval=50ms"]):
        rc, _, err = env.run_cli(reference_argv(env.ref, extra=extra))
        check(rc == 2 and "metrics-" in err and len(err.strip().splitlines()) == 1,
              "reference %s: rc=%s err=%r" % (extra, rc, err))
    rc, _, err = env.run_cli(reference_argv(env.ref, extra=["--metrics-file=" + bad_paths[0]]))
    check("directory %s" % os.path.join(env.base, "nope") in err,
          "the missing directory is not named: %r" % err)
    for i, line in enumerate(('metrics-file="%s"' % bad_paths[0], "metrics-file=5")):
        cfg = os.path.join(env.base, "bad%d.ini" % i)
        write_file(cfg, line + "\n")
        for argv in (watcher_argv(env.src, 1, extra=["--config-file=" + cfg]),
                     reference_argv(env.ref, extra=["--config-file=" + cfg])):
            rc, _, err = env.run_cli(argv)
            check(rc == 2 and "metrics-file" in err and len(err.strip().splitlines()) == 1,
                  "%s in %s: rc=%s err=%r" % (line, os.path.basename(argv[0]), rc, err))


@e2e_test(timeout=90)
def test_metrics_promtool(env):
    """`promtool check metrics` (Prometheus' own parser and linter) accepts
    the output of status --format=prometheus and both metrics files, with
    no lint problem."""
    promtool = shutil.which("promtool")
    if not promtool:
        raise Skip("promtool not found: it comes with Debian's prometheus package "
                   "(scripts/setup.sh extracts only promtool from it); the format "
                   "is still checked by core.prometheus_text and e2e.status_prometheus")
    tdir = os.path.join(env.base, "textfile")
    os.mkdir(tdir)
    wfile, rfile = start_pair_with_metrics(env, tdir)
    port = control_port(env)
    write_file(env.S("dir with \"quotes\" and \\", "a"), b"a" * 100000)
    write_file(env.S("b"), b"b")
    rc, _, _ = flush(env, port)
    check(rc == 0, "flush failed")
    wait_quiet(wfile)
    rc, prom, _ = command(env, "status", "--control-port=%d" % port,
                          "--format=prometheus")
    check(rc == 0, "status failed")
    texts = {"status": prom}
    env.watcher.stop()
    env.reference.stop()  # both files now hold their last writes
    texts["watcher.prom"] = read_whole(wfile)[1]
    texts["reference.prom"] = read_whole(rfile)[1]
    for what, text in texts.items():
        p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        out = p.stdout.decode("utf-8", "replace").strip()
        log("promtool check metrics < %s: exit %d%s" % (what, p.returncode,
                                                         (": " + out) if out else ""))
        check(p.returncode == 0 and not out,
              "promtool rejects %s (exit %d):\n%s" % (what, p.returncode, out))
