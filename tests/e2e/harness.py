"""End-to-end harness for livesync: real binaries, loopback, temp dirs.

Standard library only (runs with Debian's /usr/bin/python3 on a fresh
machine). A test is a function `test_<name>(env)` registered with
`@e2e_test(...)`; run.py gives each test a fresh `Env` (its own
tempfile.mkdtemp, removed afterwards), calls it, then stops every node it
started with SIGTERM and checks that each exits with code 0 within 1 s.

Everything that knows how the two programs are invoked lives in the
"binaries and command lines" section below: flags that every invocation
needs (e.g. `--insecure` once TLS is on by default) go in COMMON_ARGS.
"""

import ctypes
import hashlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

# -- binaries and command lines ------------------------------------------------

WATCHER = "livesync-watcher"
REFERENCE = "livesync-reference"

# Added to every invocation of both programs, including the command-line
# contract tests (so that a negative test fails for the reason it tests).
COMMON_ARGS = ["--insecure"]
# Added to every invocation of one program. Watchers take a free control
# port (tests run in parallel; the default 4243 would collide).
REFERENCE_ARGS = []
WATCHER_ARGS = ["--control-port=0"]

LOG_LEVEL = "debug"
LOOPBACK = "127.0.0.1"
# TEST-NET-1 (RFC 5737): never routed. Negative tests point a watcher there,
# so that one which wrongly keeps running can reach no reference at all.
UNROUTABLE = "192.0.2.1"

# How long a node may take to exit after SIGTERM/SIGINT.
STOP_TIMEOUT = 1.0

_bin_dir = None


def set_bin_dir(path):
    global _bin_dir
    _bin_dir = os.path.abspath(path)


def bin_dir():
    d = _bin_dir or os.environ.get("LIVESYNC_BIN_DIR")
    if not d:
        raise SystemExit("e2e: no binary dir: pass --bin-dir=DIR or set LIVESYNC_BIN_DIR")
    return d


def binary(name):
    path = os.path.join(bin_dir(), name)
    if not os.access(path, os.X_OK):
        raise SystemExit("e2e: not an executable: %s" % path)
    return path


def reference_argv(root, port=0, log_level=LOG_LEVEL, extra=()):
    """The reference's command line. None omits an option."""
    argv = [binary(REFERENCE)]
    if root is not None:
        argv.append("--root=%s" % root)
    if port is not None:
        argv.append("--port=%s" % port)
    if log_level is not None:
        argv.append("--log-level=%s" % log_level)
    return argv + COMMON_ARGS + REFERENCE_ARGS + list(extra)


def watcher_argv(root, port, host=LOOPBACK, log_level=LOG_LEVEL, extra=()):
    """The watcher's command line. None omits an option."""
    argv = [binary(WATCHER)]
    if root is not None:
        argv.append("--root=%s" % root)
    if host is not None:
        argv.append("--host=%s" % host)
    if port is not None:
        argv.append("--port=%s" % port)
    if log_level is not None:
        argv.append("--log-level=%s" % log_level)
    return argv + COMMON_ARGS + WATCHER_ARGS + list(extra)


# -- test registry ---------------------------------------------------------------

TESTS = {}  # name -> (function, ctest timeout in s, run serial)


SKIP_RC = 77  # CTest: SKIP_RETURN_CODE 77 (cmake/LivesyncPythonTests.cmake)


class Skip(Exception):
    """The environment cannot run this test (not a failure)."""


def e2e_test(timeout=60, serial=False):
    """Registers `test_<name>` as e2e test <name> (CTest: e2e.<name>). A
    test that raises Skip is reported as skipped (run.py: exit code
    SKIP_RC when it ran alone, as CTest runs it)."""

    def register(fn):
        assert fn.__name__.startswith("test_"), fn.__name__
        name = fn.__name__[len("test_"):]
        assert name not in TESTS, name
        TESTS[name] = (fn, timeout, serial)
        return fn

    return register


class Failure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def log(msg):
    print("[e2e] %s" % msg, flush=True)


# -- processes -------------------------------------------------------------------

