"""E2E: start-up reconciliation (issue 2, "Start-up")."""

import json
import os
import shutil

from harness import (CONTENT_KINDS, Skip, check, diff_trees, e2e_test, fill_tree,
                     log, make_dirs, random_bytes, reference_argv, settle,
                     symlink, watcher_argv, write_file)

T2001 = 1_000_000_000_123_456_789
MIXED_NAMES = ["with space", "\u00fcn\u00efc\u00f6d\u00e9 \u65e5\u672c", "new\nline", "-dash"]


def mixed_tree(env):
    """A bit of everything: modes, mtimes, depth, symlinks, empties, odd names."""
    fill_tree(env.src, files=120, depth=3, fanout=3)
    write_file(env.S("modes", "a644"), "a\n", 0o644, T2001)
    write_file(env.S("modes", "a755"), "b\n", 0o755, T2001 + 1)
    write_file(env.S("modes", "a600"), "c\n", 0o600, T2001 + 2)
    make_dirs(env.S("modes", "private"), 0o700)
    write_file(env.S("big.bin"), random_bytes(2 << 20, 5))
    write_file(env.S("empty"), b"")
    os.makedirs(env.S("emptydir", "inner"))
    symlink("big.bin", env.S("link-rel"))
    symlink("/nonexistent/target", env.S("link-dangling"))
    p = env.S("deep")
    for i in range(7):
        p = os.path.join(p, "l%d" % i)
        write_file(os.path.join(p, "f"), "%d\n" % i)
    for n in MIXED_NAMES:
        write_file(env.S("names", n), n + "\n")


@e2e_test()
def test_startup_empty_ref(env):
    """(a) An empty (missing) reference gets everything; at `in-sync` the
    trees are identical."""
    mixed_tree(env)
    check(not os.path.exists(env.ref), "ref exists before the reference starts")
    env.start_reference()
    env.start_watcher(timeout=30)
    env.assert_converged_now(grace=1.0, what="identical at in-sync")
    write_file(env.S("live.txt"), "live after initial sync\n")
    env.wait_converged()


@e2e_test()
def test_startup_unchanged(env):
    """(b) Watcher restarted over an unchanged tree: a new `in-sync`, and no
    content crosses the wire (no write_file/begin_file/chunk/commit_file)."""
    mixed_tree(env)
    env.start_pair()
    settle(0.5)
    w2 = env.restart_watcher()
    env.assert_converged_now(grace=1.0, what="identical at in-sync after restart")
    settle()
    ops = w2.op_sent()
    log("restart over unchanged tree: %d op-sent lines: %r" % (len(ops), ops[:20]))
    content = [o for o in ops if o[0] in CONTENT_KINDS]
    check(not content, "restart over an unchanged tree sent content (%d ops), first: %r"
          % (len(content), content[:10]))
    # "An up-to-date one gets nothing but the comparison": at most directory
    # attribute fix-ups (directory mtimes are best effort).
    other = [o for o in ops if not (o[0] == "set_attr" and os.path.isdir(env.S(o[1])))]
    check(not other, "restart over an unchanged tree sent ops: %r" % other[:10])


@e2e_test()
def test_startup_stale(env):
    """(c) Stale reference: SRC changed while the watcher was stopped, and
    extra files put in REF directly -> exactly equal, extras removed."""
    mixed_tree(env)
    write_file(env.S("change-size.txt"), "short\n")
    write_file(env.S("change-same-size.txt"), "AAAA\n", mtime_ns=T2001)
    write_file(env.S("remove-me.txt"), "bye\n")
    fill_tree(env.S("remove-dir"), files=20, depth=2, fanout=2)
    write_file(env.S("chmod-me"), "m\n", 0o644)
    write_file(env.S("touch-me"), "t\n", mtime_ns=T2001)
    write_file(env.S("file-to-dir"), "f\n")
    write_file(env.S("dir-to-link", "x"), "x\n")
    fill_tree(env.S("rename-dir"), files=20, depth=1, fanout=2)
    write_file(env.S("ref-drift.txt"), "original\n")
    env.start_pair()
    env.watcher.stop()
    # SRC changes while no watcher runs.
    write_file(env.S("change-size.txt"), "much longer content now\n")
    write_file(env.S("change-same-size.txt"), "BBBB\n", mtime_ns=T2001 + 10**9)
    os.remove(env.S("remove-me.txt"))
    shutil.rmtree(env.S("remove-dir"))
    os.chmod(env.S("chmod-me"), 0o600)
    os.utime(env.S("touch-me"), ns=(T2001 + 5, T2001 + 5))
    os.remove(env.S("file-to-dir"))
    write_file(env.S("file-to-dir", "inner"), "inner\n")
    shutil.rmtree(env.S("dir-to-link"))
    os.symlink("modes", env.S("dir-to-link"))
    os.rename(env.S("rename-dir"), env.S("renamed-dir"))
    write_file(env.S("added.txt"), "added\n")
    fill_tree(env.S("added-dir"), files=15, depth=2, fanout=2, seed=9)
    # REF changes behind the reference's back.
    write_file(env.R("extra.txt"), "extra\n")
    fill_tree(env.R("extra-dir"), files=10, depth=2, fanout=2)
    os.symlink("extra.txt", env.R("extra-link"))
    write_file(env.R("modes", "extra-in-subdir"), "extra\n")
    write_file(env.R("ref-drift.txt"), "drifted, longer\n")
    os.chmod(env.R("modes", "a644"), 0o666)
    env.start_watcher(timeout=30)
    env.assert_converged_now(grace=1.0, what="identical at in-sync after a stale start")


