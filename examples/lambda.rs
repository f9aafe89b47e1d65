//! One dispatcher, two deployments: on AWS Lambda (a custom runtime: this binary is the
//! `bootstrap`) it serves the Runtime API's invocations; anywhere else (a container, a laptop)
//! it serves HTTP on `NANOAPI_HOST:NANOAPI_PORT` (or `PORT`) with `/healthz` and `/readyz`.
//!
//! Routes: `GET /` greets, `POST /echo` answers the body, `GET /events` streams three
//! server-sent events (live with a function URL in `RESPONSE_STREAM` mode and
//! `NANOAPI_LAMBDA_STREAMING=1`). Build: `cargo build --release --example lambda`.

use nanoapi::http::{Method, Response, StatusCode};
use nanoapi::server::{Request, ResponseWriter};
use nanoapi::serverless::health::{Probes, Readiness};
use nanoapi::serverless::lambda;

async fn dispatch(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    match (req.method(), req.path()) {
        (Method::Get | Method::Head, b"/") => {
            w.send(Response::text(StatusCode::OK, "Hello from nanoapi"))
                .await
        }
        (Method::Post, b"/echo") => {
            let body = req.read_to_end().await?;
            let content_type = req
                .header("content-type")
                .unwrap_or(b"application/octet-stream");
            let mut response =
                Response::new(StatusCode::OK).header("content-type", content_type.to_vec())?;
            response.set_body(body);
            w.send(response).await
        }
        (Method::Get, b"/events") => {
            let head = Response::new(StatusCode::OK).header("content-type", "text/event-stream")?;
            let mut events = w.start_chunked(head).await?;
            for n in 1..=3 {
                events.send(format!("data: {n}\n\n").into()).await?;
            }
            events.finish().await
        }
        _ => {
            w.send(Response::text(StatusCode::NOT_FOUND, "not found"))
                .await
        }
    }
}

fn main() -> std::io::Result<()> {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        lambda::run((), dispatch)
    } else {
        // `nanoapi::run` drains on SIGTERM by closing its listeners; to also fail `/readyz`
        // while draining, serve with `nanoapi::serve` and `Readiness::attach` the handle.
        nanoapi::run((), Probes::new(dispatch, Readiness::new()))
    }
}
