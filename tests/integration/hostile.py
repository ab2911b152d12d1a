#!/usr/bin/python3
"""hostile.py -- the attacks of issue 11 against a running cluster, and the
legitimate traffic that must lose nothing meanwhile (tests/check-hostile.sh).

  hostile.py idle --port P --count N [--reopen-after S]
      Holds N idle TCP connections to 127.0.0.1:P: connects and never sends
      a byte.  Each one the far side closes is opened again after S seconds
      (0.5), as a lock-out attacker would.  Prints "HOLDING n" once all N
      are open, then on SIGTERM "IDLE opened=K closed-by-peer=C" and exits.

  hostile.py component --port P --secret S --users N --within S
                       [--domain D] [--numbered K] [--max-stanza M]
      A raw-socket XEP-0114 component (no slixmpp: it must send bytes a
      library would not) whose stream header declares
      xmlns:x='urn:example:x'.  It connects (again and again, each attempt
      closed by the far side being retried after 0.2 s) until it is
      authenticated or --within seconds have passed ("AUTHENTICATED
      after=T attempts=A", or "NOT-AUTHENTICATED attempts=A", exit 1).
      It then waits for a message "hello" from N users and sends each:
        - four stanzas a server would cut its stream over: from '@D',
          'room@D/', 'D/', and to '@example.test' (each must come back as
          a jid-malformed error);
        - <message from=D><body>prefixed</body><x:data/></message>, the x
          prefix bound only on the stream header;
        - a message without from whose size is M - 10 bytes: with the from
          the runtime stamps into it, it exceeds M (it must come back as a
          policy-violation error);
        - K numbered messages "n=1".."n=K".
      Then it waits for the errors and prints "ERRORS jid-malformed=J
      policy-violation=P other=O", "SENT numbered=K*N prefixed=N", and
      "STREAM still-open" or "STREAM closed-by-peer"; exit 0 when every
      expected error came back and the stream is still open.

  hostile.py user --port C2S --user alice|bob --numbered K [--disco-id-len L]
                  [--timeout S]
      A slixmpp client on Prosody.  With --disco-id-len, first a disco#info
      query to the component whose id is L bytes long: the local answer
      would exceed max-stanza and must come back as a policy-violation
      error ("DISCO-BIG condition=C"), after which a normal query must be
      answered ("DISCO-NORMAL ok").  Then it says "hello" to the component
      and collects its messages until all K numbered ones and the prefixed
      one arrived ("GOT numbered=R/K prefixed=P duplicates=D
      prefixed-ns-ok=yes|no errors=E", E counting error messages that came
      back to it); exit 0 when nothing is missing, duplicated or bounced.
"""
import argparse
import asyncio
import hashlib
import signal
import socket
import sys
import time
import xml.etree.ElementTree as ET

NS_STREAM = "http://etherx.jabber.org/streams"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_X = "urn:example:x"
NS_DISCO = "http://jabber.org/protocol/disco#info"


def say(*a):
    print(*a, flush=True)


# ------------------------------------------------------------------ idle

async def idle(args):
    opened = closed = 0
    held = set()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    announced = False

    async def one():
        nonlocal opened, closed
        while not stop.is_set():
            try:
                r, w = await asyncio.open_connection("127.0.0.1", args.port)
            except OSError:
                await asyncio.sleep(args.reopen_after)
                continue
            opened += 1
            held.add(w)
            try:
                while await r.read(4096):
                    pass        # whatever it says, we say nothing
            except OSError:
                pass
            held.discard(w)
            w.close()
            closed += 1
            await asyncio.sleep(args.reopen_after)

    tasks = [asyncio.create_task(one()) for _ in range(args.count)]
    while not stop.is_set():
        if not announced and opened >= args.count:
            say(f"HOLDING {args.count}")
            announced = True
        try:
            await asyncio.wait_for(stop.wait(), 0.05)
        except asyncio.TimeoutError:
            pass
    for t in tasks:
        t.cancel()
    say(f"IDLE opened={opened} closed-by-peer={closed}")
    return 0


# ------------------------------------------------------------- component

class Stream:
    """The stanzas of an XML stream read from a socket, parsed with
    ElementTree's pull parser (the stream element stays open)."""

    def __init__(self, reader):
        self.reader = reader
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.header = None
        self.queue = []
        self.closed = False

    async def next(self, timeout, header_only=False):
        """The next stanza, or None after timeout or at the end; with
        header_only, return (None) as soon as the stream header is in."""
        deadline = time.monotonic() + timeout
        while not self.queue:
            if header_only and self.header is not None:
                return None
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            try:
                data = await asyncio.wait_for(self.reader.read(65536), left)
            except asyncio.TimeoutError:
                return None
            except OSError:
                data = b""
            if not data:
                self.closed = True
                return None
            self.parser.feed(data)
            for ev, el in self.parser.read_events():
                if ev == "start":
                    self.depth += 1
                    if self.depth == 1:
                        self.header = el
                else:
                    self.depth -= 1
                    if self.depth == 1:
                        self.queue.append(el)
                        self.header.remove(el)
                    elif self.depth == 0:
                        self.closed = True
        return self.queue.pop(0)


