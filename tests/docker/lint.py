#!/usr/bin/env python3
"""docker.lint: static checks of the Docker packaging (no Docker engine runs
here; hadolint is not in Debian).

    python3 tests/docker/run.py --bin-dir=build lint   # as CTest runs it
    python3 tests/docker/lint.py [--bin-dir=build]

- shellcheck passes on docker/*.sh and on every RUN line of docker/Dockerfile;
- docker/Dockerfile: every FROM is debian:bookworm(-slim) or an earlier
  stage; every file it COPYs exists and is let in by .dockerignore; every
  ENTRYPOINT, HEALTHCHECK and LIVESYNC_CONFIG path is a file the stage
  copied in (executable where it is run);
- packages: every one it installs is known to `apt-cache show`; the build
  stage's are listed in scripts/setup.sh; the runtime stage's are exactly
  the packages of the libraries the two programs link (ldd + dpkg -S, less
  libc6 and libgcc-s1, which every Debian image has);
- the build stage's COPYs give a source tree that CMake configures with
  its options into the two programs' targets;
- docker/compose.yaml passes `docker-compose config` (alone and with
  docker/compose.podman.yaml), builds targets that the Dockerfile defines,
  and mounts files that exist; so does the fan-out example on top of it
  (docker/compose.fanout.yaml, and with docker/compose.fanout.podman.yaml),
  whose watcher reads docker/watcher.fanout.ini.

Exit codes: 0 pass, 1 a check failed, 77 skipped (a tool is missing:
shellcheck, apt-cache, dpkg, docker-compose, or the built programs; the
other checks still run, and a failure wins over a skip).
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dockerfile  # noqa: E402  (tests/docker/dockerfile.py)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKERFILE = os.path.join(REPO, "docker", "Dockerfile")
COMPOSE = os.path.join(REPO, "docker", "compose.yaml")
COMPOSE_PODMAN = os.path.join(REPO, "docker", "compose.podman.yaml")
COMPOSE_FANOUT = os.path.join(REPO, "docker", "compose.fanout.yaml")
COMPOSE_FANOUT_PODMAN = os.path.join(REPO, "docker", "compose.fanout.podman.yaml")
SETUP = os.path.join(REPO, "scripts", "setup.sh")
DOCKERIGNORE = os.path.join(REPO, ".dockerignore")
CERTS = os.path.join("docker", "certs")  # made by the user, not in git
BASE_IMAGES = ("debian:bookworm", "debian:bookworm-slim")
# In every Debian image (libc6 and what it depends on): not installed again.
BASE_PACKAGES = {"libc6", "libgcc-s1"}
PROGRAMS = ("livesync-reference", "livesync-watcher")

failures = []
skipped = []


def fail(msg):
    failures.append(msg)
    print("FAIL: %s" % msg, flush=True)


def skip(msg):
    skipped.append(msg)
    print("SKIP: %s" % msg, flush=True)


def ok(msg):
    print("ok: %s" % msg, flush=True)


def run(argv, **kw):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, cwd=REPO, timeout=60, **kw)


# -- Dockerfile --------------------------------------------------------------------


def check_copies(stages, order):
    for stage in order:
        for n, kw, rest in stage.instructions:
            if kw not in ("COPY", "ADD"):
                continue
            if kw == "ADD":
                fail("Dockerfile:%d: ADD (use COPY: no URLs, no tar extraction)" % n)
            args = shlex.split(rest)
            flags = [a for a in args if a.startswith("--")]
            paths = [a for a in args if not a.startswith("--")]
            if len(paths) < 2:
                fail("Dockerfile:%d: COPY needs a source and a destination" % n)
                continue
            srcs, dest = paths[:-1], paths[-1]
            from_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
            if from_stage is not None and from_stage not in stages:
                fail("Dockerfile:%d: COPY --from=%s: no such stage" % (n, from_stage))
            for src in srcs:
                if from_stage is None:
                    full = os.path.join(REPO, src)
                    if not os.path.exists(full):
                        fail("Dockerfile:%d: COPY %s: no such file in the repository" % (n, src))
                    elif not dockerfile.dockerignore_allows(DOCKERIGNORE, src):
                        fail("Dockerfile:%d: COPY %s: excluded by .dockerignore" % (n, src))
                target = (os.path.join(dest, os.path.basename(src.rstrip("/")))
                          if dest.endswith("/") and not src.endswith("/") else dest)
                stage.files[os.path.normpath(target)] = (
                    None if from_stage is not None else os.path.join(REPO, src))
    ok("Dockerfile: every COPY source exists and passes .dockerignore")


def check_run_paths(order):
    """ENTRYPOINT, HEALTHCHECK CMD and ENV LIVESYNC_CONFIG name files the
    stage has; the programs the image runs are executable."""
    import json
    for stage in order:
        for n, kw, rest in stage.instructions:
            needed = []
            if kw == "ENTRYPOINT":
                needed = [(json.loads(rest)[0], True)]
            elif kw == "HEALTHCHECK":
                m = re.search(r"\bCMD\s+(\[.*\])\s*$", rest)
                if not m:
                    fail("Dockerfile:%d: HEALTHCHECK without an exec-form CMD" % n)
                    continue
                needed = [(json.loads(m.group(1))[0], True)]
            elif kw == "ENV":
                m = re.match(r"^LIVESYNC_CONFIG=(\S+)$", rest)
                if m:
                    needed = [(m.group(1), False)]
            for path, executable in needed:
                has, src = stage.provides(os.path.normpath(path))
                if not has:
                    fail("Dockerfile:%d (stage %s): %s is not copied into the image"
                         % (n, stage.name, path))
                elif executable and src is not None and not os.access(src, os.X_OK):
                    fail("Dockerfile:%d: %s is run but %s is not executable"
                         % (n, path, os.path.relpath(src, REPO)))
    ok("Dockerfile: ENTRYPOINT, HEALTHCHECK and LIVESYNC_CONFIG name files of their stage")


def setup_packages():
    with open(SETUP) as f:
        text = f.read()
    m = re.search(r"^packages=\((.*?)^\)", text, re.MULTILINE | re.DOTALL)
    words = []
    for line in m.group(1).splitlines():
        words += line.split("#", 1)[0].split()
    return set(words)


def check_packages(stages, bin_dir):
    build, runtime = stages.get("build"), stages.get("runtime")
    if build is None or runtime is None:
        fail("Dockerfile: stages 'build' and 'runtime' expected, found %s" % sorted(stages))
        return
    build_pkgs = dockerfile.installed_packages(build)
    runtime_pkgs = dockerfile.installed_packages(runtime)
    if not build_pkgs or not runtime_pkgs:
        fail("Dockerfile: no apt-get install found in the build or runtime stage")
        return
    listed = setup_packages()
    extra = sorted(set(build_pkgs) - listed)
    if extra:
        fail("Dockerfile: build packages not in scripts/setup.sh: %s" % extra)
    else:
        ok("build stage packages are scripts/setup.sh's: %s" % " ".join(build_pkgs))

    if not shutil.which("apt-cache"):
        skip("apt-cache not found: package names not checked")
    else:
        # One call (apt-cache takes seconds on a busy machine): the names it
        # shows are the known ones.
        p = run(["apt-cache", "show", "--no-all-versions"] + build_pkgs + runtime_pkgs)
        known = set(re.findall(r"^Package: (\S+)$", p.stdout.decode(), re.MULTILINE))
        unknown = [p for p in build_pkgs + runtime_pkgs if p not in known]
        if unknown:
            fail("Dockerfile: packages unknown to apt-cache: %s" % unknown)
        else:
            ok("apt-cache knows all %d packages" % len(build_pkgs + runtime_pkgs))

    if not bin_dir:
        skip("no --bin-dir: runtime libraries not checked")
        return
    if not (shutil.which("ldd") and shutil.which("dpkg")):
        skip("ldd or dpkg not found: runtime libraries not checked")
        return
    needed = {}
    for prog in PROGRAMS:
        path = os.path.join(bin_dir, prog)
        if not os.access(path, os.X_OK):
            skip("%s not built: runtime libraries not checked" % path)
            return
        p = run(["ldd", path])
        for line in p.stdout.decode().splitlines():
            m = re.search(r"=>\s+(/\S+)", line)
            if not m:
                continue
            lib = os.path.realpath(m.group(1))
            # dpkg knows /lib/... or /usr/lib/... (merged /usr): try both.
            cands = [lib, m.group(1)]
            if lib.startswith("/usr/lib/"):
                cands.append(lib[len("/usr"):])
            owner = None
            for c in cands:
                q = run(["dpkg", "-S", c])
                if q.returncode == 0:
                    owner = q.stdout.decode().split(":", 1)[0].strip()
                    break
            if owner is None:
                fail("%s links %s, which no Debian package owns" % (prog, lib))
                continue
            needed.setdefault(owner, set()).add(os.path.basename(lib))
    need = set(needed) - BASE_PACKAGES
    missing = sorted(need - set(runtime_pkgs))
    unused = sorted(set(runtime_pkgs) - need)
    if missing:
        fail("runtime stage lacks packages the programs link: %s"
             % ", ".join("%s (%s)" % (p, " ".join(sorted(needed[p]))) for p in missing))
    if unused:
        fail("runtime stage installs packages no program links: %s" % unused)
    if not missing and not unused:
        ok("runtime packages = the packages of the linked libraries: %s"
           % " ".join(sorted(need)))


def check_build_context(stages):
    """The build stage's COPYs make a source tree that CMake configures with
    the stage's options (tests off) into a build of the two programs."""
    build = stages.get("build")
    if build is None:
        return
    if not shutil.which("cmake"):
        skip("cmake not found: the build stage's sources not configured")
        return
    cmake_run = next((rest for _, kw, rest in build.instructions
                      if kw == "RUN" and "cmake -S" in rest), None)
    if cmake_run is None:
        fail("Dockerfile: the build stage runs no `cmake -S`")
        return
    m = re.search(r"cmake -S \S+ -B \S+((?: -D\S+)*)", cmake_run)
    defines = m.group(1).split() if m else []
    with tempfile.TemporaryDirectory(prefix="livesync-docker-context-") as d:
        workdir = d
        for n, kw, rest in build.instructions:
            if kw == "WORKDIR":
                workdir = os.path.join(d, rest.lstrip("/"))
                os.makedirs(workdir, exist_ok=True)
            elif kw == "COPY" and "--from" not in rest:
                *srcs, dest = shlex.split(rest)
                for src in srcs:
                    target = os.path.join(workdir, dest)
                    full = os.path.join(REPO, src)
                    if os.path.isdir(full):
                        shutil.copytree(full, target, dirs_exist_ok=True)
                    elif os.path.isfile(full):
                        os.makedirs(os.path.dirname(os.path.join(target, "x")), exist_ok=True)
                        shutil.copy(full, target)
        # Every quoted #include resolves in the copied tree (configuring
        # alone would not notice a missing header directory).
        unresolved = []
        for top, _dirs, names in os.walk(workdir):
            for name in names:
                if not name.endswith((".cpp", ".hpp", ".h")):
                    continue
                path = os.path.join(top, name)
                with open(path, errors="replace") as f:
                    for inc in re.findall(r'^\s*#\s*include\s+"([^"]+)"', f.read(), re.MULTILINE):
                        if not any(os.path.isfile(os.path.join(base, inc))
                                   for base in (workdir, top)):
                            unresolved.append("%s: %s" % (os.path.relpath(path, workdir), inc))
        if unresolved:
            fail("the build stage's sources include files it does not copy:\n  %s"
                 % "\n  ".join(unresolved[:20]))
        p = run(["cmake", "-S", workdir, "-B", os.path.join(d, "build")] + defines)
        if p.returncode != 0:
            fail("the build stage's sources do not configure (cmake%s):\n%s"
                 % ("".join(" " + x for x in defines), p.stdout.decode()[-3000:]))
            return
        p = run(["cmake", "--build", os.path.join(d, "build"), "--target", "help"])
        targets = set(re.findall(r"^\.\.\. (\S+)", p.stdout.decode(), re.MULTILINE))
        missing = [t for t in PROGRAMS if t not in targets]
        if missing:
            fail("the build stage's CMake tree lacks the targets %s" % missing)
        else:
            ok("the build stage's sources configure (%s) with targets %s"
               % (" ".join(defines), " ".join(PROGRAMS)))


