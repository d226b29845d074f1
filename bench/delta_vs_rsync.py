#!/usr/bin/env python3
"""livesync against rsync on the same data in the same run (Python 3 stdlib).

The "Benchmarks" section of issue 3: bytes on the wire, wall time and
round trips of livesync's content-defined deltas next to rsync's, workload
by workload, with ratios and the issue's targets.

livesync side: a reference and a watcher (--insecure, the watcher at
--log-level=debug) on temp dirs; the watcher connects to a TCP relay in this
script, not to the reference, and the relay counts the TCP payload in each
direction (BASP framing, acks, manifest, recipes: everything). The relay
runs in a child process of its own (this script with --relay-child=PORT):
its forwarding threads would otherwise compete for the GIL with the
writer and the inotify timing of the main process (an in-process relay
made the watcher's reads ~10x slower here and tore uploads). Time = from
the last write in the watched tree (after close / rename / cp returned)
until the reference holds the same file: the commit is seen by inotify
(ctypes, bench/common.py) on the reference dir as IN_MOVED_TO of the file
name; the file is then checked (size, mtime, sha256 against the source).
Round trips = recipe requests, from the watcher's debug lines
(`recipe-received`, `delta-fallback ... reason=no-recipe`). A timeline per
step (from the watcher's ms log timestamps): last write -> begin_file
(debounce; negative when the watcher began while the writer was still at
it, or the writer was descheduled after its last syscall), -> file-sent
(the watcher read, chunked and sent), -> identical (the reference's tail:
copies, strong hash, commit).

rsync side: an rsync daemon on 127.0.0.1 (free port, `use chroot = no`,
module `mod` on a temp dir, uid/gid root), driven with
`rsync -a --stats --no-inc-recursive SRC/ rsync://127.0.0.1:PORT/mod/DIR/`
(plus `-z --compress-choice=zstd` where a row says so) right after the
livesync step, on the same source tree. Bytes = "Total bytes sent" +
"Total bytes received" of --stats; time = the rsync invocation (process
start to exit). sync(2) runs before every timed step of either tool (not
timed; --no-sync to skip it): both write a whole new copy of the file on
the receiving side, and neither should pay for the other's writeback.

Workloads (sizes at --scale=0.25, the default; --full = the issue's sizes):
  0  initial sync of big.bin (1 GiB x scale) and front.bin (256 MiB x scale),
     random data (informative, no target)
  1  100 edits of 16 random bytes at seeded random offsets of big.bin
     (one open, 100 pwrites, close): bytes <= 0.5 x rsync, time <= 1.0 x
     rsync, 0 round trips (recipe cached since the initial sync)
  2a append 10 MiB of random data to big.bin: bytes <= 1.05 x appended
  2b append 10 MiB of text to big.bin: bytes <= 1.05 x appended (rsync row
     with -z --compress-choice=zstd)
  3  insert 1 byte at the front of front.bin (new version written outside
     the tree, renamed over it): bytes <= 64 KiB
  5  cp big.bin big2.bin inside the tree: bytes <= 1 % of the file (rsync
     anchors: plain, and --fuzzy, which can use big.bin as basis)
  6  watcher restart (SIGTERM, start again) over the unchanged tree: the
     reconcile, then one 16-byte edit of big.bin with no recipe cached
     (expected: one round trip for the recipe)
  4  initial sync of a generated text-like source tree (2,000 files of
     C-like / markdown-like text in ~110 dirs, ~50 MB, seeded) with a fresh
     pair: bytes <= rsync -z --compress-choice=zstd (plain rsync shown too)

Usage: python3 bench/delta_vs_rsync.py [--scale=0.25 | --full] [--seed=N]
                                       [--skip-big] [--skip-tree] [--tree-from=DIR]
                                       [--edit-repeats=N] [--edits-only]
                                       [--watcher-arg=--OPTION=VALUE ...]
                                       [--json=PATH] [--bin-dir=DIR] [--keep]
The binaries (default build/) are copied to a temp dir first (a rebuild
during the run cannot mix builds). Exit code 1 if any livesync result was
not identical to its source (a product bug), 0 otherwise.
"""

import argparse
import hashlib
import itertools
import json
import math
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import harness  # noqa: E402

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

FILE_SENT_RE = re.compile(r"\bfile-sent path=(\S+) size=(\d+) literal=(\d+) copied=(\d+) "
                          r"reused=(\d+) payload=(\d+)")
RECIPE_RE = re.compile(r"\brecipe-received\b")
NO_RECIPE_RE = re.compile(r"\bdelta-fallback\b.*\breason=no-recipe\b")
FALLBACK_RE = re.compile(r"\bdelta-fallback\b")
STATS_RE = re.compile(r"\bsender-stats\b(.*)")
PROBLEM_RE = re.compile(r"\b(warn|warning|error|critical|op-failed|read-failed|sync-incomplete)\b",
                        re.IGNORECASE)

WATCHER_EXTRA = []  # --watcher-arg values
MISMATCHES = []  # every livesync result that was not identical to the source


def say(msg):
    print("[bench] %s" % msg, flush=True)


def loud(msg):
    MISMATCHES.append(msg)
    bar = "!" * 78
    print("%s\n!!! LIVESYNC MISMATCH (product bug): %s\n%s" % (bar, msg, bar), flush=True)


def fmt_bytes(n):
    if n is None:
        return "-"
    if n >= 10 * MiB:
        return "%.1f MiB" % (n / MiB)
    if n >= 10 * KiB:
        return "%.1f KiB" % (n / KiB)
    return "%d B" % n


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(4 * MiB), b""):
            h.update(b)
    return h.hexdigest()


# -- the relay that counts livesync's bytes ----------------------------------------


class Relay:
    """Listens on 127.0.0.1:0; each accepted connection is joined to a new
    connection to the target; two threads forward the bytes and count them
    (up = watcher -> reference, down = reference -> watcher)."""

    def __init__(self, target_port):
        self.target = (harness.LOOPBACK, target_port)
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((harness.LOOPBACK, 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.up = 0
        self.down = 0
        self.connections = 0
        self.last_ns = time.perf_counter_ns()
        self.socks = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.target, timeout=10)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            for s in (c, u):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.connections += 1
                self.socks += [c, u]
            threading.Thread(target=self._pump, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, False), daemon=True).start()

    def _pump(self, a, b, up):
        try:
            while True:
                data = a.recv(1 << 18)
                if not data:
                    break
                b.sendall(data)
                with self.lock:
                    if up:
                        self.up += len(data)
                    else:
                        self.down += len(data)
                    self.last_ns = time.perf_counter_ns()
        except OSError:
            pass
        finally:
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def snapshot(self):
        with self.lock:
            return self.up, self.down, self.last_ns, self.connections

    def close(self):
        self.closed = True
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self.socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass


