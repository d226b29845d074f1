"""Fan-out on three hosts (issue 15): one watcher namespace joined to two
reference namespaces, one veth pair each (netns.FanoutHosts, 198.18.0.0/24).

`fanout_link_down`: the watcher mirrors one tree to both references
(`--references=[...]`; with TLS through docker/watcher.fanout.ini, the
compose example's INI). In the middle of a burst of files, reference 1's
link is cut (`ip link set down` on its end). Reference 0 keeps converging:
`flush --reference=` of it returns and it is identical while the link is
still down; once the watcher has seen the loss (CAF heartbeats, 3 s),
a plain `flush` names reference 1 as not connected (exit 1) and
`status --json` shows it not in sync. The link comes back: both end
identical, flush of both returns 0, and reference 1 had no more files
written than reference 0 (what it held was not sent again).
"""

import json
import os
import threading
import time

import harness
import netns
from harness import check
from netns import FanoutHosts, line_time, log
from tests_faults import PEER_LOST_RE, twohost_test

PORT = 4242  # each reference alone in its namespace: the same port for all
N_REFS = 2
BURST = 1500
APPLIED_WRITE_RE = r"\bop-applied kind=write_file\b"


def start_references(env, net):
    """Reference i in namespace i on 198.18.0.(4i+1):4242, root ref<i>, as
    the containers run it (entrypoint, INI, uid 10001 where possible)."""
    refs, roots = [], []
    for i in range(N_REFS):
        root = os.path.join(env.base, "ref%d" % i)
        user = netns.as_reference_user(env)
        if user:  # runs as uid 10001: its root is its own
            os.mkdir(root)
            os.chown(root, netns.REFERENCE_UID, netns.REFERENCE_UID)
        prefix = net.exec_prefix(net.ref_ns[i]) + user
        argv = prefix + netns.entrypoint_argv(env, "reference", LIVESYNC_ROOT=root,
                                              LIVESYNC_BIND=net.ref_ip[i], LIVESYNC_PORT=PORT)
        refs.append(env.start_reference(argv=argv))
        roots.append(root)
    return refs, roots


def references_option(net):
    return "--references=[%s]" % ", ".join('"%s:%d"' % (ip, PORT) for ip in net.ref_ip)


def identical(env, root):
    return not harness.diff_trees(env.src, root, limit=1)


def wait_identical(env, root, timeout, what):
    t0 = time.monotonic()
    while True:
        d = harness.diff_trees(env.src, root, limit=5)
        if not d:
            log("%s after %.3f s" % (what, time.monotonic() - t0))
            return time.monotonic() - t0
        env.check_nodes_alive()
        check(time.monotonic() - t0 < timeout, "%s: not after %.0f s:\n  %s"
              % (what, timeout, "\n  ".join(d)))
        time.sleep(0.05)


def fanout_net():
    return FanoutHosts(N_REFS)


@twohost_test(timeout=90)
def test_fanout_link_down(t):
    env, net = t.env, t.net
    harness.fill_tree(env.src, files=100, size=300, seed=31)
    refs, roots = start_references(env, net)
    names = ["%s:%d" % (ip, PORT) for ip in net.ref_ip]
    argv = (net.exec_prefix(net.wat_ns)
            + netns.entrypoint_argv(env, "watcher", ini="watcher.fanout.ini",
                                    LIVESYNC_ROOT=env.src)
            + [references_option(net), "--control-port=4243"])
    wat = env.start_watcher(argv=argv, wait_sync=False)
    wat.wait_in_sync(N_REFS, timeout=30)
    for i in range(N_REFS):
        wait_identical(env, roots[i], 10, "reference %d: initial sync" % i)
    check(netns.healthy(wat), "healthcheck.sh: the watcher connected to both is unhealthy")

    # A burst (a writer thread); reference 1's link goes down a third of
    # the way through and stays down until the end of the checks below.
    done = threading.Event()
    third = threading.Event()
    errors = []

    def burst():
        try:
            for i in range(BURST):
                harness.write_file(env.S("burst", "d%02d" % (i % 25), "f%04d" % i),
                                   b"burst %d " % i * (1 + i % 50))
                if i == BURST // 3:
                    third.set()
                time.sleep(0.002)
        except BaseException as e:  # pragma: no cover
            errors.append(e)
        finally:
            third.set()
            done.set()

    wm = wat.mark()
    writer = threading.Thread(target=burst, name="burst", daemon=True)
    writer.start()
    try:
        check(third.wait(30), "the writer did not reach a third of the burst")
        t_down = time.time()
        net.set_link(1, False)
        check(done.wait(60), "the writer did not finish")
        check(not errors, "the writer failed: %r" % errors)
        t_end = time.time()
        # Reference 0 is not held back: flush of it alone returns, and it
        # is identical then, while reference 1's link is still down.
        rc, out, err = netns.watcher_command(env, net, "flush", "--reference=%s" % names[0],
                                             "--timeout=20s", timeout=25)
        check(rc == 0, "flush --reference=%s with reference 1 cut off: rc=%s out=%r err=%r"
              % (names[0], rc, out, err))
        check(identical(env, roots[0]), "reference 0 differs right after its flush returned")
        t.result("ref0_flushed_after_last_write_s", time.time() - t_end)
        check(not identical(env, roots[1]),
              "reference 1 is identical although its link went down mid-burst")
        # Once the watcher has seen the loss, flush names it.
        line = wat.wait_line(PEER_LOST_RE, timeout=10, since=wm, what="peer-lost of reference 1")
        t.result("detect_s", line_time(line) - t_down)
        rc, out, err = netns.watcher_command(env, net, "flush", "--timeout=10s", timeout=15)
        check(rc == 1 and "not flushed: %s is not connected" % names[1] in out,
              "flush with reference 1 cut off: rc=%s out=%r err=%r" % (rc, out, err))
        rc, out, err = netns.watcher_command(env, net, "status", "--json")
        check(rc == 0, "status: rc=%s err=%r" % (rc, err))
        states = {s["reference"]: s["state"] for s in json.loads(out)}
        log("states while reference 1 is cut off: %r" % states)
        check(states.get(names[0]) == "in-sync" and states.get(names[1]) != "in-sync",
              "status while reference 1 is cut off: %r" % states)
        check(identical(env, roots[0]), "reference 0 differs while reference 1 is cut off")
    finally:
        done.wait(30)
        writer.join(5)
    # The link comes back: both end identical.
    t_up = time.time()
    net.set_link(1, True)
    net.wait_link(1, True)
    wat.wait_in_sync(N_REFS + 1, timeout=30)
    t.result("ref1_in_sync_after_up_s", time.time() - t_up)
    for i in range(N_REFS):
        wait_identical(env, roots[i], 15, "reference %d: identical at the end" % i)
    rc, out, err = netns.watcher_command(env, net, "flush", "--timeout=10s", timeout=15)
    check(rc == 0 and "not flushed" not in out, "flush of both at the end: rc=%s out=%r err=%r"
          % (rc, out, err))
    check(netns.healthy(wat), "healthcheck.sh: the watcher is unhealthy at the end")
    # What reference 1 already held was not written again: it applied no
    # more whole files than reference 0, which never lost its link (both
    # see a few files twice: caught empty, then written).
    written = [r.count(APPLIED_WRITE_RE) for r in refs]
    t.result("ref0_files_written", written[0])
    t.result("ref1_files_written", written[1])
    check(written[1] <= written[0] + 20,
          "reference 1 had %d files written, reference 0 %d: content it held was sent again"
          % (written[1], written[0]))


test_fanout_link_down.make_net = fanout_net
