"""The Python host over the C ABI, tested over real sockets on both backends."""

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import LIB, connect, get, read_chunk, read_head
from nanoapi_host import NanoapiError, Server, library_path

TEXT = "text/plain; charset=utf-8"


def test_a_three_tuple_answers_and_the_request_view_is_complete(serve):
    def handler(req):
        seen = {
            "method": req.method,
            "target": req.target,
            "path": req.path,
            "query": req.query,
            "version": req.version,
            "x_test": req.header("X-TEST"),
            "headers": req.headers,
            "body": req.body.decode(),
        }
        return 200, "application/json", json.dumps(seen)

    port = serve(handler).port
    status, headers, body = get(port, "/a/b%20c?x=1&y", "POST", [("X-Test", "v")], b"payload")
    assert status == 200
    assert ("Content-Type", "application/json") in headers
    seen = json.loads(body)
    assert seen["method"] == "POST"
    assert seen["target"] == "/a/b%20c?x=1&y"
    assert (seen["path"], seen["query"]) == ("/a/b%20c", "x=1&y")
    assert seen["version"] == 11
    assert seen["x_test"] == "v"
    assert ["X-Test", "v"] in seen["headers"] and ["Host", "test"] in seen["headers"]
    assert seen["body"] == "payload"

    # No `?` is no query; a bare `?` is an empty one.
    assert json.loads(get(port, "/p")[2])["query"] is None
    assert json.loads(get(port, "/p?")[2])["query"] == ""