def relay_child(target_port):
    """--relay-child=PORT: a Relay in its own process (the forwarding
    threads must not hold the GIL of the process that writes and times):
    prints its port; answers each "c" line on stdin with
    "up down last_ns connections"; exits on "q" or EOF."""
    r = Relay(target_port)
    sys.stdout.write("%d\n" % r.port)
    sys.stdout.flush()
    for line in sys.stdin:
        if line.strip() == "c":
            sys.stdout.write("%d %d %d %d\n" % r.snapshot())
            sys.stdout.flush()
        elif line.strip() == "q":
            break
    r.close()
    return 0


class RelayProc:
    """The relay as a child process (same CLOCK_MONOTONIC for last_ns)."""

    def __init__(self, target_port):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--relay-child=%d" % target_port],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, preexec_fn=harness._child_setup)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("relay process did not start")
        self.port = int(line)
        say("relay pid=%d 127.0.0.1:%d -> reference port %d" % (self.proc.pid, self.port, target_port))

    def snapshot(self):
        self.proc.stdin.write(b"c\n")
        self.proc.stdin.flush()
        up, down, last_ns, conns = (int(x) for x in self.proc.stdout.readline().split())
        return up, down, last_ns, conns

    def counts(self):
        return self.snapshot()[:2]

    def wait_quiet(self, quiet=0.5, timeout=30.0):
        """Waits until nothing has moved for `quiet` s; returns (up, down)."""
        deadline = time.monotonic() + timeout
        while True:
            up, down, last_ns, _ = self.snapshot()
            idle = (time.perf_counter_ns() - last_ns) / 1e9
            if idle >= quiet or time.monotonic() > deadline:
                return up, down
            time.sleep(min(0.05, quiet - idle + 0.001))

    def close(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.write(b"q\n")
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc = None


# -- the rsync anchor ---------------------------------------------------------------


RSYNC_TOTAL_RE = {
    "sent": re.compile(r"^Total bytes sent:\s*([\d,.]+)", re.M),
    "received": re.compile(r"^Total bytes received:\s*([\d,.]+)", re.M),
    "literal": re.compile(r"^Literal data:\s*([\d,.]+)", re.M),
    "matched": re.compile(r"^Matched data:\s*([\d,.]+)", re.M),
}


def _num(s):
    return int(s.replace(",", "").replace(".", ""))


class RsyncDaemon:
    """`rsync --daemon --no-detach` on 127.0.0.1, module `mod` -> base/root."""

    def cpu_s(self):
        """user + system CPU seconds of the daemon and the children (one per
        transfer) it has reaped."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            x = f.read().rsplit(")", 1)[1].split()
        return sum(int(v) for v in x[11:15]) / os.sysconf("SC_CLK_TCK")

    def __init__(self, base):
        self.base = base
        self.root = os.path.join(base, "root")
        os.makedirs(self.root)
        self.conf = os.path.join(base, "rsyncd.conf")
        self.log = os.path.join(base, "rsyncd.log")
        with open(self.conf, "w") as f:
            f.write("use chroot = no\n"
                    "log file = %s\n"
                    "[mod]\n"
                    "    path = %s\n"
                    "    read only = false\n"
                    "    uid = root\n"
                    "    gid = root\n" % (self.log, self.root))
        self.proc = None
        self.port = None
        last = None
        for _attempt in range(5):
            port = harness.free_port()
            out = open(os.path.join(base, "daemon.out"), "ab")
            p = subprocess.Popen(["rsync", "--daemon", "--no-detach", "--config=%s" % self.conf,
                                  "--port=%d" % port, "--address=%s" % harness.LOOPBACK],
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 preexec_fn=harness._child_setup)
            out.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and p.poll() is None:
                try:
                    socket.create_connection((harness.LOOPBACK, port), timeout=1).close()
                    self.proc, self.port = p, port
                    say("rsync daemon pid=%d on 127.0.0.1:%d, module mod -> %s"
                        % (p.pid, port, self.root))
                    return
                except OSError:
                    time.sleep(0.05)
            last = p.poll()
            if p.poll() is None:
                p.kill()
            p.wait()
        raise RuntimeError("rsync daemon did not start (last exit code %s); see %s"
                           % (last, os.path.join(base, "daemon.out")))

    def url(self, sub):
        return "rsync://%s:%d/mod/%s/" % (harness.LOOPBACK, self.port, sub)

    def dest(self, sub):
        return os.path.join(self.root, sub)

    def run(self, src, sub, extra=()):
        argv = ["rsync", "-a", "--stats", "--no-inc-recursive"] + list(extra) + \
               [src.rstrip("/") + "/", self.url(sub)]
        settle_disk()
        t0 = time.perf_counter_ns()
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, preexec_fn=harness._child_setup)
        t1 = time.perf_counter_ns()
        out = r.stdout.decode("utf-8", "replace")
        if r.returncode != 0:
            raise RuntimeError("rsync failed (%d): %s\n%s" % (r.returncode, " ".join(argv),
                                                             r.stderr.decode()[-500:]))
        res = {"argv": " ".join(argv), "seconds": (t1 - t0) / 1e9}
        for k, rx in RSYNC_TOTAL_RE.items():
            m = rx.search(out)
            res[k] = _num(m.group(1)) if m else None
        if res["sent"] is None or res["received"] is None:
            raise RuntimeError("no totals in rsync --stats output:\n" + out)
        res["total"] = res["sent"] + res["received"]
        return res

    def close(self):
        common.stop_process(self.proc)
        self.proc = None


# -- data ------------------------------------------------------------------------------


def write_random_file(path, size, seed):
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(MiB, left)
            f.write(rng.randbytes(n))
            left -= n


class TextGen:
    """Seeded generator of C-like and markdown-like text with a Zipf-ish
    vocabulary (compresses roughly like real source and docs)."""

    SYL = ("buf len ctx node list hash map str file path read write open close init free "
           "alloc size count index entry item data info conf opt flag mode type key val next "
           "prev head tail lock mutex queue task event handler cb stream chunk block page cache "
           "table tree root parent child name id num max min pos off addr port host sock conn "
           "peer msg req resp err status state timer clock time delay retry limit range slot "
           "ring pool arena ref dev irq reg cfg log dbg trace stat sum crc seq ack win frame "
           "packet batch shard span view sink src dst tmp out in").split()
    CONS = "b c d f g h k l m n p r s t v w z br ch cl cr dr fl gr pl pr sh st th tr".split()
    VOW = "a e i o u ea io ou ai".split()
    COMMON = ("the of and to a in is that for it with as on be this by are from or not when if "
              "each which we can all one an its only so no at but must then than before after "
              "into over more new old first last same other every").split()
    TYPES = ["int", "unsigned", "size_t", "uint64_t", "uint32_t", "bool", "char *", "const char *",
             "void *", "struct %s *", "ssize_t", "long", "double"]

    def __init__(self, seed):
        self.rng = rng = random.Random(seed)
        idents = set()
        while len(idents) < 2500:
            k = rng.choice((1, 2, 2, 2, 3, 3))
            idents.add("_".join(rng.choice(self.SYL) for _ in range(k)))
        self.idents = sorted(idents)
        rng.shuffle(self.idents)
        words = set()
        while len(words) < 3000:
            words.add("".join(rng.choice(self.CONS) + rng.choice(self.VOW)
                              for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))))
        self.words = sorted(words)
        rng.shuffle(self.words)
        self.iw = list(itertools.accumulate(1.0 / (i + 1) ** 1.05 for i in range(len(self.idents))))
        self.ww = list(itertools.accumulate(1.0 / (i + 1) ** 1.05 for i in range(len(self.words))))
        self.licenses = [self.paragraph(8, 12, prefix=" * ") for _ in range(3)]

    def ident(self, k=1):
        return self.rng.choices(self.idents, cum_weights=self.iw, k=k)

    def sentence(self):
        n = self.rng.randint(5, 16)
        ws = self.rng.choices(self.words, cum_weights=self.ww, k=n)
        for i in range(len(ws)):
            if self.rng.random() < 0.35:
                ws[i] = self.rng.choice(self.COMMON)
            elif self.rng.random() < 0.08:
                ws[i] = "`%s`" % self.ident()[0]
        s = " ".join(ws)
        return s[0].upper() + s[1:] + "."

    def paragraph(self, lo=2, hi=6, prefix="", width=76):
        text = " ".join(self.sentence() for _ in range(self.rng.randint(lo, hi)))
        lines, cur = [], ""
        for w in text.split(" "):
            if cur and len(cur) + 1 + len(w) > width:
                lines.append(prefix + cur)
                cur = w
            else:
                cur = cur + " " + w if cur else w
        if cur:
            lines.append(prefix + cur)
        return "\n".join(lines)

    def ctype(self):
        t = self.rng.choice(self.TYPES)
        return t % self.ident()[0] if "%s" in t else t

    def expr(self, depth=0):
        r = self.rng.random()
        if r < 0.35 or depth > 1:
            return self.ident()[0]
        if r < 0.5:
            return str(self.rng.choice((0, 1, 2, 4, 8, 16, 64, 256, 4096, self.rng.randint(0, 9999))))
        if r < 0.7:
            a, b = self.ident(2)
            return "%s->%s" % (a, b)
        if r < 0.85:
            return "%s(%s)" % (self.ident()[0], ", ".join(self.expr(depth + 1)
                                                          for _ in range(self.rng.randint(0, 3))))
        return "%s %s %s" % (self.expr(depth + 1), self.rng.choice("+-*&|"), self.expr(depth + 1))

    def statement(self, ind, out, depth):
        r = self.rng.random()
        t = "\t" * ind
        if r < 0.12 and depth < 3:
            out.append("%sif (%s %s %s) {" % (t, self.expr(), self.rng.choice(("==", "!=", "<", ">=")),
                                              self.expr()))
            for _ in range(self.rng.randint(1, 4)):
                self.statement(ind + 1, out, depth + 1)
            out.append(t + "}")
        elif r < 0.18 and depth < 3:
            i = self.rng.choice("ijk")
            out.append("%sfor (%s = 0; %s < %s; %s++) {" % (t, i, i, self.expr(), i))
            for _ in range(self.rng.randint(1, 4)):
                self.statement(ind + 1, out, depth + 1)
            out.append(t + "}")
        elif r < 0.26:
            out.append("%s/* %s */" % (t, self.sentence()))
        elif r < 0.31:
            out.append("%sreturn %s;" % (t, self.expr()))
        elif r < 0.55:
            out.append("%s%s(%s);" % (t, self.ident()[0], ", ".join(self.expr()
                                                                  for _ in range(self.rng.randint(0, 3)))))
        else:
            out.append("%s%s = %s;" % (t, self.rng.choice((self.ident()[0], self.expr())), self.expr()))

    def c_function(self, out):
        if self.rng.random() < 0.5:
            out.append("/*\n" + self.paragraph(1, 3, prefix=" * ") + "\n */")
        args = ", ".join("%s %s" % (self.ctype(), self.ident()[0])
                         for _ in range(self.rng.randint(0, 4))) or "void"
        out.append("%s%s %s(%s)" % ("static " if self.rng.random() < 0.6 else "", self.ctype(),
                                    self.ident()[0], args))
        out.append("{")
        for _ in range(self.rng.randint(2, 8)):
            out.append("\t%s %s;" % (self.ctype(), self.ident()[0]))
        out.append("")
        for _ in range(self.rng.randint(3, 25)):
            self.statement(1, out, 0)
        out.append("}")
        out.append("")

    def c_file(self, size, header):
        out = []
        if self.rng.random() < 0.8:
            out.append("/*\n" + self.rng.choice(self.licenses) + "\n */")
        if header:
            g = "%s_H" % self.ident()[0].upper()
            out += ["#ifndef " + g, "#define " + g, ""]
        for inc in sorted(set(self.ident(self.rng.randint(2, 10)))):
            out.append("#include \"%s.h\"" % inc)
        out.append("")
        n = sum(len(l) + 1 for l in out)
        while n < size:
            mark = len(out)
            if header:
                r = self.rng.random()
                if r < 0.4:
                    out.append("#define %s %s" % (self.ident()[0].upper(), self.expr()))
                elif r < 0.7:
                    out.append("struct %s {" % self.ident()[0])
                    for _ in range(self.rng.randint(2, 10)):
                        out.append("\t%s %s;" % (self.ctype(), self.ident()[0]))
                    out += ["};", ""]
                else:
                    out.append("%s %s(%s);" % (self.ctype(), self.ident()[0],
                                               ", ".join("%s %s" % (self.ctype(), self.ident()[0])
                                                         for _ in range(self.rng.randint(0, 4)))))
            else:
                self.c_function(out)
            n += sum(len(l) + 1 for l in out[mark:])
        if header:
            out.append("#endif")
        return "\n".join(out) + "\n"

    def md_file(self, size):
        out = ["# " + self.sentence().rstrip("."), ""]
        n = 0
        while n < size:
            mark = len(out)
            r = self.rng.random()
            if r < 0.15:
                out += ["## " + self.sentence().rstrip("."), ""]
            elif r < 0.3:
                for _ in range(self.rng.randint(2, 6)):
                    out.append("- " + self.sentence())
                out.append("")
            elif r < 0.4:
                out.append("```c")
                for _ in range(self.rng.randint(2, 8)):
                    self.statement(0, out, 2)
                out += ["```", ""]
            else:
                out += [self.paragraph(), ""]
            n += sum(len(l) + 1 for l in out[mark:])
        return "\n".join(out) + "\n"

    def text(self, size):
        """About `size` bytes of mixed C and markdown text (exactly `size`)."""
        parts, n = [], 0
        while n < size:
            s = self.c_file(64 * KiB, False) if self.rng.random() < 0.7 else self.md_file(32 * KiB)
            parts.append(s)
            n += len(s)
        return "".join(parts).encode()[:size]


def make_text_tree(root, files, total, seed):
    """`files` files of C-like / markdown-like text, ~`total` bytes, in
    10 top dirs x 10 subdirs (files also in the top dirs and the root).
    Returns (files, bytes, dirs)."""
    gen = TextGen(seed)
    rng = random.Random(seed + 1)
    tops = []
    for name in gen.idents[:40]:
        if len(tops) == 10:
            break
        if name not in tops:
            tops.append(name)
    dirs = [""]
    for t in tops:
        dirs.append(t)
        for s in rng.sample(gen.idents[40:400], 10):
            dirs.append(os.path.join(t, s))
    for d in dirs[1:]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    mean = total / files
    sigma = 1.0
    mu = math.log(mean) - sigma * sigma / 2
    nbytes = 0
    used = set()
    for i in range(files):
        d = dirs[0] if i < 5 else rng.choice(dirs[1:])
        size = int(min(max(rng.lognormvariate(mu, sigma), 200), 40 * mean))
        r = rng.random()
        if r < 0.5:
            ext, data = ".c", gen.c_file(size, False)
        elif r < 0.75:
            ext, data = ".h", gen.c_file(size, True)
        else:
            ext, data = ".md", gen.md_file(size)
        base = gen.ident()[0]
        name = base + ext
        k = 2
        while os.path.join(d, name) in used:
            name = "%s_%d%s" % (base, k, ext)
            k += 1
        used.add(os.path.join(d, name))
        b = data.encode()
        with open(os.path.join(root, d, name), "wb") as f:
            f.write(b)
        nbytes += len(b)
    return files, nbytes, len(dirs) - 1


def copy_tree(src, dst):
    """Regular files and directories of a real tree (--tree-from), nothing
    else. Returns (files, bytes, dirs)."""
    files = nbytes = dirs = 0
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        out = dst if rel == "." else os.path.join(dst, rel)
        if rel != ".":
            os.makedirs(out, exist_ok=True)
            dirs += 1
        for f in filenames:
            p = os.path.join(dirpath, f)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            shutil.copyfile(p, os.path.join(out, f))
            files += 1
            nbytes += os.path.getsize(p)
    return files, nbytes, dirs


# -- livesync side -----------------------------------------------------------------


class Pair:
    """Reference (info) + relay + watcher (debug) on env.src/env.ref."""

    def __init__(self, env):
        self.env = env
        self.relay = None
        self.watcher = None
        self.ino = None
        self.scan_pos = 0
        self.sender_stats = []

    def start_reference(self):
        self.env.start_reference(argv=harness.reference_argv(self.env.ref, 0, log_level="info"))
        self.relay = RelayProc(self.env.reference.port)
        self.ino = common.Inotify(self.env.ref, common.IN_MOVED_TO)

    def start_watcher(self, timeout):
        """Starts a watcher through the relay; returns seconds from spawn to
        its next `in-sync` line."""
        t0 = time.perf_counter_ns()
        self.watcher = self.env.start_watcher(
            argv=harness.watcher_argv(self.env.src, self.relay.port, log_level="debug",
                                      extra=WATCHER_EXTRA),
            wait_sync=False)
        wait_log(self.watcher, harness.IN_SYNC_RE, 0, timeout, "in-sync")
        return (time.perf_counter_ns() - t0) / 1e9

    def stop_watcher(self):
        w = self.watcher
        problem = None
        try:
            w.stop(timeout=10.0)
        except harness.Failure as e:
            problem = str(e)
        lines = w.lines()
        st = [STATS_RE.search(l).group(1).strip() for l in lines if STATS_RE.search(l)]
        self.sender_stats.append((w.name, st[-1] if st else None, problem))
        return st[-1] if st else None, problem

    def close(self):
        if self.ino is not None:
            self.ino.close()
            self.ino = None
        if self.relay is not None:
            self.relay.close()


def wait_log(node, rx, since, timeout, what):
    """Incremental scan of a node's log from line `since` for `rx`."""
    deadline = time.monotonic() + timeout
    pos = since
    while True:
        lines = node.lines()
        for i in range(pos, len(lines)):
            if rx.search(lines[i]):
                return i
        pos = len(lines)
        if not node.alive():
            raise harness.Failure("%s exited (code %s) while waiting for %s"
                                  % (node.name, node.proc.returncode, what))
        if time.monotonic() > deadline:
            raise harness.Failure("%s: no %s after %.0f s" % (node.name, what, timeout))
        time.sleep(0.02)


def meta_equal(a, b):
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return sa.st_size == sb.st_size and sa.st_mtime_ns == sb.st_mtime_ns and \
        (sa.st_mode & 0o7777) == (sb.st_mode & 0o7777)


def wait_identical(pair, name, t_last_ns, timeout):
    """Waits until ref/NAME equals src/NAME (size, mtime, mode, sha256).
    Returns (seconds from the last write, how, problem or None). The time is
    that of the last IN_MOVED_TO of NAME on the reference before the check
    passed (or of the passing check if no such event was seen)."""
    env = pair.env
    src, ref = env.S(name), env.R(name)
    src_hash = None
    last_ev = None
    checked_ev = None  # the event time whose version failed the content check
    deadline = time.monotonic() + timeout
    while True:
        for t, mask, _c, ev in pair.ino.read_events(0.02):
            if ev == name and mask & common.IN_MOVED_TO:
                last_ev = t
        now = time.perf_counter_ns()
        if last_ev is not None and last_ev == checked_ev:
            pass  # that version was wrong; wait for another commit (or metadata)
        elif meta_equal(src, ref):
            if src_hash is None:
                src_hash = sha256_file(src)
            ref_hash = sha256_file(ref)
            # Another commit while hashing? Then check that one.
            late = [t for t, m, _c, ev in pair.ino.drain() if ev == name and m & common.IN_MOVED_TO]
            if late:
                last_ev = max(late)
                continue
            if ref_hash == src_hash:
                if last_ev is not None and last_ev > t_last_ns:
                    return (last_ev - t_last_ns) / 1e9, "IN_MOVED_TO", None
                return (now - t_last_ns) / 1e9, "poll", None
            checked_ev = last_ev
            say("%s: reference has size+mtime of the source but different content "
                "(sha256 %s.. vs %s..); waiting for another commit" % (name, ref_hash[:12], src_hash[:12]))
        if time.monotonic() > deadline:
            d = harness.diff_trees(env.src, env.ref, limit=5)
            return None, "timeout", "ref/%s not identical %.0f s after the last write: %s" % (
                name, timeout, "; ".join(d) or "(trees identical by now)")
        if not pair.watcher.alive():
            return None, "dead", "watcher exited with code %s" % pair.watcher.proc.returncode


LOG_TS_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)")