# -- shell -----------------------------------------------------------------------


def check_shell(order):
    if not shutil.which("shellcheck"):
        skip("shellcheck not found (apt-get install shellcheck)")
        return
    scripts = sorted(os.path.join("docker", n) for n in os.listdir(os.path.join(REPO, "docker"))
                     if n.endswith(".sh"))
    p = run(["shellcheck", "-x"] + scripts)
    if p.returncode != 0:
        fail("shellcheck %s:\n%s" % (" ".join(scripts), p.stdout.decode()))
    else:
        ok("shellcheck: %s" % " ".join(scripts))
    # RUN lines run with the stage's SHELL (bash -o pipefail here).
    with tempfile.TemporaryDirectory(prefix="livesync-docker-lint-") as d:
        files = []
        for stage in order:
            for n, kw, rest in stage.instructions:
                if kw == "RUN":
                    path = os.path.join(d, "Dockerfile-line-%d.sh" % n)
                    with open(path, "w") as f:
                        f.write("#!/bin/bash\nset -o pipefail\n%s\n" % rest)
                    files.append(path)
        p = run(["shellcheck"] + files)
        if p.returncode != 0:
            fail("shellcheck of the Dockerfile's RUN lines:\n%s" % p.stdout.decode())
        else:
            ok("shellcheck: %d RUN lines of docker/Dockerfile" % len(files))


