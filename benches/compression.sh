#!/usr/bin/env bash
# Compression benchmark: a 10 KiB JSON response (benches/data/report.json) compressed per
# request by nanoapi's App (`App::compression`, examples/compression.rs; io_uring and poll)
# against actix-web 4's `Compress` and axum 0.8 with tower-http's `CompressionLayer`
# (benches/peers), one server core, one load core (wrk), loopback. Same method as
# benches/http.sh and app.sh (benches/lib.sh): fresh server per run x server x scenario,
# warmup, `wrk -t1 -c64 -d<duration> --latency`, the server's utime and stime.
#
#   bash benches/compression.sh [runs=5] [duration=10]
#
# Scenarios (GET, each with one Accept-Encoding):
#   gzip, br, zstd   /report, compressed per request, at the levels of LEVELS for nanoapi and
#                    axum (COMPRESSION_LEVEL per scenario): `default` gzip 6 / br 4 / zstd 3,
#                    or `actix` gzip 1 / br 3 / zstd 3, the levels actix-http 3 fixes for
#                    actix-web's Compress (it cannot be configured)
#   static-br        /static-report with `gzip, deflate, br` (a browser's field): nanoapi
#                    answers from the static-response cache's variant rendered at start-up; the
#                    peers have no such cache and compress per request
#   static-identity  /static-report without Accept-Encoding: nanoapi's cache, uncompressed
#
# Before measuring, every server's answer to every scenario is decoded (Python's gzip, PyPI's
# brotli and zstandard, in a venv) and compared with report.json; a server that answers
# wrong, or with another coding than asked, is not measured.
#
# Environment knobs (all optional; same meaning as in http.sh):
#   SERVERS="actix axum nanoapi-uring nanoapi-poll"
#   SCENARIOS="gzip br zstd static-br static-identity"
#   CONNECTIONS=64 WARMUP=2 SERVER_CPU=0 LOAD_CPU=1 PORT_BASE=19700
#   QUIET_WAIT=120 QUIET_PCT=10 BUSY_RETRIES=2
#   NO_BUILD=1 RESULTS=path.tsv REPORT_ONLY=path.tsv
#   CHART=path.svg CHART_NOTE="..."  (default benches/charts/compression.svg)
#   LEVELS=default|actix           the levels above
#   VERIFY_ONLY=1                  check the answers, measure nothing
set -euo pipefail

RUNS=${1:-5}
DURATION=${2:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT_BASE=${PORT_BASE:-19700}
SERVERS=${SERVERS:-"actix axum nanoapi-uring nanoapi-poll"}
SCENARIOS=${SCENARIOS:-"gzip br zstd static-br static-identity"}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_PCT=${QUIET_PCT:-10}
BUSY_RETRIES=${BUSY_RETRIES:-2}
LEVELS=${LEVELS:-default}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH_NAME=compression.sh
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
bench_init

# ---- hooks for lib.sh ---------------------------------------------------------
REPORT_TITLE=Compression
REPORT_BASELINES="actix axum"
REPORT_USER_BASELINES="actix axum"
REPORT_NO_P99=""

# scenario_request SCENARIO: PATH ACCEPT-ENCODING (one line; "-" for none)
scenario_request() {
    case $1 in
        gzip|br|zstd) echo "/report $1" ;;
        static-br) echo "/static-report gzip,deflate,br" ;;
        static-identity) echo "/static-report -" ;;
    esac
}
# The level nanoapi and tower-http get for a scenario (that of the coding it asks for).
scenario_level() {
    case $LEVELS:$1 in
        default:gzip) echo 6 ;;
        default:br|default:static-br) echo 4 ;;
        actix:gzip) echo 1 ;;
        *) echo 3 ;;
    esac
}
[[ $LEVELS == default || $LEVELS == actix ]] || die "LEVELS must be default or actix (got '$LEVELS')"
REPORT_LABELS="gzip=GET /report, gzip $(scenario_level gzip);br=GET /report, br $(scenario_level br);zstd=GET /report, zstd 3;static-br=GET /static-report, br (nanoapi: cached variant);static-identity=GET /static-report, uncompressed"

start_server_cmd() {   # start_server_cmd NAME PORT
    local name=$1 port=$2 addr="127.0.0.1:$2"
    case $name in
        actix) taskset -c "$SERVER_CPU" "$ACTIX" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        axum)
            COMPRESSION_LEVEL=$(scenario_level "${BENCH_SCENARIO:-gzip}") \
                taskset -c "$SERVER_CPU" "$AXUM" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        nanoapi-uring|nanoapi-poll)
            COMPRESSION_LEVEL=$(scenario_level "${BENCH_SCENARIO:-gzip}") \
                NANOAPI_HOST=127.0.0.1 NANOAPI_PORT=$port NANOAPI_WORKERS=1 NANOAPI_BACKEND=${name#nanoapi-} \
                taskset -c "$SERVER_CPU" "$NANOAPI" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
    esac
}
server_ready() {   # server_ready NAME PORT
    case $1 in
        actix|axum) server_ready_stdout ;;
        *) server_ready_port "$2" ;;
    esac
}
wrk_args() {   # wrk_args SCENARIO PORT
    local path coding
    read -r path coding < <(scenario_request "$1")
    WRK_ARGS=(-H 'Host: tfb-server' -H 'Accept: application/json' -H 'Connection: keep-alive')
    [[ $coding != - ]] && WRK_ARGS+=(-H "Accept-Encoding: ${coding//,/, }")
    WRK_ARGS+=("http://127.0.0.1:$2$path")
}

