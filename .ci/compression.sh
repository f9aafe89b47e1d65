#!/usr/bin/env bash
# Compression interop: the `compression` example (App + feature `compression`) against
# independent codecs, on both backends: Python's gzip module and PyPI's `brotli` and
# `zstandard` (in a venv made here) decode every response coding and encode request bodies
# (tests/python/compression_interop.py), and `curl --compressed` (libcurl's zlib, brotli and
# zstd) decodes what it negotiates.
set -euo pipefail
cd "$(dirname "$0")/.."

source .ci/interop.sh
interop_venv compression 'brotli>=1.1,<2' 'zstandard>=0.22,<1'
if ! command -v curl >/dev/null; then
    apt-get install -y --no-install-recommends curl >/dev/null
fi

cargo build --release --locked -p nanoapi --features compression --example compression

port=18700
for backend in uring poll; do
    port=$((port + 1))
    start_example compression "$backend" "$port"
    interop compression_interop.py "$port" "compression interop on $backend"
    plain=$(curl -sS -H 'Accept-Encoding: identity' "http://127.0.0.1:$port/report")
    headers=$(curl -sS --compressed -D - -o "$target/compression-curl.out" "http://127.0.0.1:$port/report")
    kill "$server"
    wait "$server" 2>/dev/null || true
    coding=$(grep -i '^content-encoding:' <<<"$headers" | tr -d '\r' | awk '{print $2}')
    if [ -z "$coding" ] || [ "$(cat "$target/compression-curl.out")" != "$plain" ]; then
        echo "curl --compressed on $backend: FAILED (content-encoding: '$coding')"
        exit 1
    fi
    echo "compression interop (python, curl --compressed: $coding) on $backend: ok"
done
