//! The parity suite's app (`parity/README.md`) as a plain dispatcher on the bare runtime: the
//! reference every other consumer is compared with. Prints `PORT <n>` and serves until
//! SIGINT or SIGTERM, then drains. `NANOAPI_PORT` (default 0) and `NANOAPI_BACKEND` apply.
//!
//! `cargo run --example parity_raw --no-default-features`

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use nanoapi::executor::time::timeout;
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Options, Request, ResponseWriter, ShutdownSignal, serve};

/// `/stream?id=K` waits for the event `/release?id=K` raises.
#[derive(Default)]
struct Ctx {
    releases: Mutex<HashMap<Vec<u8>, ShutdownSignal>>,
}

impl Ctx {
    fn release_event(&self, key: &[u8]) -> ShutdownSignal {
        let mut releases = self.releases.lock().unwrap_or_else(|p| p.into_inner());
        releases.entry(key.to_vec()).or_default().clone()
    }
}

/// The `id` parameter of the query.
fn query_id(req: &Request) -> &[u8] {
    let query = req.query().unwrap_or_default();
    query
        .split(|&b| b == b'&')
        .find_map(|part| part.strip_prefix(b"id="))
        .unwrap_or_default()
}

/// A long header value, the same in every parity consumer.
fn csp() -> String {
    let mut csp = String::from("default-src 'self'");
    for i in 0..20 {
        csp.push_str(&format!("; img-src https://cdn{i}.example.com"));
    }
    csp
}

async fn dispatch(ctx: &Ctx, req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    let response = match req.path() {
        b"/hello" => Response::text(StatusCode::OK, "hello"),
        b"/echo" => {
            let method = bytes::Bytes::copy_from_slice(req.method_bytes());
            let body = req.read_to_end().await?;
            Response::bytes(StatusCode::OK, "application/octet-stream", body)
                .header("X-Method", method)?
        }
        b"/headers" => Response::text(StatusCode::OK, "headers")
            .header("X-Extra", "yes")?
            .header("Set-Cookie", "a=1; Path=/")?
            .header("Set-Cookie", "b=2; Path=/")?
            .header("Content-Security-Policy", csp())?,
        b"/chunked" => {
            let head = Response::text(StatusCode::OK, "")
                .header("Set-Cookie", "s=1")?
                .header("Set-Cookie", "t=2")?;
            let mut body = w.start_chunked(head).await?;
            for part in ["one", "two", "three"] {
                body.send(part.into()).await?;
            }
            return body.finish().await;
        }
        b"/stream" => {
            let release = ctx.release_event(query_id(req));
            let mut body = w.start_chunked(Response::text(StatusCode::OK, "")).await?;
            body.send("first\n".into()).await?;
            let released = timeout(Duration::from_secs(10), release.raised()).await;
            let next = if released.is_ok() {
                "second\n"
            } else {
                "timeout\n"
            };
            body.send(next.into()).await?;
            body.send("third\n".into()).await?;
            return body.finish().await;
        }
        b"/release" => {
            ctx.release_event(query_id(req)).raise();
            Response::text(StatusCode::OK, "released")
        }
        b"/nocontent" => Response::empty(StatusCode::NO_CONTENT),
        b"/error" => return Err(nanoapi::Error::new("the dispatcher failed on purpose")),
        _ => Response::text(StatusCode::NOT_FOUND, "not found"),
    };
    w.send(response).await
}

fn main() -> std::io::Result<()> {
    let mut options = Options::from_env()?;
    if std::env::var_os("NANOAPI_PORT").is_none() {
        options.port = 0;
    }
    let options =
        options.static_response("GET", "/static", Response::text(StatusCode::OK, "static"));
    let server = serve(options, Ctx::default(), dispatch)?;
    println!("PORT {}", server.local_addr().port());
    // Serve until SIGTERM (the parity suite's way to stop a consumer), then drain.
    server.wait_for_signal()
}