def log_wall(line):
    """Wall-clock seconds of a log line's local timestamp (ms), or None."""
    m = LOG_TS_RE.match(line)
    if not m:
        return None
    import datetime
    return datetime.datetime.fromisoformat(m.group(1)).timestamp()


def timeline(lines, name, t_last_wall, t_done_wall):
    """Where the time of one step went, from the watcher's log (ms
    resolution): last write -> first begin_file of NAME (debounce, planner),
    -> file-sent (read, chunk, send: the watcher's part), -> identical on
    the reference (the reference's tail: copies, hash check, commit)."""
    begin = sent = None
    for l in lines:
        if begin is None and re.search(r"\bop-sent kind=begin_file path=%s\b" % re.escape(name), l):
            begin = log_wall(l)
        if re.search(r"\bfile-sent path=%s\b" % re.escape(name), l):
            sent = log_wall(l)
    if begin is None or sent is None or t_done_wall is None:
        return None
    return {"to_begin": begin - t_last_wall, "watcher_stream": sent - begin,
            "reference_tail": t_done_wall - sent}


def log_facts(pair, since):
    lines = pair.watcher.lines()[since:]
    kinds = {}
    for l in lines:
        m = harness.OP_SENT_RE.search(l)
        if m:
            kinds[m.group(1)] = kinds.get(m.group(1), 0) + 1
    files = []
    for l in lines:
        m = FILE_SENT_RE.search(l)
        if m:
            files.append({"path": m.group(1), "size": int(m.group(2)), "literal": int(m.group(3)),
                          "copied": int(m.group(4)), "reused": int(m.group(5)),
                          "payload": int(m.group(6))})
    return {
        "ops": kinds,
        "files": files,
        "round_trips": sum(1 for l in lines if RECIPE_RE.search(l) or NO_RECIPE_RE.search(l)),
        "fallbacks": sum(1 for l in lines if FALLBACK_RE.search(l)),
        "problems": [l for l in lines if PROBLEM_RE.search(l) and "insecure-link" not in l][:10],
    }


