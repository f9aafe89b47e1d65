#!/usr/bin/env bash
# App benchmark: nanoapi's bench_app example (the App overlay; io_uring and poll backends)
# against actix-web 4 (one worker) and axum 0.8 (tokio current-thread) serving the same
# routes with the same semantics, one server core, one load core (wrk), loopback.
#
#   bash benches/app.sh [runs=5] [duration=10]
#
# Same method as benches/http.sh (the shared machinery is benches/lib.sh): for every run,
# every server (order rotated per run) and every scenario, a fresh server process pinned
# to SERVER_CPU with one worker, WARMUP seconds of the same wrk load, then the measured
# `wrk -t1 -c64 -d<duration> --latency` pinned to LOAD_CPU, with the server's utime and
# stime (/proc/<pid>/stat, whole process) read right before and right after. A run fails
# if wrk reports any non-2xx response or any socket error.
#
# Before measuring anything, every server is started once and sent each scenario's exact
# request (same method, path, headers and body as wrk sends), and its status and body are
# checked byte for byte, together with two answers that must differ (no `verbose` → false,
# /auth without the cookie → 401). A server that answers wrong is not measured.
#
# Scenarios:
#   app-user   GET /users/42?verbose=true → {"user_id":42,"verbose":true}
#              (typed path u64 + typed query bool)
#   app-post   POST /users, JSON body {"user_id":42,"active":true,"name":"Ada Lovelace"}
#              → the same object (typed body parsed and serialized; benches/app_post.lua)
#   app-auth   GET /auth with an Authorization header and a Cookie header carrying
#              `session` among two cookies → {"authorized":true}
#   plaintext, json  (not in the default set) the App's /plaintext and /json routes
# Every request also carries TechEmpower's Host, Accept and Connection headers.
#
# Servers:
#   actix              benches/peers/src/bin/actix_app.rs
#   axum               benches/peers/src/bin/axum_app.rs
#   nanoapi-app-uring  examples/bench_app/, NANOAPI_BACKEND=uring, NANOAPI_WORKERS=1
#   nanoapi-app-poll   examples/bench_app/, NANOAPI_BACKEND=poll, NANOAPI_WORKERS=1
#
# Environment knobs (all optional; same meaning as in http.sh):
#   SERVERS="actix axum nanoapi-app-uring nanoapi-app-poll"
#   SCENARIOS="app-user app-post app-auth"
#   CONNECTIONS=64 WARMUP=2 SERVER_CPU=0 LOAD_CPU=1 PORT_BASE=19500
#   QUIET_WAIT=120 QUIET_PCT=10 BUSY_RETRIES=2
#   NO_BUILD=1 RESULTS=path.tsv REPORT_ONLY=path.tsv
#   CHART=path.svg CHART_NOTE="..."  the chart of the medians (default benches/charts/app.svg)
#   VERIFY_ONLY=1                  check every server's answers, measure nothing
set -euo pipefail

