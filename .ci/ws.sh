#!/usr/bin/env bash
# WebSocket interop: the `ws_echo` example (bare runtime + feature `ws`) against Python's
# `websockets` client from PyPI (in a venv made here) and headless Chromium's WebSocket
# (tests/browser/ws.html), on both backends, and over TLS (wss://, feature `tls`) with the same
# Python client; and the Python host's WebSockets over the C ABI
# (examples/ffi_python/test_websocket.py) with the same client.
set -euo pipefail
cd "$(dirname "$0")/.."

source .ci/interop.sh
interop_venv ws 'websockets>=13,<16' 'pytest>=8,<9'
bash .ci/chromium.sh
profile=$(mktemp -d)
# The page is served over HTTP, as the openapi stage's are: Chromium loads file:// pages less
# dependably headless.
"$venv/bin/python" -m http.server --bind 127.0.0.1 --directory tests/browser 18600 \
    >"$profile/http.log" 2>&1 &
pages=$!
trap 'kill "$pages" 2>/dev/null || true; rm -rf "$profile"' EXIT
"$venv/bin/python" -c 'import sys; sys.path.insert(0, "tests/python")
from listening import wait_until_listening; wait_until_listening(18600, "http.server")'

# With `tls` too: the same binary serves wss:// when given a certificate (below).
cargo build --release --locked -p nanoapi --no-default-features --features ws-deflate,tls --example ws_echo

port=18600
for backend in uring poll; do
    port=$((port + 1))
    start_example ws_echo "$backend" "$port"
    interop ws_interop.py "$port" "ws interop on $backend"
    # A cold or starved Chromium sometimes exits before it loads the page: three attempts.
    for attempt in 1 2 3; do
        page=$(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --user-data-dir="$profile/$backend-$attempt" --virtual-time-budget=5000 \
            --dump-dom "http://127.0.0.1:18600/ws.html?port=$port" \
            2>"$profile/chrome-$backend-$attempt.log") && status=0 || status=$?
        if grep -q '<body>ws ok: ' <<<"$page"; then
            break
        fi
        echo "chromium attempt $attempt on $backend: exit $status, page: ${page:0:300}"
    done
    kill "$server"
    wait "$server" 2>/dev/null || true
    if ! grep -q '<body>ws ok: ' <<<"$page"; then
        echo "chromium ws interop on $backend: FAILED: $(grep -o '<body>.*</body>' <<<"$page")"
        grep -v 'dbus' "$profile/chrome-$backend-3.log" | tail -20
        exit 1
    fi
    echo "ws interop (python websockets, chromium) on $backend: ok"
done

# wss://: the same example with a certificate (NANOAPI_TLS_CERT/KEY), the same client over TLS,
# on both backends: WebSocket reads and writes overlapping on one TLS session.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout "$profile/key.pem" -out "$profile/cert.pem" 2>/dev/null
for backend in uring poll; do
    port=$((port + 1))
    NANOAPI_TLS_CERT=$profile/cert.pem NANOAPI_TLS_KEY=$profile/key.pem \
        start_example ws_echo "$backend" "$port"
    if ! "$venv/bin/python" tests/python/ws_interop.py "$port" --tls "$profile/cert.pem"; then
        kill "$server" 2>/dev/null || true
        echo "wss interop on $backend: FAILED"
        exit 1
    fi
    kill "$server"
    wait "$server" 2>/dev/null || true
    echo "wss interop (python websockets over TLS) on $backend: ok"
done

# The C ABI's WebSockets, from the ctypes host (both backends, as its fixtures do).
cargo build --locked -p nanoapi-ffi --features compression
"$venv/bin/python" -m pytest -q -p no:cacheprovider examples/ffi_python/test_websocket.py
