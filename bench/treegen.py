"""Seeded generator of a realistic source-like tree for the benchmarks.

What a project checkout with some build output looks like: mostly small
text files (C-like and markdown-like text from delta_vs_rsync.TextGen, so
they compress like real source), some medium binary files (object files,
images: random, incompressible), a few large ones, nested directories of
varying depth, and symbolic links (relative ones to files and dirs, a few
dangling). Same seed, same tree, byte for byte.

Text is cut from a pool made once per tree (TextGen writes ~1 MB/s in
Python; the pool is small), at a random offset per file, with the file's
own header line first, so that files differ but stay text.
"""

import math
import os
import random

from delta_vs_rsync import TextGen  # the text generator lives there (not edited here)

KiB = 1 << 10
MiB = 1 << 20

SMALL_MAX = 64 * KiB  # livesync sends files up to this size whole
TEXT_POOL = 1 * MiB  # ~2 s of TextGen on a quiet core


class Plan:
    """What make_tree wrote: counts and bytes, for the report."""

    def __init__(self):
        self.files = 0
        self.bytes = 0
        self.dirs = 0
        self.symlinks = 0
        self.by_kind = {"text": [0, 0], "medium": [0, 0], "large": [0, 0]}  # kind -> [files, bytes]

    def add(self, kind, size):
        self.files += 1
        self.bytes += size
        self.by_kind[kind][0] += 1
        self.by_kind[kind][1] += size

    def describe(self):
        parts = ["%d %s (%.1f MiB)" % (n, k, b / MiB) for k, (n, b) in self.by_kind.items() if n]
        return "%d files, %.1f MiB in %d dirs, %d symlinks: %s" % (
            self.files, self.bytes / MiB, self.dirs, self.symlinks, ", ".join(parts))

    def as_dict(self):
        return {"files": self.files, "bytes": self.bytes, "dirs": self.dirs,
                "symlinks": self.symlinks, "by_kind": self.by_kind}


def _dirs(rng, count, max_depth):
    """`count` relative dir paths forming a tree: each new dir goes under a
    random existing one (shallow dirs are likelier parents), up to max_depth."""
    out = [""]
    depth = {"": 0}
    names = set()
    while len(out) < count + 1:
        parent = out[min(int(rng.expovariate(1.0 / max(1, len(out) / 3))), len(out) - 1)]
        if depth[parent] >= max_depth:
            continue
        name = "%s%d" % (rng.choice(("src", "lib", "doc", "test", "include", "build", "util",
                                     "net", "fs", "core", "img", "data")), rng.randrange(1000))
        p = os.path.join(parent, name)
        if p in names:
            continue
        names.add(p)
        out.append(p)
        depth[p] = depth[parent] + 1
    return out


