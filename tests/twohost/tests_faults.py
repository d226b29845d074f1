"""Fault tests on two hosts (network namespaces joined by a veth pair).

Each test gets a `T` (run.py): t.net (netns.TwoHosts, up), t.env
(harness.Env: src/ watched, ref/ mirror, logs/), t.long (--long), and
t.result(key, value) to report a measured figure. Every wait is bounded;
every test ends with an exact comparison of both trees (harness.diff_trees:
paths, types, content, modes, symlink targets, file mtimes).
"""

import os
import re
import time

import netns
from netns import start_reference, start_watcher, line_time, log
import harness
from harness import check, Failure
import workload

TESTS = {}  # name -> (function, ctest timeout in s)


def twohost_test(timeout, needs_net=True):
    """Registers `test_<name>`. With needs_net=False the test also runs
    where network namespaces cannot be made (not root): both nodes on
    loopback, t.net is None (no link faults)."""
    def register(fn):
        name = fn.__name__[len("test_"):]
        fn.needs_net = needs_net
        TESTS[name] = (fn, timeout)
        return fn
    return register


PEER_LOST_RE = re.compile(r"\bpeer-lost\b")
RECONNECTED_RE = re.compile(r"\bpeer-reconnected\b")
CONTENT_OP_RE = re.compile(r"\bop-sent kind=(write_file|begin_file|chunk)\b")


def start_pair(t, timeout=30.0):
    ref = start_reference(t.env, t.net)
    wat = start_watcher(t.env, t.net, ref.port, timeout=timeout)
    t.env.wait_converged(timeout=timeout, what="initial sync")
    # The containers' health check sees both nodes healthy.
    check(netns.healthy(ref), "healthcheck.sh: the listening reference is unhealthy")
    check(netns.healthy(wat), "healthcheck.sh: the connected watcher is unhealthy")
    return ref, wat


def detect_time(node, since, t_fault, timeout, what):
    """Waits for a `peer-lost` line after log mark `since`; returns
    (seconds from t_fault (time.time()) to the line's own timestamp, line)."""
    line = node.wait_line(PEER_LOST_RE, timeout=timeout, since=since,
                          what="%s peer-lost line" % what)
    ts = line_time(line)
    dt = (ts - t_fault) if ts is not None else None
    return dt, line


def wait_health(node, want, timeout, what):
    """Polls docker/healthcheck.sh until it reports `want` (True: healthy);
    returns the seconds it took."""
    t0 = time.monotonic()
    while netns.healthy(node) != want:
        check(time.monotonic() - t0 < timeout, "healthcheck.sh: %s %s after %.1f s (%s)"
              % (node.name, "unhealthy" if want else "still healthy", timeout, what))
        time.sleep(0.1)
    return time.monotonic() - t0


def final_compare(t, timeout, what="trees converged"):
    """Bounded wait for an exact match; returns seconds waited."""
    return t.env.wait_converged(timeout=timeout, what=what)


# -- 1. link down during a stream of changes -----------------------------------


