"""containers.compose: docker/compose.yaml itself, brought up by Debian's
docker-compose (1.29) against podman's Docker-compatible API.

- `podman system service --time=0 unix://TMP/podman.sock` (stopped by its
  PID at the end), DOCKER_HOST pointing at it;
- both images built first with podman (compose runs `up --no-build`: a
  build through the API would run apt-get on podman's default network);
- docker/compose.podman.yaml on top, as README.md says podman needs it (a
  subnet allowed here, 198.18.0.64/26; the reference at a fixed address
  the watcher has in /etc/hosts), and compose_test.yaml for the volumes'
  names (livesync-ctest-*, so that a user's livesync-watched and
  livesync-reference volumes are never touched); the watched tree is a host directory (LIVESYNC_WATCHED) and the
  certificates come from scripts/make-certs.sh (LIVESYNC_CERTS);
- while compose waits for the reference to be healthy (depends_on:
  service_healthy), a thread runs `podman healthcheck run` on the
  project's containers every second, as systemd's timers would;
- checks: both containers healthy (`docker-compose ps`), in-sync and
  identical trees, a live change (new file, new directory) mirrored and
  `flush` and `status` through `docker-compose exec`, `docker-compose
  restart reference` followed by in-sync within 30 s; then `down -v`
  leaves no container, network or volume.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time

import podman  # first: puts tests/e2e on sys.path
import harness  # noqa: E402  (tests/e2e/harness.py)
from podman import PREFIX, Failure, Skip, check, log

REPO = podman.REPO
COMPOSE = os.path.join(REPO, "docker", "compose.yaml")
PROJECT = PREFIX
VOLUMES = {"watched": PREFIX + "-watched", "reference": PREFIX + "-reference"}
WATCHER_INI = "/etc/livesync/watcher.ini"

# docker/compose.podman.yaml: what podman on bookworm needs (the subnet, a
# fixed address for the reference); then the test's own volume names.
PODMAN_OVERRIDE = os.path.join(REPO, "docker", "compose.podman.yaml")
OVERRIDE = """\
# tests/containers/tests_compose.py: volumes of the test's own.
volumes:
  watched:
    name: %s
  reference:
    name: %s
""" % (VOLUMES["watched"], VOLUMES["reference"])


def ping(sock_path):
    """True when the API on the unix socket answers GET /_ping with OK."""
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2.0)
        s.connect(sock_path)
        s.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        return data.startswith(b"HTTP/1.") and data.rstrip().endswith(b"OK")
    except OSError:
        return False


class Service:
    """`podman system service` on a socket of its own; stop() by PID."""

    def __init__(self, pm, workdir):
        self.sock = os.path.join(workdir, "podman.sock")
        self.log_path = os.path.join(workdir, "podman-service.log")
        argv = ["podman", "system", "service", "--time=0", "unix://" + self.sock]
        log("$ %s &" % " ".join(argv))
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=pm.env,
                                         preexec_fn=harness._child_setup)
        t0 = time.monotonic()
        podman.poll(lambda: self.proc.poll() is not None or ping(self.sock), 30,
                    "podman's API answering on %s" % self.sock)
        check(self.proc.poll() is None, "podman system service exited with code %s:\n%s"
              % (self.proc.returncode, self.tail()))
        log("podman system service pid %d answers after %.1f s" % (self.proc.pid,
                                                                    time.monotonic() - t0))

    def tail(self, n=30):
        with open(self.log_path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(l for l in lines[-n:] if "failed to connect to syslog" not in l)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failure("podman system service pid %d ignored SIGTERM for 15 s"
                              % self.proc.pid) from None
        log("podman system service pid %d stopped (exit %s)" % (self.proc.pid,
                                                             self.proc.returncode))


class Compose:
    def __init__(self, service, override, src, certs):
        self.argv = [shutil.which("docker-compose"), "--no-ansi", "-f", COMPOSE,
                     "-f", PODMAN_OVERRIDE, "-f", override]
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("LIVESYNC_", "COMPOSE_", "DOCKER_"))}
        self.env.update(DOCKER_HOST="unix://" + service.sock, COMPOSE_PROJECT_NAME=PROJECT,
                        LIVESYNC_WATCHED=src, LIVESYNC_CERTS=certs)

    def run(self, *args, timeout=120, check_rc=True):
        log("$ docker-compose %s" % " ".join(args))
        try:
            p = subprocess.run(self.argv + list(args), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=self.env, cwd=REPO, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure("docker-compose %s: still running after %d s" % (args[0], timeout)) from None
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        if check_rc and p.returncode != 0:
            raise Failure("docker-compose %s: exit code %d\n%s%s"
                          % (" ".join(args), p.returncode, out[-3000:], err[-3000:]))
        return p.returncode, out, err


def container_of(pm, service):
    out = pm.out("ps", "-a", "--format", "{{.Names}}",
                 "--filter", "label=com.docker.compose.project=" + PROJECT,
                 "--filter", "label=com.docker.compose.service=" + service, quiet=True)
    names = out.split()
    check(len(names) == 1, "compose service %s: containers %r" % (service, names))
    return names[0]


def compose(bin_dir, workdir):
    """docker/compose.yaml up with docker-compose on podman's API, then down."""
    pm = podman.require_podman(workdir)
    if not shutil.which("docker-compose"):
        raise Skip("docker-compose not found (apt-get install docker-compose)")
    with podman.Lock():
        pm.remove_leftovers()
        podman.ensure_base_image(pm, workdir)
        podman.probe_run(pm)
        podman.build_images(pm)
        certs = podman.make_certs(workdir)
        src = os.path.join(workdir, "watched")
        os.mkdir(src)
        harness.fill_tree(src, files=60, depth=2, fanout=3, size=500, seed=15)
        override = os.path.join(workdir, "compose_test.yaml")
        with open(override, "w") as f:
            f.write(OVERRIDE)
        service = Service(pm, workdir)
        pump = None
        ok = False
        try:
            dc = Compose(service, override, src, certs)
            pump = podman.HealthPump(pm, ["label=com.docker.compose.project=" + PROJECT])
            pump.start()
            run_compose(pm, dc, src)
            ok = True
        finally:
            if pump is not None:
                pump.stop()
            if not ok:
                pm.print_logs(*[n for n in pm.out("ps", "-a", "--format", "{{.Names}}",
                                                  quiet=True).split() if n.startswith(PREFIX)])
                print("----- podman system service -----\n" + service.tail())
                try:
                    Compose(service, override, src, certs).run("down", "-v", "--timeout", "5",
                                                               check_rc=False)
                except Failure as e:
                    log("clean-up: %s" % e)
            service.stop()
            pm.remove_leftovers()
        pm.check_clean()


