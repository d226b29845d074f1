"""E2E: the transport (issue 4, "Transport"): mutual TLS through CAF's
openssl module with a private CA from scripts/make-certs.sh, refusal of
peers signed by another CA, start-up checks of the key material, and
plain TCP only with an explicit --insecure that is logged loudly."""

import os
import re
import subprocess

from harness import (UNROUTABLE, WATCHER, binary, check, e2e_test, log,
                     reference_argv, settle, watcher_argv, write_file)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE_CERTS = os.path.join(REPO, "scripts", "make-certs.sh")


def make_certs(env, name, passphrase=None):
    d = os.path.join(env.base, name)
    e = dict(os.environ)
    if passphrase:
        e["LIVESYNC_KEY_PASSPHRASE"] = passphrase
    subprocess.run(["bash", MAKE_CERTS, d], check=True, env=e,
                   stdout=subprocess.DEVNULL)
    return d


def tls_args(certs, node, passphrase=None):
    args = ["--openssl.certificate=%s/%s.pem" % (certs, node),
            "--openssl.key=%s/%s.key" % (certs, node),
            "--openssl.cafile=%s/ca.pem" % certs]
    if passphrase:
        args.append("--openssl.passphrase=%s" % passphrase)
    return args


def plain(argv):
    """The harness adds --insecure to every command line; TLS runs drop it."""
    return [a for a in argv if a != "--insecure"]


def start_tls_pair(env, certs, watcher_certs=None, wait_sync=True):
    env.start_reference(argv=plain(reference_argv(env.ref, 0,
                                                  extra=tls_args(certs, "reference"))))
    wargv = plain(watcher_argv(env.src, env.reference.port,
                               extra=tls_args(watcher_certs or certs, "watcher")))
    return env.start_watcher(argv=wargv, wait_sync=wait_sync)


@e2e_test()
def test_tls_mirror(env):
    """A pair with mutual TLS mirrors; nothing says the link is insecure."""
    certs = make_certs(env, "certs")
    write_file(env.S("before.txt"), "initial\n")
    start_tls_pair(env, certs)
    env.wait_converged()
    write_file(env.S("live", "after.txt"), "live over TLS\n")
    env.wait_converged()
    for node in (env.reference, env.watcher):
        check(node.count(r"insecure-link") == 0,
              "%s logged insecure-link on a TLS link" % node.name)
        check(node.count(r"tls=true") >= 1, "%s does not report tls=true" % node.name)


@e2e_test()
def test_tls_rogue_ca_refused(env):
    """A watcher whose certificate comes from another CA is refused at the
    handshake: nothing reaches the reference, which keeps serving the
    right watcher afterwards."""
    certs = make_certs(env, "certs")
    rogue = make_certs(env, "rogue")
    write_file(env.S("secret.txt"), "must not arrive\n")
    w = start_tls_pair(env, certs, watcher_certs=rogue, wait_sync=False)
    w.wait_line(r"connect-failed", timeout=10, what="a refused handshake")
    settle(1.0)
    check(w.count(r"in-sync") == 0, "the rogue watcher reached in-sync")
    check(not os.path.exists(env.R("secret.txt")), "content from a rogue watcher arrived")
    w.stop()
    good = plain(watcher_argv(env.src, env.reference.port,
                              extra=tls_args(certs, "watcher")))
    env.start_watcher(argv=good)
    env.wait_converged()


@e2e_test()
def test_tls_encrypted_key(env):
    """An encrypted key works with its passphrase; a wrong or missing
    passphrase is a clear start-up error (exit 2), not a hang or abort."""
    certs = make_certs(env, "certs", passphrase="s3cret pass")
    write_file(env.S("a.txt"), "a\n")
    bad = []
    for pw in (None, "wrong"):
        for role in ("reference", "watcher"):
            if role == "reference":
                argv = plain(reference_argv(env.ref, 0, extra=tls_args(certs, role, pw)))
            else:
                argv = plain(watcher_argv(env.src, 1, host=UNROUTABLE,
                                          extra=tls_args(certs, role, pw)))
            rc, out, err = env.run_cli(argv, timeout=5)
            lines = [l for l in (out + err).splitlines() if l.strip()]
            log("%s passphrase=%r: rc=%s %r" % (role, pw, rc, lines[-1:]))
            if rc != 2 or len(lines) != 1 or "key" not in lines[0]:
                bad.append("%s passphrase=%r: rc=%s output=%r" % (role, pw, rc, lines[-3:]))
    check(not bad, "bad key material not refused cleanly:\n  " + "\n  ".join(bad))
    env.start_reference(argv=plain(reference_argv(
        env.ref, 0, extra=tls_args(certs, "reference", "s3cret pass"))))
    env.start_watcher(argv=plain(watcher_argv(
        env.src, env.reference.port, extra=tls_args(certs, "watcher", "s3cret pass"))))
    env.wait_converged()


