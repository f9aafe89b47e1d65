"""Interop with independent decoders and encoders, against the `compression` example.

Usage: python compression_interop.py PORT. Python's own gzip module and PyPI's `brotli` and
`zstandard` (not the Rust crates the server uses) decode each response coding and encode each
request body; an event stream's first event must decode while the stream is still open (the
second comes 3 s later); `Accept-Encoding` rules are spot-checked. Exits non-zero at the first
difference.
"""

import gzip
import http.client
import json
import socket
import sys
import time
import zlib

import brotli
import zstandard
from listening import wait_until_listening

port = int(sys.argv[1])

wait_until_listening(port, "the compression example")

DECODE = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
}
ENCODE = {
    "gzip": gzip.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor(level=3).compress(data),
}


def request(method, path, headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


plain_resp, plain = request("GET", "/report", {"Accept-Encoding": "identity"})
assert plain_resp.status == 200 and plain_resp.getheader("Content-Encoding") is None
report = json.loads(plain)
assert len(report["lines"]) == 128 and len(plain) > 10 * 1024, len(plain)
assert plain_resp.getheader("Vary") == "Accept-Encoding"

# Compressed per request, and from the static-response cache's variants.
for path in ["/report", "/static-report"]:
    for coding, decode in DECODE.items():
        resp, data = request("GET", path, {"Accept-Encoding": coding})
        assert resp.getheader("Content-Encoding") == coding, (path, coding, resp.getheaders())
        assert resp.getheader("Vary") == "Accept-Encoding"
        assert int(resp.getheader("Content-Length")) == len(data) < len(plain) // 3, (coding, len(data))
        assert decode(data) == plain, (path, coding)

# Preference and weights.
for accept, expected in [
    ("gzip, deflate, br, zstd", "zstd"),
    ("gzip, deflate, br", "br"),
    ("gzip;q=1.0, br;q=0.5", "gzip"),
    ("br;q=0, gzip;q=0.1", "gzip"),
    ("*;q=0.2, zstd;q=0", "br"),
    ("identity", None),
    ("deflate", None),
]:
    resp, _ = request("GET", "/report", {"Accept-Encoding": accept})
    assert resp.getheader("Content-Encoding") == expected, (accept, resp.getheader("Content-Encoding"))

# Request bodies in each coding, encoded by Python, decoded by the server.
payload = ("a line of a log that a client uploads compressed\n" * 500).encode()
for coding, encode in ENCODE.items():
    resp, echoed = request(
        "POST", "/echo", {"Content-Encoding": coding, "Accept-Encoding": "identity"}, encode(payload)
    )
    assert resp.status == 200, (coding, resp.status, echoed[:200])
    assert echoed == payload, coding
resp, _ = request("POST", "/echo", {"Content-Encoding": "compress"}, b"xyz")
assert resp.status == 415 and resp.getheader("Accept-Encoding") == "zstd, br, gzip", resp.getheaders()

# An event stream: the first event decodes while the stream is open.
for coding in DECODE:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    started = time.monotonic()
    sock.sendall(f"GET /events HTTP/1.1\r\nHost: t\r\nAccept-Encoding: {coding}\r\n\r\n".encode())
    if coding == "gzip":
        decoder = zlib.decompressobj(wbits=31)
    elif coding == "br":
        decoder = brotli.Decompressor()
    else:
        decoder = zstandard.ZstdDecompressor().decompressobj()
    buffered = b""
    while b"\r\n\r\n" not in buffered:
        buffered += sock.recv(65536)
    head, _, rest = buffered.partition(b"\r\n\r\n")
    assert f"content-encoding: {coding}".encode() in head.lower(), head
    assert b"transfer-encoding: chunked" in head.lower(), head
    decoded = b""
    while b"data: first\n\n" not in decoded:
        # Chunked framing: size line, data, CRLF.
        while b"\r\n" not in rest:
            rest += sock.recv(65536)
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        assert size > 0, "the stream ended before its first event"
        while len(rest) < size + 2:
            rest += sock.recv(65536)
        chunk, rest = rest[:size], rest[size + 2 :]
        decoded += decoder.process(chunk) if coding == "br" else decoder.decompress(chunk)
    waited = time.monotonic() - started
    assert waited < 2.0, f"{coding}: the first event took {waited:.2f}s"
    sock.close()

print("compression interop (python gzip, brotli, zstandard): ok")