SYNC_BEFORE = [True]


def settle_disk():
    """sync(2) before a timed step (unless --no-sync): each tool starts
    without the other's dirty pages to write back (both write a whole new
    copy of the file on the receiving side)."""
    if SYNC_BEFORE[0]:
        os.sync()


def live_step(pair, name, mutate, timeout):
    """Runs mutate() (returns perf_counter_ns of its last write) and
    measures livesync until ref/NAME is identical."""
    settle_disk()
    before = pair.relay.wait_quiet(quiet=0.5)
    pair.ino.drain()
    since = pair.watcher.mark()
    wall0, perf0 = time.time(), time.perf_counter_ns()
    t_last = mutate()
    secs, how, problem = wait_identical(pair, name, t_last, timeout)
    after = pair.relay.wait_quiet(quiet=0.5)
    facts = log_facts(pair, since)
    t_last_wall = wall0 + (t_last - perf0) / 1e9
    facts["timeline"] = timeline(pair.watcher.lines()[since:], name, t_last_wall,
                                 None if secs is None else t_last_wall + secs)
    res = {"up": after[0] - before[0], "down": after[1] - before[1], "seconds": secs,
           "detected_by": how, "problem": problem}
    res["bytes"] = res["up"] + res["down"]
    res.update(facts)
    if problem:
        loud("%s: %s" % (name, problem))
    else:
        d = harness.diff_trees(pair.env.src, pair.env.ref, limit=5, cache=pair.env._hash_cache)
        if d:
            res["problem"] = "tree differs after %s: %s" % (name, "; ".join(d))
            loud(res["problem"])
    return res


