"""A/B of two builds: initial sync of 20,000 small files (1,000 dirs), both
trees on tmpfs (/dev/shm: no disk noise, which swings bulk figures by 2x
here), the builds interleaved 6 times each; wall time to in-sync and CPU
seconds (user+sys) of each node, with medians.

  python3 bench/ab_initial_sync.py OLD_BIN_DIR NEW_BIN_DIR

Each dir holds livesync-watcher and livesync-reference (copy them out of a
build dir first: a rebuild during the run would mix builds)."""
import os, re, shutil, subprocess, sys, time
BASE = "/dev/shm/livesync-ab-%d" % os.getpid()
def make_tree(src):
    for d in range(1000):
        p = os.path.join(src, "d%03d" % (d // 50), "e%04d" % d)
        os.makedirs(p)
        for f in range(20):
            with open(os.path.join(p, "f%02d.txt" % f), "wb") as fh:
                fh.write((b"line %d %d\n" % (d, f)) * (1 + (d * 7 + f) % 40))
def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        x = f.read().rsplit(")", 1)[1].split()
    return (int(x[11]) + int(x[12])) / os.sysconf("SC_CLK_TCK")
def run(bins, src, ref):
    shutil.rmtree(ref, ignore_errors=True)
    r = subprocess.Popen([bins + "/livesync-reference", "--root=" + ref, "--port=0", "--insecure", "--log-level=info"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    port = None
    for line in r.stdout:
        m = re.search(r"listening .*port=(\d+)", line)
        if m: port = m.group(1); break
    t0 = time.monotonic()
    w = subprocess.Popen([bins + "/livesync-watcher", "--root=" + src, "--port=" + port, "--insecure",
                          "--control-port=0", "--log-level=info"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in w.stdout:
        if "in-sync" in line: break
    dt = time.monotonic() - t0
    cw, cr = cpu(w.pid), cpu(r.pid)
    w.terminate(); r.terminate(); w.wait(); r.wait()
    return dt, cw, cr
shutil.rmtree(BASE, ignore_errors=True)
src = BASE + "/src"; make_tree(src)
if len(sys.argv) != 3:
    sys.exit(__doc__)
dirs = {"old": sys.argv[1], "new": sys.argv[2]}
res = {"old": [], "new": []}
order = [("old", "new"), ("new", "old")] * 3
for a, b in order:
    for which in (a, b):
        res[which].append(run(dirs[which], src, BASE + "/ref"))
        print(which, "wall %.3f s  watcher cpu %.2f s  reference cpu %.2f s" % res[which][-1], flush=True)
for k, v in res.items():
    v = sorted(v)
    med = lambda i: sorted(x[i] for x in v)[len(v) // 2]
    print("%s median: wall %.3f s, watcher cpu %.2f s, reference cpu %.2f s" % (k, med(0), med(1), med(2)))
shutil.rmtree(BASE, ignore_errors=True)
