"""The package's own behaviour over real sockets, on both backends (the protocol it shares
with the ctypes host is tested in examples/ffi_python/test_host.py, on both hosts)."""

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import nanoapi
from conftest import connect, get, read_head

TEXT = "text/plain; charset=utf-8"


def test_static_routes_are_added_before_start(server):
    # The static routes themselves are tested on both hosts in examples/ffi_python.
    made = server(lambda req: (404, TEXT, "dynamic"))
    with pytest.raises(RuntimeError, match="already started"):
        made.add_static("GET", "/late", 200, TEXT, "x")
    with pytest.raises(ValueError, match="path"):
        nanoapi.Server(lambda req: None).add_static("GET", "no-slash", 200, TEXT, "x")


def test_the_request_view_reads_what_was_sent(server):
    def handler(req):
        host, port = req.client
        assert host == "127.0.0.1" and port > 0
        assert req.header("missing", "fallback") == "fallback"
        assert repr(req) == "<Request PUT /x?%FF>"
        return 200, "application/octet-stream", req.body + req.query.encode("latin-1")

    port = server(handler).port
    status, _, body = get(port, "/x?%FF", "PUT", body=b"\x00\xff")
    assert (status, body) == (200, b"\x00\xff%FF")


def test_bad_answers_and_bad_options_are_clear_errors(server, caplog):
    answers = {
        "/status": (1000, TEXT, "x"),
        "/body": (200, TEXT, 42),
        "/header": (200, TEXT, "x", [("Content-Length", "1")]),
    }
    port = server(lambda req: answers[req.path]).port
    with caplog.at_level(logging.ERROR, logger="nanoapi"):
        for path in ("/status", "/body", "/header"):
            assert get(port, path)[0] == 500, path
    messages = [r.exc_info[1] for r in caplog.records if r.name == "nanoapi" and r.exc_info]
    assert any("status 1000" in str(m) for m in messages)
    assert any("a body is bytes, str, bytearray or an iterable" in str(m) for m in messages)
    with pytest.raises(ValueError, match="host"):
        nanoapi.Server(lambda req: None, host="localhost")
    with pytest.raises(ValueError, match="backend"):
        nanoapi.Server(lambda req: None, backend="epoll")
    # An address this machine does not have cannot be bound.
    elsewhere = nanoapi.Server(lambda req: None, host="192.0.2.1")
    with pytest.raises(OSError):
        elsewhere.start()


def test_stop_lets_the_request_in_flight_finish_then_run_returns(backend):
    entered, release = threading.Event(), threading.Event()

    def handler(req):
        entered.set()
        release.wait(10)
        return 200, TEXT, "finished"

    made = nanoapi.Server(handler, port=0, backend=backend, workers=1)
    port = made.start()
    runner = threading.Thread(target=made.run)
    runner.start()
    results = []
    client = threading.Thread(target=lambda: results.append(get(port, "/")))
    client.start()
    assert entered.wait(10)
    made.stop()
    release.set()
    client.join(10)
    runner.join(10)
    assert not runner.is_alive()
    assert results and results[0][::2] == (200, b"finished")
    with pytest.raises(ConnectionRefusedError):
        connect(port)


def test_ten_thousand_keep_alive_requests_leave_memory_and_threads_flat(server):
    port = server(lambda req: (200, TEXT, "Hello, World!")).port
    sock = connect(port)
    request = b"GET /plaintext HTTP/1.1\r\nHost: test\r\n\r\n"

    def exchange(n):
        for _ in range(n):
            sock.sendall(request)
            status, _, rest = read_head(sock)
            while len(rest) < 13:
                rest += sock.recv(65536)
            assert (status, rest) == (200, b"Hello, World!")

    def rss_kib():
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return int(line.split()[1])

    exchange(1_000)
    rss, threads = rss_kib(), threading.active_count()
    tasks = len(os.listdir("/proc/self/task"))
    exchange(10_000)
    assert threading.active_count() == threads
    assert len(os.listdir("/proc/self/task")) == tasks
    assert rss_kib() - rss < 2_048, "RSS grew by more than 2 MiB over 10,000 requests"


def test_a_generator_is_closed_when_the_client_leaves_mid_stream(server):
    closed, sent_first = threading.Event(), threading.Event()
    more = threading.Event()

    def chunks():
        try:
            yield b"first"
            sent_first.set()
            while True:
                more.wait(10)
                yield b"more" * 4096
        finally:
            closed.set()

    port = server(lambda req: (200, TEXT, chunks())).port
    sock = connect(port)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    assert read_head(sock)[0] == 200
    assert sent_first.wait(10)
    sock.close()
    more.set()
    assert closed.wait(10), "the generator was not closed"


SCRIPT = """
import logging
import sys
import nanoapi

logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(message)s")

def app(request):
    return 200, "text/plain", "served"

nanoapi.serve(app, port=0, workers=1, backend=sys.argv[1],
              static=[("GET", "/health", 200, "text/plain", "ok")])
print("drained", flush=True)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_drains_and_returns_on_sigterm_and_sigint(backend, signum, tmp_path):
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), backend],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # serve() logs its address once bound.
        for line in proc.stdout:
            if line.startswith("nanoapi serving on http://127.0.0.1:"):
                port = int(line.rsplit(":", 1)[1])
                break
        else:
            pytest.fail(f"no address logged: {proc.stderr.read()}")
        assert get(port, "/health")[::2] == (200, b"ok")
        assert get(port, "/")[::2] == (200, b"served")
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert out.splitlines()[-2:] == ["nanoapi stopped", "drained"], out
    finally:
        proc.kill()


def test_a_large_body_is_sent_intact_from_the_python_object(server):
    # Bodies from 4 KiB on are written from the bytes object itself, kept alive meanwhile: a
    # fresh object per request, referenced by nothing else once the handler returned.
    big = bytes(range(256)) * 4096

    def handler(req):
        body = bytes(bytearray(big)) if req.path == "/big" else big[:5000]
        return 200, "application/octet-stream", body

    port = server(handler).port
    for _ in range(20):
        assert get(port, "/big")[::2] == (200, big)
    assert get(port, "/small")[::2] == (200, big[:5000])
