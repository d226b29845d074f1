"""The inotify watch limit (ENOSPC from inotify_add_watch), two hosts.

The watcher runs in its own user namespace with a watch limit of a few
watches (netns.userns_watch_limit: a per-namespace limit, so the host's
fs.inotify.max_user_watches and every other process are untouched). The
directories it cannot watch must still be mirrored, by the periodic
stat-only scan of just those subtrees.
"""

import os
import re
import time

import json

from netns import (start_reference, start_watcher, line_time, log,
                   userns_watch_limit, watcher_command)
import harness
from harness import check
from tests_faults import twohost_test

LIMIT_LINE_RE = re.compile(r"\bwatch-failed inotify watch limit reached "
                           r"\(fs\.inotify\.max_user_watches=\d+\).*"
                           r"sysctl -w fs\.inotify\.max_user_watches=\d+")
UNWATCHED_RE = re.compile(r"\bunwatched-dirs count=(\d+)\b")
SCAN_RE = re.compile(r"\bunwatched-scan\b")
DIRS = ["a", "a/a1", "a/a1/a2", "b", "b/b1", "c", "c/c1", "d", "e", "e/e1", "f", "g"]


@twohost_test(timeout=60)
def test_watch_limit(t):
    env, net = t.env, t.net
    limit = 4  # the root and three more of the 13 directories
    wrap = userns_watch_limit(limit)
    for d in DIRS:
        harness.write_file(env.S(d, "base.txt"), ("%s\n" % d).encode())
        harness.write_file(env.S(d, "gone.txt"), b"to be removed\n")
    ref = start_reference(env, net)
    t_start = time.time()
    wat = start_watcher(env, net, ref.port, wrap=wrap,
                        extra=["--unwatched-scan-interval=300ms"])
    env.wait_converged(timeout=10.0, what="initial sync with unwatched directories")
    line = wat.wait_line(LIMIT_LINE_RE, timeout=5.0, what="the watch-limit error line")
    log("watcher: %s" % line)
    t.result("detect_s", line_time(line) - t_start)
    counts = [int(UNWATCHED_RE.search(l).group(1)) for l in wat.matching(UNWATCHED_RE)]
    check(counts and counts[-1] > 0, "no unwatched-dirs count logged: %r" % counts)
    t.result("unwatched_dirs_at_start", counts[-1])
    check(len(wat.matching(r"\bwatch-failed\b")) == 1,
          "one line for the limit, not one per directory: %r"
          % wat.matching(r"\bwatch-failed\b"))

    # Every kind of change in every directory, watched or not, and new
    # directories (which the limit leaves unwatched too).
    wm = wat.mark()
    for i, d in enumerate(DIRS):
        harness.write_file(env.S(d, "base.txt"), ("%s changed\n" % d).encode())
        harness.write_file(env.S(d, "new.txt"), os.urandom(3000 + i))
        os.unlink(env.S(d, "gone.txt"))
        os.chmod(env.S(d, "base.txt"), 0o600)
        harness.write_file(env.S(d, "sub%d" % i, "deeper", "n.txt"), b"new dir\n")
    os.rename(env.S("a", "a1", "a2"), env.S("g", "a2-moved"))
    t_end = time.time()
    env.wait_converged(timeout=10.0, what="changes in unwatched directories")
    t.result("converge_after_last_change_s", time.time() - t_end)
    counts = [int(UNWATCHED_RE.search(l).group(1)) for l in wat.matching(UNWATCHED_RE)]
    log("unwatched-dirs counts logged: %r" % counts)
    check(counts[-1] > 0, "the limit is still in place, yet nothing is unwatched")
    check(len(wat.matching(r"\bwatch-failed\b")) == 1,
          "new directories at the limit repeated the limit's line: %r"
          % wat.matching(r"\bwatch-failed\b"))

    # Idle: the scans go on (cheaply) and send nothing.
    settle_mark = wat.mark()
    harness.settle(1.0)
    scans = wat.matching(SCAN_RE, since=settle_mark)
    ops = wat.op_sent(since=settle_mark)
    log("idle second: %d scans, %d ops" % (len(scans), len(ops)))
    check(len(scans) >= 2, "no periodic scan while directories are unwatched")
    check(not ops, "scans of an unchanged tree sent operations: %r" % ops[:10])
    t.result("ops_after_changes", len(wat.op_sent(since=wm)))
    env.assert_converged_now(grace=1.0, what="still identical")

    # status names the unwatched directories; a flush covers them although
    # they raise no events (the tracker scans them before passing the
    # barrier on): identical the moment it returns, well before the next
    # periodic scan.
    rc, out, err = watcher_command(env, net, "status", "--json")
    check(rc == 0, "status: rc=%s err=%r" % (rc, err))
    check(json.loads(out)["unwatched_dirs"] > 0, "status lacks unwatched dirs: %s" % out)
    wat.stop()
    wat = start_watcher(env, net, ref.port, wrap=wrap,
                        extra=["--unwatched-scan-interval=1h"])
    for d in DIRS:
        if os.path.isdir(env.S(d)):
            harness.write_file(env.S(d, "flushed.txt"), d.encode())
    rc, out, err = watcher_command(env, net, "flush")
    check(rc == 0, "flush: rc=%s out=%r err=%r" % (rc, out, err))
    d = env.diff(limit=5, full=True)
    check(not d, "flush returned before unwatched directories were mirrored:\n  %s"
          % "\n  ".join(d))
