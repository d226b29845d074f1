#!/usr/bin/env python3
"""The layering of the tree, checked on every #include (ctest
`layering.includes`): the two nodes share only messages/ and the plumbing
of a program (actors/common, apps/common); core/ never reaches actors;
core/wire and core/common (what both sides agree on) reach neither side.
The libraries (CMakeLists.txt) keep the link apart; this keeps the headers
apart too. Prints each breach as FILE:LINE: INCLUDE and exits 1."""

import os
import re
import sys

# (files under this prefix, includes they must not name)
RULES = [
    ("core/", ["actors/", "messages/", "apps/"]),
    ("core/wire/", ["core/watcher/", "core/reference/"]),
    ("core/common/", ["core/watcher/", "core/reference/", "core/wire/"]),
    ("core/watcher/", ["core/reference/"]),
    ("core/reference/", ["core/watcher/"]),
    ("actors/common/", ["actors/watcher/", "actors/reference/"]),
    ("actors/watcher/", ["actors/reference/", "core/reference/"]),
    ("actors/reference/", ["actors/watcher/", "core/watcher/"]),
    ("apps/watcher_", ["actors/reference/", "core/reference/"]),
    ("apps/reference_", ["actors/watcher/", "core/watcher/"]),
    ("apps/common/", ["actors/watcher/", "actors/reference/"]),
]

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    breaches = 0
    checked = 0
    for top in ("core", "actors", "apps", "messages"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if not f.endswith((".hpp", ".cpp")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                banned = [b for prefix, bs in RULES if rel.startswith(prefix)
                          for b in bs]
                checked += 1
                with open(path, encoding="utf-8") as src:
                    for n, line in enumerate(src, 1):
                        m = INCLUDE.match(line)
                        if m and any(m.group(1).startswith(b) for b in banned):
                            print("%s:%d: %s" % (rel, n, m.group(1)))
                            breaches += 1
    print("layering: %d files, %d breaches" % (checked, breaches))
    return 1 if breaches or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
