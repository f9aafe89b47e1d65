#!/usr/bin/env bash
# CI's short fuzzing pass: every target for FUZZ_SECONDS (default 12) each, seeded from the
# conformance suite. Installs cargo-fuzz if it is missing. Stable Rust: --sanitizer none.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
bash fuzz/run.sh "${FUZZ_SECONDS:-12}"
