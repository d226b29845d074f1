#!/usr/bin/env python3
"""The raw-TCP anchor: one file copied over a plain loopback socket.

  python3 bench/tcp_copy.py recv DEST   prints its port, accepts one
                                        connection, writes what it reads to
                                        DEST, prints the byte count, exits
  python3 bench/tcp_copy.py send FILE PORT
                                        sends FILE to 127.0.0.1:PORT with
                                        sendfile(2) and closes

No framing, no hashing, no fsync: the most a file copy over loopback TCP
can do on this machine with the same disk on both ends (the physical limit
livesync's streaming is compared with). Each side is its own process, as
livesync's two nodes are.
"""

import os
import socket
import sys

BUF = 1 << 20


def recv(dest):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    print(ls.getsockname()[1], flush=True)
    c, _ = ls.accept()
    ls.close()
    buf = bytearray(BUF)
    view = memoryview(buf)
    n = 0
    with open(dest, "wb") as f:
        while True:
            k = c.recv_into(buf)
            if not k:
                break
            f.write(view[:k])
            n += k
    c.close()
    print(n, flush=True)
    return 0


def send(path, port):
    with socket.create_connection(("127.0.0.1", port)) as s, open(path, "rb") as f:
        s.sendfile(f)
        s.shutdown(socket.SHUT_WR)
    return 0


def main(argv):
    if len(argv) == 2 and argv[0] == "recv":
        return recv(argv[1])
    if len(argv) == 3 and argv[0] == "send":
        return send(argv[1], int(argv[2]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