async def connect_component(args):
    """One attempt: (reader, writer, stream) once authenticated, or None."""
    try:
        r, w = await asyncio.open_connection("127.0.0.1", args.port)
    except OSError:
        return None
    w.write(("<?xml version='1.0'?><stream:stream "
             "xmlns='jabber:component:accept' "
             f"xmlns:stream='{NS_STREAM}' xmlns:x='{NS_X}' "
             f"to='{args.domain}'>").encode())
    s = Stream(r)
    # The header comes first; read until it is there.
    await s.next(5, header_only=True)
    sid = s.header.get("id") if s.header is not None else None
    if not sid:
        w.close()
        return None
    digest = hashlib.sha1((sid + args.secret).encode()).hexdigest()
    w.write(f"<handshake>{digest}</handshake>".encode())
    el = await s.next(5)
    if el is None or el.tag != "{jabber:component:accept}handshake":
        w.close()
        return None
    return r, w, s


def error_condition(el):
    err = el.find("{jabber:component:accept}error")
    if err is None:
        return None
    for c in err:
        if c.tag.startswith("{%s}" % NS_STANZAS) and not c.tag.endswith("}text"):
            return c.tag.split("}")[1]
    return "?"


async def component(args):
    t0 = time.monotonic()
    attempts = 0
    conn = None
    while time.monotonic() - t0 < args.within:
        attempts += 1
        conn = await connect_component(args)
        if conn is not None:
            break
        await asyncio.sleep(0.2)
    if conn is None:
        say(f"NOT-AUTHENTICATED attempts={attempts}")
        return 1
    say(f"AUTHENTICATED after={time.monotonic() - t0:.3f} attempts={attempts}")
    _, w, s = conn
    d = args.domain
    users = []
    errors = {}
    deadline = time.monotonic() + 30
    while len(users) < args.users and time.monotonic() < deadline:
        el = await s.next(1)
        if el is None:
            if s.closed:
                break
            continue
        body = el.findtext("{jabber:component:accept}body")
        if body == "hello" and el.get("from") not in users:
            users.append(el.get("from"))
            say(f"HELLO from={el.get('from')}")
    if len(users) < args.users:
        say(f"USERS {len(users)}/{args.users}")
        return 1
    expect_jm = expect_pv = 0
    for u in users:
        out = []
        for i, (frm, to) in enumerate(((f"@{d}", u), (f"room@{d}/", u),
                                       (f"{d}/", u), (f"room@{d}", "@example.test"))):
            out.append(f"<message from='{frm}' to='{to}' id='bad{i}'>"
                       f"<body>bad {i}</body></message>")
            expect_jm += 1
        out.append(f"<message from='{d}' to='{u}' id='px'><body>prefixed</body>"
                   "<x:data/></message>")
        head = f"<message to='{u}' id='big'><body>"
        tail = "</body></message>"
        fill = args.max_stanza - 10 - len(head.encode()) - len(tail)
        out.append(head + "a" * fill + tail)
        expect_pv += 1
        for n in range(1, args.numbered + 1):
            out.append(f"<message from='{d}' to='{u}' id='n{n}'><body>n={n}</body></message>")
        w.write("".join(out).encode())
        await w.drain()
    deadline = time.monotonic() + 10
    while (sum(errors.values()) < expect_jm + expect_pv and
           time.monotonic() < deadline):
        el = await s.next(0.5)
        if el is None:
            if s.closed:
                break
            continue
        if el.get("type") == "error":
            c = error_condition(el)
            errors[c] = errors.get(c, 0) + 1
    # Anything else the far side says within a moment, and whether the
    # stream is still open.
    while True:
        el = await s.next(0.5)
        if el is None:
            break
        if el.get("type") == "error":
            c = error_condition(el)
            errors[c] = errors.get(c, 0) + 1
    jm = errors.pop("jid-malformed", 0)
    pv = errors.pop("policy-violation", 0)
    say(f"ERRORS jid-malformed={jm} policy-violation={pv} other={sum(errors.values())}"
        f" (expected {expect_jm} and {expect_pv})")
    say(f"SENT numbered={args.numbered * len(users)} prefixed={len(users)}")
    say("STREAM " + ("closed-by-peer" if s.closed else "still-open"))
    ok = jm == expect_jm and pv == expect_pv and not errors and not s.closed
    if not s.closed:
        # Stay until the test is done with the users, then leave politely.
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        try:
            await asyncio.wait_for(stop.wait(), args.linger)
        except asyncio.TimeoutError:
            pass
        w.write(b"</stream:stream>")
        try:
            await w.drain()
        except OSError:
            pass
        w.close()
    return 0 if ok else 1


# ------------------------------------------------------------------ user

