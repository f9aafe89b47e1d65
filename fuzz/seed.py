#!/usr/bin/env python3
"""Writes seed corpora for every fuzz target from the conformance suite's requests.

Reads the byte-string literals of `tests/conn.rs` (the `request: b"..."` of the conformance
table and the other raw requests of that file) and writes, under fuzz/corpus/<target>/:

- connection: each request whole, byte by byte, and split in pieces of 3 and 7 bytes (the
  first input byte says how many piece sizes follow), and all requests of the table pipelined;
- parse_request_head, differential_httparse: each request;
- chunked: the body of each chunked request, read whole and one byte at a time;
- app: one valid and a few invalid requests per App route (see fuzz_targets/app.rs for the
  input layout: route byte, then text, cookie, body and content-type choice split at `\n`).

Usage: python3 fuzz/seed.py (from anywhere). Existing files are kept; names are content hashes.
"""
import hashlib
import pathlib
import re
import zlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
LITERAL = re.compile(rb'\bb"((?:[^"\\]|\\.)*)"', re.S)


def unescape(text: bytes) -> bytes:
    """A Rust byte-string literal's value: \\r \\n \\t \\0 \\\\ \\" \\' \\xNN and line continuations."""
    out, i = bytearray(), 0
    simple = {ord('r'): b'\r', ord('n'): b'\n', ord('t'): b'\t', ord('0'): b'\0',
              ord('\\'): b'\\', ord('"'): b'"', ord("'"): b"'"}
    while i < len(text):
        c = text[i]
        if c != ord('\\'):
            out.append(c)
            i += 1
            continue
        e = text[i + 1]
        if e in simple:
            out += simple[e]
            i += 2
        elif e == ord('x'):
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        elif e == ord('\n'):
            # A line continuation: skip the newline and the next line's leading whitespace.
            i += 2
            while i < len(text) and text[i] in b' \t\r\n':
                i += 1
        else:
            raise ValueError(f'unknown escape \\{chr(e)}')
    return bytes(out)


def requests() -> list[bytes]:
    source = (ROOT / 'tests' / 'conn.rs').read_bytes()
    found = []
    for match in LITERAL.finditer(source):
        value = unescape(match.group(1))
        # Requests only: a method, a space, a target (the table's names and bodies are not).
        if re.match(rb'^[A-Z]+ \S+ HTTP/', value) and value not in found:
            found.append(value)
    return found


def write(target: str, data: bytes) -> None:
    directory = ROOT / 'fuzz' / 'corpus' / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main() -> None:
    reqs = requests()
    assert len(reqs) >= 20, f'only {len(reqs)} requests found in tests/conn.rs'
    for req in reqs:
        write('parse_request_head', req)
        write('differential_httparse', req)
        write('connection', bytes([0]) + req)
        write('connection', bytes([1, 1]) + req)
        write('connection', bytes([2, 3, 7]) + req)
        end = req.find(b'\r\n\r\n')
        if b'chunked' in req.lower() and end >= 0:
            body = req[end + 4:]
            write('chunked', bytes([255]) + body)
            write('chunked', bytes([1]) + body)
    write('connection', bytes([0]) + b''.join(reqs))
    app_seeds = [
        b'\x00n=5&flag=yes&list=1&list=2&s=a+b%21\nsession=abc\n\n\x00',
        b'\x00n=abc&flag=maybe&f=1e400\n\n\n\x00',
        b'\x01a%2Fb/7/x/y\n\n\n\x00',
        b'\x01a/-1/\n\n\n\x00',
        b'\x02\n\n{"id":1,"email":"a@b.io","slug":"ab","kind":"a","items":[{"tag":"x"}],'
        b'"extra":{"id":2,"email":"x","slug":"A","kind":"c","items":[{}]}}\n\x00',
        b'\x02\n\n{"id": \n\x00',
        b'\x03\n\nuser=a&pass=abcd&remember=on\n\x01',
        b'\x03\n\npass=%ZZ&user\n\x02',
        b'\x04\nsession=1; theme="dark"; =x; y\n\n\x00',
        b'\x05me/y/z\n\n\n\x00',
    ]
    for seed in app_seeds:
        write('app', seed)
    # WebSocket client streams: a piece size, then masked frames (RFC 6455's "Hello", a
    # fragmented text with a ping between its parts, a close).
    ws_seeds = [
        b'\x03\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58',
        b'\x02\x01\x82\x00\x00\x00\x00\xce\xba\x89\x80\x00\x00\x00\x00'
        b'\x80\x83\x00\x00\x00\x00\xcf\x83\x61\x88\x82\x00\x00\x00\x00\x03\xe8',
    ]
    # permessage-deflate (on when the first frame byte is odd): "Hello" compressed in one
    # frame, then a message compressed in two fragments, with the context kept.
    deflate = zlib.compressobj(wbits=-15)

    def compressed(text):
        data = deflate.compress(text) + deflate.flush(zlib.Z_SYNC_FLUSH)
        return data[:-4]

    def unmasked_zero(first, payload):
        return bytes([first, 0x80 | len(payload)]) + bytes(4) + payload

    hello = compressed(b'Hello, Hello, Hello')
    again = compressed(b'Hello, Hello, Hello, again')
    ws_seeds.append(b'\x05' + unmasked_zero(0xC1, hello)
                    + unmasked_zero(0x41, again[:3]) + unmasked_zero(0x80, again[3:]))
    for seed in ws_seeds:
        write('ws_frames', seed)
    print(f'{len(reqs)} requests from tests/conn.rs -> fuzz/corpus/')


if __name__ == '__main__':
    main()
