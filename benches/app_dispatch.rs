//! In-process App dispatch micro-benchmarks (no socket): `cargo bench --bench app_dispatch`.
//!
//! Each iteration runs the compiled app on a `Request` built beforehand from bytes (through the
//! same parser as the wire), outside the timed part, as is the drop of the request: the
//! figures are the App's own cost (routing, extraction, the handler, the response built and
//! dropped). `request_only` times the construction alone.
//! Figures are in `benches/README.md`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use nanoapi::app::AppService;
use nanoapi::http::StatusCode;
use nanoapi::server::Request;

fn main() {
    divan::main();
}

/// Polls a future that never waits (the request body is in memory).
fn run<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("in-memory dispatch waited"),
    }
}

/// The `bench_app` example's routes: the same handlers the end-to-end benchmark serves.
#[path = "../examples/bench_app/routes.rs"]
mod routes;

async fn ok() -> &'static str {
    "ok"
}

fn app() -> AppService {
    let mut app = routes::app();
    for i in 0..64 {
        app = app.get(&format!("/route/{i}/exact"), ok);
    }
    app.build().unwrap()
}

fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &'static str) -> Request {
    Request::from_parts(method, target, headers, body).unwrap()
}

/// Times the App's own work on a request, the response's drop included: building the request
/// (through the wire parser) happens before the timed part and dropping it after (divan defers
/// the drop of what the closure returns).
fn bench(bencher: divan::Bencher, make: fn() -> Request) {
    let app = app();
    bencher.with_inputs(make).bench_local_values(|mut req| {
        let resp = run(app.handle(&mut req));
        assert_eq!(resp.status(), StatusCode::OK);
        drop(resp);
        req
    });
}

#[divan::bench]
fn request_only() -> Request {
    request("GET", "/users/42?verbose=true", &[], "")
}

#[divan::bench]
fn static_route(bencher: divan::Bencher) {
    bench(bencher, || request("GET", "/plaintext", &[], ""));
}

#[divan::bench]
fn typed_path_and_query(bencher: divan::Bencher) {
    bench(bencher, || {
        request("GET", "/users/42?verbose=true", &[], "")
    });
}

#[divan::bench]
fn exact_route_of_64(bencher: divan::Bencher) {
    bench(bencher, || request("GET", "/route/63/exact", &[], ""));
}

#[divan::bench]
fn json_body(bencher: divan::Bencher) {
    bench(bencher, || {
        request(
            "POST",
            "/users",
            &[("Content-Type", "application/json")],
            r#"{"user_id":42,"active":true,"name":"Ada Lovelace"}"#,
        )
    });
}

#[divan::bench]
fn auth_header_and_cookie(bencher: divan::Bencher) {
    bench(bencher, || {
        request(
            "GET",
            "/auth",
            &[
                ("Authorization", "Bearer abc"),
                ("Cookie", "session=xyz; theme=dark"),
            ],
            "",
        )
    });
}
