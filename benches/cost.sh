#!/usr/bin/env bash
# The deterministic cost gate: instructions (callgrind) and heap allocations per iteration of
# each scenario of benches/cost.rs, compared with the committed baseline benches/cost.baseline.
#
# Usage: benches/cost.sh [--bless] [N=2000]
#
# Each scenario runs under `valgrind --tool=callgrind` with 1 and with N+1 iterations;
# (count(N+1) - count(1)) / N is the cost of one iteration with start-up cancelled out. A figure
# more than 5 % over its baseline fails the run; `--bless` writes the figures as the new
# baseline (commit it with the change that earned it). Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."

bless=0
if [ "${1:-}" = "--bless" ]; then
    bless=1
    shift
fi
n="${1:-2000}"
baseline=benches/cost.baseline
tolerance=5 # percent

command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
# Built with `http2` for the h2x16 scenario (the HTTP/1.1 scenarios then also count the
# writer's check for an HTTP/2 stream: a branch on a `None`).
bin=$(cargo bench --bench cost --features http2 --no-run --locked --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -x "$bin" ] || { echo "cost: could not build benches/cost.rs" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# measure SCENARIO ITERATIONS: prints "instructions allocations".
measure() {
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" "$1" "$2" >"$tmp/stdout" 2>"$tmp/log" ||
        { cat "$tmp/log" "$tmp/stdout" >&2; exit 1; }
    local ir allocs
    ir=$(sed -n 's/^==[0-9]*== Collected : //p' "$tmp/log")
    allocs=$(awk '{ print $(NF - 1) }' "$tmp/stdout")
    echo "$ir $allocs"
}

failed=0
: >"$tmp/figures"
# Instruction counts depend a little on the CPU (glibc and memchr pick their routines by it).
echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
printf '%-12s %14s %10s %14s %10s\n' scenario instructions baseline allocations baseline
for scenario in parse plaintext static pipelined16 chunked socket h2x16; do
    read -r ir1 al1 <<<"$(measure "$scenario" 1)"
    read -r irn aln <<<"$(measure "$scenario" $((n + 1)))"
    ir=$(awk -v a="$ir1" -v b="$irn" -v n="$n" 'BEGIN { printf "%.0f", (b - a) / n }')
    al=$(awk -v a="$al1" -v b="$aln" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / n }')
    echo "$scenario $ir $al" >>"$tmp/figures"
    read -r _ base_ir base_al <<<"$(grep "^$scenario " "$baseline" 2>/dev/null || echo "- - -")"
    printf '%-12s %14s %10s %14s %10s\n' "$scenario" "$ir" "$base_ir" "$al" "$base_al"
    if [ "$bless" -eq 0 ] && [ "$base_ir" != "-" ]; then
        if awk -v v="$ir" -v b="$base_ir" -v t="$tolerance" 'BEGIN { exit !(v > b * (1 + t / 100)) }'; then
            echo "  REGRESSION: $scenario costs $ir instructions, over $base_ir by more than $tolerance %"
            failed=1
        fi
        if awk -v v="$al" -v b="$base_al" 'BEGIN { exit !(v > b + 0.005) }'; then
            echo "  REGRESSION: $scenario makes $al allocations per iteration, baseline $base_al"
            failed=1
        fi
    fi
done

if [ "$bless" -eq 1 ]; then
    {
        echo "# scenario instructions-per-iteration allocations-per-iteration (benches/cost.sh --bless)"
        cat "$tmp/figures"
    } >"$baseline"
    echo "cost: baseline written to $baseline"
fi
exit "$failed"