RUNS=${1:-5}
DURATION=${2:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT_BASE=${PORT_BASE:-19500}
SERVERS=${SERVERS:-"actix axum nanoapi-app-uring nanoapi-app-poll"}
SCENARIOS=${SCENARIOS:-"app-user app-post app-auth"}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_PCT=${QUIET_PCT:-10}
BUSY_RETRIES=${BUSY_RETRIES:-2}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH_NAME=app.sh
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
bench_init
POST_LUA=$ROOT/benches/app_post.lua
[[ -f $POST_LUA ]] || die "missing $POST_LUA"

# The request of each scenario, shared by wrk and the answer check.
ACCEPT_JSON='application/json,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'
ACCEPT_TEXT='text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'
AUTH_HEADER='Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl'
COOKIE_HEADER='Cookie: theme=dark; session=3f2b8c1e9d7a4b6f'
POST_BODY='{"user_id":42,"active":true,"name":"Ada Lovelace"}'

# ---- hooks for lib.sh ---------------------------------------------------------
REPORT_TITLE=App
REPORT_BASELINES="actix axum"
REPORT_USER_BASELINES="actix axum"
REPORT_LABELS="app-user=GET /users/42?verbose=true;app-post=POST /users (JSON);app-auth=GET /auth (header + cookie);plaintext=GET /plaintext;json=GET /json"
REPORT_NO_P99=""

start_server_cmd() {   # start_server_cmd NAME PORT
    local name=$1 port=$2 addr="127.0.0.1:$2"
    case $name in
        actix) taskset -c "$SERVER_CPU" "$ACTIX" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        axum)  taskset -c "$SERVER_CPU" "$AXUM" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        nanoapi-app-uring|nanoapi-app-poll)
            NANOAPI_HOST=127.0.0.1 NANOAPI_PORT=$port NANOAPI_WORKERS=1 NANOAPI_BACKEND=${name#nanoapi-app-} \
                taskset -c "$SERVER_CPU" "$NANOAPI_APP" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
    esac
}
server_ready() {   # server_ready NAME PORT
    case $1 in
        actix|axum) server_ready_stdout ;;
        *) server_ready_port "$2" ;;
    esac
}
# scenario_request SCENARIO: METHOD PATH ACCEPT (one line)
scenario_request() {
    case $1 in
        app-user) echo "GET /users/42?verbose=true $ACCEPT_JSON" ;;
        app-post) echo "POST /users $ACCEPT_JSON" ;;
        app-auth) echo "GET /auth $ACCEPT_JSON" ;;
        plaintext) echo "GET /plaintext $ACCEPT_TEXT" ;;
        json) echo "GET /json $ACCEPT_JSON" ;;
    esac
}
wrk_args() {   # wrk_args SCENARIO PORT
    local scenario=$1 port=$2 method path accept
    read -r method path accept < <(scenario_request "$scenario")
    WRK_ARGS=(-H 'Host: tfb-server' -H "Accept: $accept" -H 'Connection: keep-alive')
    case $scenario in
        app-post) WRK_ARGS+=(-s "$POST_LUA") ;;
        app-auth) WRK_ARGS+=(-H "$AUTH_HEADER" -H "$COOKIE_HEADER") ;;
    esac
    WRK_ARGS+=("http://127.0.0.1:$port$path")
}

# verify_server NAME: start it once, check every scenario's answer (and two answers that
# must differ), stop it. Non-zero if anything is wrong.
verify_server() {
    local name=$1 port=$((PORT_BASE + 600 + RANDOM % 300)) rc=0
    start_server "$name" "$port" || return 1
    python3 - "$name" "$port" "$ACCEPT_JSON" "$ACCEPT_TEXT" "$AUTH_HEADER" "$COOKIE_HEADER" "$POST_BODY" \
        "${SCENARIO_LIST[@]}" <<'PY' || rc=1
import socket, sys
name, port, accept_json, accept_text, auth_h, cookie_h, post_body = sys.argv[1:8]
scenarios = sys.argv[8:]
base = ["Host: tfb-server", "Connection: keep-alive"]
def req(method, path, accept, extra=(), body=None):
    lines = [f"{method} {path} HTTP/1.1", *base, f"Accept: {accept}", *extra]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n" + (body or "")).encode()
# scenario -> (request bytes, expected status, expected body); the same requests as wrk's.
checks = {
    "app-user": (req("GET", "/users/42?verbose=true", accept_json), 200, b'{"user_id":42,"verbose":true}'),
    "app-post": (req("POST", "/users", accept_json, body=post_body), 200, post_body.encode()),
    "app-auth": (req("GET", "/auth", accept_json, [auth_h, cookie_h]), 200, b'{"authorized":true}'),
    "plaintext": (req("GET", "/plaintext", accept_text), 200, b"Hello, World!"),
    "json": (req("GET", "/json", accept_json), 200, b'{"message":"Hello, World!"}'),
}
# Answers that must differ from the measured ones (the semantics, not just the route).
extra = [
    ("GET /users/42 (no query)", req("GET", "/users/42", accept_json), 200, b'{"user_id":42,"verbose":false}'),
    ("GET /auth without the session cookie", req("GET", "/auth", accept_json, [auth_h, "Cookie: theme=dark"]), 401, None),
    ("GET /auth without Authorization", req("GET", "/auth", accept_json, [cookie_h]), 401, None),
    ("GET /", req("GET", "/", accept_json), 200, b'{"ok":true}'),
]
todo = [(s, *checks[s]) for s in scenarios] + extra
s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
buf = b""
def response():
    global buf
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise SystemExit(f"{name}: connection closed before a response head")
        buf += d
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    if "content-length" not in hdrs:
        raise SystemExit(f"{name}: response without Content-Length: {lines}")
    n = int(hdrs["content-length"])
    while len(buf) < n:
        d = s.recv(65536)
        if not d:
            raise SystemExit(f"{name}: connection closed mid-body")
        buf += d
    body, buf = buf[:n], buf[n:]
    return status, hdrs, body
bad = 0
for what, raw, want_status, want_body in todo:
    s.sendall(raw)   # all on one keep-alive connection, as wrk does
    status, hdrs, body = response()
    ok = status == want_status and (want_body is None or body == want_body)
    if not ok:
        bad += 1
        print(f"{name}: {what}: got {status} {body!r}, want {want_status} {want_body!r}", file=sys.stderr)
    else:
        print(f"  {name:17s} {what:40s} {status} {body.decode()[:60]}  ({hdrs.get('content-type', '-')})", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
    if [[ -s $TMP/server.err ]]; then
        log "$name: server stderr:"; head -n 20 "$TMP/server.err" >&2
    fi
    stop_server
    return $rc
}

if [[ -n ${REPORT_ONLY:-} ]]; then
    bench_report_only "$REPORT_ONLY"
    exit 0
fi

# ---- build ------------------------------------------------------------------
want_nanoapi=0
for s in $SERVERS; do
    case $s in
        actix|axum) ;;
        nanoapi-app-uring|nanoapi-app-poll) want_nanoapi=1 ;;
        *) die "unknown server '$s' in SERVERS (known: actix axum nanoapi-app-uring nanoapi-app-poll)" ;;
    esac
