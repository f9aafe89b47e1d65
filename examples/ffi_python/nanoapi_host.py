"""A Python host for nanoapi's C ABI, using nothing but ctypes.

A handler is a plain function called with a :class:`Request` on one of the runtime's dispatch
threads (never on a reactor thread). It returns one of:

* ``(status, content_type, body)`` -- ``body`` is ``bytes`` or ``str``;
* ``(status, content_type, body, headers)`` -- ``headers`` is a list of ``(name, value)``
  pairs, so a name may repeat (several ``Set-Cookie``);
* either shape with an *iterable* body (a generator, say): the response is streamed, one
  chunk per item, each reaching the client before the next item is asked for.

A handler may instead accept a WebSocket: ``ws = request.accept_websocket()`` (after which it
returns ``None``), then ``ws.receive()``, ``ws.send(data)``, ``ws.close()`` or ``for message in
ws`` from this thread or any other, until ``ws.free()`` (or the end of a ``with ws:`` block).

An exception in the handler (or in its generator) is logged and becomes a 500 (or an aborted
connection once a stream has started). The library is found through ``NANOAPI_FFI_LIB`` or, by
default, as the most recently built of ``$CARGO_TARGET_DIR/release`` and
``$CARGO_TARGET_DIR/debug``, ``CARGO_TARGET_DIR`` defaulting to the repository's ``target/``.
"""

import ctypes
import logging
import os
import sys
import threading
from pathlib import Path

log = logging.getLogger("nanoapi_host")

OK = 0
BACKENDS = {None: 0, "auto": 0, "uring": 1, "poll": 2}


class Str(ctypes.Structure):
    """``nanoapi_str``: a pointer and a length."""

    _fields_ = [("ptr", ctypes.c_void_p), ("len", ctypes.c_size_t)]

    def bytes(self):
        return ctypes.string_at(self.ptr, self.len) if self.len else b""


class Header(ctypes.Structure):
    """``nanoapi_header``."""

    _fields_ = [("name", Str), ("value", Str)]


class Options(ctypes.Structure):
    """``nanoapi_options``, field for field as in ``ffi/include/nanoapi.h``."""

    _fields_ = [
        ("host", Str),
        ("port", ctypes.c_uint16),
        ("workers", ctypes.c_uint32),
        ("backend", ctypes.c_int),
        ("dispatch_threads", ctypes.c_uint32),
        ("dispatch_queue", ctypes.c_uint32),
        ("max_body", ctypes.c_uint64),
        ("max_head", ctypes.c_uint32),
        ("max_target", ctypes.c_uint32),
        ("max_headers", ctypes.c_uint32),
        ("shutdown_timeout_ms", ctypes.c_uint64),
        ("handle_signals", ctypes.c_int),
    ]


class WsMessage(ctypes.Structure):
    """``nanoapi_ws_message``."""

    _fields_ = [("kind", ctypes.c_int), ("data", Str), ("close_code", ctypes.c_uint16)]


WS_TEXT, WS_BINARY, WS_CLOSE = 1, 2, 8
ERR_CLOSED = -4

DISPATCH_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


def library_path():
    """Where the built ``libnanoapi_ffi`` is: ``NANOAPI_FFI_LIB`` if set, else the most recently
    built of the release and debug libraries under the cargo target directory (so a fresh
    ``cargo build --release -p nanoapi-ffi`` wins over an older debug build, and the other way
    round)."""
    explicit = os.environ.get("NANOAPI_FFI_LIB")
    if explicit:
        return Path(explicit)
    repo = Path(__file__).resolve().parents[2]
    target = Path(os.environ.get("CARGO_TARGET_DIR") or repo / "target")
    name = "libnanoapi_ffi.dylib" if sys.platform == "darwin" else "libnanoapi_ffi.so"
    built = [target / profile / name for profile in ("release", "debug")]
    built = [candidate for candidate in built if candidate.exists()]
    if built:
        return max(built, key=lambda candidate: candidate.stat().st_mtime)
    raise FileNotFoundError(
        f"{name} not found under {target}: build it with `cargo build -p nanoapi-ffi` "
        "or set NANOAPI_FFI_LIB"
    )


