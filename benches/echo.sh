#!/usr/bin/env bash
# Echo benchmark: tokio current-thread echo vs nanoapi executor echo_server
# (io_uring and poll backends), one server core, one load core, loopback.
# PROTOCOL=ws: the WebSocket echo instead, tokio-tungstenite and axum's WebSocket vs
# nanoapi's ws_echo example (the bare runtime with feature `ws`), binary messages of SIZE
# bytes, one masked frame each way per message.
#
#   bash benches/echo.sh [runs=5] [duration=10]
#   PROTOCOL=ws SIZE=16384 bash benches/echo.sh 3 10
#
# Per run, each server is started pinned to SERVER_CPU and loaded by echo_load
# pinned to LOAD_CPU; the servers are interleaved within each run (order
# rotated per run) so machine noise spreads evenly. echo_load samples the
# server's utime/stime (/proc/<pid>/stat fields 14 and 15) exactly when the
# measured window opens and closes, so the warmup is excluded. The medians
# of the runs are printed as a markdown table on stdout; progress and
# per-run figures go to stderr.
#
# Environment knobs (all optional):
#   PROTOCOL=tcp                                tcp (raw bytes) or ws (WebSocket messages)
#   SERVERS="tokio nanoapi-uring nanoapi-poll"  which servers to run (ws: "tungstenite
#                                               axum-ws nanoapi-uring nanoapi-poll"); the
#                                               first is the baseline of the "vs" columns
#   CONNECTIONS=64 SIZE=32 WARMUP=2             load shape
#   SERVER_CPU=0 LOAD_CPU=1                     pinning
#   PORT_BASE=19100                             first port (one port per server start)
#   NO_BUILD=1                                  use already-built binaries
#   RESULTS=path.tsv                            also keep the raw per-run figures
#   CHART=path.svg                              the chart of the medians (default
#                                               benches/charts/echo.svg, ws: ws-echo-<SIZE>.svg;
#                                               CHART= for none)
#   CHART_NOTE="..."                            the chart's line under the title
#
# CLK_TCK is 100 here (10 ms): use duration >= 10 s for real numbers; the
# user/system split is sampled by the kernel tick, so user ns/msg is the
# noisiest column (longer runs tighten it).
set -euo pipefail

RUNS=${1:-5}
DURATION=${2:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
SIZE=${SIZE:-32}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT_BASE=${PORT_BASE:-19100}
PROTOCOL=${PROTOCOL:-tcp}
case $PROTOCOL in
    tcp) SERVERS=${SERVERS:-"tokio nanoapi-uring nanoapi-poll"} ;;
    ws)  SERVERS=${SERVERS:-"tungstenite axum-ws nanoapi-uring nanoapi-poll"}
         CHART=${CHART-benches/charts/ws-echo-$SIZE.svg} ;;
    *)   echo "echo.sh: PROTOCOL must be tcp or ws (got '$PROTOCOL')" >&2; exit 1 ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BENCH_NAME=echo.sh
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "runs must be a positive integer (got '$RUNS')"
[[ $DURATION =~ ^[0-9]+([.][0-9]+)?$ ]] || die "duration must be a number of seconds (got '$DURATION')"
command -v taskset >/dev/null || die "taskset not found (util-linux)"
command -v python3 >/dev/null || die "python3 not found"
(( $(nproc) >= 2 )) || die "needs at least 2 CPUs (server and load are pinned to different cores)"
CLK_TCK=$(getconf CLK_TCK)

bench_setup


# ---- build ------------------------------------------------------------------
want_nanoapi=0
for s in $SERVERS; do
    case $PROTOCOL:$s in
        tcp:tokio|ws:tungstenite|ws:axum-ws) ;;
        *:nanoapi-uring|*:nanoapi-poll) want_nanoapi=1 ;;
        *) die "unknown server '$s' in SERVERS for PROTOCOL=$PROTOCOL (tcp: tokio nanoapi-uring nanoapi-poll; ws: tungstenite axum-ws nanoapi-uring nanoapi-poll)" ;;
    esac
done
# The nanoapi side: the executor's echo_server, or the runtime's ws_echo example.
if [[ $PROTOCOL == ws ]]; then
    NANOAPI_EXAMPLE=ws_echo
    NANOAPI_BUILD=(--example ws_echo --no-default-features --features ws)
    LOAD_WS=(--ws /ws)
else
    NANOAPI_EXAMPLE=echo_server
    NANOAPI_BUILD=(-p nanoapi-executor --example echo_server)
    LOAD_WS=()
fi

PEERS_MANIFEST=benches/peers/Cargo.toml
if [[ -z ${NO_BUILD:-} ]]; then
    log "building peers (tokio_echo, tungstenite_echo, axum_ws_echo, echo_load) ..."
    cargo build --release --manifest-path "$PEERS_MANIFEST" --features axum --bins \
        --message-format=json-render-diagnostics > "$TMP/peers.json" || die "building benches/peers failed"
    TOKIO_ECHO=$(artifact tokio_echo < "$TMP/peers.json")
    TUNGSTENITE_ECHO=$(artifact tungstenite_echo < "$TMP/peers.json")
    AXUM_WS_ECHO=$(artifact axum_ws_echo < "$TMP/peers.json")
    ECHO_LOAD=$(artifact echo_load < "$TMP/peers.json")
