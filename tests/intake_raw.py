#!/usr/bin/python3
"""intake_raw.py - one raw HTTP exchange with a server on loopback.

    printf 'GET / HTTP/1.1\\r\\n...' | tests/intake_raw.py PORT [--trickle SECONDS]

Sends the bytes read from stdin as they are (NUL bytes, bare CRs and all:
what curl will not send), then reads until the server closes the
connection or stays silent for 3 s. With --trickle, the request's header
block goes at once and the rest one byte every SECONDS, for as long as the
server keeps the connection open. Prints one JSON line: the status of the
first response, how many responses came, whether the server closed the
connection, the seconds until it did, and the first response's body.
"""
import argparse
import json
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--trickle", type=float, default=0)
    args = ap.parse_args()
    data = sys.stdin.buffer.read()
    s = socket.create_connection(("127.0.0.1", args.port), timeout=5)
    t0 = time.monotonic()
    closed = False
    try:
        if args.trickle:
            head_end = data.find(b"\r\n\r\n") + 4
            s.sendall(data[:head_end])
            for i in range(head_end, len(data)):
                time.sleep(args.trickle)
                s.sendall(data[i:i + 1])
        else:
            s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    got = b""
    s.settimeout(3)
    while not closed:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        got += chunk
    seconds = time.monotonic() - t0
    s.close()
    status, body = 0, ""
    if got.startswith(b"HTTP/1."):
        status = int(got.split(b" ", 2)[1])
        head, _, rest = got.partition(b"\r\n\r\n")
        body = rest.split(b"HTTP/1.", 1)[0].decode("utf-8", "replace")
    print(json.dumps({"status": status, "responses": got.count(b"HTTP/1.1 "),
                      "closed": closed, "seconds": round(seconds, 2), "body": body}))


main()
