#!/usr/bin/env bash
# The FastAPI differential harness (parity/fastapi/README.md): builds nanoapi's example apps,
# makes a venv with FastAPI and its twins' dependencies pinned, and sends every request of the
# corpus to both; fails on any difference not on parity/fastapi/allowlist.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
venv=${FASTAPI_VENV:-$target/fastapi-venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r parity/fastapi/requirements.txt
cargo build --locked --example openapi_app --example bench_app
"$venv/bin/python" parity/fastapi/runner.py --target "$target/debug/examples" \
    --report "$target/fastapi-parity.md"
