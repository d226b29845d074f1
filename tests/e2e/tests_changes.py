"""E2E: what is mirrored, and every kind of change (issue 2, "What must work").

Each test builds an initial SRC tree, starts both nodes (initial sync),
waits for `in-sync` and convergence, changes SRC live, and waits until the
two trees are exactly equal (harness.diff_trees)."""

import os
import shutil
import socket
import time

from harness import (CONTENT_KINDS, WRITE_KINDS, Failure, append_file, check,
                     e2e_test, fill_tree, log, make_dirs, random_bytes, settle,
                     symlink, under, write_file)

T2001 = 1_000_000_000_123_456_789   # 2001-09-09, odd nanoseconds
T2010 = 1_262_304_000_987_654_321
T2100 = 4_102_444_800_000_000_001


def ops_for(ops, path):
    return [o for o in ops if o[1] == path or o[2] == path]


# -- what is mirrored ------------------------------------------------------------


@e2e_test()
def test_files_modes_mtimes(env):
    """Regular files: content, permission bits 0644/0755/0600, mtime (ns)."""
    write_file(env.S("f644.txt"), "six four four\n", 0o644, T2001)
    write_file(env.S("f755.sh"), "#!/bin/sh\necho hi\n", 0o755, T2010)
    write_file(env.S("f600.key"), "secret\n", 0o600, T2100)
    write_file(env.S("sub", "f640"), "x" * 5000, 0o640, T2001 + 1)
    env.start_pair()
    write_file(env.S("live644.txt"), "live 644\n", 0o644, T2001 + 7)
    write_file(env.S("live755"), "live 755\n" * 100, 0o755, T2010 + 3)
    write_file(env.S("sub", "live600"), "live 600\n", 0o600, T2100 - 5)
    write_file(env.S("sub", "live444"), "read only\n", 0o444)
    env.wait_converged()
    # mtime changes alone (ns precision), on existing files
    os.utime(env.S("f644.txt"), ns=(T2010, T2010 + 999_999_999))
    os.utime(env.S("sub", "f640"), ns=(T2001, T2001 - 1))
    env.wait_converged()


@e2e_test()
def test_deep_dirs(env):
    """Directories at depth 5+ (created, filled, mode bits)."""
    deep = env.S("d1", "d2", "d3", "d4", "d5", "d6", "d7")
    os.makedirs(deep)
    p = env.src
    for i, part in enumerate(["d1", "d2", "d3", "d4", "d5", "d6", "d7"]):
        p = os.path.join(p, part)
        write_file(os.path.join(p, "file%d.txt" % i), "level %d\n" % i)
    env.start_pair()
    live = env.S("e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8")
    os.makedirs(live)
    p = env.src
    for i, part in enumerate(["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"]):
        p = os.path.join(p, part)
        write_file(os.path.join(p, "live%d.txt" % i), "live level %d\n" % i)
    make_dirs(env.S("d1", "d2", "d3", "d4", "d5", "d6", "private"), 0o700)
    make_dirs(env.S("e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9", "e10"), 0o750)
    env.wait_converged()
    os.remove(env.S("d1", "d2", "d3", "d4", "file3.txt"))
    env.wait_converged()


@e2e_test()
def test_symlinks(env):
    """Symlinks: relative, absolute, dangling, to a dir outside the tree
    (mirrored as a link, never followed), retargeted."""
    write_file(env.S("target.txt"), "target\n")
    write_file(env.O("outdir", "secret.txt"), "outside content\n")
    symlink("target.txt", env.S("rel"))
    symlink("../target.txt", env.S("sub", "up"))
    symlink("/etc/hostname", env.S("abs"))
    symlink("does/not/exist", env.S("dangling"))
    symlink(env.O("outdir"), env.S("outdir-link"))
    symlink("sub", env.S("dir-link"))
    env.start_pair()
    check(os.path.islink(env.R("outdir-link")), "outdir-link is not a symlink on ref")
    symlink("target.txt", env.S("live-rel"))
    symlink(env.O("outdir"), env.S("sub", "live-outdir-link"))
    symlink("nowhere/at/all", env.S("sub", "live-dangling"))
    symlink("/abs/dangling/x", env.S("live-abs-dangling"))
    env.wait_converged()
    # Writes beneath the outside dir must not show up anywhere.
    write_file(env.O("outdir", "later.txt"), "later\n")
    # Retarget: rm + symlink, and an atomic replace of a link.
    os.remove(env.S("rel"))
    os.symlink("sub/up", env.S("rel"))
    os.symlink("does/not/exist/either", env.S("tmp-link"))
    os.replace(env.S("tmp-link"), env.S("dangling"))
    env.wait_converged()
    for name in ("outdir-link", os.path.join("sub", "live-outdir-link")):
        check(os.path.islink(env.R(name)), "%s is not a symlink on ref" % name)
    followed = [o for o in env.watcher.op_sent() if "later.txt" in o[1] or "secret.txt" in o[1]]
    check(not followed, "the watcher followed a symlink out of the tree: %r" % followed)


