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
- with the containers' privileges (root only, with unshare and setpriv):
  the reference as uid 10001 without capabilities, PID 1 of its own PID
  namespace, where it stops on SIGTERM with exit code 0; the watcher as
  root with only CAP_DAC_READ_SEARCH on a read-only bind mount of its tree,
  which holds a file only that capability lets it read.
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


def healthcheck(role, pid, prefix=()):
    p = subprocess.run(list(prefix) + ["bash", HEALTHCHECK, role, str(pid)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
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


# The compose file's privileges: the reference as uid 10001 without any
# capability, the watcher as root with only CAP_DAC_READ_SEARCH on a tree
# mounted read-only.
REFERENCE_UID = 10001
# A watcher in its own mount namespace whose tree ($1) is a read-only bind
# mount of itself; the rest of the arguments is the command it execs.
RO_TREE = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'


def child_pid(node):
    """The one child of `unshare --fork` (the program, PID 1 inside)."""
    children = []
    for tid in os.listdir("/proc/%d/task" % node.proc.pid):
        with open("/proc/%d/task/%s/children" % (node.proc.pid, tid)) as f:
            children += [int(c) for c in f.read().split()]
    check(len(children) == 1, "unshare has children %s" % children)
    return children[0]


def test_container(env, certs):
    """Both nodes with the containers' privileges; the reference as PID 1 of
    its own PID namespace stops on SIGTERM with exit code 0."""
    tools = {t: shutil.which(t) for t in ("unshare", "setpriv", "mount")}
    if os.geteuid() != 0 or not all(tools.values()):
        log("not root, or no unshare/setpriv/mount: container privileges not checked")
        return False
    # What the README has the user do: the reference's key readable by its uid.
    os.chown(os.path.join(certs, "reference.key"), REFERENCE_UID, REFERENCE_UID)
    os.chmod(env.base, 0o711)
    os.mkdir(env.ref, 0o750)
    os.chown(env.ref, REFERENCE_UID, REFERENCE_UID)
    # Only CAP_DAC_READ_SEARCH lets the watcher read this one.
    harness.write_file(env.S("private", "secret.bin"), b"mode 000\n", mode=0o000)
    os.chmod(env.S("private"), 0o700)
    os.chown(env.S("private"), 12345, 12345)
    as_reference = [tools["setpriv"], "--reuid=%d" % REFERENCE_UID,
                    "--regid=%d" % REFERENCE_UID, "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all"]
    as_watcher = [tools["setpriv"], "--inh-caps=-all", "--bounding-set=-all,+dac_read_search"]
    ref = env.start_reference(argv=entrypoint_argv(
        "reference", prefix=[tools["unshare"], "--pid", "--fork"] + as_reference,
        **node_vars(env, "reference", certs, LIVESYNC_BIND=harness.LOOPBACK,
                    LIVESYNC_PORT="0")))
    ref.stopped = True  # stopped below: the signal goes to the program, not unshare
    pid = child_pid(ref)
    with open("/proc/%d/status" % pid) as f:
        status = dict(l.split(":", 1) for l in f)
    check(status["NSpid"].split()[-1] == "1", "the reference is not PID 1: %s" % status["NSpid"])
    check(status["Uid"].split()[1] == str(REFERENCE_UID), "reference uid %s" % status["Uid"])
    check(int(status["CapEff"], 16) == 0, "reference capabilities %s" % status["CapEff"])
    # The health check runs in the container as its user, with its privileges.
    check(healthcheck("reference", pid, as_reference) == 0, "PID 1 reference unhealthy")
    wat = env.start_watcher(argv=entrypoint_argv(
        "watcher", prefix=[tools["unshare"], "--mount", "sh", "-c", RO_TREE, "sh", env.src]
        + as_watcher,
        **node_vars(env, "watcher", certs, LIVESYNC_HOST=harness.LOOPBACK,
                    LIVESYNC_PORT=str(ref.port))))
    with open("/proc/%d/status" % wat.proc.pid) as f:
        caps = [l.split()[1] for l in f if l.startswith("CapEff:")][0]
    check(int(caps, 16) == 1 << 2, "watcher capabilities %s, expected DAC_READ_SEARCH" % caps)
    with open("/proc/%d/mountinfo" % wat.proc.pid) as f:
        tree = [l.split() for l in f if l.split()[4] == env.src]
    check(tree and "ro" in tree[-1][5].split(","), "the watcher's tree is not read-only: %s" % tree)
    env.wait_converged(timeout=20.0, what="sync with the containers' privileges")
    harness.write_file(env.S("after.txt"), b"live\n")
    env.wait_converged(timeout=20.0, what="a live change")
    check(healthcheck("watcher", wat.proc.pid, as_watcher) == 0, "connected watcher unhealthy")
    t0 = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    rc = ref.proc.wait(timeout=5)  # unshare --fork exits with the child's status
    log("PID 1 reference exited with %d %.3f s after SIGTERM" % (rc, time.monotonic() - t0))
    check(rc == 0, "the reference as PID 1 exited with %d after SIGTERM (expected 0)" % rc)
    wat.stop()
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
        privileged = test_container(env, certs)
        ok = True
        print("PASS: docker.entrypoints%s"
              % ("" if privileged else " (container privileges and PID 1 not checked)"),
              flush=True)
        return 0
    except harness.Failure as e:
        print("FAIL: docker.entrypoints: %s" % e, flush=True)
        return 1
    finally:
        if not ok:
            env.print_tails()
        env.close()
