#!/usr/bin/env bash
# Builds the examples and checks that they serve, on both backends: `hello` answers two
# pipelined requests, `echo` reports what it parsed, `bench_raw` serves JSON, `raw_dispatch`
# (built without default features) answers, and the executor's `echo_server` echoes.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p nanoapi --example hello --example echo --example bench_raw
cargo build --release --locked --example echo_server -p nanoapi-executor
# The bare runtime, built on its own: a workspace build unifies features and proves nothing.
cargo build --release --locked -p nanoapi --no-default-features --example raw_dispatch

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
    out=$(exchange "$port" 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' 'never') || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    check "hello ($backend), two pipelined requests" 'Hello, World!HTTP/1.1 200 OK' "$out"

    port=$((port + 1))
    NANOAPI_BACKEND=$backend NANOAPI_PORT=$port ./target/release/examples/echo &
    pid=$!
    out=$(exchange "$port" 'POST /e?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi' 'never') || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    check "echo ($backend)" '"path":"/e","query":"q=1","version":"HTTP/1.1","headers":[["Host","x"],["Content-Length","2"],["Connection","close"]],"body":"hi","body_len":2}' "$out"

    port=$((port + 1))
    NANOAPI_BACKEND=$backend NANOAPI_PORT=$port ./target/release/examples/bench_raw &
    pid=$!
    out=$(exchange "$port" 'GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' 'never') || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    check "bench_raw ($backend)" '{"message":"Hello, World!"}' "$out"

    port=$((port + 1))
    NANOAPI_BACKEND=$backend NANOAPI_PORT=$port ./target/release/examples/raw_dispatch &
    pid=$!
    out=$(exchange "$port" 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' 'never') || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    check "raw_dispatch ($backend)" '\r\n\r\nok' "$out"

    port=$((port + 1))
    NANOAPI_BACKEND=$backend ./target/release/examples/echo_server "127.0.0.1:$port" >/dev/null &
    pid=$!
    out=$(exchange "$port" "ping-$backend" "ping-$backend") || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    check "echo_server ($backend)" "ping-$backend" "$out"
done