def load_library(path=None):
    """Loads the library and declares the signatures used here."""
    # CDLL releases the GIL around every call: `run` blocks without holding it, and the
    # dispatch threads take it when they call back into Python.
    lib = ctypes.CDLL(str(path or library_path()))
    c_int, c_size_t, c_void_p = ctypes.c_int, ctypes.c_size_t, ctypes.c_void_p
    headers_p = ctypes.POINTER(Header)
    signatures = {
        "nanoapi_last_error": (Str, []),
        "nanoapi_options_init": (c_int, [ctypes.POINTER(Options)]),
        "nanoapi_server_new": (c_int, [ctypes.POINTER(Options), ctypes.POINTER(c_void_p)]),
        "nanoapi_server_set_dispatch": (c_int, [c_void_p, DISPATCH_FN, c_void_p]),
        "nanoapi_server_add_static": (
            c_int,
            [c_void_p, Str, Str, ctypes.c_uint16, Str, headers_p, c_size_t, Str],
        ),
        "nanoapi_server_compress_static": (c_int, [c_void_p]),
        "nanoapi_server_start": (c_int, [c_void_p]),
        "nanoapi_server_port": (ctypes.c_uint16, [c_void_p]),
        "nanoapi_server_run": (c_int, [c_void_p]),
        "nanoapi_server_stop": (c_int, [c_void_p]),
        "nanoapi_server_free": (None, [c_void_p]),
        "nanoapi_request_method": (Str, [c_void_p]),
        "nanoapi_request_target": (Str, [c_void_p]),
        "nanoapi_request_path": (Str, [c_void_p]),
        "nanoapi_request_query": (Str, [c_void_p]),
        "nanoapi_request_version": (c_int, [c_void_p]),
        "nanoapi_request_body": (Str, [c_void_p]),
        "nanoapi_request_header_count": (c_size_t, [c_void_p]),
        "nanoapi_request_header_at": (c_int, [c_void_p, c_size_t, ctypes.POINTER(Header)]),
        "nanoapi_request_header": (ctypes.c_bool, [c_void_p, Str, ctypes.POINTER(Str)]),
        "nanoapi_writer_send": (
            c_int,
            [c_void_p, ctypes.c_uint16, Str, headers_p, c_size_t, Str],
        ),
        "nanoapi_writer_start_chunked": (
            c_int,
            [c_void_p, ctypes.c_uint16, Str, headers_p, c_size_t],
        ),
        "nanoapi_writer_write_chunk": (c_int, [c_void_p, Str]),
        "nanoapi_writer_end_chunked": (c_int, [c_void_p]),
        "nanoapi_writer_accept_websocket": (c_int, [c_void_p, Str, ctypes.POINTER(c_void_p)]),
        "nanoapi_websocket_recv": (c_int, [c_void_p, ctypes.POINTER(WsMessage)]),
        "nanoapi_websocket_send": (c_int, [c_void_p, c_int, Str]),
        "nanoapi_websocket_close": (c_int, [c_void_p, ctypes.c_uint16, Str]),
        "nanoapi_websocket_free": (None, [c_void_p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    return lib


class NanoapiError(RuntimeError):
    """A failed call into the library: its code and message."""

    def __init__(self, lib, call, code):
        self.code = code
        super().__init__(f"{call} failed ({code}): {lib.nanoapi_last_error().bytes().decode()}")


def _str(data):
    """A ``nanoapi_str`` over ``data`` (``bytes`` or ``str``); keep the result alive while the
    library reads it (ctypes keeps ``data`` alive with it)."""
    if isinstance(data, str):
        data = data.encode()
    buffer = ctypes.c_char_p(data)
    s = Str(ctypes.cast(buffer, ctypes.c_void_p), len(data))
    s._keep = buffer
    return s


class _Headers:
    """A ``nanoapi_header`` array over ``(name, value)`` pairs, owning the bytes it points to
    (keep it alive while the library reads it)."""

    def __init__(self, pairs):
        self.strings = [(_str(n), _str(v)) for n, v in (pairs or ())]
        self.array = (Header * len(self.strings))(*[Header(n, v) for n, v in self.strings])
        self.n = len(self.strings)


class WebSocketClosed(Exception):
    """The peer closed the WebSocket (``code``, ``reason``), or it ended (``code`` 1006)."""

    def __init__(self, code, reason=""):
        self.code, self.reason = code, reason
        super().__init__(f"the WebSocket closed ({code}) {reason}".rstrip())


class WebSocket:
    """A WebSocket accepted with :meth:`Request.accept_websocket`, usable from any thread.

    ``receive()`` blocks for the next message (``str`` for text, ``bytes`` for binary) and
    raises :class:`WebSocketClosed` at the peer's close; iterating yields messages until then.
    ``send(data)`` sends text or bytes, ``close(code, reason)`` starts the close handshake, and
    ``free()`` (or leaving a ``with`` block) releases it, closing with 1000 unless closed.
    Pings are answered by the library."""

    def __init__(self, lib, handle):
        self._lib, self._handle = lib, handle
        self._message = WsMessage()

    def _check(self, call, code):
        if code != OK:
            raise NanoapiError(self._lib, call, code)

    def receive(self):
        code = self._lib.nanoapi_websocket_recv(self._handle, ctypes.byref(self._message))
        if code == ERR_CLOSED:
            raise WebSocketClosed(1006, self._lib.nanoapi_last_error().bytes().decode())
        self._check("nanoapi_websocket_recv", code)
        kind, data = self._message.kind, self._message.data.bytes()
        if kind == WS_TEXT:
            return data.decode()
        if kind == WS_BINARY:
            return data
        raise WebSocketClosed(self._message.close_code, data.decode())

    def __iter__(self):
        while True:
            try:
                yield self.receive()
            except WebSocketClosed:
                return

    def send(self, data):
        kind = WS_TEXT if isinstance(data, str) else WS_BINARY
        code = self._lib.nanoapi_websocket_send(self._handle, kind, _str(data))
        self._check("nanoapi_websocket_send", code)

    def close(self, code=1000, reason=""):
        code = self._lib.nanoapi_websocket_close(self._handle, code, _str(reason))
        self._check("nanoapi_websocket_close", code)

    def free(self):
        if self._handle:
            self._lib.nanoapi_websocket_free(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()

    def __del__(self):
        self.free()


class Request:
    """What a handler sees: method, path, query (``None`` when absent), headers in order,
    version and body. Strings are decoded as Latin-1 (bytes as sent); the body is bytes."""

    __slots__ = (
        "method", "target", "path", "query", "version", "headers", "body",
        "_lib", "_w", "accepted",
    )

    def __init__(self, lib, req, w=None):
        self._lib, self._w, self.accepted = lib, w, False
        latin = lambda s: s.bytes().decode("latin-1")  # noqa: E731
        self.method = latin(lib.nanoapi_request_method(req))
        self.target = latin(lib.nanoapi_request_target(req))
        self.path = latin(lib.nanoapi_request_path(req))
        query = lib.nanoapi_request_query(req)
        self.query = latin(query) if query.ptr else None
        self.version = lib.nanoapi_request_version(req)
        field = Header()
        self.headers = []
        for index in range(lib.nanoapi_request_header_count(req)):
            if lib.nanoapi_request_header_at(req, index, ctypes.byref(field)) != OK:
                raise NanoapiError(lib, "nanoapi_request_header_at", -1)
            self.headers.append((latin(field.name), latin(field.value)))
        self.body = lib.nanoapi_request_body(req).bytes()

    def header(self, name, default=None):
        """The first field named ``name`` (any case)."""
        lowered = name.lower()
        return next((v for n, v in self.headers if n.lower() == lowered), default)

    def accept_websocket(self, protocol=None):
        """Accepts the request's WebSocket handshake (choosing ``protocol``, one the client
        offered) and returns the :class:`WebSocket`; the handler then returns ``None``. Raises
        :class:`NanoapiError` when the request is not a valid handshake (the client was told
        why, with a 400 or 426)."""
        handle = ctypes.c_void_p()
        accept = self._lib.nanoapi_writer_accept_websocket
        code = accept(self._w, _str(protocol or ""), ctypes.byref(handle))
        self.accepted = True
        if code != OK:
            raise NanoapiError(self._lib, "nanoapi_writer_accept_websocket", code)
        return WebSocket(self._lib, handle)


class Server:
    """One nanoapi server calling ``handler``. ``start()`` binds (``port`` then tells the port),
    ``run()`` blocks until ``stop()`` (from any thread, or SIGINT/SIGTERM when
    ``handle_signals``), ``close()`` frees it. As a context manager it serves on a background
    thread and stops on exit."""

    def __init__(self, handler, host="127.0.0.1", port=0, backend=None, lib=None, **options):
        self.lib = lib or load_library()
        self.handler = handler
        opts = Options()
        self._check("nanoapi_options_init", self.lib.nanoapi_options_init(ctypes.byref(opts)))
        host_str = _str(host)
        opts.host, opts.port = host_str, port
        opts.backend = BACKENDS[backend]
        fields = {name for name, _ in Options._fields_} - {"host", "port", "backend"}
        for name, value in options.items():
            if name not in fields:
                raise TypeError(f"unknown option {name!r}; known: {sorted(fields)}")
            setattr(opts, name, int(value))
        server = ctypes.c_void_p()
        code = self.lib.nanoapi_server_new(ctypes.byref(opts), ctypes.byref(server))
        self._check("nanoapi_server_new", code)
        self._server = server
        # Kept alive as long as the server may call it.
        self._callback = DISPATCH_FN(self._dispatch)
        self._check(
            "nanoapi_server_set_dispatch",
            self.lib.nanoapi_server_set_dispatch(self._server, self._callback, None),
        )
        self._thread = None

    def _check(self, call, code):
        if code != OK:
            raise NanoapiError(self.lib, call, code)

    def add_static(self, method, path, status, content_type, body, headers=()):
        """Answers ``method path`` with a fixed response, without calling Python."""
        fields = _Headers(headers)
        self._check(
            "nanoapi_server_add_static",
            self.lib.nanoapi_server_add_static(
                self._server,
                _str(method),
                _str(path),
                status,
                _str(content_type),
                fields.array,
                fields.n,
                _str(body),
            ),
        )

    def compress_static(self):
        """Renders the static routes in gzip, br and zstd too, picked per request by
        ``Accept-Encoding`` (the library must be built with its ``compression`` feature)."""
        self._check(
            "nanoapi_server_compress_static",
            self.lib.nanoapi_server_compress_static(self._server),
        )

    def start(self):
        """Binds and starts serving; returns the port."""
        self._check("nanoapi_server_start", self.lib.nanoapi_server_start(self._server))
        return self.port

    @property
    def port(self):
        return self.lib.nanoapi_server_port(self._server)

    def run(self):
        """Serves until stopped, then drains; no handler runs once this returns."""
        self._check("nanoapi_server_run", self.lib.nanoapi_server_run(self._server))

    def stop(self):
        """Asks ``run`` to return (from any thread)."""
        self._check("nanoapi_server_stop", self.lib.nanoapi_server_stop(self._server))

    def close(self):
        """Frees the server (after ``run`` has returned)."""
        if self._server:
            self.lib.nanoapi_server_free(self._server)
            self._server = None

    def __enter__(self):
        self.start()
        self._thread = threading.Thread(target=self.run, name="nanoapi-run", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        self._thread.join()
        self.close()

    # Called by the library on a dispatch thread, with the GIL taken by ctypes.
    def _dispatch(self, _ctx, req, w):
        try:
            request = Request(self.lib, req, w)
            result = self.handler(request)
            if result is None and request.accepted:
                return 0
            return self._respond(w, result)
        except Exception:
            log.exception("handler failed")
            return 1

    def _respond(self, w, result):
        if not isinstance(result, tuple) or len(result) not in (3, 4):
            raise TypeError(
                f"a handler returns (status, content_type, body[, headers]), not {result!r}"
            )
        status, content_type, body = result[:3]
        fields = _Headers(result[3] if len(result) == 4 else ())
        lib, content_type = self.lib, _str(content_type)
        if isinstance(body, (bytes, bytearray, str)):
            body = _str(bytes(body) if isinstance(body, bytearray) else body)
            code = lib.nanoapi_writer_send(w, status, content_type, fields.array, fields.n, body)
            self._check("nanoapi_writer_send", code)
            return 0
        chunks = iter(body)
        code = lib.nanoapi_writer_start_chunked(w, status, content_type, fields.array, fields.n)
        self._check("nanoapi_writer_start_chunked", code)
        try:
            for chunk in chunks:
                code = lib.nanoapi_writer_write_chunk(w, _str(chunk))
                self._check("nanoapi_writer_write_chunk", code)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        self._check("nanoapi_writer_end_chunked", lib.nanoapi_writer_end_chunked(w))
        return 0
