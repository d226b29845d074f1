"""E2E: lost inotify events (issue 5, "Nothing lost when things fail").

The watch-limit test needs a user namespace and lives with the other fault
tests in tests/twohost/ (it skips where that is impossible); this one needs
nothing special: a stopped watcher cannot read its inotify queue, so the
kernel drops events and queues IN_Q_OVERFLOW.
"""

import os
import signal
import time

from harness import (CONTENT_KINDS, check, e2e_test, log, random_bytes,
                     settle, write_file)

QUEUE_LIMIT_PATH = "/proc/sys/fs/inotify/max_queued_events"


def line_time(line):
    """time.time() of a log line's own timestamp (local time, ms)."""
    stamp = line.split(" ", 1)[0]
    t = time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
    return t + int(stamp[20:23]) / 1000.0


def rchar(pid):
    """Bytes the process read through read(2) and friends (files, sockets,
    inotify): a rehash of the tree would show here."""
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError("no rchar in /proc/%d/io" % pid)


def flood(env, events):
    """Raises at least `events` inotify events that the kernel cannot merge
    (it merges only identical consecutive ones): alternating touches of two
    files."""
    a, b = env.S("noise", "a"), env.S("noise", "b")
    for i in range(events // 2 + 1):
        ns = 1_600_000_000_000_000_000 + i
        os.utime(a, ns=(ns, ns))
        os.utime(b, ns=(ns, ns))


@e2e_test(timeout=90)
def test_overflow_rescan(env):
    """IN_Q_OVERFLOW (watcher stopped while more than max_queued_events
    events happen): the watcher logs queue-overflow, walks the tree again
    for missing watches, rescans stat-only and converges; changes made while
    events were lost arrive (including in a directory created meanwhile,
    which needs a new watch), unchanged files are neither re-read nor
    re-sent."""
    with open(QUEUE_LIMIT_PATH) as f:
        queue = int(f.read())
    check(queue <= 1_000_000, "%s is %d: too large to overflow in a test"
          % (QUEUE_LIMIT_PATH, queue))
    # 24 MiB of unchanged content: re-reading it would show in rchar.
    for i in range(12):
        write_file(env.S("big", "u%02d.bin" % i), random_bytes(2 << 20, i))
    for i in range(200):
        write_file(env.S("small", "d%d" % (i % 10), "s%03d.txt" % i), b"x%d\n" % i)
    write_file(env.S("noise", "a"), b"a")
    write_file(env.S("noise", "b"), b"b")
    write_file(env.S("small", "d0", "s000.txt"), b"will change\n")
    env.start_pair()
    wat = env.watcher
    settle(0.5)
    wm = wat.mark()
    read_before = rchar(wat.proc.pid)

    os.kill(wat.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        flood(env, queue + 1000)
        # Real changes while events are lost: a new directory tree (its
        # watch is missing), a modified, a removed and a renamed file.
        write_file(env.S("small", "d0", "s000.txt"), b"changed while lost\n")
        os.unlink(env.S("small", "d1", "s001.txt"))
        os.rename(env.S("small", "d2", "s002.txt"), env.S("small", "d2", "moved.txt"))
        write_file(env.S("created", "x", "y", "new.txt"), random_bytes(100_000, 99))
        log("%d+ events raised in %.2f s with the watcher stopped"
            % (queue + 1000, time.monotonic() - t0))
    finally:
        os.kill(wat.proc.pid, signal.SIGCONT)
    t_cont = time.monotonic()
    t_cont_wall = time.time()
    line = wat.wait_line(r"\bqueue-overflow action=rescan\b", timeout=10.0, since=wm,
                         what="queue-overflow line")
    log("MEASURED overflow detect_after_sigcont_s=%.3f" % (line_time(line) - t_cont_wall))
    wat.wait_line(r"\brescan-start\b", timeout=10.0, since=wm, what="rescan-start line")
    wat.wait_line(r"(?<![\w-])in-sync(?![\w-])", timeout=30.0, since=wm,
                  what="in-sync after the rescan")
    env.wait_converged(timeout=15.0, what="converged after the overflow")
    log("MEASURED overflow converge_after_sigcont_s=%.3f" % (time.monotonic() - t_cont))

    # A change after the overflow inside the directory created while events
    # were lost: its watch was added by the re-walk.
    write_file(env.S("created", "x", "y", "later.txt"), b"after the rescan\n")
    env.wait_converged(timeout=5.0, what="a change in the new directory")

    settle(0.5)
    read = rchar(wat.proc.pid) - read_before
    ops = wat.op_sent(since=wm)
    content_paths = sorted({p for k, p, _ in ops if k in CONTENT_KINDS})
    log("after the overflow: %d ops, content for %r; the watcher read %d bytes"
        % (len(ops), content_paths, read))
    # A rename whose events were lost looks like a new file (and a removal)
    # to the rescan: moved.txt travels (3 bytes); nothing else may.
    unchanged = [p for p in content_paths
                 if p.startswith(("big/", "small/"))
                 and p not in ("small/d0/s000.txt", "small/d2/moved.txt")]
    check(not unchanged, "the overflow rescan re-sent unchanged content: %r" % unchanged)
    check(read < 4 << 20, "the watcher read %d bytes after the overflow: the 24 MiB of "
          "unchanged files were re-read (expected a stat-only rescan)" % read)
    check(len(wat.matching(r"\brescan-start\b", since=wm)) == 1,
          "one overflow, more than one rescan: %r"
          % wat.matching(r"\brescan-start\b", since=wm))


@e2e_test(timeout=30)
def test_unwatched_scan_interval_validated(env):
    """--unwatched-scan-interval outside 100ms..1h is one line and exit 2."""
    env.check_watcher_option_rejected("unwatched-scan-interval",
                                      ("0s", "50ms", "2h", "-1s", "soon"))
