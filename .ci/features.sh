#!/usr/bin/env bash
# Lints and tests the feature sets the default build does not: `http-compat` (conversions to
# and from the `http` crate; its lint covers every target, its tests are the ones that
# exercise it: the middleware suite's compat module and the compat doc tests), and the bare
# runtime (`--no-default-features`: every target must build and lint without the overlay), and
# `tokio` (tokio inside handlers and tasks: its own tests on both layers, and the descriptor
# audit with the background tokio runtime started), and the App without `validation` (no
# schemars: every target lints, the library's tests and the serde-only suite pass), and `ws`
# (WebSocket for the runtime: with the bare runtime too, its unit tests and its socket suite
# on both backends) and `ws-deflate` (permessage-deflate: its unit tests, the Autobahn-style
# section 12-13 suite, the App's WebSocket routes with and without it), and the content codings (`compression`: the App and runtime suites on
# both backends, the bomb alone in its binary; the runtime alone with one coding), and `tls`
# (HTTPS with rustls: its unit tests and its socket suite on both backends, with and without
# the overlay), and `http2` (cleartext with prior knowledge, and ALPN with `tls`). The
# overlay's suites for these features run in one build with all of them on; each feature is
# also built (checked or linted) on its own.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=http-compat,tokio,macros,ws-deflate,compression,tls,http2

cargo clippy --workspace --all-targets --locked --features "$ALL" -- -D warnings
# The suites of the overlay's optional features, in one build with every feature on (each
# feature's own build is linted or checked below, so none comes to depend on another).
cargo test --locked -p nanoapi --features "$ALL" --lib -- coding static_cache
cargo test --locked -p nanoapi --features "$ALL" --test app_middleware --test app_ws \
    --test tokio_handlers --test compression --test compression_bomb
cargo test --locked -p nanoapi --features "$ALL" --doc -- compat WebSocketUpgrade coding \
    compression decode_body precompressed static_compression
cargo check --locked -p nanoapi --features http-compat
cargo check --locked -p nanoapi --features tokio
cargo clippy --locked -p nanoapi --features ws --all-targets -- -D warnings
cargo clippy --locked -p nanoapi --no-default-features --all-targets -- -D warnings
cargo clippy --locked -p nanoapi --no-default-features --features ws --all-targets -- -D warnings
cargo test --locked -p nanoapi --no-default-features --features ws --lib -- ws::
cargo test --locked -p nanoapi --no-default-features --features ws --test ws --test ws_conformance --test ws_keepalive --test blocking_ws
cargo test --locked -p nanoapi --no-default-features --features ws --doc -- ws::
cargo test --locked -p nanoapi --no-default-features --features ws-deflate --lib -- ws::
cargo test --locked -p nanoapi --no-default-features --features ws-deflate --test ws_deflate --test ws_conformance
cargo test --locked -p nanoapi --no-default-features --features ws-deflate --doc -- ws::
cargo test --locked -p nanoapi --features ws --test app_ws
cargo clippy --locked -p nanoapi --no-default-features --features app --all-targets -- -D warnings
cargo test --locked -p nanoapi --no-default-features --features app --lib --test app_serde_only --test app_errors
cargo test --locked -p nanoapi-executor --features tokio --test tokio --test fd_leaks
cargo test --locked -p nanoapi-executor --features tokio --doc -- tokio_compat
cargo clippy --locked -p nanoapi --no-default-features --features compression-gzip --all-targets -- -D warnings
# tls and http2 on the bare runtime: linted and tested together (one build), and each alone
# checked (the library only) so that neither comes to depend on the other.
cargo check --locked -p nanoapi --no-default-features --features tls
cargo check --locked -p nanoapi --no-default-features --features http2
cargo clippy --locked -p nanoapi --no-default-features --features tls,http2 --all-targets -- -D warnings
cargo test --locked -p nanoapi --no-default-features --features tls,http2 --lib --test tls --test http2 --test http2_frames
