#!/usr/bin/python3
"""handover_refuse.py -- a node binary given a handover state it must
refuse (tests/check-rolling.sh).

Starts BINARY as an in-place upgrade would, with VCOMP_HANDOVER naming a
state that is garbled (MODE garbled), of another format version
(version) or well-formed but written by another node (node), and with
two inherited sockets: an XMPP stream whose other end this script holds,
and a listening socket on a port no table names.  The node must start
fresh and let both go politely.  Prints one line per finding:

  BYE      the stream's other end got </stream:stream>, then the close
  CLOSED   the inherited listening socket no longer accepts
  ALIVE    the node is still running 1 s later
  EXIT rc  the exit status after SIGTERM

The node's standard error goes to LOG.

usage: handover_refuse.py BINARY MODE LOG
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time


def fnv1a(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return h


def state(mode):
    if mode == "garbled":
        body = b"VCHO" + struct.pack("<H", 1) + os.urandom(40)
        return body + struct.pack("<Q", 0)
    version = 99 if mode == "version" else 1
    node = b"some-other-node"
    body = (b"VCHO" + struct.pack("<H", version) +
            struct.pack("<I", len(node)) + node + struct.pack("<IIII", 0, 0, 0, 0))
    return body + struct.pack("<Q", fnv1a(body))


def main():
    binary, mode, log = sys.argv[1:4]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    ours = socket.create_connection(srv.getsockname())
    theirs, _ = srv.accept()
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(4)
    lport = lst.getsockname()[1]
    f = tempfile.TemporaryFile()
    f.write(state(mode))
    f.flush()
    f.seek(0)
    env = dict(os.environ, VCOMP_HANDOVER=str(f.fileno()))
    p = subprocess.Popen([binary], env=env, stderr=open(log, "a"),
                         stdout=subprocess.DEVNULL,
                         pass_fds=(f.fileno(), ours.fileno(), lst.fileno()))
    ours.close()
    lst.close()
    f.close()
    theirs.settimeout(5)
    got = b""
    try:
        while True:
            d = theirs.recv(4096)
            if not d:
                break
            got += d
            if b"</stream:stream>" in got:
                theirs.shutdown(socket.SHUT_WR)   # our side closes too
    except OSError:
        pass
    if got.strip() == b"</stream:stream>":
        print("BYE", flush=True)
    try:
        socket.create_connection(("127.0.0.1", lport), timeout=1).close()
    except OSError:
        print("CLOSED", flush=True)
    time.sleep(1)
    if p.poll() is None:
        print("ALIVE", flush=True)
    p.terminate()
    try:
        p.wait(12)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    print("EXIT", p.returncode, flush=True)


main()
