"""containers.deb and containers.units: the Debian package of
scripts/package.sh, installed and run; its systemd units checked.

deb    runs scripts/package.sh on the build directory, builds an image from
       the bookworm base image that runs `apt-get install ./livesync_*.deb`
       (apt reaches Debian through the host's network, as image builds do),
       then runs tests/containers/deb_check.sh in a container of it with no
       network but loopback: installed paths, --version, --help, man pages,
       conffiles, the user livesync, and a mirror between two directories
       over mutual TLS with both programs run as their units run them.
systemd builds an image with systemd and the .deb installed, boots it
       (podman --systemd=always, no network) and runs
       tests/containers/systemd_check.sh: `systemctl start` of both units
       as the README says, the mirror, the hardening in force (uids,
       capabilities, no-new-privileges, seccomp; not ProtectSystem= and the
       other mount-namespace settings, which systemd skips in a container
       without CAP_SYS_ADMIN), the reference's metrics file through a
       drop-in, a restart, a clean stop.
units  installs the build (cmake --install, DESTDIR) into a temp root next
       to a copy of the host's units and runs `systemd-analyze verify` on
       livesync-reference.service and livesync-watcher@test.service: any
       line it prints fails the test (it exits 0 on unknown keys and bad
       values); a deliberately broken copy must be reported, so the check
       cannot pass vacuously. `systemd-analyze security --offline=true`
       gives each unit's exposure score, which must stay low.
"""

import os
import re
import shutil
import subprocess
import time

import podman
from podman import PREFIX, Failure, Skip, check, log

REPO = podman.REPO
PACKAGE_SH = os.path.join(REPO, "scripts", "package.sh")
DEB_CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deb_check.sh")
DEB_IMAGE = "localhost/%s-deb:latest" % PREFIX
DEB_CONTAINER = PREFIX + "-deb"
UNITS = ("livesync-reference.service", "livesync-watcher@.service")
# systemd-analyze security's exposure (0 safest .. 10), at most.
MAX_EXPOSURE = {"livesync-reference.service": 2.0, "livesync-watcher@.service": 2.5}

CONTAINERFILE = """\
FROM %s
WORKDIR /pkg
COPY %s ./
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y ./%s \\
 && rm -rf /var/lib/apt/lists/*
"""


def run(argv, timeout, env=None, cwd=REPO):
    log("$ %s" % " ".join(argv))
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise Failure("%s: still running after %d s" % (argv[0], timeout)) from None
    return p.returncode, p.stdout.decode("utf-8", "replace")


def build_package(bin_dir):
    """scripts/package.sh on the test's build dir; returns the .deb's path."""
    missing = [t for t in ("help2man", "dpkg-shlibdeps", "file") if not shutil.which(t)]
    if missing:
        raise Skip("cannot build the package: %s not found (apt-get install help2man "
                   "dpkg-dev file)" % " ".join(missing))
    t0 = time.monotonic()
    rc, out = run(["bash", PACKAGE_SH], 900, env=dict(os.environ, LIVESYNC_BUILD_DIR=bin_dir))
    check(rc == 0, "scripts/package.sh failed (exit %d):\n%s" % (rc, out[-4000:]))
    deb = out.strip().splitlines()[-1].split("package: ", 1)[-1]
    check(os.path.isfile(deb), "scripts/package.sh printed no .deb path:\n%s" % out[-2000:])
    log("scripts/package.sh: %s (%d KiB) in %.1f s" % (os.path.basename(deb),
                                                       os.path.getsize(deb) >> 10,
                                                       time.monotonic() - t0))
    rc, contents = run(["dpkg-deb", "--contents", deb], 30)
    for path in ("./usr/bin/livesync-reference", "./usr/bin/livesync-watcher",
                 "./etc/livesync/reference.ini", "./etc/livesync/watcher.ini",
                 "./lib/systemd/system/livesync-reference.service",
                 "./lib/systemd/system/livesync-watcher@.service",
                 "./usr/share/man/man1/livesync-reference.1.gz",
                 "./usr/share/man/man1/livesync-watcher.1.gz"):
        check(re.search(r"\s%s$" % re.escape(path), contents, re.MULTILINE),
              "the package lacks %s:\n%s" % (path, contents))
    return deb


