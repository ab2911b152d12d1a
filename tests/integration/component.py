#!/usr/bin/python3
"""component.py -- the "real component" of the integration tests.

Two modes:

  component.py run --port P --secret S --log FILE [--domain D] [--prefix P]
                   [--no-echo]
      A slixmpp ComponentXMPP (XEP-0114, jabber:component:accept) that
      connects to P on 127.0.0.1 -- the vcomp runtime's home listener -- as
      D (muc.example.test).  It records every stanza it receives in FILE,
      one line each ("RECV <xml>"), plus its own milestones
      ("SESSION-START", "STREAM-ERROR condition=...",
      "DISCONNECTED reason=..." -- "End of stream" after </stream:stream>).
      It answers:
        * a message with a body: the same body with PREFIX in front, sent
          back to the sender from the address it was sent to, same type
          and id;  a body "!broadcast TEXT" instead sends "broadcast: TEXT"
          to every full JID it has heard from so far (SIGUSR1 does the
          same with TEXT "signal");  a body "!badfrom" makes it send one
          message whose from is outside its domain (the runtime must bounce
          it to us and keep it away from the server);
        * an iq get/set carrying <query xmlns='urn:example:echo'> with a
          result holding the same <text/> and <by>component.py</by>.
      Anything else (disco#info included: no xep_0030 here) gets slixmpp's
      default error, so a forwarded disco#info would be visible.
      With --no-echo it only records messages and answers none of them
      (the flood test counts what arrived and wants no reply traffic);
      iqs are still answered.
      It exits when the stream ends (it does not reconnect: the tests
      restart it), on SIGTERM (after closing its stream: </stream:stream>,
      then up to 2 s for the runtime's), or after --lifetime seconds.

  component.py raw-handshake --port P --secret S --expect RESULT [--domain D]
      A raw-socket XEP-0114 handshake, byte-exact, without slixmpp.
      Prints "HEADER id=...", then "HANDSHAKE-OK" or
      "STREAM-ERROR condition=C text=T", then "CLOSED" if the peer closed
      the connection.  Exit 0 when the outcome is RESULT ("ok" or a
      stream-error condition such as "not-authorized" or "host-unknown").
"""
import argparse
import asyncio
import hashlib
import logging
import signal
import socket
import sys
import time
import xml.etree.ElementTree as ET

NS_STREAM = "http://etherx.jabber.org/streams"
NS_STREAMS_ERR = "urn:ietf:params:xml:ns:xmpp-streams"
NS_ECHO = "urn:example:echo"


class Recorder:
    """Append-only log of what the component saw; flushed per line so the
    test script can wait on it while we run."""

    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8")

    def __call__(self, line):
        now = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(now)) + \
            f".{int(now * 1000) % 1000:03d}"
        self.f.write(f"{stamp} {line}\n")
        self.f.flush()


def run(args):
    import slixmpp
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath

    rec = Recorder(args.log)

    class Component(slixmpp.ComponentXMPP):
        def __init__(self):
            super().__init__(args.domain, args.secret, "127.0.0.1", args.port)
            self.seen = set()
            self.rc = 1
            self.add_filter("in", self.record)
            self.add_event_handler("session_start", self.on_start)
            self.add_event_handler("message", self.on_message)
            self.add_event_handler("stream_error", self.on_stream_error)
            self.add_event_handler("disconnected", self.on_disconnected)
            self.add_event_handler("connection_failed", self.on_failed)
            self.register_handler(Callback(
                "echo", MatchXPath(f"{{{self.default_ns}}}iq/{{{NS_ECHO}}}query"),
                self.on_echo_iq))

        def record(self, stanza):
            rec("RECV " + str(stanza))
            frm = stanza["from"]
            if frm and frm.resource and frm.domain != args.domain:
                self.seen.add(frm.full)
            return stanza

        def on_start(self, _event):
            self.rc = 0
            rec("SESSION-START")
            print("SESSION-START", flush=True)

        def on_stream_error(self, err):
            rec(f"STREAM-ERROR condition={err['condition']} text={err['text']}")

        def on_failed(self, _err):
            rec("CONNECTION-FAILED")
            self.disconnect(wait=0)
            self.loop.stop()

        def on_disconnected(self, reason):
            # slixmpp passes "End of stream" when the peer sent
            # </stream:stream>, else the socket error or None.
            rec(f"DISCONNECTED reason={reason}")
            self.loop.stop()

        def broadcast(self, text):
            for jid in sorted(self.seen):
                self.send_message(mto=jid, mfrom=args.domain,
                                  mbody="broadcast: " + text, mtype="normal")
            rec(f"BROADCAST to={','.join(sorted(self.seen))} text={text}")

        def on_message(self, msg):
            if msg["type"] == "error" or args.no_echo:
                return
            body = msg["body"]
            if body.startswith("!broadcast "):
                self.broadcast(body[len("!broadcast "):])
                return
            if body == "!badfrom":
                self.send_message(mto=msg["from"], mfrom="mallory@evil.test",
                                  mbody="spoofed", mtype="normal")
                rec("SENT-BADFROM")
                return
            reply = self.make_message(mto=msg["from"], mfrom=msg["to"],
                                      mbody=args.prefix + body,
                                      mtype=msg["type"])
            if msg["id"]:
                reply["id"] = msg["id"]
            reply.send()

        def on_echo_iq(self, iq):
            if iq["type"] not in ("get", "set"):
                return
            q = iq.xml.find(f"{{{NS_ECHO}}}query")
            text = q.findtext(f"{{{NS_ECHO}}}text") or ""
            reply = iq.reply(clear=True)
            out = ET.SubElement(reply.xml, f"{{{NS_ECHO}}}query")
            ET.SubElement(out, f"{{{NS_ECHO}}}text").text = text
            ET.SubElement(out, f"{{{NS_ECHO}}}by").text = "component.py"
            reply.send()

    comp = Component()
    comp.loop.add_signal_handler(signal.SIGUSR1, comp.broadcast, "signal")
    # SIGTERM leaves as a well-behaved component does: it closes its
    # stream and waits (at most 2 s) for the other side to close too.
    comp.loop.add_signal_handler(signal.SIGTERM, comp.disconnect, 2.0)
    comp.loop.call_later(args.lifetime, comp.loop.stop)
    comp.connect()
    comp.loop.run_forever()
    rec("EXIT")
    return comp.rc


