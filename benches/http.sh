#!/usr/bin/env bash
# HTTP benchmark: nanoapi's bench_raw example (io_uring and poll backends) against
# hyper 1.x (tokio current-thread) and may_minihttp, TechEmpower's plaintext and JSON
# routes, one server core, one load core (wrk), loopback.
#
#   bash benches/http.sh [runs=5] [duration=10]
#
# For every run, every server (order rotated per run) and every scenario, a fresh
# server process is started pinned to SERVER_CPU with one worker, warmed up for
# WARMUP seconds with the same wrk load, then measured with
# `wrk -t1 -c64 -d<duration> --latency` pinned to LOAD_CPU. The server's utime and
# stime (/proc/<pid>/stat fields 14 and 15, whole process) are read right before
# and right after the measured wrk run. A run fails if wrk reports any non-2xx
# response or any socket error. Medians of the runs are printed as a markdown
# table on stdout; progress and per-run figures go to stderr.
#
# Scenarios:
#   plaintext      GET /plaintext, one request in flight per connection
#   plaintext-p16  GET /plaintext, 16 requests pipelined per write (benches/pipeline.lua)
#   json           GET /json, one request in flight per connection
#   h2             GET /plaintext over HTTP/2 with h2load: CONNECTIONS connections, STREAMS
#                  (default 16) requests in flight on each; over TLS with TLS=1 (ALPN h2),
#                  else cleartext with prior knowledge
#
# Servers: hyper, may_minihttp (benches/peers), nanoapi-uring, nanoapi-poll (examples/bench_raw.rs),
# and uring-bare (benches/peers/src/bin/uring_responder.rs): no HTTP at all, one pre-rendered
# response per "\r\n\r\n" received, on a bare io_uring loop; the limit a real server can
# approach. For json it sends a pre-rendered {"message":"Hello, World!"} (nothing serialized).
#
# Environment knobs (all optional):
#   SERVERS="hyper may_minihttp nanoapi-uring nanoapi-poll uring-bare"
#   SCENARIOS="plaintext plaintext-p16 json"
#   CONNECTIONS=64 DEPTH=16 WARMUP=2
#   SERVER_CPU=0 LOAD_CPU=1
#   PORT_BASE=19300                one port per server start
#   QUIET_WAIT=120                 before each server start, wait up to this many
#                                  seconds for the machine to be idle (other load
#                                  < QUIET_PCT % of one core over 1 s); 0 = don't wait
#   QUIET_PCT=10
#   BUSY_RETRIES=2                 a measurement whose window saw other load above
#                                  2 x QUIET_PCT % of a core is repeated up to this often
#   NO_BUILD=1                     use already-built binaries
#   RESULTS=path.tsv               also keep the raw per-run figures
#   REPORT_ONLY=path.tsv           measure nothing: print the table for raw figures
#                                  kept earlier with RESULTS=
#   CHART=path.svg                 the chart of the medians, drawn with the table
#                                  (default benches/charts/http.svg; CHART= for none)
#   CHART_NOTE="..."               the chart's line under the title (default: when
#                                  measured, and nanoapi's commit)
#   TLS=1                          HTTPS: every server gets a self-signed P-256
#                                  certificate (openssl), nanoapi through its `tls`
#                                  feature (bench_raw built with it, NANOAPI_TLS_CERT/KEY),
#                                  hyper through tokio-rustls (TLS_CERT/KEY); both rustls on
#                                  ring, ALPN http/1.1, tickets. wrk keeps its connections,
#                                  so this prices the records, not the handshakes. Servers
#                                  default to "hyper nanoapi-uring nanoapi-poll" (the others
#                                  have no TLS), the chart to benches/charts/https.svg.
#
# CLK_TCK is 100 here (10 ms ticks): use duration >= 10 s for real numbers. The
# user/system split is sampled by the scheduler tick, so user ns/req is the noisiest
# column.
set -euo pipefail

