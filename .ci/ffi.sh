#!/usr/bin/env bash
# The C ABI from Python: builds the nanoapi-ffi shared library (with its static routes'
# compression) and runs the ctypes host's pytest
# suite (every test on both backends, narrowed by NANOAPI_BACKEND if set).
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/python-deps.sh
cargo build --locked -p nanoapi-ffi --features compression
# test_websocket.py needs PyPI's `websockets`: the ws stage runs it in its venv.
python3 -m pytest -q -p no:cacheprovider --ignore=examples/ffi_python/test_websocket.py \
    examples/ffi_python
