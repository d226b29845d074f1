"""E2E: the watcher's commands (issue 6, "Seeing what it does"): `flush`
returns once every change made before it is committed on the reference,
`status` shows state, counters and latency, `verify` compares both trees by
content hash and names every difference; progress lines while comparing."""

import json
import os
import re
import subprocess

from harness import (COMMON_ARGS, WATCHER, binary, check, e2e_test, log,
                     random_bytes, write_file)

CONTROL_RE = re.compile(r"control-listening bind=\S+ port=(\d+)")


def control_port(env):
    line = env.watcher.wait_line(CONTROL_RE, what="control-listening line")
    return int(CONTROL_RE.search(line).group(1))


def command(env, name, *args, timeout=20.0):
    argv = [binary(WATCHER), name] + COMMON_ARGS + list(args)
    return env.run_cli(argv, timeout=timeout, name=name)


def flush(env, port, *args, timeout=20.0):
    return command(env, "flush", "--control-port=%d" % port, *args,
                   timeout=timeout)


def verify(env, *args):
    return command(env, "verify", "--root=%s" % env.src,
                   "--port=%d" % env.reference.port, *args)


def identical_now(env, what):
    d = env.diff(limit=5, full=True)
    check(not d, "%s: trees differ right after flush returned:\n  %s"
          % (what, "\n  ".join(d)))


@e2e_test(timeout=90)
def test_flush_barrier(env):
    """Each kind of change, then flush at once (no sleep): when flush
    returns, the reference is identical, every time. The debounce window
    is 3 s, so only the barrier can have sent the change that soon."""
    env.start_reference()
    env.start_watcher(extra=["--debounce=3s", "--max-delay=6s"])
    port = control_port(env)
    steps = [
        ("create", lambda i: write_file(env.S("f%d" % i), b"x" * i)),
        ("append", lambda i: open(env.S("f%d" % (i - 1)), "ab").write(b"more")),
        ("mkdir+file", lambda i: write_file(env.S("d%d" % i, "sub", "g"), b"g")),
        ("rename", lambda i: os.rename(env.S("d%d" % (i - 1)), env.S("r%d" % i))),
        ("chmod", lambda i: os.chmod(env.S("f%d" % (i - 4)), 0o600)),
        ("delete", lambda i: os.remove(env.S("f%d" % (i - 5)))),
        ("large", lambda i: write_file(env.S("big%d" % i), random_bytes(3 << 20, i))),
    ]
    i = 0
    for rnd in range(4):
        for name, fn in steps:
            i += 1
            fn(i)
            rc, out, err = flush(env, port)
            check(rc == 0 and "flushed in" in out,
                  "flush after %s: rc=%s out=%r err=%r" % (name, rc, out, err))
            identical_now(env, "%s (round %d)" % (name, rnd))


@e2e_test(timeout=90)
def test_flush_waits_for_the_reference(env):
    """With the reference down, flush does not claim success: it times out
    (exit 1). Once the reference is back, flush returns and the trees are
    identical."""
    env.start_pair()
    port = control_port(env)
    ref_port = env.reference.port
    env.reference.stop()
    write_file(env.S("while-down"), b"written while the reference was down")
    rc, out, err = flush(env, port, "--timeout=2s", timeout=10)
    check(rc == 1, "flush with the reference down: rc=%s out=%r" % (rc, out))
    check("flush" in err, "no reason given: %r" % err)
    env.start_reference(port=ref_port)
    rc, out, err = flush(env, port, "--timeout=30s", timeout=40)
    check(rc == 0, "flush after the reference came back: rc=%s err=%r" % (rc, err))
    identical_now(env, "after reconnect")


@e2e_test()
def test_status(env):
    """status prints state, link, counters and latency; --json the same as
    one object; a stopped reference shows as not in sync, with the error."""
    env.start_pair()
    port = control_port(env)
    write_file(env.S("a"), b"hello")
    rc, _, _ = flush(env, port)
    check(rc == 0, "flush failed")
    rc, out, err = command(env, "status", "--control-port=%d" % port)
    check(rc == 0, "status: rc=%s err=%r" % (rc, err))
    for want in ("state: in-sync", "reference: 127.0.0.1:%d (plain TCP)"
                 % env.reference.port, "last error: none", "latency: p50"):
        check(want in out, "status lacks %r:\n%s" % (want, out))
    rc, out, err = command(env, "status", "--control-port=%d" % port, "--json")
    check(rc == 0, "status --json: rc=%s err=%r" % (rc, err))
    s = json.loads(out)
    check(s["state"] == "in-sync" and s["files"] >= 1 and s["ops"] >= 1,
          "unexpected status: %r" % s)
    check(s["latency_samples"] >= 1 and 0 < s["latency_p50_us"] < 5e6,
          "no latency measured: %r" % s)
    env.reference.stop()
    env.watcher.wait_line(r"peer-lost", what="peer-lost")
    rc, out, err = command(env, "status", "--control-port=%d" % port, "--json")
    s = json.loads(out)
    check(s["state"] in ("disconnected", "connecting"), "state %r" % s["state"])
    check(s["last_error"], "no last error while the reference is down")


