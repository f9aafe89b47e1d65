"""The WSGI server over real sockets, on both backends: PEP 3333 checked by the standard
library's ``wsgiref.validate`` around every application, and a Flask app whose own test
client's answers the server must reproduce."""

import json
import logging
import threading
from wsgiref.validate import validator

import flask
import pytest

import nanoapi
from conftest import connect, get, read_chunk, read_head
from nanoapi.wsgi import WSGIHandler


@pytest.fixture
def wsgi(backend, caplog):
    """``wsgi(app)``: a started server for ``app`` wrapped in ``wsgiref.validate`` (a PEP 3333
    violation by either side raises inside it, which would be a 500 and a logged error: the
    test fails on any)."""
    servers = []

    def start(app, validate=True):
        handler = WSGIHandler(validator(app) if validate else app)
        server = nanoapi.Server(handler, port=0, backend=backend, workers=1)
        servers.append(server)
        handler.set_server_port(server.start())
        return server

    with caplog.at_level(logging.ERROR, logger="nanoapi"):
        yield start
    for server in servers:
        server.close()
    errors = [r for r in caplog.records if r.name == "nanoapi" and r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() + repr(r.exc_info) for r in errors]


def environ_app(environ, start_response):
    """Answers the environ's request keys as JSON, after reading the body three ways."""
    stream = environ["wsgi.input"]
    first_line = stream.readline()
    rest = stream.read(int(environ["CONTENT_LENGTH"]) - len(first_line))
    seen = {key: value for key, value in environ.items() if isinstance(value, str)}
    seen["first_line"] = first_line.decode("latin-1")
    seen["rest"] = rest.decode("latin-1")
    seen["wsgi.version"] = list(environ["wsgi.version"])
    body = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def test_the_environ_is_complete_and_the_body_readable(wsgi):
    server = wsgi(environ_app)
    headers = [("X-Test", "a"), ("X-Test", "b"), ("Content-Type", "text/plain"),
               ("X_Smuggled", "dropped")]
    status, fields, body = get(server.port, "/caf%C3%A9/x?q=1&r", "POST", headers, b"one\ntwo")
    assert status == 200
    # The validator wraps the body in an iterator: streamed, the app's Content-Length left out.
    assert not any(name.lower() == "content-length" for name, _ in fields)
    seen = json.loads(body)
    assert seen["REQUEST_METHOD"] == "POST"
    assert seen["SCRIPT_NAME"] == ""
    assert seen["PATH_INFO"] == "/caf\u00c3\u00a9/x"  # UTF-8 bytes as Latin-1 (PEP 3333)
    assert seen["QUERY_STRING"] == "q=1&r"
    assert seen["CONTENT_TYPE"] == "text/plain"
    assert seen["CONTENT_LENGTH"] == "7"
    assert seen["HTTP_X_TEST"] == "a,b"
    assert seen["HTTP_HOST"] == "test"
    assert not any("SMUGGLED" in key for key in seen)
    assert (seen["SERVER_NAME"], seen["SERVER_PORT"]) == ("127.0.0.1", str(server.port))
    assert seen["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert seen["REMOTE_ADDR"] == "127.0.0.1"
    assert seen["wsgi.url_scheme"] == "http"
    assert seen["wsgi.version"] == [1, 0]
    assert (seen["first_line"], seen["rest"]) == ("one\n", "two")


def test_a_generator_streams_and_its_head_waits_for_the_first_chunk(wsgi):
    client_has_first = threading.Event()
    closed = threading.Event()

    class Body:
        """An iterable with close(): it must be closed once the response is done."""

        def __iter__(self):
            yield b""  # nothing yet: the head is not sent for an empty chunk
            yield b"first"
            yield b"second" if client_has_first.wait(10) else b"never got the first"

        def close(self):
            closed.set()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        return Body()

    server = wsgi(app)
    sock = connect(server.port)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    status, headers, rest = read_head(sock)
    assert status == 200 and ("Transfer-Encoding", "chunked") in headers
    first, rest = read_chunk(sock, rest)
    assert first == b"first"
    client_has_first.set()
    assert read_chunk(sock, rest)[0] == b"second"
    assert closed.wait(10)


def test_write_start_response_exc_info_and_an_empty_body(wsgi):
    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/write":
            write = start_response("201 Created", [("Content-Type", "text/plain")])
            write(b"written ")
            return [b"then returned"]
        if path == "/error":
            start_response("200 OK", [("Content-Type", "text/plain")])
            try:
                raise ValueError("late failure")
            except ValueError:
                import sys

                start_response("503 Service Unavailable", [("Content-Type", "text/plain")],
                               sys.exc_info())
            return [b"replaced"]
        start_response("204 No Content", [])
        return iter([])

    server = wsgi(app)
    assert get(server.port, "/write")[::2] == (201, b"written then returned")
    assert get(server.port, "/error")[::2] == (503, b"replaced")
    assert get(server.port, "/empty")[::2] == (204, b"")


def test_a_large_body_is_read_from_wsgi_input_while_it_arrives(wsgi):
    got_first = threading.Event()

    def app(environ, start_response):
        stream = environ["wsgi.input"]
        size = int(environ["CONTENT_LENGTH"])
        first = stream.read(10)
        got_first.set()
        rest = stream.read(size - len(first))
        body = f"{len(first)}+{len(rest)} {first.decode()} {rest[-5:].decode()}".encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    server = wsgi(app)
    size = 100_000  # over the 64 KiB read whole before the application runs
    sock = connect(server.port)
    head = f"POST /up HTTP/1.1\r\nHost: test\r\nContent-Length: {size}\r\n"
    sock.sendall(head.encode() + b"Connection: close\r\n\r\n0123456789")
    # The application has its first bytes before the client sends the rest.
    assert got_first.wait(10)
    sock.sendall(b"x" * (size - 15) + b"tail!")
    status, _, body = read_head(sock)
    assert status == 200
    body += read_to_end(sock)
    assert b"10+99990 0123456789 tail!" in body


def test_a_chunked_upload_is_read_line_by_line(wsgi):
    def app(environ, start_response):
        lines = [line.decode().strip() for line in environ["wsgi.input"]]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{len(lines)} lines, last {lines[-1]}".encode()]

    server = wsgi(app)
    sock = connect(server.port)
    lines = b"".join(f"line {i}\n".encode() for i in range(1000))
    chunks = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n"
        for part in (lines[i : i + 777] for i in range(0, len(lines), 777))
    )
    sock.sendall(b"POST /lines HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
                 b"Connection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
    status, _, body = read_head(sock)
    body += read_to_end(sock)
    assert status == 200
    assert b"1000 lines, last line 999" in body


def read_to_end(sock):
    """What is left on `sock` until the server closes it (a body in its framing)."""
    out = b""
    while data := sock.recv(65536):
        out += data
    return out


def test_an_application_error_is_a_500_and_the_server_keeps_serving(backend, caplog):
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/boom":
            raise RuntimeError("boom")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"fine"]

    handler = WSGIHandler(app)
    with nanoapi.Server(handler, port=0, backend=backend, workers=1) as server:
        with caplog.at_level(logging.ERROR, logger="nanoapi"):
            assert get(server.port, "/boom")[0] == 500
        assert any("boom" in repr(r.exc_info) for r in caplog.records)
        assert get(server.port, "/ok")[::2] == (200, b"fine")


