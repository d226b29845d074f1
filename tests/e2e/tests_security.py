"""E2E: the reference trusts nothing (issue 4, "The receiver trusts nothing"
and "Tests that attack it"). A hostile client (tests/hostile, the binary
livesync-hostile-client next to the two programs) speaks the receiver's
typed interface over plain BASP and tries to escape the root, write into
the state folder, claim huge sizes and flood the receiver; afterwards the
disk and the reference's log are checked here. A full disk (a 4 MiB tmpfs,
root only) must give a clear error, leave no staging debris and keep the
committed tree as it was."""

import hashlib
import os
import re
import stat
import subprocess
import tempfile
import time

from harness import (binary, check, e2e_test, fill_tree, log,
                     random_bytes, reference_argv, write_file)

HOSTILE = "livesync-hostile-client"

# Every attack the client runs by default, in order (its `attack=NAME` lines).
ATTACKS = ("dotdot", "absolute", "malformed_paths", "bad_fields",
           "symlink_escape", "hard_link_escape", "dir_swap_setup", "dir_swap",
           "dir_swap_commit_setup", "dir_swap_commit", "rename_through_symlink",
           "state_folder", "copy_range", "zstd", "packed", "stranger_apply",
           "read_repeats_setup", "read_repeats", "claim_4gib", "chunk_over_8mib",
           "too_many_transfers", "too_many_transfers_65th",
           "too_many_transfers_closed", "batch_16385", "flood", "path_1mb",
           "good_write", "good_manifest", "left_open")

# The million tiny operations take ~30 s on tmpfs but ~20 min on
# this disk (ext4 manages ~850 replace-by-rename per second); CI floods
# 50,000 and LIVESYNC_FLOOD_OPS=1000000 runs the full attack.
FLOOD_OPS = int(os.environ.get("LIVESYNC_FLOOD_OPS", "50000"))
FLOOD_BATCHES = -(-FLOOD_OPS // 16384)
GOOD_TEXT = b"the reference still serves a good client\n"

# What the attacks may leave at the reference's root, and nothing else.
EXPECTED_ROOT = {
    "a": "symlink",              # symlink a -> outside (made through an op)
    "d": "symlink",              # the client's swap: d -> outside
    "d-swapped-out": "dir",      # ... and the directory it replaced
    "d-swapped-out/before.txt": "file",
    "e": "symlink",              # the second swap (commit after the swap)
    "e-swapped-out": "dir",
    "flood": "dir",
    "lnk": "symlink",            # lnk -> outside/keep.txt (copy_range's base)
    "good.txt": "file",
    "hl": "symlink",             # hl -> outside (hard_link_escape)
    "hl-file": "symlink",        # hl-file -> outside/keep.txt
    "hl-inside.txt": "file",     # the one file a link may name
    "r.txt": "file",
    "suid.bin": "file",
    "zstd-ok.txt": "file",       # a good compressed write
    "packed-ok.txt": "file",     # a good write in a packed batch (zstd stream)
    "repeat": "dir",             # read_repeats asks for these twice in one request
    "repeat/file.txt": "file",
}
EXPECTED_ROOT.update({"flood/f%d" % k: "file" for k in range(8)})

ATTACK_RE = re.compile(r"^attack=(\S+) ")
SUMMARY_RE = re.compile(r"^summary attacks=(\d+) mismatches=(\d+) refused_ops=(\d+) "
                        r"batch_refusals=(\d+) request_errors=(\d+)")
# Every refusal is logged: a warning, or an info line (echo=true) when it
# only echoes an earlier failure of the same transfer.
OP_REFUSED_RE = re.compile(r"\b(warn\w*|info)\b.*\bop-refused kind=")
ENOSPC_RE = re.compile(r"\bop-failed .*No space left on device")
RETRY_BEGIN_RE = re.compile(r"\bop-sent kind=begin_file path=big\.bin\b")
LEVEL_ERROR_RE = re.compile(r"^\S+ (error|critical) ")
BATCH_REFUSED_RE = re.compile(r"\bwarn\w*\b.*\bbatch-refused ops=16385\b")
PACKED_REFUSED_RE = re.compile(r"\bwarn\w*\b.*\bbatch-refused packed=true\b")
# A read request naming one path twice: a warning (not an error), one per
# request (the root, "", is not named in the line).
LISTINGS_TWICE_RE = re.compile(r"^\S+ warn\w* \[[^\]]*\] listings-refused (path=\S+ )?"
                               r"reason=named twice in one request$")
DIGEST_TWICE_RE = re.compile(r"^\S+ warn\w* \[[^\]]*\] digest-refused (path=\S+ )?"
                             r"reason=named twice in one request$")
# The only lines a peer's injected text may appear in: a refusal, the event
# that starts the line, that names the path (escaped) after path=.
INJECTION_MARK = "FORGED-BY-HOSTILE-CLIENT"
INJECTION_REFUSAL_RE = re.compile(
    r"^\S+ (?P<level>warn\w*|info) \[[^\]]*\] "
    r"(?P<event>op-refused|listings-refused|recipe-refused|digest-refused) "
    r"(kind=\S+ )?path=[^\n]*FORGED-BY-HOSTILE-CLIENT")


# -- helpers ---------------------------------------------------------------------


def snapshot(top, exclude=()):
    """{relpath: description} of everything beneath `top` (and `top` itself
    as "."), never following symlinks: kind, permission bits, mtime, size and
    content hash or link target. Paths in `exclude` (absolute) are skipped
    with everything beneath them."""
    exclude = {os.path.abspath(p) for p in exclude}
    out = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        path = os.path.join(top, rel) if rel else top
        if os.path.abspath(path) in exclude:
            continue
        st = os.lstat(path)
        desc = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode)]
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                # The link count too: a hard link made to an outside file
                # changes nothing else about it.
                desc += [st.st_size, st.st_mtime_ns, st.st_nlink,
                         hashlib.sha256(f.read()).hexdigest()]
        elif stat.S_ISLNK(st.st_mode):
            desc.append(os.readlink(path))
        elif stat.S_ISDIR(st.st_mode):
            desc.append(st.st_mtime_ns)
            for name in os.listdir(path):
                stack.append(os.path.join(rel, name) if rel else name)
        out[rel or "."] = tuple(desc)
    return out


