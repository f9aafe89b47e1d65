#!/usr/bin/env bash
# Hostile load against nanoapi (examples/reliability_target.rs), on each backend: 1,000
# slowloris connections beside a normal client, 10,000 keep-alive connections, and a graceful
# shutdown with 10,000 requests in flight. Prints one JSON line per scenario and backend.
#
#   bash benches/hostile.sh            (knobs: BACKENDS="uring poll", SLOW=1000, CONNS=10000,
#                                       SECS=20, PORT=19300, NO_BUILD=1)
#
# Server and load are separate processes, each under its own descriptor limit (10,000
# connections need 10,000 descriptors on each side). Figures: docs/RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."

BACKENDS=${BACKENDS:-"uring poll"}
SLOW=${SLOW:-1000}
CONNS=${CONNS:-10000}
SECS=${SECS:-20}
PORT=${PORT:-19300}
TARGET=${CARGO_TARGET_DIR:-target}
PEERS_TARGET=${CARGO_TARGET_DIR:-benches/peers/target}

if [ -z "${NO_BUILD:-}" ]; then
    cargo build --release --locked --example reliability_target >&2
    cargo build --release --manifest-path benches/peers/Cargo.toml --bin hostile_load >&2
fi
SERVER=$TARGET/release/examples/reliability_target
LOAD=$PEERS_TARGET/release/hostile_load
ulimit -n "$(ulimit -Hn)"

server_pid=
start_server() {
    NANOAPI_BACKEND=$1 NANOAPI_PORT=$PORT NANOAPI_WORKERS=2 "$SERVER" >&2 &
    server_pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "server did not start" >&2
    exit 1
}
stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}
trap stop_server EXIT

status=0
for backend in $BACKENDS; do
    for scenario in slowloris keepalive shutdown; do
        PORT=$((PORT + 1))
        start_server "$backend"
        rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
        case $scenario in
            slowloris) args=(--slow "$SLOW" --secs "$SECS") ;;
            keepalive) args=(--conns "$CONNS" --rounds 3) ;;
            shutdown) args=(--conns "$CONNS" --server-pid "$server_pid") ;;
        esac
        if ! line=$("$LOAD" "$scenario" --addr "127.0.0.1:$PORT" "${args[@]}"); then
            status=1
        fi
        rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo gone)
        echo "{\"backend\":\"$backend\",\"server_rss_kib\":[\"$rss_before\",\"$rss_after\"],\"result\":$line}"
        stop_server
    done
done
exit "$status"
