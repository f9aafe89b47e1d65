//! The README's main job: `cargo run --release --example hello`, then open
//! <http://127.0.0.1:8080/>. A small App: a static route, typed path and query parameters, a
//! validated JSON body, and a stream of server-sent events. Options come from the environment
//! (`NANOAPI_HOST`, `NANOAPI_PORT`/`PORT`, `NANOAPI_WORKERS`, `NANOAPI_BACKEND`); Ctrl-C drains
//! and exits.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use nanoapi::app::{App, Event, EventSource, HttpException, Json, LastEventId, Path, Query, Route};
use nanoapi::executor::time::sleep;
use nanoapi::http::{Response, StatusCode};
use serde::{Deserialize, Serialize};

/// Query parameters of `GET /users/{user_id}`.
#[derive(Deserialize, schemars::JsonSchema)]
struct UserQuery {
    /// Include the user's details.
    #[serde(default)]
    verbose: bool,
}

/// A user, as `POST /users` takes it and the user routes return it.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
struct User {
    #[schemars(range(min = 1))]
    user_id: u64,
    #[schemars(length(min = 1, max = 64))]
    name: String,
    #[serde(default)]
    active: bool,
}

async fn read_user(
    Path(user_id): Path<u64>,
    Query(q): Query<UserQuery>,
) -> Result<Json<serde_json::Value>, HttpException> {
    if user_id == 0 {
        return Err(HttpException::new(StatusCode::NOT_FOUND, "User not found"));
    }
    let mut user = serde_json::json!({ "user_id": user_id });
    if q.verbose {
        user["name"] = format!("user {user_id}").into();
    }
    Ok(Json(user))
}

/// Answered with 201: the route's status (`Route::status`).
async fn create_user(Json(user): Json<User>) -> Json<User> {
    Json(user)
}

/// Five server-sent events, one every 200 ms, resuming after the client's `Last-Event-ID`.
async fn events(LastEventId(last): LastEventId) -> EventSource {
    let start = last.and_then(|id| id.parse::<u32>().ok()).unwrap_or(0) + 1;
    let ticks = stream::iter(start..start + 5).then(|n| async move {
        sleep(Duration::from_millis(200)).await;
        Event::default()
            .id(n.to_string())
            .event("tick")
            .data(format!("tick {n}"))
    });
    EventSource::new(ticks)
}

fn app() -> App {
    App::new()
        .title("hello")
        .description("nanoapi's example app")
        .get_static(
            "/",
            Response::json_bytes(StatusCode::OK, r#"{"message":"Hello, World!"}"#.into()),
        )
        .get("/users/{user_id}", read_user)
        .route(Route::post("/users", create_user).status(201))
        .get("/events", events)
}

fn main() -> std::io::Result<()> {
    let options = nanoapi::server::Options::from_env()?;
    eprintln!(
        "hello: serving on http://{}/ (Ctrl-C to stop)",
        options.addr()
    );
    app().run()
}