# -- mutations ----------------------------------------------------------------------


def edit_in_place(path, n, length, rng):
    size = os.path.getsize(path)
    edits = [(rng.randrange(0, size - length), rng.randbytes(length)) for _ in range(n)]
    fd = os.open(path, os.O_WRONLY)
    try:
        for off, data in edits:
            os.pwrite(fd, data, off)
    finally:
        os.close(fd)
    return time.perf_counter_ns()


def append_data(path, data):
    with open(path, "ab") as f:
        f.write(data)
    return time.perf_counter_ns()


def insert_front(path, outside_tmp, byte=b"\x01"):
    with open(path, "rb") as fin, open(outside_tmp, "wb") as fout:
        fout.write(byte)
        shutil.copyfileobj(fin, fout, 4 * MiB)
    os.chmod(outside_tmp, os.stat(path).st_mode & 0o7777)
    os.rename(outside_tmp, path)
    return time.perf_counter_ns()


def cp_file(a, b):
    subprocess.run(["cp", a, b], check=True)
    return time.perf_counter_ns()


# -- the run -------------------------------------------------------------------------


def row(key, label, ls, rs, byte_target=None, time_target=None, rt_target=None,
        rs_label=None, note=None):
    return {"key": key, "label": label, "livesync": ls, "rsync": rs,
            "byte_target": byte_target, "time_target": time_target, "rt_target": rt_target,
            "rsync_label": rs_label, "note": note}


