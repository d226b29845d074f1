"""E2E: a node as an unprivileged user (uid/gid 65534, no groups, no
capabilities). Mostly the reference (the watcher stays root) over a watched tree whose
directories and files lack owner bits: mode 000, 0311, 0200, 0500. The
reference owns its mirror, so it may chmod it: it adds the owner bits an
operation needs for the time of that operation and puts the wanted mode
back (core/common/owner_access). Before that, the digest walk failed with
"d: open: Permission denied" on every (re)connect and the mirror stalled.

Each test needs root and setpriv (util-linux); otherwise it is skipped
("SKIP: <name>: <reason>", exit code 77 when run alone)."""

import json
import os
import re
import shutil

from harness import (COMMON_ARGS, WATCHER, binary, check, e2e_test, log,
                     make_dirs, random_bytes, settle, unprivileged_prefix,
                     watcher_argv, write_file)

NOBODY = 65534
REFUSED_RE = r"\bop-refused\b"
SENT_RE = r"file-sent path=locked/big\.bin size=\d+ literal=(\d+) copied=(\d+)"
STEP_TIMEOUT = 8.0  # each wait; a stalled mirror fails in seconds, not minutes


def start_unprivileged_pair(env, extra=()):
    env.start_reference(user=NOBODY, extra=extra)
    with open("/proc/%d/status" % env.reference.proc.pid) as f:
        status = dict(l.split(":", 1) for l in f)
    check(status["Uid"].split()[1] == str(NOBODY) and int(status["CapEff"], 16) == 0,
          "reference not unprivileged: Uid %s CapEff %s"
          % (status["Uid"].strip(), status["CapEff"].strip()))
    env.start_watcher(timeout=STEP_TIMEOUT)
    env.wait_converged(timeout=STEP_TIMEOUT, what="initial sync, unprivileged reference")


def check_nothing_refused(env):
    refused = env.reference.matching(REFUSED_RE)
    check(not refused, "the reference refused %d op(s), first: %s"
          % (len(refused), refused[:3]))
    denied = env.reference.matching(r"Permission denied")
    check(not denied, "the reference: %s" % denied[:3])


@e2e_test(timeout=60)
def test_unprivileged_reference_mode_000_dirs(env):
    """Issue 12 item 1: directories of mode 000, 0311, 0200, 0500 and a file
    of mode 000 (with a second name in the 0311 dir, a hard link there too)
    reach an unprivileged reference, stay in sync across a
    watcher restart (digest walk), and live changes inside and around them
    (add in a 000 dir, cross-parent rename of a 0500 dir, removal of a 000
    dir) arrive."""
    unprivileged_prefix(NOBODY)  # Skip first: a non-root run could not remove this tree
    write_file(env.S("d", "sub", "f"), b"x\n")
    os.chmod(env.S("d"), 0o000)                      # mkdir -p d/sub; chmod 000 d
    write_file(env.S("wx", "f"), b"in 0311\n")
    os.chmod(env.S("wx"), 0o311)
    write_file(env.S("w", "f"), b"in 0200\n")
    os.chmod(env.S("w"), 0o200)
    write_file(env.S("f000"), b"mode 000\n", mode=0o000)
    os.link(env.S("f000"), env.S("wx", "f000-link"))  # linked by the reference too
    make_dirs(env.S("rx", "inner"))
    write_file(env.S("rx", "inner", "g"), b"g\n")
    os.chmod(env.S("rx"), 0o500)
    start_unprivileged_pair(env)
    check(os.lstat(env.R("f000")).st_ino == os.lstat(env.R("wx", "f000-link")).st_ino,
          "f000 and wx/f000-link are two files on the reference")

    # A reconnect walks the digests again: it used to fail here forever.
    env.restart_watcher(timeout=STEP_TIMEOUT)
    env.wait_converged(timeout=STEP_TIMEOUT, what="in sync after a watcher restart")
    settle(1.0)
    lost = env.watcher.matching(r"\bpeer-lost\b")
    check(not lost, "the watcher lost the reference after its restart: %s" % lost[:3])
    env.assert_converged_now(what="still converged 1 s after the restart")

    # The mirror is not stalled: a plain new file arrives.
    write_file(env.S("top.txt"), b"live\n")
    env.wait_converged(timeout=STEP_TIMEOUT, what="a new top-level file")

    # Into the 000 directory (opened for the time of the edit on our side).
    os.chmod(env.S("d"), 0o755)
    write_file(env.S("d", "new"), b"new in d\n")
    os.chmod(env.S("d"), 0o000)
    env.wait_converged(timeout=STEP_TIMEOUT, what="d/new inside the 000 dir")

    # A directory without u+w moves to another parent (its `..` changes),
    # into the 0311 sibling of the 000 dir.
    mark = env.watcher.mark()
    os.rename(env.S("rx"), env.S("wx", "rx"))
    env.wait_converged(timeout=STEP_TIMEOUT, what="0500 dir renamed into the 0311 dir")
    check(("rename", "rx", "wx/rx") in env.watcher.op_sent(since=mark),
          "not sent as one rename: %s" % env.watcher.op_sent(since=mark))

    # The 000 dir goes, with everything in it.
    shutil.rmtree(env.S("d"))
    env.wait_converged(timeout=STEP_TIMEOUT, what="the 000 dir removed")
    check(not os.path.lexists(env.R("d")), "d still on the reference")
    check_nothing_refused(env)