def make_tree(root, files, total_bytes, seed=1, large_files=None, dirs=None,
              symlink_share=0.01, medium_share=0.08):
    """Writes about `files` regular files and `total_bytes` bytes under root
    (which must exist). Shares: 1 % symlinks (on top of `files`), 8 % medium
    binary files (64 KiB - 4 MiB, log-uniform), `large_files` large ones
    (default files // 5000; they take what the budget leaves after the
    text and medium files, at least 8 MiB each), the rest small text files
    (lognormal, median ~3 KiB, at most 64 KiB). Returns a Plan."""
    rng = random.Random(seed)
    plan = Plan()
    ndirs = dirs if dirs is not None else max(1, files // 20)
    dir_list = _dirs(rng, ndirs, max_depth=6)
    for d in dir_list[1:]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    plan.dirs = len(dir_list) - 1
    pool = TextGen(seed).text(TEXT_POOL)

    n_large = files // 5000 if large_files is None else large_files
    n_medium = int(files * medium_share)
    n_text = max(0, files - n_large - n_medium)
    text_sizes = [min(SMALL_MAX, max(16, int(rng.lognormvariate(math.log(3 * KiB), 1.1))))
                  for _ in range(n_text)]
    med_sizes = [int(math.exp(rng.uniform(math.log(64 * KiB), math.log(4 * MiB))))
                 for _ in range(n_medium)]
    # Keep the total near the budget: scale medium files down if needed,
    # and give what is left to the large ones.
    budget = total_bytes - sum(text_sizes)
    med_total = sum(med_sizes)
    if n_large == 0 and med_total:
        scale = max(budget, 0) / med_total
        med_sizes = [max(SMALL_MAX + 1, int(s * scale)) for s in med_sizes]
    elif med_total > budget * 0.5:
        med_sizes = [max(SMALL_MAX + 1, int(s * budget * 0.5 / med_total)) for s in med_sizes]
    left = budget - sum(med_sizes)
    large_sizes = [max(8 * MiB, left // n_large)] * n_large if n_large else []

    kinds = [("text", s) for s in text_sizes] + [("medium", s) for s in med_sizes] + \
            [("large", s) for s in large_sizes]
    rng.shuffle(kinds)
    written = []
    for i, (kind, size) in enumerate(kinds):
        d = rng.choice(dir_list)
        if kind == "text":
            ext = rng.choice((".c", ".c", ".h", ".md", ".txt", ".py"))
            name = "f%05d%s" % (i, ext)
            head = ("/* %s/%s */\n" % (d, name)).encode()
            off = rng.randrange(0, TEXT_POOL - size)
            data = (head + pool[off:off + size])[:size]
            with open(os.path.join(root, d, name), "wb") as f:
                f.write(data)
        else:
            name = "f%05d%s" % (i, ".o" if kind == "medium" else ".bin")
            _write_random(os.path.join(root, d, name), size, rng)
        if rng.random() < 0.1:
            os.chmod(os.path.join(root, d, name), 0o755)
        plan.add(kind, size)
        written.append(os.path.join(d, name))

    n_links = int(files * symlink_share)
    for i in range(n_links):
        d = rng.choice(dir_list)
        r = rng.random()
        if r < 0.1:
            target = "missing-%d" % i  # dangling
        elif r < 0.3:
            target = os.path.relpath(os.path.join(root, rng.choice(dir_list)), os.path.join(root, d))
        else:
            target = os.path.relpath(os.path.join(root, rng.choice(written)), os.path.join(root, d))
        os.symlink(target, os.path.join(root, d, "link%04d" % i))
        plan.symlinks += 1
    return plan


def _write_random(path, size, rng):
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 4 * MiB)
            f.write(rng.randbytes(n))
            left -= n


def make_flat_tree(root, files, dirs, min_size, max_size, seed=1, prefix="d"):
    """`files` small files of random content spread evenly over `dirs`
    directories ROOT/PREFIXnnnnn/fmmm: for the scale and rename workloads,
    where the count matters, not the mix. Returns (files, bytes)."""
    rng = random.Random(seed)
    nbytes = 0
    per = -(-files // dirs)
    made = 0
    for d in range(dirs):
        dp = os.path.join(root, "%s%05d" % (prefix, d))
        os.mkdir(dp)
        for j in range(min(per, files - made)):
            size = rng.randint(min_size, max_size)
            with open(os.path.join(dp, "f%03d" % j), "wb") as f:
                f.write(rng.randbytes(size))
            nbytes += size
            made += 1
    return made, nbytes


def manifest(root):
    """{relpath: what livesync mirrors of it} for everything under root,
    never following links, the reference's .livesync left out: files
    (mode bits, size, mtime in ns), dirs (mode bits), links (target)."""
    out = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(root, rel)) as it:
            for e in it:
                p = os.path.join(rel, e.name)
                if rel == "" and e.name == ".livesync":
                    continue
                if e.is_symlink():
                    out[p] = ("l", os.readlink(e.path))
                    continue
                st = e.stat(follow_symlinks=False)
                if e.is_dir(follow_symlinks=False):
                    out[p] = ("d", st.st_mode & 0o7777)
                    stack.append(p)
                else:
                    out[p] = ("f", st.st_mode & 0o7777, st.st_size, st.st_mtime_ns)
    return out
