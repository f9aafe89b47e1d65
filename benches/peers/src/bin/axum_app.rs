//! Reference App server: axum 0.8 on a tokio current-thread runtime (one thread), serving the
//! route set of nanoapi's `examples/bench_app/routes.rs` with the same semantics.
//!
//! Usage: `axum_app [addr]` (default `127.0.0.1:8080`).
//!
//! - `GET /` → `{"ok":true}`
//! - `GET /users/{user_id}?verbose=bool` → `{"user_id":N,"verbose":b}` (`Path<u64>`,
//!   `Query<Verbose>`)
//! - `POST /users` with a JSON body `{"user_id","active","name"}` → the same object, parsed
//!   into a typed struct (`Json<User>`) and serialized back
//! - `GET /auth` → `{"authorized":true}` when an `Authorization` header and a `session` cookie
//!   (axum-extra's `CookieJar`) are both present, else 401 `{"detail":"Not authenticated"}`
//! - `GET /plaintext` → `Hello, World!`; `GET /json` → `{"message":"Hello, World!"}`
//!
//! Served by `axum::serve` (hyper-util's connection builder) with TCP_NODELAY on every
//! accepted socket. Prints `listening <addr>` on stdout once bound (flushed), and nothing
//! else except errors on stderr.

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Verbose {
    #[serde(default)]
    verbose: bool,
}

#[derive(Serialize)]
struct UserView {
    user_id: u64,
    verbose: bool,
}

#[derive(Serialize, Deserialize)]
struct User {
    user_id: u64,
    active: bool,
    name: String,
}

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

async fn root() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "ok": true }))
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

async fn auth(headers: HeaderMap, cookies: CookieJar) -> Response {
    if headers.get("authorization").is_some() && cookies.get("session").is_some() {
        Json(serde_json::json!({ "authorized": true })).into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({ "detail": "Not authenticated" })),
        )
            .into_response()
    }
}

async fn plaintext() -> &'static str {
    "Hello, World!"
}

async fn json() -> Json<Message> {
    Json(Message {
        message: "Hello, World!",
    })
}

fn main() {
    let addr = nanoapi_bench_peers::addr_arg();
    let rt = nanoapi_bench_peers::current_thread_runtime();
    rt.block_on(async move {
        let app = Router::new()
            .route("/", get(root))
            .route("/users/{user_id}", get(get_user))
            .route("/users", post(create_user))
            .route("/auth", get(auth))
            .route("/plaintext", get(plaintext))
            .route("/json", get(json));
        let listener = nanoapi_bench_peers::bind_tokio("axum_app", &addr).await;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        if let Err(e) = axum::serve(listener, app).await {
            nanoapi_bench_peers::fail("axum_app", "serve", e);
        }
    });
}
