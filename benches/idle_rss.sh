#!/usr/bin/env bash
# Idle keep-alive connection memory: how much server RSS does one idle HTTP/1.1
# keep-alive connection cost? nanoapi's bench_raw example (io_uring and poll) against
# hyper_raw and may_minihttp_raw (benches/peers).
#
#   bash benches/idle_rss.sh [runs=3] [connections=5000]
#
# For every run and every server (order rotated per run), a fresh server is started
# pinned to SERVER_CPU with one worker. `idle_conns` (benches/peers), pinned to
# LOAD_CPU, makes one warmup request, reads the server's VmRSS (/proc/<pid>/status),
# opens `connections` keep-alive connections as fast as it can (at most 256 connects in
# flight), sends one `GET /plaintext` on each and reads the whole response, reads VmRSS
# again as soon as the last response is in, then checks without blocking that every
# connection is still open. KiB per idle connection = (after - before) / connections.
#
# nanoapi closes a keep-alive connection after 5 s idle by default (there is no
# environment variable for it), so the second sample must come within that: the run
# fails if the oldest connection was idle for MAX_AGE (default 3) seconds or more when
# RSS was sampled, or if any connection was already closed.
#
# RSS is user-space memory only: the kernel's socket buffers and structures are not in
# it (they are the same for every server).
#
# Idle WebSockets: the servers nanoapi-ws-uring and nanoapi-ws-poll (the ws_echo example,
# the bare runtime with feature `ws`) and tungstenite (tokio-tungstenite's echo): each
# connection is an opening handshake at /ws answered 101, then an idle WebSocket (no
# timeout closes them), each checked at the end with one echoed message. Compare with the
# HTTP servers' figures of the same run: `SERVERS="nanoapi-uring nanoapi-ws-uring ..."`.
#
# Environment knobs (all optional):
#   SERVERS="hyper may_minihttp nanoapi-uring nanoapi-poll"
#                                (also: nanoapi-ws-uring nanoapi-ws-poll tungstenite)
#   SERVER_CPU=0 LOAD_CPU=1 PORT_BASE=19900 MAX_AGE=3
#   NO_BUILD=1                   use already-built binaries
set -euo pipefail

RUNS=${1:-3}
CONNECTIONS=${2:-5000}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT_BASE=${PORT_BASE:-19900}
MAX_AGE=${MAX_AGE:-3}
SERVERS=${SERVERS:-"hyper may_minihttp nanoapi-uring nanoapi-poll"}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BENCH_NAME=idle_rss.sh
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "runs must be a positive integer (got '$RUNS')"
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "connections must be a positive integer (got '$CONNECTIONS')"
command -v taskset >/dev/null || die "taskset not found (util-linux)"
command -v python3 >/dev/null || die "python3 not found"
(( $(nproc) >= 2 )) || die "needs at least 2 CPUs"

# The client and the server each hold one fd per connection (separate processes).
need_fds=$(( CONNECTIONS + 200 ))
want_fds=$(( CONNECTIONS + 1000 > 20000 ? CONNECTIONS + 1000 : 20000 ))
hard=$(ulimit -Hn)
[[ $hard != unlimited ]] && (( want_fds > hard )) && want_fds=$hard
ulimit -n "$want_fds" 2>/dev/null || true
(( $(ulimit -n) >= need_fds )) || die "open-file limit $(ulimit -n) is below the $need_fds needed (hard limit $hard)"

bench_setup


# ---- build ------------------------------------------------------------------
for s in $SERVERS; do
    case $s in
        hyper|may_minihttp|nanoapi-uring|nanoapi-poll|nanoapi-ws-uring|nanoapi-ws-poll|tungstenite) ;;
        *) die "unknown server '$s' in SERVERS (known: hyper may_minihttp nanoapi-uring nanoapi-poll nanoapi-ws-uring nanoapi-ws-poll tungstenite)" ;;
    esac
