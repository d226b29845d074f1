"""A file rewritten in place while the watcher reads it (torn read), two
hosts: the watcher must notice (abort the transfer, read again once the
file has settled) and converge once the writes stop. Reports the time to
the first abort and to convergence."""

import os
import random
import re
import threading
import time

from netns import start_reference, start_watcher, line_time, log
import harness
from harness import check
from tests_faults import twohost_test

ABORT_RE = re.compile(r"\bop-sent kind=abort_file path=big\.bin\b")


@twohost_test(timeout=90)
def test_torn_read(t):
    env, net = t.env, t.net
    size = 32 << 20
    harness.write_file(env.S("big.bin"), os.urandom(size))
    ref = start_reference(env, net)
    wat = start_watcher(env, net, ref.port)
    env.wait_converged(timeout=30.0, what="initial sync")
    wm = wat.mark()
    stop = threading.Event()
    writes = [0]

    def rewrite():
        rng = random.Random(7)
        with open(env.S("big.bin"), "r+b") as f:
            while not stop.is_set():
                f.seek(rng.randrange(0, size - 65536))
                f.write(rng.randbytes(65536))
                f.flush()
                writes[0] += 1
                time.sleep(0.005)

    writer = threading.Thread(target=rewrite, daemon=True)
    t_start = time.time()
    writer.start()
    try:
        line = wat.wait_line(ABORT_RE, timeout=20.0, since=wm,
                             what="an aborted (torn) transfer of big.bin")
        t.result("detect_s", line_time(line) - t_start)
        time.sleep(1.0)
    finally:
        stop.set()
        writer.join(timeout=5.0)
    t_end = time.time()
    log("%d in-place writes; %d aborted transfers"
        % (writes[0], len(wat.matching(ABORT_RE, since=wm))))
    env.wait_converged(timeout=30.0, what="converged after the writes stopped")
    t.result("converge_after_last_write_s", time.time() - t_end)
    t.result("aborted_transfers", len(wat.matching(ABORT_RE, since=wm)))
    check(len(wat.matching(ABORT_RE, since=wm)) >= 1, "no torn read was detected")
