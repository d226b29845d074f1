"""Background activity for the two-host fault tests (standard library only).

Churn      a writer thread that creates, modifies, appends, renames, deletes,
           chmods, touches and symlinks files (and makes/renames directories)
           under one directory of the watched tree, seeded.
RefPoller  a thread that watches one path on the reference and records a
           violation whenever what is visible there is neither an allowed
           old version nor the complete new file.
"""

import hashlib
import os
import random
import shutil
import stat
import threading
import time

import netns  # noqa: F401  (puts tests/e2e on sys.path)
import harness


class Churn(threading.Thread):
    """Changes files under `root` for `duration` seconds, one operation
    every `interval` seconds, deterministically from `seed`."""

    def __init__(self, root, seed, duration, interval=0.01):
        super().__init__(name="churn", daemon=True)
        self.root = root
        self.rng = random.Random(seed)
        self.duration = duration
        self.interval = interval
        self.stop_event = threading.Event()
        self.counts = {}
        self.error = None
        self.started_at = None
        self.ended_at = None
        self.dirs = [""]
        self.files = []
        self.links = []
        self._n = 0

    def _new_name(self, prefix):
        self._n += 1
        return "%s%05d" % (prefix, self._n)

    def _p(self, rel):
        return os.path.join(self.root, rel) if rel else self.root

    def _content(self):
        r = self.rng.random()
        if r < 0.05:
            n = self.rng.randint(100 * 1024, 400 * 1024)  # chunked path
        elif r < 0.1:
            n = 0
        else:
            n = self.rng.randint(1, 4096)
        return self.rng.randbytes(n)

    def _op(self):
        rng = self.rng
        choices = [("create", 30), ("overwrite", 14), ("append", 8),
                   ("rename", 10), ("delete", 8), ("chmod", 6), ("touch", 6),
                   ("symlink", 5), ("mkdir", 4), ("rename_dir", 3),
                   ("delete_dir", 1), ("unlink_symlink", 2)]
        total = sum(w for _, w in choices)
        x = rng.uniform(0, total)
        for op, w in choices:
            x -= w
            if x <= 0:
                break
        if op not in ("create", "mkdir", "symlink") and not self.files:
            op = "create"
        if op == "create":
            d = rng.choice(self.dirs)
            rel = os.path.join(d, self._new_name("f")) if d else self._new_name("f")
            harness.write_file(self._p(rel), self._content(), makedirs=False)
            self.files.append(rel)
        elif op == "overwrite":
            harness.write_file(self._p(rng.choice(self.files)), self._content(),
                               makedirs=False)
        elif op == "append":
            harness.append_file(self._p(rng.choice(self.files)),
                                rng.randbytes(rng.randint(1, 2000)))
        elif op == "rename":
            i = rng.randrange(len(self.files))
            d = rng.choice(self.dirs)
            rel = os.path.join(d, self._new_name("r")) if d else self._new_name("r")
            os.rename(self._p(self.files[i]), self._p(rel))
            self.files[i] = rel
        elif op == "delete":
            i = rng.randrange(len(self.files))
            os.unlink(self._p(self.files.pop(i)))
        elif op == "chmod":
            os.chmod(self._p(rng.choice(self.files)),
                     rng.choice((0o600, 0o640, 0o644, 0o664, 0o700, 0o755)))
        elif op == "touch":
            ns = rng.randint(1_000_000_000, 1_700_000_000) * 10**9 + rng.randrange(10**9)
            os.utime(self._p(rng.choice(self.files)), ns=(ns, ns))
        elif op == "symlink":
            d = rng.choice(self.dirs)
            rel = os.path.join(d, self._new_name("l")) if d else self._new_name("l")
            target = rng.choice(self.files + ["dangling/target"]) if self.files else "dangling"
            os.symlink(os.path.relpath(target, d or "."), self._p(rel))
            self.links.append(rel)
        elif op == "unlink_symlink":
            if self.links:
                i = rng.randrange(len(self.links))
                os.unlink(self._p(self.links.pop(i)))
        elif op == "mkdir":
            d = rng.choice(self.dirs)
            rel = os.path.join(d, self._new_name("d")) if d else self._new_name("d")
            os.mkdir(self._p(rel))
            self.dirs.append(rel)
        elif op in ("rename_dir", "delete_dir"):
            cands = [d for d in self.dirs if d]
            if not cands:
                return "noop"
            old = rng.choice(cands)

            def inside(p):
                return harness.under(p, old)

            if op == "delete_dir":
                shutil.rmtree(self._p(old))
                self.dirs = [d for d in self.dirs if not inside(d)]
                self.files = [f for f in self.files if not inside(f)]
                self.links = [f for f in self.links if not inside(f)]
            else:
                # Move it beneath a directory that is not inside itself.
                parents = [d for d in self.dirs if not inside(d)]
                parent = rng.choice(parents)
                new = os.path.join(parent, self._new_name("D")) if parent else self._new_name("D")
                os.rename(self._p(old), self._p(new))

                def moved(p):
                    return new + p[len(old):] if inside(p) else p

                self.dirs = [moved(d) for d in self.dirs]
                self.files = [moved(f) for f in self.files]
                self.links = [moved(f) for f in self.links]
        return op

    def run(self):
        try:
            os.makedirs(self.root, exist_ok=True)
            self.started_at = time.monotonic()
            end = self.started_at + self.duration
            while time.monotonic() < end and not self.stop_event.is_set():
                op = self._op()
                self.counts[op] = self.counts.get(op, 0) + 1
                time.sleep(self.interval)
        except BaseException as e:  # reported by the test
            self.error = e
        finally:
            self.ended_at = time.monotonic()

    def stop(self):
        self.stop_event.set()
        self.join(timeout=10)

    def summary(self):
        return "%d ops (%s)" % (sum(self.counts.values()),
                                " ".join("%s=%d" % kv for kv in sorted(self.counts.items())))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


