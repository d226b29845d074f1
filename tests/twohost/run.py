#!/usr/bin/env python3
"""Runs the two-host fault tests (tests/twohost/tests_faults.py).

    python3 tests/twohost/run.py --bin-dir=build NAME [NAME...]
    python3 tests/twohost/run.py --list            # NAME TIMEOUT per line
    options: --long (10 s link outage), --keep (keep temp dirs),
             --repeat=N, --down-side=ref|wat, --big-mib=N, --no-netem,
             --insecure (plain TCP instead of mutual TLS)
             --soak-seconds=S, --seed=N (soak)

Exit codes: 0 passed, 1 failed, 2 usage, 77 skipped (not root, no network
namespaces, no netem qdisc: "SKIP: <reason>"; CTest SKIP_RETURN_CODE 77).
Namespaces, processes and temp dirs are removed in every case, including
Ctrl-C and SIGTERM.
"""

import argparse
import os
import signal
import sys
import time
import traceback

# No __pycache__ in the source tree (tests/e2e is imported from here).
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netns  # noqa: E402  (also puts tests/e2e on sys.path)
from netns import Skip, SKIP_RC, log  # noqa: E402
import harness  # noqa: E402
import tests_faults  # noqa: E402
import tests_limits  # noqa: E402,F401  (registers into tests_faults.TESTS)
import tests_soak  # noqa: E402,F401
import tests_torn  # noqa: E402,F401
import tests_fanout_ns  # noqa: E402,F401  (not tests_fanout: tests/e2e has one)


class Interrupted(BaseException):
    pass


def _on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


class T:
    """What a test gets."""

    def __init__(self, name, env, net, args):
        self.name = name
        self.env = env
        self.net = net
        self.long = args.long
        self.down_side = args.down_side
        self.big_mib = args.big_mib
        self.no_netem = args.no_netem
        self.soak_seconds = args.soak_seconds
        self.seed = args.seed
        self.results = []

    def result(self, key, value):
        self.results.append((key, value))
        log("MEASURED %s %s=%s" % (self.name, key,
                                   "%.3f" % value if isinstance(value, float) else value))


def run_one(name, args):
    fn, _timeout = tests_faults.TESTS[name]
    net = env = None
    t0 = time.monotonic()
    ok = False
    try:
        try:
            net = getattr(fn, "make_net", netns.TwoHosts)()  # tests_fanout_ns: FanoutHosts
            net.up()
        except Skip as e:
            if getattr(fn, "needs_net", True):
                print("SKIP: %s: %s" % (name, e), flush=True)
                return SKIP_RC
            log("%s: no network namespaces (%s): both nodes on loopback, no link faults"
                % (name, e))
            net = None
        env = harness.Env("twohost-" + name, keep=args.keep)
        t = T(name, env, net, args)
        try:
            fn(t)
            env.stop_all()  # SIGTERM: both exit 0 within 1 s
            ok = True
        except Skip as e:
            print("SKIP: %s: %s" % (name, e), flush=True)
            return SKIP_RC
        except harness.Failure as e:
            print("FAIL: %s: %s" % (name, e), flush=True)
        except Exception:
            print("FAIL: %s: exception" % name, flush=True)
            traceback.print_exc(file=sys.stdout)
        if not ok:
            env.print_tails(n=int(args.tail))
        print("%s: %s in %.1f s%s" % ("PASS" if ok else "FAIL", name, time.monotonic() - t0,
                                      "".join(" %s=%s" % (k, "%.3f" % v if isinstance(v, float) else v)
                                              for k, v in t.results)), flush=True)
        return 0 if ok else 1
    finally:
        # Teardown in every case (failure, Ctrl-C, SIGTERM): processes, temp
        # dirs, namespaces.
        if env is not None:
            env.close()
        if net is not None:
            net.down()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", help="directory of livesync-watcher and livesync-reference")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--long", action="store_true", help="10 s link outage instead of 4 s")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--down-side", choices=("ref", "wat"), default="ref",
                    help="the veth end set down in link_down (default: ref)")
    ap.add_argument("--big-mib", type=int, default=200,
                    help="size of the large file in reference_kill (MiB)")
    ap.add_argument("--no-netem", action="store_true",
                    help="netem_burst without the qdisc (checks the harness only)")
    ap.add_argument("--insecure", action="store_true",
                    help="plain TCP and no INI file instead of the containers' "
                         "INI files with mutual TLS")
    ap.add_argument("--soak-seconds", type=float, default=40.0,
                    help="how long `soak` runs its workload and faults (default: 40)")
    ap.add_argument("--seed", type=int, default=1,
                    help="seed of `soak`'s workload and fault schedule (default: 1)")
    ap.add_argument("--tail", default=60)
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()

    if args.list:
        for name, (_fn, timeout) in tests_faults.TESTS.items():
            print("%s %d" % (name, timeout))
        return 0
    if not args.names:
        ap.error("no test named (see --list)")
    for n in args.names:
        if n not in tests_faults.TESTS:
            ap.error("unknown test %r (see --list)" % n)
    netns.INSECURE = args.insecure
    if args.bin_dir:
        harness.set_bin_dir(args.bin_dir)
    for b in (harness.WATCHER, harness.REFERENCE):
        harness.binary(b)  # exits with a message when missing

    # SIGINT too: a runner started in the background inherits it ignored.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    rc = 0
    try:
        for i in range(args.repeat):
            for n in args.names:
                r = run_one(n, args)
                if r == 1:
                    rc = 1
                elif r == SKIP_RC and rc == 0 and len(args.names) == 1:
                    rc = SKIP_RC
    except (KeyboardInterrupt, Interrupted) as e:
        print("INTERRUPTED (%s): torn down" % (e or "SIGINT"), flush=True)
        return 130
    return rc


if __name__ == "__main__":
    sys.exit(main())