def flask_app():
    app = flask.Flask("nanoapi_wsgi_test")

    @app.get("/")
    def index():
        return "index page"

    @app.get("/users/<int:user_id>")
    def user(user_id):
        return flask.jsonify(id=user_id, verbose=flask.request.args.get("verbose") == "1")

    @app.post("/login")
    def login():
        name = flask.request.form.get("name", "")
        if not name:
            flask.abort(400)
        response = flask.make_response(flask.redirect("/users/1", code=303))
        response.set_cookie("session", name, httponly=True)
        return response

    @app.post("/echo")
    def echo():
        return flask.jsonify(flask.request.get_json())

    @app.get("/stream")
    def stream():
        return flask.Response((f"line {i}\n" for i in range(3)), mimetype="text/plain")

    @app.get("/cookie")
    def cookie():
        return f"session={flask.request.cookies.get('session')}"

    return app


FLASK_REQUESTS = [
    ("GET", "/", [], b""),
    ("GET", "/users/7?verbose=1", [], b""),
    ("GET", "/users/x", [], b""),
    ("GET", "/missing", [], b""),
    ("DELETE", "/", [], b""),
    ("POST", "/login", [("Content-Type", "application/x-www-form-urlencoded")], b"name=ana"),
    ("POST", "/login", [("Content-Type", "application/x-www-form-urlencoded")], b"name="),
    ("POST", "/echo", [("Content-Type", "application/json")], b'{"a": [1, 2, {"b": null}]}'),
    ("POST", "/echo", [("Content-Type", "application/json")], b"{not json"),
    ("GET", "/stream", [], b""),
    ("GET", "/cookie", [("Cookie", "session=ana; other=1")], b""),
    ("HEAD", "/", [], b""),
]

# Fields a server writes for itself, which Flask's test client does not show.
SERVER_FIELDS = {"date", "server", "connection", "transfer-encoding", "content-length"}


@pytest.mark.parametrize("method,target,headers,body", FLASK_REQUESTS)
def test_a_flask_app_answers_over_sockets_as_its_test_client_does(
    wsgi, method, target, headers, body
):
    app = flask_app()
    path, _, query = target.partition("?")
    client = app.test_client()
    # The test client keeps its own cookie jar and ignores a Cookie header.
    for name, value in headers:
        if name == "Cookie":
            for pair in value.split("; "):
                client.set_cookie(*pair.split("=", 1))
    expected = client.open(
        path,
        method=method,
        query_string=query,
        headers=[(n, v) for n, v in headers if n != "Cookie"],
        data=body,
    )
    # Werkzeug reads wsgi.input without a size (allowed with wsgi.input_terminated), which
    # wsgiref.validate refuses: Flask runs unwrapped.
    server = wsgi(app.wsgi_app, validate=False)
    status, fields, got = get(server.port, target, method, headers, body)
    assert status == expected.status_code
    assert got == (b"" if method == "HEAD" else expected.data)
    ours = sorted((n.lower(), v) for n, v in fields if n.lower() not in SERVER_FIELDS)
    theirs = sorted(
        (n.lower(), v) for n, v in expected.headers.items() if n.lower() not in SERVER_FIELDS
    )
    assert ours == theirs