def snapshot_diff(before, after, limit=20):
    diffs = []
    for rel in sorted(set(before) | set(after)):
        if rel not in after:
            diffs.append("removed: %r" % rel)
        elif rel not in before:
            diffs.append("created: %r %r" % (rel, after[rel]))
        elif before[rel] != after[rel]:
            diffs.append("changed: %r %r -> %r" % (rel, before[rel], after[rel]))
        if len(diffs) >= limit:
            break
    return diffs


def kind_of(path):
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return "symlink"
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if stat.S_ISREG(st.st_mode):
        return "file"
    return "other"


def tree_kinds(root, skip_state=True):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        for name in dirnames + filenames:
            rel = name if rel_dir == "." else os.path.join(rel_dir, name)
            if skip_state and rel == ".livesync":
                continue
            out[rel] = kind_of(os.path.join(dirpath, name))
        if skip_state and rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != ".livesync"]
    return out


def mount_tmpfs(path, size):
    """Mounts a tmpfs of `size` at `path`; returns None or why it failed."""
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size,
                            "tmpfs", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    if p.returncode != 0:
        return "mount exited %d: %s" % (p.returncode,
                                        p.stdout.decode("utf-8", "replace").strip())
    return None


def umount(path):
    for argv in (["umount", path], ["umount", "-l", path]):
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode == 0:
            log("unmounted %s%s" % (path, " (lazily)" if "-l" in argv else ""))
            return
        log("%s: %s" % (" ".join(argv), p.stdout.decode("utf-8", "replace").strip()))


def used_bytes(path):
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def staging_entries(root):
    return sorted(os.listdir(os.path.join(root, ".livesync", "staging")))


