#!/usr/bin/env python3
"""Runs livesync's end-to-end tests against the real binaries.

  run.py [--bin-dir=DIR] [--keep] NAME...   run these tests (exit 1 if any fails)
  run.py [--bin-dir=DIR] [--keep] --all     run every test
  run.py --list                             print "NAME TIMEOUT SERIAL" per test

The binary dir holds livesync-watcher and livesync-reference; it comes from
--bin-dir or the environment variable LIVESYNC_BIN_DIR. The tests are the
functions registered with @e2e_test in tests_*.py: that registry is the
only list of names (tests/e2e/CMakeLists.txt reads it through --list).
An unknown name is an error.
"""

import argparse
import os
import sys
import time
import traceback

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import tests_changes  # noqa: E402,F401
import tests_cli  # noqa: E402,F401
import tests_security  # noqa: E402,F401
import tests_startup  # noqa: E402,F401
import tests_tls  # noqa: E402,F401
import tests_excludes  # noqa: E402,F401
import tests_delta  # noqa: E402,F401
import tests_control  # noqa: E402,F401
import tests_watch_faults  # noqa: E402,F401
import tests_idle  # noqa: E402,F401
import tests_unprivileged  # noqa: E402,F401
import tests_depth  # noqa: E402,F401
import tests_metrics  # noqa: E402,F401
import tests_fanout  # noqa: E402,F401


def run_one(name, keep):
    fn, _, _ = harness.TESTS[name]
    print("=" * 72)
    print("[e2e] %s: %s" % (name, (fn.__doc__ or "").strip().splitlines()[0]))
    sys.stdout.flush()
    t0 = time.monotonic()
    env = harness.Env(name, keep=keep)
    ok = False
    skipped = False
    try:
        fn(env)
        env.stop_all()
        ok = True
    except harness.Skip as e:
        print("SKIP: %s: %s" % (name, e))
        ok = skipped = True
    except BaseException as e:  # noqa: B902 (report KeyboardInterrupt too)
        print("[e2e] FAIL %s: %s" % (name, e))
        traceback.print_exc(file=sys.stdout)
        env.print_tails()
        if isinstance(e, KeyboardInterrupt):
            env.close()
            raise
    finally:
        env.close()
    dt = time.monotonic() - t0
    print("[e2e] %s %s (%.2f s)" % ("SKIP" if skipped else "PASS" if ok else "FAIL",
                                    name, dt))
    sys.stdout.flush()
    return ok, dt, skipped


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", help="directory of livesync-watcher and livesync-reference")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    ap.add_argument("--all", action="store_true", help="run every test")
    ap.add_argument("--keep", action="store_true", help="keep each test's temp dir")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()

    if args.list:
        for name, (_, timeout, serial) in sorted(harness.TESTS.items()):
            print("%s %d %d" % (name, timeout, 1 if serial else 0))
        return 0
    names = sorted(harness.TESTS) if args.all else args.names
    if not names:
        ap.error("name at least one test, or --all (--list shows them)")
    unknown = [n for n in names if n not in harness.TESTS]
    if unknown:
        print("run.py: unknown test(s): %s (--list shows them)" % ", ".join(unknown),
              file=sys.stderr)
        return 2
    if args.bin_dir:
        harness.set_bin_dir(args.bin_dir)
    for b in (harness.WATCHER, harness.REFERENCE):
        harness.binary(b)  # exits with a clear message if missing

    t0 = time.monotonic()
    results = [(n,) + run_one(n, args.keep) for n in names]
    if len(results) > 1:
        print("=" * 72)
        for n, ok, dt, skipped in results:
            print("%-32s %s %7.2f s" % (n, "SKIP" if skipped else "PASS" if ok else "FAIL", dt))
        failed = [n for n, ok, _, _ in results if not ok]
        print("[e2e] %d passed, %d failed, wall %.1f s%s"
              % (len(results) - len(failed), len(failed), time.monotonic() - t0,
                 (": " + " ".join(failed)) if failed else ""))
    if not all(ok for _, ok, _, _ in results):
        return 1
    # One test that was skipped (CTest runs one at a time): SKIP_RETURN_CODE.
    return harness.SKIP_RC if len(results) == 1 and results[0][3] else 0


if __name__ == "__main__":
    sys.exit(main())