def run_big(args, sizes, rsyncd, rows, timeout):
    env = harness.Env("bench-delta", keep=args.keep)
    pair = Pair(env)
    rng = random.Random(args.seed)
    try:
        big, front = "big.bin", "front.bin"
        say("writing src/%s (%s) and src/%s (%s), random, seed %d"
            % (big, fmt_bytes(sizes["big"]), front, fmt_bytes(sizes["front"]), args.seed))
        write_random_file(env.S(big), sizes["big"], args.seed)
        write_random_file(env.S(front), sizes["front"], args.seed + 1)
        os.sync()

        # 0: initial sync
        settle_disk()
        pair.start_reference()
        secs = pair.start_watcher(timeout)
        up, down = pair.relay.wait_quiet(quiet=0.5)
        d = env.diff(limit=5)
        if d:
            loud("initial sync: %s" % "; ".join(d))
        facts = log_facts(pair, 0)
        ls = {"up": up, "down": down, "bytes": up + down, "seconds": secs,
              "detected_by": "watcher start -> in-sync line", "problem": "; ".join(d) or None}
        ls.update(facts)
        rs = rsyncd.run(env.src, "big") if rsyncd else None
        rows.append(row("0", "initial sync, big+front (%s, random)"
                        % fmt_bytes(sizes["big"] + sizes["front"]), ls, rs,
                        note="time: watcher start -> in-sync (process start included)"))
        report_row(rows[-1])

        # 1: 100 edits of 16 bytes (--edit-repeats times, each livesync step
        # followed by its rsync anchor on the same data)
        for rep in range(args.edit_repeats):
            ls = live_step(pair, big, lambda: edit_in_place(env.S(big), 100, 16, rng), timeout)
            rs = rsyncd.run(env.src, "big") if rsyncd else None
            rows.append(row("1" if rep == 0 else "1.%d" % (rep + 1),
                            "100 x 16 B edits in big (%s)%s" % (
                                fmt_bytes(sizes["big"]),
                                "" if args.edit_repeats == 1 else " #%d" % (rep + 1)),
                            ls, rs, byte_target=("ratio", 0.5), time_target=1.0, rt_target=0))
            report_row(rows[-1])
        if args.edits_only:
            stats, problem = pair.stop_watcher()
            say("watcher stopped: sender-stats %s%s"
                % (stats, (" PROBLEM: " + problem) if problem else ""))
            return pair.sender_stats

        # 2a: append 10 MiB random
        data = random.Random(args.seed + 2).randbytes(sizes["append"])
        ls = live_step(pair, big, lambda: append_data(env.S(big), data), timeout)
        rs = rsyncd.run(env.src, "big") if rsyncd else None
        rows.append(row("2a", "append %s random to big" % fmt_bytes(sizes["append"]), ls, rs,
                        byte_target=("abs", 1.05 * sizes["append"]), rt_target=0,
                        note="target: <= 1.05 x appended bytes"))
        report_row(rows[-1])

        # 2b: append 10 MiB text
        text = TextGen(args.seed + 3).text(sizes["append"])
        ls = live_step(pair, big, lambda: append_data(env.S(big), text), timeout)
        rs = rsyncd.run(env.src, "big", ["-z", "--compress-choice=zstd"]) if rsyncd else None
        rows.append(row("2b", "append %s text to big" % fmt_bytes(sizes["append"]), ls, rs,
                        byte_target=("abs", 1.05 * sizes["append"]), rt_target=0,
                        rs_label="rsync -z zstd",
                        note="target: <= 1.05 x appended bytes (compressible: much less expected)"))
        report_row(rows[-1])

        # 3: insert one byte at the front
        ls = live_step(pair, front, lambda: insert_front(env.S(front), env.O("front.new")), timeout)
        rs = rsyncd.run(env.src, "big") if rsyncd else None
        rows.append(row("3", "insert 1 B at front of front (%s)" % fmt_bytes(sizes["front"]),
                        ls, rs, byte_target=("abs", 64 * KiB), rt_target=0,
                        note="target: <= 64 KiB; new version renamed in from outside the tree"))
        report_row(rows[-1])

        # 5: cp big big2
        big_size = os.path.getsize(env.S(big))
        ls = live_step(pair, "big2.bin", lambda: cp_file(env.S(big), env.S("big2.bin")), timeout)
        rs = rsyncd.run(env.src, "big") if rsyncd else None
        rows.append(row("5", "cp big big2 (%s)" % fmt_bytes(big_size), ls, rs,
                        byte_target=("abs", 0.01 * big_size), rt_target=0,
                        note="target: <= 1 % of the file"))
        report_row(rows[-1])
        if rsyncd:
            os.unlink(os.path.join(rsyncd.dest("big"), "big2.bin"))
            rs2 = rsyncd.run(env.src, "big", ["--fuzzy"])
            rows.append(row("5f", "  same, rsync --fuzzy (big as basis)", None, rs2,
                            rs_label="rsync --fuzzy",
                            note="rsync re-run after deleting its big2 copy: --fuzzy uses big as basis"))
            report_row(rows[-1])

        # 6: watcher restart, then one edit without a cached recipe
        settle_disk()
        before = pair.relay.wait_quiet(quiet=0.5)
        stats, problem = pair.stop_watcher()
        say("watcher stopped: sender-stats %s%s" % (stats, (" PROBLEM: " + problem) if problem else ""))
        mark_lines = 0
        secs = pair.start_watcher(timeout)
        up, down = pair.relay.wait_quiet(quiet=0.5)
        d = env.diff(limit=5)
        if d:
            loud("restart reconcile: %s" % "; ".join(d))
        ls = {"up": up - before[0], "down": down - before[1], "seconds": secs,
              "detected_by": "watcher start -> in-sync line", "problem": "; ".join(d) or None}
        ls["bytes"] = ls["up"] + ls["down"]
        ls.update(log_facts(pair, mark_lines))
        rs = rsyncd.run(env.src, "big") if rsyncd else None
        rows.append(row("6a", "watcher restart, unchanged tree (reconcile)", ls, rs,
                        note="rsync: a no-change run over the same tree"))
        report_row(rows[-1])
        ls = live_step(pair, big, lambda: edit_in_place(env.S(big), 1, 16, rng), timeout)
        rs = rsyncd.run(env.src, "big") if rsyncd else None
        rows.append(row("6b", "after restart: 1 x 16 B edit, no recipe cached", ls, rs,
                        rt_target=1, note="expected: one round trip (recipe request)"))
        report_row(rows[-1])

        stats, problem = pair.stop_watcher()
        say("watcher stopped: sender-stats %s%s" % (stats, (" PROBLEM: " + problem) if problem else ""))
        return pair.sender_stats
    except BaseException:
        env.print_tails(n=30)
        raise
    finally:
        pair.close()
        env.close()


def run_tree(args, sizes, rsyncd, rows, timeout):
    env = harness.Env("bench-delta-tree", keep=args.keep)
    pair = Pair(env)
    try:
        t0 = time.monotonic()
        if args.tree_from:
            n, nbytes, ndirs = copy_tree(args.tree_from, env.src)
            say("text tree: a copy of %s: %d files, %s, %d dirs (copied in %.1f s)"
                % (args.tree_from, n, fmt_bytes(nbytes), ndirs, time.monotonic() - t0))
        else:
            n, nbytes, ndirs = make_text_tree(env.src, sizes["tree_files"], sizes["tree_bytes"],
                                              args.seed)
            say("text tree: %d files, %s, %d dirs (generated in %.1f s)"
                % (n, fmt_bytes(nbytes), ndirs, time.monotonic() - t0))
        settle_disk()
        pair.start_reference()
        secs = pair.start_watcher(timeout)
        up, down = pair.relay.wait_quiet(quiet=0.5)
        d = env.diff(limit=5)
        if d:
            loud("text tree initial sync: %s" % "; ".join(d))
        ls = {"up": up, "down": down, "bytes": up + down, "seconds": secs,
              "detected_by": "watcher start -> in-sync line", "problem": "; ".join(d) or None}
        ls.update(log_facts(pair, 0))
        ls["files"] = {"count": len(ls["files"])}  # file-sent lines are for streamed files only
        rs = rsyncd.run(env.src, "tree-z", ["-z", "--compress-choice=zstd"]) if rsyncd else None
        rows.append(row("4", "initial sync, %s (%d files, %s)"
                        % ("copy of " + args.tree_from if args.tree_from else "text tree",
                           n, fmt_bytes(nbytes)),
                        ls, rs, byte_target=("ratio", 1.0), rs_label="rsync -z zstd",
                        note="time: watcher start -> in-sync (process start included)"))
        report_row(rows[-1])
        if rsyncd:
            rs2 = rsyncd.run(env.src, "tree-plain")
            rows.append(row("4p", "  same, plain rsync (no -z)", None, rs2, rs_label="rsync"))
            report_row(rows[-1])
        stats, problem = pair.stop_watcher()
        say("watcher stopped: sender-stats %s%s" % (stats, (" PROBLEM: " + problem) if problem else ""))
        return pair.sender_stats, {"files": n, "bytes": nbytes, "dirs": ndirs}
    except BaseException:
        env.print_tails(n=30)
        raise
    finally:
        pair.close()
        env.close()


