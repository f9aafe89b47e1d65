"""The behaviours every consumer must show on the wire, one function each.

A behaviour gets a :class:`Target` (the consumer's port and its route overrides), asserts what
the runtime does, and returns an *observation*: the normalised facts (statuses, framing,
connection handling) that must also be identical across consumers. The app each consumer
serves is described in README.md.
"""

from wire import Conn, request

TEXT = "text/plain; charset=utf-8"
CSP = "default-src 'self'" + "".join(f"; img-src https://cdn{i}.example.com" for i in range(20))


class Target:
    """A running consumer: its port and the routes it serves for the suite's roles."""

    def __init__(self, port, paths):
        self.port = port
        self.paths = paths

    def path(self, role):
        """The path playing ``role``: the app's own unless the consumer overrides it."""
        return self.paths.get(role, "/" + role)

    def overridden(self, role):
        return role in self.paths

    def conn(self):
        return Conn(self.port)


def _framing(r):
    return {
        "status": r.status,
        "version": r.version,
        "framing": r.framing(),
        "connection": r.header("Connection"),
    }


# Connection management.


def keep_alive(t):
    c = t.conn()
    statuses = []
    for _ in range(3):
        c.send(request("GET", t.path("hello")))
        r = c.read_response()
        assert r.header("Connection") is None, r
        statuses.append(r.status)
        if not t.overridden("hello"):
            assert r.body == b"hello"
    assert statuses == [200, 200, 200]
    return {"statuses": statuses}


def connection_close(t):
    c = t.conn()
    c.send(request("GET", t.path("hello"), [("Connection", "close")]))
    r = c.read_response()
    assert (r.status, r.header("Connection")) == (200, "close"), r
    assert c.is_closed_by_server()
    return {**_framing(r), "closed": True}


def http10_closes_by_default(t):
    c = t.conn()
    c.send(request("GET", t.path("hello"), version="HTTP/1.0"))
    r = c.read_response()
    assert r.status == 200 and r.header("Connection") == "close", r
    assert r.framing() == "length", "an HTTP/1.0 client gets a Content-Length"
    assert c.is_closed_by_server()
    return {**_framing(r), "closed": True}


def http10_keep_alive(t):
    c = t.conn()
    keep = [("Connection", "keep-alive")]
    c.send(request("GET", t.path("hello"), keep, version="HTTP/1.0"))
    first = c.read_response()
    assert first.header("Connection") == "keep-alive", first
    c.send(request("GET", t.path("hello"), version="HTTP/1.0"))
    second = c.read_response()
    assert second.header("Connection") == "close"
    assert c.is_closed_by_server()
    return {"first": _framing(first), "second": _framing(second)}


def head(t):
    c = t.conn()
    c.send(request("GET", t.path("hello")))
    got = c.read_response()
    c.send(request("HEAD", t.path("hello")))
    headed = c.read_response("HEAD")
    assert headed.status == got.status == 200
    assert headed.header("Content-Length") == got.header("Content-Length")
    assert headed.header("Content-Type") == got.header("Content-Type")
    # No body followed the HEAD response: the next response parses from its first byte.
    c.send(request("GET", t.path("hello"), [("Connection", "close")]))
    after = c.read_response()
    assert after.status == 200 and after.body == got.body
    return {"head": _framing(headed), "content_length": headed.header("Content-Length") is not None}


def pipelining(t):
    c = t.conn()
    c.send(
        request("GET", t.path("hello"))
        + request("GET", "/no/such/page")
        + request("HEAD", t.path("hello"))
        + request("GET", t.path("hello"), [("Connection", "close")])
    )
    responses = [c.read_response(m) for m in ("GET", "GET", "HEAD", "GET")]
    statuses = [r.status for r in responses]
    assert statuses == [200, 404, 200, 200], responses
    assert responses[0].body == responses[3].body
    assert c.is_closed_by_server()
    return {"statuses": statuses}