def is_tmpfs(path):
    path = os.path.realpath(path)
    best, fstype = "", None
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            mnt = parts[1].replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, fstype = mnt, parts[2]
    return fstype == "tmpfs"


def run_hostile(env, port, root, extra=(), timeout=1700):
    argv = [binary(HOSTILE), "--port=%d" % port, "--outside=%s" % env.outside,
            "--reference-root=%s" % root, "--timeout=300",
            "--flood-ops=%d" % FLOOD_OPS] + list(extra)
    t0 = time.monotonic()
    rc, out, err = env.run_cli(argv, timeout=timeout, name="hostile")
    log("hostile client: rc=%s after %.1f s" % (rc, time.monotonic() - t0))
    for line in out.splitlines():
        log("  | " + (line if len(line) < 2000 else line[:2000] + "..."))
    return rc, out, err


def fill_outside(env):
    write_file(env.O("keep.txt"), "outside, must stay\n")
    write_file(env.O("sub", "inner.txt"), "outside too\n")


def flood_expected(k, total=FLOOD_OPS):
    """Content of flood/f<k>: op i (1 <= i < total) writes "op i\\n" to
    flood/f<i % 8>; the last one wins."""
    last = max(i for i in range(max(1, total - 8), total) if i % 8 == k)
    return ("op %d\n" % last).encode()


# -- the hostile client ---------------------------------------------------------------


def fast_root(env):
    """A place for the reference root where a million tiny file replacements
    take seconds, not a quarter of an hour: a private tmpfs, else /dev/shm,
    else the test's temp dir. (On this class of virtual disk, ext4 manages
    ~850 replace-by-rename per second, with or without livesync; the flood
    tests the receiver, not the disk.) Returns (root, parent, cleanup)."""
    mnt = os.path.join(env.base, "fast")
    os.mkdir(mnt)
    why = mount_tmpfs(mnt, "512m")
    if why is None:
        log("reference root on a private tmpfs at %s" % mnt)
        return os.path.join(mnt, "ref"), mnt, lambda: umount(mnt)
    log("no private tmpfs (%s)" % why)
    if os.path.isdir("/dev/shm") and is_tmpfs("/dev/shm") and os.access("/dev/shm", os.W_OK):
        d = tempfile.mkdtemp(prefix="livesync-e2e-security-", dir="/dev/shm")
        log("reference root on /dev/shm at %s" % d)

        def cleanup():
            subprocess.run(["rm", "-rf", "--one-file-system", d])

        return os.path.join(d, "ref"), d, cleanup
    log("reference root on the test's temp dir (slow flood expected)")
    return os.path.join(mnt, "ref"), mnt, lambda: None


