#!/usr/bin/python3
"""muc.py -- a tiny multi-user chat service, the "real component" of the
quick start.

It is an ordinary XEP-0114 external component written with slixmpp: it
knows nothing about vcomp.  It connects to node1's vcomp runtime (the
`listen` address of the spec) exactly as it would connect to an XMPP
server, and the runtimes make it reachable from every node.

What it does, in the spirit of XEP-0045 but much smaller:

  * presence to room@muc.example.test/nick joins the room "room" as
    "nick": the newcomer receives the presence of everyone already there,
    everyone receives the newcomer's, and the newcomer's own presence
    comes last with status code 110 ("this is you");
  * a groupchat message to room@muc.example.test from an occupant goes to
    every occupant, from room@muc.example.test/nick;
  * unavailable presence (or the user's server saying they left) removes
    the occupant and tells the others.

Rooms exist while someone is in them.  No history, no roles, no
configuration: read it in two minutes, then use a real MUC.  It exits when
its connection ends, unless --reconnect is given: then it connects again
(every 100 ms until it succeeds) and keeps its rooms, as a real component
does while its home's runtime restarts (a rolling deploy).

usage: MUC_SECRET=... muc.py --port 5348 [--domain muc.example.test] [--reconnect]

The secret is read from the environment variable MUC_SECRET, the one the
spec names for this component, so that it does not show in `ps`.
"""
import argparse
import logging
import os
import signal
import sys

import slixmpp

NS_MUC_USER = "http://jabber.org/protocol/muc#user"


class Muc(slixmpp.ComponentXMPP):
    def __init__(self, domain, secret, port, reconnect=False):
        super().__init__(domain, secret, "127.0.0.1", port)
        self.reconnect = reconnect
        # rooms["room"] = {"nick": "alice@example.test/res", ...}
        self.rooms = {}
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("presence", self.on_presence)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("disconnected", self.on_disconnected)
        self.add_event_handler("connection_failed", self.on_disconnected)

    def on_disconnected(self, _):
        if not self.reconnect:
            self.loop.stop()
            return
        print("muc.py: disconnected; connecting again", flush=True)
        self.loop.call_later(0.1, self.connect)

    def on_start(self, _):
        print(f"muc.py: connected as {self.boundjid}", flush=True)

    def send_occupant(self, room, nick, to, kind="available", me=False):
        """Tell `to` that `nick` is (or is no longer) in `room`."""
        p = self.make_presence(pto=to, pfrom=f"{room}@{self.boundjid}/{nick}",
                               ptype=None if kind == "available" else kind)
        x = p.xml.makeelement(f"{{{NS_MUC_USER}}}x", {})
        role = "participant" if kind == "available" else "none"
        x.append(x.makeelement(f"{{{NS_MUC_USER}}}item",
                               {"affiliation": "none", "role": role}))
        if me:
            x.append(x.makeelement(f"{{{NS_MUC_USER}}}status", {"code": "110"}))
        p.xml.append(x)
        p.send()

    def on_presence(self, pres):
        room, nick, user = pres["to"].user, pres["to"].resource, pres["from"].full
        # Only "I am here" (with or without a <show/>) and "I left" matter;
        # errors, probes and subscriptions are not for a room.
        if not room or not nick or pres["type"] not in ("available", "unavailable",
                                                        *pres.showtypes):
            return
        occupants = self.rooms.setdefault(room, {})
        if pres["type"] == "unavailable":
            if occupants.get(nick) == user:
                del occupants[nick]
                for who in [user] + list(occupants.values()):
                    self.send_occupant(room, nick, who, "unavailable", who == user)
                print(f"muc.py: {nick} left {room}", flush=True)
            if not occupants:
                del self.rooms[room]
            return
        if occupants.get(nick, user) != user:
            err = self.make_presence(pto=user, pfrom=pres["to"], ptype="error")
            err["error"]["type"] = "cancel"
            err["error"]["condition"] = "conflict"
            err.send()
            return
        others = {n: u for n, u in occupants.items() if n != nick}
        for other_nick in others:            # who is here, to the newcomer
            self.send_occupant(room, other_nick, user)
        for other in others.values():        # the newcomer, to them
            self.send_occupant(room, nick, other)
        # The newcomer's own presence comes last: it also says "you are in".
        occupants[nick] = user
        self.send_occupant(room, nick, user, me=True)
        print(f"muc.py: {nick} ({user}) joined {room}: "
              f"{', '.join(sorted(occupants))}", flush=True)

    def on_message(self, msg):
        if msg["type"] != "groupchat":
            return
        room, user = msg["to"].user, msg["from"].full
        occupants = self.rooms.get(room, {})
        nick = next((n for n, u in occupants.items() if u == user), None)
        if nick is None or msg["to"].resource:
            err = msg.reply()
            err["type"] = "error"
            err["error"]["type"] = "modify"
            err["error"]["condition"] = "not-acceptable"
            err["error"]["text"] = "join the room first"
            err.send()
            return
        # The sender gets the message too, last: that is how a MUC client
        # knows the room accepted it.
        others = [u for u in occupants.values() if u != user]
        for who in others + [user]:
            self.send_message(mto=who, mfrom=f"{room}@{self.boundjid}/{nick}",
                              mbody=msg["body"], mtype="groupchat")
        print(f"muc.py: {room}: <{nick}> {msg['body']}", flush=True)


def main():
    p = argparse.ArgumentParser(description="a tiny MUC-like XEP-0114 component")
    p.add_argument("--port", type=int, required=True,
                   help="the home runtime's listen port (5348 in the quick start)")
    p.add_argument("--domain", default="muc.example.test")
    p.add_argument("--reconnect", action="store_true",
                   help="connect again when the connection ends, keeping the rooms")
    args = p.parse_args()
    secret = os.environ.get("MUC_SECRET")
    if not secret:
        p.error("the environment variable MUC_SECRET (the component secret) is not set")
    logging.basicConfig(level=logging.ERROR)
    muc = Muc(args.domain, secret, args.port, args.reconnect)
    def stop():
        muc.reconnect = False
        muc.loop.stop()
    muc.loop.add_signal_handler(signal.SIGTERM, stop)
    muc.loop.add_signal_handler(signal.SIGINT, stop)
    muc.connect()
    muc.loop.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
