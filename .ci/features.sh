#!/usr/bin/env bash
# Lints and tests the optional features that the default build leaves out: `http-compat`
# (conversions to and from the `http` crate). Its lint covers every target; its tests are
# the ones that exercise it (the middleware suite's compat module and the compat doc tests),
# as the rest of the suite is the default build's and already ran.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo clippy --workspace --all-targets --locked --features http-compat -- -D warnings
cargo test --locked -p nanoapi --features http-compat --test app_middleware
cargo test --locked -p nanoapi --features http-compat --doc -- compat