# -- report ----------------------------------------------------------------------------


def verdict(cond):
    return "yes" if cond else "NO"


def judge(r):
    """Fills r['checks']: list of (what, target text, value text, met)."""
    ls, rs = r["livesync"], r["rsync"]
    checks = []
    if ls is None:
        r["checks"] = checks
        return
    bt = r["byte_target"]
    if bt is not None:
        if bt[0] == "ratio":
            if rs:
                ratio = ls["bytes"] / rs["total"]
                checks.append(("bytes", "<= %.2f x rsync" % bt[1], "%.4f" % ratio, ratio <= bt[1]))
            else:
                checks.append(("bytes", "<= %.2f x rsync" % bt[1], "SKIP (no rsync)", None))
        else:
            checks.append(("bytes", "<= %s" % fmt_bytes(int(bt[1])), fmt_bytes(ls["bytes"]),
                           ls["bytes"] <= bt[1]))
    if r["time_target"] is not None:
        if rs and ls["seconds"] is not None:
            ratio = ls["seconds"] / rs["seconds"]
            checks.append(("time", "<= %.2f x rsync" % r["time_target"], "%.3f" % ratio,
                           ratio <= r["time_target"]))
        else:
            checks.append(("time", "<= %.2f x rsync" % r["time_target"], "SKIP", None))
    if r["rt_target"] is not None:
        checks.append(("round trips", "== %d" % r["rt_target"], str(ls["round_trips"]),
                       ls["round_trips"] == r["rt_target"]))
    if ls.get("problem"):
        checks.append(("identical", "sha256 equal", "MISMATCH", False))
    else:
        checks.append(("identical", "sha256 equal", "yes", True))
    r["checks"] = checks


def report_row(r):
    judge(r)
    ls, rs = r["livesync"], r["rsync"]
    print("  --- [%s] %s" % (r["key"], r["label"]), flush=True)
    if ls is not None:
        fs = ls.get("files")
        fdesc = ""
        if isinstance(fs, list) and fs:
            f = fs[-1]
            fdesc = "; file-sent literal=%s copied=%s reused=%s payload=%s" % (
                fmt_bytes(f["literal"]), fmt_bytes(f["copied"]), fmt_bytes(f["reused"]),
                fmt_bytes(f["payload"]))
            if len(fs) > 1:
                fdesc += " (%d file-sent lines)" % len(fs)
        print("      livesync: %s on the wire (up %s, down %s), %s s (%s), round trips %d, "
              "fallbacks %d, ops %s%s"
              % (fmt_bytes(ls["bytes"]), fmt_bytes(ls["up"]), fmt_bytes(ls["down"]),
                 "-" if ls["seconds"] is None else "%.3f" % ls["seconds"], ls["detected_by"],
                 ls["round_trips"], ls["fallbacks"],
                 ",".join("%s=%d" % kv for kv in sorted(ls["ops"].items())), fdesc), flush=True)
        tl = ls.get("timeline")
        if tl:
            print("      livesync timeline: last write -> begin_file %.3f s, -> file-sent %.3f s "
                  "(watcher reads/chunks/sends), -> identical %.3f s (reference tail)"
                  % (tl["to_begin"], tl["watcher_stream"], tl["reference_tail"]))
        for p in ls.get("problems", []):
            print("      watcher log: %s" % p)
    if rs is not None:
        print("      %s: %s (sent %s, received %s; literal %s, matched %s), %.3f s"
              % (r["rsync_label"] or "rsync", fmt_bytes(rs["total"]), fmt_bytes(rs["sent"]),
                 fmt_bytes(rs["received"]), fmt_bytes(rs["literal"]), fmt_bytes(rs["matched"]),
                 rs["seconds"]), flush=True)
    for what, target, value, met in r.get("checks", []):
        print("      %-12s target %-18s measured %-14s met: %s"
              % (what, target, value, "SKIP" if met is None else verdict(met)), flush=True)


def print_table(rows, header):
    print()
    print(header)
    w = 62
    print("%-*s %12s %12s %8s %9s %9s %7s %4s  %s"
          % (w, "workload", "livesync B", "rsync B", "B ratio", "ls s", "rsync s", "t ratio",
             "RT", "targets"))
    print("-" * (w + 80))
    for r in rows:
        ls, rs = r["livesync"], r["rsync"]
        lb = ls["bytes"] if ls else None
        rb = rs["total"] if rs else None
        lt = ls["seconds"] if ls else None
        rt = rs["seconds"] if rs else None
        br = "%.4f" % (lb / rb) if lb is not None and rb else "-"
        tr = "%.3f" % (lt / rt) if lt is not None and rt else "-"
        short = {"bytes": "B", "time": "t", "round trips": "RT"}
        checks = " ".join("%s:%s" % (short[c[0]], "SKIP" if c[3] is None else verdict(c[3]))
                          for c in r.get("checks", []) if c[0] != "identical")
        if ls and ls.get("problem"):
            checks += " MISMATCH"
        label = r["label"] + (" [%s]" % r["rsync_label"] if r["rsync_label"] and ls else "")
        print("%-*s %12s %12s %8s %9s %9s %7s %4s  %s"
              % (w, label[:w], "-" if lb is None else "{:,}".format(lb),
                 "-" if rb is None else "{:,}".format(rb), br,
                 "-" if lt is None else "%.3f" % lt, "-" if rt is None else "%.3f" % rt, tr,
                 "-" if not ls else ls["round_trips"], checks))
    print(flush=True)


