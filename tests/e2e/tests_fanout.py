"""E2E: one watched tree, several references (issue 15, --references).
Each reference has its own link: one killed in the middle of a burst
holds back neither the others nor a flush of them, and when it returns it
gets what it missed, not what it already had."""

import json
import os
import re
import signal

from harness import (LOOPBACK, check, diff_trees, e2e_test, log, watcher_argv,
                     write_file)
from tests_control import command, control_port, flush

APPLIED_WRITE_RE = re.compile(r"op-applied kind=write_file path=(\S+)")


def references_option(refs):
    return "--references=[%s]" % ", ".join(
        '"%s:%d"' % (LOOPBACK, r.port) for r in refs)


def start_references(env, n):
    refs = []
    for i in range(n):
        refs.append(env.start_reference(root=os.path.join(env.base, "ref%d" % i)))
    return refs


def root_of(env, i):
    return os.path.join(env.base, "ref%d" % i)


def wait_identical(env, i, timeout=30.0):
    import time
    deadline = time.monotonic() + timeout
    while True:
        d = diff_trees(env.src, root_of(env, i), limit=5)
        if not d:
            return
        env.check_nodes_alive()
        check(time.monotonic() < deadline,
              "reference %d not identical after %.0f s:\n  %s"
              % (i, timeout, "\n  ".join(d)))
        time.sleep(0.05)


@e2e_test(timeout=60)
def test_large_file_chunked_once_for_three_references(env):
    """Issue 15: a large file changed while three references are connected
    is read, chunked and hashed once (the senders share its chunk list;
    status counts it), and each reference gets its own delta: all three end
    identical."""
    big = env.S("big")
    write_file(big, os.urandom(6 << 20))
    refs = start_references(env, 3)
    env.start_watcher(argv=watcher_argv(env.src, None, host=None,
                                        extra=[references_option(refs)]),
                      wait_sync=False)
    env.watcher.wait_in_sync(3)
    port = control_port(env)

    def chunk_counts():
        rc, out, err = command(env, "status", "--control-port=%d" % port, "--json")
        check(rc == 0, "status: rc=%s err=%r" % (rc, err))
        st = json.loads(out)
        return (sum(s["chunked_files"] for s in st),
                sum(s["shared_chunk_lists"] for s in st),
                sum(s["copied_bytes"] for s in st))

    # The initial sync sent it to all three, chunked once.
    chunked, shared, _ = chunk_counts()
    check((chunked, shared) == (1, 2), "initial sync: chunked=%d shared=%d" % (chunked, shared))
    with open(big, "r+b") as f:  # edited in place
        f.seek(3 << 20)
        f.write(b"edited " * 1000)
    for i in range(3):
        wait_identical(env, i)
    rc, out, err = flush(env, port, "--timeout=30s", timeout=40)
    check(rc == 0, "flush: rc=%s out=%r err=%r" % (rc, out, err))
    chunked, shared, copied = chunk_counts()
    check((chunked, shared) == (2, 4), "after the edit: chunked=%d shared=%d" % (chunked, shared))
    # Each reference got a delta: most of the file copied from its own copy.
    check(copied > 3 * (5 << 20), "copied bytes over the three links: %d" % copied)


