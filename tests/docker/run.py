#!/usr/bin/env python3
"""Runs the Docker packaging tests (CTest docker.NAME):

    python3 tests/docker/run.py --bin-dir=build NAME [NAME...]
    python3 tests/docker/run.py --list        # NAME TIMEOUT per line

lint         static checks of docker/ (tests/docker/lint.py)
entrypoints  the containers' entrypoints, INI files and health check with
             the real programs on loopback (tests/docker/entrypoints.py)

Exit codes: 0 passed, 1 failed, 2 usage, 77 skipped (a tool is missing).
"""

import argparse
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, os.pardir, "e2e"))

import entrypoints  # noqa: E402
import lint  # noqa: E402

TESTS = {  # name -> (function of the binary dir, CTest timeout in s)
    "lint": (lint.lint, 120),
    "entrypoints": (entrypoints.run, 60),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", help="directory of livesync-watcher and livesync-reference")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    if args.list:
        for name, (_fn, timeout) in TESTS.items():
            print("%s %d" % (name, timeout))
        return 0
    if not args.names or not args.bin_dir:
        ap.error("name a test (see --list) and give --bin-dir")
    rc = 0
    for name in args.names:
        if name not in TESTS:
            ap.error("unknown test %r (see --list)" % name)
        r = TESTS[name][0](os.path.abspath(args.bin_dir))
        if r == 1 or (r == 77 and rc == 0):
            rc = r
    return rc


if __name__ == "__main__":
    sys.exit(main())
