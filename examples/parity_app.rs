//! The parity suite's app (`parity/README.md`) as `App` routes: the overlay must put the same
//! bytes on the wire as the bare runtime's `parity_raw`. Prints `PORT <n>` and serves until SIGINT
//! or SIGTERM, then drains. `NANOAPI_PORT` (default 0) and `NANOAPI_BACKEND` apply.
//!
//! `cargo run --example parity_app`

use std::collections::{HashMap, VecDeque};
use std::future::{Future, ready};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use nanoapi::app::{App, HttpException, Query, Route, State};
use nanoapi::executor::time::timeout;
use nanoapi::http::{Body, Response, StatusCode};
use nanoapi::server::{Options, ShutdownSignal};
use serde::Deserialize;

/// `/stream?id=K` waits for the event `/release?id=K` raises.
#[derive(Clone, Default)]
struct Releases(Arc<Mutex<HashMap<String, ShutdownSignal>>>);

impl Releases {
    fn event(&self, key: &str) -> ShutdownSignal {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.to_owned()).or_default().clone()
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Id {
    #[serde(default)]
    id: String,
}

/// A body whose chunks are futures, produced in order: each becomes one chunk on the wire.
struct Chunks(VecDeque<Pin<Box<dyn Future<Output = Bytes>>>>);

impl futures_core::Stream for Chunks {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(next) = self.0.front_mut() else {
            return Poll::Ready(None);
        };
        let chunk = std::task::ready!(next.as_mut().poll(cx));
        self.0.pop_front();
        Poll::Ready(Some(Ok(chunk)))
    }
}

fn streamed(head: Response, chunks: Vec<Pin<Box<dyn Future<Output = Bytes>>>>) -> Response {
    let (status, headers, _) = head.into_parts();
    Response::from_parts(status, headers, Body::stream(Chunks(chunks.into())))
}

fn text_chunk(text: &'static str) -> Pin<Box<dyn Future<Output = Bytes>>> {
    Box::pin(ready(Bytes::from_static(text.as_bytes())))
}

/// A long header value, the same in every parity consumer.
fn csp() -> String {
    let mut csp = String::from("default-src 'self'");
    for i in 0..20 {
        csp.push_str(&format!("; img-src https://cdn{i}.example.com"));
    }
    csp
}

async fn hello() -> &'static str {
    "hello"
}

async fn echo(head: nanoapi::app::RequestHead, body: Bytes) -> Result<Response, HttpException> {
    Response::bytes(StatusCode::OK, "application/octet-stream", body)
        .header("X-Method", head.method)
        .map_err(|_| HttpException::new(StatusCode::INTERNAL_SERVER_ERROR, "bad method"))
}

async fn headers() -> Result<Response, HttpException> {
    let fail = |_| HttpException::new(StatusCode::INTERNAL_SERVER_ERROR, "header refused");
    Response::text(StatusCode::OK, "headers")
        .header("X-Extra", "yes")
        .and_then(|r| r.header("Set-Cookie", "a=1; Path=/"))
        .and_then(|r| r.header("Set-Cookie", "b=2; Path=/"))
        .and_then(|r| r.header("Content-Security-Policy", csp()))
        .map_err(fail)
}

async fn chunked() -> Result<Response, HttpException> {
    let head = Response::text(StatusCode::OK, "")
        .header("Set-Cookie", "s=1")
        .and_then(|r| r.header("Set-Cookie", "t=2"))
        .map_err(|_| HttpException::new(StatusCode::INTERNAL_SERVER_ERROR, "header refused"))?;
    Ok(streamed(
        head,
        vec![text_chunk("one"), text_chunk("two"), text_chunk("three")],
    ))
}

async fn stream(State(releases): State<Releases>, Query(q): Query<Id>) -> Response {
    let release = releases.event(&q.id);
    let second = Box::pin(async move {
        let released = timeout(Duration::from_secs(10), release.raised()).await;
        Bytes::from_static(if released.is_ok() {
            b"second\n"
        } else {
            b"timeout\n"
        })
    });
    streamed(
        Response::text(StatusCode::OK, ""),
        vec![text_chunk("first\n"), second, text_chunk("third\n")],
    )
}

async fn release(State(releases): State<Releases>, Query(q): Query<Id>) -> &'static str {
    releases.event(&q.id).raise();
    "released"
}

async fn no_content() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn error() -> Result<&'static str, HttpException> {
    Err(HttpException::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the handler failed on purpose",
    ))
}

fn app() -> App<Releases> {
    let mut app = App::new()
        .with_state(Releases::default())
        .get("/hello", hello)
        .get("/headers", headers)
        .get("/chunked", chunked)
        .get("/stream", stream)
        .get("/release", release)
        .get("/nocontent", no_content)
        .get("/error", error)
        .get_static("/static", Response::text(StatusCode::OK, "static"));
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        app = app.route(Route::new(method, "/echo", echo));
    }
    app
}

fn main() -> std::io::Result<()> {
    let mut options = Options::from_env()?;
    if std::env::var_os("NANOAPI_PORT").is_none() {
        options.port = 0;
    }
    let server = app().serve(options)?;
    println!("PORT {}", server.handle().local_addr().port());
    // Serve until SIGTERM (the parity suite's way to stop a consumer), then drain.
    server.wait_for_signal()
}
