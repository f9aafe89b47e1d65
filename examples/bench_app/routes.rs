//! The routes of nanoapi's reference App benchmark, shared by the `bench_app` example (served
//! over HTTP) and `benches/app_dispatch.rs` (dispatched in-process), so both measure the same
//! handlers.

use nanoapi::app::{App, Cookies, HeaderMap, HttpException, Json, Path, Query};
use nanoapi::http::{Response, StatusCode};
use serde::{Deserialize, Serialize};

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

#[derive(Serialize, schemars::JsonSchema)]
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

async fn json() -> Json<Message> {
    Json(Message {
        message: "Hello, World!",
    })
}

/// The benchmark's app.
pub fn app() -> App {
    App::new()
        .title("bench_app")
        .get("/", root)
        .get("/users/{user_id}", get_user)
        .post("/users", create_user)
        .get("/auth", auth)
        .get_static(
            "/plaintext",
            Response::text(StatusCode::OK, "Hello, World!"),
        )
        .get("/json", json)
}