RUNS=${1:-5}
DURATION=${2:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
DEPTH=${DEPTH:-16}
STREAMS=${STREAMS:-16}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT_BASE=${PORT_BASE:-19300}
TLS=${TLS:-}
if [[ -n $TLS ]]; then
    SERVERS=${SERVERS:-"hyper nanoapi-uring nanoapi-poll"}
    CHART=${CHART-benches/charts/https.svg}
fi
SERVERS=${SERVERS:-"hyper may_minihttp nanoapi-uring nanoapi-poll uring-bare"}
SCENARIOS=${SCENARIOS:-"plaintext plaintext-p16 json"}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_PCT=${QUIET_PCT:-10}
BUSY_RETRIES=${BUSY_RETRIES:-2}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH_NAME=http.sh
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
bench_init
PIPELINE_LUA=$ROOT/benches/pipeline.lua
[[ -f $PIPELINE_LUA ]] || die "missing $PIPELINE_LUA"

# ---- hooks for lib.sh ---------------------------------------------------------
REPORT_TITLE=HTTP
[[ -n $TLS ]] && REPORT_TITLE=HTTPS
SCHEME=http
[[ -n $TLS ]] && SCHEME=https
REPORT_BASELINES="hyper may_minihttp"
REPORT_USER_BASELINES="hyper"
REPORT_LABELS="plaintext=plaintext;plaintext-p16=plaintext, pipelined x$DEPTH;json=json;h2=HTTP/2, $STREAMS streams per connection"
REPORT_NO_P99="plaintext-p16 h2"

start_server_cmd() {   # start_server_cmd NAME PORT
    local name=$1 port=$2 addr="127.0.0.1:$2"
    case $name in
        hyper)         TLS_CERT=${TLS_CERT:-} TLS_KEY=${TLS_KEY:-} \
                           taskset -c "$SERVER_CPU" "$HYPER" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        may_minihttp)  taskset -c "$SERVER_CPU" "$MAY" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        # Its one fixed response is chosen at start: the JSON body for json, else plaintext.
        uring-bare)    taskset -c "$SERVER_CPU" "$URING_BARE" "$addr" "$([[ ${BENCH_SCENARIO:-} == json ]] && echo json || echo plaintext)" \
                           > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        nanoapi-uring|nanoapi-poll)
            NANOAPI_HOST=127.0.0.1 NANOAPI_PORT=$port NANOAPI_WORKERS=1 NANOAPI_BACKEND=${name#nanoapi-} \
                NANOAPI_TLS_CERT=${TLS_CERT:-} NANOAPI_TLS_KEY=${TLS_KEY:-} taskset -c "$SERVER_CPU" "$NANOAPI" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
    esac
}
server_ready() {   # server_ready NAME PORT
    case $1 in
        hyper|may_minihttp|uring-bare) server_ready_stdout ;;
        *) server_ready_port "$2" ;;
    esac
}
wrk_args() {   # wrk_args SCENARIO PORT
    local scenario=$1 port=$2 path=/plaintext
    local -a extra=()
    case $scenario in
        plaintext-p16) extra=(-s "$PIPELINE_LUA") ;;
        json) path=/json ;;
        h2)
            H2LOAD_ARGS=(-m "$STREAMS" -H 'Accept: text/plain' "$SCHEME://127.0.0.1:$port$path")
            return 0 ;;
    esac
    # TechEmpower's request headers.
    local accept='text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'
    [[ $scenario == json ]] && accept='application/json,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'
    WRK_ARGS=(-H 'Host: tfb-server' -H "Accept: $accept" -H 'Connection: keep-alive'
        "${extra[@]}" "$SCHEME://127.0.0.1:$port$path")
    [[ $scenario == plaintext-p16 ]] && WRK_ARGS+=(-- "$DEPTH")
    return 0
}

if [[ -n ${REPORT_ONLY:-} ]]; then
    bench_report_only "$REPORT_ONLY"
    exit 0
fi

# ---- build ------------------------------------------------------------------
want_nanoapi=0
for s in $SERVERS; do
    case $s in
        hyper|may_minihttp|uring-bare) ;;
        nanoapi-uring|nanoapi-poll) want_nanoapi=1 ;;
        *) die "unknown server '$s' in SERVERS (known: hyper may_minihttp nanoapi-uring nanoapi-poll uring-bare)" ;;
    esac
done
for s in $SCENARIOS; do
    case $s in
        plaintext|plaintext-p16|json) ;;
        h2) command -v h2load >/dev/null || die "h2load not found (Debian: apt-get install -y nghttp2-client)" ;;
        *) die "unknown scenario '$s' in SCENARIOS (known: plaintext plaintext-p16 json h2)" ;;
    esac
