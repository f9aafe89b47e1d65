"""Interop with Python's `websockets` client (PyPI), against the `ws_echo` example.

Usage: python ws_interop.py PORT [--tls CERT]: over TLS (wss://, the server's certificate in
the PEM file CERT, for `localhost`) with `--tls`. Exits non-zero on the first answer that differs from what
RFC 6455 and the example promise: echoes of text, binary, an empty, a fragmented and a large
message, a ping answered, a subprotocol chosen, the close handshake with code 1000, each with
permessage-deflate as websockets offers it by default, with every parameter, and without; and
a refused handshake (another version: 426). The example must be built with `ws-deflate`.

The client is websockets' asyncio one, not its threaded (`sync`) one: that one reads in a
thread of its own while the caller writes, and over TLS the two threads share one OpenSSL
session and one socket timeout — under load its reader sometimes fails with "The read operation
timed out" when the writer sets the close timeout, and drops the connection before the server's
close frame (measured: 5 runs in 10 with the other core busy, on both of our backends).
"""

import asyncio
import socket
import ssl
import sys

from listening import wait_until_listening

from websockets.asyncio.client import connect

port = int(sys.argv[1])
tls = None
if sys.argv[2:3] == ["--tls"]:
    tls = ssl.create_default_context(cafile=sys.argv[3])
url = f"wss://localhost:{port}/ws" if tls else f"ws://127.0.0.1:{port}/ws"

wait_until_listening(port, "ws_echo")

from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory


async def exchange(ws):
    """The echoes, a ping and the close handshake over one connection."""
    assert ws.subprotocol == "chat", ws.subprotocol
    await ws.send("Hello, κόσμε")
    assert await ws.recv() == "Hello, κόσμε"
    await ws.send(b"\x00\x01\x02")
    assert await ws.recv() == b"\x00\x01\x02"
    await ws.send("")
    assert await ws.recv() == ""
    await ws.send(["frag", "men", "ted"])  # one message in three frames
    assert await ws.recv() == "fragmented"
    large = bytes(range(256)) * 1024  # 256 KiB, a 64-bit length
    await ws.send(large)
    assert await ws.recv() == large
    for n in range(5):  # repeats, which a kept context compresses to almost nothing
        line = f'{{"tick": {n}, "symbol": "NANO", "price": 101.25}}' * 40
        await ws.send(line)
        assert await ws.recv() == line
    pong = await ws.ping(b"are you there")
    await asyncio.wait_for(pong, 5)  # raises TimeoutError without a pong
    await ws.close(code=1000, reason="done")
    # The code of the close frame the server answered with: ours, echoed.
    assert ws.protocol.close_rcvd is not None, "no close frame from the server"
    assert ws.protocol.close_rcvd.code == 1000, ws.protocol.close_rcvd
    assert ws.close_code == 1000, ws.close_code


def agreed(ws):
    return ws.response.headers.get("Sec-WebSocket-Extensions")


async def main():
    # websockets offers permessage-deflate by default (client_max_window_bits): the example
    # built with ws-deflate accepts it with 32 KiB windows.
    async with connect(url, ssl=tls, subprotocols=["chat", "other"], max_size=None) as ws:
        assert agreed(ws) == "permessage-deflate", agreed(ws)
        assert [type(e).__name__ for e in ws.protocol.extensions] == ["PerMessageDeflate"]
        await exchange(ws)

    # Every parameter at once: small windows and no context either way.
    tight = ClientPerMessageDeflateFactory(
        server_no_context_takeover=True,
        client_no_context_takeover=True,
        server_max_window_bits=10,
        client_max_window_bits=10,
    )
    async with connect(url, ssl=tls, subprotocols=["chat", "other"], max_size=None,
                       compression=None, extensions=[tight]) as ws:
        expected = ("permessage-deflate; server_no_context_takeover; "
                    "client_no_context_takeover; server_max_window_bits=10; "
                    "client_max_window_bits=10")
        assert agreed(ws) == expected, agreed(ws)
        await exchange(ws)

    # No offer: an uncompressed socket.
    async with connect(url, ssl=tls, subprotocols=["chat", "other"], max_size=None,
                       compression=None) as ws:
        assert agreed(ws) is None, agreed(ws)
        await exchange(ws)


asyncio.run(main())

# Another protocol version: 426 with the version the server speaks.
def open_raw():
    """A plain socket to the server, or a TLS one with `--tls`."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    return tls.wrap_socket(raw, server_hostname="localhost") if tls else raw


with open_raw() as s:
    s.sendall(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"
        b"Connection: close\r\n\r\n"
    )
    answer = b""
    while chunk := s.recv(4096):
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 426 "), answer
    assert b"sec-websocket-version: 13\r\n" in answer.lower(), answer

print("ws interop over TLS: ok" if tls else "ws interop: ok")