def wait_stable_binaries(bin_dir, quiet=5.0, timeout=300.0):
    """The build dir is shared: wait until both binaries exist, are
    executable, non-empty and unchanged for `quiet` s (a link in progress
    leaves an empty or partial file, and the snapshot would copy that)."""
    d = os.path.abspath(bin_dir or common.DEFAULT_BIN_DIR)
    deadline = time.monotonic() + timeout
    while True:
        ok = True
        for n in (harness.WATCHER, harness.REFERENCE):
            p = os.path.join(d, n)
            try:
                st = os.stat(p)
            except OSError:
                ok = False
                break
            if st.st_size == 0 or not os.access(p, os.X_OK) or time.time() - st.st_mtime < quiet:
                ok = False
        if ok:
            return
        if time.monotonic() > deadline:
            raise SystemExit("binaries in %s not stable after %.0f s" % (d, timeout))
        time.sleep(1.0)


def check_snapshot(snap):
    for n in (harness.WATCHER, harness.REFERENCE):
        p = os.path.join(snap.dir, n)
        if os.path.getsize(p) == 0 or os.path.getsize(p) != os.path.getsize(snap.facts[n]["from"]):
            raise SystemExit("the copy of %s changed while copied (a rebuild?); run again" % n)


def main():
    for a in sys.argv[1:]:
        if a.startswith("--relay-child="):
            return relay_child(int(a.split("=", 1)[1]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.25,
                    help="factor on the issue's big-file sizes (1 GiB, 256 MiB); default 0.25")
    ap.add_argument("--full", action="store_true", help="the issue's sizes (--scale=1)")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--append-mib", type=float, default=10.0)
    ap.add_argument("--tree-files", type=int, default=2000)
    ap.add_argument("--tree-mb", type=float, default=50.0)
    ap.add_argument("--tree-from", metavar="DIR",
                    help="workload 4 on a copy of a real tree (e.g. /usr/include/node) "
                    "instead of the generated one")
    ap.add_argument("--timeout", type=float, default=300.0, help="per step, seconds")
    ap.add_argument("--skip-tree", action="store_true")
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--edit-repeats", type=int, default=1,
                    help="run workload 1 (100 x 16 B edits) this many times, each with its anchor")
    ap.add_argument("--edits-only", action="store_true",
                    help="of the big-file workloads, run only 0 (initial sync) and 1")
    ap.add_argument("--json", help="write all figures to this file")
    ap.add_argument("--bin-dir", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("--no-sync", action="store_true",
                    help="no sync(2) before each timed step")
    ap.add_argument("--watcher-arg", action="append", default=[],
                    help="extra watcher option, e.g. --watcher-arg=--compression-level=3 (repeatable)")
    args = ap.parse_args()
    WATCHER_EXTRA.extend(args.watcher_arg)
    SYNC_BEFORE[0] = not args.no_sync
    scale = 1.0 if args.full else args.scale
    sizes = {"big": int(GiB * scale) // MiB * MiB, "front": int(256 * MiB * scale) // MiB * MiB,
             "append": int(args.append_mib * MiB), "tree_files": args.tree_files,
             "tree_bytes": int(args.tree_mb * 1e6)}
    t_start = time.monotonic()
    rows = []
    results = {"sizes": sizes, "scale": scale, "rows": rows}
    wait_stable_binaries(args.bin_dir)
    with common.BinarySnapshot(args.bin_dir) as snap:
        check_snapshot(snap)
        facts = common.host_facts(snap)
        results["facts"] = facts
        print("livesync vs rsync, same data, same run  (%s, %s, %d cpus, load %s, git %s)"
              % (facts["date"], facts["kernel"], facts["cpus"],
                 " ".join(facts["loadavg_at_start"] or []), facts["git_head"]))
        for n, f in snap.facts.items():
            print("  %s: sha256 %s.. mtime %s" % (n, f["sha256_16"], f["mtime"]))
        if scale != 1.0:
            print("  SCALE %.3g: big file %s (issue: 1 GiB), front-insert file %s (issue: 256 MiB);"
                  " append %s and the text tree are not scaled; --full uses the issue's sizes"
                  % (scale, fmt_bytes(sizes["big"]), fmt_bytes(sizes["front"]),
                     fmt_bytes(sizes["append"])))
        else:
            print("  FULL sizes: big file %s, front-insert file %s"
                  % (fmt_bytes(sizes["big"]), fmt_bytes(sizes["front"])))
        if WATCHER_EXTRA:
            print("  watcher extra options: %s" % " ".join(WATCHER_EXTRA))
        rsync = common.have_command("rsync")
        if rsync:
            v = subprocess.run(["rsync", "--version"], stdout=subprocess.PIPE).stdout.decode().split("\n")[0]
            print("  anchor: %s (%s), daemon on 127.0.0.1" % (rsync, v.strip()))
        else:
            print("  anchor: SKIP (rsync not installed: `command -v rsync` found nothing)")
        df = subprocess.run(["df", "-h", tempfile.gettempdir()], stdout=subprocess.PIPE).stdout.decode()
        print("  " + df.strip().replace("\n", "\n  "), flush=True)
        print("  sync(2) before each timed step: %s" % ("yes" if SYNC_BEFORE[0] else "no (--no-sync)"))
        need = 3 * (2 * sizes["big"] + 2 * sizes["append"] + sizes["front"]) + 2 * GiB
        st = os.statvfs(tempfile.gettempdir())
        if st.f_bavail * st.f_frsize < need:
            raise SystemExit("not enough disk in %s: need ~%s" % (tempfile.gettempdir(), fmt_bytes(need)))
        rsync_base = tempfile.mkdtemp(prefix="livesync-bench-rsyncd-")
        rsyncd = None
        try:
            if rsync:
                rsyncd = RsyncDaemon(rsync_base)
            if not args.skip_big:
                results["sender_stats_big"] = run_big(args, sizes, rsyncd, rows, args.timeout)
            if not args.skip_tree:
                st_tree, tree = run_tree(args, sizes, rsyncd, rows, args.timeout)
                results["sender_stats_tree"] = st_tree
                results["tree"] = tree
        finally:
            if rsyncd:
                rsyncd.close()
            if not args.keep:
                shutil.rmtree(rsync_base, ignore_errors=True)
    elapsed = time.monotonic() - t_start
    results["elapsed_s"] = elapsed
    results["mismatches"] = MISMATCHES
    print_table(rows, "RESULTS (scale %.3g, %.0f s in all). B = TCP payload both directions "
                "(livesync, through the relay) / rsync 'Total bytes sent' + 'received'; "
                "ls s = last write -> reference identical; RT = livesync round trips"
                % (scale, elapsed))
    if MISMATCHES:
        print("LIVESYNC MISMATCHES (%d):" % len(MISMATCHES))
        for m in MISMATCHES:
            print("  " + m)
    else:
        print("every livesync step verified: reference identical to the source (sha256, size, mtime, mode)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    return 1 if MISMATCHES else 0


if __name__ == "__main__":
    sys.exit(main())