def unknown_route_404(t):
    c = t.conn()
    c.send(request("GET", "/no/such/page", [("Connection", "close")]))
    r = c.read_response()
    assert r.status == 404, r
    return {"status": r.status}


# Request bodies.


def request_body_content_length(t):
    c = t.conn()
    body = bytes(range(256)) * 64
    c.send(request("POST", "/echo?q=1", [("Content-Length", str(len(body)))], body))
    r = c.read_response()
    assert (r.status, r.body, r.header("X-Method")) == (200, body, "POST"), r
    return {"status": r.status, "framing": r.framing()}


def request_body_chunked(t):
    c = t.conn()
    chunked = b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"
    c.send(request("PUT", "/echo", [("Transfer-Encoding", "chunked")], chunked))
    r = c.read_response()
    assert (r.status, r.body, r.header("X-Method")) == (200, b"hello world", "PUT"), r
    return {"status": r.status}


def expect_100_continue(t):
    c = t.conn()
    c.send(request("POST", "/echo", [("Content-Length", "5"), ("Expect", "100-continue")]))
    interim = c.read_response()
    assert interim.status == 100, interim
    c.send(b"abcde")
    r = c.read_response()
    assert (r.status, r.body) == (200, b"abcde"), r
    return {"interim": interim.status, "status": r.status}


# Limits.


def body_too_large_413(t):
    c = t.conn()
    # Over the 2 MiB default; the body is never sent: the answer comes from the head.
    c.send(request("POST", "/echo", [("Content-Length", str(3 << 20))]))
    r = c.read_response()
    assert r.status == 413, r
    assert c.is_closed_by_server()
    return {"status": r.status, "closed": True}


def target_too_long_414(t):
    c = t.conn()
    c.send(request("GET", t.path("hello") + "?" + "x" * 9000))
    r = c.read_response()
    assert (r.status, r.header("Connection")) == (414, "close"), r
    assert c.is_closed_by_server()
    return _framing(r)


def head_too_large_431(t):
    c = t.conn()
    c.send(request("GET", t.path("hello"), [("X-Big", "x" * 20000)]))
    r = c.read_response()
    assert (r.status, r.header("Connection")) == (431, "close"), r
    assert c.is_closed_by_server()
    return _framing(r)


def too_many_headers_431(t):
    c = t.conn()
    c.send(request("GET", t.path("hello"), [(f"X-Field-{i}", "v") for i in range(101)]))
    r = c.read_response()
    assert r.status == 431, r
    assert c.is_closed_by_server()
    return _framing(r)


# Framing errors: never served, never desynchronised.


def _rejected(t, raw, status):
    c = t.conn()
    c.send(raw + request("GET", t.path("hello")))
    r = c.read_response()
    assert r.status == status, r
    # What followed the bad request (a would-be smuggled request) is not served.
    assert c.is_closed_by_server()
    return {"status": r.status, "connection": r.header("Connection"), "closed": True}


def content_length_with_chunked_400(t):
    headers = [("Content-Length", "5"), ("Transfer-Encoding", "chunked")]
    return _rejected(t, request("POST", t.path("hello"), headers, b"0\r\n\r\n"), 400)


def conflicting_content_lengths_400(t):
    headers = [("Content-Length", "3"), ("Content-Length", "4")]
    return _rejected(t, request("POST", t.path("hello"), headers, b"abcd"), 400)


def bad_chunk_size_400(t):
    raw = request("POST", "/echo", [("Transfer-Encoding", "chunked")], b"zz\r\nhello\r\n0\r\n\r\n")
    return _rejected(t, raw, 400)


def missing_host_400(t):
    return _rejected(t, request("GET", t.path("hello"), host=False), 400)


def unknown_transfer_coding_501(t):
    headers = [("Transfer-Encoding", "gzip, chunked")]
    return _rejected(t, request("POST", t.path("hello"), headers, b"0\r\n\r\n"), 501)


