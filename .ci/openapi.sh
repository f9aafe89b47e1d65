#!/usr/bin/env bash
# The OpenAPI checks that need tools from outside cargo, each installed here when missing
# (pip, npm, apt), so a fresh machine runs them:
#   1. openapi-spec-validator validates the checked-in snapshots (the test app's and hello's),
#      and the documents the live servers serve are those snapshots;
#   2. schemathesis fuzzes the live test app from its own /openapi.json: no server error, no
#      response outside its documented status, media type, headers or schema;
#   3. headless Chromium opens the test app's /docs with Swagger UI served from a local copy
#      of swagger-ui-dist and must show the app's operations; it also takes a screenshot.
# BLESS=1 rewrites hello's snapshot from the live server instead of comparing (the test app's
# snapshot is blessed by `NANOAPI_BLESS=1 cargo test --test openapi`).
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

step() { echo "--- openapi: $* ($((SECONDS))s)"; }

step "tools"
python3 -m pip --version >/dev/null
if ! command -v openapi-spec-validator >/dev/null || ! command -v schemathesis >/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check \
        'openapi-spec-validator==0.9.0' 'schemathesis==4.32.5'
fi
bash .ci/chromium.sh
npm install --silent --no-audit --no-fund --prefix "$work/npm" swagger-ui-dist@5.35.0 >/dev/null
assets="$work/npm/node_modules/swagger-ui-dist"

step "build"
cargo build --locked --example openapi_app --example hello
bin="$target/debug/examples"

# serve NAME PORT [ENV=VALUE...]: starts an example on PORT and waits until it answers.
serve() {
    local name=$1 port=$2
    shift 2
    env NANOAPI_PORT="$port" NANOAPI_WORKERS=1 "$@" "$bin/$name" >"$work/$name-$port.log" 2>&1 &
    pids+=($!)
    if ! curl -sf -o /dev/null --retry-connrefused --retry 30 --retry-delay 1 \
        "http://127.0.0.1:$port/openapi.json"; then
        echo "$name did not start:"
        cat "$work/$name-$port.log"
        exit 1
    fi
}

# same_json A B: whether two files hold the same JSON document (key order included).
same_json() {
    python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p), object_pairs_hook=list) for p in sys.argv[1:])
sys.exit(0 if a == b else f"{sys.argv[1]} differs from {sys.argv[2]}")
PY
}

step "validate the snapshots and the served documents"
serve openapi_app 18411
serve hello 18412
curl -sf http://127.0.0.1:18411/openapi.json >"$work/openapi_app.json"
curl -sf http://127.0.0.1:18412/openapi.json >"$work/hello.json"
if [ "${BLESS:-}" = 1 ]; then
    python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), indent=2))' \
        "$work/hello.json" >tests/snapshots/hello.json
fi
openapi-spec-validator tests/snapshots/openapi_app.json tests/snapshots/hello.json \
    "$work/openapi_app.json" "$work/hello.json"
same_json "$work/openapi_app.json" tests/snapshots/openapi_app.json
same_json "$work/hello.json" tests/snapshots/hello.json

step "schemathesis"
# Credentials for the header key and bearer schemes let fuzzing reach past the refusals; the
# other schemes are fuzzed without valid credentials (their refusals are documented). One
# worker: with two threads, hypothesis's ast.parse on CPython 3.11 once failed with "AST
# constructor recursion depth mismatch" (CPython gh-106905, a thread-safety bug) in CI.
(cd "$work" && schemathesis run http://127.0.0.1:18411/openapi.json \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples 40 --workers 1 --seed 1 --request-timeout 5 \
    -H 'X-API-Key: good-key' -H 'Authorization: Bearer good-key')

step "chromium"
serve openapi_app 18413 OPENAPI_APP_ASSETS="$assets"
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --user-data-dir="$work/chrome" --window-size=1280,1600 --virtual-time-budget=15000)
"${chrome[@]}" --dump-dom http://127.0.0.1:18413/docs >"$work/docs.html" 2>"$work/chrome.log"
# Swagger UI rendered the document: the title, the tags, and the operations' paths and ids.
for expect in 'nanoapi test app' 'opblock-tag-section' '/users/{user_id}/items/{item}' \
    '/secure/oauth2' 'operations-items-items__item_id__get' 'operations-default-upload_file'; do
    if ! grep -qF "$expect" "$work/docs.html"; then
        echo "/docs does not show '$expect'; the DOM was:"
        head -c 4000 "$work/docs.html"
        exit 1
    fi
done
"${chrome[@]}" --screenshot="$work/docs.png" http://127.0.0.1:18413/docs 2>>"$work/chrome.log"
python3 - "$work/docs.png" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n' and len(data) > 20000, f'bad screenshot ({len(data)} bytes)'
PY
if [ -n "${SCREENSHOT:-}" ]; then cp "$work/docs.png" "$SCREENSHOT"; fi
step "ok"
