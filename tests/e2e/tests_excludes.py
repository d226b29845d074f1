"""E2E: excludes (issue 6, "Excludes"): --exclude patterns and the ignore
file in the watched root; excluded directories are not watched; excluded
paths are neither sent nor removed on the reference."""

import os
import re

from harness import check, e2e_test, settle, watcher_argv, write_file


@e2e_test()
def test_excludes(env):
    """--exclude and .livesyncignore: excluded paths are neither watched,
    sent nor removed; a re-include (!) works; live changes obey them."""
    write_file(env.S("src", "main.c"), "int main;\n")
    write_file(env.S("src", "main.o"), "obj\n")
    write_file(env.S("build", "deep", "out.bin"), "built\n")
    write_file(env.S("notes.txt.swp"), "swap\n")
    write_file(env.S("keep", "debug.log"), "kept\n")
    write_file(env.S("keep", "other.log"), "dropped\n")
    write_file(env.S(".livesyncignore"), "*.log\n!keep/debug.log\n")
    # Something the reference holds that the watcher excludes: it stays.
    write_file(env.R("build", "old.bin"), "reference-only\n")
    env.start_reference()
    w = env.start_watcher(argv=watcher_argv(
        env.src, env.reference.port,
        extra=['--exclude=["build/", "*.o", "*.swp"]']))
    # Excluded directories get no watch: root, src, keep (not build/deep).
    line = w.wait_line(r"watching root=", what="watching line")
    dirs = int(re.search(r"directories=(\d+)", line).group(1))
    check(dirs == 3, "expected 3 watched directories, got %d" % dirs)
    settle(0.5)
    expect = {"src/main.c", ".livesyncignore", "keep/debug.log", "build/old.bin"}
    got = set()
    for base, _, files in os.walk(env.ref):
        for f in files:
            rel = os.path.relpath(os.path.join(base, f), env.ref)
            if not rel.startswith(".livesync/"):
                got.add(rel)
    check(got == expect, "reference files: %s, expected %s" % (sorted(got), sorted(expect)))
    # Live: new excluded files stay out, included ones arrive.
    write_file(env.S("src", "util.o"), "obj\n")
    write_file(env.S("build", "new.bin"), "x\n")
    write_file(env.S("src", "util.c"), "int util;\n")
    for _ in range(100):
        if os.path.exists(env.R("src", "util.c")):
            break
        settle(0.05)
    settle(0.5)
    check(os.path.exists(env.R("src", "util.c")), "an included file did not arrive")
    check(not os.path.exists(env.R("src", "util.o")), "an excluded file arrived")
    check(not os.path.exists(env.R("build", "new.bin")), "a file in an excluded dir arrived")
    check(w.count(r"op-sent kind=\w+ path=build") == 0, "ops were sent under build/")


@e2e_test()
def test_exclude_bad_pattern(env):
    """A pattern that cannot be compiled is a clear start-up error."""
    rc, out, err = env.run_cli(watcher_argv(env.src, 1, host="192.0.2.1",
                                            extra=['--exclude=["[abc"]']))
    lines = [l for l in (out + err).splitlines() if l.strip()]
    check(rc == 2 and len(lines) == 1 and "exclude" in lines[0],
          "rc=%s output=%r" % (rc, lines[-3:]))
