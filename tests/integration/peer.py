#!/usr/bin/python3
"""peer.py -- a raw vcomp peer (docs/peer-protocol.md), written from the
document alone, for testing what a runtime lets through its peer port.

  peer.py accept --port P --name NAME --comp-id ID --compat HEX
                 --domain D --secret S
                 --send-to NODE --from JID --stanza XML --expect ok|refused
                 [--eager] [--reply TEXT] [--timeout S]
      Listens on 127.0.0.1:P in the place of node NAME (the real one is
      stopped) and takes every link the runtimes dial.
  peer.py dial   --port P (same options)
      Dials 127.0.0.1:P claiming to be NAME.

On every link it sends HELLO (versions 2-2, a fresh nonce, NAME), reads
the other side's HELLO, sends its PROOF (HMAC-SHA-256 under S of
"vcomp-peer-1" || role || dialler || 0 || acceptor || 0 || dialler nonce
|| acceptor nonce) and, on the link whose far side is NODE, COMPONENTS
(one component: ID, its compat digest HEX, domain D), STATUS (nothing
connected here) and one STANZA frame (flags TO_HOME, component ID, seq 1,
from JID, the bytes XML).
Without --eager it first waits for the far side's PROOF and checks it;
with --eager the STATUS and STANZA go out right behind the PROOF, before
anything comes back (a peer with a wrong key that tries its luck).
It answers PING with PONG, pings every second itself, ACKs STANZA frames
it receives, and prints what happens, flushed, one line each:
  "LINK n role=dialler|acceptor addr=HOST:PORT", "HELLO n name=...
  versions=MIN-MAX", "PROOF n ok|bad", "COMPONENTS n ...", "SENT-STANZA n", "ACK n seq=K",
  "STANZA-IN n flags=F from=J bytes=XML", "STATUS n bits=..", "BYE n ...",
  "CLOSED n by-peer", and finally "RESULT ok|refused|undecided".

Outcome: "ok" when the stanza sent to NODE was acknowledged (and, with
--reply, a STANZA frame containing TEXT came back); "refused" when every
link to NODE that we sent on was closed by the far side with no ACK and
no STANZA frame received on it, or when the far side sent something that
is not a frame at all (a peer link encrypted with TLS, which peer.py does
not speak).  Exit 0 when the outcome is --expect.
"""
import argparse
import asyncio
import hashlib
import hmac
import os
import struct
import sys

HELLO, PROOF, STANZA, ACK, STATUS, PING, PONG, BYE, COMPONENTS = range(1, 10)
TO_HOME, TO_USER = 1, 2
HDR = struct.Struct(">IBBHII")     # len, type, flags, reserved, comp, seq


def frame(ftype, payload=b"", flags=0, comp=0, seq=0):
    return HDR.pack(len(payload), ftype, flags, 0, comp, seq) + payload


def proof(secret, role, dialler, acceptor, dnonce, anonce):
    msg = (b"vcomp-peer-1" + role + dialler.encode() + b"\0" +
           acceptor.encode() + b"\0" + dnonce + anonce)
    return hmac.new(secret.encode(), msg, hashlib.sha256).digest()


class Outcome:
    def __init__(self):
        self.done = asyncio.get_running_loop().create_future()
        self.links = 0

    def decide(self, what):
        if not self.done.done():
            self.done.set_result(what)


def say(*words):
    print(*words, flush=True)


async def read_frame(reader):
    h = await reader.readexactly(HDR.size)
    n, ftype, flags, _rsv, comp, seq = HDR.unpack(h)
    if n > 1 << 20:
        raise ValueError(f"frame of {n} bytes")
    payload = await reader.readexactly(n) if n else b""
    return ftype, flags, comp, seq, payload


