"""Soak: a seeded random workload (workload.Churn: creates, overwrites,
appends, renames of files and directories, deletes, chmods, touches,
symlinks) runs for a fixed time while faults are injected at random points
of a seeded schedule:

  reference_kill  SIGKILL of the reference, restarted on the same port
  watcher_kill    SIGKILL of the watcher, restarted
  link_down       one veth end down for a while (namespaces only)
  overflow        the watcher stopped (SIGSTOP) while more events than the
                  kernel queues happen: IN_Q_OVERFLOW, then SIGCONT

At the end the trees must match exactly (harness.diff_trees). Short in CI
(`twohost.soak`, --soak-seconds=40 by default); long with
`bash scripts/soak.sh --minutes=10`. Without root it runs on loopback,
without link faults.
"""

import os
import random
import signal
import time

from netns import start_reference, start_watcher, log
import harness
from harness import check
import workload
from tests_faults import twohost_test

QUEUE_LIMIT_PATH = "/proc/sys/fs/inotify/max_queued_events"


def flood(env, events):
    """At least `events` inotify events the kernel cannot merge."""
    a, b = env.S("noise", "a"), env.S("noise", "b")
    for i in range(events // 2 + 1):
        ns = 1_600_000_000_000_000_000 + i
        os.utime(a, ns=(ns, ns))
        os.utime(b, ns=(ns, ns))


@twohost_test(timeout=180, needs_net=False)
def test_soak(t):
    env, net = t.env, t.net
    rng = random.Random(t.seed)
    duration = t.soak_seconds
    with open(QUEUE_LIMIT_PATH) as f:
        queue = int(f.read())
    harness.fill_tree(env.src, files=300, size=400, seed=t.seed)
    harness.write_file(env.S("noise", "a"), b"a")
    harness.write_file(env.S("noise", "b"), b"b")
    ref = start_reference(env, net)
    port = ref.port
    wat = start_watcher(env, net, port)
    env.wait_converged(timeout=30.0, what="initial sync")

    faults = ["reference_kill", "watcher_kill", "overflow"]
    if net is not None:
        faults.append("link_down")
    if queue > 1_000_000:
        faults.remove("overflow")
        log("max_queued_events=%d: too large to overflow, no overflow faults" % queue)
    done = {}
    churn = workload.Churn(env.S("churn"), seed=t.seed, duration=duration, interval=0.005)
    log("soak: %.0f s, seed %d, faults from %s, %s"
        % (duration, t.seed, faults, "two namespaces" if net else "loopback"))
    t0 = time.monotonic()
    churn.start()
    try:
        while True:
            time.sleep(rng.uniform(0.5, 3.0))
            if time.monotonic() - t0 > duration - 1.0 or not churn.is_alive():
                break
            fault = rng.choice(faults)
            pause = rng.uniform(0.2, 3.0)
            if fault == "reference_kill":
                ref.kill()
                time.sleep(pause)
                ref = start_reference(env, net, port=port)
            elif fault == "watcher_kill":
                wat.kill()
                time.sleep(pause)
                wat = start_watcher(env, net, port, wait_sync=False)
            elif fault == "link_down":
                side = rng.choice(("ref", "wat"))
                net.set_link(side, False)
                time.sleep(pause)
                net.set_link(side, True)
                net.wait_link(True)
            elif fault == "overflow":
                os.kill(wat.proc.pid, signal.SIGSTOP)
                try:
                    flood(env, queue + 500)
                    time.sleep(pause / 4)
                finally:
                    os.kill(wat.proc.pid, signal.SIGCONT)
            done[fault] = done.get(fault, 0) + 1
            log("soak %.1f s: %s (%.2f s); faults so far %s"
                % (time.monotonic() - t0, fault, pause, done))
            env.check_nodes_alive()
    finally:
        churn.stop_event.set()
        churn.join(timeout=duration + 10.0)
    check(churn.error is None, "the writer thread failed: %r" % (churn.error,))
    t_end = time.time()
    log("churn: %s" % churn.summary())
    log("faults: %s" % done)
    dt = env.wait_converged(timeout=60.0, what="trees identical after the soak")
    t.result("faults", sum(done.values()))
    for k, v in sorted(done.items()):
        t.result("fault_" + k, v)
    t.result("ops", sum(churn.counts.values()))
    t.result("converge_after_end_s", time.time() - t_end)
    watchers = [n for n in env.nodes if n.role == "watcher"]
    overflows = sum(n.count(r"\bqueue-overflow action=rescan\b") for n in watchers)
    t.result("overflow_rescans_logged", overflows)
    if done.get("overflow"):
        check(overflows >= 1, "%d overflow faults, but no watcher logged queue-overflow"
              % done["overflow"])
    check(sum(done.values()) >= 1, "no fault was injected")
    harness.settle(1.0)
    env.assert_converged_now(grace=1.0, what="still identical a second later")
    log("converged %.2f s after the workload ended" % dt)