def raw_handshake(args):
    """XEP-0114 client side by hand, so the test sees exactly what the
    runtime's home listener sends back."""
    s = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    parser = ET.XMLPullParser(events=("start", "end"))
    s.sendall(("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
               f"xmlns:stream='{NS_STREAM}' to='{args.domain}'>").encode())
    depth, header, outcome, closed = 0, None, None, False
    end = time.monotonic() + args.timeout
    sent_handshake = False
    while outcome is None and not closed and time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            data = b""
        if not data:
            closed = True
            break
        if args.verbose:
            print("RECV", data.decode(errors="replace"), file=sys.stderr)
        try:
            parser.feed(data)
            events = list(parser.read_events())
        except ET.ParseError as e:
            print(f"PARSE-ERROR {e}")
            return 1
        for ev, el in events:
            if ev == "start":
                depth += 1
                if depth == 1:
                    header = el
                    print(f"HEADER id={el.get('id')} from={el.get('from')}", flush=True)
                continue
            depth -= 1
            if depth != 1:
                continue
            if el.tag == f"{{{NS_STREAM}}}error":
                cond = next((c.tag.split("}")[1] for c in el
                             if c.tag.startswith(f"{{{NS_STREAMS_ERR}}}")
                             and not c.tag.endswith("}text")), "?")
                text = el.findtext(f"{{{NS_STREAMS_ERR}}}text") or ""
                print(f"STREAM-ERROR condition={cond} text={text}", flush=True)
                outcome = cond
            elif el.tag.endswith("}handshake"):
                print("HANDSHAKE-OK", flush=True)
                outcome = "ok"
        if header is not None and not sent_handshake and outcome is None:
            digest = hashlib.sha1((header.get("id", "") + args.secret).encode()).hexdigest()
            s.sendall(f"<handshake>{digest}</handshake>".encode())
            sent_handshake = True
    if outcome is not None and outcome != "ok":
        # After a stream error the peer must close the stream and the socket.
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            while s.recv(65536):
                pass
            closed = True
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
    if closed:
        print("CLOSED", flush=True)
    s.close()
    if outcome is None:
        print("NO-OUTCOME", flush=True)
        return 1
    return 0 if outcome == args.expect else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    for name in ("run", "raw-handshake"):
        sp = sub.add_parser(name)
        sp.add_argument("--port", type=int, required=True)
        sp.add_argument("--secret", required=True)
        sp.add_argument("--domain", default="muc.example.test")
        sp.add_argument("-v", "--verbose", action="store_true")
    r = sub.choices["run"]
    r.add_argument("--log", required=True)
    r.add_argument("--prefix", default="echo: ")
    r.add_argument("--lifetime", type=float, default=120)
    r.add_argument("--no-echo", action="store_true",
                   help="record messages, answer none (count-only mode)")
    h = sub.choices["raw-handshake"]
    h.add_argument("--expect", required=True)
    h.add_argument("--timeout", type=float, default=5)
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.ERROR,
                        format="%(asctime)s %(levelname)s %(message)s")
    if args.mode == "run":
        return run(args)
    return raw_handshake(args)


if __name__ == "__main__":
    sys.exit(main())
