#!/usr/bin/env bash
# The C ABI from Python: builds the nanoapi-ffi shared library and runs the ctypes host's pytest
# suite (every test on both backends, narrowed by NANOAPI_BACKEND if set).
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/python-deps.sh
cargo build --locked -p nanoapi-ffi
python3 -m pytest -q -p no:cacheprovider examples/ffi_python
