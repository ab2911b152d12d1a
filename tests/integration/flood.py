#!/usr/bin/python3
"""flood.py -- sequence-numbered message flood and its tally.

  flood.py send --port P --user U --to JID --count N --tag T
                [--rate R] [--resource R] [--timeout S]
      Logs in to Prosody on 127.0.0.1 (like client.py), sends N chat
      messages to JID with id "T-SEQ" and body "T SEQ" (SEQ = 1..N), at
      most R per second, and then keeps listening.  Prints, flushed:
        "READY"                       once logged in,
        "SENT n=K elapsed=S"          every 500 messages and at the end,
        "SEND-DONE n=N elapsed=S",
        "BOUNCE id=T-SEQ type=X condition=C wait=S"   for every error message,
        "OTHER from=F type=X id=I wait=S"    for any other message,
      (wait: seconds since message SEQ was sent, when I names one of ours)
      and exits 0 on SIGTERM/SIGINT or after --timeout seconds (printing
      "FLOOD-END sent=N bounced=B").  The test script decides when enough
      has come back (see tally) and stops it.  With --reconnect, a stream
      that ends (its server restarted) is not the end: it prints
      "DISCONNECTED n=K" (K = the last SEQ handed to the stream), sends
      nothing while offline, logs in again with the same full JID every
      0.2 s until it can, prints "RECONNECTED n=K" and goes on from K+1 at
      the same rate (a user who lost their session and rejoins).

  flood.py tally --component-log F [--component-log F2...] --client-log G
                 --tag T --count N [--server-log P]
      Counts, for SEQ = 1..N, how often the component received T-SEQ
      (component.py's "RECV <message ... id="T-SEQ"" lines) and whether
      the sender got it back as an error (flood.py send's BOUNCE lines).
      Prints "delivered=D duplicates=X bounced=B false_bounces=Y lost=M
      stray=S echoed=E echo_dups=Z echo_lost=L kicks=K outage_s=G", then
      the first lost SEQs; exits 0 when nothing is lost.  echoed counts the
      component's replies the sender received (OTHER lines with the same
      id), echo_lost the delivered ones whose reply neither arrived nor
      came back to the component as an error, kicks the replies that did
      come back as an error (what makes a MUC drop an occupant), outage_s
      the longest gap between two arrivals at the component, wait_s the
      longest a sender waited for its first answer (echo or bounce) to a
      message that got one.  A message
      is "lost" when it neither reached the component nor came back: the
      one thing the cluster must never do; false_bounces counts those that
      came back as an error although they reached the component.
      With --server-log (the sender's own Prosody's debug log, every life
      of it appended), a message that neither arrived nor came back and
      that this server never logged receiving ("Received[c2s]: <message
      ... id='T-SEQ'") is counted as unread, not lost: the sender's own
      server never took it (it was stopping); what it did take and what
      the cluster did with it stays counted.  kicks_live counts the kicks
      of the messages sent in the sender's last session (after its last
      RECONNECTED; all of them when it never reconnected): replies to a
      user while their session was gone are rightly refused by their
      server, and a MUC occupant who rejoined is in the room again.
"""
import argparse
import asyncio
import logging
import re
import signal
import sys
import time


