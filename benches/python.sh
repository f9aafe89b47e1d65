#!/usr/bin/env bash
# Python hosts: nanoapi's package (tuple protocol on io_uring and poll, WSGI), nanoapi's ctypes host
# over the C ABI, granian 2.x (WSGI and RSGI) and uvicorn + uvloop + httptools (raw ASGI), one
# server process tree on one core, wrk on the other, loopback. The apps are in
# benches/python/apps.py: the same two routes for every interface.
#
#   bash benches/python.sh [runs=3] [duration=10]
#   SERVERS="bench-raw c-inline c-pool" SCENARIOS=hello REPORT_BASELINES=bench-raw \
#       REPORT_USER_BASELINES=bench-raw CHART=benches/charts/c-host.svg bash benches/python.sh
#
# The second form measures the C ABI's own cost: ffi/examples/hello.c (linked statically) with
# its callback inline on the worker or on a dispatch thread, beside the runtime's bench_raw
# example (no C ABI at all). They answer hello only.
#
# Scenarios:
#   hello   GET /plaintext -> "Hello, World!" from a Python function
#   echo    POST /echo with a 1 KiB JSON body (benches/python_echo.lua), json.loads + json.dumps
#
# Every server runs one worker process and one Python thread (granian: --workers 1
# --runtime-threads 1 --blocking-threads 1). CPU is summed over the server's whole process
# tree (granian runs its worker in a child process). Tools come from a venv made here
# (target/python-bench-venv): maturin, the package (`pip install ./python`), granian, uvicorn,
# uvloop, httptools. Knobs as in benches/http.sh (SERVERS, SCENARIOS, CONNECTIONS, WARMUP,
# SERVER_CPU, LOAD_CPU, PORT_BASE, QUIET_WAIT, QUIET_PCT, BUSY_RETRIES, RESULTS, REPORT_ONLY,
# CHART, CHART_NOTE, NO_BUILD).
set -euo pipefail

RUNS=${1:-3}
DURATION=${2:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT_BASE=${PORT_BASE:-19600}
SERVERS=${SERVERS:-"nanoapi-py nanoapi-py-poll nanoapi-wsgi ctypes granian-wsgi granian-rsgi uvicorn"}
SCENARIOS=${SCENARIOS:-"hello echo"}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_PCT=${QUIET_PCT:-10}
BUSY_RETRIES=${BUSY_RETRIES:-2}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH_NAME=python.sh
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
bench_init
ECHO_LUA=$ROOT/benches/python_echo.lua

# ---- hooks for lib.sh ---------------------------------------------------------
REPORT_TITLE="Python hosts"
REPORT_BASELINES=${REPORT_BASELINES:-"granian-wsgi uvicorn"}
REPORT_USER_BASELINES=${REPORT_USER_BASELINES:-"granian-wsgi"}
REPORT_LABELS="hello=hello (GET /plaintext);echo=JSON echo (POST 1 KiB)"
REPORT_NO_P99=""

VENV=${VENV:-$ROOT/target/python-bench-venv}
PY=$VENV/bin/python
APPS=$ROOT/benches/python

start_server_cmd() {   # start_server_cmd NAME PORT
    local name=$1 port=$2
    local -a granian=("$VENV/bin/granian" --host 127.0.0.1 --port "$port" --workers 1
        --runtime-threads 1 --blocking-threads 1 --no-ws --log-level warning)
    case $name in
        nanoapi-py|nanoapi-py-poll|nanoapi-wsgi|ctypes)
            NANOAPI_FFI_LIB=$FFI_LIB taskset -c "$SERVER_CPU" "$PY" "$APPS/serve.py" "$name" "$port" \
                > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        granian-wsgi)
            (cd "$APPS" && exec taskset -c "$SERVER_CPU" "${granian[@]}" --interface wsgi apps:wsgi_app \
                > "$TMP/server.out" 2> "$TMP/server.err") & ;;
        granian-rsgi)
            (cd "$APPS" && exec taskset -c "$SERVER_CPU" "${granian[@]}" --interface rsgi apps:rsgi_app \
                > "$TMP/server.out" 2> "$TMP/server.err") & ;;
        c-inline|c-pool)
            taskset -c "$SERVER_CPU" "$C_HELLO" "$port" "${name#c-}" \
                > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        bench-raw)
            NANOAPI_HOST=127.0.0.1 NANOAPI_PORT=$port NANOAPI_WORKERS=1 \
                taskset -c "$SERVER_CPU" "$BENCH_RAW" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        uvicorn)
            (cd "$APPS" && exec taskset -c "$SERVER_CPU" "$VENV/bin/uvicorn" --host 127.0.0.1 --port "$port" \
                --loop uvloop --http httptools --no-access-log --log-level warning apps:asgi_app \
                > "$TMP/server.out" 2> "$TMP/server.err") & ;;
    esac
}
server_ready() {   # server_ready NAME PORT
    server_ready_port "$2"
}
wrk_args() {   # wrk_args SCENARIO PORT
    case $1 in
        hello) WRK_ARGS=(-H 'Connection: keep-alive' "http://127.0.0.1:$2/plaintext") ;;
        echo) WRK_ARGS=(-H 'Connection: keep-alive' -s "$ECHO_LUA" "http://127.0.0.1:$2/echo") ;;
    esac
}

