"""E2E: the command-line contract (issue 2, "The two programs")."""

import os
import signal
import socket

from harness import (UNROUTABLE, check, e2e_test, free_port, log,
                     reference_argv, settle, watcher_argv, write_file)

# Negative tests must stay harmless if the program wrongly keeps running
# with a default (port 4242) on this shared machine: a watcher is pointed
# at an unroutable host, a reference binds a loopback address nobody uses.
SAFE_BIND = "127.0.0.3"


class Cases:
    """Runs every case, then fails with all the failures together."""

    def __init__(self, env):
        self.env = env
        self.failures = []

    def usage_error(self, argv, what, says=None):
        """Exit code 2, promptly, with a one-line error on stderr or stdout
        (containing `says`, when given)."""
        rc, out, err = self.env.run_cli(argv, timeout=5)
        lines = [l for l in (out + err).splitlines() if l.strip()]
        if rc is None:
            msg = "still running after 5 s (killed); expected exit code 2; output: %r" % lines[-3:]
        elif rc != 2:
            msg = "exit code %s, expected 2 (output: %r)" % (rc, lines[-5:])
        elif len(lines) != 1:
            msg = "expected a one-line error, got %d lines: %r" % (len(lines), lines[:10])
        elif says is not None and says not in lines[0]:
            msg = "the error does not say %r: %r" % (says, lines[0])
        else:
            log("%s: exit 2, %r" % (what, lines[0]))
            return
        log("%s: FAILED: %s" % (what, msg))
        self.failures.append("%s: %s" % (what, msg))

    def done(self):
        check(not self.failures, "%d case(s) failed:\n  %s"
              % (len(self.failures), "\n  ".join(self.failures)))


def both(env):
    """Otherwise valid command lines of both programs, as a function of the
    options to replace: (name, make_argv(**overrides))."""
    nobody = env.dead_port()

    def ref(root=env.ref, port=0, extra=()):
        return reference_argv(root, port, extra=["--bind=" + SAFE_BIND] + list(extra))

    def wat(root=env.src, port=nobody, extra=()):
        return watcher_argv(root, port, host=UNROUTABLE, extra=extra)

    return [("reference", ref), ("watcher", wat)]


@e2e_test()
def test_cli_unknown_option(env):
    """`--bogus=1` -> exit code 2 and a one-line error (both programs)."""
    cases = Cases(env)
    for name, argv in both(env):
        cases.usage_error(argv(extra=["--bogus=1"]), "%s --bogus=1" % name,
                          says="--bogus=1: no such option (--help lists them)")
    cases.done()


@e2e_test()
def test_cli_bad_port(env):
    """`--port=abc`, `--port=70000`, `--port 5` (space) -> exit code 2."""
    cases = Cases(env)
    for name, argv in both(env):
        # Said the way a person would, not as CAF's parser_error(...).
        cases.usage_error(argv(port="abc"), "%s --port=abc" % name,
                          says="--port=abc: a port is 0-65535")
        cases.usage_error(argv(port="70000"), "%s --port=70000" % name,
                          says="--port=70000: a port is 0-65535")
        cases.usage_error(argv(port=None, extra=["--port", "5"]), "%s --port 5" % name,
                          says="options take --key=value: --port=VALUE")
    cases.done()


@e2e_test()
def test_cli_bad_writers(env):
    """`--writers` outside 1-64, or not a number -> exit code 2, one line."""
    cases = Cases(env)
    for bad in ("0", "65", "many", "-1"):  # 0: only the default means auto
        cases.usage_error(reference_argv(env.ref, 0, extra=["--bind=" + SAFE_BIND,
                                                             "--writers=" + bad]),
                          "reference --writers=" + bad)
    cases.usage_error(reference_argv(env.ref, 0, extra=["--bind=" + SAFE_BIND, "--writers=65"]),
                      "reference --writers=65 says why",
                      says="invalid value for 'writers': 65 (expected 1 to 64)")
    cases.done()


@e2e_test()
def test_cli_bad_content_workers(env):
    """`--content-workers` above 64, or not a number -> exit code 2, one
    line; 0 (the sender reads every file itself) is valid."""
    cases = Cases(env)
    nobody = env.dead_port()
    for bad in ("65", "many", "-1", "2.5"):
        cases.usage_error(watcher_argv(env.src, nobody, host=UNROUTABLE,
                                       extra=["--content-workers=" + bad]),
                          "watcher --content-workers=" + bad)
    cases.usage_error(watcher_argv(env.src, nobody, host=UNROUTABLE,
                                   extra=["--content-workers=65"]),
                      "watcher --content-workers=65 says why",
                      says="invalid value for 'content-workers': 65 (expected 0 to 64)")
    cases.done()


