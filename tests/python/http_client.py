"""A raw HTTP/1.1 client for the Python suites: one request per connection, heads and chunks
read by hand (so that what the server sent is seen exactly)."""

import socket


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def read_head(sock, buf=b""):
    """Reads a response head; returns (status, [(name, value)], rest of the bytes read)."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise EOFError(f"connection closed inside a head: {buf!r}")
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
    return status, headers, rest


def read_chunk(sock, buf):
    """Reads one chunk; returns (data, rest). The last chunk gives b""."""
    while b"\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise EOFError(f"connection closed inside a chunk size: {buf!r}")
        buf += data
    size_line, buf = buf.split(b"\r\n", 1)
    size = int(size_line, 16)
    while len(buf) < size + 2:
        data = sock.recv(65536)
        if not data:
            raise EOFError("connection closed inside a chunk")
        buf += data
    assert buf[size : size + 2] == b"\r\n", buf
    return buf[:size], buf[size + 2 :]


def get(port, path, method="GET", headers=(), body=b""):
    """One request on its own connection (Connection: close); returns (status, headers, body)
    with the body de-chunked."""
    sock = connect(port)
    lines = [f"{method} {path} HTTP/1.1", "Host: test", "Connection: close"]
    lines += [f"{n}: {v}" for n, v in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    status, fields, rest = read_head(sock)
    names = {n.lower() for n, _ in fields}
    if "transfer-encoding" in names:
        out = b""
        while True:
            chunk, rest = read_chunk(sock, rest)
            if not chunk:
                break
            out += chunk
        body = out
    else:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            rest += data
        body = rest
    sock.close()
    return status, fields, body
