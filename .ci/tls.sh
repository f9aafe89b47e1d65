#!/usr/bin/env bash
# TLS and HTTP/2 interop (features `tls`, `http2`), on both backends: `bench_raw` built with
# both and started with NANOAPI_TLS_CERT/NANOAPI_TLS_KEY (an OpenSSL-made self-signed
# certificate) is asked by curl (libcurl on OpenSSL and nghttp2) over TLS 1.3 and 1.2, for
# HTTP/1.1 and for HTTP/2 by ALPN, then given new certificate files and SIGHUP: curl trusting
# only the new certificate must get through, curl trusting only the old one must not. Then the
# same binary without certificates is asked for HTTP/2 in cleartext with prior knowledge, and
# for HTTP/1.1 on the same port. Python's httpx (in a venv made here) asks for HTTP/2 over TLS.
set -euo pipefail
cd "$(dirname "$0")/.."

source .ci/interop.sh
interop_venv tls 'httpx[http2]>=0.27,<1'
for tool in curl openssl; do
    command -v "$tool" >/dev/null || apt-get install -y --no-install-recommends "$tool" >/dev/null
done

cargo build --release --locked -p nanoapi --features tls,http2 --example bench_raw
dir=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT

# certificate NAME: a self-signed P-256 certificate for localhost, as NAME.pem and NAME.key.
certificate() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost \
        -keyout "$dir/$1.key" -out "$dir/$1.pem" 2>/dev/null
}

# fetch CA ARGS...: GET /plaintext over HTTPS trusting only CA; prints the body.
fetch() {
    local ca=$1
    shift
    curl -sS --max-time 5 --cacert "$dir/$ca.pem" --resolve "localhost:$port:127.0.0.1" "$@" \
        "https://localhost:$port/plaintext"
}

fail() {
    echo "tls interop on $backend: $*: FAILED"
    cat "$dir/server.log"
    exit 1
}

port=18800
for backend in uring poll; do
    port=$((port + 1))
    certificate first
    certificate second
    cp "$dir/first.pem" "$dir/cert.pem"
    cp "$dir/first.key" "$dir/key.pem"
    NANOAPI_TLS_CERT=$dir/cert.pem NANOAPI_TLS_KEY=$dir/key.pem NANOAPI_BACKEND=$backend \
        NANOAPI_PORT=$port NANOAPI_WORKERS=1 "$target/release/examples/bench_raw" \
        >"$dir/server.log" 2>&1 &
    server=$!
    for _ in $(seq 100); do
        grep -q "listening on https://" "$dir/server.log" && break
        kill -0 "$server" 2>/dev/null || fail "the server exited"
        sleep 0.1
    done
    [ "$(fetch first --tlsv1.3)" = "Hello, World!" ] || fail "TLS 1.3"
    [ "$(fetch first --tlsv1.2 --tls-max 1.2)" = "Hello, World!" ] || fail "TLS 1.2"
    alpn=$(fetch first --http1.1 -v -o /dev/null 2>&1 | grep -i "ALPN: server accepted" || true)
    [[ "$alpn" == *"http/1.1"* ]] || fail "ALPN http/1.1 (curl said: '$alpn')"
    alpn=$(fetch first --http2 -v -o /dev/null 2>&1 | grep -i "ALPN: server accepted" || true)
    [[ "$alpn" == *"h2"* ]] || fail "ALPN h2 (curl said: '$alpn')"
    [ "$(fetch first --http2 -w '%{http_version}' -o /dev/null)" = "2" ] || fail "HTTP/2 over TLS"
    # Python's httpx (h2 and httpcore: another HTTP/2 and HPACK implementation than curl's).
    "$venv/bin/python" - "https://localhost:$port/plaintext" "$dir/first.pem" <<'PY' || fail "httpx over HTTP/2"
import sys, httpx
with httpx.Client(http2=True, verify=sys.argv[2]) as client:
    for _ in range(3):
        response = client.get(sys.argv[1])
        assert response.http_version == "HTTP/2", response.http_version
        assert response.text == "Hello, World!", response.text
PY
    # Plain HTTP to the TLS port gets no HTTP answer.
    if curl -sS --max-time 5 "http://127.0.0.1:$port/plaintext" >/dev/null 2>&1; then
        fail "plain HTTP was answered"
    fi

    cp "$dir/second.pem" "$dir/cert.pem"
    cp "$dir/second.key" "$dir/key.pem"
    kill -HUP "$server"
    for _ in $(seq 100); do
        grep -q "TLS certificates reloaded" "$dir/server.log" && break
        sleep 0.1
    done
    grep -q "TLS certificates reloaded" "$dir/server.log" || fail "no reload on SIGHUP"
    [ "$(fetch second)" = "Hello, World!" ] || fail "the new certificate after SIGHUP"
    if fetch first >/dev/null 2>&1; then
        fail "the old certificate still served after SIGHUP"
    fi

    kill -TERM "$server"
    wait "$server" || fail "exit status $? after SIGTERM"
    server=

    port=$((port + 1))
    NANOAPI_BACKEND=$backend NANOAPI_PORT=$port NANOAPI_WORKERS=1 \
        "$target/release/examples/bench_raw" >"$dir/server.log" 2>&1 &
    server=$!
    for _ in $(seq 100); do
        grep -q "listening on http://" "$dir/server.log" && break
        sleep 0.1
    done
    h2c=$(curl -sS --max-time 5 --http2-prior-knowledge -w ' %{http_version}' "http://127.0.0.1:$port/plaintext")
    [ "$h2c" = "Hello, World! 2" ] || fail "HTTP/2 with prior knowledge (got '$h2c')"
    h1=$(curl -sS --max-time 5 --http1.1 -w ' %{http_version}' "http://127.0.0.1:$port/plaintext")
    [ "$h1" = "Hello, World! 1.1" ] || fail "HTTP/1.1 beside it (got '$h1')"
    kill -TERM "$server"
    wait "$server" || fail "exit status $? after SIGTERM"
    server=
    echo "tls and http2 interop (curl: TLS 1.3, 1.2, ALPN h2 and http/1.1, reload on SIGHUP, h2c prior knowledge; httpx: h2) on $backend: ok"
done