def swap_roles(arg):
    """The watcher's version of a reference option: reference <-> watcher."""
    return (arg.replace("reference", "\0").replace("watcher", "reference")
            .replace("\0", "watcher"))


@e2e_test()
def test_tls_startup_checks(env):
    """Every way to get the transport wrong is exit 2 with one line."""
    certs = make_certs(env, "certs")
    other = make_certs(env, "other")
    c = certs
    cases = {
        "neither TLS nor --insecure": [],
        "TLS and --insecure": tls_args(c, "reference") + ["--insecure"],
        "only a CA": ["--openssl.cafile=%s/ca.pem" % c],
        "no CA": tls_args(c, "reference")[:2],
        "missing certificate file": ["--openssl.certificate=%s/nope.pem" % c]
                                    + tls_args(c, "reference")[1:],
        "key of another certificate": ["--openssl.certificate=%s/reference.pem" % c,
                                       "--openssl.key=%s/watcher.key" % c,
                                       "--openssl.cafile=%s/ca.pem" % c],
        "certificate from another CA": tls_args(other, "reference")[:2]
                                       + ["--openssl.cafile=%s/ca.pem" % c],
        # A CA directory (the system store, at worst) would admit any of
        # its CAs' certificates: refused, with or without a cafile.
        "a capath": tls_args(c, "reference")[:2] + ["--openssl.capath=/etc/ssl/certs"],
        "a capath beside the cafile": tls_args(c, "reference")
                                      + ["--openssl.capath=/etc/ssl/certs"],
    }
    bad = []
    for what, args in cases.items():
        for role in ("reference", "watcher"):
            # plain() first: the "TLS and --insecure" case adds its own.
            if role == "reference":
                argv = plain(reference_argv(env.ref, 0)) + args
            else:
                argv = plain(watcher_argv(env.src, 1, host=UNROUTABLE)) + [
                    swap_roles(a) for a in args]
            rc, out, err = env.run_cli(argv, timeout=5)
            lines = [l for l in (out + err).splitlines() if l.strip()]
            log("%s / %s: rc=%s %r" % (what, role, rc, lines[-1:]))
            if rc != 2 or len(lines) != 1:
                bad.append("%s / %s: rc=%s output=%r" % (what, role, rc, lines[-3:]))
    check(not bad, "transport mistakes not refused cleanly:\n  " + "\n  ".join(bad))


@e2e_test()
def test_insecure_is_loud(env):
    """--insecure works, and both nodes say so at start and per connection."""
    write_file(env.S("a.txt"), "a\n")
    env.start_pair()
    for node in (env.reference, env.watcher):
        check(node.count(r"insecure-link when=start") == 1,
              "%s: no insecure-link warning at start" % node.name)
        check(node.count(r"insecure-link when=connection") >= 1,
              "%s: no insecure-link warning for the connection" % node.name)


def handshake(port, certs=None, node=None, cafile=None, timeout=3.0):
    """Connects to a TLS reference as a raw TLS client and says what the
    server made of it: "accepted" (the handshake holds: the server then
    waits, or sends its BASP handshake), or "refused: <why>"."""
    import socket
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if certs:
        ctx.load_cert_chain("%s/%s.pem" % (certs, node), "%s/%s.key" % (certs, node))
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s = ctx.wrap_socket(raw)
        # With TLS 1.3 the server judges the client certificate after the
        # client's side of the handshake: its verdict arrives on the next read.
        try:
            data = s.recv(1)
            return "refused: closed" if not data else "accepted (data)"
        except socket.timeout:
            return "accepted"
    except (ssl.SSLError, ConnectionError, OSError) as e:
        return "refused: %s" % e.__class__.__name__
    finally:
        raw.close()