try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover
    _libc = None
_PR_SET_PDEATHSIG = 1


def _child_setup():
    # Die with the runner (a CTest timeout kills the runner, not its children),
    # and start with default signal handling whatever the runner inherited.
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


IN_SYNC_RE = re.compile(r"(?<![\w-])in-sync(?![\w-])")
LISTENING_RE = re.compile(r"listening.*?\bport=(\d+)")
OP_SENT_RE = re.compile(r"\bop-sent kind=(\S+) path=(\S+)(?: to=(\S+))?")
WARN_RE = re.compile(r"\bwarn", re.IGNORECASE)

CONTENT_KINDS = ("write_file", "begin_file", "chunk", "commit_file")
WRITE_KINDS = ("write_file", "begin_file")


class Node:
    """One running livesync process; stdout+stderr go to one log file."""

    def __init__(self, env, role, argv, name):
        self.env = env
        self.role = role
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(env.logs, name + ".log")
        self.port = None
        self._lines = []
        self._partial = b""
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, cwd=env.base,
                preexec_fn=_child_setup)
        self._reader = open(self.log_path, "rb")
        self.stopped = False
        log("started %s pid=%d: %s" % (name, self.proc.pid, " ".join(argv)))

    # -- log access ----

    def lines(self):
        """All complete log lines so far (decoded, without newline)."""
        data = self._reader.read()
        if data:
            data = self._partial + data
            parts = data.split(b"\n")
            self._partial = parts.pop()
            self._lines.extend(p.decode("utf-8", "replace") for p in parts)
        return self._lines

    def mark(self):
        """A position in the log; pass it as `since` to look at later lines."""
        return len(self.lines())

    def matching(self, regex, since=0):
        rx = re.compile(regex) if isinstance(regex, str) else regex
        return [l for l in self.lines()[since:] if rx.search(l)]

    def count(self, regex, since=0):
        return len(self.matching(regex, since))

    def alive(self):
        return self.proc.poll() is None

    def check_alive(self):
        check(self.alive(), "%s exited unexpectedly with code %s"
              % (self.name, self.proc.returncode))

    def wait_line(self, regex, timeout=15.0, count=1, since=0, what=None):
        """Waits until `count` lines (from `since`) match; returns the last."""
        rx = re.compile(regex) if isinstance(regex, str) else regex
        deadline = time.monotonic() + timeout
        while True:
            hits = [l for l in self.lines()[since:] if rx.search(l)]
            if len(hits) >= count:
                return hits[count - 1]
            if not self.alive():
                self.lines()
                raise Failure("%s exited with code %s while waiting for %s"
                              % (self.name, self.proc.returncode, what or regex))
            if time.monotonic() > deadline:
                raise Failure("%s: no %s after %.1f s (%d of %d lines seen)"
                              % (self.name, what or repr(regex), timeout,
                                 len(hits), count))
            time.sleep(0.02)

    def wait_in_sync(self, count=1, timeout=30.0):
        t0 = time.monotonic()
        self.wait_line(IN_SYNC_RE, timeout=timeout, count=count,
                       what="in-sync line #%d" % count)
        log("%s in-sync #%d after %.2f s" % (self.name, count, time.monotonic() - t0))

    def op_sent(self, since=0):
        """[(kind, path, to)] from the watcher's `op-sent` debug lines."""
        ops = []
        for l in self.lines()[since:]:
            m = OP_SENT_RE.search(l)
            if m:
                ops.append((m.group(1), m.group(2), m.group(3)))
        return ops

    def warnings_about(self, text, since=0):
        return [l for l in self.lines()[since:] if WARN_RE.search(l) and text in l]

    def peak_rss_kib(self):
        """VmHWM of the running process, in KiB."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for l in f:
                if l.startswith("VmHWM:"):
                    return int(l.split()[1])
        return None

    def tail(self, n=40):
        lines = self.lines()
        if self._partial:
            lines = lines + [self._partial.decode("utf-8", "replace")]
        return lines[-n:]

    # -- stopping ----

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends `sig`; checks exit code 0 within `timeout`; kill -9 otherwise."""
        if self.stopped:
            return
        self.stopped = True
        if self.proc.poll() is not None:
            raise Failure("%s had already exited with code %s before %s"
                          % (self.name, self.proc.returncode, sig.name))
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("%s did not exit within %.1f s of %s (killed with SIGKILL)"
                          % (self.name, timeout, sig.name)) from None
        dt = time.monotonic() - t0
        log("%s exited with %d %.3f s after %s" % (self.name, rc, dt, sig.name))
        check(rc == 0, "%s exited with code %d after %s (expected 0)"
              % (self.name, rc, sig.name))

    def kill(self):
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def unprivileged_prefix(uid):
    """argv prefix that runs a program as uid/gid `uid` with no supplementary
    groups and no capabilities (what the docker entrypoint does). Raises
    Skip unless we are root with setpriv (util-linux)."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0:
        raise Skip("not root: cannot run a node as uid %d" % uid)
    if not setpriv:
        raise Skip("setpriv (util-linux) not found: cannot run a node as uid %d" % uid)
    # The binaries must be reachable by that user (a checkout in /root is not).
    d = os.path.dirname(binary(REFERENCE))
    while d != "/":
        st = os.stat(d)
        if not st.st_mode & 0o001 and st.st_uid != uid:
            raise Skip("%s (mode %04o) is not searchable by uid %d: cannot run the "
                       "binaries as that user" % (d, stat.S_IMODE(st.st_mode), uid))
        d = os.path.dirname(d)
    return [setpriv, "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all",
            # the new uid clears _child_setup's PR_SET_PDEATHSIG: set it again
            "--pdeathsig=KILL"]


# -- the per-test environment ----------------------------------------------------


class Env:
    """A fresh temp dir with src/ (watched), ref/ (mirror, created by the
    reference), outside/ (same filesystem, not watched) and logs/."""

    def __init__(self, name, keep=False):
        self.name = name
        self.keep = keep
        self.base = tempfile.mkdtemp(prefix="livesync-e2e-%s-" % name)
        self.src = os.path.join(self.base, "src")
        self.ref = os.path.join(self.base, "ref")
        self.outside = os.path.join(self.base, "outside")
        self.logs = os.path.join(self.base, "logs")
        for d in (self.src, self.outside, self.logs):
            os.mkdir(d)
        self.nodes = []
        self.reference = None
        self.watcher = None
        self._seq = {}
        self._hash_cache = {}
        self._held = []

    def dead_port(self):
        """A loopback port bound by the harness but not listening: a connect
        to it is refused, and no other process can take it during the test.
        (A watcher must never reach a stranger's reference: the machine is
        shared, and a mirror deletes what its watched tree lacks.)"""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((LOOPBACK, 0))
        self._held.append(s)
        return s.getsockname()[1]

    def _name(self, role):
        n = self._seq.get(role, 0) + 1
        self._seq[role] = n
        return "%s-%d" % (role, n)

    def S(self, *parts):
        return os.path.join(self.src, *parts)

    def R(self, *parts):
        return os.path.join(self.ref, *parts)

    def O(self, *parts):
        return os.path.join(self.outside, *parts)

    # -- nodes ----

    def spawn(self, role, argv):
        node = Node(self, role, argv, self._name(role))
        self.nodes.append(node)
        return node

    def hand_reference_to(self, uid):
        """Lets `uid` run the reference here: the temp dir traversable, and
        ref/ (made if missing) its own."""
        os.chmod(self.base, 0o711)  # mkdtemp made it 0700
        if not os.path.exists(self.ref):
            os.mkdir(self.ref)
            os.chown(self.ref, uid, uid)
            os.chmod(self.ref, 0o755)

    def start_reference(self, root=None, port=0, extra=(), argv=None, timeout=15.0,
                        user=None):
        """Starts a reference and waits for its `listening ... port=N` line.
        `user=UID` runs it as that uid (and gid), without capabilities
        (unprivileged_prefix; Skip when that is not possible here)."""
        if argv is None:
            argv = reference_argv(self.ref if root is None else root, port, extra=extra)
        if user is not None:
            argv = unprivileged_prefix(user) + argv
            if root is None:
                self.hand_reference_to(user)
        node = self.spawn("reference", argv)
        line = node.wait_line(LISTENING_RE, timeout=timeout, what="listening line")
        node.port = int(LISTENING_RE.search(line).group(1))
        self.reference = node
        log("%s listening on port %d" % (node.name, node.port))
        return node

    def start_watcher(self, port=None, root=None, extra=(), argv=None,
                      wait_sync=True, timeout=30.0):
        """Starts a watcher against the current reference and (by default)
        waits for its first `in-sync` line."""
        if argv is None:
            if port is None:
                port = self.reference.port
            argv = watcher_argv(self.src if root is None else root, port, extra=extra)
        node = self.spawn("watcher", argv)
        self.watcher = node
        if wait_sync:
            node.wait_in_sync(1, timeout=timeout)
        return node

    def start_pair(self, timeout=30.0):
        """Reference + watcher over the current trees, in sync and converged."""
        self.start_reference()
        self.start_watcher(timeout=timeout)
        self.wait_converged(timeout=timeout)

    def restart_watcher(self, timeout=30.0):
        self.watcher.stop()
        return self.start_watcher(timeout=timeout)

    def check_nodes_alive(self):
        for n in self.nodes:
            if not n.stopped:
                n.check_alive()

    def stop_all(self, timeout=STOP_TIMEOUT):
        """SIGTERM each running node (watchers first): exit 0 within
        `timeout` (1 s unless told otherwise)."""
        order = [n for n in self.nodes if n.role == "watcher"] + \
                [n for n in self.nodes if n.role != "watcher"]
        first_error = None
        for n in order:
            if n.stopped:
                continue
            try:
                n.stop(timeout=timeout)
            except Failure as e:
                first_error = first_error or e
        if first_error:
            raise first_error

    def kill_all(self):
        for n in self.nodes:
            n.kill()

    def print_tails(self, n=40, out=sys.stdout):
        for node in self.nodes:
            lines = node.lines()
            bad = [l for l in lines[:-n] if re.search(r"(?i)\b(warn|error|critical|fatal)", l)]
            if bad:
                out.write("----- %s: warnings/errors before the tail (%d, last 20) -----\n"
                          % (node.name, len(bad)))
                for l in bad[-20:]:
                    out.write("  | %s\n" % l)
            out.write("----- tail of %s (%s, %d lines, exit code %s) -----\n"
                      % (node.name, node.log_path, len(lines), node.proc.poll()))
            for l in node.tail(n):
                out.write("  | %s\n" % l)
        for name in sorted(os.listdir(self.logs)):
            if name.endswith((".out", ".err")):
                with open(os.path.join(self.logs, name), "rb") as f:
                    data = f.read().decode("utf-8", "replace")
                if data.strip():
                    out.write("----- %s -----\n" % name)
                    for l in data.splitlines()[-10:]:
                        out.write("  | %s\n" % l)
        out.flush()

    def close(self):
        self.kill_all()
        for s in self._held:
            s.close()
        if self.keep:
            log("kept %s" % self.base)
        else:
            shutil.rmtree(self.base, ignore_errors=True)

    # -- convergence ----

    def diff(self, limit=20, full=True):
        return diff_trees(self.src, self.ref, limit=limit, full=full,
                          cache=self._hash_cache)

    def wait_converged(self, timeout=15.0, what="trees converged"):
        """Polls the exact comparison (~every 20 ms; less often for big trees)
        until SRC and REF are identical. Returns the seconds it took."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        while True:
            t1 = time.monotonic()
            if not self.diff(limit=1, full=False):
                # Metadata equal; now content too.
                if not self.diff(limit=1, full=True):
                    dt = time.monotonic() - t0
                    log("%s after %.3f s" % (what, dt))
                    return dt
            self.check_nodes_alive()
            now = time.monotonic()
            if now > deadline:
                d = self.diff(limit=20, full=True)
                if not d:
                    return now - t0
                raise Failure("%s: not after %.1f s; first differences (src=%s ref=%s):\n  %s"
                              % (what, timeout, self.src, self.ref, "\n  ".join(d)))
            time.sleep(max(0.02, now - t1))

    def assert_converged_now(self, grace=1.0, what="trees identical"):
        """For points where the contract says the trees ARE identical (right
        after `in-sync`): allows only `grace` seconds."""
        return self.wait_converged(timeout=grace, what=what)

    # -- CLI runs ----

    def check_watcher_option_rejected(self, option, values):
        """`--option=v` for each bad v: exit 2 and one line naming it."""
        for bad in values:
            rc, _, err = self.run_cli(watcher_argv(
                self.src, 1, extra=["--%s=%s" % (option, bad)]))
            check(rc == 2 and option in err and len(err.strip().splitlines()) == 1,
                  "--%s=%s: rc=%r stderr=%r" % (option, bad, rc, err))

    def run_cli(self, argv, timeout=5.0, name="cli"):
        """Runs a program to completion. Returns (rc, stdout, stderr); a
        program still running after `timeout` is killed and rc is None."""
        name = self._name(name)
        out_path = os.path.join(self.logs, name + ".out")
        err_path = os.path.join(self.logs, name + ".err")
        log("running %s: %s" % (name, " ".join(argv)))
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=err, cwd=self.base, preexec_fn=_child_setup)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                rc = None
        with open(out_path, "rb") as f:
            o = f.read().decode("utf-8", "replace")
        with open(err_path, "rb") as f:
            e = f.read().decode("utf-8", "replace")
        log("%s: rc=%s stdout=%r stderr=%r" % (name, rc, o[-500:], e[-500:]))
        return rc, o, e


