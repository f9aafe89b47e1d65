#!/usr/bin/env bash
# WebSocket interop: the `ws_echo` example (bare runtime + feature `ws`) against Python's
# `websockets` client from PyPI (in a venv made here) and headless Chromium's WebSocket
# (tests/browser/ws.html), on both backends.
set -euo pipefail
cd "$(dirname "$0")/.."

source .ci/interop.sh
interop_venv ws 'websockets>=13,<16'
bash .ci/chromium.sh
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

cargo build --release --locked -p nanoapi --no-default-features --features ws --example ws_echo

port=18600
for backend in uring poll; do
    port=$((port + 1))
    start_example ws_echo "$backend" "$port"
    interop ws_interop.py "$port" "ws interop on $backend"
    # A cold Chromium sometimes exits before it loads the page: one retry, then its log.
    for attempt in 1 2; do
        page=$(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --user-data-dir="$profile/$backend-$attempt" --virtual-time-budget=5000 \
            --dump-dom "file://$PWD/tests/browser/ws.html?port=$port" \
            2>"$profile/chrome-$backend-$attempt.log" || true)
        if grep -q '<body>ws ok: ' <<<"$page"; then
            break
        fi
    done
    kill "$server"
    wait "$server" 2>/dev/null || true
    if ! grep -q '<body>ws ok: ' <<<"$page"; then
        echo "chromium ws interop on $backend: FAILED: $(grep -o '<body>.*</body>' <<<"$page")"
        tail -20 "$profile/chrome-$backend-2.log"
        exit 1
    fi
    echo "ws interop (python websockets, chromium) on $backend: ok"
done