# -- compose ---------------------------------------------------------------------


def check_compose(stages):
    exe = shutil.which("docker-compose")
    if not exe:
        skip("docker-compose not found (apt-get install docker-compose)")
        return
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVESYNC_", "COMPOSE_"))}
    p = run([exe, "-f", COMPOSE, "config"], env=env)
    text = p.stdout.decode()
    if p.returncode != 0:
        fail("docker-compose config:\n%s" % text)
        return
    ok("docker-compose config accepts docker/compose.yaml")
    p = run([exe, "-f", COMPOSE, "-f", COMPOSE_PODMAN, "config", "--quiet"], env=env)
    if p.returncode != 0:
        fail("docker-compose config with docker/compose.podman.yaml:\n%s" % p.stdout.decode())
    else:
        ok("docker-compose config accepts docker/compose.yaml + docker/compose.podman.yaml")
    # The fan-out example (two references), alone and on podman.
    p = run([exe, "-f", COMPOSE, "-f", COMPOSE_FANOUT, "config"], env=env)
    fanout_text = p.stdout.decode()
    if p.returncode != 0:
        fail("docker-compose config with docker/compose.fanout.yaml:\n%s" % fanout_text)
        fanout_text = None
    else:
        ok("docker-compose config accepts docker/compose.yaml + docker/compose.fanout.yaml")
    p = run([exe, "-f", COMPOSE, "-f", COMPOSE_PODMAN, "-f", COMPOSE_FANOUT,
             "-f", COMPOSE_FANOUT_PODMAN, "config", "--quiet"], env=env)
    if p.returncode != 0:
        fail("docker-compose config with the podman and fan-out files:\n%s" % p.stdout.decode())
    else:
        ok("docker-compose config accepts compose.yaml + compose.podman.yaml + "
           "compose.fanout.yaml + compose.fanout.podman.yaml")
    try:
        import yaml  # python3-yaml, a dependency of docker-compose
    except ImportError:
        skip("python3-yaml not found: compose contents not checked")
        return
    check_compose_services(stages, yaml.safe_load(text), "compose.yaml")
    if fanout_text is not None:
        cfg = yaml.safe_load(fanout_text)
        check_compose_services(stages, cfg, "compose.yaml + compose.fanout.yaml")
        mounts = [v.split(":")[:2] if isinstance(v, str) else [v.get("source"), v.get("target")]
                  for v in cfg.get("services", {}).get("watcher", {}).get("volumes", [])]
        ini = [src for src, dst in mounts if dst == "/etc/livesync/watcher.ini"]
        if [os.path.basename(x) for x in ini] != ["watcher.fanout.ini"]:
            fail("compose.fanout.yaml: the watcher's /etc/livesync/watcher.ini is %r, "
                 "not docker/watcher.fanout.ini alone" % ini)
        else:
            ok("compose.fanout.yaml: the watcher reads docker/watcher.fanout.ini")