else
    PEERS_BIN=${CARGO_TARGET_DIR:-benches/peers/target}/release
    TOKIO_ECHO=$PEERS_BIN/tokio_echo
    TUNGSTENITE_ECHO=$PEERS_BIN/tungstenite_echo
    AXUM_WS_ECHO=$PEERS_BIN/axum_ws_echo
    ECHO_LOAD=$PEERS_BIN/echo_load
fi
for bin in "$TOKIO_ECHO" "$TUNGSTENITE_ECHO" "$AXUM_WS_ECHO" "$ECHO_LOAD"; do
    [[ -x $bin ]] || die "peer binary not found: '$bin'"
done

NANOAPI_ECHO=""
if (( want_nanoapi )); then
    if [[ -z ${NO_BUILD:-} ]]; then
        log "building nanoapi example $NANOAPI_EXAMPLE ..."
        if cargo build --release "${NANOAPI_BUILD[@]}" \
            --message-format=json-render-diagnostics > "$TMP/nanoapi.json"; then
            NANOAPI_ECHO=$(artifact "$NANOAPI_EXAMPLE" < "$TMP/nanoapi.json")
        fi
    else
        NANOAPI_ECHO=${CARGO_TARGET_DIR:-target}/release/examples/$NANOAPI_EXAMPLE
    fi
    if [[ -z $NANOAPI_ECHO || ! -x $NANOAPI_ECHO ]]; then
        log ""
        log "*** nanoapi example $NANOAPI_EXAMPLE not available (cargo build --release ${NANOAPI_BUILD[*]}"
        log "*** failed or produced no binary): skipping nanoapi-uring and nanoapi-poll."
        log ""
        NANOAPI_ECHO=""
        kept=""
        for s in $SERVERS; do [[ $s != nanoapi-* ]] && kept="$kept $s"; done
        SERVERS=$kept
    fi
fi
read -r -a SERVER_LIST <<< "$SERVERS"
(( ${#SERVER_LIST[@]} > 0 )) || die "no server left to benchmark"

# ---- one measurement -----------------------------------------------------------
# start_server_cmd NAME PORT (the hook of lib.sh's start_server): pinned to SERVER_CPU.
# ws_echo (nanoapi::run) takes its address and one worker from the environment.
start_server_cmd() {
    local name=$1 addr="127.0.0.1:$2"
    case $name in
        tokio)         taskset -c "$SERVER_CPU" "$TOKIO_ECHO" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        tungstenite)   taskset -c "$SERVER_CPU" "$TUNGSTENITE_ECHO" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        axum-ws)       taskset -c "$SERVER_CPU" "$AXUM_WS_ECHO" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        nanoapi-uring|nanoapi-poll)
            NANOAPI_HOST=127.0.0.1 NANOAPI_PORT=$2 NANOAPI_WORKERS=1 NANOAPI_BACKEND=${name#nanoapi-} \
                taskset -c "$SERVER_CPU" "$NANOAPI_ECHO" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
    esac
}
# The peers and echo_server print `listening <addr>` once bound; ws_echo prints nothing.
server_ready() {   # server_ready NAME PORT
    if [[ $PROTOCOL == ws && $1 == nanoapi-* ]]; then server_ready_port "$2"; else server_ready_stdout; fi
}