@twohost_test(timeout=90)
def test_link_down(t):
    env, net = t.env, t.net
    down_s = 10.0 if t.long else 4.0
    harness.fill_tree(env.src, files=200, size=300, seed=11)
    ref, wat = start_pair(t)

    churn = workload.Churn(env.S("churn"), seed=12, duration=down_s + 2.0)
    wm, rm = wat.mark(), ref.mark()
    churn.start()
    try:
        time.sleep(1.0)
        t_down = time.time()
        net.set_link(t.down_side, False)
        # Keep the link down for down_s whatever happens; note the
        # watcher's peer-lost line when it comes.
        lost_line = None
        t_lost = unhealthy_at = None
        while time.time() < t_down + down_s:
            hits = wat.matching(PEER_LOST_RE, since=wm)
            if hits and lost_line is None:
                lost_line = hits[0]
                t_lost = time.time()
                log("watcher: %s" % lost_line)
            if lost_line is not None and unhealthy_at is None and not netns.healthy(wat):
                # The containers' health check: once CAF has closed the dead
                # connection (just after it logs peer-lost), the watcher is
                # unhealthy: its reconnect attempts cannot complete.
                unhealthy_at = time.time()
            wat.check_alive()
            ref.check_alive()
            time.sleep(0.02)
        if t_lost is not None and t_lost < t_down + down_s - 1.0:
            check(unhealthy_at is not None, "healthcheck.sh: the watcher stayed healthy "
                  "for %.1f s without a link (%s)" % (t_down + down_s - t_lost, lost_line))
            t.result("unhealthy_after_peer_lost_s", unhealthy_at - t_lost)
        # A reference that lost its peer still listens.
        check(netns.healthy(ref), "healthcheck.sh: the reference is unhealthy while it listens")
        t_up = time.time()
        net.set_link(t.down_side, True)
        net.wait_link(True)
    except BaseException:
        churn.stop_event.set()
        raise
    finally:
        churn.join(timeout=down_s + 10)
    check(churn.error is None, "the writer thread failed: %r" % (churn.error,))
    t_end = time.time()
    log("churn: %s" % churn.summary())

    # Detection: the watcher must have seen the link die.
    if lost_line is None:
        # A late detection (just after the link came back) still counts as
        # detected, but the report shows it.
        dt, lost_line = detect_time(wat, wm, t_down, timeout=3.0, what="watcher")
    else:
        dt = line_time(lost_line) - t_down
    t.result("detect_watcher_s", dt)
    log("watcher detected the dead link %.3f s after link down (outage %.1f s): %s"
        % (dt, down_s, lost_line))
    ref_lost = ref.matching(PEER_LOST_RE, since=rm)
    if ref_lost:
        t.result("detect_reference_s", line_time(ref_lost[0]) - t_down)
        log("reference: %s" % ref_lost[0])

    # Reconnect and converge.
    rline = wat.wait_line(RECONNECTED_RE, timeout=30.0, since=wm,
                          what="peer-reconnected line after link up")
    t.result("reconnect_after_up_s", line_time(rline) - t_up)
    sline = wat.wait_line(harness.IN_SYNC_RE, timeout=30.0, since=wat.lines().index(rline),
                          what="in-sync after reconnect")
    log("watcher: %s" % rline)
    log("watcher: %s" % sline)
    check(netns.healthy(wat), "healthcheck.sh: the reconnected watcher is unhealthy")
    final_compare(t, timeout=30.0)
    t_conv = time.time()
    t.result("converge_after_up_s", t_conv - t_up)
    t.result("converge_after_last_change_s", t_conv - t_end)
    t.result("watcher_peer_lost_lines", len(wat.matching(PEER_LOST_RE, since=wm)))
    t.result("watcher_connect_failed_lines", len(wat.matching(r"\bconnect-failed\b", since=wm)))


# -- 2. reference killed mid-transfer of a large file --------------------------