@e2e_test()
def test_hardlinks(env):
    """Hard links, made before the start and live, converge (content and
    modes of every name)."""
    write_file(env.S("a.txt"), "shared content\n", 0o640, T2001)
    os.makedirs(env.S("sub"))
    os.link(env.S("a.txt"), env.S("sub", "a-link.txt"))
    env.start_pair()
    write_file(env.S("c.txt"), random_bytes(10_000, 3))
    os.link(env.S("c.txt"), env.S("d.txt"))
    os.link(env.S("c.txt"), env.S("sub", "c-link"))
    env.wait_converged()


@e2e_test()
def test_empty_files(env):
    """Empty files and empty directories, initial and live."""
    write_file(env.S("empty.txt"), b"", mtime_ns=T2001)
    write_file(env.S("sub", "empty"), b"", 0o600)
    os.makedirs(env.S("emptydir"))
    os.makedirs(env.S("nested", "empty", "dirs"))
    env.start_pair()
    write_file(env.S("live-empty"), b"")
    write_file(env.S("sub", "live-empty-755"), b"", 0o755, T2010)
    os.makedirs(env.S("live-emptydir", "inner"))
    env.wait_converged()


ODD_NAMES = [
    "with space.txt",
    "  two leading spaces",
    "trailing space ",
    "\u00fcn\u00efc\u00f6d\u00e9-\u65e5\u672c\u8a9e.txt",
    "emoji-\U0001F600",
    "new\nline",
    "-leading-dash",
    "--double-dash=1",
    "tab\tname",
    "quote'\"back\\slash",
    "percent%s{}$HOME*?[a]",
]


@e2e_test()
def test_odd_names(env):
    """Names with spaces, UTF-8, a newline, a leading dash (files and dirs)."""
    for i, n in enumerate(ODD_NAMES):
        write_file(env.S(n), "content of %r\n" % n)
        write_file(env.S("dir " + n, n), "nested %d\n" % i)
    env.start_pair()
    for i, n in enumerate(ODD_NAMES):
        write_file(env.S("live " + n), "live %r\n" % n)
        write_file(env.S("-live dir\n" + n, "x " + n), "live nested %d\n" % i)
    env.wait_converged()
    os.rename(env.S("with space.txt"), env.S("\u00fcn\u00ef moved\n.txt"))
    os.rename(env.S("dir -leading-dash"), env.S("-renamed dir \u65e5"))
    os.remove(env.S("new\nline"))
    env.wait_converged()