printf 'server\trun\tmessages\tseconds\tutime_ticks\tstime_ticks\n' > "$TMP/results.tsv"
failures=0
n=${#SERVER_LIST[@]}
log "echo ($PROTOCOL): runs=$RUNS duration=${DURATION}s warmup=${WARMUP}s connections=$CONNECTIONS size=$SIZE server_cpu=$SERVER_CPU load_cpu=$LOAD_CPU servers=${SERVER_LIST[*]}"
for ((run = 1; run <= RUNS; run++)); do
    for ((k = 0; k < n; k++)); do
        idx=$(( (k + run - 1) % n ))      # rotate the order per run
        name=${SERVER_LIST[$idx]}
        port=$(( PORT_BASE + ((run - 1) * n + k) % 800 ))
        if ! start_server "$name" "$port"; then
            failures=$((failures + 1)); continue
        fi
        # Run the load in the background and `wait` for it, so a signal to
        # this script runs the cleanup trap at once.
        taskset -c "$LOAD_CPU" "$ECHO_LOAD" --addr "127.0.0.1:$port" --connections "$CONNECTIONS" \
            --size "$SIZE" --duration-secs "$DURATION" --warmup-secs "$WARMUP" \
            --server-pid "$SERVER_PID" "${LOAD_WS[@]}" > "$TMP/load.out" 2> "$TMP/load.err" &
        LOAD_PID=$!
        if wait "$LOAD_PID"; then
            LOAD_PID=""
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                log "run $run $name: server died during the run"; failures=$((failures + 1))
            else
                python3 - "$name" "$run" "$CLK_TCK" "$TMP/load.out" >> "$TMP/results.tsv" 2> "$TMP/row.err" <<'PY' || { log "run $run $name: bad load output: $(cat "$TMP/load.out" "$TMP/row.err")"; failures=$((failures + 1)); }
import json, sys
name, run, tck = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = json.loads(open(sys.argv[4]).readline())
m, s, u, st = r["messages"], r["seconds"], r["server_utime_ticks"], r["server_stime_ticks"]
cpu = (u + st) / tck
print(f"{name}\t{run}\t{m}\t{s}\t{u}\t{st}")
print(f"run {run} {name:14s} {m / s:12.0f} msgs/s  server cpu {100 * cpu / s:5.1f}%  "
      f"{m / cpu if cpu else float('nan'):12.0f} msgs/cpu-s  {u / tck * 1e9 / m if m else float('nan'):7.1f} user ns/msg",
      file=sys.stderr)
PY
                cat "$TMP/row.err" >&2
            fi
        else
            rc=$?
            LOAD_PID=""
            log "run $run $name: echo_load failed (exit $rc):"
            grep -v '^measure-' "$TMP/load.err" >&2 || true
            failures=$((failures + 1))
        fi
        if [[ -s $TMP/server.err ]]; then
            log "run $run $name: server stderr:"; head -n 20 "$TMP/server.err" >&2
        fi
        stop_server
    done
done

[[ -n ${RESULTS:-} ]] && cp "$TMP/results.tsv" "$RESULTS" && log "raw results: $RESULTS"

# ---- report -------------------------------------------------------------------------
python3 - "$TMP/results.tsv" "$CLK_TCK" "$RUNS" "$DURATION" "$CONNECTIONS" "$SIZE" "$TMP/medians.tsv" "$PROTOCOL" "${SERVER_LIST[@]}" <<'PY'
import csv, statistics, sys
path, tck, runs, dur, conns, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
medians_path, protocol = sys.argv[7], sys.argv[8]
servers = sys.argv[9:]
# The "vs" columns compare with the first server of the list that ran.
rows = {}
with open(path) as f:
    for r in csv.DictReader(f, delimiter="\t"):
        m, s = int(r["messages"]), float(r["seconds"])
        u, st = int(r["utime_ticks"]), int(r["stime_ticks"])
        cpu = (u + st) / tck
        rows.setdefault(r["server"], []).append({
            "mps": m / s,
            "cpu_pct": 100 * cpu / s,
            "per_cpu": m / cpu if cpu else float("nan"),
            "user_ns": u / tck * 1e9 / m if m else float("nan"),
            "sys_ns": st / tck * 1e9 / m if m else float("nan"),
        })
med = {k: {f: statistics.median(x[f] for x in v) for f in v[0]} for k, v in rows.items()}
base_name = next((s for s in servers if s in med), None)
base = med.get(base_name)
def ratio(name, field):
    if not base or name not in med:
        return "–"
    return f"{med[name][field] / base[field]:.2f}"
model = "unknown CPU"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip(); break
except OSError:
    pass
kind = "WebSocket echo" if protocol == "ws" else "Echo"
headline = (f"{kind}, {conns} connections x {size} B ping-pong, {dur} s measured per run, "
            f"median of {runs} run(s); server on 1 core, load on the other ({model}, loopback).")
print(headline)
print()
# The same medians for benches/chart.py: a failed server is an empty cell.
with open(medians_path, "w") as f:
    f.write(f"# {headline}\n")
    f.write("load\tserver\tmsgs per server CPU-s (higher is better)\tuser ns/msg (lower is better)\n")
    for name in servers:
        x = med.get(name)
        f.write(f"{kind.lower()}, {conns} x {size} B\t{name}\t" + (f"{x['per_cpu']:.0f}\t{x['user_ns']:.1f}\n" if x else "\t\n"))
print(f"| server | msgs/s | server CPU | msgs per server CPU-s | vs {base_name} | user ns/msg | vs {base_name} | sys ns/msg | runs ok |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name in servers:
    if name not in med:
        print(f"| {name} | failed | | | | | | | 0/{runs} |")
        continue
    x = med[name]
    print(f"| {name} | {x['mps']:,.0f} | {x['cpu_pct']:.0f}% | {x['per_cpu']:,.0f} | {ratio(name, 'per_cpu')} "
          f"| {x['user_ns']:.0f} | {ratio(name, 'user_ns')} | {x['sys_ns']:.0f} | {len(rows[name])}/{runs} |")
print()
print(f"msgs per server CPU-s = messages / (utime+stime delta); vs {base_name} = server / {base_name} "
      "(higher is better for msgs per CPU-s, lower is better for user ns/msg). "
      "A server CPU well under 100% means the load generator, not the server, was the limit.")
PY
bench_chart "$TMP/medians.tsv"

if (( failures > 0 )); then
    log "echo.sh: $failures measurement(s) failed"
    exit 1
fi
