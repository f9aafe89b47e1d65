#!/usr/bin/env bash
# The runtime's socket-level tests under valgrind memcheck on the poll backend (valgrind cannot
# see io_uring's kernel writes; on io_uring, tests/soak.rs counts descriptors and RSS instead).
# Fails on any memory error or definite/indirect leak.
#
#   bash .ci/valgrind.sh [TEST...]      (default: every socket-level test binary of the root)
#
# All of them fit CI: about 65 s under valgrind plus the build (docs/RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."

tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
    tests=(conn serve blocking soak hostile)
fi
command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 1; }

args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
# The test binaries' paths, from cargo's JSON messages.
mapfile -t binaries < <(cargo test --locked --no-run "${args[@]}" --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["target"]["kind"] == ["test"]:
        print(msg["target"]["name"], msg["executable"])
')

export NANOAPI_BACKEND=poll
# Few requests: valgrind runs everything on one core, some 30x slower.
export NANOAPI_SOAK_REQUESTS=${NANOAPI_SOAK_REQUESTS:-6000}
# RSS under valgrind is valgrind's own (its freed-block quarantine grows); leaks are what
# memcheck reports, and descriptors are still counted.
export NANOAPI_SOAK_RSS_SLACK_KIB=1000000
# The clients' give-up times (hang guards, not assertions) stretched to match: the slowloris
# test's first normal request once waited more than 10 s under valgrind behind 6,400
# pipelined responses to its deaf clients.
export NANOAPI_TEST_SLOWDOWN=6
failed=0
for entry in "${binaries[@]}"; do
    name=${entry%% *}
    exe=${entry#* }
    start=$SECONDS
    log=$(mktemp)
    if valgrind --tool=memcheck --quiet --error-exitcode=99 --leak-check=full \
        --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
        --track-fds=no "$exe" --test-threads=1 >"$log" 2>&1; then
        echo "valgrind ${name}: clean ($(grep -o '[0-9]* passed' "$log" | head -1)) in $((SECONDS - start))s"
    else
        tail -60 "$log"
        echo "valgrind ${name}: FAILED after $((SECONDS - start))s"
        failed=1
    fi
    rm -f "$log"
done
exit "$failed"
