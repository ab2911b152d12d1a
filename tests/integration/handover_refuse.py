#!/usr/bin/python3
"""handover_refuse.py -- a node binary given a handover state it must
refuse (tests/check-rolling.sh).

Starts BINARY as an in-place upgrade would, with VCOMP_HANDOVER naming a
sealed memfd holding a state that is garbled (MODE garbled), of another
format version (version) or well-formed but written by another node
(node), or the last in a memfd that is not sealed (unsealed), and listing
two inherited sockets: an XMPP stream whose other end this script holds,
and a listening socket on a port no table names.  A third stream is
inherited too but not listed (a descriptor the node's own parent left
open).  The node must start fresh and let the two listed go politely,
and leave the third alone.  Prints one line per finding:

  BYE        the stream's other end got </stream:stream>, then the close
  CLOSED     the inherited listening socket no longer accepts
  UNTOUCHED  nothing arrived on the unlisted stream
  ALIVE      the node is still running 1 s later
  EXIT rc    the exit status after SIGTERM

The node's standard error goes to LOG.

usage: handover_refuse.py BINARY MODE LOG
"""
import fcntl
import os
import socket
import struct
import subprocess
import sys
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
    version = 99 if mode == "version" else 1   # node, unsealed
    # unsealed: a state node1 would take, but for the missing seals
    node = b"node1" if mode == "unsealed" else b"some-other-node"
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
    by_ours = socket.create_connection(srv.getsockname())
    by_theirs, _ = srv.accept()
    mfd = os.memfd_create("vcomp-handover", os.MFD_ALLOW_SEALING)
    os.write(mfd, state(mode))
    if mode != "unsealed":
        fcntl.fcntl(mfd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE |
                    fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)
    env = dict(os.environ, VCOMP_HANDOVER="%d:%d,%d" % (
        mfd, ours.fileno(), lst.fileno()))
    p = subprocess.Popen([binary], env=env, stderr=open(log, "a"),
                         stdout=subprocess.DEVNULL,
                         pass_fds=(mfd, ours.fileno(), lst.fileno(),
                                   by_ours.fileno()))
    ours.close()
    lst.close()
    by_ours.close()
    os.close(mfd)
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
    by_theirs.settimeout(0.3)
    try:
        if by_theirs.recv(4096) == b"":
            pass                   # closed: touched
    except socket.timeout:
        print("UNTOUCHED", flush=True)
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