done
for s in $SCENARIOS; do
    case $s in
        app-user|app-post|app-auth|plaintext|json) ;;
        *) die "unknown scenario '$s' in SCENARIOS (known: app-user app-post app-auth plaintext json)" ;;
    esac
done

PEERS_MANIFEST=benches/peers/Cargo.toml
ACTIX=""; AXUM=""
if [[ -z ${NO_BUILD:-} ]]; then
    log "building peers (actix_app, axum_app) ..."
    # Two builds, each framework with its own feature only (see benches/peers/Cargo.toml).
    if cargo build --release --manifest-path "$PEERS_MANIFEST" --features axum --bin axum_app \
        --message-format=json-render-diagnostics > "$TMP/peers.json"; then
        AXUM=$(artifact axum_app < "$TMP/peers.json")
    fi
    if cargo build --release --manifest-path "$PEERS_MANIFEST" --features actix --bin actix_app \
        --message-format=json-render-diagnostics > "$TMP/peers.json"; then
        ACTIX=$(artifact actix_app < "$TMP/peers.json")
    fi
else
    PEERS_BIN=${CARGO_TARGET_DIR:-benches/peers/target}/release
    ACTIX=$PEERS_BIN/actix_app
    AXUM=$PEERS_BIN/axum_app
fi
[[ -n $ACTIX && -x $ACTIX ]] || { log "*** actix_app not available (build failed?): skipping actix."; drop_server actix; }
[[ -n $AXUM && -x $AXUM ]] || { log "*** axum_app not available (build failed?): skipping axum."; drop_server axum; }

NANOAPI_APP=""
if (( want_nanoapi )); then
    if [[ -z ${NO_BUILD:-} ]]; then
        log "building nanoapi example bench_app ..."
        if cargo build --release --example bench_app \
            --message-format=json-render-diagnostics > "$TMP/nanoapi.json"; then
            NANOAPI_APP=$(artifact bench_app < "$TMP/nanoapi.json")
        fi
    else
        NANOAPI_APP=${CARGO_TARGET_DIR:-target}/release/examples/bench_app
    fi
    if [[ -z $NANOAPI_APP || ! -x $NANOAPI_APP ]]; then
        log "*** nanoapi bench_app example not available: skipping nanoapi-app-uring and nanoapi-app-poll."
        NANOAPI_APP=""
        drop_server nanoapi-app-uring; drop_server nanoapi-app-poll
    fi
fi
read -r -a SERVER_LIST <<< "$SERVERS"
read -r -a SCENARIO_LIST <<< "$SCENARIOS"
(( ${#SERVER_LIST[@]} > 0 )) || die "no server left to benchmark"

bench_check_measure_report app
