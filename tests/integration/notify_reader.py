#!/usr/bin/python3
"""notify_reader.py -- a service manager's end of sd_notify(3), for tests.

Binds a real AF_UNIX datagram socket at PATH (what systemd does for
$NOTIFY_SOCKET) and appends every datagram it receives to LOG as one line,
"MILLISECONDS MESSAGE" (monotonic clock; newlines inside a message become
" | "), flushed at once so a test can wait for lines.  Runs until killed or
for --lifetime seconds.

usage: notify_reader.py PATH LOG [--lifetime SECONDS]
"""
import argparse
import os
import socket
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("log")
    ap.add_argument("--lifetime", type=float, default=120)
    a = ap.parse_args()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if os.path.exists(a.path):
        os.unlink(a.path)
    s.bind(a.path)
    end = time.monotonic() + a.lifetime
    with open(a.log, "a", buffering=1) as log:
        log.write("%d LISTENING\n" % (time.monotonic() * 1000))
        while time.monotonic() < end:
            s.settimeout(max(0.1, end - time.monotonic()))
            try:
                msg = s.recv(4096)
            except socket.timeout:
                continue
            text = msg.decode("utf-8", "replace").rstrip("\n")
            log.write("%d %s\n" % (time.monotonic() * 1000,
                                   text.replace("\n", " | ")))
    os.unlink(a.path)


if __name__ == "__main__":
    main()