@e2e_test(timeout=60)
def test_unprivileged_reference_verify_and_delta(env):
    """A file larger than small-file-kib (64 KiB) in a 000 directory of an
    unprivileged reference: a few bytes changed in its middle travel as a
    delta (the reference reads its recipe and base inside the 000 dir), and
    `verify` hashes both trees: exit 0, 0 differences."""
    unprivileged_prefix(NOBODY)  # Skip first: a non-root run could not remove this tree
    size = 256 << 10
    write_file(env.S("locked", "big.bin"), random_bytes(size, 12))
    write_file(env.S("locked", "small"), b"small\n", mode=0o000)
    os.chmod(env.S("locked"), 0o000)
    start_unprivileged_pair(env)

    mark = env.watcher.mark()
    os.chmod(env.S("locked"), 0o755)
    with open(env.S("locked", "big.bin"), "r+b") as f:
        f.seek(size // 2)
        f.write(b"0123456789")
    os.chmod(env.S("locked"), 0o000)
    env.wait_converged(timeout=STEP_TIMEOUT, what="big.bin edited inside the 000 dir")
    sent = env.watcher.matching(SENT_RE, since=mark)
    check(sent, "no file-sent line for locked/big.bin after the edit")
    log("delta: %s" % sent[-1])
    literal, copied = map(int, re.search(SENT_RE, sent[-1]).groups())
    check(literal < 64 * 1024 and copied > size - 64 * 1024,
          "the edit did not travel as a delta: literal=%d copied=%d" % (literal, copied))

    rc, out, err = env.run_cli(
        [binary(WATCHER), "verify"] + COMMON_ARGS
        + ["--root=%s" % env.src, "--port=%d" % env.reference.port],
        timeout=20.0, name="verify")
    check(rc == 0 and "0 difference(s)" in out,
          "verify: rc=%s out=%r err=%r" % (rc, out[-2000:], err[-2000:]))
    check_nothing_refused(env)


@e2e_test(timeout=60)
def test_unprivileged_watcher_unreadable_paths(env):
    """Issue 12 item 1, the watcher's side: a watcher that is not root meets
    a directory (0700, root's) and a file (0600, root's) it cannot read.
    Each is one warning and counts as unreadable in status; the reference
    keeps what it holds there (an unlistable directory once read as empty,
    and its subtree was deleted); the rest keeps syncing; and a chmod that
    makes each readable mirrors it, with no timer."""
    prefix = unprivileged_prefix(NOBODY)
    write_file(env.S("secret", "sub", "f"), b"secret\n")
    write_file(env.S("private"), b"private v1\n")
    write_file(env.S("open.txt"), b"open\n")
    write_file(env.S("same"), b"unchanged, then unreadable\n")
    # A root watcher mirrors everything first.
    env.start_pair()
    env.watcher.stop()

    os.chmod(env.base, 0o711)
    os.chmod(env.S("secret"), 0o700)
    write_file(env.S("private"), b"private v2, unreadable\n", mode=0o600)
    os.chmod(env.S("same"), 0o600)
    write_file(env.S("secret", "sub", "later"), b"written while unreadable\n")
    env.start_watcher(argv=prefix + watcher_argv(env.src, env.reference.port),
                      timeout=STEP_TIMEOUT)
    with open("/proc/%d/status" % env.watcher.proc.pid) as f:
        uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
    check(uid == str(NOBODY), "the watcher runs as uid %s" % uid)
    # Kept, not deleted, and not what the watcher could not see.
    check(os.path.exists(env.R("secret", "sub", "f")),
          "the reference lost secret/sub/f: an unreadable directory was read as empty")
    check(not os.path.exists(env.R("secret", "sub", "later")), "secret/sub/later leaked")
    with open(env.R("private"), "rb") as f:
        check(f.read() == b"private v1\n", "private changed on the reference")
    check(env.watcher.count(r"unreadable-dir path=secret\b") == 1,
          "expected one unreadable-dir warning for secret: %s"
          % env.watcher.matching(r"unreadable-dir"))
    check(env.watcher.count(r"read-failed path=private\b") >= 1, "no read-failed for private")

    # The rest of the tree still syncs.
    write_file(env.S("live.txt"), b"live\n")
    env.watcher.wait_line(r"op-sent kind=write_file path=live\.txt",
                          timeout=STEP_TIMEOUT, what="live.txt sent")
    port = int(re.search(r"control-listening bind=\S+ port=(\d+)",
                         env.watcher.wait_line(r"control-listening")).group(1))
    rc, out, err = env.run_cli([binary(WATCHER), "status", "--json",
                                "--control-port=%d" % port] + COMMON_ARGS,
                               timeout=10.0, name="status")
    check(rc == 0, "status: rc=%s err=%r" % (rc, err))
    unreadable = json.loads(out)["unreadable"]
    check(unreadable >= 2, "status counts %d unreadable, expected >= 2" % unreadable)

    # verify, as the same user, cannot vouch for what it cannot read: one
    # difference for the directory, nothing "only on reference" beneath it.
    rc, out, err = env.run_cli(prefix + [binary(WATCHER), "verify", "--root=%s" % env.src,
                                         "--port=%d" % env.reference.port] + COMMON_ARGS,
                               timeout=20.0, name="verify")
    check(rc == 1 and "differs path=secret what=unreadable on the watcher" in out
          and "differs path=same what=unreadable on the watcher" in out
          and "only on reference" not in out,
          "verify as nobody: rc=%s out=%r err=%r" % (rc, out[-1500:], err[-500:]))

    # Readable again: one chmod each, and both trees are identical.
    os.chmod(env.S("secret"), 0o755)
    os.chmod(env.S("private"), 0o644)
    os.chmod(env.S("same"), 0o644)
    env.wait_converged(timeout=STEP_TIMEOUT, what="secret and private readable again")
    write_file(env.S("secret", "sub", "after"), b"watched now\n")
    env.wait_converged(timeout=STEP_TIMEOUT, what="a change inside the directory once watched")


@e2e_test(timeout=60)
def test_unprivileged_reference_parallel_writers_share_grants(env):
    """The reference's path writers fill one directory at once: 4 writers,
    directories without u+w (0500, 0555) holding 80 files each, synced to
    an unprivileged reference. Every writer needs the directory's write bit
    for its files; they share one grant (core/common/owner_access's
    shared_grants), so none is refused for a bit another writer just gave
    back, and each directory ends with exactly its mode."""
    unprivileged_prefix(NOBODY)
    for d, mode in (("ro", 0o500), ("rx", 0o555)):
        for i in range(80):
            write_file(env.S(d, "f%03d" % i), b"%s %d\n" % (d.encode(), i))
        os.chmod(env.S(d), mode)
    start_unprivileged_pair(env, extra=["--writers=4"])
    for d, mode in (("ro", 0o500), ("rx", 0o555)):
        got = os.lstat(env.R(d)).st_mode & 0o7777
        check(got == mode, "%s has mode %o on the reference, not %o" % (d, got, mode))
    # Live: a burst of new files into the 0500 directory.
    os.chmod(env.S("ro"), 0o700)
    for i in range(80, 160):
        write_file(env.S("ro", "f%03d" % i), b"ro %d\n" % i)
    os.chmod(env.S("ro"), 0o500)
    env.wait_converged(timeout=STEP_TIMEOUT, what="80 new files in the 0500 dir")
    check_nothing_refused(env)