@e2e_test(timeout=120)
def test_three_references_one_killed_mid_burst(env):
    """Three references; one is killed in a burst of 1,500 files. Flush
    returns for the other two (identical then) and names the dead one;
    restarted, it catches up with only the files it lacked; flush of one
    reference and verify of all three pass."""
    for i in range(20):
        write_file(env.S("before", "f%d" % i), b"before %d" % i)
    refs = start_references(env, 3)
    env.start_watcher(argv=watcher_argv(env.src, None, host=None,
                                        extra=[references_option(refs)]),
                      wait_sync=False)
    env.watcher.wait_in_sync(3)
    for i in range(3):
        wait_identical(env, i)
    port = control_port(env)
    # A burst; reference 1 dies (SIGKILL, nothing flushed) half way.
    victim_port = refs[1].port
    for i in range(1500):
        write_file(env.S("burst", "d%d" % (i % 30), "f%d" % i), b"burst %d " % i * 20)
        if i == 700:
            refs[1].kill()
    # The others are not held back: flush returns for them, and names the
    # one that is away.
    rc, out, err = flush(env, port, "--timeout=30s", timeout=40)
    check(rc == 1 and "not flushed: %s:%d is not connected" % (LOOPBACK, victim_port) in out,
          "flush with one reference dead: rc=%s out=%r err=%r" % (rc, out, err))
    for i in (0, 2):
        d = diff_trees(env.src, root_of(env, i), limit=5)
        check(not d, "reference %d differs right after flush:\n  %s" % (i, "\n  ".join(d)))
    # Its status says so; the others are in sync.
    rc, out, err = command(env, "status", "--control-port=%d" % port, "--json")
    check(rc == 0, "status: rc=%s err=%r" % (rc, err))
    states = {s["reference"]: s["state"] for s in json.loads(out)}
    owed = {s["reference"]: s["pending_paths"] for s in json.loads(out)}
    log("states while one is away: %r, pending paths %r" % (states, owed))
    victim = "%s:%d" % (LOOPBACK, victim_port)
    check(states[victim] in ("disconnected", "connecting"),
          "status of the dead reference: %r" % states)
    # What it owes is its own backlog: the paths written since it died.
    check(owed[victim] > 0 and all(v == 0 for k, v in owed.items() if k != victim),
          "pending paths per reference: %r" % owed)
    # What the dead one holds now is not sent again when it returns.
    missing = set(p for p in diff_trees(env.src, root_of(env, 1), limit=100000))
    have = 0
    for dirpath, _, files in os.walk(root_of(env, 1)):
        have += sum(1 for f in files if not f.startswith("."))
    back = env.start_reference(root=root_of(env, 1), port=victim_port)
    wait_identical(env, 1, timeout=60)
    rc, out, err = flush(env, port, "--timeout=30s", timeout=40)
    check(rc == 0, "flush after it came back: rc=%s out=%r err=%r" % (rc, out, err))
    written = len(back.matching(APPLIED_WRITE_RE))
    log("reference 1 held %d files at its restart, %d differences; it was "
        "sent %d whole files after" % (have, len(missing), written))
    check(written <= len(missing),
          "the restarted reference got %d files written, but only %d paths "
          "differed: content it had was sent again" % (written, len(missing)))
    # flush of one reference, and verify of each.
    rc, out, err = flush(env, port, "--reference=%s:%d" % (LOOPBACK, refs[0].port))
    check(rc == 0 and "not flushed" not in out, "flush of one: rc=%s out=%r" % (rc, out))
    rc, out, err = command(env, "verify", "--root=%s" % env.src,
                           references_option([refs[0], back, refs[2]]),
                           timeout=60)
    check(rc == 0 and out.count("reference %s:" % LOOPBACK) == 3,
          "verify of three: rc=%s out=%r err=%r" % (rc, out, err))


@e2e_test()
def test_references_option_errors(env):
    """One clear line and exit 2 for an empty list, a name given twice, a
    malformed entry, or --references together with --host/--port."""
    cases = [
        (["--references=[]"], "empty"),
        (['--references=["a:1", "b:2", "a:1"]'], "named twice"),
        (['--references=["a:1", "b"]'], "has no port"),
        (['--references=["a:70000"]'], "1 to 65535"),
        (['--references=["a:1"]', "--port=5"], "replaces --host and --port"),
    ]
    for extra, want in cases:
        rc, _, err = env.run_cli(watcher_argv(env.src, None, host=None, extra=extra))
        check(rc == 2 and want in err and len(err.strip().splitlines()) == 1,
              "%s: rc=%r stderr=%r" % (extra, rc, err))
    # A config file with both is a mistake; the command line's references
    # replace the file's host and port (the command line wins).
    both = os.path.join(env.base, "both.ini")
    with open(both, "w") as f:
        f.write('host="127.0.0.1"\nport=%d\nreferences=["127.0.0.1:%d"]\n'
                % (env.dead_port(), env.dead_port()))
    rc, _, err = env.run_cli(watcher_argv(env.src, None, host=None,
                                          extra=["--config-file=" + both]))
    check(rc == 2 and "references replaces host and port" in err,
          "INI with both: rc=%r stderr=%r" % (rc, err))
    one = os.path.join(env.base, "one.ini")
    with open(one, "w") as f:
        f.write('host="127.0.0.1"\nport=%d\n' % env.dead_port())
    rc, _, err = env.run_cli(watcher_argv(
        env.src, None, host=None,
        extra=["--config-file=" + one,
               '--references=["127.0.0.1:%d", "127.0.0.1:%d"]'
               % (env.dead_port(), env.dead_port())]), timeout=2.0)
    check(rc is None, "--references over an INI's host/port: rc=%r stderr=%r"
          % (rc, err))