@e2e_test()
def test_fifo_skipped(env):
    """A fifo (and a socket) is skipped: not on the reference, and the
    watcher logs a warning naming it."""
    write_file(env.S("regular.txt"), "regular\n")
    os.mkfifo(env.S("pipe-initial"))
    env.start_pair()
    check(not os.path.lexists(env.R("pipe-initial")), "pipe-initial exists on ref")
    env.watcher.wait_line(r"(?i)\bwarn.*pipe-initial", timeout=5,
                          what="warning about pipe-initial")
    mark = env.watcher.mark()
    os.makedirs(env.S("sub"))
    os.mkfifo(env.S("sub", "pipe-live"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(env.S("sock-live"))
        write_file(env.S("sentinel.txt"), "after the fifo\n")
        env.wait_converged()
        env.watcher.wait_line(r"(?i)\bwarn.*pipe-live", timeout=5, since=mark,
                              what="warning about sub/pipe-live")
        env.watcher.wait_line(r"(?i)\bwarn.*sock-live", timeout=5, since=mark,
                              what="warning about sock-live")
        for p in ("pipe-initial", os.path.join("sub", "pipe-live"), "sock-live"):
            check(not os.path.lexists(env.R(p)), "%s exists on ref" % p)
    finally:
        sock.close()


# -- every kind of change --------------------------------------------------------

SIZES = [0, 1, 100, 4095, 4096, 4097, 65537, (1 << 20) + 3]


@e2e_test()
def test_create(env):
    """Create files of many sizes, in the root, in subdirs and in new dirs."""
    write_file(env.S("existing.txt"), "old\n")
    os.makedirs(env.S("sub"))
    env.start_pair()
    for i, n in enumerate(SIZES):
        write_file(env.S("size-%d.bin" % n), random_bytes(n, i))
        write_file(env.S("sub", "s%d" % n), random_bytes(n, 100 + i))
    write_file(env.S("newdir", "a.txt"), "a\n")
    write_file(env.S("newdir", "deeper", "b.txt"), "b\n")
    env.wait_converged()


@e2e_test()
def test_append(env):
    """Append small and large amounts, several times."""
    write_file(env.S("log.txt"), random_bytes(10_000, 1))
    write_file(env.S("big.log"), random_bytes(2 << 20, 2))
    env.start_pair()
    append_file(env.S("log.txt"), b"one more line\n")
    env.wait_converged()
    append_file(env.S("log.txt"), random_bytes(1 << 20, 3))
    append_file(env.S("big.log"), b"tail\n")
    env.wait_converged()
    for i in range(20):
        append_file(env.S("log.txt"), ("line %d\n" % i).encode())
    append_file(env.S("big.log"), b"x")
    env.wait_converged()


@e2e_test()
def test_overwrite(env):
    """Overwrite: in place (same size), whole (new content), and resized."""
    write_file(env.S("inplace.bin"), random_bytes(100_000, 1))
    write_file(env.S("whole.txt"), "version 1\n" * 50)
    write_file(env.S("resize.txt"), "short\n")
    env.start_pair()
    with open(env.S("inplace.bin"), "r+b") as f:
        f.seek(50_000)
        f.write(b"\xff" * 1000)
    with open(env.S("whole.txt"), "wb") as f:
        f.write(b"version 2\n" * 50)
    with open(env.S("resize.txt"), "wb") as f:
        f.write(random_bytes(300_000, 7))
    env.wait_converged()
    with open(env.S("resize.txt"), "wb") as f:
        f.write(b"short again\n")
    with open(env.S("inplace.bin"), "r+b") as f:
        f.write(b"\x00" * 10)
    env.wait_converged()


@e2e_test()
def test_truncate(env):
    """Truncate to smaller and to 0 (and extend)."""
    write_file(env.S("a.bin"), random_bytes(100_000, 1))
    write_file(env.S("b.txt"), "0123456789" * 100)
    write_file(env.S("c.bin"), random_bytes(5000, 2))
    env.start_pair()
    os.truncate(env.S("a.bin"), 1000)
    with open(env.S("b.txt"), "r+b") as f:
        f.truncate(10)
    env.wait_converged()
    os.truncate(env.S("a.bin"), 0)
    with open(env.S("b.txt"), "wb"):
        pass
    os.truncate(env.S("c.bin"), 70_000)  # extend (sparse zeros)
    env.wait_converged()


@e2e_test()
def test_delete(env):
    """Delete files, a symlink, an empty dir, a file deep down."""
    write_file(env.S("a.txt"), "a\n")
    write_file(env.S("sub", "deep", "b.txt"), "b\n")
    write_file(env.S("sub", "keep.txt"), "keep\n")
    symlink("a.txt", env.S("link"))
    os.makedirs(env.S("emptydir"))
    env.start_pair()
    os.remove(env.S("a.txt"))
    os.remove(env.S("link"))
    os.rmdir(env.S("emptydir"))
    os.remove(env.S("sub", "deep", "b.txt"))
    env.wait_converged()
    os.rmdir(env.S("sub", "deep"))
    env.wait_converged()


@e2e_test()
def test_chmod(env):
    """chmod of files and dirs (content untouched: a set_attr, not a write)."""
    write_file(env.S("a.txt"), "a\n", 0o644)
    write_file(env.S("b.sh"), "b\n", 0o600)
    write_file(env.S("c.txt"), "c\n", 0o644)
    make_dirs(env.S("d1"), 0o755)
    make_dirs(env.S("d2"), 0o755)
    write_file(env.S("d1", "inner.txt"), "inner\n")
    env.start_pair()
    mark = env.watcher.mark()
    os.chmod(env.S("a.txt"), 0o600)
    os.chmod(env.S("b.sh"), 0o755)
    os.chmod(env.S("c.txt"), 0o444)
    os.chmod(env.S("d1"), 0o700)
    os.chmod(env.S("d2"), 0o1777)
    env.wait_converged()
    os.chmod(env.S("a.txt"), 0o640)
    env.wait_converged()
    settle()
    ops = env.watcher.op_sent(mark)
    for p in ("a.txt", "b.sh", "c.txt"):
        mine = ops_for(ops, p)
        check(any(k == "set_attr" for k, _, _ in mine),
              "chmod of %s: no set_attr op-sent (ops: %r)" % (p, mine))
        check(not any(k in CONTENT_KINDS for k, _, _ in mine),
              "chmod of %s sent content: %r" % (p, mine))


@e2e_test()
def test_touch(env):
    """Touch: mtime only, content unchanged -> set_attr, never write_file."""
    write_file(env.S("touched.txt"), random_bytes(20_000, 1), 0o644, T2001)
    write_file(env.S("other.txt"), "other\n")
    env.start_pair()
    mark = env.watcher.mark()
    os.utime(env.S("touched.txt"), ns=(T2010, T2010))
    env.wait_converged()
    os.utime(env.S("touched.txt"))  # now
    env.wait_converged()
    settle()
    ops = ops_for(env.watcher.op_sent(mark), "touched.txt")
    check(any(k == "set_attr" for k, _, _ in ops),
          "touch: no set_attr op-sent for touched.txt (ops: %r)" % ops)
    check(not any(k in CONTENT_KINDS for k, _, _ in ops),
          "touch sent content for touched.txt: %r" % ops)


@e2e_test()
def test_rename_file(env):
    """Rename a file within a dir, across dirs, and over an existing file."""
    write_file(env.S("a.txt"), random_bytes(50_000, 1), 0o600, T2001)
    write_file(env.S("sub", "b.txt"), "b\n")
    write_file(env.S("c.txt"), "c\n")
    write_file(env.S("d.txt"), "d, to be replaced\n")
    os.makedirs(env.S("other"))
    env.start_pair()
    mark = env.watcher.mark()
    os.rename(env.S("a.txt"), env.S("a2.txt"))
    os.rename(env.S("sub", "b.txt"), env.S("other", "b.txt"))
    os.rename(env.S("c.txt"), env.S("d.txt"))
    env.wait_converged()
    settle()
    ops = env.watcher.op_sent(mark)
    check(("rename", "a.txt", "a2.txt") in ops,
          "no `rename a.txt -> a2.txt` op-sent (ops: %r)" % ops)
    bad = [o for o in ops if o[0] in WRITE_KINDS and o[1] == "a2.txt"]
    check(not bad, "renamed file's content was sent again: %r" % bad)


@e2e_test()
def test_rename_dir(env):
    """Rename of a dir with ~200 files: one rename op, nothing under it re-sent."""
    for i in range(200):
        write_file(env.S("big", "s%d" % (i % 4), "f%03d.txt" % i), "file %d\n" % i * (1 + i % 7))
    write_file(env.S("big", "top.txt"), "top\n")
    os.makedirs(env.S("deeper", "x"))
    env.start_pair()
    for step, (old, new) in enumerate([("big", "big-renamed"),
                                       ("big-renamed", "deeper/x/big3")]):
        mark = env.watcher.mark()
        os.rename(env.S(old), env.S(new))
        env.wait_converged()
        settle()
        ops = env.watcher.op_sent(mark)
        renames = [o for o in ops if o[0] == "rename"]
        check(renames == [("rename", old, new)],
              "step %d: expected exactly one rename %s -> %s, got %r"
              % (step, old, new, renames))
        beneath = [o for o in ops if o[0] != "rename" and
                   ((o[1] != old and under(o[1], old)) or (o[1] != new and under(o[1], new)))]
        check(not beneath, "step %d: ops sent beneath the renamed dir (%d), first: %r"
              % (step, len(beneath), beneath[:10]))
        content = [o for o in ops if o[0] in CONTENT_KINDS and (under(o[1], old) or under(o[1], new))]
        check(not content, "step %d: content ops under the renamed dir: %r" % (step, content[:10]))


@e2e_test()
def test_move_out(env):
    """Move a file and a dir out of the tree: they become deletes."""
    write_file(env.S("gone.txt"), "gone\n")
    fill_tree(env.S("gonedir"), files=30, depth=2, fanout=2)
    write_file(env.S("stays.txt"), "stays\n")
    env.start_pair()
    os.rename(env.S("gone.txt"), env.O("gone.txt"))
    os.rename(env.S("gonedir"), env.O("gonedir"))
    env.wait_converged()


@e2e_test()
def test_move_in(env):
    """Move a file and a dir with files into the tree: created with content."""
    write_file(env.O("in.txt"), random_bytes(30_000, 1), 0o640, T2001)
    fill_tree(env.O("indir"), files=30, depth=2, fanout=2)
    symlink("f0000.txt", env.O("indir", "link"))
    fill_tree(env.O("indir2"), files=10, depth=1, fanout=2, seed=2)
    os.makedirs(env.S("sub"))
    env.start_pair()
    os.rename(env.O("in.txt"), env.S("in.txt"))
    os.rename(env.O("indir"), env.S("sub", "indir"))
    env.wait_converged()
    # A dir moved in and immediately modified inside.
    os.rename(env.O("indir2"), env.S("indir2"))
    write_file(env.S("indir2", "fresh.txt"), "fresh\n")
    append_file(env.S("indir2", "f0000.txt"), "more\n")
    env.wait_converged()


@e2e_test()
def test_atomic_save(env):
    """Editor save: write a temp file, fsync, rename over the original."""
    write_file(env.S("doc.txt"), "version 0\n", 0o640, T2001)

    def save(text, tmpname):
        tmp = env.S(tmpname)
        with open(tmp, "wb") as f:
            f.write(text.encode())
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o640)
        os.replace(tmp, env.S("doc.txt"))

    env.start_pair()
    for i in range(1, 4):
        save("version %d\n" % i * i, ".doc.txt.swp")
        env.wait_converged()
    for i in range(4, 7):  # rapid saves, different temp names
        save("version %d\n" % i * i, "doc.txt.tmp%d" % i)
    env.wait_converged()
    # vim-style: rename the original to a backup, write anew, drop the backup.
    os.rename(env.S("doc.txt"), env.S("doc.txt~"))
    write_file(env.S("doc.txt"), "version 7\n", 0o640)
    os.remove(env.S("doc.txt~"))
    env.wait_converged()


@e2e_test()
def test_type_change(env):
    """One path: file -> directory -> file (and symlink swaps), slow and fast."""
    write_file(env.S("p1"), "a file\n")
    write_file(env.S("p2"), "a file\n")
    write_file(env.S("p3"), "a file\n")
    write_file(env.S("p4", "inner.txt"), "inner\n")
    env.start_pair()
    os.remove(env.S("p1"))
    write_file(env.S("p1", "inner.txt"), "now a dir\n")
    env.wait_converged()
    shutil.rmtree(env.S("p1"))
    write_file(env.S("p1"), "a file again\n", 0o600)
    env.wait_converged()
    # Fast: no wait in between.
    os.remove(env.S("p2"))
    write_file(env.S("p2", "x", "inner.txt"), "dir\n")
    shutil.rmtree(env.S("p2"))
    write_file(env.S("p2"), "file again\n")
    os.remove(env.S("p3"))
    os.symlink("p1", env.S("p3"))
    shutil.rmtree(env.S("p4"))
    os.symlink("p2", env.S("p4"))
    env.wait_converged()
    os.remove(env.S("p4"))
    write_file(env.S("p4", "again.txt"), "dir again\n")
    env.wait_converged()


@e2e_test()
def test_rm_rf(env):
    """rm -rf of a deep tree (and of one created and removed at once)."""
    fill_tree(env.S("tree"), files=150, depth=5, fanout=2)
    p = env.S("tree")
    for i in range(8):
        p = os.path.join(p, "deep%d" % i)
        write_file(os.path.join(p, "f.txt"), "%d\n" % i)
        symlink("f.txt", os.path.join(p, "l"))
    write_file(env.S("keep.txt"), "keep\n")
    env.start_pair()
    shutil.rmtree(env.S("tree"))
    env.wait_converged()
    fill_tree(env.S("tree2"), files=40, depth=3, fanout=2)
    shutil.rmtree(env.S("tree2"))
    write_file(env.S("sentinel.txt"), "after\n")
    env.wait_converged()


@e2e_test()
def test_mkdir_race(env):
    """os.makedirs('a/b/c') then files written at once inside each level."""
    write_file(env.S("x.txt"), "x\n")
    env.start_pair()
    for i in range(20):
        base = env.S("r%02d" % i)
        os.makedirs(os.path.join(base, "a", "b", "c"))
        for lvl in ("a", "a/b", "a/b/c"):
            with open(os.path.join(base, lvl, "f.txt"), "wb") as f:
                f.write(("%d %s\n" % (i, lvl)).encode())
    os.makedirs(env.S("deep", "a", "b", "c", "d", "e", "f"))
    p = env.S("deep")
    for part in ("a", "b", "c", "d", "e", "f"):
        p = os.path.join(p, part)
        with open(os.path.join(p, "f.txt"), "wb") as f:
            f.write(p.encode())
        os.makedirs(os.path.join(p, "sub"))
        with open(os.path.join(p, "sub", "g.txt"), "wb") as f:
            f.write(b"g\n")
    env.wait_converged()


@e2e_test(timeout=150, serial=True)
def test_burst_10k(env):
    """10,000 small files created as fast as possible over 100 dirs."""
    write_file(env.S("seed.txt"), "seed\n")
    env.start_pair()
    t0 = time.monotonic()
    for d in range(100):
        dp = env.S("b%02d" % d)
        os.mkdir(dp)
        for i in range(100):
            with open(os.path.join(dp, "f%03d" % i), "wb") as f:
                f.write(b"burst %d %d\n" % (d, i))
    t_last = time.monotonic()
    log("burst: 10,000 files written in %.2f s" % (t_last - t0))
    env.wait_converged(timeout=90, what="burst converged")
    t_conv = time.monotonic()
    log("burst: converged %.2f s after the last write (%.2f s after the first)"
        % (t_conv - t_last, t_conv - t0))


@e2e_test()
def test_coalesce(env):
    """200 writes to one file in a tight loop: final state, few transfers."""
    write_file(env.S("hot.txt"), "initial\n")
    env.start_pair()
    mark = env.watcher.mark()
    for i in range(200):
        with open(env.S("hot.txt"), "wb") as f:
            f.write(("version %d\n" % i).encode() * (1 + i % 50))
    env.wait_converged()
    settle()
    ops = [o for o in env.watcher.op_sent(mark) if o[1] == "hot.txt"]
    writes = [o for o in ops if o[0] in WRITE_KINDS]
    log("coalesce: %d write ops for 200 writes (%d ops in all)" % (len(writes), len(ops)))
    check(len(writes) >= 1, "no write op-sent for hot.txt at all (ops: %r)" % ops)
    check(len(writes) < 50, "200 writes were not coalesced: %d write ops" % len(writes))


@e2e_test()
def test_dot_livesync(env):
    """`.livesync` at the watched root is skipped with a warning; the
    reference's state folder is untouched. Deeper ones are mirrored."""
    write_file(env.S(".livesync", "marker-initial"), "must not be mirrored\n")
    write_file(env.S("sub", ".livesync", "deeper"), "mirrored\n")
    write_file(env.S("a.txt"), "a\n")
    env.start_pair()
    env.watcher.wait_line(r"(?i)\bwarn.*\.livesync", timeout=5,
                          what="warning about .livesync")
    check(os.path.isdir(env.R(".livesync")) and not os.path.islink(env.R(".livesync")),
          "ref/.livesync is not a directory")
    check(os.path.isfile(env.R("sub", ".livesync", "deeper")),
          "sub/.livesync/deeper not mirrored")
    write_file(env.S(".livesync", "marker-live"), "must not be mirrored either\n")
    os.makedirs(env.S(".livesync", "dir-live"))
    write_file(env.S("sentinel.txt"), "after\n")
    env.wait_converged()
    settle(0.5)
    for dirpath, dirnames, filenames in os.walk(env.R(".livesync")):
        for n in dirnames + filenames:
            check(not n.startswith("marker") and n != "dir-live",
                  "SRC's .livesync content reached ref: %s" % os.path.join(dirpath, n))
    bad = [o for o in env.watcher.op_sent() if under(o[1], ".livesync")]
    check(not bad, "ops sent for .livesync: %r" % bad)


@e2e_test(timeout=120, serial=True)
def test_large_file(env):
    """A 64 MiB file of random data, streamed in chunks; then modified."""
    write_file(env.S("small.txt"), "small\n")
    env.start_pair()
    mark = env.watcher.mark()
    data = os.urandom(64 << 20)
    t0 = time.monotonic()
    with open(env.S("big.bin"), "wb") as f:
        for off in range(0, len(data), 1 << 20):
            f.write(data[off:off + (1 << 20)])
    log("large: written in %.2f s" % (time.monotonic() - t0))
    env.wait_converged(timeout=90, what="64 MiB file mirrored")
    rss = {n.name: n.peak_rss_kib() for n in (env.watcher, env.reference)}
    log("large: peak RSS (VmHWM) %s" % ", ".join("%s=%.1f MiB" % (k, v / 1024)
                                                for k, v in rss.items()))
    ops = [o[0] for o in env.watcher.op_sent(mark) if o[1] == "big.bin"]
    log("large: ops for big.bin: %d begin_file, %d chunk, %d commit_file, %d write_file"
        % tuple(ops.count(k) for k in ("begin_file", "chunk", "commit_file", "write_file")))
    check("begin_file" in ops and "commit_file" in ops and ops.count("chunk") >= 2,
          "big.bin was not streamed in chunks (ops: %s)" % sorted(set(ops)))
    for name, kib in rss.items():
        check(kib is not None and kib < 150 * 1024,
              "%s peak RSS %.1f MiB >= 150 MiB" % (name, kib / 1024))
    del data
    with open(env.S("big.bin"), "r+b") as f:
        f.seek(40 << 20)
        f.write(b"modified in the middle" * 100)
    env.wait_converged(timeout=60, what="64 MiB file modified")


@e2e_test()
def test_hard_link_names_follow(env):
    """A file with two names (hard links) is one file with two names on the
    reference too (rsync -H), and its content crosses once. A write, a
    chmod or an append through one name raises an event for that name
    only, yet both names change, on the reference too, and stay one inode;
    also after a watcher restart, when the names come from its walk."""
    write_file(env.S("a", "f"), b"version 1\n")
    os.makedirs(env.S("b"))
    os.link(env.S("a", "f"), env.S("b", "g"))
    big = random_bytes(200_000, 3)
    write_file(env.S("big1"), big)
    os.link(env.S("big1"), env.S("a", "big2"))
    env.start_pair()

    def one_inode(x, y, what):
        sx, sy = os.lstat(env.R(*x)), os.lstat(env.R(*y))
        check(sx.st_ino == sy.st_ino,
              "%s: %s and %s are two files on the reference"
              % (what, "/".join(x), "/".join(y)))

    def check_identity(what):
        one_inode(("a", "f"), ("b", "g"), what)
        one_inode(("big1",), ("a", "big2"), what)

    check_identity("initial sync")
    big_content = [o for o in env.watcher.op_sent()
                   if o[0] in CONTENT_KINDS and "big" in o[1]]
    links = [o for o in env.watcher.op_sent() if o[0] == "link"]
    check(len({o[1] for o in big_content}) == 1,
          "the content of big1 crossed for both names: %r" % big_content)
    check(len(links) == 2, "expected two link ops, saw %r" % links)

    write_file(env.S("a", "f"), b"version 2, through a/f\n")
    env.wait_converged(what="a write through a/f reached b/g")
    os.chmod(env.S("b", "g"), 0o600)
    env.wait_converged(what="a chmod through b/g reached a/f")
    with open(env.S("a", "big2"), "r+b") as f:  # a delta through one name
        f.seek(100_000)
        f.write(b"edited in place")
    env.wait_converged(what="an edit of a/big2 reached big1")
    check_identity("live changes")

    env.restart_watcher()
    append_file(env.S("b", "g"), b"appended through b/g\n")
    env.wait_converged(what="after a restart, an append through b/g reached a/f")
    check_identity("after a restart")

    # a/f leaves the group (a new file renamed over it, same content and
    # mtime): a chmod of b/g must not reach a/f on the reference.
    st = os.lstat(env.S("a", "f"))
    with open(env.S("a", "f"), "rb") as f:
        data = f.read()
    write_file(env.S("a", "f.new"), data, 0o600)
    os.utime(env.S("a", "f.new"), ns=(st.st_atime_ns, st.st_mtime_ns))
    os.rename(env.S("a", "f.new"), env.S("a", "f"))
    os.chmod(env.S("b", "g"), 0o640)
    env.wait_converged(what="a chmod of b/g after a/f left the group")