def send(args):
    import slixmpp
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath

    class Flood(slixmpp.ClientXMPP):
        def __init__(self):
            super().__init__(f"{args.user}@example.test/{args.resource}",
                             args.user + "pw")
            self.rc = 1
            self.sent = 0
            self.bounced = 0
            self.sent_at = {}
            self.started = False
            self.online = asyncio.Event()
            self.add_event_handler("disconnected", self.on_disconnected)
            self.add_event_handler("session_start", self.on_start)
            self.add_event_handler("failed_auth", self.on_auth_failed)
            self.add_event_handler("connection_failed", self.on_conn_failed)
            # One raw handler for every message, error or not, so each is
            # seen exactly once (slixmpp's events would fire twice for errors).
            self.register_handler(Callback(
                "flood-msg", MatchXPath(f"{{{self.default_ns}}}message"),
                self.on_message))

        def on_auth_failed(self, _):
            print("AUTH-FAILED", flush=True)
            self.rc = 2
            self.loop.stop()

        def on_conn_failed(self, err):
            if args.reconnect and self.started:
                # The server is not back yet: try again soon, not after
                # slixmpp's own backoff (1, 3, 7 ... s).
                self.cancel_connection_attempt()
                self.loop.call_later(0.2, self.dial)
                return
            print(f"CONNECTION-FAILED {err}", flush=True)
            self.rc = 2
            self.loop.stop()

        def dial(self):
            self._connect_loop_wait = 0
            self.connect(address=("127.0.0.1", args.port), use_ssl=False,
                         force_starttls=False, disable_starttls=True)

        def on_disconnected(self, _):
            if not (args.reconnect and self.started):
                return
            if self.online.is_set():
                self.online.clear()
                print(f"DISCONNECTED n={self.sent}", flush=True)
            self.loop.call_later(0.2, self.dial)

        def waited(self, ident):
            """The " wait=S" suffix: seconds since message ident was sent
            (empty when ident is not one of ours)."""
            tag, _, seq = (ident or "").rpartition("-")
            t = self.sent_at.get(int(seq)) if tag == args.tag and seq.isdigit() else None
            return "" if t is None else f" wait={time.monotonic() - t:.3f}"

        def on_message(self, msg):
            w = self.waited(msg["id"])
            if msg["type"] == "error":
                self.bounced += 1
                e = msg["error"]
                print(f"BOUNCE id={msg['id']} type={e['type']} "
                      f"condition={e['condition']}{w}", flush=True)
            else:
                print(f"OTHER from={msg['from']} type={msg['type']} id={msg['id']}{w}",
                      flush=True)

        async def on_start(self, _):
            if self.started:
                print(f"RECONNECTED n={self.sent}", flush=True)
                self.online.set()
                return
            self.started = True
            self.online.set()
            print("READY", flush=True)
            t0 = time.monotonic()
            # Send in small slices, each followed by a short sleep, so the
            # rate stays under --rate and the event loop keeps reading
            # (bounces arrive while we are still sending).
            slice_s = 0.02
            per_slice = max(1, int(args.rate * slice_s))
            seq = 0
            while seq < args.count:
                if not self.online.is_set():
                    # Offline: send nothing, then go on at the same rate.
                    gone = time.monotonic()
                    await self.online.wait()
                    t0 += time.monotonic() - gone
                for _ in range(min(per_slice, args.count - seq)):
                    seq += 1
                    m = self.make_message(mto=args.to, mbody=f"{args.tag} {seq}",
                                          mtype="chat")
                    m["id"] = f"{args.tag}-{seq}"
                    self.sent_at[seq] = time.monotonic()
                    m.send()
                    self.sent = seq
                    if seq % 500 == 0:
                        print(f"SENT n={seq} elapsed={time.monotonic() - t0:.2f}",
                              flush=True)
                # Sleep to the slice's deadline, not a fixed time, so slow
                # sends do not lower the rate further.
                due = t0 + (seq / per_slice) * slice_s
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            print(f"SEND-DONE n={seq} elapsed={time.monotonic() - t0:.2f}", flush=True)
            self.rc = 0

    xmpp = Flood()
    xmpp["feature_mechanisms"].unencrypted_plain = True
    for sig in (signal.SIGTERM, signal.SIGINT):
        xmpp.loop.add_signal_handler(sig, xmpp.loop.stop)
    xmpp.loop.call_later(args.timeout, xmpp.loop.stop)
    xmpp.dial()
    xmpp.loop.run_forever()
    print(f"FLOOD-END sent={xmpp.sent} bounced={xmpp.bounced}", flush=True)
    return xmpp.rc