@e2e_test()
def test_startup_raises_fd_limit(env):
    """Both programs raise their soft descriptor limit to the hard one
    (systemd and Docker start processes at 1,024 with a hard limit far
    above; a reference copying from many sources, or walking 256 levels,
    needs more)."""
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        raise Skip("prlimit (util-linux) not found")
    prefix = [prlimit, "--nofile=256:8192", "--"]
    env.start_reference(argv=prefix + reference_argv(env.ref, 0))
    env.start_watcher(argv=prefix + watcher_argv(env.src, env.reference.port))
    for node in (env.reference, env.watcher):
        with open("/proc/%d/limits" % node.proc.pid) as f:
            line = [l for l in f if l.startswith("Max open files")][0]
        log("%s: %s" % (node.name, line.strip()))
        check(line.split()[3:5] == ["8192", "8192"], "%s: %s" % (node.name, line.strip()))


@e2e_test()
def test_startup_second_watcher_refused(env):
    """A reference mirrors one watched tree: a second watcher (another root)
    is refused with a clear reason while the first is connected, and the
    mirror stays the first one's tree; once the first stops, the second
    may take its place."""
    write_file(env.S("mine.txt"), b"first tree\n")
    env.start_pair()
    other = os.path.join(env.base, "other")
    write_file(os.path.join(other, "theirs.txt"), b"second tree\n")
    first = env.watcher
    second = env.start_watcher(root=other, wait_sync=False)
    second.wait_line(r"another watcher mirrors into this reference", timeout=10,
                     what="the refusal of the second watcher")
    env.reference.wait_line(r"peer-refused reason=another-watcher", timeout=10,
                            what="the reference's warning")
    write_file(env.S("later.txt"), b"still the first tree\n")
    env.wait_converged(what="the first watcher still mirrors")
    check(not os.path.exists(env.R("theirs.txt")), "the second tree leaked into the mirror")
    # The first one stops: the second takes its place (after its backoff).
    first.stop()
    second.wait_in_sync(1, timeout=20)
    check(os.path.exists(env.R("theirs.txt")) and not os.path.exists(env.R("mine.txt")),
          "the mirror is not the second tree after the first stopped")


def _drop_from_page_cache(root):
    """Writes every file back and drops it from the page cache (as after a
    reboot), so that reading it waits for the disk."""
    for d, _, names in os.walk(root):
        for n in names:
            fd = os.open(os.path.join(d, n), os.O_RDONLY)
            try:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _nowait_reads_work(path):
    """Whether this kernel and filesystem tell a read from the page cache
    apart (preadv2 RWF_NOWAIT) for `path`, just dropped from it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.preadv(fd, [bytearray(4096)], 0, os.RWF_NOWAIT)
        return False  # Served: either still cached or not told apart.
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


@e2e_test(timeout=90)
def test_startup_cold_cache_reads_on_content_workers(env):
    """Issue 13: an initial sync of small files that are not in the page
    cache reads them on the content workers (status counts them) and ends
    identical; with --content-workers=0 the sender reads them all itself."""
    from tests_control import command, control_port
    for i in range(400):
        write_file(env.S("d%02d" % (i % 20), "f%03d" % i),
                   ("cold file %d\n" % i).encode() * (1 + i % 50))
    results = {}
    for workers in ("4", "0"):
        ref = os.path.join(env.base, "ref-workers-" + workers)
        env.start_reference(root=ref)
        _drop_from_page_cache(env.src)
        env.start_watcher(extra=["--content-workers=" + workers], timeout=60)
        d = diff_trees(env.src, ref, limit=5)
        check(not d, "%s workers: not identical at in-sync:\n  %s" % (workers, "\n  ".join(d)))
        rc, out, err = command(env, "status", "--control-port=%d" % control_port(env), "--json")
        check(rc == 0, "status: rc=%s err=%r" % (rc, err))
        st = json.loads(out)
        st = st[0] if isinstance(st, list) else st
        results[workers] = st["worker_reads"]
        log("%s workers: worker_reads=%d files=%d" % (workers, st["worker_reads"], st["files"]))
        check(st["files"] == 400, "%s workers: %d files sent (each once)" % (workers, st["files"]))
        env.watcher.stop()
        env.reference.stop()
    check(results["0"] == 0, "no workers, yet %d worker reads" % results["0"])
    if results["4"] == 0:
        _drop_from_page_cache(env.src)
        if _nowait_reads_work(env.S("d00", "f000")):
            check(False, "cold files and 4 workers, but no worker read")
        log("SKIPPED the worker-read count: this filesystem does not tell "
            "cached reads apart (preadv2 RWF_NOWAIT); identical trees checked")
