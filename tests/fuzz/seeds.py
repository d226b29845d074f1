#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target: small inputs in the layout its
decoder reads (field by field, front to back), so the fuzzer starts from
operations that succeed and attacks that should fail instead of finding
them byte by byte.

    python3 tests/fuzz/seeds.py OUT_DIR   ->  OUT_DIR/<target>/<seed name>
"""
import hashlib
import os
import sys

# -- tree_writer_fuzz.cpp ------------------------------------------------------
# Component tokens, in the order of tokens() there.
TOKENS = ["base", "d", "f", "escape", "up", "secretlink", "back", "a", "b",
          "outside", "secret", "sub", ".livesync", "staging", "0.tmp", ".",
          "..", "", "x\ny", "n" * 256]
# Op selectors: op_kind values, then the writer-level actions.
MKDIR, SYMLINK, REMOVE, RENAME, SET_ATTR, WRITE_FILE, BEGIN_FILE, CHUNK, \
    COMMIT, ABORT, COPY_RANGE, REOPEN, ABORT_ALL, END_BATCH, RECIPE, \
    BAD_KIND = range(16)
# Flag bits.
RIGHT_HASH, EXACT_SIZE, RIGHT_OFFSET = 0x01, 0x02, 0x04
ZSTD_FRAME, ZSTD_GARBAGE = 0x08, 0x10


def path(*names):
    """1-4 components given by token name (or raw text, as a raw component)."""
    out = bytes([len(names) - 1])
    for n in names:
        if n in TOKENS:
            out += bytes([TOKENS.index(n)])
        else:  # token slot 31: raw, length byte then the bytes
            out += bytes([31, len(n)]) + n.encode()
    return out


def u64(v):
    """read_u64: selector 0 takes one byte, 1 two bytes little-endian."""
    return bytes([0, v]) if v < 256 else bytes([1]) + v.to_bytes(2, "little")


def data(payload):
    return len(payload).to_bytes(2, "little") + payload


MODE_644, MODE_755, MODE_4755 = bytes([0]), bytes([1]), bytes([4])
MTIME_SOME, MTIME_MIN = bytes([1]), bytes([2])


def write_file(p, payload, flags=RIGHT_HASH | EXACT_SIZE):
    return bytes([WRITE_FILE, flags]) + p + MODE_644 + MTIME_SOME + data(payload)


def begin(p, size, xfer=1):
    return bytes([BEGIN_FILE, 0]) + p + MODE_644 + MTIME_SOME + u64(size) \
        + bytes([xfer])


def chunk(payload, xfer=1, flags=EXACT_SIZE | RIGHT_OFFSET):
    return bytes([CHUNK, flags, xfer]) + data(payload)


def copy(offset, size, source=None, xfer=1):
    src = bytes([0]) if source is None else bytes([1]) + source
    return bytes([COPY_RANGE, 0, xfer]) + src + u64(offset) + u64(size)


def commit(xfer=1):
    return bytes([COMMIT, RIGHT_HASH, xfer])


def tree_writer_seeds():
    none, file_sync = b"\x00", b"\x01"
    return {
        "write_files": none + write_file(path("a"), b"hello\n")
        + write_file(path("d", "b"), b"x" * 100, RIGHT_HASH | EXACT_SIZE
                     | ZSTD_FRAME)
        + bytes([SET_ATTR, 0]) + path("a") + MODE_4755 + MTIME_MIN,
        "delta_commit": file_sync + begin(path("base"), 602)
        + copy(0, 200) + chunk(b"new bytes " * 10) + copy(300, 300)
        + copy(0, 2, path("d", "f")) + commit()
        + bytes([END_BATCH, 0]),
        "namespace": none + bytes([MKDIR, 0]) + path("a", "b") + MODE_755
        + bytes([MKDIR, 0]) + path("a") + MODE_755
        + bytes([SYMLINK, 0]) + path("a", "l") + path("..", "outside")
        + MTIME_SOME + bytes([RENAME, 0]) + path("a") + path("d", "a")
        + bytes([REMOVE, 0]) + path("d") + bytes([RECIPE, 0]) + path("base"),
        "escapes": none + write_file(path("escape", "x"), b"out")
        + write_file(path("up", "secret"), b"out")
        + bytes([MKDIR, 0]) + path("d", "back", "sub") + MODE_755
        + bytes([RENAME, 0]) + path("base") + path("escape", "base")
        + bytes([SET_ATTR, 0]) + path("secretlink") + MODE_4755 + MTIME_SOME
        + begin(path("a"), 7) + copy(0, 7, path("secretlink"))
        + begin(path("b"), 5, xfer=2) + copy(0, 5, path("up", "secret"), 2)
        + bytes([REMOVE, 0]) + path("up", "sub")
        + write_file(path(".livesync", "staging"), b"x"),
        # A commit whose parent went away; four copy sources; five
        # transfers; a recipe with unusable parameters.
        "limits": none + begin(path("d", "x"), 6, 5) + bytes([REMOVE, 0])
        + path("d") + copy(0, 2, path("base"), 5) + chunk(b"1234", 5)
        + commit(5)
        + write_file(path("f1"), b"ab") + write_file(path("f2"), b"cd")
        + begin(path("b"), 8, 0) + copy(0, 2, path("base"), 0)
        + copy(0, 2, path("f1"), 0) + copy(0, 2, path("f2"), 0)
        + copy(0, 1, path("up"), 0)
        + b"".join(begin(path(n), 10, i + 1) for i, n in enumerate("acegh"))
        + bytes([RECIPE, 0]) + path("base") + b"\x01" + bytes(7),
        "transfers": none + begin(path("a"), 10) + chunk(b"12345")
        + bytes([REOPEN, 0]) + begin(path("a"), 10, 2) + chunk(b"12345", 2)
        + bytes([ABORT_ALL, 0]) + begin(path("b"), 3, 3)
        + chunk(b"abc", 3, EXACT_SIZE | RIGHT_OFFSET | ZSTD_FRAME)
        + bytes([ABORT, 0, 3]) + chunk(b"late", 3),
    }


# -- path_rules_fuzz.cpp: one byte (printable bound / 2), then the path --------
def path_rules_seeds():
    return {
        "plain": b"\x40a/b/c",
        "dotdot": b"\x10a/../../x",
        "state": b"\x08.livesync/staging/0.tmp",
        "control": b"\x02new\nline\\\x7f\x01",
        "deep": b"\xff" + b"/".join([b"d"] * 257),
    }


# -- delta_fuzz.cpp: one byte mode (0 decompress, 1 compress, 2 delta) ---------
def delta_seeds():
    base = hashlib.sha256(b"base").digest() * 40  # 1280 pseudo-random bytes
    other = hashlib.sha256(b"other").digest() * 20
    edits = (b"\x00" + (100).to_bytes(2, "little") + (500).to_bytes(2, "little")
             + b"\x02\x05hello"
             + b"\x01" + (10).to_bytes(2, "little") + (300).to_bytes(2, "little")
             + b"\x00" + (700).to_bytes(2, "little") + (400).to_bytes(2, "little"))
    return {
        "decompress": b"\x00\x10\x00" + b"\x28\xb5\x2f\xfd" + b"\x00" * 8,
        "compress": b"\x01\x03" + b"livesync " * 40,
        # params selector 0x12: avg 64 << 1, min avg >> 2, max avg << 0.
        "delta": b"\x02\x12" + (40).to_bytes(2, "little")
        + len(base).to_bytes(2, "little") + base
        + len(other).to_bytes(2, "little") + other + edits,
    }


# -- digest_plan_fuzz.cpp: count, then (parent, name length, name, 16 digest
# bytes) per directory, then listings (count, then name length, name, kind,
# mode (2), size (2) per entry; a sort byte) ----------------------------------
def digest_plan_seeds():
    def entry(parent, name):
        return bytes([parent, len(name)]) + name + b"\x00" * 16

    def listing(*names):
        out = bytes([len(names)])
        for n in names:
            out += bytes([len(n)]) + n + b"\x01" + (0o644).to_bytes(2, "little") \
                + (10).to_bytes(2, "little")
        return out + b"\x01"

    tree = b"\x03" + entry(0, b"") + entry(0, b"src") + entry(1, b"lib")
    return {
        "tree": tree + listing(b"a", b"b") + b"\x00" + listing(b"c") + b"\x01"
        + b"\x01" + listing(b"x") + b"\x01",
        "bad_parent": b"\x02" + entry(0, b"") + entry(5, b"a"),
        "dotdot": b"\x02" + entry(0, b"") + entry(0, b".."),
    }


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for target, seeds in (("fuzz_tree_writer", tree_writer_seeds()),
                          ("fuzz_path_rules", path_rules_seeds()),
                          ("fuzz_delta", delta_seeds()),
                          ("fuzz_digest_plan", digest_plan_seeds())):
        d = os.path.join(sys.argv[1], target)
        os.makedirs(d, exist_ok=True)
        for name, blob in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(blob)


if __name__ == "__main__":
    main()