@e2e_test()
def test_cli_config_wrong_type(env):
    """A config file value of the wrong type (`port="5000"`, which CAF's INI
    parser drops silently) or out of range (`port=70000`) -> exit code 2."""
    cases = Cases(env)
    nobody = env.dead_port()
    rgood = 'root="%s"\nbind="%s"\n' % (env.ref, SAFE_BIND)
    wgood = 'root="%s"\nhost="%s"\n' % (env.src, UNROUTABLE)
    table = [
        ("reference", 'port="5000"', lambda cfg: reference_argv(None, None, extra=["--config-file=" + cfg]),
         rgood),
        ("reference", "port=70000", lambda cfg: reference_argv(None, None, extra=["--config-file=" + cfg]),
         rgood),
        ("watcher", 'port="%d"' % nobody, lambda cfg: watcher_argv(None, None, host=None, extra=["--config-file=" + cfg]),
         wgood),
        ("watcher", "port=70000", lambda cfg: watcher_argv(None, None, host=None, extra=["--config-file=" + cfg]),
         wgood),
        ("reference", 'writers="4"', lambda cfg: reference_argv(None, None, extra=["--config-file=" + cfg]),
         rgood),
        ("reference", "writers=0", lambda cfg: reference_argv(None, None, extra=["--config-file=" + cfg]),
         rgood),
        ("watcher", 'content-workers="2"', lambda cfg: watcher_argv(None, None, host=None, extra=["--config-file=" + cfg]),
         wgood),
        ("watcher", "content-workers=65", lambda cfg: watcher_argv(None, None, host=None, extra=["--config-file=" + cfg]),
         wgood),
    ]
    for i, (name, bad, make, good) in enumerate(table):
        cfg = os.path.join(env.base, "bad%d.ini" % i)
        write_file(cfg, "; e2e: one bad value\n" + good + bad + "\n")
        cases.usage_error(make(cfg), "%s with config file %s" % (name, bad))
    cases.done()


@e2e_test()
def test_cli_config_file(env):
    """Every option settable in an INI file given with --config-file=."""
    write_file(env.S("a.txt"), "from a config-file run\n")
    rcfg = os.path.join(env.base, "reference.ini")
    write_file(rcfg, '; reference\nroot="%s"\nport=0\nlog-level="debug"\n' % env.ref)
    env.start_reference(argv=reference_argv(None, None, log_level=None,
                                            extra=["--config-file=" + rcfg]))
    wcfg = os.path.join(env.base, "watcher.ini")
    write_file(wcfg, '; watcher\nroot="%s"\nhost="127.0.0.1"\nport=%d\nlog-level="debug"\n'
               % (env.src, env.reference.port))
    env.start_watcher(argv=watcher_argv(None, None, host=None, log_level=None,
                                        extra=["--config-file=" + wcfg]))
    env.wait_converged()
    write_file(env.S("b.txt"), "live\n")
    env.wait_converged()
    check(env.watcher.count(r"\bop-sent\b") > 0,
          "log-level=\"debug\" from the config file had no effect (no op-sent lines)")


@e2e_test()
def test_cli_missing_root(env):
    """No --root -> exit code 2 (run in a scratch cwd)."""
    cases = Cases(env)
    cases.usage_error(watcher_argv(None, env.dead_port(), host=UNROUTABLE),
                      "watcher without --root")
    cases.usage_error(reference_argv(None, 0, extra=["--bind=" + SAFE_BIND]),
                      "reference without --root")
    cases.done()


@e2e_test()
def test_cli_root_not_exist(env):
    """A watcher root that does not exist -> exit code 2 (and is not created)."""
    cases = Cases(env)
    nope = os.path.join(env.base, "does-not-exist")
    cases.usage_error(watcher_argv(nope, env.dead_port(), host=UNROUTABLE),
                      "watcher --root=<missing dir>")
    check(not os.path.exists(nope), "the watcher created its missing root")
    cases.done()


@e2e_test()
def test_cli_reference_creates_root(env):
    """The reference creates a missing root and mirrors into it."""
    check(not os.path.exists(env.ref), "ref exists already")
    env.start_reference()
    check(os.path.isdir(env.ref), "the reference did not create its root %s" % env.ref)
    write_file(env.S("x.txt"), "x\n")
    env.start_watcher()
    env.wait_converged()


@e2e_test()
def test_cli_port_zero(env):
    """`--port=0` reports the chosen port, which accepts connections; a
    fixed `--port=N` is reported as N."""
    ref = env.start_reference(port=0)
    check(1 <= ref.port <= 65535, "bad port %d" % ref.port)
    with socket.create_connection(("127.0.0.1", ref.port), timeout=2):
        pass
    fixed = free_port()
    ref2 = env.start_reference(root=os.path.join(env.base, "ref2"), port=fixed)
    check(ref2.port == fixed, "--port=%d reported port=%d" % (fixed, ref2.port))
    # A watcher reaches the first one by the reported port.
    env.reference = ref
    write_file(env.S("x.txt"), "x\n")
    env.start_watcher(port=ref.port)
    env.wait_converged()


@e2e_test()
def test_cli_signals(env):
    """SIGINT and SIGTERM each stop both programs within 1 s with exit 0:
    idle, busy, disconnected, and never connected."""
    write_file(env.S("a.txt"), "a\n")
    # 1: SIGINT, watcher first.
    env.start_pair()
    env.watcher.stop(signal.SIGINT)
    env.reference.stop(signal.SIGINT)
    # 2: SIGTERM, reference first (the watcher then runs disconnected).
    env.start_reference()
    env.start_watcher()
    env.reference.stop(signal.SIGTERM)
    settle(0.5)
    env.watcher.stop(signal.SIGTERM)
    # 3: while busy with a burst of files.
    env.start_reference()
    env.start_watcher()
    for i in range(2000):
        with open(env.S("busy%04d" % i), "wb") as f:
            f.write(b"busy\n" * 20)
    env.watcher.stop(signal.SIGINT)
    env.reference.stop(signal.SIGTERM)
    # 4: a watcher that never reached a reference.
    w = env.start_watcher(port=env.dead_port(), wait_sync=False)
    settle(0.5)
    w.check_alive()
    w.stop(signal.SIGTERM)
    w = env.start_watcher(port=env.dead_port(), wait_sync=False)
    settle(0.5)
    w.stop(signal.SIGINT)