@e2e_test()
def test_verify(env):
    """verify exits 0 on identical trees and 1 with every difference named:
    content changed behind the watcher's back (same size and mtime), an
    extra file, a mode; excluded paths on the reference are not reported."""
    write_file(env.S("same"), b"same content")
    write_file(env.S("big"), random_bytes(1 << 20, 3))
    write_file(env.S("sub", "x"), b"x")
    env.start_reference()
    env.start_watcher(extra=["--exclude=[\"build/\"]"])
    env.wait_converged()
    rc, out, err = verify(env, "--exclude=[\"build/\"]")
    check(rc == 0 and "0 difference(s)" in out, "identical: rc=%s out=%r err=%r"
          % (rc, out, err))
    env.watcher.stop()  # nothing repairs what we break below
    st = os.stat(env.R("big"))
    with open(env.R("big"), "r+b") as f:
        f.seek(1000)
        f.write(b"corrupt")
    os.utime(env.R("big"), ns=(st.st_atime_ns, st.st_mtime_ns))
    write_file(env.R("extra"), b"stale")
    write_file(env.R("build", "out.o"), b"excluded, kept on the reference")
    os.chmod(env.R("sub", "x"), 0o600)
    rc, out, err = verify(env, "--exclude=[\"build/\"]")
    log(out)
    check(rc == 1, "differences: rc=%s err=%r" % (rc, err))
    for want in ("differs path=big what=content",
                 "differs path=extra what=only on reference",
                 "differs path=sub/x what=mode 0644/0600",
                 "3 difference(s)"):
        check(want in out, "verify lacks %r:\n%s" % (want, out))
    check("build" not in out, "an excluded path was reported:\n%s" % out)


@e2e_test()
def test_progress_lines(env):
    """An initial sync logs progress lines (files, bytes, rate, eta)."""
    write_file(env.S("big"), random_bytes(24 << 20, 5))
    for i in range(200):
        write_file(env.S("small", "f%d" % i), b"s" * 100)
    env.start_reference()
    env.start_watcher(extra=["--progress-interval=20ms"])
    env.wait_converged(timeout=60)
    lines = env.watcher.matching(r"progress files \d+/\d+ bytes .* eta ")
    check(lines, "no progress line during the initial sync")


@e2e_test()
def test_command_errors(env):
    """Commands fail clearly: nothing listening (exit 3), missing options
    (exit 2), an unknown command (exit 2)."""
    dead = env.dead_port()
    rc, _, err = command(env, "flush", "--control-port=%d" % dead, "--timeout=3s")
    check(rc == 3 and "cannot reach" in err, "flush, no watcher: rc=%s err=%r" % (rc, err))
    rc, _, err = command(env, "status", "--control-port=%d" % dead, "--timeout=3s")
    check(rc == 3 and "cannot reach" in err, "status, no watcher: rc=%s err=%r" % (rc, err))
    rc, _, err = command(env, "verify", "--port=%d" % dead)
    check(rc == 2 and "--root" in err, "verify without root: rc=%s err=%r" % (rc, err))
    rc, _, err = command(env, "verify", "--root=%s" % env.src, "--port=%d" % dead,
                         "--timeout=3s")
    check(rc == 3, "verify, no reference: rc=%s err=%r" % (rc, err))
    rc, _, err = command(env, "status", "--control-port=0")
    check(rc == 2 and "control-port" in err, "status port 0: rc=%s err=%r" % (rc, err))
    rc, _, err = command(env, "flush", "--timeout=0s", "--control-port=1")
    check(rc == 2 and "timeout" in err, "flush timeout 0: rc=%s err=%r" % (rc, err))
    argv = [binary(WATCHER), "bogus"] + COMMON_ARGS
    rc, _, err = env.run_cli(argv, name="bogus")
    check(rc == 2 and "bogus" in err, "unknown command: rc=%s err=%r" % (rc, err))


@e2e_test(timeout=90)
def test_flush_pending_is_bounded(env):
    """Each flush waits for the reference however long it is away: at most
    32 wait at once (a local client looping on flush must not grow the
    watcher); the next one is refused at once, and the waiting ones return
    when the reference is back."""
    env.start_pair()
    port = control_port(env)
    ref_port = env.reference.port
    env.reference.stop()
    write_file(env.S("while-down"), b"written while the reference was down")
    argv = [binary(WATCHER), "flush", "--control-port=%d" % port,
            "--timeout=60s"] + COMMON_ARGS
    waiting = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(32)]
    try:
        env.watcher.wait_line(r"flush-requested id=32\b", timeout=30,
                              what="32 flushes waiting")
        rc, out, err = flush(env, port, "--timeout=10s", timeout=20)
        check(rc == 1 and "too many flushes pending (32)" in err,
              "the 33rd flush: rc=%s err=%r" % (rc, err))
        env.start_reference(port=ref_port)
        rcs = [p.wait(timeout=60) for p in waiting]
        check(rcs == [0] * 32, "the waiting flushes returned %s" % rcs)
    finally:
        for p in waiting:
            if p.poll() is None:
                p.kill()
                p.wait()
    identical_now(env, "after the flushes")
