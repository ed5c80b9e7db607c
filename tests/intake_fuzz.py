#!/usr/bin/python3
"""intake_fuzz.py - garbled HTTP requests against a server on loopback.

    tests/intake_fuzz.py PORT [--count N] [--seconds S] [--seed K]

Sends up to N requests (or stops after S seconds), each a mutation of a
valid upload or of plain noise: broken request lines, absurd or lying
Content-Length, bad chunked framing, damaged multipart boundaries, huge
headers, truncated bodies, connections dropped halfway. Responses are read
but not judged: the point is that the server survives. Prints a summary
line; exits 1 if the server stopped accepting connections.
"""
import argparse
import random
import socket
import sys
import time

JPEG = bytes([0xFF, 0xD8, 0xFF, 0xE0]) + b"\x00\x10JFIF\x00" + bytes(range(256)) * 4


def multipart(boundary, data, camera=b"fuzz"):
    return (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"camera\"\r\n\r\n" + camera +
            b"\r\n--" + boundary + b"\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
            b"Content-Type: image/jpeg\r\n\r\n" + data + b"\r\n--" + boundary + b"--\r\n")


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(4)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif op == 1:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 2:
            del data[pos:pos + rng.randint(1, 32)]
        else:
            data[pos:pos] = rng.choice([b"\r\n", b"\r\n\r\n", b"--", b":", b"\x00", b"%", b"/../"])
    return bytes(data)


def request(rng):
    kind = rng.randrange(9)
    boundary = b"b" + str(rng.randrange(10**9)).encode()
    body = multipart(boundary, JPEG[: rng.randrange(len(JPEG))])
    ctype = b"multipart/form-data; boundary=" + boundary
    length = len(body)
    path = rng.choice([b"/v1/images", b"/v1/images/1", b"/v1/images/1/output", b"/readyz", b"/metrics",
                       b"/v1/images?limit=5&after=x", b"/%00", b"/" + b"a" * 5000, b"*"])
    method = rng.choice([b"POST", b"GET", b"PUT", b"DELETE", b"OPTIONS", b"BREW", b"post"])
    extra = b""
    if kind == 0:     # lying Content-Length
        length = rng.choice([0, 1, length // 2, length * 3, 2**63, -5])
    elif kind == 1:   # damaged body
        body = mutate(rng, body)
    elif kind == 2:   # chunked with broken framing
        extra = b"Transfer-Encoding: chunked\r\n"
        body = b"%x\r\n" % rng.randrange(1, 100000) + body[:100] + rng.choice([b"\r\n0\r\n\r\n", b"zz\r\n", b""])
        length = None
    elif kind == 3:   # huge header
        extra = b"X-Big: " + b"x" * rng.choice([1000, 10000, 100000]) + b"\r\n"
    elif kind == 4:   # raw noise
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 3000)))
    elif kind == 5:   # odd content types and cameras
        ctype = rng.choice([b"image/jpeg", b"image/png", b"multipart/form-data; boundary=", b"", b"\xff\xfe",
                            b"multipart/form-data; boundary=" + b"q" * 300])
        extra = b"X-Camera: " + rng.choice([b"../..", b"", b"a" * 200, b"\xc3\xa9t\xc3\xa9", b"ok-cam"]) + b"\r\n"
    elif kind == 6:   # bad request line
        return mutate(rng, b"POST /v1/images HTTP/1.1\r\nHost: x\r\n\r\n")
    elif kind == 7:   # bad auth / request id
        extra = (b"Authorization: Bearer " + bytes(rng.randrange(32, 127) for _ in range(rng.randint(0, 300))) +
                 b"\r\nX-Request-Id: " + bytes(rng.randrange(32, 127) for _ in range(rng.randint(0, 300))) + b"\r\n")
    head = method + b" " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + ctype + b"\r\n" + extra
    if length is not None:
        head += b"Content-Length: " + str(length).encode() + b"\r\n"
    raw = head + b"\r\n" + body
    if kind == 8:     # mutate everything
        raw = mutate(rng, raw)
    return raw


def send(port, raw, rng):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.settimeout(0.3)   # a server waiting for a body that never comes is fine
        try:
            if rng.random() < 0.15:   # hang up halfway
                s.sendall(raw[: rng.randrange(len(raw) + 1)])
                return
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR) if rng.random() < 0.5 else None
            while s.recv(65536):
                pass
        except OSError:
            pass


def alive(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(100).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--seconds", type=float, default=25)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    start, sent = time.monotonic(), 0
    while sent < a.count and time.monotonic() - start < a.seconds:
        try:
            send(a.port, request(rng), rng)
        except OSError:
            pass
        sent += 1
    up = alive(a.port)
    print(f"# fuzz: {sent} requests in {time.monotonic() - start:.1f}s, server {'up' if up else 'DOWN'}")
    sys.exit(0 if up else 1)


if __name__ == "__main__":
    main()
