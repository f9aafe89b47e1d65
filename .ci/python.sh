#!/usr/bin/env bash
# The Python package (python/): its Rust checked (fmt, clippy), built by maturin through
# `pip install ./python` into a venv made here (with Flask for the WSGI tests), then its own
# pytest suite and the suite it shares with the ctypes host (examples/ffi_python, the
# `package` cases), on both backends.
set -euo pipefail
cd "$(dirname "$0")/.."

source .ci/interop.sh
interop_venv python 'maturin>=1.7,<2' 'pytest>=8,<10' 'flask>=3,<4'

start=$SECONDS
(cd python && cargo fmt --check && cargo clippy --locked --all-targets -- -D warnings)
echo "--- python: fmt and clippy ($((SECONDS - start))s)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check ./python
echo "--- python: pip install ./python ($((SECONDS - start))s)"
# The shared suite loads the C library for its ctypes cases.
cargo build --locked -p nanoapi-ffi --features compression
"$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests
"$venv/bin/python" -m pytest -q -p no:cacheprovider -k package \
    --ignore=examples/ffi_python/test_websocket.py examples/ffi_python
echo "--- python: ok ($((SECONDS - start))s)"
