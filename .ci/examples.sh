#!/usr/bin/env bash
# Builds the examples and checks that they serve, on both backends: `hello` answers two
# pipelined requests, the executor's `echo_server` echoes.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --example hello -p nanoapi
cargo build --release --locked --example echo_server -p nanoapi-executor

# exchange PORT SEND EXPECT: connects (retrying while the server starts, for up to 5 s), sends
# SEND, reads until EXPECT has arrived or the peer closes, and prints what it read as a Python
# bytes literal (so CR and LF show as \r and \n). SEND and EXPECT take backslash escapes.
exchange() {
    python3 - "$@" <<'PY'
import socket, sys, time
unescape = lambda text: text.encode().decode('unicode_escape').encode()
port, send, expect = int(sys.argv[1]), unescape(sys.argv[2]), unescape(sys.argv[3])
deadline = time.monotonic() + 5
while True:
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit('server did not start')
        time.sleep(0.05)
s.sendall(send)
data = b''
while expect not in data:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(repr(data))
PY
}

# check NAME EXPECT OUTPUT
check() {
    if [[ "$3" != *"$2"* ]]; then
        echo "$1: expected '$2', got '$3'"
        exit 1
    fi
    echo "$1: ok"
}

port=18080
for backend in uring poll; do
    port=$((port + 1))
    NANOAPI_BACKEND=$backend NANOAPI_PORT=$port ./target/release/examples/hello &
    pid=$!
    out=$(exchange "$port" 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n' 'World!HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!') || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    check "hello ($backend)" 'Hello, World!HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!' "$out"

    port=$((port + 1))
    NANOAPI_BACKEND=$backend ./target/release/examples/echo_server "127.0.0.1:$port" >/dev/null &
    pid=$!
    out=$(exchange "$port" "ping-$backend" "ping-$backend") || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    check "echo_server ($backend)" "ping-$backend" "$out"
done
