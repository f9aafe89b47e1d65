#!/usr/bin/env bash
# The parity suite: builds every consumer (parity/consumers.py), runs the black-box suite on
# both backends and writes PARITY.md; fails if any consumer differs from the runtime's behaviour.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/python-deps.sh
cargo build --locked -p nanoapi --example parity_raw --example parity_app
cargo build --locked -p nanoapi-ffi -p ssr-example
python3 -m pytest -q -p no:cacheprovider parity
