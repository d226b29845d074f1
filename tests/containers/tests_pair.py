"""containers.images and containers.pair: the images of docker/Dockerfile
built with podman, and the two nodes run as containers on a network of
their own (198.18.0.0/26), as README.md's "Two hosts" runs them.

images  makes the base image if absent, builds `reference` then `watcher`
        (the second reuses the build stage) and logs how long each took.
pair    (builds first, from cache when nothing changed) runs:
        - the reference as uid 10001 with no capability, the watcher as root
          with CAP_DAC_READ_SEARCH only, both read-only root filesystems and
          no-new-privileges, linked by mutual TLS (scripts/make-certs.sh);
        - checks the initial sync, a live change (a new file, a new
          directory) with and without `flush`, `status` through `podman
          exec`, both health checks (`podman healthcheck run` = 0), and a
          stop (exit code 0 on SIGTERM) and start of the reference
          container: the watcher reconnects and reaches in-sync with its
          status counters of content sent (files, literal and copied bytes)
          unchanged: no content re-sent;
        - removes its containers, network and volume.
"""

import os
import re
import time

import podman  # first: puts tests/e2e on sys.path
import harness  # noqa: E402  (tests/e2e/harness.py)
from podman import PREFIX, Failure, check, log

NETWORK = PREFIX
SUBNET = "198.18.0.0/26"
# The reference's fixed address, which the watcher finds in its /etc/hosts
# (--add-host) rather than through aardvark-dns: bookworm's aardvark-dns 1.4
# tears its servers down at every reload (a container joining or leaving
# the network) and was seen to answer nothing for up to 50 s afterwards
# (containers/aardvark-dns#389, fixed in 1.11); the watcher's reconnect then
# waited on glibc's resolver for 25-70 s instead of 1-2 s.
REFERENCE_IP = "198.18.0.10"
# ... and a fixed MAC address: with a new one at the same address after a
# restart, the watcher's ARP entry pointed at the old one for half a minute
# and its connect (blocking in CAF 0.17, no timeout) waited for the kernel.
REFERENCE_MAC = "02:42:c6:12:00:0a"
REFERENCE = PREFIX + "-reference"
WATCHER = PREFIX + "-watcher"
VOLUME = PREFIX + "-reference"
WATCHER_INI = "/etc/livesync/watcher.ini"
# Counters of content the watcher sent (status --json): a reconnect over
# an unchanged tree must not move them.
CONTENT_COUNTERS = ("files", "literal_bytes", "copied_bytes", "payload_bytes")
CAP_DAC_READ_SEARCH = 1 << 2


def images(bin_dir, workdir):
    """Base image (mmdebstrap if absent) and both node images, timed."""
    pm = podman.require_podman(workdir)
    with podman.Lock():
        base_s = podman.ensure_base_image(pm, workdir)
        podman.probe_run(pm)
        times = podman.build_images(pm)
    log("RESULT base image %.1f s, reference image %.1f s, watcher image %.1f s"
        % (base_s, times["reference"], times["watcher"]))


def status(pm, text=False):
    argv = ["livesync-watcher", "status", "--config-file=" + WATCHER_INI]
    rc, out, err = pm.exec(WATCHER, *(argv + ([] if text else ["--json"])),
                           check_rc=False, timeout=30, quiet=not text)
    if text:
        return rc, out + err
    return podman.status_json(out) if rc == 0 else {"rc": rc, "err": err.strip()}


def proc_status(pm, name):
    """{field: value} of /proc/1/status in the container (the node: the
    entrypoint execs it)."""
    out = pm.exec(name, "cat", "/proc/1/status", timeout=30)[1]
    return dict(l.split(":", 1) for l in out.splitlines() if ":" in l)


def fill_watched(src):
    harness.fill_tree(src, files=150, depth=3, fanout=3, size=300, seed=14)
    harness.write_file(os.path.join(src, "large", "blob.bin"), harness.random_bytes(700 << 10, 1),
                       mode=0o640, mtime_ns=1_700_000_000_123_456_789)
    harness.write_file(os.path.join(src, "large", "empty"), b"")
    harness.symlink("blob.bin", os.path.join(src, "large", "link"))
    harness.make_dirs(os.path.join(src, "private"), mode=0o700)
    harness.write_file(os.path.join(src, "private", "secret"), b"only root reads this\n", mode=0o600)


