#!/usr/bin/env bash
# Instructions per request-head parse, nanoapi vs httparse, counted by callgrind.
#
# Usage: benches/parse/callgrind.sh [N=100000]
#
# Builds the harness in release mode, then for each parser and request runs it under
# `valgrind --tool=callgrind` with 1 and with N+1 iterations; (Ir(N+1) - Ir(1)) / N is the
# cost of one parse with process start-up, the first-call SIMD detection of httparse and
# page faults cancelled out. Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")"
n="${1:-100000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
nice -n 19 cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/nanoapi-bench-parse"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

instructions() { # parser request iterations
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" "$1" "$2" "$3" 2>"$tmp/log" ||
        { cat "$tmp/log" >&2; exit 1; }
    sed -n 's/^==[0-9]*== Collected : //p' "$tmp/log"
}

printf '%-10s %-10s %s\n' request parser instructions/request
for request in plaintext json; do
    for parser in ours httparse; do
        base="$(instructions "$parser" "$request" 1)"
        full="$(instructions "$parser" "$request" $((n + 1)))"
        awk -v r="$request" -v p="$parser" -v b="$base" -v f="$full" -v n="$n" \
            'BEGIN { printf "%-10s %-10s %.1f\n", r, p, (f - b) / n }'
    done
done
