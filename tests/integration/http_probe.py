#!/usr/bin/python3
"""http_probe.py -- raw HTTP/1.x requests to a runtime's stats listener.

Sends exactly the bytes given (so malformed requests can be sent), reads the
response until the server closes, and prints its status line, then
"BODY-BYTES n" and "ELAPSED seconds".  With --slow, sends the request's
bytes one every --gap seconds (a slow client); with --hold, sends them and
then keeps the connection open without finishing the head.

usage: http_probe.py PORT REQUEST [--slow] [--gap S] [--timeout S]
REQUEST is a Python string literal body with \\r\\n escapes, e.g.
  'GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'
"""
import argparse
import codecs
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("request")
    ap.add_argument("--slow", action="store_true")
    ap.add_argument("--gap", type=float, default=0.5)
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args()
    req = codecs.decode(a.request, "unicode_escape").encode("latin-1")
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    try:
        if a.slow:
            for i in range(len(req)):
                s.sendall(req[i:i + 1])
                time.sleep(a.gap)
        else:
            s.sendall(req)
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError) as e:
        print("RECV-ERROR %s" % e)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    print(lines[0] if lines[0] else "NO-RESPONSE")
    for line in lines[1:]:
        print("HEADER " + line)
    print("BODY-BYTES %d" % len(body))
    print("ELAPSED %.2f" % (time.monotonic() - t0))
    sys.stdout.write(body.decode("utf-8", "replace"))


if __name__ == "__main__":
    main()