async def link(args, out, reader, writer, dialler):
    out.links += 1
    n = out.links
    addr = writer.get_extra_info("peername")
    say(f"LINK {n} role={'dialler' if dialler else 'acceptor'} "
        f"addr={addr[0]}:{addr[1]}")
    nonce = os.urandom(32)
    hello = bytes([2, 2]) + nonce + args.name.encode()
    writer.write(frame(HELLO, hello))
    await writer.drain()
    sent_stanza = False
    acked = False
    got_stanza = False
    replied = False
    pinger = None
    target = None       # unknown until the far side's HELLO names it
    try:
        ftype, _f, _c, _s, p = await read_frame(reader)
        if ftype != HELLO or len(p) < 35:
            say(f"UNEXPECTED {n} type={ftype} before HELLO")
            return
        their_nonce = p[2:34]
        their_name = p[34:].decode(errors="replace")
        say(f"HELLO {n} name={their_name} versions={p[0]}-{p[1]}")
        if dialler:
            d, a, dn, an, mine, theirs = (args.name, their_name, nonce,
                                          their_nonce, b"D", b"A")
        else:
            d, a, dn, an, mine, theirs = (their_name, args.name, their_nonce,
                                          nonce, b"A", b"D")
        writer.write(frame(PROOF, proof(args.secret, mine, d, a, dn, an)))
        expect_proof = proof(args.secret, theirs, d, a, dn, an)
        target = their_name == args.send_to

        def send_stanza():
            nonlocal sent_stanza
            jid = args.from_jid.encode()
            payload = struct.pack(">H", len(jid)) + jid + args.stanza.encode()
            dom = args.domain.encode()
            comps = (struct.pack(">I", args.comp_id) + args.compat.lower().encode() +
                     struct.pack(">H", len(dom)) + dom)
            writer.write(frame(COMPONENTS, comps) +
                         frame(STATUS, struct.pack(">IB", args.comp_id, 0)) +
                         frame(STANZA, payload, flags=TO_HOME, comp=args.comp_id,
                               seq=1))
            sent_stanza = True
            say(f"SENT-STANZA {n}")

        if target and args.eager:
            send_stanza()
        await writer.drain()

        async def ping():
            while True:
                await asyncio.sleep(1)
                writer.write(frame(PING))

        pinger = asyncio.ensure_future(ping())
        while True:
            ftype, flags, comp, seq, p = await read_frame(reader)
            if ftype == PROOF:
                ok = hmac.compare_digest(p, expect_proof)
                say(f"PROOF {n} {'ok' if ok else 'bad'}")
                if target and not sent_stanza:
                    send_stanza()
                    await writer.drain()
            elif ftype == PING:
                writer.write(frame(PONG))
            elif ftype == ACK:
                k = struct.unpack(">I", p)[0]
                say(f"ACK {n} seq={k}")
                if sent_stanza and k >= 1:
                    acked = True
                    if args.reply is None or replied:
                        out.decide("ok")
            elif ftype == STANZA:
                got_stanza = True
                fl = struct.unpack(">H", p[:2])[0]
                jid = p[2:2 + fl].decode(errors="replace")
                raw = p[2 + fl:].decode(errors="replace")
                say(f"STANZA-IN {n} flags={flags} seq={seq} from={jid} bytes={raw}")
                writer.write(frame(ACK, struct.pack(">I", seq)))
                # The echo may come back before the ACK of our stanza.
                if args.reply is not None and args.reply in raw:
                    replied = True
                    if acked:
                        out.decide("ok")
            elif ftype == STATUS:
                say(f"STATUS {n} bits={p.hex()}")
            elif ftype == COMPONENTS:
                say(f"COMPONENTS {n} bytes={len(p)}")
            elif ftype == BYE:
                say(f"BYE {n} {p.decode(errors='replace')}")
            elif ftype != PONG:
                say(f"FRAME {n} type={ftype}")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        say(f"CLOSED {n} by-peer")
        if target and sent_stanza and not acked and not got_stanza:
            out.decide("refused")
        elif not sent_stanza and args.expect == "refused" and \
                target is not False:
            # Refused before we could even send: nothing got through.
            out.decide("refused")
    except ValueError as e:
        say(f"BAD-FRAME {n} {e}")
        # The far side does not speak these frames (a TLS peer link answers
        # with a handshake record): nothing of ours can get through there.
        if target is not False and args.expect == "refused" and \
                not acked and not got_stanza:
            out.decide("refused")
    finally:
        if pinger:
            pinger.cancel()
        writer.close()


async def amain(args):
    out = Outcome()
    server = None
    if args.mode == "accept":
        async def on_conn(r, w):
            await link(args, out, r, w, dialler=False)
        server = await asyncio.start_server(on_conn, "127.0.0.1", args.port)
        say("LISTENING")
    else:
        r, w = await asyncio.open_connection("127.0.0.1", args.port)
        asyncio.ensure_future(link(args, out, r, w, dialler=True))
    try:
        result = await asyncio.wait_for(out.done, args.timeout)
    except asyncio.TimeoutError:
        result = "undecided"
    # Linger a moment so late frames (an echo, a close) are printed too.
    await asyncio.sleep(0.3)
    if server:
        server.close()
    say(f"RESULT {result}")
    return 0 if result == args.expect else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=("accept", "dial"))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--comp-id", type=int, required=True)
    p.add_argument("--compat", required=True)
    p.add_argument("--domain", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--send-to", required=True)
    p.add_argument("--from", dest="from_jid", required=True)
    p.add_argument("--stanza", required=True)
    p.add_argument("--expect", choices=("ok", "refused"), required=True)
    p.add_argument("--eager", action="store_true")
    p.add_argument("--reply")
    p.add_argument("--timeout", type=float, default=5)
    args = p.parse_args()
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
