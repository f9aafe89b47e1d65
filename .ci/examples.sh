#!/usr/bin/env bash
# Builds the examples and checks that they serve: `hello` over HTTP on both backends, and the
# executor's echo server.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --example hello -p nanoapi
cargo build --release --locked --example echo_server -p nanoapi-executor

port=18080
for backend in uring poll; do
    port=$((port + 1))
    NANOAPI_BACKEND=$backend NANOAPI_PORT=$port ./target/release/examples/hello &
    pid=$!
    body=""
    for _ in $(seq 1 50); do
        body=$(python3 -c "
import socket, sys
try:
    s = socket.create_connection(('127.0.0.1', $port), timeout=2)
except OSError:
    sys.exit(0)
s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n')
data = b''
while data.count(b'Hello, World!') < 2:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.count(b'Hello, World!'))
") && [ -n "$body" ] && break
        sleep 0.1
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    if [ "$body" != "2" ]; then
        echo "hello ($backend): expected 2 pipelined responses, got '${body}'"
        exit 1
    fi
    echo "hello ($backend): ok"
done

for backend in uring poll; do
    port=$((port + 1))
    NANOAPI_BACKEND=$backend ./target/release/examples/echo_server "127.0.0.1:$port" > /tmp/nanoapi-echo-$$.out &
    pid=$!
    reply=""
    for _ in $(seq 1 50); do
        reply=$(python3 -c "
import socket, sys
try:
    s = socket.create_connection(('127.0.0.1', $port), timeout=2)
except OSError:
    sys.exit(0)
s.sendall(b'ping-$backend')
print(s.recv(100).decode())
") && [ -n "$reply" ] && break
        sleep 0.1
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -f /tmp/nanoapi-echo-$$.out
    if [ "$reply" != "ping-$backend" ]; then
        echo "echo_server ($backend): got '${reply}'"
        exit 1
    fi
    echo "echo_server ($backend): ok"
done