done
PEERS_MANIFEST=benches/peers/Cargo.toml
HYPER=""; MAY=""; IDLE=""; NANOAPI=""; NANOAPI_WS=""; TUNGSTENITE=""
if [[ -z ${NO_BUILD:-} ]]; then
    log "building peers (idle_conns, hyper_raw, tungstenite_echo, may_minihttp_raw) ..."
    cargo build --release --manifest-path "$PEERS_MANIFEST" --bin idle_conns --bin hyper_raw \
        --bin tungstenite_echo \
        --message-format=json-render-diagnostics > "$TMP/peers.json" || die "building benches/peers failed"
    IDLE=$(artifact idle_conns < "$TMP/peers.json")
    HYPER=$(artifact hyper_raw < "$TMP/peers.json")
    TUNGSTENITE=$(artifact tungstenite_echo < "$TMP/peers.json")
    if cargo build --release --manifest-path "$PEERS_MANIFEST" --bin may_minihttp_raw \
        --message-format=json-render-diagnostics > "$TMP/may.json"; then
        MAY=$(artifact may_minihttp_raw < "$TMP/may.json")
    fi
    log "building nanoapi example bench_raw ..."
    if cargo build --release --example bench_raw --message-format=json-render-diagnostics > "$TMP/nanoapi.json"; then
        NANOAPI=$(artifact bench_raw < "$TMP/nanoapi.json")
    fi
    if [[ " $SERVERS " == *" nanoapi-ws-"* ]]; then
        log "building nanoapi example ws_echo (feature ws only) ..."
        if cargo build --release --example ws_echo --no-default-features --features ws \
            --message-format=json-render-diagnostics > "$TMP/nanoapi-ws.json"; then
            NANOAPI_WS=$(artifact ws_echo < "$TMP/nanoapi-ws.json")
        fi
    fi
else
    PEERS_BIN=${CARGO_TARGET_DIR:-benches/peers/target}/release
    IDLE=$PEERS_BIN/idle_conns
    HYPER=$PEERS_BIN/hyper_raw
    MAY=$PEERS_BIN/may_minihttp_raw
    TUNGSTENITE=$PEERS_BIN/tungstenite_echo
    NANOAPI=${CARGO_TARGET_DIR:-target}/release/examples/bench_raw
    NANOAPI_WS=${CARGO_TARGET_DIR:-target}/release/examples/ws_echo
fi
[[ -n $IDLE && -x $IDLE ]] || die "idle_conns not found ('$IDLE')"
kept=""
for s in $SERVERS; do
    case $s in
        hyper)         bin=$HYPER ;;
        may_minihttp)  bin=$MAY ;;
        tungstenite)   bin=$TUNGSTENITE ;;
        nanoapi-ws-*)  bin=$NANOAPI_WS ;;
        nanoapi-*)     bin=$NANOAPI ;;
    esac
    if [[ -n $bin && -x $bin ]]; then kept="$kept $s"; else log "*** $s: binary not available, skipped"; fi
done
read -r -a SERVER_LIST <<< "$kept"
(( ${#SERVER_LIST[@]} > 0 )) || die "no server left to measure"

# ---- one measurement -----------------------------------------------------------

# start_server_cmd NAME PORT (the hook of lib.sh's start_server): one worker, pinned.
start_server_cmd() {
    local name=$1 port=$2 addr="127.0.0.1:$2"
    case $name in
        hyper)         taskset -c "$SERVER_CPU" "$HYPER" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        may_minihttp)  taskset -c "$SERVER_CPU" "$MAY" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        tungstenite)   taskset -c "$SERVER_CPU" "$TUNGSTENITE" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        nanoapi-uring|nanoapi-poll)
            NANOAPI_HOST=127.0.0.1 NANOAPI_PORT=$port NANOAPI_WORKERS=1 NANOAPI_BACKEND=${name#nanoapi-} \
                taskset -c "$SERVER_CPU" "$NANOAPI" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        nanoapi-ws-uring|nanoapi-ws-poll)
            NANOAPI_HOST=127.0.0.1 NANOAPI_PORT=$port NANOAPI_WORKERS=1 NANOAPI_BACKEND=${name#nanoapi-ws-} \
                taskset -c "$SERVER_CPU" "$NANOAPI_WS" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
    esac
}
# WebSocket servers: the handshake at /ws, then idle sockets, each echoing once at the end.
load_args() {   # load_args NAME: idle_conns' arguments for the kind of connection
    case $1 in
        nanoapi-ws-*|tungstenite) echo "--ws 1 --path /ws --serve-again 1" ;;
        *) echo "" ;;
    esac
}
server_ready() {   # server_ready NAME PORT
    case $1 in
        hyper|may_minihttp|tungstenite) server_ready_stdout ;;
        *) server_ready_port "$2" ;;
    esac
}