def check_compose_services(stages, cfg, what):
    for name, svc in cfg.get("services", {}).items():
        build = svc.get("build", {})
        dockerfile = os.path.join(build.get("context", ""), build.get("dockerfile", ""))
        if os.path.realpath(dockerfile) != os.path.realpath(DOCKERFILE):
            fail("compose service %s builds %s, not docker/Dockerfile" % (name, dockerfile))
        if build.get("target") not in stages:
            fail("compose service %s: target %r is no stage of the Dockerfile"
                 % (name, build.get("target")))
        for v in svc.get("volumes", []):
            # Host paths in the repository must exist, but for the
            # certificates, which the user makes (README, "Docker").
            src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
            rel = os.path.relpath(os.path.realpath(src), REPO) if src.startswith("/") else None
            if (rel is not None and not rel.startswith("..") and rel != CERTS
                    and not os.path.exists(src)):
                fail("compose service %s mounts %s, which does not exist" % (name, rel))
        if "healthcheck" not in svc and not any(
                kw == "HEALTHCHECK" for s in _chain(stages.get(build.get("target")))
                for _, kw, _ in s.instructions):
            fail("compose service %s has no health check" % name)
    ok("%s: services %s build Dockerfile stages and mount existing files"
       % (what, " ".join(sorted(cfg.get("services", {})))))


def _chain(stage):
    while stage is not None:
        yield stage
        stage = stage.parent


def lint(bin_dir):
    """Runs every check; returns 0, 1 or 77 (see the module doc)."""
    stages, order, errors = dockerfile.parse_stages(DOCKERFILE, BASE_IMAGES)
    for e in errors:
        fail(e)
    check_copies(stages, order)
    check_run_paths(order)
    check_packages(stages, bin_dir)
    check_build_context(stages)
    check_shell(order)
    check_compose(stages)
    if failures:
        print("docker.lint: %d check(s) failed" % len(failures), flush=True)
        return 1
    if skipped:
        print("SKIP: docker.lint: %d check(s) skipped" % len(skipped), flush=True)
        return 77
    print("PASS: docker.lint", flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", help="directory of the built programs (for ldd)")
    return lint(ap.parse_args().bin_dir)


if __name__ == "__main__":
    sys.exit(main())
