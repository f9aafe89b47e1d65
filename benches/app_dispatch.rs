//! In-process App dispatch micro-benchmarks (no socket): `cargo bench --bench app_dispatch`.
//!
//! Each iteration builds a `Request` from bytes (through the same parser as the wire) and runs
//! the compiled app on it; `request_only` measures the first half alone, so the App's own cost
//! is the difference. Figures are in `benches/README.md`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use nanoapi::app::{App, AppService, Cookies, HeaderMap, HttpException, Json, Path, Query};
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::Request;
use serde::{Deserialize, Serialize};

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

#[derive(Deserialize, schemars::JsonSchema)]
struct Verbose {
    #[serde(default)]
    verbose: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
struct UserView {
    user_id: u64,
    verbose: bool,
}

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
struct User {
    user_id: u64,
    active: bool,
    name: String,
}

async fn get_user(Path(user_id): Path<u64>, Query(q): Query<Verbose>) -> Json<UserView> {
    Json(UserView {
        user_id,
        verbose: q.verbose,
    })
}

async fn create_user(Json(user): Json<User>) -> Json<User> {
    Json(user)
}

async fn auth(
    headers: HeaderMap,
    cookies: Cookies,
) -> Result<Json<serde_json::Value>, HttpException> {
    if headers.get("authorization").is_some() && cookies.get("session").is_some() {
        Ok(Json(serde_json::json!({ "authorized": true })))
    } else {
        Err(HttpException::new(
            StatusCode::UNAUTHORIZED,
            "Not authenticated",
        ))
    }
}

async fn ok() -> &'static str {
    "ok"
}

fn app() -> AppService {
    let mut app = App::new()
        .get("/users/{user_id}", get_user)
        .post("/users", create_user)
        .get("/auth", auth)
        .get_static(
            "/plaintext",
            Response::text(StatusCode::OK, "Hello, World!"),
        );
    for i in 0..64 {
        app = app.get(&format!("/route/{i}/exact"), ok);
    }
    app.build().unwrap()
}

fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &'static str) -> Request {
    Request::from_parts(method, target, headers, body).unwrap()
}

fn bench(bencher: divan::Bencher, make: fn() -> Request) {
    let app = app();
    bencher.bench_local(|| {
        let mut req = make();
        let resp = run(app.handle(&mut req));
        assert_eq!(resp.status(), StatusCode::OK);
        resp
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