def deb(bin_dir, workdir):
    """The .deb installed with apt-get in a container, both programs run."""
    pm = podman.require_podman(workdir)
    deb_path = build_package(bin_dir)
    context = os.path.join(workdir, "context")
    os.mkdir(context)
    name = os.path.basename(deb_path)
    shutil.copy(deb_path, context)
    with open(os.path.join(context, "Containerfile"), "w") as f:
        f.write(CONTAINERFILE % (podman.BASE_IMAGE, name, "livesync_*.deb"))
    with podman.Lock():
        pm.remove_leftovers()
        podman.ensure_base_image(pm, workdir)
        podman.probe_run(pm)
        ok = False
        try:
            t0 = time.monotonic()
            # --no-cache: the install itself is what is tested, every time.
            rc, out, err = pm.run("build", "--no-cache", "--network=host", "--format", "docker",
                                  "--tag", DEB_IMAGE, "--file",
                                  os.path.join(context, "Containerfile"), context,
                                  timeout=600, check_rc=False)
            check(rc == 0, "apt-get install ./%s in %s failed:\n%s"
                  % (name, podman.BASE_IMAGE, (out + err)[-5000:]))
            install_s = time.monotonic() - t0
            log("apt-get install ./%s in a bookworm container: %.1f s (with apt-get update "
                "and the dependencies from Debian)" % (name, install_s))
            t1 = time.monotonic()
            rc, out, err = pm.run("run", "--name", DEB_CONTAINER, "--network=none",
                                  "-v", "%s:/deb_check.sh:ro" % DEB_CHECK,
                                  DEB_IMAGE, "bash", "/deb_check.sh", timeout=180,
                                  check_rc=False)
            text = (out + err).rstrip()
            print("----- deb_check.sh in the container -----")
            for l in text.splitlines():
                print("  | %s" % l)
            check(rc == 0 and text.endswith("deb_check: PASS"),
                  "deb_check.sh: exit code %d" % rc)
            log("RESULT deb: package installed in %.1f s, checks in the container %.1f s"
                % (install_s, time.monotonic() - t1))
            ok = True
        finally:
            pm.run("rm", "--force", DEB_CONTAINER, check_rc=False, quiet=not ok)
            if pm.exists("image", DEB_IMAGE):
                pm.run("rmi", "--force", DEB_IMAGE, check_rc=False)
            pm.remove_leftovers()
        pm.check_clean()


# -- systemd ---------------------------------------------------------------------------

SYSTEMD_CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "systemd_check.sh")
SYSTEMD_IMAGE = "localhost/%s-systemd:latest" % PREFIX
SYSTEMD_CONTAINER = PREFIX + "-systemd"
SYSTEMD_CONTAINERFILE = """\
FROM %s
WORKDIR /pkg
COPY %s ./
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      systemd systemd-sysv dbus openssl ./%s \\
 && rm -rf /var/lib/apt/lists/*
CMD ["/sbin/init"]
"""


def systemd(bin_dir, workdir):
    """The packaged units started by systemd (booted in a container)."""
    pm = podman.require_podman(workdir)
    deb_path = build_package(bin_dir)
    context = os.path.join(workdir, "context")
    os.mkdir(context)
    name = os.path.basename(deb_path)
    shutil.copy(deb_path, context)
    with open(os.path.join(context, "Containerfile"), "w") as f:
        f.write(SYSTEMD_CONTAINERFILE % (podman.BASE_IMAGE, name, "livesync_*.deb"))
    with podman.Lock():
        pm.remove_leftovers()
        podman.ensure_base_image(pm, workdir)
        podman.probe_run(pm)
        ok = False
        try:
            t0 = time.monotonic()
            rc, out, err = pm.run("build", "--no-cache", "--network=host", "--format", "docker",
                                  "--tag", SYSTEMD_IMAGE, "--file",
                                  os.path.join(context, "Containerfile"), context,
                                  timeout=600, check_rc=False)
            check(rc == 0, "apt-get install systemd ./%s failed:\n%s" % (name, (out + err)[-5000:]))
            log("image with systemd and ./%s: %.1f s" % (name, time.monotonic() - t0))
            # systemd as PID 1 (--systemd=always: /run, /tmp as tmpfs, the
            # cgroup tree writable); CAP_DAC_READ_SEARCH is not among
            # podman's default capabilities, and the watcher's unit keeps
            # that one only.
            t1 = time.monotonic()
            pm.run("run", "--detach", "--name", SYSTEMD_CONTAINER, "--network=none",
                   "--systemd=always", "--cap-add", "DAC_READ_SEARCH",
                   "-v", "%s:/systemd_check.sh:ro" % SYSTEMD_CHECK, SYSTEMD_IMAGE)
            rc, out, err = pm.exec(SYSTEMD_CONTAINER, "bash", "/systemd_check.sh", timeout=180,
                                   check_rc=False)
            text = (out + err).rstrip()
            print("----- systemd_check.sh in the container -----")
            for l in text.splitlines():
                print("  | %s" % l)
            check(rc == 0 and text.endswith("systemd_check: PASS"),
                  "systemd_check.sh: exit code %d" % rc)
            log("RESULT systemd: units started, checked and stopped in %.1f s"
                % (time.monotonic() - t1))
            ok = True
        finally:
            pm.run("rm", "--force", "--time", "5", SYSTEMD_CONTAINER, check_rc=False,
                   quiet=not ok)
            if pm.exists("image", SYSTEMD_IMAGE):
                pm.run("rmi", "--force", SYSTEMD_IMAGE, check_rc=False)
            pm.remove_leftovers()
        pm.check_clean()