def run_nodes(pm, certs, src):
    pm.run("network", "create", "--subnet", SUBNET, NETWORK)
    pm.run("volume", "create", VOLUME)
    common = ["--network", NETWORK, "--read-only", "--security-opt", "no-new-privileges",
              "-v", "%s:/etc/livesync/certs:ro" % certs]
    pm.run("run", "--detach", "--name", REFERENCE, "--network-alias", "reference",
           "--ip", REFERENCE_IP, "--mac-address", REFERENCE_MAC,
           "--user", "%d:%d" % (podman.REFERENCE_UID, podman.REFERENCE_UID), "--cap-drop", "ALL",
           "-v", "%s:/srv/reference" % VOLUME, *common, podman.IMAGES["reference"])
    pm.wait_healthy(REFERENCE, timeout=60)
    pm.run("run", "--detach", "--name", WATCHER, "--add-host", "reference:" + REFERENCE_IP,
           "--cap-drop", "ALL",
           "--cap-add", "DAC_READ_SEARCH", "-v", "%s:/srv/watched:ro" % src, *common,
           podman.IMAGES["watcher"])


def check_privileges(pm):
    ref, wat = proc_status(pm, REFERENCE), proc_status(pm, WATCHER)
    uids = ref["Uid"].split()
    check(uids == [str(podman.REFERENCE_UID)] * 4, "reference runs as uids %s" % uids)
    check(int(ref["CapEff"], 16) == 0 and int(ref["CapPrm"], 16) == 0
          and int(ref["CapBnd"], 16) == 0,
          "reference has capabilities: %s" % {k: ref[k].strip() for k in ref if k.startswith("Cap")})
    check(ref["NoNewPrivs"].strip() == "1", "reference without no-new-privileges")
    check(wat["Uid"].split()[0] == "0", "watcher runs as uid %s" % wat["Uid"])
    check(int(wat["CapEff"], 16) == CAP_DAC_READ_SEARCH,
          "watcher's capabilities are %s, expected CAP_DAC_READ_SEARCH only" % wat["CapEff"].strip())
    for name in (REFERENCE, WATCHER):
        ro = pm.out("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", name, quiet=True).strip()
        check(ro == "true", "%s: ReadonlyRootfs=%s" % (name, ro))
        rc, _, err = pm.exec(name, "touch", "/usr/local/bin/x", check_rc=False)
        check(rc != 0 and "Read-only file system" in err,
              "%s: writing to its root filesystem: rc=%d %s" % (name, rc, err.strip()))
    log("privileges: reference uid %d, no capability, no-new-privileges; watcher root with "
        "CAP_DAC_READ_SEARCH only; both root filesystems read-only" % podman.REFERENCE_UID)


def wait_status(pm, what, timeout, cond):
    return podman.poll(lambda: (lambda s: s if cond(s) else None)(status(pm)),
                       timeout, what, interval=0.3)


def pair(bin_dir, workdir):
    """Both nodes as containers: sync, live change, status, health, restart."""
    pm = podman.require_podman(workdir)
    with podman.Lock():
        pm.remove_leftovers()
        podman.ensure_base_image(pm, workdir)
        podman.probe_run(pm)
        podman.build_images(pm)
        certs = podman.make_certs(workdir)
        src = os.path.join(workdir, "watched")
        os.mkdir(src)
        fill_watched(src)
        ok = False
        try:
            run_pair(pm, certs, src)
            ok = True
        finally:
            if not ok:
                pm.print_logs(REFERENCE, WATCHER)
            pm.remove_leftovers()
        pm.check_clean()


