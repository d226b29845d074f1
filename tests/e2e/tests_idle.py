"""E2E: a pair with nothing to do does not wake up (issue 7, workload 6:
"0 wake-ups from timers"). Every request's timeout, the progress lines and
the counters used to leave timers behind that fired after the work was done;
the watcher cancels each request's timeout when the answer arrives and logs
progress and counters from the work itself."""

import os
import time

from harness import check, e2e_test, fill_tree, log, write_file


def switches(pid):
    """{tid: (name, voluntary context switches)}: each voluntary switch is a
    thread going to sleep, so one later wake-up."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(base + "comm") as f:
                name = f.read().strip()
            with open(base + "status") as f:
                vol = next(int(l.split()[1]) for l in f
                           if l.startswith("voluntary_ctxt_switches:"))
        except (OSError, StopIteration):
            continue
        out[tid] = (name, vol)
    return out


def woken(before, after):
    return ["%s(%s) %d" % (name, tid, vol - before.get(tid, (name, 0))[1])
            for tid, (name, vol) in sorted(after.items())
            if vol != before.get(tid, (name, 0))[1]]


@e2e_test()
def test_idle_pair_does_not_wake_up(env):
    """After an initial sync and a live change, neither node wakes up during
    the next 3 s, although every request made had a 2 s timeout."""
    fill_tree(env.src, files=60, depth=2, fanout=3, size=300, seed=7)
    env.start_reference()
    env.start_watcher(extra=["--request-timeout=2s", "--progress-interval=20ms",
                             "--stats-interval=1s"])
    env.wait_converged(timeout=30)
    write_file(env.S("live.txt"), b"one more change\n")
    env.wait_converged(timeout=30)
    time.sleep(0.3)  # the debouncer's and the move pairing's short timers
    pids = {"watcher": env.watcher.proc.pid, "reference": env.reference.proc.pid}
    before = {k: switches(p) for k, p in pids.items()}
    time.sleep(3.0)
    after = {k: switches(p) for k, p in pids.items()}
    for k in pids:
        w = woken(before[k], after[k])
        log("%s: threads woken in 3 s: %s" % (k, w or "none"))
        check(not w, "%s woke up while idle: %s" % (k, ", ".join(w)))


@e2e_test(timeout=30)
def test_request_timeout_validated(env):
    """--request-timeout outside 1s..1h is one line and exit 2."""
    env.check_watcher_option_rejected("request-timeout",
                                      ("0s", "500ms", "2h", "-1s", "soon"))
