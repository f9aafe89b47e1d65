//! Reference App server: actix-web 4 with one worker (`HttpServer::workers(1)` on the
//! `actix_rt` system of `#[actix_web::main]`), serving the route set of nanoapi's
//! `examples/bench_app/routes.rs` with the same semantics.
//!
//! Usage: `actix_app [addr]` (default `127.0.0.1:8080`).
//!
//! - `GET /` → `{"ok":true}`
//! - `GET /users/{user_id}?verbose=bool` → `{"user_id":N,"verbose":b}` (`web::Path<u64>`,
//!   `web::Query<Verbose>`)
//! - `POST /users` with a JSON body `{"user_id","active","name"}` → the same object, parsed
//!   into a typed struct (`web::Json<User>`) and serialized back
//! - `GET /auth` → `{"authorized":true}` when an `Authorization` header and a `session` cookie
//!   (`HttpRequest::cookie`) are both present, else 401 `{"detail":"Not authenticated"}`
//! - `GET /plaintext` → `Hello, World!`; `GET /json` → `{"message":"Hello, World!"}`
//!
//! TCP_NODELAY on every accepted socket (`HttpServer::tcp_nodelay(true)`: actix-web 4.18
//! keeps the OS default otherwise). The accept loop runs on its own thread (actix-server's
//! design); it is idle once the connections are open, and the CPU figures are process-wide. Prints
//! `listening <addr>` on stdout once bound (flushed), and nothing else except errors on
//! stderr.

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
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

async fn root() -> web::Json<serde_json::Value> {
    web::Json(serde_json::json!({ "ok": true }))
}

async fn get_user(user_id: web::Path<u64>, q: web::Query<Verbose>) -> web::Json<UserView> {
    web::Json(UserView {
        user_id: user_id.into_inner(),
        verbose: q.verbose,
    })
}

async fn create_user(user: web::Json<User>) -> web::Json<User> {
    web::Json(user.into_inner())
}

async fn auth(req: HttpRequest) -> HttpResponse {
    if req.headers().get("authorization").is_some() && req.cookie("session").is_some() {
        HttpResponse::Ok().json(serde_json::json!({ "authorized": true }))
    } else {
        HttpResponse::build(StatusCode::UNAUTHORIZED)
            .json(serde_json::json!({ "detail": "Not authenticated" }))
    }
}

async fn plaintext() -> &'static str {
    "Hello, World!"
}

async fn json() -> web::Json<Message> {
    web::Json(Message {
        message: "Hello, World!",
    })
}

#[actix_web::main]
async fn main() {
    let addr = nanoapi_bench_peers::addr_arg();
    let server = HttpServer::new(|| {
        App::new()
            .route("/", web::get().to(root))
            .route("/users/{user_id}", web::get().to(get_user))
            .route("/users", web::post().to(create_user))
            .route("/auth", web::get().to(auth))
            .route("/plaintext", web::get().to(plaintext))
            .route("/json", web::get().to(json))
    })
    .workers(1)
    .tcp_nodelay(true);
    let server = server
        .bind(&addr)
        .unwrap_or_else(|e| nanoapi_bench_peers::fail("actix_app", &format!("bind {addr}"), e));
    nanoapi_bench_peers::announce(server.addrs().first().map_or(addr, |a| a.to_string()));
    if let Err(e) = server.disable_signals().run().await {
        nanoapi_bench_peers::fail("actix_app", "run", e);
    }
}
