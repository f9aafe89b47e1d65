"""WebSockets accepted by the Python host over the C ABI, driven by the `websockets` client
(PyPI) on both backends. Run by the ws stage of `.ci/run`, in the venv that has `websockets`
(`.ci/ffi.sh` leaves this file out)."""

import threading

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import get
from nanoapi_host import NanoapiError, WebSocketClosed


def echo_on_a_thread(req):
    """Accepts `chat` and echoes from a thread of its own, after the handler returned; the
    text `bye` makes the host close with 4000."""
    ws = req.accept_websocket("chat")

    def run():
        with ws:
            for message in ws:
                if message == "bye":
                    ws.close(4000, "as asked")
                    continue
                ws.send(message)

    threading.Thread(target=run, daemon=True).start()


def test_a_host_echoes_text_and_binary_and_closes(serve):
    port = serve(echo_on_a_thread).port
    with connect(f"ws://127.0.0.1:{port}/chat", subprotocols=["chat"], compression=None) as ws:
        assert ws.subprotocol == "chat"
        ws.send("Hello, κόσμε")
        assert ws.recv() == "Hello, κόσμε"
        large = bytes(range(256)) * 400
        ws.send(large)
        assert ws.recv() == large
        assert ws.ping(b"x").wait(5), "the library answers pings"
        ws.send("bye")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
        assert closed.value.rcvd.code == 4000 and closed.value.rcvd.reason == "as asked"


def test_the_host_sees_the_clients_close_and_a_handler_may_keep_the_socket(serve):
    seen = []
    done = threading.Event()

    def inline(req):
        with req.accept_websocket() as ws:
            try:
                while True:
                    seen.append(ws.receive())
            except WebSocketClosed as closed:
                seen.append((closed.code, closed.reason))
        done.set()

    port = serve(inline).port
    with connect(f"ws://127.0.0.1:{port}/", compression=None) as ws:
        ws.send("one")
        ws.send(b"two")
        ws.close(1001, "going")
    assert done.wait(10)
    assert seen == ["one", b"two", (1001, "going")]


def test_a_request_that_is_not_a_handshake_is_refused(serve):
    errors = []

    def handler(req):
        try:
            req.accept_websocket()
        except NanoapiError as err:
            errors.append(err.code)

    port = serve(handler).port
    # A plain GET: no Upgrade field, so the library answers 400 and the host gets INVALID.
    status, _, body = get(port, "/")
    assert status == 400, body
    assert errors == [-1]
