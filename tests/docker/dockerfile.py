"""A small Dockerfile reader for tests/docker/lint.py (standard library):
instructions with continuation lines joined, stages with their parents,
the packages a stage installs, and .dockerignore's verdict on a path."""

import fnmatch
import re


class Stage:
    def __init__(self, name, base, parent):
        self.name = name
        self.base = base
        self.parent = parent  # an earlier Stage, or None
        self.instructions = []  # (line number, KEYWORD, rest)
        self.files = {}  # path in the image -> path in the repository (or None)

    def provides(self, path):
        s = self
        while s is not None:
            if path in s.files:
                return True, s.files[path]
            s = s.parent
        return False, None


def dockerfile_instructions(path):
    """(line number, KEYWORD, rest) with continuation lines joined and
    comments dropped."""
    out, buf, start = [], "", None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            stripped = line.strip()
            if not buf and (not stripped or stripped.startswith("#")):
                continue
            if buf and stripped.startswith("#"):
                continue  # a comment inside a continued instruction
            if start is None:
                start = n
            if stripped.endswith("\\"):
                buf += stripped[:-1] + " "
                continue
            buf += stripped
            keyword, _, rest = buf.partition(" ")
            out.append((start, keyword.upper(), rest.strip()))
            buf, start = "", None
    return out


def parse_stages(path, base_images):
    """({name: Stage}, [Stage in file order], [error]): every FROM names one
    of `base_images` or an earlier stage."""
    stages = {}
    order = []
    errors = []
    for n, kw, rest in dockerfile_instructions(path):
        if kw == "FROM":
            m = re.match(r"^(\S+)(?:\s+AS\s+(\S+))?$", rest, re.IGNORECASE)
            if not m:
                errors.append("Dockerfile:%d: cannot parse FROM %s" % (n, rest))
                continue
            base, name = m.group(1), m.group(2) or "stage%d" % len(order)
            parent = stages.get(base)
            if parent is None and base not in base_images:
                errors.append("Dockerfile:%d: FROM %s is neither %s nor an earlier stage"
                              % (n, base, " nor ".join(base_images)))
            stage = Stage(name, base, parent)
            stages[name] = stage
            order.append(stage)
        elif not order:
            errors.append("Dockerfile:%d: %s before any FROM" % (n, kw))
        else:
            order[-1].instructions.append((n, kw, rest))
    return stages, order, errors


def dockerignore_allows(dockerignore, rel):
    """True when the .dockerignore file lets `rel` (a path in the context)
    into the build context: the last pattern matching it or one of its
    parent directories decides (Docker's rule: later lines win)."""
    try:
        with open(dockerignore) as f:
            patterns = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    except FileNotFoundError:
        return True
    parts = rel.strip("/").split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    allowed = True
    for p in patterns:
        neg = p.startswith("!")
        pat = p[1:] if neg else p
        pat = pat.strip("/")
        if any(fnmatch.fnmatchcase(pre, pat) for pre in prefixes):
            allowed = neg
    return allowed


def installed_packages(stage):
    pkgs = []
    for n, kw, rest in stage.instructions:
        if kw != "RUN":
            continue
        for m in re.finditer(r"apt-get install ([^&;|]*)", rest):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs
