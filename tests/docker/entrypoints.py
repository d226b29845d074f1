"""docker.entrypoints: the containers' start-up path without a container.

The real programs through docker/entrypoint-{reference,watcher}.sh with the
containers' INI files (docker/*.ini) and mutual TLS, on loopback in a temp
dir (the e2e harness), the INI's paths overridden through the entrypoints'
variables as the two-host tests do:
- bad input (a missing INI file, a certificate directory without the
  node's key, no program in LIVESYNC_BIN_DIR) is one line on stderr, exit
  code 2, and nothing started;
- the pair mirrors a tree over TLS (tls=true on both sides), and
  docker/healthcheck.sh finds both healthy, then the watcher unhealthy once
  the reference is gone;
- as PID 1 of its own PID namespace (as in a container; root only, with
  `unshare`), the reference stops on SIGTERM with exit code 0.
"""

import os
import shutil
import signal
import subprocess
import time

import harness
from harness import check, log

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKER = os.path.join(REPO, "docker")
HEALTHCHECK = os.path.join(DOCKER, "healthcheck.sh")
MAKE_CERTS = os.path.join(REPO, "scripts", "make-certs.sh")


def entrypoint_argv(role, prefix=(), **variables):
    """`env -i PATH=... VAR=value ... [prefix] docker/entrypoint-ROLE.sh`: the
    environment of a container: only what is given."""
    argv = ["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"]
    argv += ["%s=%s" % kv for kv in sorted(variables.items())]
    return argv + list(prefix) + [os.path.join(DOCKER, "entrypoint-%s.sh" % role),
                                  "--log-level=debug"]


def node_vars(env, role, certs, **extra):
    v = {"LIVESYNC_CONFIG": os.path.join(DOCKER, role + ".ini"),
         "LIVESYNC_CERT_DIR": certs,
         "LIVESYNC_BIN_DIR": harness.bin_dir(),
         "LIVESYNC_ROOT": env.ref if role == "reference" else env.src}
    v.update(extra)
    return v


def healthcheck(role, pid):
    p = subprocess.run(["bash", HEALTHCHECK, role, str(pid)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=10)
    log("healthcheck.sh %s %d: exit %d: %s" % (role, pid, p.returncode,
                                              p.stdout.decode().strip()))
    return p.returncode


def check_refused(env, what, argv):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=15, cwd=env.base)
    err = p.stderr.decode().strip()
    log("%s: exit %d: %s" % (what, p.returncode, err))
    check(p.returncode == 2, "%s: exit code %d, expected 2 (stderr: %s)"
          % (what, p.returncode, err))
    check(len(err.splitlines()) == 1, "%s: expected one line on stderr, got: %r" % (what, err))
    check(not os.path.exists(env.ref), "%s: the reference root was created" % what)


def test_refusals(env, certs):
    check_refused(env, "missing INI file", entrypoint_argv(
        "reference", **node_vars(env, "reference", certs,
                                 LIVESYNC_CONFIG=os.path.join(env.base, "nope.ini"))))
    partial = os.path.join(env.base, "partial-certs")
    os.mkdir(partial)
    for f in ("ca.pem", "reference.pem"):
        shutil.copy(os.path.join(certs, f), partial)
    check_refused(env, "certificate directory without reference.key", entrypoint_argv(
        "reference", **node_vars(env, "reference", partial)))
    check_refused(env, "no program in LIVESYNC_BIN_DIR", entrypoint_argv(
        "watcher", **node_vars(env, "watcher", certs, LIVESYNC_BIN_DIR=env.outside,
                               LIVESYNC_HOST=harness.LOOPBACK, LIVESYNC_PORT="1")))


def test_pair(env, certs):
    harness.fill_tree(env.src, files=30, size=200, seed=61)
    ref = env.start_reference(argv=entrypoint_argv("reference", **node_vars(
        env, "reference", certs, LIVESYNC_BIND=harness.LOOPBACK, LIVESYNC_PORT="0")))
    check("tls=true" in ref.matching(harness.LISTENING_RE)[0],
          "the reference does not listen with TLS: %s" % ref.matching(harness.LISTENING_RE))
    check(healthcheck("reference", ref.proc.pid) == 0, "listening reference unhealthy")
    wat = env.start_watcher(argv=entrypoint_argv("watcher", **node_vars(
        env, "watcher", certs, LIVESYNC_HOST=harness.LOOPBACK, LIVESYNC_PORT=str(ref.port))))
    env.wait_converged(timeout=20.0, what="initial sync through the entrypoints")
    check(wat.count(r"\btls=true\b") >= 1, "the watcher did not connect with TLS")
    check(healthcheck("watcher", wat.proc.pid) == 0, "connected watcher unhealthy")
    harness.write_file(env.S("live.txt"), b"through the container entrypoints\n")
    env.wait_converged(timeout=20.0, what="a live change")
    # The watcher's health follows its link: with the reference gone (its
    # port closed, so reconnects are refused) it is unhealthy.
    wm = wat.mark()
    ref.stop()
    wat.wait_line(r"\bpeer-lost\b", timeout=10.0, since=wm, what="peer-lost")
    check(healthcheck("watcher", wat.proc.pid) == 1, "watcher healthy without a reference")
    check(healthcheck("reference", ref.proc.pid) == 1, "a stopped reference is healthy")
    wat.stop()


def test_pid1(env, certs):
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or not unshare:
        log("not root or no unshare: PID 1 check skipped")
        return False
    ref = env.spawn("reference", entrypoint_argv(
        "reference", prefix=[unshare, "--pid", "--fork"],
        **node_vars(env, "reference", certs, LIVESYNC_BIND=harness.LOOPBACK,
                    LIVESYNC_PORT="0")))
    ref.wait_line(harness.LISTENING_RE, timeout=15.0, what="listening line (PID 1)")
    ref.stopped = True  # stopped here: the signal goes to the program, not unshare
    children = []
    for tid in os.listdir("/proc/%d/task" % ref.proc.pid):
        with open("/proc/%d/task/%s/children" % (ref.proc.pid, tid)) as f:
            children += [int(c) for c in f.read().split()]
    check(len(children) == 1, "unshare has children %s" % children)
    with open("/proc/%d/status" % children[0]) as f:
        nspid = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
    check(nspid[-1] == "1", "the reference is not PID 1 in its namespace: NSpid %s" % nspid)
    check(healthcheck("reference", children[0]) == 0, "PID 1 reference unhealthy")
    t0 = time.monotonic()
    os.kill(children[0], signal.SIGTERM)
    rc = ref.proc.wait(timeout=5)  # unshare --fork exits with the child's status
    log("PID 1 reference exited with %d %.3f s after SIGTERM" % (rc, time.monotonic() - t0))
    check(rc == 0, "the reference as PID 1 exited with %d after SIGTERM (expected 0)" % rc)
    return True


def run(bin_dir):
    harness.set_bin_dir(bin_dir)
    env = harness.Env("docker-entrypoints")
    ok = False
    try:
        certs = os.path.join(env.base, "certs")
        subprocess.run(["bash", MAKE_CERTS, certs], check=True, stdout=subprocess.DEVNULL,
                       timeout=30)
        test_refusals(env, certs)
        test_pair(env, certs)
        shutil.rmtree(env.ref)
        pid1 = test_pid1(env, certs)
        ok = True
        print("PASS: docker.entrypoints%s" % ("" if pid1 else " (PID 1 check skipped)"),
              flush=True)
        return 0
    except harness.Failure as e:
        print("FAIL: docker.entrypoints: %s" % e, flush=True)
        return 1
    finally:
        if not ok:
            env.print_tails()
        env.close()
