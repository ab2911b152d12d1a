#!/usr/bin/python3
"""tlsproxy.py -- a recording TCP proxy for one peer link, and a replayer.

  tlsproxy.py proxy --listen P --to Q --dir D
      Accepts on 127.0.0.1:P; for every connection n (1, 2, ...) connects
      to 127.0.0.1:Q and copies bytes both ways, appending them to
      D/conn-n.d2a (from the dialler, that is the side that connected to
      P) and D/conn-n.a2d.  It follows the TLS record layer in each
      direction (5-byte headers: type, version, length) only to count the
      records and to find application data.  When the file D/flip exists
      and names a direction (d2a or a2d), the first payload byte of the
      next application data record of at least 200 bytes (one that holds
      a stanza) in that direction is flipped (XOR 0x01), the
      file is removed and "FLIPPED n DIR record=K" printed.  Prints,
      flushed: "LISTENING", "CONN n", and when a connection ends
      "CLOSED n d2a-bytes=B d2a-appdata=K a2d-bytes=B a2d-appdata=K".

  tlsproxy.py replay --to Q --file F [--wait S]
      Connects to 127.0.0.1:Q, sends the bytes of F (a recorded d2a
      stream), reads what comes back until the other side closes or S
      seconds pass, and prints "REPLY bytes=B records=R appdata=K
      types=T,T,..." (the TLS record types seen).
"""
import argparse
import asyncio
import os
import sys


# Only records this long are flipped: one that carries a STANZA frame, not
# a lone ACK or PING (a 12-byte frame and a 16-byte tag, or a few of them).
FLIP_MIN = 200


class Records:
    """Follows a TLS record stream; counts records and application data."""

    def __init__(self):
        self.hdr = b""
        self.left = 0          # payload bytes left in the current record
        self.rtype = None
        self.rlen = 0
        self.count = 0
        self.appdata = 0
        self.types = []

    def feed(self, data, flip=False):
        """Returns (data, flipped); with flip, the first application-data
        payload byte in data is flipped."""
        out = bytearray(data)
        i = 0
        flipped = False
        while i < len(out):
            if self.left == 0:
                need = 5 - len(self.hdr)
                self.hdr += bytes(out[i:i + need])
                i += min(need, len(out) - i)
                if len(self.hdr) == 5:
                    self.rtype = self.hdr[0]
                    self.left = int.from_bytes(self.hdr[3:5], "big")
                    self.rlen = self.left
                    self.count += 1
                    self.types.append(self.rtype)
                    if self.rtype == 23:
                        self.appdata += 1
                    self.hdr = b""
                continue
            n = min(self.left, len(out) - i)
            if flip and not flipped and self.rtype == 23 and \
                    self.rlen >= FLIP_MIN:
                out[i] ^= 0x01
                flipped = True
            i += n
            self.left -= n
        return bytes(out), flipped


async def pump(n, d, reader, writer, path, rec, flipfile):
    with open(path, "ab") as f:
        while True:
            try:
                data = await reader.read(65536)
            except ConnectionError:
                data = b""
            if not data:
                break
            want = False
            try:
                with open(flipfile) as ff:
                    want = ff.read().strip() == d
            except FileNotFoundError:
                pass
            data, flipped = rec.feed(data, flip=want)
            if flipped:
                os.unlink(flipfile)
                print(f"FLIPPED {n} {d} record={rec.count}", flush=True)
            f.write(data)
            f.flush()
            writer.write(data)
            try:
                await writer.drain()
            except ConnectionError:
                break
    try:
        writer.close()
    except Exception:
        pass


def proxy(args):
    counter = [0]
    flipfile = os.path.join(args.dir, "flip")

    async def handle(dr, dw):
        counter[0] += 1
        n = counter[0]
        print(f"CONN {n}", flush=True)
        try:
            ar, aw = await asyncio.open_connection("127.0.0.1", args.to)
        except OSError as e:
            print(f"CLOSED {n} connect-failed {e}", flush=True)
            dw.close()
            return
        rd, ra = Records(), Records()
        base = os.path.join(args.dir, f"conn-{n}")
        await asyncio.gather(
            pump(n, "d2a", dr, aw, base + ".d2a", rd, flipfile),
            pump(n, "a2d", ar, dw, base + ".a2d", ra, flipfile))
        print(f"CLOSED {n} d2a-bytes={os.path.getsize(base + '.d2a')} "
              f"d2a-appdata={rd.appdata} "
              f"a2d-bytes={os.path.getsize(base + '.a2d')} "
              f"a2d-appdata={ra.appdata}", flush=True)

    async def main():
        srv = await asyncio.start_server(handle, "127.0.0.1", args.listen)
        print("LISTENING", flush=True)
        async with srv:
            await srv.serve_forever()

    asyncio.run(main())


def replay(args):
    async def main():
        r, w = await asyncio.open_connection("127.0.0.1", args.to)
        with open(args.file, "rb") as f:
            w.write(f.read())
        await w.drain()
        rec = Records()
        got = 0
        loop = asyncio.get_running_loop()
        end = loop.time() + args.wait
        while loop.time() < end:
            try:
                data = await asyncio.wait_for(r.read(65536),
                                              end - loop.time())
            except (asyncio.TimeoutError, ConnectionError):
                break
            if not data:
                break
            got += len(data)
            rec.feed(data)
        print(f"REPLY bytes={got} records={rec.count} "
              f"appdata={rec.appdata} "
              f"types={','.join(str(t) for t in rec.types)}", flush=True)
        w.close()

    asyncio.run(main())


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("proxy")
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--to", type=int, required=True)
    p.add_argument("--dir", required=True)
    r = sub.add_parser("replay")
    r.add_argument("--to", type=int, required=True)
    r.add_argument("--file", required=True)
    r.add_argument("--wait", type=float, default=3.0)
    args = ap.parse_args()
    if args.cmd == "proxy":
        proxy(args)
    else:
        replay(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