@twohost_test(timeout=120)
def test_reference_kill(t):
    env, net = t.env, t.net
    size = t.big_mib * 1024 * 1024
    harness.fill_tree(env.src, files=20, size=300, seed=21)
    # An old version of the big file, mirrored first: while the new one is
    # in transfer, the reference must show either this or the complete new.
    old = os.urandom(1024 * 1024)
    harness.write_file(env.S("big.bin"), old, mode=0o644, mtime_ns=1_600_000_000_123_456_789)
    ref, wat = start_pair(t)
    port = ref.port
    staging = env.R(harness.STATE_DIR, "staging")

    # The new version: built outside the tree, renamed in (appears whole).
    new_path = env.O("big.bin")
    h = workload.hashlib.sha256()
    with open(new_path, "wb") as f:
        left = size
        while left:
            b = os.urandom(min(left, 8 << 20))
            h.update(b)
            f.write(b)
            left -= len(b)
    os.chmod(new_path, 0o640)
    os.utime(new_path, ns=(1_700_000_000_987_654_321,) * 2)
    allowed = {workload.hashlib.sha256(old).hexdigest(): "old", h.hexdigest(): "new"}
    root_allowed = set(os.listdir(env.src)) | {harness.STATE_DIR}
    poller = workload.RefPoller(env.R("big.bin"), allowed, root=env.ref,
                                root_allowed=root_allowed)
    poller.start()
    try:
        wm = wat.mark()
        t_start = time.monotonic()
        os.rename(new_path, env.S("big.bin"))

        # Kill when the reference has staged between 10 % and 90 % of it.
        staged = None
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            try:
                names = os.listdir(staging)
            except FileNotFoundError:
                names = []
            sizes = []
            for n in names:
                try:
                    sizes.append(os.lstat(os.path.join(staging, n)).st_size)
                except FileNotFoundError:
                    pass
            if sizes and max(sizes) >= size // 10:
                staged = max(sizes)
                break
            check(not poller.seen or all(v != "new" for v in poller.seen.values()),
                  "the transfer completed before it could be interrupted "
                  "(use a larger --big-mib)")
            ref.check_alive()
            time.sleep(0.002)
        check(staged is not None, "no staging file reached 10 %% of %d bytes within 60 s"
              % size)
        t_kill = time.time()
        ref.kill()  # SIGKILL
        log("killed %s with SIGKILL %.2f s after the rename, staged %d of %d bytes"
            % (ref.name, time.monotonic() - t_start, staged, size))
        check(staged < size, "staging already complete at the kill point")
        t.result("staged_at_kill_mib", staged / 2**20)
        stale = {}
        for n in os.listdir(staging):
            st = os.lstat(os.path.join(staging, n))
            stale[n] = (st.st_ino, st.st_size)
        log("staging after the kill: %s" % stale)

        dt, line = detect_time(wat, wm, t_kill, timeout=10.0, what="watcher")
        t.result("detect_watcher_s", dt)
        log("watcher: %s" % line)
        check(os.lstat(env.R("big.bin")).st_size == len(old),
              "reference big.bin is not the old version after the kill")

        # Restart on the same port.
        time.sleep(0.5)
        t_restart = time.time()
        wm2 = wat.mark()
        ref2 = start_reference(env, net, port=port)
        check(ref2.port == port, "restarted reference listens on %s, not %s"
              % (ref2.port, port))
        left_over = []
        for n in os.listdir(staging):
            try:
                st = os.lstat(os.path.join(staging, n))
            except FileNotFoundError:
                continue
            if n in stale and stale[n][0] == st.st_ino:
                left_over.append(n)
        t.result("stale_staging_after_restart", len(left_over))
        log("stale staging files still there once the restarted reference listens: %s"
            % (left_over or "none"))

        rline = wat.wait_line(RECONNECTED_RE, timeout=30.0, since=wm2,
                              what="peer-reconnected after the restart")
        log("watcher: %s" % rline)
        t.result("reconnect_after_restart_s", line_time(rline) - t_restart)
        sline = wat.wait_line(harness.IN_SYNC_RE, timeout=60.0, since=wm2,
                              what="in-sync after the restart")
        log("watcher: %s" % sline)
        final_compare(t, timeout=30.0)
        t.result("converge_after_restart_s", time.time() - t_restart)
    finally:
        poller.stop()
    check(poller.error is None, "poller failed: %r" % (poller.error,))
    log("poller: %d polls, versions seen at ref/big.bin: %s"
        % (poller.polls, sorted(set(poller.seen.values()))))
    check(not poller.violations, "partial or stray file visible on the reference:\n  %s"
          % "\n  ".join(poller.violations))

    # Staging must be empty after restart + convergence (allow a moment).
    deadline = time.monotonic() + 2.0
    while True:
        names = os.listdir(staging)
        if not names or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    check(not names, "reference staging not empty after restart and convergence: %s"
          % ["%s (%d bytes)%s" % (n, os.lstat(os.path.join(staging, n)).st_size,
                                  " STALE from before the kill" if n in stale else "")
             for n in names])
    final_compare(t, timeout=1.0, what="trees still identical")