: > "$TMP/results.jsonl"
failures=0
n=${#SERVER_LIST[@]}
start=0
log "idle_rss: runs=$RUNS connections=$CONNECTIONS server_cpu=$SERVER_CPU load_cpu=$LOAD_CPU servers=${SERVER_LIST[*]}"
for ((run = 1; run <= RUNS; run++)); do
    for ((k = 0; k < n; k++)); do
        name=${SERVER_LIST[$(( (k + run - 1) % n ))]}
        port=$(( PORT_BASE + start % 90 )); start=$((start + 1))
        if ! start_server "$name" "$port"; then failures=$((failures + 1)); continue; fi
        read -r -a extra <<< "$(load_args "$name")"
        taskset -c "$LOAD_CPU" "$IDLE" --addr "127.0.0.1:$port" --server-pid "$SERVER_PID" \
            --connections "$CONNECTIONS" "${extra[@]}" > "$TMP/idle.out" 2> "$TMP/idle.err" &
        LOAD_PID=$!
        rc=0; wait "$LOAD_PID" || rc=$?; LOAD_PID=""
        if (( rc != 0 )); then
            log "run $run $name: idle_conns failed (exit $rc):"; cat "$TMP/idle.err" >&2
            failures=$((failures + 1))
        elif ! python3 - "$name" "$run" "$MAX_AGE" "$TMP/idle.out" >> "$TMP/results.jsonl" <<'PY'
import json, sys
name, run, max_age = sys.argv[1], sys.argv[2], float(sys.argv[3])
r = json.loads(open(sys.argv[4]).readline())
r["server"], r["run"] = name, int(run)
print(f"run {run} {name:14s} before {r['rss_before_kib']:7d} KiB  after {r['rss_after_kib']:7d} KiB  "
      f"{r['kib_per_conn']:6.2f} KiB/conn  opened in {r['open_secs']:.2f} s  "
      f"sampled {r['sample_after_first_response_secs']:.2f} s after the first response  "
      f"closed {r['closed_at_check']}", file=sys.stderr)
if r["closed_at_check"]:
    sys.exit(f"run {run} {name}: {r['closed_at_check']} connection(s) were closed before the check")
if r["served_again"] not in (0, r["connections"]):
    sys.exit(f"run {run} {name}: only {r['served_again']} of {r['connections']} connections served again")
if r["sample_after_first_response_secs"] >= max_age:
    sys.exit(f"run {run} {name}: RSS sampled {r['sample_after_first_response_secs']:.2f} s after the "
             f"first response (limit {max_age} s, nanoapi's idle timeout is 5 s)")
print(json.dumps(r))
PY
        then
            failures=$((failures + 1))
        fi
        if [[ -s $TMP/server.err ]]; then
            log "run $run $name: server stderr:"; head -n 20 "$TMP/server.err" >&2
        fi
        stop_server
        sleep 0.5   # let the closed sockets go before the next server starts
    done
done

# ---- report -------------------------------------------------------------------------
python3 - "$TMP/results.jsonl" "$RUNS" "$CONNECTIONS" "${SERVER_LIST[@]}" <<'PY'
import json, statistics, sys
path, runs, conns = sys.argv[1], sys.argv[2], sys.argv[3]
servers = sys.argv[4:]
rows = {}
for line in open(path):
    r = json.loads(line)
    rows.setdefault(r["server"], []).append(r)
print(f"Idle connections: {conns} connections, one GET /plaintext each (WebSocket servers: the "
      f"handshake at /ws), then idle; "
      f"server VmRSS before and right after; median of {runs} run(s); 1 worker.")
print()
print("| server | RSS before | RSS after | KiB per idle connection | opened in | sampled after | runs ok |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name in servers:
    v = rows.get(name)
    if not v:
        print(f"| {name} | failed | | | | | 0/{runs} |")
        continue
    med = lambda k: statistics.median(x[k] for x in v)
    print(f"| {name} | {med('rss_before_kib'):,.0f} KiB | {med('rss_after_kib'):,.0f} KiB | {med('kib_per_conn'):.2f} "
          f"| {med('open_secs'):.2f} s | {med('sample_after_first_response_secs'):.2f} s | {len(v)}/{runs} |")
print()
print("KiB per idle connection = (VmRSS after - VmRSS before) / connections: user-space memory only "
      "(kernel socket memory is not in RSS). 'sampled after' = how long the oldest connection had been "
      "idle when RSS was read (nanoapi's keep-alive idle timeout is 5 s).")
PY

if (( failures > 0 )); then
    log "idle_rss.sh: $failures measurement(s) failed"
    exit 1
fi
