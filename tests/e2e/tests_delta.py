"""E2E: the delta path and its fallbacks (issue 3, "Fallbacks that keep it
correct"): a modified large file travels as copies plus literals with no
round trip; a reference copy altered behind the watcher's back, or one the
watcher has no recipe for, still converges to the watcher's content."""

import os
import re

from harness import check, e2e_test, random_bytes, write_file

SIZE = 8 << 20


def edit(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def file_sent(w, since):
    """(literal, copied) of the file-sent lines since a log mark."""
    out = []
    for l in w.lines()[since:]:
        m = re.search(r"file-sent path=\S+ size=\d+ literal=(\d+) copied=(\d+)", l)
        if m:
            out.append((int(m.group(1)), int(m.group(2))))
    return out


@e2e_test()
def test_delta_no_round_trip(env):
    """An edit of a large file sends a few chunks, no recipe request."""
    write_file(env.S("big.bin"), random_bytes(SIZE, 11))
    env.start_pair()
    mark = env.watcher.mark()
    edit(env.S("big.bin"), SIZE // 2, b"0123456789abcdef")
    env.wait_converged()
    sent = file_sent(env.watcher, mark)
    check(sent, "no file-sent line after the edit")
    literal, copied = sent[-1]
    check(literal < 64 * 1024 and copied > SIZE - 64 * 1024,
          "edit sent literal=%d copied=%d" % (literal, copied))
    check(env.watcher.count(r"recipe-received", since=mark) == 0,
          "a recipe was requested although one was cached")


@e2e_test()
def test_delta_reference_altered(env):
    """The reference copy is changed behind the watcher's back (same size):
    the delta fails the strong hash check there, and the full content
    follows; the trees converge to the watcher's version."""
    write_file(env.S("big.bin"), random_bytes(SIZE, 12))
    env.start_pair()
    st = os.stat(env.R("big.bin"))
    edit(env.R("big.bin"), 1 << 20, b"X" * 4096)  # behind our back
    os.utime(env.R("big.bin"), ns=(st.st_atime_ns, st.st_mtime_ns))
    edit(env.S("big.bin"), 5 << 20, b"watcher edit")
    env.wait_converged(timeout=30)
    check(env.reference.count(r"op-refused .*hash mismatch") >= 1,
          "the reference did not catch the altered base")


@e2e_test()
def test_delta_after_restart(env):
    """After a watcher restart no recipe is cached: one round trip fetches
    the reference's, then the edit travels as a delta."""
    write_file(env.S("big.bin"), random_bytes(SIZE, 13))
    env.start_pair()
    env.restart_watcher()
    mark = env.watcher.mark()
    edit(env.S("big.bin"), 3 << 20, b"after restart")
    env.wait_converged()
    check(env.watcher.count(r"recipe-received", since=mark) == 1,
          "expected one recipe round trip")
    literal, copied = file_sent(env.watcher, mark)[-1]
    check(literal < 64 * 1024, "edit after restart sent literal=%d" % literal)
