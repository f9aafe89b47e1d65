"""A raw-socket HTTP/1.1 client that reads responses exactly as framed, so the suite sees the
wire as it is (no library normalises anything)."""

import socket

TIMEOUT = 10


class Response:
    """One response: status line, header fields in order, body (de-chunked) and the chunks."""

    def __init__(self, version, status, reason, headers, body=b"", chunks=None):
        self.version, self.status, self.reason = version, status, reason
        self.headers, self.body, self.chunks = headers, body, chunks

    def header(self, name):
        """The first value of ``name`` (any case), or None."""
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def framing(self):
        """How the body was delimited: chunked, length, close or none."""
        if self.chunks is not None:
            return "chunked"
        if self.header("Content-Length") is not None:
            return "length"
        return "none" if self.body == b"" else "close"

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:80]!r}>"


class Conn:
    """One client connection with its receive buffer."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode("latin-1"))

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError(f"the server closed the connection; unread: {self.buf!r}")
        self.buf += data

    def _take_until(self, marker):
        while marker not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(marker, 1)
        return head

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self, method="GET"):
        """Reads one response to a ``method`` request."""
        head = self._take_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        headers = [tuple(p.strip() for p in line.split(":", 1)) for line in lines[1:]]
        response = Response(version, int(status), reason, headers)
        no_body = method == "HEAD" or response.status in (204, 304) or response.status < 200
        if no_body:
            return response
        if (response.header("Transfer-Encoding") or "").lower() == "chunked":
            response.chunks = []
            while True:
                size = int(self._take_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self._take_until(b"\r\n")  # no trailers from this server
                    break
                response.chunks.append(self._take(size))
                assert self._take(2) == b"\r\n", "a chunk ends with CRLF"
            response.body = b"".join(response.chunks)
        elif response.header("Content-Length") is not None:
            response.body = self._take(int(response.header("Content-Length")))
        else:
            response.body = self.read_to_eof()
        return response

    def read_chunk_of(self, response):
        """Reads the next chunk of a chunked body whose head was read with ``read_head``."""
        size = int(self._take_until(b"\r\n").split(b";")[0], 16)
        data = self._take(size) if size else b""
        self._take_until(b"\r\n")
        return data

    def read_head(self):
        """Reads only a response head (for a body read chunk by chunk)."""
        head = self._take_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        headers = [tuple(p.strip() for p in line.split(":", 1)) for line in lines[1:]]
        return Response(version, int(status), reason, headers)

    def read_to_eof(self):
        while True:
            data = self.sock.recv(65536)
            if not data:
                data, self.buf = self.buf, b""
                return data
            self.buf += data

    def is_closed_by_server(self):
        """True once the server has closed (after what was buffered); waits up to TIMEOUT."""
        try:
            return self.read_to_eof() == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def request(method, path, headers=(), body=b"", version="HTTP/1.1", host=True):
    """The bytes of a request. ``headers`` is a list of (name, value)."""
    lines = [f"{method} {path} {version}"]
    if host:
        lines.append("Host: parity")
    lines += [f"{n}: {v}" for n, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