# verify_server NAME: start it once per scenario (axum's level follows the scenario), decode
# its answer, stop it. Non-zero if anything is wrong.
verify_server() {
    local name=$1 scenario path coding port rc=0
    for scenario in "${SCENARIO_LIST[@]}"; do
        port=$((PORT_BASE + 600 + RANDOM % 300))
        BENCH_SCENARIO=$scenario
        start_server "$name" "$port" || return 1
        read -r path coding < <(scenario_request "$scenario")
        "$venv/bin/python" - "$name" "$port" "$path" "$coding" benches/data/report.json <<'PY' || rc=1
import gzip, http.client, sys
import brotli, zstandard
name, port, path, coding, report = sys.argv[1:6]
headers = {"Host": "tfb-server", "Accept": "application/json"}
if coding != "-":
    headers["Accept-Encoding"] = coding.replace(",", ", ")
conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
conn.request("GET", path, headers=headers)
resp = conn.getresponse()
body = resp.read()
got = resp.getheader("Content-Encoding")
want = {"-": None, "gzip,deflate,br": "br"}.get(coding, coding)
decode = {
    None: lambda b: b,
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b),
}
expected = open(report, "rb").read()
if resp.status != 200 or got != want or decode.get(got, lambda b: b"")(body) != expected:
    sys.exit(f"{name} {path} [{coding}]: {resp.status}, Content-Encoding {got} (want {want}), {len(body)} bytes")
print(f"  {name:14s} {path:15s} {coding:16s} {resp.status} {got or 'identity':8s} {len(body):6d} bytes", file=sys.stderr)
PY
        stop_server
    done
    return $rc
}

if [[ -n ${REPORT_ONLY:-} ]]; then
    bench_report_only "$REPORT_ONLY"
    exit 0
fi

# ---- build ------------------------------------------------------------------
for s in $SERVERS; do
    case $s in
        actix|axum|nanoapi-uring|nanoapi-poll) ;;
        *) die "unknown server '$s' in SERVERS (known: actix axum nanoapi-uring nanoapi-poll)" ;;
    esac
done
for s in $SCENARIOS; do
    [[ -n $(scenario_request "$s") ]] || die "unknown scenario '$s' in SCENARIOS (known: gzip br zstd static-br static-identity)"
done
# The decoders for the answer check (shared with .ci/compression.sh's venv).
source "$ROOT/.ci/interop.sh"
interop_venv compression 'brotli>=1.1,<2' 'zstandard>=0.22,<1'

PEERS_MANIFEST=benches/peers/Cargo.toml
if [[ -z ${NO_BUILD:-} ]]; then
    log "building peers (actix_compress, axum_compress) and nanoapi's compression example ..."
    # Two builds, each framework with its own feature only (see benches/peers/Cargo.toml).
    cargo build --release --manifest-path "$PEERS_MANIFEST" --features axum --bin axum_compress \
        --message-format=json-render-diagnostics > "$TMP/peers.json" || true
    AXUM=$(artifact axum_compress < "$TMP/peers.json")
    cargo build --release --manifest-path "$PEERS_MANIFEST" --features actix --bin actix_compress \
        --message-format=json-render-diagnostics > "$TMP/peers.json" || true
    ACTIX=$(artifact actix_compress < "$TMP/peers.json")
    cargo build --release --features compression --example compression \
        --message-format=json-render-diagnostics > "$TMP/nanoapi.json" || true
    NANOAPI=$(artifact compression < "$TMP/nanoapi.json")
else
    PEERS_BIN=${CARGO_TARGET_DIR:-benches/peers/target}/release
    ACTIX=$PEERS_BIN/actix_compress
    AXUM=$PEERS_BIN/axum_compress
    NANOAPI=${CARGO_TARGET_DIR:-target}/release/examples/compression
fi
[[ -n $ACTIX && -x $ACTIX ]] || { log "*** actix_compress not available: skipping actix."; drop_server actix; }
[[ -n $AXUM && -x $AXUM ]] || { log "*** axum_compress not available: skipping axum."; drop_server axum; }
[[ -n $NANOAPI && -x $NANOAPI ]] || { log "*** the compression example is not available."; drop_server nanoapi-uring; drop_server nanoapi-poll; }
read -r -a SERVER_LIST <<< "$SERVERS"
read -r -a SCENARIO_LIST <<< "$SCENARIOS"
(( ${#SERVER_LIST[@]} > 0 )) || die "no server left to benchmark"

bench_check_measure_report compression