def test_extra_headers_arrive_intact_and_in_order(serve):
    csp = "default-src 'self'" + "; img-src https://cdn.example.com" * 20
    cookies = [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2"), ("Set-Cookie", "c=3")]
    extra = [("X-Extra", "yes"), *cookies, ("CSP", csp)]
    port = serve(lambda req: (201, TEXT, "made", extra)).port
    status, headers, body = get(port, "/")
    assert (status, body) == (201, b"made")
    assert [h for h in headers if h[0] == "Set-Cookie"] == cookies
    assert ("X-Extra", "yes") in headers
    assert ("CSP", csp) in headers and len(csp) > 600


def test_a_header_value_with_crlf_is_refused_never_injected(serve):
    port = serve(lambda req: (200, TEXT, "x", [("X-Evil", "a\r\nInjected: yes")])).port
    status, headers, _ = get(port, "/")
    assert status == 500
    assert not any(name == "Injected" for name, _ in headers)


def test_an_exception_is_a_500_and_the_server_keeps_serving(serve):
    def handler(req):
        if req.path == "/boom":
            raise ValueError("boom")
        if req.path == "/bad":
            return "not a tuple"
        return 200, TEXT, "fine"

    port = serve(handler).port
    assert get(port, "/boom")[0] == 500
    assert get(port, "/bad")[0] == 500
    assert get(port, "/")[:3:2] == (200, b"fine")


def test_a_stream_arrives_chunk_by_chunk(serve):
    client_has_first = threading.Event()

    def chunks():
        yield b"first"
        # The next chunk is produced only after the client has received the first one, so the
        # first cannot have been held back until the end.
        yield b"second" if client_has_first.wait(10) else b"the client never got the first"
        yield "third"

    cookies = [("Set-Cookie", "s=1"), ("Set-Cookie", "t=2")]
    port = serve(lambda req: (200, "text/event-stream", chunks(), cookies)).port
    sock = connect(port)
    sock.sendall(b"GET /events HTTP/1.1\r\nHost: test\r\n\r\n")
    status, headers, rest = read_head(sock)
    assert status == 200
    assert ("Transfer-Encoding", "chunked") in headers
    assert not any(n.lower() == "content-length" for n, _ in headers)
    assert [h for h in headers if h[0] == "Set-Cookie"] == cookies
    first, rest = read_chunk(sock, rest)
    assert (first, rest) == (b"first", b"")
    client_has_first.set()
    second, rest = read_chunk(sock, rest)
    third, rest = read_chunk(sock, rest)
    last, rest = read_chunk(sock, rest)
    assert (second, third, last, rest) == (b"second", b"third", b"", b"")
    # The connection stays open for the next request.
    sock.sendall(b"GET /again HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
    assert read_head(sock)[0] == 200


def test_an_exception_mid_stream_aborts_the_connection(serve):
    def chunks():
        yield b"partial"
        raise RuntimeError("the stream failed")

    port = serve(lambda req: (200, TEXT, chunks())).port
    sock = connect(port)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    status, _, rest = read_head(sock)
    assert status == 200
    assert read_chunk(sock, rest)[0] == b"partial"
    with pytest.raises(EOFError):
        # No last chunk: the client sees a truncated body, never a complete wrong one.
        read_chunk(sock, b"")


def test_handlers_run_concurrently_on_the_dispatch_threads(serve):
    barrier = threading.Barrier(3, timeout=10)

    def handler(req):
        if req.path == "/together":
            # Each of three requests waits for the other two: only concurrent calls pass.
            barrier.wait()
        return 200, TEXT, req.path

    port = serve(handler, dispatch_threads=4).port
    with ThreadPoolExecutor(max_workers=16) as pool:
        together = [pool.submit(get, port, "/together") for _ in range(3)]
        many = [pool.submit(get, port, f"/n/{i}") for i in range(48)]
        assert [f.result()[0] for f in together] == [200, 200, 200]
        assert [f.result()[2] for f in many] == [f"/n/{i}".encode() for i in range(48)]


def test_a_static_route_is_answered_without_calling_python(make):
    calls = []
    def handler(req):
        calls.append(req.path)
        return 200, TEXT, "dynamic"

    server = make(handler)
    server.add_static("GET", "/health", 200, TEXT, "ok", [("Cache-Control", "no-store")])
    with server:
        status, headers, body = get(server.port, "/health?probe=1")
        assert (status, body) == (200, b"ok")
        assert ("Cache-Control", "no-store") in headers
        assert get(server.port, "/health", "HEAD")[::2] == (200, b"")
        assert get(server.port, "/other")[2] == b"dynamic"
    assert calls == ["/other"]


def test_static_routes_are_served_compressed_as_accepted(make):
    page = "<li>a line of a static page</li>\n" * 100
    server = make(lambda req: (404, TEXT, "dynamic"))
    server.add_static("GET", "/page", 200, "text/html; charset=utf-8", page)
    server.compress_static()
    with server:
        status, headers, body = get(server.port, "/page", headers=[("Accept-Encoding", "gzip")])
        assert status == 200
        assert ("Content-Encoding", "gzip") in headers
        assert ("Vary", "Accept-Encoding") in headers
        assert gzip.decompress(body) == page.encode()
        status, headers, body = get(server.port, "/page")
        assert (status, body) == (200, page.encode())
        assert not any(name == "Content-Encoding" for name, _ in headers)


def test_a_body_over_the_limit_is_413_before_python_runs(serve):
    calls = []
    port = serve(lambda req: calls.append(1) or (200, TEXT, "x"), max_body=10).port
    assert get(port, "/", "POST", body=b"x" * 11)[0] == 413
    assert get(port, "/", "POST", body=b"x" * 10)[0] == 200
    assert calls == [1]


def test_stop_lets_the_request_in_flight_finish_then_run_returns(backend):
    entered, release = threading.Event(), threading.Event()
    calls_after_run = []
    run_returned = threading.Event()

    def handler(req):
        if run_returned.is_set():
            calls_after_run.append(req.path)
        entered.set()
        release.wait(10)
        return 200, TEXT, "finished"

    server = Server(handler, backend=backend, lib=LIB, workers=1)
    port = server.start()
    runner = threading.Thread(target=lambda: (server.run(), run_returned.set()))
    runner.start()
    with ThreadPoolExecutor(max_workers=1) as pool:
        in_flight = pool.submit(get, port, "/slow")
        assert entered.wait(10)
        server.stop()
        # Draining: run waits for the handler, which is still inside Python.
        assert runner.is_alive()
        release.set()
        assert in_flight.result()[::2] == (200, b"finished")
    runner.join(10)
    assert not runner.is_alive()
    assert calls_after_run == []
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    # A stopped server stays stopped.
    with pytest.raises(NanoapiError) as err:
        server.run()
    assert "stopped" in str(err.value)
    server.close()


def test_bad_options_and_a_taken_port_are_reported():
    with pytest.raises(NanoapiError) as err:
        Server(lambda req: None, host="localhost", lib=LIB)
    assert "not an IP address" in str(err.value)
    # An address of no interface here (TEST-NET-1) cannot be bound; nothing is sent to it.
    server = Server(lambda req: None, host="192.0.2.1", lib=LIB)
    with pytest.raises(NanoapiError) as err:
        server.start()
    assert err.value.code == -3
    server.close()


def test_the_example_script_serves_and_stops_on_sigterm(backend):
    script = os.path.join(os.path.dirname(__file__), "app.py")
    env = dict(os.environ, NANOAPI_BACKEND=backend)
    proc = subprocess.Popen(
        [sys.executable, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    try:
        port = int(proc.stdout.readline().split()[1])
        assert get(port, "/hello")[::2] == (200, b"hello")
        assert get(port, "/static")[::2] == (200, b"static")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        proc.kill()
        proc.wait()


def test_the_most_recently_built_library_is_chosen(tmp_path, monkeypatch):
    name = "libnanoapi_ffi.dylib" if sys.platform == "darwin" else "libnanoapi_ffi.so"
    monkeypatch.delenv("NANOAPI_FFI_LIB", raising=False)
    monkeypatch.setenv("CARGO_TARGET_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="cargo build -p nanoapi-ffi"):
        library_path()
    paths = {}
    for profile in ("debug", "release"):
        (tmp_path / profile).mkdir()
        paths[profile] = tmp_path / profile / name
        paths[profile].write_bytes(b"")
    os.utime(paths["debug"], (1_000, 1_000))
    os.utime(paths["release"], (2_000, 2_000))
    assert library_path() == paths["release"]
    os.utime(paths["debug"], (3_000, 3_000))
    assert library_path() == paths["debug"]
    monkeypatch.setenv("NANOAPI_FFI_LIB", "/elsewhere/lib.so")
    assert str(library_path()) == "/elsewhere/lib.so"