# -- tree comparison -------------------------------------------------------------

STATE_DIR = ".livesync"


def _kind(mode):
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "other"


MIRRORED = ("file", "dir", "symlink")


class WalkError(Exception):
    pass


def walk_tree(root, skip_root_state_dir=True):
    """{relpath: (kind, st, abspath)} for everything beneath root, never
    following symlinks; `.livesync` at the root is skipped."""
    out = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        absdir = os.path.join(root, rel) if rel else root
        try:
            it = os.scandir(absdir)
        except OSError as e:
            raise WalkError("cannot list %r: %s" % (rel or ".", e))
        with it:
            for entry in it:
                if not rel and skip_root_state_dir and entry.name == STATE_DIR:
                    continue
                r = os.path.join(rel, entry.name) if rel else entry.name
                try:
                    st = os.lstat(entry.path)
                except OSError as e:
                    raise WalkError("cannot lstat %r: %s" % (r, e))
                kind = _kind(st.st_mode)
                out[r] = (kind, st, entry.path)
                if kind == "dir":
                    stack.append(r)
    return out


def file_hash(path, st, cache=None):
    key = (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if cache is not None and key in cache:
        return cache[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    digest = h.hexdigest()
    if cache is not None:
        st2 = os.lstat(path)
        if (st2.st_ino, st2.st_size, st2.st_mtime_ns, st2.st_ctime_ns) == \
           (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns):
            cache[key] = digest
    return digest


def diff_trees(src, ref, limit=20, full=True, cache=None):
    """Differences between the watched tree and the mirror, as readable
    strings (at most `limit`). `full=False` compares metadata only.

    Compared: the set of relative paths, type, permission bits (files and
    dirs), symlink target text, file mtime (ns), file content. Entries of
    SRC that are not mirrored (fifos, sockets, devices) must be absent from
    REF. Directory mtimes are not compared (best effort)."""
    diffs = []

    def add(msg):
        diffs.append(msg)
        return len(diffs) >= limit

    try:
        a = walk_tree(src)
        b = walk_tree(ref) if os.path.isdir(ref) else None
    except (WalkError, OSError) as e:
        return ["walk: %s" % e]
    if b is None:
        return ["reference root %s does not exist" % ref]
    a = {k: v for k, v in a.items() if v[0] in MIRRORED}
    to_hash = []
    for rel in sorted(set(a) | set(b)):
        if rel not in b:
            if add("missing on ref: %r (%s)" % (rel, a[rel][0])):
                return diffs
            continue
        if rel not in a:
            if add("extra on ref: %r (%s)" % (rel, b[rel][0])):
                return diffs
            continue
        (ka, sa, pa), (kb, sb, pb) = a[rel], b[rel]
        if ka != kb:
            if add("type differs: %r src=%s ref=%s" % (rel, ka, kb)):
                return diffs
            continue
        if ka in ("file", "dir"):
            ma, mb = sa.st_mode & 0o7777, sb.st_mode & 0o7777
            if ma != mb and add("mode differs: %r src=%04o ref=%04o" % (rel, ma, mb)):
                return diffs
        if ka == "symlink":
            try:
                ta, tb = os.readlink(pa), os.readlink(pb)
            except OSError as e:
                if add("readlink %r: %s" % (rel, e)):
                    return diffs
                continue
            if ta != tb and add("symlink target differs: %r src=%r ref=%r" % (rel, ta, tb)):
                return diffs
        if ka == "file":
            if sa.st_mtime_ns != sb.st_mtime_ns and add(
                    "mtime differs: %r src=%d ref=%d (%+.9f s)"
                    % (rel, sa.st_mtime_ns, sb.st_mtime_ns,
                       (sb.st_mtime_ns - sa.st_mtime_ns) / 1e9)):
                return diffs
            if sa.st_size != sb.st_size:
                if add("size differs: %r src=%d ref=%d" % (rel, sa.st_size, sb.st_size)):
                    return diffs
            elif full:
                to_hash.append((rel, pa, sa, pb, sb))
    if diffs or not full:
        return diffs
    for rel, pa, sa, pb, sb in to_hash:
        try:
            ha, hb = file_hash(pa, sa, cache), file_hash(pb, sb, cache)
        except OSError as e:
            if add("read %r: %s" % (rel, e)):
                return diffs
            continue
        if ha != hb and add("content differs: %r (size %d) src sha256=%s.. ref sha256=%s.."
                            % (rel, sa.st_size, ha[:12], hb[:12])):
            return diffs
    return diffs


# -- building trees --------------------------------------------------------------


def write_file(path, data=b"", mode=None, mtime_ns=None, makedirs=True):
    """Writes a whole file; then sets mode and mtime (in that order)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if makedirs:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    if mode is not None:
        os.chmod(path, mode)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)


def append_file(path, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(path, "ab") as f:
        f.write(data)


def symlink(target, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(target, path)


def make_dirs(path, mode=None):
    os.makedirs(path, exist_ok=True)
    if mode is not None:
        os.chmod(path, mode)


def random_bytes(n, seed):
    import random
    return random.Random(seed).randbytes(n)


def fill_tree(root, files=50, depth=3, fanout=3, size=200, seed=0, prefix="f"):
    """A tree of `fanout`-ary directories `depth` deep with `files` files
    spread over it (deterministic content)."""
    dirs = [""]
    frontier = [""]
    for d in range(depth):
        nxt = []
        for parent in frontier:
            for i in range(fanout):
                nxt.append(os.path.join(parent, "d%d_%d" % (d, i)))
        dirs.extend(nxt)
        frontier = nxt
    paths = []
    for i in range(files):
        rel = os.path.join(dirs[i % len(dirs)], "%s%04d.txt" % (prefix, i))
        write_file(os.path.join(root, rel), ("%s %d %d\n" % (rel, seed, i)).encode() * (1 + (size * i) % 997 // 40))
        paths.append(rel)
    for d in dirs[1:]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    return paths


def free_port():
    """A TCP port that was free a moment ago (for a reference to listen on)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((LOOPBACK, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def settle(seconds=1.0):
    """Lets late, unwanted operations show up in the logs before a negative
    assertion about them."""
    time.sleep(seconds)


def under(path, prefix):
    return path == prefix or path.startswith(prefix + "/")
