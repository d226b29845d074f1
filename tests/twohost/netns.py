"""Two-host harness for livesync: two network namespaces joined by a veth pair.

Standard library only. The reference runs in one namespace ("host" A,
198.19.N.1), the watcher in the other (host B, 198.19.N.2); both see the
same filesystem, so the trees are compared directly with the end-to-end
harness (tests/e2e/harness.py: Env, Node, diff_trees, fill_tree, ...),
which this module imports rather than copies.

    net = TwoHosts()            # raises Skip when namespaces cannot be made
    try:
        net.up()
        env = harness.Env("twohost-NAME")
        ref = start_reference(env, net)
        wat = start_watcher(env, net, ref.port)
        ...
    finally:
        env.close(); net.down()

Both nodes start through the container entrypoints
(docker/entrypoint-{reference,watcher}.sh) with the containers' INI files
(docker/{reference,watcher}.ini) and mutual TLS (certificates from
scripts/make-certs.sh in the test's temp dir), so the start-up path under
test is the shipped one; `--insecure` (run.py) runs them over plain TCP
instead. The INI's paths are overridden through the entrypoints'
variables (LIVESYNC_ROOT, LIVESYNC_BIND, ...). Both nodes run with CAF
heartbeats so that a dead link is detected (CAF-0.17.md section 3):
HEARTBEAT_ARGS. docker/healthcheck.sh, the containers' health check, is
run against the nodes too (healthy()).

Needs root (CAP_SYS_ADMIN + CAP_NET_ADMIN) and iproute2 (`ip`, and `tc` for
the netem test). Anything missing is a Skip, which run.py turns into
"SKIP: <reason>" and exit code 77 (CTest: SKIP_RETURN_CODE 77).
"""

import datetime
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "e2e"))

import harness  # noqa: E402  (tests/e2e/harness.py)

REPO = os.path.dirname(os.path.dirname(HERE))
DOCKER = os.path.join(REPO, "docker")
MAKE_CERTS = os.path.join(REPO, "scripts", "make-certs.sh")
HEALTHCHECK = os.path.join(DOCKER, "healthcheck.sh")
# Every variable the entrypoints read; those a node is not given are unset,
# so that the runner's own environment cannot change a test.
ENTRYPOINT_VARS = ("LIVESYNC_CONFIG", "LIVESYNC_CERT_DIR", "LIVESYNC_ROOT",
                   "LIVESYNC_PORT", "LIVESYNC_BIND", "LIVESYNC_HOST",
                   "LIVESYNC_BIN_DIR")

# Plain TCP instead of mutual TLS (run.py --insecure).
INSECURE = False

TLS_RE = re.compile(r"\btls=(true|false)\b")

# Both nodes: a heartbeat every 500 ms, a link with no complete read for 3 s
# is dead.
HEARTBEAT_ARGS = ["--middleman.heartbeat-interval=500ms",
                  "--middleman.connection-timeout=3s"]

SKIP_RC = 77

# Namespace names: ls-ref-<pid>-<seq> / ls-wat-<pid>-<seq>. The pid lets a
# later run remove what a run killed with SIGKILL (e.g. by a CTest timeout)
# left behind, without touching the namespaces of a run still alive.
NS_RE = re.compile(r"^ls-(?:ref|wat)-(\d+)-\d+$")


class Skip(Exception):
    """The environment cannot run this test (not a failure)."""


def log(msg):
    print("[twohost] %s" % msg, flush=True)