def run_pair(pm, certs, src):
    t0 = time.monotonic()
    run_nodes(pm, certs, src)
    ref = pm.volume_path(VOLUME)

    # -- the initial sync --
    s = wait_status(pm, "watcher in-sync", 60, lambda s: s.get("state") == "in-sync")
    t_sync = time.monotonic() - t0
    podman.wait_converged(src, ref, 5, "initial sync")
    check(s["tls"] is True, "the link is not TLS: %r" % s)
    log("initial sync: in-sync %.1f s after the reference container started; %d files, "
        "%d B on the wire" % (t_sync, s["files"], s["wire_bytes"]))
    check_privileges(pm)

    # -- health checks --
    for name in (REFERENCE, WATCHER):
        pm.wait_healthy(name, timeout=30)

    # -- a live change: a new file, a new directory with a file --
    t1 = time.monotonic()
    harness.write_file(os.path.join(src, "live.txt"), b"written while both run\n")
    harness.write_file(os.path.join(src, "newdir", "sub", "f.txt"), b"in a new directory\n")
    dt = podman.wait_converged(src, ref, 10, "live change mirrored")
    log("live change: on the reference %.2f s after the write" % (time.monotonic() - t1))
    # ... and with flush: identical the moment it returns.
    harness.write_file(os.path.join(src, "newdir", "after-flush.txt"), b"flushed\n")
    os.rename(os.path.join(src, "live.txt"), os.path.join(src, "newdir", "live.txt"))
    rc, out, err = pm.exec(WATCHER, "livesync-watcher", "flush", "--config-file=" + WATCHER_INI)
    log("flush: %s" % (out + err).strip())
    dt = podman.wait_converged(src, ref, 0.5, "identical once flush returned")
    del dt

    # -- status through podman exec --
    rc, text = status(pm, text=True)
    log("status:\n  " + "\n  ".join(text.splitlines()))
    check(rc == 0 and "state: in-sync" in text and "(mutual TLS)" in text,
          "status through podman exec: rc=%d\n%s" % (rc, text))

    # -- a restart of the reference container: nothing re-sent --
    before = status(pm)
    t2 = time.monotonic()
    pm.run("stop", "--time", "10", REFERENCE, timeout=60)
    stop_s = time.monotonic() - t2
    code = pm.out("inspect", "--format", "{{.State.ExitCode}}", REFERENCE, quiet=True).strip()
    check(code == "0", "the reference exited with code %s on SIGTERM" % code)
    check(stop_s < 9, "the reference took %.1f s to stop (SIGKILL after 10 s?)" % stop_s)
    # While it is down the watcher is unhealthy: its link is gone.
    podman.poll(lambda: pm.healthcheck(WATCHER)[0] != 0, 20,
                "watcher unhealthy while the reference is stopped")
    t3 = time.monotonic()
    pm.run("start", REFERENCE)
    after = wait_status(pm, "in-sync after the reference's restart", 90,
                        lambda s: s.get("reconnects", 0) > before["reconnects"]
                        and s.get("state") == "in-sync")
    log("reference restart: stopped in %.2f s (exit 0), watcher in-sync %.1f s after the start"
        % (stop_s, time.monotonic() - t3))
    # How the watcher saw it (its backoff decides when it tries again).
    for l in pm.logs(WATCHER, tail=400).splitlines():
        if re.search(r"peer-lost|connect-failed|peer-reconnected|in-sync", l):
            log("  watcher: %s" % l.strip())
    podman.wait_converged(src, ref, 5, "identical after the restart")
    moved = {k: (before[k], after[k]) for k in CONTENT_COUNTERS if before[k] != after[k]}
    check(not moved, "content re-sent after the reference's restart: %s (before -> after)" % moved)
    log("no content re-sent: %s unchanged; reconnects %d -> %d, ops %d -> %d"
        % (", ".join("%s=%d" % (k, after[k]) for k in CONTENT_COUNTERS),
           before["reconnects"], after["reconnects"], before["ops"], after["ops"]))
    for name in (REFERENCE, WATCHER):
        pm.wait_healthy(name, timeout=30)
    # The link works after the restart.
    harness.write_file(os.path.join(src, "newdir", "after-restart.txt"), b"again\n")
    podman.wait_converged(src, ref, 10, "a change after the restart")

    # -- stop: exit code 0 on SIGTERM for both --
    for name in (WATCHER, REFERENCE):
        pm.run("stop", "--time", "10", name, timeout=60)
        code = pm.out("inspect", "--format", "{{.State.ExitCode}}", name, quiet=True).strip()
        check(code == "0", "%s exited with code %s on SIGTERM" % (name, code))
    log("RESULT pair: %.1f s from the first container to both stopped" % (time.monotonic() - t0))


__all__ = ["images", "pair", "Failure"]
