//! One App, two deployments: on AWS Lambda (a custom runtime: this binary is the `bootstrap`)
//! it serves the Runtime API's invocations; anywhere else (a container, a laptop) it serves
//! HTTP on `NANOAPI_HOST:NANOAPI_PORT` (or `PORT`) with `/healthz` and `/readyz` probes.
//!
//! Routes: `GET /` greets, `POST /echo` answers the JSON body, `GET /events` streams three
//! server-sent events (live with a function URL in `RESPONSE_STREAM` mode and
//! `NANOAPI_LAMBDA_STREAMING=1`). Build: `cargo build --release --example lambda`.

use futures_util::stream;
use nanoapi::app::{App, Event, EventSource, Json};
use nanoapi::serverless::health::{Probes, Readiness};

async fn hello() -> &'static str {
    "Hello from nanoapi"
}

async fn echo(Json(body): Json<serde_json::Value>) -> Json<serde_json::Value> {
    Json(body)
}

async fn events() -> EventSource {
    EventSource::new(stream::iter(
        (1..=3).map(|n| Event::default().data(n.to_string())),
    ))
}

fn app() -> App {
    App::new()
        .title("lambda")
        .get("/", hello)
        .post("/echo", echo)
        .get("/events", events)
}

fn main() -> std::io::Result<()> {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return app().run_lambda();
    }
    let service = app()
        .build()
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidInput, err))?;
    // `nanoapi::run` drains on SIGTERM by closing its listeners; to also fail `/readyz`
    // while draining, serve with `nanoapi::serve` and `Readiness::attach` the handle.
    nanoapi::run((), Probes::new(service, Readiness::new()))
}
