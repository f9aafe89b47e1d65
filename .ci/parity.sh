#!/usr/bin/env bash
# The parity suite: builds every consumer (parity/consumers.py), runs the black-box suite on
# both backends and writes PARITY.md; fails if any consumer differs from the runtime's behaviour.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Python package consumer needs the package: the venv of the python stage (made, or
# brought up to date, here).
source .ci/interop.sh
interop_venv python 'maturin>=1.7,<2' 'pytest>=8,<10'
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check ./python
cargo build --locked -p nanoapi --example parity_raw --example parity_app
cargo build --locked -p nanoapi-ffi -p ssr-example
# The C consumer, linked with the static library (and what it needs from the system);
# $target comes from interop.sh.
command -v cc >/dev/null || { apt-get update -qq && apt-get install -y -qq gcc; }
cc -Wall -Wextra -Werror -O2 -I ffi/include -o "$target/debug/parity-c" examples/ffi_c/parity.c \
    "$target/debug/libnanoapi_ffi.a" -lpthread -ldl -lm -lgcc_s -lrt
"$venv/bin/python" -m pytest -q -p no:cacheprovider parity
