#!/usr/bin/python3
"""client.py -- slixmpp ClientXMPP driver for the integration tests.

Logs in to Prosody on 127.0.0.1 (SCRAM over plaintext, no TLS: loopback
only), does one thing, prints machine-checkable lines and exits 0 when the
expectation holds, 1 when it does not (2 for a login or connection failure).

  disco-info  --to JID [--node N] [--identity CAT/TYPE/NAME] [--feature F]...
              [--not-feature F]... [--error COND]
      prints "IDENTITY cat/type/name", "FEATURE var" for each, or
      "ERROR type=T condition=C text=X"; --error expects that condition.
  disco-items --to JID --item JID
      prints "ITEM jid" for each item of the disco#items answer; exit 0
      when --item is among them.
  msg-roundtrip --to JID --body B [--prefix P] [--min-elapsed S]
      sends a message and waits for one from JID whose body is P+B
      ("ROUNDTRIP body=... elapsed=S"); an error message fails at once.
  iq-roundtrip --to JID --text T
      iq get <query xmlns='urn:example:echo'><text>T</text></query>; expects
      a result echoing T ("IQ-RESULT text=T by=...").
  send-msg --to JID --body B
      sends and leaves ("SENT id=...").
  expect-error --to JID --kind message|iq --body B --conditions C1,C2
              [--min-elapsed S] [--max-elapsed S]
      sends, then waits for the error bounce ("ERROR-RECEIVED kind=...
      type=T condition=C text=X elapsed=S"); exit 0 if the condition is one
      of the list and the delay lies in [min, max].
  wait-msg --body-contains X [--hello-to JID]
      (first says "hello" to JID, then) waits for any message whose body
      contains X ("GOT from=... body=...").
  muc-flood --room ROOM@HOST --nick N --rate R --stop-file F --out FILE
      joins the room, then sends groupchat messages "NICK:1", "NICK:2", ...
      at R per second until F exists, waits --timeout seconds for the last
      ones, and writes FILE (JSON): every message sent with its time, every
      groupchat message received (sender, number, time) and every error
      (number, condition, time).  tests/check-rolling.sh reads it.
  session
      stays logged in and reads commands from standard input, one per line
      (a script such as tools/demo.sh drives two users step by step); each
      is echoed ("> command") and ends with "DONE ok" or "DONE fail WHY":
        disco-items JID         "ITEM jid" for each item
        disco-info JID          "FROM jid", "IDENTITY cat/type/name", "FEATURE var"
        join ROOM@HOST/NICK     enters a MUC room: "OCCUPANT nick" for each
                                occupant's presence, done at our own (code 110)
        say ROOM@HOST TEXT...   a groupchat message; done when the room
                                sends it back to us ("ECHO from=... body=...")
        hear TEXT...            done when a groupchat message with that body
                                has arrived, before or after ("HEARD from=... body=...")
        leave ROOM@HOST/NICK    unavailable presence; done when the room confirms
        quit                    log out and exit (also at end of input)
      The exit status is 0 when every command succeeded.

Common options: --port (c2s), --user alice|bob (password USERpw),
--resource, --timeout (seconds for the expected answer).
"""
import argparse
import asyncio
import json
import logging
import os
import sys
import time
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout

NS_ECHO = "urn:example:echo"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def error_fields(stanza):
    """(type, condition, text) of a stanza's <error/>."""
    e = stanza["error"]
    return e["type"], e["condition"], e["text"]


NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"