def _run(argv, check=True, timeout=10.0):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    out = (p.stdout + p.stderr).decode("utf-8", "replace").strip()
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), p.returncode, out))
    return p.returncode, out


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_namespaces(ip):
    """Deletes ls-ref-/ls-wat- namespaces whose creating run is gone."""
    rc, out = _run([ip, "netns", "list"], check=False)
    if rc != 0:
        return
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        m = NS_RE.match(name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            rc, msg = _run([ip, "netns", "del", name], check=False)
            log("removed stale namespace %s (rc=%d %s)" % (name, rc, msg))


class TwoHosts:
    """Two namespaces joined by a veth pair.

    ref_ns/wat_ns   namespace names
    ref_if/wat_if   the veth end in each namespace
    ref_ip/wat_ip   198.19.N.1 / 198.19.N.2 (/24)
    """

    _seq = 0

    def __init__(self, subnet=None):
        if os.geteuid() != 0:
            raise Skip("not root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)")
        self.ip = shutil.which("ip") or next(
            (p for p in ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip") if os.access(p, os.X_OK)), None)
        if not self.ip:
            raise Skip("`ip` not found (install iproute2)")
        self.tc = shutil.which("tc") or next(
            (p for p in ("/usr/sbin/tc", "/sbin/tc") if os.access(p, os.X_OK)), None)
        TwoHosts._seq += 1
        pid = os.getpid()
        tag = "%d-%d" % (pid, TwoHosts._seq)
        self.ref_ns = "ls-ref-" + tag
        self.wat_ns = "ls-wat-" + tag
        # Interface names: at most 15 characters. They live only inside
        # their namespace (created there directly), so they cannot clash.
        self.ref_if = "lsref%d" % TwoHosts._seq
        self.wat_if = "lswat%d" % TwoHosts._seq
        n = subnet if subnet is not None else (pid % 250) + 1
        self.ref_ip = "198.19.%d.1" % n
        self.wat_ip = "198.19.%d.2" % n
        self._made = []  # namespaces created, for down()
        self._qdiscs = []

    # -- setup / teardown ----

    def up(self):
        remove_stale_namespaces(self.ip)
        for ns in (self.ref_ns, self.wat_ns):
            rc, out = _run([self.ip, "netns", "add", ns], check=False)
            if rc != 0:
                self.down()
                raise Skip("`ip netns add %s` failed (exit %d: %s); network "
                           "namespaces need root with CAP_SYS_ADMIN/CAP_NET_ADMIN"
                           % (ns, rc, out))
            self._made.append(ns)
        try:
            rc, out = _run([self.ip, "link", "add", self.ref_if, "netns", self.ref_ns,
                            "type", "veth", "peer", "name", self.wat_if,
                            "netns", self.wat_ns], check=False)
            if rc != 0:
                raise Skip("cannot create a veth pair (exit %d: %s); is the veth "
                           "kernel module available?" % (rc, out))
            for ns, ifname, addr in ((self.ref_ns, self.ref_if, self.ref_ip),
                                     (self.wat_ns, self.wat_if, self.wat_ip)):
                _run([self.ip, "-n", ns, "link", "set", "lo", "up"])
                _run([self.ip, "-n", ns, "addr", "add", addr + "/24", "dev", ifname])
                _run([self.ip, "-n", ns, "link", "set", ifname, "up"])
        except BaseException:
            self.down()
            raise
        self.wait_link(True)
        log("namespaces %s (%s %s/24) <-> %s (%s %s/24)"
            % (self.ref_ns, self.ref_if, self.ref_ip,
               self.wat_ns, self.wat_if, self.wat_ip))

    def down(self):
        """Removes the namespaces (and with them the veth pair). Idempotent;
        never raises."""
        while self._made:
            ns = self._made.pop()
            try:
                rc, out = _run([self.ip, "netns", "del", ns], check=False)
                if rc != 0:
                    log("warning: `ip netns del %s` failed: %s" % (ns, out))
            except Exception as e:  # pragma: no cover
                log("warning: `ip netns del %s` failed: %s" % (ns, e))

    # -- running programs ----

    def exec_prefix(self, ns):
        # `ip netns exec` enters the namespace and execs the program (no
        # fork), so the Popen pid is the program's own: signals reach it.
        return [self.ip, "netns", "exec", ns]

    # -- faults ----

    def _end(self, side):
        if side == "ref":
            return self.ref_ns, self.ref_if
        if side == "wat":
            return self.wat_ns, self.wat_if
        raise ValueError(side)

    def set_link(self, side, up):
        ns, ifname = self._end(side)
        _run([self.ip, "-n", ns, "link", "set", ifname, "up" if up else "down"])
        log("link %s/%s %s" % (ns, ifname, "up" if up else "down"))

    def link_carrier(self, side):
        ns, ifname = self._end(side)
        rc, out = _run([self.ip, "-n", ns, "-o", "link", "show", ifname], check=False)
        return rc == 0 and "LOWER_UP" in out and "NO-CARRIER" not in out

    def wait_link(self, up, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.link_carrier(s) == up for s in ("ref", "wat")):
                return
            time.sleep(0.02)
        raise RuntimeError("veth carrier not %s after %.1f s" % ("up" if up else "down", timeout))

    def add_netem(self, spec):
        """`tc qdisc add dev <veth> root netem SPEC` on both ends (both
        directions). Raises Skip when tc or the netem qdisc is missing."""
        if not self.tc:
            raise Skip("`tc` not found (install iproute2)")
        for side in ("ref", "wat"):
            ns, ifname = self._end(side)
            argv = [self.tc, "-n", ns, "qdisc", "add", "dev", ifname, "root", "netem"] + spec
            rc, out = _run(argv, check=False)
            if rc != 0 and shutil.which("modprobe"):
                _run(["modprobe", "sch_netem"], check=False)
                rc, out = _run(argv, check=False)
            if rc != 0:
                raise Skip("cannot add the netem qdisc (`%s`: exit %d: %s); the "
                           "kernel lacks sch_netem" % (" ".join(argv), rc, out))
            self._qdiscs.append((ns, ifname))
            log("%s/%s: qdisc netem %s" % (ns, ifname, " ".join(spec)))


class FanoutHosts:
    """One watcher namespace joined to `n` reference namespaces, one veth
    pair each (a star, no bridge): the fan-out of issue 15. Link i is a
    /30 of 198.18.0.0/24: the reference at 198.18.0.(4i+1), the watcher's
    end at 198.18.0.(4i+2). Every address lives inside the test's own
    namespaces, so nothing is routed from or to the host (nor to a podman
    network that uses 198.18.0.0/24 there).

    wat_ns          the watcher's namespace
    ref_ns[i]       reference i's namespace
    ref_ip[i]       its address
    set_link(i, up) reference i's veth end down or up
    """

    def __init__(self, n):
        if os.geteuid() != 0:
            raise Skip("not root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)")
        self.ip = shutil.which("ip") or next(
            (p for p in ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip") if os.access(p, os.X_OK)), None)
        if not self.ip:
            raise Skip("`ip` not found (install iproute2)")
        pid = os.getpid()
        TwoHosts._seq += 1
        self.wat_ns = "ls-wat-%d-%d" % (pid, TwoHosts._seq)
        self.ref_ns, self.ref_if, self.wat_if, self.ref_ip, self.wat_ip = [], [], [], [], []
        for i in range(n):
            TwoHosts._seq += 1
            self.ref_ns.append("ls-ref-%d-%d" % (pid, TwoHosts._seq))
            self.ref_if.append("lsfo%dr" % i)  # only inside their namespaces
            self.wat_if.append("lsfo%dw" % i)
            self.ref_ip.append("198.18.0.%d" % (4 * i + 1))
            self.wat_ip.append("198.18.0.%d" % (4 * i + 2))
        self._made = []

    def up(self):
        remove_stale_namespaces(self.ip)
        for ns in [self.wat_ns] + self.ref_ns:
            rc, out = _run([self.ip, "netns", "add", ns], check=False)
            if rc != 0:
                self.down()
                raise Skip("`ip netns add %s` failed (exit %d: %s); network "
                           "namespaces need root with CAP_SYS_ADMIN/CAP_NET_ADMIN"
                           % (ns, rc, out))
            self._made.append(ns)
        try:
            _run([self.ip, "-n", self.wat_ns, "link", "set", "lo", "up"])
            for i, ns in enumerate(self.ref_ns):
                rc, out = _run([self.ip, "link", "add", self.ref_if[i], "netns", ns,
                                "type", "veth", "peer", "name", self.wat_if[i],
                                "netns", self.wat_ns], check=False)
                if rc != 0:
                    raise Skip("cannot create a veth pair (exit %d: %s); is the veth "
                               "kernel module available?" % (rc, out))
                _run([self.ip, "-n", ns, "link", "set", "lo", "up"])
                for n2, ifname, addr in ((ns, self.ref_if[i], self.ref_ip[i]),
                                         (self.wat_ns, self.wat_if[i], self.wat_ip[i])):
                    _run([self.ip, "-n", n2, "addr", "add", addr + "/30", "dev", ifname])
                    _run([self.ip, "-n", n2, "link", "set", ifname, "up"])
            for i in range(len(self.ref_ns)):
                self.wait_link(i, True)
        except BaseException:
            self.down()
            raise
        log("namespaces: watcher %s; references %s"
            % (self.wat_ns, ", ".join("%s (%s/30)" % x for x in zip(self.ref_ns, self.ref_ip))))

    def down(self):
        """Removes the namespaces (and the veth pairs). Never raises."""
        while self._made:
            ns = self._made.pop()
            try:
                rc, out = _run([self.ip, "netns", "del", ns], check=False)
                if rc != 0:
                    log("warning: `ip netns del %s` failed: %s" % (ns, out))
            except Exception as e:  # pragma: no cover
                log("warning: `ip netns del %s` failed: %s" % (ns, e))

    def exec_prefix(self, ns):
        return [self.ip, "netns", "exec", ns]

    def set_link(self, i, up):
        _run([self.ip, "-n", self.ref_ns[i], "link", "set", self.ref_if[i],
              "up" if up else "down"])
        log("link %s/%s %s" % (self.ref_ns[i], self.ref_if[i], "up" if up else "down"))

    def wait_link(self, i, up, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = True
            for ns, ifname in ((self.ref_ns[i], self.ref_if[i]), (self.wat_ns, self.wat_if[i])):
                rc, out = _run([self.ip, "-n", ns, "-o", "link", "show", ifname], check=False)
                carrier = rc == 0 and "LOWER_UP" in out and "NO-CARRIER" not in out
                ok = ok and carrier == up
            if ok:
                return
            time.sleep(0.02)
        raise RuntimeError("veth %d carrier not %s after %.1f s" % (i, "up" if up else "down", timeout))


# -- nodes ---------------------------------------------------------------------


def cert_dir(env):
    """The test's private CA and node certificates (made once per Env)."""
    d = os.path.join(env.base, "certs")
    if not os.path.isdir(d):
        _run(["bash", MAKE_CERTS, d], timeout=30.0)
    return d


def entrypoint_argv(env, role, ini=None, **variables):
    """`env -u ... VAR=value ... docker/entrypoint-ROLE.sh`: the container's
    start-up path, with its INI file (docker/ROLE.ini, or docker/INI), over
    mutual TLS unless INSECURE."""
    if INSECURE:
        variables["LIVESYNC_CONFIG"] = None  # its [openssl] section means TLS
    else:
        variables["LIVESYNC_CONFIG"] = os.path.join(DOCKER, ini or role + ".ini")
        variables["LIVESYNC_CERT_DIR"] = cert_dir(env)
    variables["LIVESYNC_BIN_DIR"] = harness.bin_dir()
    unset, assign = [], []
    for name in ENTRYPOINT_VARS:
        value = variables.pop(name, None)
        if value is None:
            unset += ["-u", name]
        else:
            assign.append("%s=%s" % (name, value))
    assert not variables, "unknown entrypoint variables: %s" % variables
    argv = ["env"] + unset + assign  # env takes its options first
    argv.append(os.path.join(DOCKER, "entrypoint-%s.sh" % role))
    argv.append("--log-level=%s" % harness.LOG_LEVEL)
    return argv + (["--insecure"] if INSECURE else []) + HEARTBEAT_ARGS


def _check_tls(node, line):
    m = TLS_RE.search(line)
    want = "false" if INSECURE else "true"
    harness.check(m is not None and m.group(1) == want,
                  "%s: expected tls=%s in: %s" % (node.name, want, line))


# The reference runs as the containers run it: uid 10001, no capability
# (docker/Dockerfile). As root, the kernel would let it through every
# permission bit and hide that whole class of failure.
REFERENCE_UID = 10001


def as_reference_user(env):
    """argv prefix running the reference as REFERENCE_UID (and its tree and
    key owned by it), or [] where that is not possible (not root, no
    setpriv): the tests then run it as the current user."""
    try:
        prefix = harness.unprivileged_prefix(REFERENCE_UID)
    except harness.Skip as e:
        log("reference runs as uid %d: %s" % (os.geteuid(), e))
        return []
    env.hand_reference_to(REFERENCE_UID)
    if not INSECURE:
        os.chown(os.path.join(cert_dir(env), "reference.key"), REFERENCE_UID,
                 REFERENCE_UID)
    return prefix


def start_reference(env, net, port=0, extra=(), timeout=15.0):
    """A reference in the reference namespace, bound to its veth address (on
    loopback when `net` is None: tests that can run without root), started
    through the container's entrypoint as the containers' user."""
    prefix = [] if net is None else net.exec_prefix(net.ref_ns)
    prefix += as_reference_user(env)
    argv = prefix + entrypoint_argv(
        env, "reference", LIVESYNC_ROOT=env.ref,
        LIVESYNC_BIND=harness.LOOPBACK if net is None else net.ref_ip,
        LIVESYNC_PORT=port) + list(extra)
    node = env.start_reference(argv=argv, timeout=timeout)
    _check_tls(node, node.matching(harness.LISTENING_RE)[0])
    return node


def start_watcher(env, net, port, extra=(), wait_sync=True, timeout=30.0, wrap=()):
    """A watcher in the watcher namespace, connecting over the veth pair (on
    loopback when `net` is None), started through the container's
    entrypoint. `wrap` goes between the namespace prefix and the program
    (e.g. userns_watch_limit())."""
    prefix = [] if net is None else net.exec_prefix(net.wat_ns)
    argv = prefix + list(wrap) + entrypoint_argv(
        env, "watcher", LIVESYNC_ROOT=env.src,
        LIVESYNC_HOST=harness.LOOPBACK if net is None else net.ref_ip,
        LIVESYNC_PORT=port) + list(extra)
    node = env.start_watcher(argv=argv, wait_sync=wait_sync, timeout=timeout)
    if wait_sync:
        _check_tls(node, node.matching(TLS_RE)[0])
    return node


def watcher_command(env, net, name, *args, timeout=20.0):
    """Runs `livesync-watcher NAME` (status, flush) where the watcher runs
    (its namespace, its TLS credentials) against its control port, which
    docker/watcher.ini sets. Returns (rc, stdout, stderr)."""
    prefix = [] if net is None else net.exec_prefix(net.wat_ns)
    if INSECURE:
        tls = ["--insecure"]
    else:
        d = cert_dir(env)
        tls = ["--openssl.certificate=%s" % os.path.join(d, "watcher.pem"),
               "--openssl.key=%s" % os.path.join(d, "watcher.key"),
               "--openssl.cafile=%s" % os.path.join(d, "ca.pem")]
    argv = prefix + [harness.binary(harness.WATCHER), name,
                     "--control-port=4243"] + tls + list(args)
    return env.run_cli(argv, timeout=timeout, name=name)


def healthy(node):
    """docker/healthcheck.sh against a running node: True when healthy
    (reference: listening; watcher: connected), False when not."""
    rc, out = _run(["bash", HEALTHCHECK, node.role, str(node.proc.pid)], check=False)
    if rc not in (0, 1):
        raise RuntimeError("healthcheck.sh %s: exit %d: %s" % (node.role, rc, out))
    log("healthcheck %s: %s" % (node.name, out))
    return rc == 0


# -- inotify watch limit in a user namespace ---------------------------------------

USERNS_LIMIT_FILE = "/proc/sys/user/max_inotify_watches"


def userns_watch_limit(limit):
    """A command prefix that runs the program in a new user namespace whose
    inotify watch limit is `limit`. The limit is per user namespace (and
    counts against every ancestor's too), so the host's
    fs.inotify.max_user_watches and every other process are untouched: no
    global sysctl to lower and restore. Raises Skip where user namespaces
    or that file are unavailable."""
    unshare = shutil.which("unshare")
    if not unshare:
        raise Skip("`unshare` not found (util-linux)")
    script = 'echo %d > %s && exec "$0" "$@"' % (limit, USERNS_LIMIT_FILE)
    probe = [unshare, "--user", "--map-root-user", "sh", "-c",
             script.replace('exec "$0" "$@"', "cat %s" % USERNS_LIMIT_FILE)]
    rc, out = _run(probe, check=False)
    if rc != 0 or out.strip() != str(limit):
        raise Skip("cannot set an inotify watch limit in a user namespace (%s: exit %d: %s)"
                   % (" ".join(probe), rc, out))
    return [unshare, "--user", "--map-root-user", "sh", "-c", script]


# -- log timestamps --------------------------------------------------------------

_TS_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})\b")


def line_time(line):
    """Wall-clock time (time.time() scale) of a log line
    `YYYY-MM-DDTHH:MM:SS.mmm level [name] ...` (local time), or None."""
    m = _TS_RE.match(line)
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    return time.mktime(t.timetuple()) + int(m.group(2)) / 1000.0