class RefPoller(threading.Thread):
    """Polls `path` (on the reference) as fast as it can. Whatever file is
    visible there must be one of `allowed` (sha256 -> label) — an old
    version or the complete new one; each inode seen is hashed once
    (committed files are renamed into place, so an inode's content does
    not change). `root_allowed`, if given, is the set of names allowed in
    the reference root (anything else is a stray file, e.g. a temp file
    outside the state folder)."""

    def __init__(self, path, allowed, root=None, root_allowed=None):
        super().__init__(name="ref-poller", daemon=True)
        self.path = path
        self.allowed = dict(allowed)
        self.root = root
        self.root_allowed = root_allowed
        self.stop_event = threading.Event()
        self.violations = []
        self.seen = {}  # inode -> label
        self.polls = 0
        self.error = None

    def _violation(self, msg):
        if len(self.violations) < 20:
            self.violations.append("%.3f %s" % (time.time(), msg))

    def run(self):
        try:
            while not self.stop_event.is_set():
                self.polls += 1
                try:
                    st = os.lstat(self.path)
                except FileNotFoundError:
                    st = None
                if st is not None:
                    key = (st.st_ino, st.st_size, st.st_mtime_ns)
                    if key not in self.seen:
                        if not stat.S_ISREG(st.st_mode):
                            self._violation("%s is not a regular file (mode %o)"
                                            % (self.path, st.st_mode))
                            self.seen[key] = "not-a-file"
                        else:
                            try:
                                digest = sha256_file(self.path)
                                st2 = os.lstat(self.path)
                            except FileNotFoundError:
                                continue
                            if st2.st_ino != st.st_ino:
                                continue  # replaced while hashed: look again
                            label = self.allowed.get(digest)
                            if label is None:
                                self._violation("%s visible with unexpected content: "
                                                "size %d sha256 %s.. (neither old nor "
                                                "complete new)" % (self.path, st.st_size,
                                                                   digest[:12]))
                                label = "BAD"
                            self.seen[key] = label
                if self.root is not None and self.root_allowed is not None:
                    try:
                        names = set(os.listdir(self.root))
                    except FileNotFoundError:
                        names = set()
                    stray = names - self.root_allowed
                    if stray:
                        self._violation("stray entries in the reference root: %s"
                                        % sorted(stray))
                time.sleep(0.002)
        except BaseException as e:
            self.error = e

    def stop(self):
        self.stop_event.set()
        self.join(timeout=30)