done

PEERS_MANIFEST=benches/peers/Cargo.toml
HYPER=""; MAY=""; URING_BARE=""
if [[ -z ${NO_BUILD:-} ]]; then
    log "building peers (hyper_raw, may_minihttp_raw, uring_responder) ..."
    cargo build --release --manifest-path "$PEERS_MANIFEST" --bin hyper_raw \
        --message-format=json-render-diagnostics > "$TMP/peers.json" || die "building hyper_raw failed"
    HYPER=$(artifact hyper_raw < "$TMP/peers.json")
    # may_minihttp is optional: if it does not build, run without it.
    if cargo build --release --manifest-path "$PEERS_MANIFEST" --bin may_minihttp_raw \
        --message-format=json-render-diagnostics > "$TMP/may.json"; then
        MAY=$(artifact may_minihttp_raw < "$TMP/may.json")
    fi
    if cargo build --release --manifest-path "$PEERS_MANIFEST" --bin uring_responder \
        --message-format=json-render-diagnostics > "$TMP/uring.json"; then
        URING_BARE=$(artifact uring_responder < "$TMP/uring.json")
    fi
else
    PEERS_BIN=${CARGO_TARGET_DIR:-benches/peers/target}/release
    HYPER=$PEERS_BIN/hyper_raw
    MAY=$PEERS_BIN/may_minihttp_raw
    URING_BARE=$PEERS_BIN/uring_responder
fi
[[ -n $HYPER && -x $HYPER ]] || { log "*** hyper_raw not available: skipping hyper (no 'vs hyper' ratios)."; drop_server hyper; }
[[ -n $MAY && -x $MAY ]] || { log "*** may_minihttp_raw not available (build failed?): skipping may_minihttp."; drop_server may_minihttp; }
[[ -n $URING_BARE && -x $URING_BARE ]] || { log "*** uring_responder not available (build failed?): skipping uring-bare."; drop_server uring-bare; }

NANOAPI=""
if (( want_nanoapi )); then
    if [[ -z ${NO_BUILD:-} ]]; then
        log "building nanoapi example bench_raw ..."
        features=
        [[ -n $TLS ]] && features=tls
        [[ " $SCENARIOS " == *" h2 "* ]] && features=${features:+$features,}http2
        if cargo build --release --example bench_raw ${features:+--features $features} \
            --message-format=json-render-diagnostics > "$TMP/nanoapi.json"; then
            NANOAPI=$(artifact bench_raw < "$TMP/nanoapi.json")
        fi
    else
        NANOAPI=${CARGO_TARGET_DIR:-target}/release/examples/bench_raw
    fi
    if [[ -z $NANOAPI || ! -x $NANOAPI ]]; then
        log "*** nanoapi bench_raw example not available: skipping nanoapi-uring and nanoapi-poll."
        NANOAPI=""
        drop_server nanoapi-uring; drop_server nanoapi-poll
    fi
fi
if [[ -n $TLS ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null || die "openssl could not make a certificate"
    TLS_CERT=$TMP/cert.pem TLS_KEY=$TMP/key.pem
    for s in $SERVERS; do
        case $s in may_minihttp|uring-bare) die "TLS=1: $s has no TLS" ;; esac
    done
fi
read -r -a SERVER_LIST <<< "$SERVERS"
read -r -a SCENARIO_LIST <<< "$SCENARIOS"
(( ${#SERVER_LIST[@]} > 0 )) || die "no server left to benchmark"

# ---- measure ------------------------------------------------------------------
log "http: runs=$RUNS duration=${DURATION}s warmup=${WARMUP}s connections=$CONNECTIONS depth=$DEPTH server_cpu=$SERVER_CPU load_cpu=$LOAD_CPU servers=${SERVER_LIST[*]} scenarios=${SCENARIO_LIST[*]}"
bench_run_all

[[ -n ${RESULTS:-} ]] && cp "$TMP/results.tsv" "$RESULTS" && log "raw results: $RESULTS"

report "$TMP/results.tsv"

if (( FAILURES > 0 )); then
    log "http.sh: $FAILURES measurement(s) failed"
    exit 1
fi
