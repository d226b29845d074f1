#!/usr/bin/env python3
"""Runs the container and package tests (CTest containers.NAME, label
containers):

    python3 tests/containers/run.py --bin-dir=build NAME [--keep]
    python3 tests/containers/run.py --list        # NAME TIMEOUT per line

images   base image (mmdebstrap) and both images of docker/Dockerfile
pair     the two nodes as containers on their own network (tests_pair.py)
compose  docker/compose.yaml with docker-compose over podman's Docker API
deb      scripts/package.sh's .deb installed and run in a container
systemd  its units started by systemd booted in a container
units    systemd-analyze verify (and security) of the packaged units

Exit codes: 0 passed, 1 failed, 2 usage, 77 skipped (said why: podman,
mmdebstrap, docker-compose or systemd-analyze missing or unable to run, or
not root). Each test runs in a temp dir of its own, removed afterwards
unless --keep.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import podman  # noqa: E402
import tests_compose  # noqa: E402
import tests_package  # noqa: E402
import tests_pair  # noqa: E402

TESTS = {  # name -> (function(bin_dir, workdir), CTest timeout in s)
    "images": (tests_pair.images, 1800),
    "pair": (tests_pair.pair, 1500),
    "compose": (tests_compose.compose, 1500),
    "deb": (tests_package.deb, 900),
    "systemd": (tests_package.systemd, 900),
    "units": (tests_package.units, 120),
}


def run_one(name, bin_dir, keep):
    fn = TESTS[name][0]
    workdir = tempfile.mkdtemp(prefix="livesync-ctest-%s-" % name)
    print("[containers] %s: %s" % (name, (fn.__doc__ or "").strip().splitlines()[0]
                                   if fn.__doc__ else name), flush=True)
    t0 = time.monotonic()
    rc = 1
    try:
        fn(bin_dir, workdir)
        rc = 0
    except podman.Skip as e:
        print("SKIP: containers.%s: %s" % (name, e), flush=True)
        rc = 77
    except BaseException as e:  # noqa: B902 (report KeyboardInterrupt too)
        print("[containers] FAIL %s: %s" % (name, e), flush=True)
        traceback.print_exc(file=sys.stdout)
        if isinstance(e, KeyboardInterrupt):
            raise
    finally:
        if keep:
            print("[containers] kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("[containers] %s %s (%.1f s)" % ({0: "PASS", 77: "SKIP"}.get(rc, "FAIL"), name,
                                           time.monotonic() - t0), flush=True)
    return rc


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", help="the build directory (livesync-watcher, livesync-reference)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep each test's temp dir")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    if args.list:
        for name, (_fn, timeout) in TESTS.items():
            print("%s %d" % (name, timeout))
        return 0
    if not args.names or not args.bin_dir:
        ap.error("name a test (see --list) and give --bin-dir")
    unknown = [n for n in args.names if n not in TESTS]
    if unknown:
        ap.error("unknown test(s) %s (see --list)" % ", ".join(unknown))
    rc = 0
    for name in args.names:
        r = run_one(name, os.path.abspath(args.bin_dir), args.keep)
        if r == 1 or (r == 77 and rc == 0):
            rc = r
    return rc


if __name__ == "__main__":
    sys.exit(main())