@e2e_test(timeout=600, serial=True)
def test_security_hostile_client(env):
    """A hostile client over the real network: every attack is refused, no
    byte lands outside the root or in the state folder, every refusal is a
    warning, a million tiny ops are survived, and a good write still lands."""
    fill_outside(env)
    root, parent, cleanup = fast_root(env)
    try:
        # info, not debug: debug logs one op-applied line per op (a million).
        ref = env.start_reference(argv=reference_argv(root, 0, log_level="info"))
        # Taken once the root exists (making it changes its parent's mtime).
        watched = [env.base, parent]
        excluded = [root, env.logs]
        before = {top: snapshot(top, excluded) for top in watched}
        rc, out, err = run_hostile(env, ref.port, root)
        lines = out.splitlines()

        # The client ran to the end and every reply was the expected one.
        check(rc == 0, "hostile client exited with %s (0 = ran to the end); "
              "stderr: %r" % (rc, err[-500:]))
        seen = [m.group(1) for m in map(ATTACK_RE.match, lines) if m]
        check(tuple(seen) == ATTACKS, "attacks run: %s, expected %s" % (seen, ATTACKS))
        bad = [l[:600] for l in lines if l.startswith("attack=") and "expect=ok" not in l]
        check(not bad, "attacks with an unexpected reply:\n  " + "\n  ".join(bad))
        check(any(re.match(r"hello protocol=\d+ wrong-version-refused=yes", l) for l in lines),
              "a hello with a wrong protocol version was not refused")
        summary = [m for m in map(SUMMARY_RE.match, lines) if m]
        check(len(summary) == 1, "no summary line from the client")
        _, mismatches, refused_ops, batch_refusals, request_errors = map(int, summary[0].groups())
        check(mismatches == 0 and request_errors == 0,
              "client summary: %s" % summary[0].group(0))
        flood = [l for l in lines if l.startswith("attack=flood ")][0]
        check(" ops=%d batches=%d refused=0 " % (FLOOD_OPS, FLOOD_BATCHES) in flood,
              "flood line: %s" % flood)
        log("flood: %s (reference root on %s)"
            % (flood, "tmpfs" if is_tmpfs(root) else "disk"))

        # The reference is alive, and drops the transfer the client left open
        # when the client goes away.
        ref.check_alive()
        ref.wait_line(r"peer-lost .*aborted_transfers=1", timeout=10,
                      what="peer-lost with the left-open transfer aborted")

        # Every refused op is one warning line; the oversized batch one more.
        n_refused = ref.count(OP_REFUSED_RE)
        check(n_refused == refused_ops,
              "the reference logged %d op-refused warnings, the client got %d refusals"
              % (n_refused, refused_ops))
        check(batch_refusals == 1 and ref.count(BATCH_REFUSED_RE) == 1,
              "the 16385-op batch: %d whole-batch refusals, %d batch-refused warnings"
              % (batch_refusals, ref.count(BATCH_REFUSED_RE)))
        check(ref.count(LEVEL_ERROR_RE) == 0,
              "the reference logged errors:\n  " + "\n  ".join(
                  l[:300] for l in ref.matching(LEVEL_ERROR_RE)[:10]))

        # Nothing changed outside the root (the outside dir keeps exactly its
        # files, modes and mtimes; nothing appeared next to the root).
        for top in watched:
            d = snapshot_diff(before[top], snapshot(top, excluded))
            check(not d, "changed outside the root, beneath %s:\n  %s" % (top, "\n  ".join(d)))

        # The state folder holds the staging folder only, and it is empty.
        state = os.path.join(root, ".livesync")
        check(sorted(os.listdir(state)) == ["staging"],
              ".livesync holds %s" % sorted(os.listdir(state)))
        check(staging_entries(root) == [], "staging not empty: %s" % staging_entries(root)[:10])

        # The root holds what the good ops made, nothing the attacks tried.
        kinds = tree_kinds(root)
        extra = sorted(set(kinds) - set(EXPECTED_ROOT))
        missing = sorted(set(EXPECTED_ROOT) - set(kinds))
        wrong = sorted(p for p in set(kinds) & set(EXPECTED_ROOT) if kinds[p] != EXPECTED_ROOT[p])
        check(not extra and not missing and not wrong,
              "reference root: extra %s, missing %s, wrong kind %s"
              % (extra[:20], missing, wrong))
        for link in ("a", "d", "e"):
            check(os.readlink(os.path.join(root, link)) == env.outside,
                  "%s -> %r" % (link, os.readlink(os.path.join(root, link))))
        check(os.readlink(os.path.join(root, "lnk")) == env.O("keep.txt"),
              "lnk -> %r" % os.readlink(os.path.join(root, "lnk")))
        with open(os.path.join(root, "zstd-ok.txt"), "rb") as f:
            check(f.read() == b"z" * 4000, "zstd-ok.txt has the wrong content")
        with open(os.path.join(root, "packed-ok.txt"), "rb") as f:
            check(f.read() == b"a packed write lands " * 191,  # 4011 bytes
                  "packed-ok.txt has the wrong content")
        # Six refusals by the stream (bomb, after it, 4 GiB, replay, garbage,
        # hidden bomb) are warnings; the stranger's is refused before that.
        check(ref.count(PACKED_REFUSED_RE) == 6,
              "packed batches refused: %d batch-refused packed=true warnings, expected 6"
              % ref.count(PACKED_REFUSED_RE))
        # The stranger's unpacked batch left nothing: no file, no staging
        # file, no transfer (peer-lost above aborted only left_open's).
        for name in ("stranger.txt", "stranger-big.bin"):
            check(not os.path.lexists(os.path.join(root, name)),
                  "%s exists: a batch of an actor that never said hello applied" % name)
        # Read requests naming one path twice: refused, each one warning
        # (three listings requests, one digest request).
        check(ref.count(LISTINGS_TWICE_RE) == 3 and ref.count(DIGEST_TWICE_RE) == 1,
              "requests naming a path twice: %d listings-refused and %d digest-refused "
              "'named twice' warnings, expected 3 and 1"
              % (ref.count(LISTINGS_TWICE_RE), ref.count(DIGEST_TWICE_RE)))
        with open(os.path.join(root, "repeat", "file.txt"), "rb") as f:
            check(f.read() == b"named twice, served once\n",
                  "repeat/file.txt has the wrong content")
        with open(os.path.join(root, "good.txt"), "rb") as f:
            check(f.read() == GOOD_TEXT, "good.txt has the wrong content")
        mode = stat.S_IMODE(os.lstat(os.path.join(root, "suid.bin")).st_mode)
        check(mode == 0o755, "suid.bin has mode %04o, expected 0755 (setuid/setgid stripped)" % mode)
        for k in range(8):
            with open(os.path.join(root, "flood", "f%d" % k), "rb") as f:
                data = f.read()
            check(data == flood_expected(k),
                  "flood/f%d holds %r, expected %r (the last op to it)" % (k, data, flood_expected(k)))
        ref.check_alive()
        env.stop_all()
    finally:
        env.kill_all()
        cleanup()


