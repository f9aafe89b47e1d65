"""The example app served through the C ABI: the parity suite's app (parity/README.md), with
3-tuple responses, a 4-tuple with extra headers (several Set-Cookie), generators streamed chunk
by chunk, and a static route answered without calling Python.

    python3 examples/ffi_python/app.py      # prints "PORT <n>", serves until stdin closes,
                                            # SIGINT or SIGTERM
    python3 examples/ffi_python/app.py --package    # the same app on the compiled `nanoapi`
                                                    # package (python/) instead of ctypes

Environment: NANOAPI_PORT (default 0: any free port), NANOAPI_BACKEND (uring, poll, auto).
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from nanoapi_host import Server  # noqa: E402

TEXT = "text/plain; charset=utf-8"
# A long header value (a real Content-Security-Policy is often over 500 bytes).
CSP = "default-src 'self'" + "".join(f"; img-src https://cdn{i}.example.com" for i in range(20))

_releases = {}
_releases_lock = threading.Lock()


def _release_event(key):
    with _releases_lock:
        return _releases.setdefault(key, threading.Event())


def _query_id(req):
    for part in (req.query or "").split("&"):
        name, _, value = part.partition("=")
        if name == "id":
            return value
    return ""


def _stream(key):
    yield "first\n"
    # Streaming timing: the rest comes only once /release?id=<key> was requested, so a client
    # that sees "first" before releasing proves the chunk was not held back.
    released = _release_event(key).wait(10)
    yield "second\n" if released else "timeout\n"
    yield "third\n"


def handle(req):
    """The parity app: one plain function of the request."""
    path = req.path
    if path == "/hello":
        return 200, TEXT, "hello"
    if path == "/echo":
        return 200, "application/octet-stream", req.body, [("X-Method", req.method)]
    if path == "/headers":
        headers = [
            ("X-Extra", "yes"),
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Path=/"),
            ("Content-Security-Policy", CSP),
        ]
        return 200, TEXT, "headers", headers
    if path == "/chunked":
        cookies = [("Set-Cookie", "s=1"), ("Set-Cookie", "t=2")]
        return 200, TEXT, iter(["one", "two", "three"]), cookies
    if path == "/stream":
        return 200, TEXT, _stream(_query_id(req))
    if path == "/release":
        _release_event(_query_id(req)).set()
        return 200, TEXT, "released"
    if path == "/nocontent":
        return 204, "", b""
    if path == "/error":
        raise RuntimeError("the handler failed on purpose")
    return 404, TEXT, "not found"


def main():
    port = int(os.environ.get("NANOAPI_PORT", "0"))
    backend = os.environ.get("NANOAPI_BACKEND")
    if "--package" in sys.argv:
        import signal

        import nanoapi

        # /stream holds its thread until /release arrives: more than one thread.
        server = nanoapi.Server(handle, port=port, backend=backend, threads=4)
        signal.signal(signal.SIGTERM, lambda *_: server.stop())
    else:
        server = Server(handle, port=port, backend=backend, handle_signals=1)
    server.add_static("GET", "/static", 200, TEXT, "static")
    print(f"PORT {server.start()}", flush=True)

    def stop_at_eof():
        sys.stdin.read()
        server.stop()

    threading.Thread(target=stop_at_eof, daemon=True).start()
    server.run()
    server.close()


if __name__ == "__main__":
    main()