@e2e_test()
def test_tls_handshake_matrix(env):
    """At the TLS level: no client certificate, a self-signed one, one from
    another CA, and a plain-TCP BASP client are all refused by the
    reference; a certificate of its CA is accepted."""
    certs = make_certs(env, "certs")
    rogue = make_certs(env, "rogue")
    selfsigned = os.path.join(env.base, "self")
    os.makedirs(selfsigned)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=self", "-keyout", selfsigned + "/watcher.key",
                    "-out", selfsigned + "/watcher.pem"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env.start_reference(argv=plain(reference_argv(env.ref, 0,
                                                  extra=tls_args(certs, "reference"))))
    port = env.reference.port
    ca = "%s/ca.pem" % certs
    results = {
        "no client certificate": handshake(port, cafile=ca),
        "self-signed client": handshake(port, selfsigned, "watcher", ca),
        "client from another CA": handshake(port, rogue, "watcher", ca),
        "client of the CA": handshake(port, certs, "watcher", ca),
    }
    for k, v in results.items():
        log("%s: %s" % (k, v))
    bad = [k for k, v in results.items()
           if (k == "client of the CA") != v.startswith("accepted")]
    check(not bad, "unexpected handshake results: %r" % results)
    # A plain-TCP livesync watcher (--insecure) gets nowhere.
    write_file(env.S("secret.txt"), "must not arrive\n")
    w = env.start_watcher(argv=watcher_argv(env.src, port), wait_sync=False)
    w.wait_line(r"connect-failed|peer-lost", timeout=15, what="a refused plain client")
    settle(0.5)
    check(w.count(r"in-sync") == 0, "a plain-TCP watcher reached in-sync")
    check(not os.path.exists(env.R("secret.txt")), "content from a plain client arrived")
    env.reference.check_alive()


@e2e_test(timeout=90)
def test_tls_strangers_do_not_reset_the_link(env):
    """While the link carries data, clients that connect to the reference's
    TLS port and leave (raw TCP with garbage, a TLS handshake without a
    certificate) are refused without touching the watcher's link: no
    peer-lost, no reconnect. (CAF 0.17 leaves OpenSSL errors in the thread's
    queue; apps/ssl_error_queue.cpp clears it. Without it 3 of 5 such
    connects reset the link.)"""
    import socket
    import ssl
    import threading
    certs = make_certs(env, "certs")
    start_tls_pair(env, certs)
    port = env.reference.port
    done = threading.Event()

    def churn():
        # Keeps the link busy: 6 files of 24 MiB, one after the other.
        for i in range(6):
            write_file(env.S("busy%d.bin" % i), os.urandom(24 << 20))
        done.set()

    t = threading.Thread(target=churn)
    t.start()
    pokes = 0
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    while not done.is_set() or pokes < 6:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            if pokes % 2 == 0:
                s.sendall(b"not a TLS client hello" * 8)
                s.close()
            else:
                ctx.wrap_socket(s).close()
        except (OSError, ssl.SSLError):
            pass
        pokes += 1
        settle(0.05)
    t.join()
    env.wait_converged(timeout=60)
    log("%d strangers connected during the transfer" % pokes)
    check(env.watcher.count(r"peer-lost") == 0,
          "the link was reset by strangers: %r" % env.watcher.matching(r"peer-lost"))
    check(env.watcher.count(r"in-sync") == 1,
          "the watcher reconnected: %r" % env.watcher.matching(r"in-sync"))


@e2e_test()
def test_tls_control_port(env):
    """The control port (status, flush) speaks the link's mutual TLS: a
    client without a certificate, one of another CA, and a plain-TCP status
    are refused; the CA's own certificate gets the status."""
    certs = make_certs(env, "certs")
    rogue = make_certs(env, "rogue")
    start_tls_pair(env, certs)
    line = env.watcher.wait_line(r"control-listening bind=\S+ port=\d+")
    port = int(re.search(r"port=(\d+)", line).group(1))
    ca = "%s/ca.pem" % certs
    results = {
        "no client certificate": handshake(port, cafile=ca),
        "client from another CA": handshake(port, rogue, "watcher", ca),
        "client of the CA": handshake(port, certs, "watcher", ca),
    }
    log("control port: %r" % results)
    bad = [k for k, v in results.items()
           if (k == "client of the CA") != v.startswith("accepted")]
    check(not bad, "unexpected handshake results: %r" % results)
    status = [binary(WATCHER), "status", "--control-port=%d" % port, "--timeout=3s"]
    rc, out, err = env.run_cli(status + ["--insecure"], timeout=10, name="status-plain")
    check(rc != 0 and "state:" not in out, "a plain-TCP status got an answer: rc=%s %r"
          % (rc, out))
    rc, out, err = env.run_cli(status + tls_args(certs, "watcher"), timeout=10,
                               name="status-tls")
    check(rc == 0 and "state: in-sync" in out, "status over TLS: rc=%s out=%r err=%r"
          % (rc, out, err))