class Driver(slixmpp.ClientXMPP):
    def __init__(self, args):
        jid = f"{args.user}@example.test/{args.resource}"
        super().__init__(jid, args.user + "pw")
        self.args = args
        self.rc = 1
        self.inbox = asyncio.Queue()
        self.register_plugin("xep_0030")
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_auth", self.on_auth_failed)
        self.add_event_handler("connection_failed", self.on_conn_failed)
        self.add_event_handler("message", self.inbox.put_nowait)
        self.add_event_handler("message_error", self.inbox.put_nowait)

    def on_auth_failed(self, _):
        print("AUTH-FAILED", flush=True)
        self.rc = 2
        self.disconnect(wait=0)

    def on_conn_failed(self, err):
        print(f"CONNECTION-FAILED {err}", flush=True)
        self.rc = 2
        self.loop.stop()

    async def on_start(self, _):
        # A session times each of its commands instead of the whole.
        limit = (None if self.args.cmd in ("session", "muc-flood")
                 else self.args.timeout + 2)
        try:
            ok = await asyncio.wait_for(getattr(self, "do_" + self.args.cmd.replace("-", "_"))(),
                                        limit)
            self.rc = 0 if ok else 1
        except asyncio.TimeoutError:
            print("TIMEOUT", flush=True)
            self.rc = 1
        except Exception as e:  # report, never hang
            print(f"EXCEPTION {type(e).__name__}: {e}", flush=True)
            self.rc = 1
        self.disconnect(wait=1)

    async def next_message(self, pred, deadline):
        """The first queued message for which pred holds, or None."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                msg = await asyncio.wait_for(self.inbox.get(), left)
            except asyncio.TimeoutError:
                return None
            if pred(msg):
                return msg
            print(f"OTHER-MESSAGE from={msg['from']} type={msg['type']} body={msg['body']}",
                  flush=True)

    # --- subcommands -------------------------------------------------

    async def do_muc_flood(self):
        a = self.args
        room = a.room
        got, errors, sent = [], [], []
        joined = asyncio.Event()

        def on_msg(msg):
            now = time.time()
            if msg["type"] == "error":
                # Bounces need not carry the body; the id names the number.
                mid = msg["id"] or ""
                num = int(mid.split("-")[-1]) if mid.startswith(a.nick + "-") else -1
                errors.append([num, msg["error"]["condition"], now])
            elif msg["type"] == "groupchat" and ":" in (msg["body"] or ""):
                who, _, num = msg["body"].partition(":")
                if num.isdigit():
                    got.append([who, int(num), now])

        def on_pres(pres):
            x = pres.xml.find(f"{{{NS_MUC_USER}}}x")
            if x is not None and x.find(f"{{{NS_MUC_USER}}}status[@code='110']") is not None:
                joined.set()

        self.add_event_handler("message", on_msg)
        self.add_event_handler("message_error", on_msg)
        self.add_event_handler("presence", on_pres)
        self.send_presence(pto=f"{room}/{a.nick}")
        await asyncio.wait_for(joined.wait(), a.timeout)
        print("JOINED", flush=True)
        n = 0
        start = time.monotonic()
        while not os.path.exists(a.stop_file):
            n += 1
            sent.append([n, time.time()])
            m = self.make_message(mto=room, mbody=f"{a.nick}:{n}", mtype="groupchat")
            m["id"] = f"{a.nick}-{n}"
            m.send()
            await asyncio.sleep(max(0.0, start + n / a.rate - time.monotonic()))
        await asyncio.sleep(a.timeout)
        with open(a.out, "w") as f:
            json.dump({"nick": a.nick, "sent": sent, "got": got, "errors": errors}, f)
        print(f"SENT {n} GOT {len(got)} ERRORS {len(errors)}", flush=True)
        return True

    async def do_disco_info(self):
        a = self.args
        try:
            info = await self["xep_0030"].get_info(jid=a.to, node=a.node,
                                                   timeout=a.timeout, local=False)
        except IqError as e:
            t, c, x = error_fields(e.iq)
            print(f"ERROR type={t} condition={c} text={x}", flush=True)
            return a.error == c
        except IqTimeout:
            print("IQ-TIMEOUT", flush=True)
            return False
        q = info["disco_info"]
        print(f"FROM {info['from']} NODE {q['node']}", flush=True)
        idents = [f"{c}/{t}/{n}" for (c, t, _lang, n) in q["identities"]]
        for i in idents:
            print("IDENTITY " + i, flush=True)
        feats = set(q["features"])
        for f in sorted(feats):
            print("FEATURE " + f, flush=True)
        ok = a.error is None
        if a.identity and a.identity not in idents:
            print(f"MISSING-IDENTITY {a.identity}", flush=True)
            ok = False
        for f in a.feature:
            if f not in feats:
                print(f"MISSING-FEATURE {f}", flush=True)
                ok = False
        for f in a.not_feature:
            if f in feats:
                print(f"UNEXPECTED-FEATURE {f}", flush=True)
                ok = False
        if a.node is not None and q["node"] != a.node:
            print(f"WRONG-NODE {q['node']}", flush=True)
            ok = False
        return ok

    async def do_disco_items(self):
        a = self.args
        try:
            res = await self["xep_0030"].get_items(jid=a.to, timeout=a.timeout,
                                                   local=False)
        except IqError as e:
            t, c, x = error_fields(e.iq)
            print(f"ERROR type={t} condition={c} text={x}", flush=True)
            return False
        except IqTimeout:
            print("IQ-TIMEOUT", flush=True)
            return False
        items = [str(j) for (j, _node, _name) in res["disco_items"]["items"]]
        for j in items:
            print("ITEM " + j, flush=True)
        if a.item not in items:
            print(f"MISSING-ITEM {a.item}", flush=True)
            return False
        return True

    async def do_msg_roundtrip(self):
        a = self.args
        t0 = time.monotonic()
        msg = self.make_message(mto=a.to, mbody=a.body, mtype="chat")
        msg["id"] = self.new_id()
        msg.send()
        want = a.prefix + a.body
        got = await self.next_message(
            lambda m: m["type"] == "error" or m["body"] == want,
            t0 + a.timeout)
        elapsed = time.monotonic() - t0
        if got is None:
            print(f"NO-REPLY elapsed={elapsed:.2f}", flush=True)
            return False
        if got["type"] == "error":
            t, c, x = error_fields(got)
            print(f"ERROR type={t} condition={c} text={x} elapsed={elapsed:.2f}", flush=True)
            return False
        print(f"ROUNDTRIP from={got['from']} body={got['body']} elapsed={elapsed:.2f}", flush=True)
        if elapsed < a.min_elapsed:
            print(f"TOO-EARLY min={a.min_elapsed}", flush=True)
            return False
        return str(got["from"]) == a.to

    async def do_iq_roundtrip(self):
        a = self.args
        iq = self.make_iq_get(ito=a.to)
        q = ET.SubElement(iq.xml, f"{{{NS_ECHO}}}query")
        ET.SubElement(q, f"{{{NS_ECHO}}}text").text = a.text
        t0 = time.monotonic()
        try:
            res = await iq.send(timeout=a.timeout)
        except IqError as e:
            t, c, x = error_fields(e.iq)
            print(f"ERROR type={t} condition={c} text={x}", flush=True)
            return False
        except IqTimeout:
            print("IQ-TIMEOUT", flush=True)
            return False
        rq = res.xml.find(f"{{{NS_ECHO}}}query")
        text = rq.findtext(f"{{{NS_ECHO}}}text") if rq is not None else None
        by = rq.findtext(f"{{{NS_ECHO}}}by") if rq is not None else None
        print(f"IQ-RESULT from={res['from']} text={text} by={by} "
              f"elapsed={time.monotonic() - t0:.3f}", flush=True)
        return text == a.text and by == "component.py"

    async def do_send_msg(self):
        msg = self.make_message(mto=self.args.to, mbody=self.args.body, mtype="chat")
        msg["id"] = self.new_id()
        msg.send()
        print(f"SENT id={msg['id']}", flush=True)
        await asyncio.sleep(0.2)   # let the stanza leave before the stream closes
        return True

    async def do_expect_error(self):
        a = self.args
        t0 = time.monotonic()
        if a.kind == "message":
            msg = self.make_message(mto=a.to, mbody=a.body, mtype="chat")
            msg["id"] = self.new_id()
            msg.send()
            got = await self.next_message(lambda m: m["type"] == "error", t0 + a.timeout)
            if got is None:
                print(f"NO-ERROR elapsed={time.monotonic() - t0:.2f}", flush=True)
                return False
            stanza = got
        else:
            iq = self.make_iq_get(ito=a.to)
            q = ET.SubElement(iq.xml, f"{{{NS_ECHO}}}query")
            ET.SubElement(q, f"{{{NS_ECHO}}}text").text = a.body
            try:
                res = await iq.send(timeout=a.timeout)
                print(f"UNEXPECTED-RESULT {res}", flush=True)
                return False
            except IqTimeout:
                print(f"NO-ERROR elapsed={time.monotonic() - t0:.2f}", flush=True)
                return False
            except IqError as e:
                stanza = e.iq
        elapsed = time.monotonic() - t0
        t, c, x = error_fields(stanza)
        print(f"ERROR-RECEIVED kind={a.kind} from={stanza['from']} type={t} condition={c} "
              f"text={x} elapsed={elapsed:.2f}", flush=True)
        ok = c in a.conditions.split(",")
        if elapsed < a.min_elapsed or elapsed > a.max_elapsed:
            print(f"WRONG-DELAY want [{a.min_elapsed}, {a.max_elapsed}]", flush=True)
            ok = False
        return ok

    async def do_wait_msg(self):
        a = self.args
        if a.hello_to:
            # Let the component learn our full JID first.
            self.send_message(mto=a.hello_to, mbody="hello", mtype="chat")
        print("READY", flush=True)
        got = await self.next_message(lambda m: a.body_contains in m["body"],
                                      time.monotonic() + a.timeout)
        if got is None:
            print("NO-MESSAGE", flush=True)
            return False
        print(f"GOT from={got['from']} type={got['type']} body={got['body']}", flush=True)
        return got["type"] != "error"

    # --- session: commands from standard input -----------------------

    async def do_session(self):
        """Runs until "quit" or end of input; True if every command worked.
        The per-command timeout is --timeout; the session itself has none
        (on_start's overall limit is lifted for it, see on_start)."""
        self.heard = []              # every groupchat message, in order
        self.muc_presence = []       # every presence from a room occupant
        self.changed = asyncio.Event()
        self.add_event_handler("message", self.session_message)
        self.add_event_handler("presence", self.session_presence)
        reader = asyncio.StreamReader()
        await self.loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        print("READY", flush=True)
        all_ok = True
        while True:
            line = (await reader.readline()).decode()
            if not line:
                break
            words = line.split()
            if not words:
                continue
            print("> " + " ".join(words), flush=True)
            if words[0] == "quit":
                print("DONE ok", flush=True)
                break
            fn = getattr(self, "cmd_" + words[0].replace("-", "_"), None)
            try:
                if fn is None:
                    raise ValueError(f"unknown command {words[0]}")
                why = await asyncio.wait_for(fn(*words[1:]), self.args.timeout)
            except asyncio.TimeoutError:
                why = "timeout"
            except (IqError, IqTimeout, ValueError, TypeError) as e:
                why = f"{type(e).__name__} {e}"
            all_ok = all_ok and why is None
            print("DONE ok" if why is None else f"DONE fail {why}", flush=True)
        return all_ok

    def session_message(self, msg):
        if msg["type"] == "groupchat":
            self.heard.append(msg)
            self.changed.set()

    def session_presence(self, pres):
        if pres.xml.find(f"{{{NS_MUC_USER}}}x") is not None or pres["type"] == "error":
            self.muc_presence.append(pres)
            self.changed.set()

    async def wait_for(self, items, pred, start=0):
        """The first element of the growing list items, from index start,
        for which pred holds (waits for more to arrive)."""
        i = start
        while True:
            while i < len(items):
                if pred(items[i]):
                    return items[i]
                i += 1
            self.changed.clear()
            await self.changed.wait()

    async def cmd_disco_items(self, jid):
        res = await self["xep_0030"].get_items(jid=jid, local=False,
                                               timeout=self.args.timeout)
        for (j, _node, _name) in res["disco_items"]["items"]:
            print(f"ITEM {j}", flush=True)
        return None

    async def cmd_disco_info(self, jid):
        info = await self["xep_0030"].get_info(jid=jid, local=False,
                                               timeout=self.args.timeout)
        q = info["disco_info"]
        print(f"FROM {info['from']}", flush=True)
        for (c, t, _lang, n) in q["identities"]:
            print(f"IDENTITY {c}/{t}/{n}", flush=True)
        for f in sorted(q["features"]):
            print(f"FEATURE {f}", flush=True)
        return None

    def is_self(self, pres, occupant):
        x = pres.xml.find(f"{{{NS_MUC_USER}}}x")
        codes = [s.get("code") for s in x.iter(f"{{{NS_MUC_USER}}}status")] \
            if x is not None else []
        return "110" in codes or pres["from"] == occupant

    async def cmd_join(self, occupant):
        occupant = slixmpp.JID(occupant)
        start = len(self.muc_presence)
        p = self.make_presence(pto=occupant)
        p.xml.append(p.xml.makeelement(f"{{{NS_MUC}}}x", {}))
        p.send()
        while True:
            pres = await self.wait_for(
                self.muc_presence, lambda x: x["from"].bare == occupant.bare, start)
            start = self.muc_presence.index(pres) + 1
            if pres["type"] == "error":
                return f"error {pres['error']['condition']}"
            if self.is_self(pres, occupant):
                print(f"JOINED {occupant}", flush=True)
                return None
            print(f"OCCUPANT {pres['from'].resource}", flush=True)

    async def cmd_leave(self, occupant):
        occupant = slixmpp.JID(occupant)
        start = len(self.muc_presence)
        self.make_presence(pto=occupant, ptype="unavailable").send()
        await self.wait_for(self.muc_presence,
                            lambda x: x["type"] == "unavailable" and
                            self.is_self(x, occupant), start)
        print(f"LEFT {occupant}", flush=True)
        return None

    async def cmd_say(self, room, *text):
        body = " ".join(text)
        start = len(self.heard)
        self.send_message(mto=room, mbody=body, mtype="groupchat")
        got = await self.wait_for(
            self.heard, lambda m: m["from"].bare == room and m["body"] == body, start)
        print(f"ECHO from={got['from']} body={got['body']}", flush=True)
        return None

    async def cmd_hear(self, *text):
        body = " ".join(text)
        got = await self.wait_for(self.heard, lambda m: m["body"] == body)
        print(f"HEARD from={got['from']} body={got['body']}", flush=True)
        return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", default="alice")
    p.add_argument("--resource", default="it")
    p.add_argument("--timeout", type=float, default=5)
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("disco-info")
    d.add_argument("--to", required=True)
    d.add_argument("--node")
    d.add_argument("--identity")
    d.add_argument("--feature", action="append", default=[])
    d.add_argument("--not-feature", action="append", default=[])
    d.add_argument("--error")
    di = sub.add_parser("disco-items")
    di.add_argument("--to", required=True)
    di.add_argument("--item", required=True)
    m = sub.add_parser("msg-roundtrip")
    m.add_argument("--to", required=True)
    m.add_argument("--body", required=True)
    m.add_argument("--prefix", default="echo: ")
    m.add_argument("--min-elapsed", type=float, default=0)
    i = sub.add_parser("iq-roundtrip")
    i.add_argument("--to", required=True)
    i.add_argument("--text", required=True)
    s = sub.add_parser("send-msg")
    s.add_argument("--to", required=True)
    s.add_argument("--body", required=True)
    e = sub.add_parser("expect-error")
    e.add_argument("--to", required=True)
    e.add_argument("--kind", choices=("message", "iq"), default="message")
    e.add_argument("--body", required=True)
    e.add_argument("--conditions", required=True)
    e.add_argument("--min-elapsed", type=float, default=0)
    e.add_argument("--max-elapsed", type=float, default=1e9)
    w = sub.add_parser("wait-msg")
    w.add_argument("--body-contains", required=True)
    w.add_argument("--hello-to")
    fl = sub.add_parser("muc-flood")
    fl.add_argument("--room", required=True)
    fl.add_argument("--nick", required=True)
    fl.add_argument("--rate", type=float, default=10)
    fl.add_argument("--stop-file", required=True)
    fl.add_argument("--out", required=True)
    sub.add_parser("session")
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL,
                        format="%(asctime)s %(levelname)s %(message)s")

    xmpp = Driver(args)
    # slixmpp refuses PLAIN on plaintext by default; SCRAM is allowed.  This
    # is loopback only, so allow both whatever Prosody offers.
    xmpp["feature_mechanisms"].unencrypted_plain = True
    # A hard stop whatever happens, so a test can never hang on us.
    if args.cmd not in ("session", "muc-flood"):
        xmpp.loop.call_later(args.timeout + 10, lambda: (print("HARD-TIMEOUT", flush=True),
                                                         xmpp.loop.stop()))
    xmpp.connect(address=("127.0.0.1", args.port), use_ssl=False,
                 force_starttls=False, disable_starttls=True)
    try:
        xmpp.loop.run_until_complete(xmpp.disconnected)
    except RuntimeError:
        pass   # loop stopped by the hard timeout or a connection failure
    return xmpp.rc


if __name__ == "__main__":
    sys.exit(main())
