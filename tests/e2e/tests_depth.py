"""E2E: a watched tree deeper than any operation may name.

Each rename is a valid operation, yet renaming subtrees into each other
nests them to any depth: here 30 chains of 100 directories become one of
3,000 levels. The reference refuses the rename that would nest paths past
its limits (256 components, 4096 bytes; core/common/path_rules), the watcher
then mirrors what can be named and warns once for the rest, and a
reconnect (both nodes walk their trees) neither recurses past its stack
nor runs out of descriptors: it reaches in-sync, and the rest keeps
syncing."""

import os
import subprocess

from harness import check, e2e_test, log, write_file

CHAINS = 30
LEVELS = 100
LIMIT = 256  # core/common/path_rules.hpp: max_path_depth
STEP_TIMEOUT = 30.0


def make_chain(top):
    os.makedirs(os.path.join(top, *(["d"] * (LEVELS - 1))))


def open_deep(base, names):
    """An O_PATH descriptor of base/names..., one level at a time (the path
    as a whole is longer than PATH_MAX)."""
    fd = os.open(base, os.O_PATH | os.O_DIRECTORY)
    for n in names:
        nxt = os.open(n, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        os.close(fd)
        fd = nxt
    return fd


def spine(base, depth):
    """The names along the single path beneath `base`, `depth` levels at
    most, or None where a level holds more than one directory (each level
    of these chains holds one)."""
    names = []
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        while len(names) < depth:
            kids = [e.name for e in os.scandir(fd) if e.is_dir(follow_symlinks=False)]
            if not kids:
                break
            if len(kids) > 1:
                return None
            nxt = os.open(kids[0], os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nxt
            names.append(kids[0])
    finally:
        os.close(fd)
    return names


@e2e_test(timeout=120)
def test_depth_nested_by_renames(env):
    """30 chains of 100 levels nested by renames into one of 3,000: the
    reference holds exactly the first 256 levels, the watcher warns of the
    rest once, a reconnect reaches in-sync, and the tree still syncs."""
    for i in range(CHAINS):
        make_chain(env.S("c%02d" % i))
    env.start_pair(timeout=STEP_TIMEOUT)

    # c01 into the deepest directory of c00, c02 into that of c01, ...
    path = ["c00"] + ["d"] * (LEVELS - 1)
    for i in range(1, CHAINS):
        fd = open_deep(env.src, path)
        try:
            os.rename("c%02d" % i, "c%02d" % i, src_dir_fd=os.open(env.src, os.O_PATH),
                      dst_dir_fd=fd)
        finally:
            os.close(fd)
        path += ["c%02d" % i] + ["d"] * (LEVELS - 1)
    check(len(path) == CHAINS * LEVELS, "built %d levels" % len(path))
    log("nested %d levels by %d renames" % (len(path), CHAINS - 1))

    def mirrored_spine_ok():
        # Only c00 is left at the top, and it goes exactly LIMIT levels deep.
        return (sorted(os.listdir(env.ref)) == [".livesync", "c00"]
                and spine(env.R("c00"), LIMIT + 5) == path[1:LIMIT])

    env.watcher.wait_line(r"path-skipped path=.* reason=path deeper than %d" % LIMIT,
                          timeout=STEP_TIMEOUT, what="a warning for the paths past the limit")
    wait_until(env, mirrored_spine_ok, "the reference holds the first %d levels" % LIMIT)
    refused = env.reference.matching(r"a rename that would nest paths past")
    log("renames refused by the reference: %d" % len(refused))
    check(refused, "the reference never refused a nesting rename")

    # A reconnect: both nodes walk their trees (digests).
    env.restart_watcher(timeout=STEP_TIMEOUT)
    check(mirrored_spine_ok(), "the reference changed after the reconnect")
    for node in (env.watcher, env.reference):
        bad = node.matching(r"Too many open files|Segmentation|stack")
        check(not bad, "%s: %s" % (node.name, bad[:3]))

    # The rest of the tree syncs.
    write_file(env.S("after.txt"), b"after the deep tree\n")
    wait_until(env, lambda: os.path.exists(env.R("after.txt")), "after.txt mirrored")

    # Gone whole on both sides (rm copes with any depth).
    subprocess.run(["rm", "-rf", env.S("c00")], check=True, timeout=60)
    wait_until(env, lambda: not os.path.lexists(env.R("c00")), "the deep tree removed")
    env.wait_converged(timeout=STEP_TIMEOUT, what="both trees identical")


def wait_until(env, cond, what, timeout=STEP_TIMEOUT):
    import time
    deadline = time.monotonic() + timeout
    while not cond():
        env.check_nodes_alive()
        check(time.monotonic() < deadline, "%s: not after %.0f s" % (what, timeout))
        time.sleep(0.05)
    log(what)