@e2e_test(timeout=60)
def test_security_log_injection(env):
    """A refused path with a line break in it stays inside its one refusal
    warning, for ops (op-refused) and for every read request (listings,
    recipe, digest: their refusal reasons name the path): a peer cannot
    forge lines in the reference's log."""
    fill_outside(env)
    ref = env.start_reference()
    rc, out, _ = run_hostile(env, ref.port, env.ref,
                             extra=["--attacks=log_injection,log_injection_reads"],
                             timeout=30)
    check(rc == 0, "hostile client exited with %s" % rc)
    lines = out.splitlines()
    for name in ("log_injection", "log_injection_reads"):
        check(any(l.startswith("attack=%s " % name) and "expect=ok" in l for l in lines),
              "%s: the injected paths were not all refused" % name)
    ref.wait_line(r"peer-lost", timeout=10)
    marked = [l for l in ref.lines() if INJECTION_MARK in l]
    forged = [l for l in marked if not INJECTION_REFUSAL_RE.search(l)]
    check(not forged, "a peer forged %d line(s) in the reference's log, e.g. %r"
          % (len(forged), forged[:2]))
    # One refusal line per injected path, each a warning: 2 ops, and two
    # requests of each read kind (an invalid path, a missing one).
    events = {}
    for l in marked:
        m = INJECTION_REFUSAL_RE.search(l)
        check(m.group("level").startswith("warn"), "not a warning: %r" % l)
        events[m.group("event")] = events.get(m.group("event"), 0) + 1
    expected = {"op-refused": 2, "listings-refused": 2, "recipe-refused": 2,
                "digest-refused": 2}
    check(events == expected, "refusal lines naming the injected paths: %s, expected %s"
          % (events, expected))
    check(ref.count(OP_REFUSED_RE) == 2, "expected 2 op-refused warnings, got %d"
          % ref.count(OP_REFUSED_RE))
    check(ref.count(LEVEL_ERROR_RE) == 0,
          "the reference logged errors:\n  " + "\n  ".join(
              l[:300] for l in ref.matching(LEVEL_ERROR_RE)[:10]))


# -- disk full ----------------------------------------------------------------------


