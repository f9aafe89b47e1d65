#!/usr/bin/env bash
# The C ABI from Python: builds the nanoapi-ffi shared library (with its static routes'
# compression) and runs the ctypes host's pytest
# suite (every test on both backends, narrowed by NANOAPI_BACKEND if set).
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/python-deps.sh
cargo build --locked -p nanoapi-ffi --features compression
python3 -m pytest -q -p no:cacheprovider examples/ffi_python
