"""E2E: the command-line contract (issue 2, "The two programs")."""

import os
import signal
import socket
import time

from harness import (Failure, LISTENING_RE, check, e2e_test, free_port, log,
                     reference_argv, settle, watcher_argv, write_file)


def expect_usage_error(env, argv, what):
    """Exit code 2, promptly, with a one-line error on stderr or stdout."""
    rc, out, err = env.run_cli(argv, timeout=5)
    check(rc is not None, "%s: still running after 5 s (killed); expected exit code 2" % what)
    lines = [l for l in (out + err).splitlines() if l.strip()]
    check(rc == 2, "%s: exit code %s, expected 2 (output: %r)" % (what, rc, lines[-5:]))
    check(len(lines) == 1, "%s: expected a one-line error, got %d lines: %r"
          % (what, len(lines), lines[:10]))
    log("%s: exit 2, %r" % (what, lines[0]))


def both(env):
    """Otherwise valid command lines of both programs, as a function of the
    options to replace: (name, make_argv(**overrides))."""
    nobody = free_port()  # nothing listens there

    def ref(root=env.ref, port=0, extra=()):
        return reference_argv(root, port, extra=extra)

    def wat(root=env.src, port=nobody, extra=()):
        return watcher_argv(root, port, extra=extra)

    return [("reference", ref), ("watcher", wat)]


@e2e_test()
def test_cli_unknown_option(env):
    """`--bogus=1` -> exit code 2 and a one-line error (both programs)."""
    for name, argv in both(env):
        expect_usage_error(env, argv(extra=["--bogus=1"]), "%s --bogus=1" % name)


@e2e_test()
def test_cli_bad_port(env):
    """`--port=abc`, `--port=70000`, `--port 5` (space) -> exit code 2."""
    for name, argv in both(env):
        expect_usage_error(env, argv(port="abc"), "%s --port=abc" % name)
        expect_usage_error(env, argv(port="70000"), "%s --port=70000" % name)
        expect_usage_error(env, argv(port=None, extra=["--port", "5"]), "%s --port 5" % name)


@e2e_test()
def test_cli_config_wrong_type(env):
    """A config file value of the wrong type (`port="5000"`, which CAF's INI
    parser drops silently) or out of range (`port=70000`) -> exit code 2."""
    nobody = free_port()
    cases = [
        ("reference", 'port="5000"', lambda cfg: reference_argv(None, None, extra=["--config-file=" + cfg]),
         'root="%s"\n' % env.ref),
        ("reference", "port=70000", lambda cfg: reference_argv(None, None, extra=["--config-file=" + cfg]),
         'root="%s"\n' % env.ref),
        ("watcher", 'port="%d"' % nobody, lambda cfg: watcher_argv(None, None, host=None, extra=["--config-file=" + cfg]),
         'root="%s"\nhost="127.0.0.1"\n' % env.src),
        ("watcher", "port=70000", lambda cfg: watcher_argv(None, None, host=None, extra=["--config-file=" + cfg]),
         'root="%s"\nhost="127.0.0.1"\n' % env.src),
    ]
    for i, (name, bad, make, good) in enumerate(cases):
        cfg = os.path.join(env.base, "bad%d.ini" % i)
        write_file(cfg, "; e2e: one bad value\n" + good + bad + "\n")
        expect_usage_error(env, make(cfg), "%s with config file %s" % (name, bad))


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
    expect_usage_error(env, watcher_argv(None, free_port()), "watcher without --root")
    expect_usage_error(env, reference_argv(None, 0), "reference without --root")


@e2e_test()
def test_cli_root_not_exist(env):
    """A watcher root that does not exist -> exit code 2 (and is not created)."""
    nope = os.path.join(env.base, "does-not-exist")
    expect_usage_error(env, watcher_argv(nope, free_port()), "watcher --root=<missing dir>")
    check(not os.path.exists(nope), "the watcher created its missing root")


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
    w = env.start_watcher(port=free_port(), wait_sync=False)
    settle(0.5)
    w.check_alive()
    w.stop(signal.SIGTERM)
    w = env.start_watcher(port=free_port(), wait_sync=False)
    settle(0.5)
    w.stop(signal.SIGINT)