@twohost_test(timeout=90)
def test_reference_kill_burst(t):
    """SIGKILL of the reference during a burst of small files: at the kill
    every burst file the reference shows is complete (content, mode, mtime
    equal to the source: each file is built outside the tree and renamed
    in, so it has one version only)."""
    env, net = t.env, t.net
    n_files = 3000
    harness.fill_tree(env.src, files=20, size=300, seed=51)
    ref, wat = start_pair(t)
    port = ref.port
    staging = env.R(harness.STATE_DIR, "staging")
    import random
    rng = random.Random(52)
    os.makedirs(env.O("burst"))
    rels = []
    for i in range(n_files):
        rel = os.path.join("burst", "d%02d" % (i % 30), "s%04d.bin" % i)
        harness.write_file(env.O(rel), rng.randbytes(rng.randint(1, 16384)),
                           mode=rng.choice((0o644, 0o600, 0o755)),
                           mtime_ns=1_600_000_000_000_000_000 + i * 1_000_003)
        rels.append(rel)
    for d in range(30):
        os.makedirs(env.S("burst", "d%02d" % d))
    wm = wat.mark()
    t0 = time.monotonic()
    for rel in rels:
        os.rename(env.O(rel), env.S(rel))
    t_end = time.time()
    log("%d files renamed into the tree in %.2f s" % (n_files, time.monotonic() - t0))

    def on_reference():
        n = 0
        try:
            for d in os.listdir(env.R("burst")):
                n += len(os.listdir(env.R("burst", d)))
        except FileNotFoundError:
            pass
        return n

    # Kill once the reference holds at least 10 % of them.
    deadline = time.monotonic() + 30.0
    have = 0
    while time.monotonic() < deadline:
        have = on_reference()
        if have >= n_files // 10:
            break
        ref.check_alive()
        time.sleep(0.002)
    check(have >= n_files // 10, "the reference held only %d burst files after 30 s" % have)
    t_kill = time.time()
    ref.kill()
    have = on_reference()
    log("killed %s with SIGKILL %.2f s after the burst began; %d of %d files on the reference"
        % (ref.name, time.monotonic() - t0, have, n_files))
    check(have < n_files, "all files arrived before the kill: nothing was interrupted")
    # The reference is dead: what it shows now is what it committed.
    shown = [r for r in rels if os.path.lexists(env.R(r))]
    bad = []
    for r in shown:
        sa, sb = os.lstat(env.S(r)), os.lstat(env.R(r))
        if (sa.st_size != sb.st_size or sa.st_mode != sb.st_mode or sa.st_mtime_ns != sb.st_mtime_ns
                or workload.sha256_file(env.S(r)) != workload.sha256_file(env.R(r))):
            bad.append("%s: src size=%d mode=%o mtime=%d, ref size=%d mode=%o mtime=%d"
                       % (r, sa.st_size, sa.st_mode, sa.st_mtime_ns,
                          sb.st_size, sb.st_mode, sb.st_mtime_ns))
    stray = sorted(set(os.listdir(env.ref)) - set(os.listdir(env.src)) - {harness.STATE_DIR})
    stale = {n: os.lstat(os.path.join(staging, n)).st_ino for n in os.listdir(staging)}
    t.result("files_on_reference_at_kill", len(shown))
    t.result("staging_files_at_kill", len(stale))
    check(not bad, "incomplete files visible on the killed reference (%d of %d):\n  %s"
          % (len(bad), len(shown), "\n  ".join(bad[:20])))
    check(not stray, "stray entries in the reference root: %s" % stray)
    dt, line = detect_time(wat, wm, t_kill, timeout=10.0, what="watcher")
    t.result("detect_watcher_s", dt)
    log("watcher: %s" % line)
    # The containers' health check: no reference, so no connection.
    wait_health(wat, False, timeout=2.0, what="the reference is dead")

    time.sleep(0.5)
    t_restart = time.time()
    wm2 = wat.mark()
    start_reference(env, net, port=port)
    left_over = [n for n in os.listdir(staging)
                 if n in stale and os.lstat(os.path.join(staging, n)).st_ino == stale[n]]
    t.result("stale_staging_after_restart", len(left_over))
    rline = wat.wait_line(RECONNECTED_RE, timeout=30.0, since=wm2,
                          what="peer-reconnected after the restart")
    t.result("reconnect_after_restart_s", line_time(rline) - t_restart)
    wat.wait_line(harness.IN_SYNC_RE, timeout=60.0, since=wm2, what="in-sync after the restart")
    check(netns.healthy(wat), "healthcheck.sh: the reconnected watcher is unhealthy")
    final_compare(t, timeout=30.0)
    t.result("converge_after_restart_s", time.time() - max(t_restart, t_end))
    names = os.listdir(staging)
    check(not names, "reference staging not empty after restart and convergence: %s" % names)


# -- 3. watcher killed and restarted over an unchanged tree ----------------------


@twohost_test(timeout=60)
def test_watcher_restart(t):
    env, net = t.env, t.net
    harness.fill_tree(env.src, files=300, size=500, seed=31)
    # Large files (chunked), modes, mtimes, symlinks, an empty directory.
    harness.write_file(env.S("large", "a.bin"), os.urandom(3 << 20), mode=0o600,
                       mtime_ns=1_650_000_000_000_000_001)
    harness.write_file(env.S("large", "b.bin"), os.urandom(300 << 10), mode=0o755)
    harness.write_file(env.S("large", "empty"), b"")
    harness.symlink("a.bin", env.S("large", "link"))
    harness.symlink("../nowhere", env.S("large", "dangling"))
    harness.make_dirs(env.S("emptydir"), mode=0o700)
    ref, wat = start_pair(t)

    rm = ref.mark()
    t_kill = time.time()
    wat.kill()  # SIGKILL
    log("killed %s with SIGKILL" % wat.name)
    dt, line = detect_time(ref, rm, t_kill, timeout=10.0, what="reference")
    t.result("detect_reference_s", dt)
    log("reference: %s" % line)

    t0 = time.monotonic()
    wat2 = start_watcher(env, net, ref.port)
    t.result("in_sync_after_restart_s", time.monotonic() - t0)
    env.assert_converged_now(grace=2.0)
    t.result("converge_after_restart_s", time.monotonic() - t0)
    harness.settle(1.0)  # late operations would show up now
    sent = wat2.op_sent()
    content = wat2.matching(CONTENT_OP_RE)
    log("restarted watcher: %s" % wat2.matching(harness.IN_SYNC_RE)[0])
    t.result("ops_sent_after_restart", len(sent))
    check(not content, "the restarted watcher sent file content over an unchanged "
          "tree (%d content ops):\n  %s" % (len(content), "\n  ".join(content[:20])))
    final_compare(t, timeout=1.0, what="trees still identical")


# -- 4. packet loss and delay (tc netem) -------------------------------------------


@twohost_test(timeout=120)
def test_netem_burst(t):
    env, net = t.env, t.net
    harness.fill_tree(env.src, files=20, size=300, seed=41)
    # The qdisc first (a missing sch_netem skips before anything starts);
    # the initial sync runs through it too.
    if t.no_netem:
        log("--no-netem: running WITHOUT the netem qdisc (harness self-check only)")
    else:
        net.add_netem(["loss", "5%", "delay", "20ms"])
    ref, wat = start_pair(t)
    wm = wat.mark()
    t0 = time.time()
    import random
    rng = random.Random(42)
    for i in range(500):
        rel = os.path.join("burst", "d%02d" % (i % 20), "s%03d.txt" % i)
        harness.write_file(env.S(rel), rng.randbytes(rng.randint(1, 2048)),
                           mode=rng.choice((0o644, 0o600, 0o755)))
    t_end = time.time()
    log("burst of 500 files written in %.2f s" % (t_end - t0))
    final_compare(t, timeout=90.0, what="burst converged")
    t.result("converge_after_burst_s", time.time() - t_end)
    t.result("watcher_peer_lost_lines", len(wat.matching(PEER_LOST_RE, since=wm)))
    t.result("watcher_ops_sent", len(wat.op_sent(since=wm)))