def tally(args):
    tag = re.escape(args.tag)
    head = re.compile(r"RECV (<message\b[^>]*>)")
    ident = re.compile(r'\bid="' + tag + r'-(\d+)"')
    delivered = {}
    for path in args.component_log:
        try:
            f = open(path, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue    # that life of the component never started
        with f:
            for line in f:
                h = head.search(line)
                if not h or 'type="error"' in h.group(1):
                    continue
                m = ident.search(h.group(1))
                if m:
                    n = int(m.group(1))
                    delivered[n] = delivered.get(n, 0) + 1
    bounce = re.compile(r"^BOUNCE id=" + tag + r"-(\d+) .*?(?: wait=([\d.]+))?$")
    other = re.compile(r"^OTHER from=\S+ type=\S+ id=" + tag +
                       r"-(\d+)(?: wait=([\d.]+))?$")
    bounced = set()
    echoes = {}
    first_wait = {}     # SEQ -> seconds to its first answer
    with open(args.client_log, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = bounce.search(line)
            if m:
                bounced.add(int(m.group(1)))
            else:
                m = other.search(line)
                if m:
                    n = int(m.group(1))
                    echoes[n] = echoes.get(n, 0) + 1
            if m and m.group(2) is not None:
                first_wait.setdefault(int(m.group(1)), float(m.group(2)))
    # The component's side: when each stanza arrived (for the longest
    # gap), and the errors the servers sent back for its replies (a MUC
    # drops an occupant on such an error).
    stamp = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) RECV (<message\b[^>]*>)")
    times, kicks = [], set()
    for path in args.component_log:
        try:
            f = open(path, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        with f:
            for line in f:
                m = stamp.search(line)
                if not m:
                    continue
                i = ident.search(m.group(5))
                if not i:
                    continue
                if 'type="error"' in m.group(5):
                    kicks.add(int(i.group(1)))
                    continue
                h, mi, se, ms = (int(x) for x in m.group(1, 2, 3, 4))
                times.append(((h * 60 + mi) * 60 + se) + ms / 1000.0)
    times.sort()
    gap = max((b - a for a, b in zip(times, times[1:])), default=0.0)
    want = range(1, args.count + 1)
    lost = [n for n in want if n not in delivered and n not in bounced]
    unread = []
    if args.server_log:
        # What the sender's own server took: Prosody logs every stanza it
        # routes (core_process_stanza, debug level) with its top tag.
        took = set()
        rx = re.compile(r"Received\[c2s\]: <message\b[^>]*\bid=['\"]" + tag
                        + r"-(\d+)['\"]")
        with open(args.server_log, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = rx.search(line)
                if m:
                    took.add(int(m.group(1)))
        unread = [n for n in lost if n not in took]
        lost = [n for n in lost if n in took]
    # The sender's last session began after the last RECONNECTED n=K.
    last = 0
    with open(args.client_log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"RECONNECTED n=(\d+)", line)
            if m:
                last = int(m.group(1))
    kicks_live = sum(1 for n in kicks if n > last)
    dups = sum(c - 1 for c in delivered.values())
    false_bounces = sum(1 for n in bounced if n in delivered)
    stray = sum(1 for n in delivered if n < 1 or n > args.count)
    echo_lost = sum(1 for n in delivered if n not in echoes and n not in kicks)
    echo_dups = sum(c - 1 for c in echoes.values())
    print(f"delivered={len(delivered)} duplicates={dups} bounced={len(bounced)} "
          f"false_bounces={false_bounces} lost={len(lost)} stray={stray} "
          f"echoed={len(echoes)} echo_dups={echo_dups} echo_lost={echo_lost} "
          f"kicks={len(kicks)} kicks_live={kicks_live} unread={len(unread)} "
          f"outage_s={gap:.2f} "
          f"wait_s={max(first_wait.values(), default=0.0):.2f}")
    if lost:
        print("first lost: " + " ".join(str(n) for n in lost[:20]))
    return 0 if not lost and stray == 0 else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("send")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--user", default="alice")
    s.add_argument("--resource", default="flood")
    s.add_argument("--to", required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--tag", required=True)
    s.add_argument("--rate", type=float, default=2000)
    s.add_argument("--timeout", type=float, default=60)
    s.add_argument("--reconnect", action="store_true",
                   help="log in again when the stream ends (see above)")
    s.add_argument("-v", "--verbose", action="store_true")
    t = sub.add_parser("tally")
    t.add_argument("--component-log", required=True, action="append",
                   help="component.py log; give it once per life of the component")
    t.add_argument("--client-log", required=True)
    t.add_argument("--tag", required=True)
    t.add_argument("--count", type=int, required=True)
    t.add_argument("--server-log",
                   help="the sender's own Prosody's log (see above)")
    args = p.parse_args()
    if args.mode == "tally":
        return tally(args)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL,
                        format="%(asctime)s %(levelname)s %(message)s")
    return send(args)


if __name__ == "__main__":
    sys.exit(main())