if [[ -n ${REPORT_ONLY:-} ]]; then
    bench_report_only "$REPORT_ONLY"
    exit 0
fi

for s in $SERVERS; do
    case $s in
        nanoapi-py|nanoapi-py-poll|nanoapi-wsgi|ctypes|granian-wsgi|granian-rsgi|uvicorn) ;;
        bench-raw|c-inline|c-pool) ;;
        *) die "unknown server '$s' in SERVERS" ;;
    esac
done
for s in $SCENARIOS; do
    case $s in hello|echo) ;; *) die "unknown scenario '$s' in SCENARIOS (known: hello echo)" ;; esac
done

# ---- build ------------------------------------------------------------------
if [[ -z ${NO_BUILD:-} ]]; then
    [[ -x $PY ]] || python3 -m venv "$VENV"
    log "installing the Python servers into $VENV ..."
    "$PY" -m pip install --quiet --disable-pip-version-check 'maturin>=1.7,<2' 'granian>=2.8,<3' \
        'uvicorn>=0.30' 'uvloop>=0.21' 'httptools>=0.6'
    "$PY" -m pip install --quiet --disable-pip-version-check ./python
    log "building the C library (nanoapi-ffi, release) and bench_raw ..."
    cargo build --release --locked -p nanoapi-ffi --message-format=json-render-diagnostics > "$TMP/ffi.json"
    cargo build --release --locked --example bench_raw --message-format=json-render-diagnostics > "$TMP/raw.json"
fi
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/release
BENCH_RAW=$TARGET/examples/bench_raw
# hello.c linked with the static library (and what it needs from the system), optimised.
C_HELLO=$TMP/c-hello
cc -O2 -I ffi/include -o "$C_HELLO" ffi/examples/hello.c "$TARGET/libnanoapi_ffi.a" \
    -lpthread -ldl -lm -lgcc_s -lrt 2>"$TMP/cc.err" || { log "*** hello.c did not build:"; cat "$TMP/cc.err" >&2; drop_server c-inline; drop_server c-pool; }
FFI_LIB=$TARGET/libnanoapi_ffi.so
[[ -f $FFI_LIB ]] || { log "*** $FFI_LIB missing: skipping the ctypes host."; drop_server ctypes; }
read -r -a SERVER_LIST <<< "$SERVERS"
read -r -a SCENARIO_LIST <<< "$SCENARIOS"

# ---- measure ------------------------------------------------------------------
log "python: runs=$RUNS duration=${DURATION}s warmup=${WARMUP}s connections=$CONNECTIONS servers=${SERVER_LIST[*]} scenarios=${SCENARIO_LIST[*]}"
bench_run_all

[[ -n ${RESULTS:-} ]] && cp "$TMP/results.tsv" "$RESULTS" && log "raw results: $RESULTS"

report "$TMP/results.tsv"

if (( FAILURES > 0 )); then
    log "python.sh: $FAILURES measurement(s) failed"
    exit 1
fi