def run_compose(pm, dc, src):
    t0 = time.monotonic()
    dc.run("up", "--detach", "--no-build", timeout=300)
    log("compose up returned after %.1f s (it waited for the reference to be healthy)"
        % (time.monotonic() - t0))
    ref_c, wat_c = container_of(pm, "reference"), container_of(pm, "watcher")
    net = pm.out("inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}"
                 "{{$k}}={{$v.IPAddress}} {{end}}", ref_c, quiet=True).strip()
    log("reference container %s on %s" % (ref_c, net))
    check(net.startswith(PROJECT + "_default=198.18.0."), "reference's network: %r" % net)
    for name in (ref_c, wat_c):
        pm.wait_healthy(name, timeout=60)

    def status():
        rc, out, err = dc.run("exec", "-T", "watcher", "livesync-watcher", "status", "--json",
                              "--config-file=" + WATCHER_INI, check_rc=False, timeout=60)
        return podman.status_json(out) if rc == 0 else None

    podman.poll(lambda: (status() or {}).get("state") == "in-sync", 60,
                "watcher in-sync (status through docker-compose exec)", interval=0.5)
    ref = pm.volume_path(VOLUMES["reference"])
    podman.wait_converged(src, ref, 5, "compose: initial sync")
    log("compose: in-sync and identical %.1f s after `up`" % (time.monotonic() - t0))

    rc, out, err = dc.run("ps")
    log("docker-compose ps:\n  " + "\n  ".join(out.splitlines()))
    for service in ("reference", "watcher"):
        line = next((l for l in out.splitlines() if "_%s_" % service in l), "")
        check("(healthy)" in line, "docker-compose ps: %s is not healthy: %r" % (service, line))

    harness.write_file(os.path.join(src, "live.txt"), b"a live change through compose\n")
    harness.write_file(os.path.join(src, "newdir", "f.txt"), b"in a new directory\n")
    podman.wait_converged(src, ref, 10, "compose: live change mirrored")
    harness.write_file(os.path.join(src, "newdir", "g.txt"), b"flushed\n")
    rc, out, err = dc.run("exec", "-T", "watcher", "livesync-watcher", "flush",
                          "--config-file=" + WATCHER_INI)
    podman.wait_converged(src, ref, 0.5, "compose: identical once flush returned")
    rc, out, err = dc.run("exec", "-T", "watcher", "livesync-watcher", "status",
                          "--config-file=" + WATCHER_INI)
    check("state: in-sync" in out and "(mutual TLS)" in out, "status:\n%s" % out)

    # The reference restarted (docker/compose.podman.yaml: a fixed address
    # in the watcher's /etc/hosts, ARP entries re-checked within seconds):
    # the watcher is back in sync within seconds.
    before = status()
    t1 = time.monotonic()
    dc.run("restart", "--timeout", "10", "reference")
    podman.poll(lambda: (lambda s: s and s["reconnects"] > before["reconnects"]
                         and s["state"] == "in-sync")(status()), 30,
                "watcher in-sync after `docker-compose restart reference`", interval=0.3)
    for l in pm.logs(container_of(pm, "watcher"), tail=50).splitlines():
        if re.search(r"peer-lost|connect-failed|peer-reconnected", l):
            log("  watcher: %s" % l.strip())
    log("compose: watcher in-sync %.1f s after `restart reference` began"
        % (time.monotonic() - t1))

    harness.write_file(os.path.join(src, "newdir", "after-restart.txt"), b"again\n")
    podman.wait_converged(src, ref, 10, "compose: a change after the restart")

    t1 = time.monotonic()
    dc.run("down", "--volumes", "--timeout", "10", timeout=120)
    log("compose down -v: %.1f s" % (time.monotonic() - t1))
    log("RESULT compose: %.1f s from `up` to `down` done" % (time.monotonic() - t0))


__all__ = ["compose"]