def unsupported_version_505(t):
    return _rejected(t, request("GET", t.path("hello"), version="HTTP/2.0"), 505)


# Responses.


def extra_and_multi_valued_headers(t):
    c = t.conn()
    c.send(request("GET", "/headers"))
    r = c.read_response()
    assert (r.status, r.body) == (200, b"headers"), r
    assert r.header("X-Extra") == "yes"
    assert r.header_all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert r.header("Content-Security-Policy") == CSP
    assert r.header("Content-Type") == TEXT
    return {"status": r.status, "names": [n.lower() for n, _ in r.headers if n != "Date"]}


def chunked_response(t):
    c = t.conn()
    c.send(request("GET", t.path("chunked")))
    r = c.read_response()
    assert r.status == 200 and r.framing() == "chunked", r
    assert r.header("Content-Length") is None
    assert len(r.chunks) >= 3 and all(r.chunks), "one chunk per piece, none empty"
    if not t.overridden("chunked"):
        assert r.chunks == [b"one", b"two", b"three"]
        assert r.header_all("Set-Cookie") == ["s=1", "t=2"]
    # Chunked keeps the connection: a second request on it is answered.
    c.send(request("GET", t.path("chunked"), [("Connection", "close")]))
    assert c.read_response().status == 200
    return {"status": r.status, "framing": r.framing()}


def streaming_timing(t):
    key = f"k{t.port}"
    c = t.conn()
    c.send(request("GET", f"/stream?id={key}"))
    head_ = c.read_head()
    assert head_.status == 200 and head_.header("Transfer-Encoding") == "chunked", head_
    # The rest of the stream waits for /release: the first chunk arrives on its own.
    assert c.read_chunk_of(head_) == b"first\n"
    assert c.buf == b"", f"nothing past the first chunk yet: {c.buf!r}"
    other = t.conn()
    other.send(request("GET", f"/release?id={key}", [("Connection", "close")]))
    assert other.read_response().status == 200
    rest = [c.read_chunk_of(head_) for _ in range(3)]
    assert rest == [b"second\n", b"third\n", b""], rest
    return {"status": head_.status, "chunks": 3}


def no_content_204(t):
    c = t.conn()
    c.send(request("GET", "/nocontent"))
    r = c.read_response()
    assert r.status == 204 and r.header("Content-Length") is None, r
    c.send(request("GET", t.path("hello"), [("Connection", "close")]))
    assert c.read_response().status == 200, "no stray body after a 204"
    return _framing(r)


def handler_error_500(t):
    c = t.conn()
    c.send(request("GET", "/error"))
    r = c.read_response()
    assert r.status == 500, r
    c.send(request("GET", t.path("hello"), [("Connection", "close")]))
    assert c.read_response().status == 200, "the connection survives a failed handler"
    return _framing(r)


def static_route(t):
    c = t.conn()
    c.send(request("GET", "/static?probe=1"))
    r = c.read_response()
    assert (r.status, r.body, r.header("Content-Type")) == (200, b"static", TEXT), r
    c.send(request("HEAD", "/static", [("Connection", "close")]))
    headed = c.read_response("HEAD")
    assert (headed.status, headed.header("Content-Length")) == (200, "6")
    return {"get": _framing(r), "head": _framing(headed)}


ALL = {
    f.__name__: f
    for f in [
        keep_alive,
        connection_close,
        http10_closes_by_default,
        http10_keep_alive,
        head,
        pipelining,
        unknown_route_404,
        request_body_content_length,
        request_body_chunked,
        expect_100_continue,
        body_too_large_413,
        target_too_long_414,
        head_too_large_431,
        too_many_headers_431,
        content_length_with_chunked_400,
        conflicting_content_lengths_400,
        bad_chunk_size_400,
        missing_host_400,
        unknown_transfer_coding_501,
        unsupported_version_505,
        extra_and_multi_valued_headers,
        chunked_response,
        streaming_timing,
        no_content_204,
        handler_error_500,
        static_route,
    ]
}