def user(args):
    import slixmpp
    from slixmpp.exceptions import IqError, IqTimeout

    class User(slixmpp.ClientXMPP):
        def __init__(self):
            super().__init__(f"{args.user}@example.test/hostile", args.user + "pw")
            self.rc = 1
            self.numbered = {}
            self.prefixed = 0
            self.prefixed_ns_ok = True
            self.done = asyncio.Event()
            self.add_event_handler("session_start", self.start)
            self.add_event_handler("message", self.on_message)
            self.errors = 0
            self.add_event_handler("message_error", self.on_error)

        def on_error(self, msg):
            # Nothing this user sends may come back as an error.
            self.errors += 1

        def on_message(self, msg):
            if msg["from"].domain != args.domain:
                return
            body = msg["body"]
            if body.startswith("n="):
                k = int(body[2:])
                self.numbered[k] = self.numbered.get(k, 0) + 1
            elif body == "prefixed":
                self.prefixed += 1
                if msg.xml.find("{%s}data" % NS_X) is None:
                    self.prefixed_ns_ok = False
            if len(self.numbered) >= args.numbered and self.prefixed >= 1:
                self.done.set()

        async def start(self, _):
            self.send_presence()
            ok = True
            if args.disco_id_len:
                iq = self.make_iq_get(queryxmlns=NS_DISCO, ito=args.domain)
                iq["id"] = "d" * args.disco_id_len
                try:
                    await iq.send(timeout=5)
                    say("DISCO-BIG condition=none (a result came back)")
                    ok = False
                except IqError as e:
                    # slixmpp knows only RFC 3920's conditions, which
                    # lack policy-violation: read the element itself.
                    c = "?"
                    err = e.iq.xml.find("{jabber:client}error")
                    for el in (err if err is not None else []):
                        ns, _, local = el.tag[1:].partition("}")
                        if ns == NS_STANZAS and local != "text":
                            c = local
                    say(f"DISCO-BIG condition={c} text={e.iq['error']['text']}")
                    ok = ok and c == "policy-violation"
                except IqTimeout:
                    say("DISCO-BIG timeout")
                    ok = False
                try:
                    await self.make_iq_get(queryxmlns=NS_DISCO,
                                           ito=args.domain).send(timeout=5)
                    say("DISCO-NORMAL ok")
                except (IqError, IqTimeout) as e:
                    say(f"DISCO-NORMAL failed {type(e).__name__}")
                    ok = False
            self.send_message(mto=args.domain, mbody="hello")
            try:
                await asyncio.wait_for(self.done.wait(), args.timeout)
            except asyncio.TimeoutError:
                pass
            # A moment for duplicates to show.
            await asyncio.sleep(0.5)
            dup = sum(v - 1 for v in self.numbered.values())
            missing = [k for k in range(1, args.numbered + 1) if k not in self.numbered]
            say(f"GOT numbered={len(self.numbered)}/{args.numbered} "
                f"prefixed={self.prefixed} duplicates={dup} "
                f"prefixed-ns-ok={'yes' if self.prefixed_ns_ok else 'no'} "
                f"errors={self.errors}"
                + (f" missing={missing[:10]}" if missing else ""))
            self.rc = 0 if (ok and not missing and self.prefixed == 1 and
                            self.prefixed_ns_ok and dup == 0 and
                            self.errors == 0) else 1
            self.disconnect(wait=1)

    x = User()
    x["feature_mechanisms"].unencrypted_plain = True
    x.loop.call_later(args.timeout + 20, lambda: (say("HARD-TIMEOUT"), x.loop.stop()))
    x.connect(address=("127.0.0.1", args.port), use_ssl=False,
              force_starttls=False, disable_starttls=True)
    try:
        x.loop.run_until_complete(x.disconnected)
    except RuntimeError:
        pass
    return x.rc


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("idle")
    i.add_argument("--port", type=int, required=True)
    i.add_argument("--count", type=int, required=True)
    i.add_argument("--reopen-after", type=float, default=0.5)
    c = sub.add_parser("component")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--secret", required=True)
    c.add_argument("--domain", default="muc.example.test")
    c.add_argument("--users", type=int, required=True)
    c.add_argument("--within", type=float, required=True)
    c.add_argument("--numbered", type=int, default=50)
    c.add_argument("--max-stanza", type=int, default=10000)
    c.add_argument("--linger", type=float, default=60)
    u = sub.add_parser("user")
    u.add_argument("--port", type=int, required=True)
    u.add_argument("--user", required=True)
    u.add_argument("--domain", default="muc.example.test")
    u.add_argument("--numbered", type=int, default=50)
    u.add_argument("--disco-id-len", type=int, default=0)
    u.add_argument("--timeout", type=float, default=20)
    args = p.parse_args()
    if args.cmd == "user":
        return user(args)
    return asyncio.run(idle(args) if args.cmd == "idle" else component(args))


if __name__ == "__main__":
    sys.exit(main())
