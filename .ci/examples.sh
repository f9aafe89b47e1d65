#!/usr/bin/env bash
# Builds the examples and checks that they serve, on both backends: `hello` (an App) answers
# two pipelined requests and a 422, `bench_app` authorizes, `echo` reports what it parsed,
# `bench_raw` serves JSON, `raw_dispatch` (built without default features) answers,
# `reliability_target` reads a body, `lambda` (outside Lambda) serves HTTP with its health
# probe, and the executor's `echo_server` echoes.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p nanoapi --example hello --example echo --example bench_raw \
    --example bench_app --example reliability_target --example lambda
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

# serve_and_check NAME BACKEND SEND EXPECT COMMAND...: starts COMMAND (an HTTP example reads
# NANOAPI_PORT; echo_server takes the address as an argument), sends SEND, stops the server, and
# fails unless what came back contains EXPECT.
port=18080
serve_and_check() {
    local name=$1 backend=$2 send=$3 expect=$4
    shift 4
    port=$((port + 1))
    NANOAPI_BACKEND=$backend NANOAPI_PORT=$port "${@//\{port\}/$port}" >/dev/null &
    local pid=$!
    local out
    out=$(exchange "$port" "$send" "$expect") || true
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    if [[ "$out" != *"$expect"* ]]; then
        echo "$name ($backend): expected '$expect', got '$out'"
        exit 1
    fi
    echo "$name ($backend): ok"
}

bin=${CARGO_TARGET_DIR:-./target}/release/examples
for backend in uring poll; do
    serve_and_check "hello, two pipelined requests" "$backend" \
        'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /users/7?verbose=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
        '{"message":"Hello, World!"}HTTP/1.1 200 OK' "$bin/hello"
    serve_and_check "hello, a 422" "$backend" \
        'POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}' \
        '{"detail":[{"type":"missing","loc":["body","user_id"]' "$bin/hello"
    serve_and_check bench_app "$backend" \
        'GET /auth HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nCookie: session=s\r\nConnection: close\r\n\r\n' \
        '{"authorized":true}' "$bin/bench_app"
    serve_and_check echo "$backend" \
        'POST /e?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi' \
        '"path":"/e","query":"q=1","version":"HTTP/1.1","headers":[["Host","x"],["Content-Length","2"],["Connection","close"]],"body":"hi","body_len":2}' \
        "$bin/echo"
    serve_and_check bench_raw "$backend" 'GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
        '{"message":"Hello, World!"}' "$bin/bench_raw"
    serve_and_check raw_dispatch "$backend" 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
        '\r\n\r\nok' "$bin/raw_dispatch"
    serve_and_check reliability_target "$backend" \
        'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc' \
        '\r\n\r\nlen=3' "$bin/reliability_target"
    serve_and_check lambda "$backend" 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
        '\r\n\r\nok' "$bin/lambda"
    serve_and_check echo_server "$backend" "ping-$backend" "ping-$backend" "$bin/echo_server" "127.0.0.1:{port}"
done
