"""What the container tests share: podman with a configuration of their own,
the Debian base image, livesync's two images, names, clean-up and polling.

Everything here follows ../../../shared/CONTAINERS.md as README.md, section
"Containers with podman", sums it up:
- podman reads CONTAINERS_CONF, a file this module writes into the test's
  temp dir (runtime runc, default ulimits below the host's, the netavark
  network backend, whose aardvark-dns resolves container names); nothing
  in /etc/containers is read for these settings or changed;
- the base image debian:bookworm (tagged debian:bookworm-slim too) is made
  with mmdebstrap when podman does not have it (no registry is reachable);
- images are built with `--format docker` (keeps HEALTHCHECK) and
  `--network=host` (the build's apt-get reaches Debian);
- every network is inside 198.18.0.0/24.

Images stay in podman's store (/var/lib/containers) after a run: the base
image, the build stage and both node images are the cache that makes the
next run's build take seconds when the sources did not change. Everything
else a test creates carries the prefix `livesync-ctest` and is removed at
its end, and again (left over by a killed run) at the start of the next.

Container tests take a lock (LOCK_PATH), so two runs on one machine (two
checkouts, two CI jobs) take turns instead of fighting over names, subnets
and image tags.
"""

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "e2e"))
import harness  # noqa: E402
from harness import Failure, Skip, check  # noqa: E402,F401


def log(msg):
    print("[containers] %s" % msg, flush=True)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKERFILE = os.path.join(REPO, "docker", "Dockerfile")
MAKE_CERTS = os.path.join(REPO, "scripts", "make-certs.sh")

BASE_IMAGE = "docker.io/library/debian:bookworm"
BASE_SLIM = "docker.io/library/debian:bookworm-slim"
DEBIAN_MIRROR = "deb http://deb.debian.org/debian bookworm main"
# The tags docker/compose.yaml names (image: livesync-reference:latest).
IMAGES = {"reference": "localhost/livesync-reference:latest",
          "watcher": "localhost/livesync-watcher:latest"}
# The build stage, tagged so that it is the cache of the next build rather
# than a dangling image.
BUILD_STAGE = "localhost/livesync-build:cache"
ALL_TAGS = dict(IMAGES, build=BUILD_STAGE)
PREFIX = "livesync-ctest"
REFERENCE_UID = 10001  # the reference image's user (docker/Dockerfile)
LOCK_PATH = "/run/lock/livesync-ctest-containers.lock"

CONTAINERS_CONF = """\
# Written by tests/containers/podman.py; podman reads it through
# CONTAINERS_CONF. Why each line: README.md, "Containers with podman".
[containers]
# The host's limits are nofile 20000 and nproc 96367 here; podman's
# defaults ask for more, and a container may not raise a limit.
default_ulimits = ["nofile=16384:16384", "nproc=8192:8192"]

[engine]
# crun refuses this host ("cgroups in hybrid mode not supported").
runtime = "runc"

[network]
# aardvark-dns resolves the containers' names (the watcher's host=reference).
network_backend = "netavark"
"""

# Tools podman needs here, each with the Debian package that has it.
TOOLS = {"podman": "podman", "runc": "runc", "netavark": "netavark",
         "aardvark-dns": "aardvark-dns"}
LIBEXEC = "/usr/lib/podman"  # where Debian puts netavark and aardvark-dns