@e2e_test(timeout=120)
def test_security_disk_full(env):
    """The reference's disk fills up during a 16 MiB transfer (a 4 MiB
    tmpfs): a clear error reaches the watcher, the staging file is removed,
    the committed files stay as they were, and once the big file is gone
    from the watched tree the trees converge again. SKIPs (and passes)
    where no tmpfs can be mounted."""
    mnt = os.path.join(env.base, "mnt")
    os.mkdir(mnt)
    why = mount_tmpfs(mnt, "4m")
    if why is not None:
        log("SKIP security_disk_full: cannot mount a tmpfs at %s (needs root "
            "with CAP_SYS_ADMIN): %s" % (mnt, why))
        return
    try:
        env.ref = os.path.join(mnt, "ref")
        fill_tree(env.src, files=12, depth=2, fanout=2, size=300, seed=4)
        write_file(env.S("small.bin"), random_bytes(64 << 10, seed=5))
        env.start_pair()
        baseline = used_bytes(mnt)
        committed = snapshot(env.ref, [os.path.join(env.ref, ".livesync")])
        log("tmpfs usage after the first sync: %d bytes" % baseline)

        w, ref = env.watcher, env.reference
        wmark, rmark = w.mark(), ref.mark()
        # Random bytes: no compression can make 16 MiB fit in 4. Built
        # beside the tree and moved in whole, so the watcher reads it once.
        write_file(env.O("big.tmp"), random_bytes(16 << 20, seed=6))
        os.rename(env.O("big.tmp"), env.S("big.bin"))
        line = w.wait_line(ENOSPC_RE, since=wmark, timeout=30,
                           what="op-failed ... No space left on device")
        log("watcher: %s" % line)
        # The refusal arrives classed, not only as text.
        check(line.rstrip().endswith(" code=no_space"),
              "the watcher's op-failed line lacks code=no_space: %s" % line)
        check(ref.count(r"\bwarn\w*\b.*\bop-refused .*No space left on device", since=rmark) >= 1,
              "the reference logged no op-refused warning naming ENOSPC")

        # Twice: after the first failure, and after the watcher's retry
        # (which fills the disk again and fails the same way).
        for attempt in (1, 2):
            if attempt == 2:
                # A transfer begun after the first failure was reported
                # (the retry), and its own ENOSPC failure.
                begin = w.wait_line(RETRY_BEGIN_RE, since=after_first, timeout=30,
                                    what="the watcher's retry of big.bin")
                begin_at = w.lines().index(begin, after_first)
                line = w.wait_line(ENOSPC_RE, since=begin_at, timeout=30,
                                   what="ENOSPC again on the retry")
                log("watcher (retry): %s" % line)
            else:
                after_first = w.mark()
            # The staging file goes away: between the watcher's retries
            # staging is empty and the tmpfs usage back at its baseline.
            deadline = time.monotonic() + 20
            samples = []
            while True:
                st, used = staging_entries(env.ref), used_bytes(mnt)
                samples.append((len(st), used))
                if not st and used == baseline:
                    break
                env.check_nodes_alive()
                check(time.monotonic() < deadline,
                      "attempt %d: staging never empty with usage back at %d bytes in "
                      "20 s; last samples (staging entries, used bytes): %s"
                      % (attempt, baseline, samples[-10:]))
                time.sleep(0.005)
            log("attempt %d: staging empty, tmpfs usage back at %d bytes (after %d samples)"
                % (attempt, used, len(samples)))

            # The committed tree is as it was: same files, same bytes, no big.bin.
            d = snapshot_diff(committed, snapshot(env.ref, [os.path.join(env.ref, ".livesync")]))
            check(not d, "attempt %d: the committed tree changed while the disk was "
                  "full:\n  %s" % (attempt, "\n  ".join(d)))
            env.check_nodes_alive()

        # The big file goes away: the watcher's retry brings the trees together.
        os.remove(env.S("big.bin"))
        env.wait_converged(timeout=30, what="trees converged after big.bin was removed")
        write_file(env.S("after.txt"), "written after the disk was full\n")
        env.wait_converged(timeout=30, what="a new file mirrored")
        check(staging_entries(env.ref) == [], "staging not empty at the end: %s"
              % staging_entries(env.ref))
        env.stop_all()
    finally:
        env.kill_all()
        umount(mnt)