# -- units ---------------------------------------------------------------------------


def install_root(bin_dir, root):
    """The build installed into `root` (prefix /usr), beside a copy of the
    host's units (verify looks for sysinit.target and the like there)."""
    for prog in ("livesync-reference", "livesync-watcher"):
        if not os.access(os.path.join(bin_dir, prog), os.X_OK):
            raise Failure("%s not built in %s" % (prog, bin_dir))
    rc, out = run(["cmake", "--install", bin_dir, "--prefix", "/usr"], 120,
                  env=dict(os.environ, DESTDIR=root))
    check(rc == 0, "cmake --install failed:\n%s" % out[-3000:])
    units = os.path.join(root, "lib", "systemd", "system")
    for d in ("/lib/systemd/system", "/usr/lib/systemd/system"):
        if os.path.isdir(d):
            for name in os.listdir(d):
                src, dst = os.path.join(d, name), os.path.join(units, name)
                if not os.path.lexists(dst) and os.path.isfile(src) and not os.path.islink(src):
                    shutil.copy(src, dst)
            break
    return units


def verify(root, units, man):
    argv = ["systemd-analyze", "verify", "--root=" + root, "--man=" + ("yes" if man else "no"),
            "/lib/systemd/system/livesync-reference.service", "livesync-watcher@test.service"]
    env = dict(os.environ, MANPATH=os.path.join(root, "usr", "share", "man"))
    return run(argv, 60, env=env)


def units(bin_dir, workdir):
    """systemd-analyze verify and security of the packaged units."""
    if not shutil.which("systemd-analyze"):
        raise Skip("systemd-analyze not found (Debian package systemd)")
    root = os.path.join(workdir, "root")
    unit_dir = install_root(bin_dir, root)
    man = os.path.isfile(os.path.join(root, "usr/share/man/man1/livesync-reference.1.gz")) \
        and shutil.which("man") is not None
    if not man:
        log("man pages not built or no man here: Documentation= not checked "
            "(containers.deb checks the pages)")
    rc, out = verify(root, unit_dir, man)
    log("systemd-analyze verify: exit %d, %d line(s)" % (rc, len(out.splitlines())))
    check(rc == 0 and not out.strip(), "systemd-analyze verify:\n%s" % out)

    # The check is not vacuous: a typo in a key and a bad value are reported.
    path = os.path.join(unit_dir, "livesync-reference.service")
    with open(path) as f:
        good = f.read()
    with open(path, "w") as f:
        f.write(good.replace("ProtectSystem=strict", "ProtectSystem=strictly\nProtectSistem=yes"))
    rc, out = verify(root, unit_dir, man)
    check("ProtectSistem" in out and "strictly" in out,
          "systemd-analyze verify missed a broken unit:\n%s" % out)
    with open(path, "w") as f:
        f.write(good)

    for unit, limit in MAX_EXPOSURE.items():
        rc, out = run(["systemd-analyze", "security", "--offline=true", "--root=" + root,
                       "/lib/systemd/system/" + unit], 60)
        m = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", out)
        check(m is not None, "systemd-analyze security %s:\n%s" % (unit, out[-2000:]))
        log("RESULT systemd-analyze security %s: %s %s" % (unit, m.group(1), m.group(2)))
        check(float(m.group(1)) <= limit, "%s: exposure %s, at most %.1f expected:\n%s"
              % (unit, m.group(1), limit, out[-4000:]))


__all__ = ["deb", "systemd", "units"]