class Podman:
    """podman with the tests' own containers.conf; every call is logged and
    bounded in time."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.conf = os.path.join(workdir, "containers.conf")
        with open(self.conf, "w") as f:
            f.write(CONTAINERS_CONF)
        self.env = dict(os.environ, CONTAINERS_CONF=self.conf)
        # Noise that is not ours: podman logs to syslog when it can.
        self.env.pop("DOCKER_HOST", None)

    def run(self, *args, timeout=120, check_rc=True, quiet=False, input=None):
        argv = ["podman"] + [str(a) for a in args]
        if not quiet:
            log("$ %s" % " ".join(argv))
        try:
            p = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=self.env, timeout=timeout,
                               stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Failure("podman %s: still running after %d s" % (args[0], timeout)) from None
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        err = "\n".join(l for l in err.splitlines() if "failed to connect to syslog" not in l)
        if check_rc and p.returncode != 0:
            raise Failure("podman %s: exit code %d\n%s%s" % (" ".join(map(str, args[:3])),
                                                            p.returncode, out[-3000:], err[-3000:]))
        return p.returncode, out, err

    def out(self, *args, **kw):
        return self.run(*args, **kw)[1]

    def exists(self, kind, name):
        """kind: image, container, network, volume."""
        rc, _, _ = self.run(kind, "exists", name, check_rc=False, quiet=True)
        return rc == 0

    def logs(self, name, tail=60):
        rc, out, err = self.run("logs", "--tail", tail, name, check_rc=False, quiet=True)
        return (out + err).rstrip()

    def print_logs(self, *names):
        for n in names:
            if self.exists("container", n):
                print("----- podman logs %s -----" % n)
                for l in self.logs(n).splitlines():
                    print("  | %s" % l)
        sys.stdout.flush()

    # -- clean-up ------------------------------------------------------------

    def remove_leftovers(self):
        """Removes containers, pods, networks and volumes named PREFIX*
        (this run's, or a killed run's)."""
        for kind, listing in (("container", ["ps", "-a", "--format", "{{.Names}}"]),
                              ("network", ["network", "ls", "--format", "{{.Name}}"]),
                              ("volume", ["volume", "ls", "--format", "{{.Name}}"])):
            rc, out, _ = self.run(*listing, check_rc=False, quiet=True)
            names = [n for n in out.split() if n.startswith(PREFIX)]
            if not names:
                continue
            if kind == "container":
                self.run("rm", "--force", "--volumes", "--time", "2", *names,
                         check_rc=False, timeout=60)
            else:
                self.run(kind, "rm", "--force", *names, check_rc=False, timeout=60)

    def check_clean(self):
        """Fails if anything named PREFIX* is left."""
        left = []
        for listing in (["ps", "-a", "--format", "{{.Names}}"],
                        ["network", "ls", "--format", "{{.Name}}"],
                        ["volume", "ls", "--format", "{{.Name}}"]):
            left += [n for n in self.out(*listing, quiet=True).split() if n.startswith(PREFIX)]
        check(not left, "left behind after clean-up: %s" % left)
        log("clean: no container, network or volume named %s* is left" % PREFIX)

    # -- containers ---------------------------------------------------------------

    def exec(self, name, *argv, timeout=30, check_rc=True, user=None, quiet=False):
        args = ["exec"] + (["--user", user] if user else []) + [name] + list(argv)
        return self.run(*args, timeout=timeout, check_rc=check_rc, quiet=quiet)

    def healthcheck(self, name):
        """`podman healthcheck run NAME`: 0 healthy (what compose waits for;
        there is no systemd timer here to run it)."""
        rc, out, err = self.run("healthcheck", "run", name, check_rc=False, quiet=True,
                                timeout=30)
        return rc, (out + err).strip()

    def wait_healthy(self, name, timeout=60.0):
        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < timeout:
            rc, text = self.healthcheck(name)
            if rc == 0:
                status = self.out("inspect", "--format", "{{.State.Health.Status}}", name,
                                  quiet=True).strip()
                log("%s healthy after %.1f s (podman healthcheck run: 0; status %s)"
                    % (name, time.monotonic() - t0, status))
                check(status == "healthy", "%s: health status %r after a passing check"
                      % (name, status))
                return time.monotonic() - t0
            last = (rc, text)
            time.sleep(0.5)
        raise Failure("%s: not healthy within %.0f s; last `podman healthcheck run`: %r"
                      % (name, timeout, last))

    def volume_path(self, name):
        return self.out("volume", "inspect", "--format", "{{.Mountpoint}}", name,
                        quiet=True).strip()


class HealthPump(threading.Thread):
    """Runs `podman healthcheck run` on the containers that match a filter,
    every `interval` s, until stopped: what the systemd timers would do.
    docker-compose waits for `service_healthy` before it starts the
    watcher, and the health status stays `starting` until a check runs."""

    def __init__(self, pm, filters, interval=1.0):
        super().__init__(daemon=True)
        self.pm, self.filters, self.interval = pm, filters, interval
        self.stopping = threading.Event()
        self.runs = 0

    def run(self):
        while not self.stopping.is_set():
            args = ["ps", "--format", "{{.Names}}"]
            for f in self.filters:
                args += ["--filter", f]
            rc, out, _ = self.pm.run(*args, check_rc=False, quiet=True, timeout=30)
            for name in out.split():
                self.pm.healthcheck(name)
                self.runs += 1
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)


# -- preconditions -------------------------------------------------------------------


def require_podman(workdir):
    """A Podman, or Skip with the reason when podman cannot run here."""
    if os.geteuid() != 0:
        raise Skip("container tests run as root (rootful podman); this is uid %d"
                   % os.geteuid())
    missing = []
    for tool, package in TOOLS.items():
        if not (shutil.which(tool) or os.access(os.path.join(LIBEXEC, tool), os.X_OK)):
            missing.append(package)
    if missing:
        raise Skip("podman cannot run here: missing %s (scripts/setup.sh tries "
                   "`apt-get install podman runc netavark aardvark-dns mmdebstrap`)"
                   % " ".join(missing))
    pm = Podman(workdir)
    rc, out, err = pm.run("info", "--format", "{{.Host.OCIRuntime.Name}} {{.Host.NetworkBackend}}",
                          check_rc=False, timeout=60)
    if rc != 0:
        raise Skip("podman cannot run here: `podman info` failed: %s" % (err or out).strip()[-500:])
    check(out.split() == ["runc", "netavark"],
          "podman ignores %s: runtime and network backend are %r" % (pm.conf, out.strip()))
    return pm


def ensure_base_image(pm, workdir):
    """debian:bookworm and debian:bookworm-slim in podman's store, made with
    mmdebstrap if absent (minbase, Debian's bookworm main). Returns the
    seconds it took (0 when present)."""
    t0 = time.monotonic()
    if not pm.exists("image", BASE_IMAGE):
        if not shutil.which("mmdebstrap"):
            raise Skip("no %s image and no mmdebstrap to make it (apt-get install mmdebstrap)"
                       % BASE_IMAGE)
        tar = os.path.join(workdir, "bookworm-rootfs.tar")
        argv = ["mmdebstrap", "--variant=minbase", "bookworm", tar, DEBIAN_MIRROR]
        log("$ %s" % " ".join(argv))
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=600)
        check(p.returncode == 0, "mmdebstrap failed (exit %d):\n%s"
              % (p.returncode, p.stdout.decode("utf-8", "replace")[-3000:]))
        pm.run("import", tar, BASE_IMAGE, timeout=300)
        os.unlink(tar)
        log("base image %s made with mmdebstrap in %.1f s" % (BASE_IMAGE, time.monotonic() - t0))
    if not pm.exists("image", BASE_SLIM):
        pm.run("tag", BASE_IMAGE, BASE_SLIM)
    return time.monotonic() - t0


def probe_run(pm):
    """A container starts here (runc, limits, cgroups); Skip otherwise."""
    rc, out, err = pm.run("run", "--rm", "--network=none", BASE_IMAGE, "true",
                          check_rc=False, timeout=120)
    if rc != 0:
        raise Skip("podman cannot start a container here: %s" % (err or out).strip()[-800:])


def image_id(pm, ref):
    rc, out, _ = pm.run("image", "inspect", "--format", "{{.Id}}", ref, check_rc=False, quiet=True)
    return out.strip() if rc == 0 else None


def build_images(pm):
    """Builds both node images from docker/Dockerfile; the watcher's build
    reuses the build and runtime stages the reference's made (podman's layer
    cache), and a run whose sources did not change takes seconds. The build
    stage is tagged too (BUILD_STAGE), so that it is not a dangling image;
    the images these tags named before are removed when they changed, so
    the store holds one version of each. Returns {target: seconds}."""
    times = {}
    old = {t: image_id(pm, ref) for t, ref in ALL_TAGS.items()}
    for target in ("reference", "watcher", "build"):
        t0 = time.monotonic()
        rc, out, err = pm.run("build", "--format", "docker", "--network=host",
                              "--file", DOCKERFILE, "--target", target,
                              "--tag", ALL_TAGS[target], REPO,
                              timeout=1500, check_rc=False)
        times[target] = time.monotonic() - t0
        text = out + err
        if rc != 0:
            raise Failure("podman build --target %s failed (exit %d) after %.0f s:\n%s"
                          % (target, rc, times[target], text[-5000:]))
        steps = len(re.findall(r"^(?:\[\d+/\d+\] )?STEP ", text, re.MULTILINE))
        cached = text.count("Using cache")
        log("image %s built in %.1f s (%d steps, %d from cache)"
            % (ALL_TAGS[target], times[target], steps, cached))
    for target, image in old.items():
        if image is not None and image != image_id(pm, ALL_TAGS[target]):
            pm.run("rmi", image, check_rc=False)
    return times


class Lock:
    """An exclusive flock on LOCK_PATH, waited for up to `timeout` s."""

    def __init__(self, timeout=900.0):
        self.timeout = timeout
        self.f = None

    def __enter__(self):
        os.makedirs(os.path.dirname(LOCK_PATH), exist_ok=True)
        self.f = open(LOCK_PATH, "a")
        t0 = time.monotonic()
        while True:
            try:
                fcntl.flock(self.f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - t0 > self.timeout:
                    raise Failure("another container test run held %s for %.0f s"
                                  % (LOCK_PATH, self.timeout)) from None
                time.sleep(1.0)
        if time.monotonic() - t0 > 1.0:
            log("waited %.0f s for %s" % (time.monotonic() - t0, LOCK_PATH))
        return self

    def __exit__(self, *exc):
        self.f.close()


# -- helpers ----------------------------------------------------------------------------


def make_certs(workdir):
    """scripts/make-certs.sh into workdir/certs; reference.key readable by
    the reference's uid (README, "Docker"); ca.key moved out."""
    certs = os.path.join(workdir, "certs")
    p = subprocess.run(["bash", MAKE_CERTS, certs], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    check(p.returncode == 0, "make-certs.sh failed: %s" % p.stdout.decode())
    os.chown(os.path.join(certs, "reference.key"), REFERENCE_UID, REFERENCE_UID)
    os.rename(os.path.join(certs, "ca.key"), os.path.join(workdir, "ca.key"))
    return certs


def poll(fn, timeout, what, interval=0.2):
    """Calls fn() until it returns a true value (returned); Failure after
    `timeout` s naming `what` and the last value."""
    t0 = time.monotonic()
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() - t0 > timeout:
            raise Failure("%s: not within %.0f s (last: %r)" % (what, timeout, last))
        time.sleep(interval)


def status_json(text):
    try:
        return json.loads(text)
    except ValueError:
        raise Failure("status --json printed no JSON: %r" % text[-500:]) from None


def wait_converged(src, ref, timeout, what):
    """Polls the exact comparison of the e2e tests (paths, kinds, content,
    modes, symlink targets, file mtimes) until src and ref are identical."""
    t0 = time.monotonic()
    while True:
        d = harness.diff_trees(src, ref, limit=20)
        if not d:
            dt = time.monotonic() - t0
            log("%s: identical after %.2f s" % (what, dt))
            return dt
        if time.monotonic() - t0 > timeout:
            raise Failure("%s: trees differ after %.0f s:\n  %s" % (what, timeout, "\n  ".join(d)))
        time.sleep(0.1)
