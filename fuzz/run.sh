#!/usr/bin/env bash
# Runs every fuzz target (or those named) for a bounded time each, on stable Rust, and prints
# one line per target with its exec count. Fails on the first crash, hang or leak report; the
# input is then in fuzz/artifacts/<target>/ (turn it into a regression test, see README.md).
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET=20] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). Corpora are seeded from the
# conformance suite (fuzz/seed.py) and grow in fuzz/corpus/<target>/ (not committed).
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-20}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(parse_request_head chunked differential_httparse connection app ws_frames http2_frames)
fi

python3 seed.py
# --sanitizer none: no nightly needed; the coverage instrumentation is stable.
cargo fuzz build --sanitizer none

for target in "${targets[@]}"; do
    log=$(mktemp)
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: growth is a leak.
    if ! cargo fuzz run --sanitizer none "${target}" -- \
        -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"${log}" 2>&1; then
        grep -v '^ *[0-9]*: \|^ *at ' "${log}" | tail -40
        echo "fuzz ${target}: FAILED"
        rm -f "${log}"
        exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "${log}" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "${log}" | tail -1 || true)
    corpus=$(find "corpus/${target}" -type f | wc -l)
    echo "fuzz ${target}: ${runs} execs in ${seconds}s, ${cov}, corpus ${corpus} inputs"
    rm -f "${log}"
done
