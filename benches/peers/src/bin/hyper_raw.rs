//! Reference HTTP server: hyper 1.x on a tokio current-thread runtime (one thread).
//!
//! Usage: `hyper_raw [addr]` (default `127.0.0.1:8080`).
//!
//! TechEmpower's two raw routes: `GET /plaintext` → `Hello, World!` (`text/plain`) and
//! `GET /json` → `{"message":"Hello, World!"}` serialized per request with serde_json
//! (`application/json`); anything else → 404. Every response carries `server: hyper`;
//! hyper adds `date` itself. Connections are served by `http1::Builder` with
//! `pipeline_flush(true)`, as in the TechEmpower hyper entry. TCP_NODELAY on.
//! Prints `listening <addr>` on stdout once bound (flushed), and nothing else
//! except errors on stderr.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, SERVER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

static PLAINTEXT: &[u8] = b"Hello, World!";

fn respond(content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let len = body.len();
    let mut res = Response::new(Full::new(body));
    let h = res.headers_mut();
    h.insert(SERVER, HeaderValue::from_static("hyper"));
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CONTENT_LENGTH, HeaderValue::from(len));
    res
}

async fn route(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match req.uri().path() {
        "/plaintext" => respond("text/plain", Bytes::from_static(PLAINTEXT)),
        "/json" => {
            let body = serde_json::to_vec(&Message {
                message: "Hello, World!",
            })
            .expect("serialize");
            respond("application/json", Bytes::from(body))
        }
        _ => {
            let mut res = respond("text/plain", Bytes::from_static(b"Not Found"));
            *res.status_mut() = StatusCode::NOT_FOUND;
            res
        }
    })
}

fn main() {
    let addr = nanoapi_bench_peers::addr_arg();
    let rt = nanoapi_bench_peers::current_thread_runtime();
    rt.block_on(async move {
        let listener = nanoapi_bench_peers::bind_tokio("hyper_raw", &addr).await;
        let mut http = http1::Builder::new();
        http.pipeline_flush(true);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    // EMFILE and friends: report and keep accepting.
                    eprintln!("hyper_raw: accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let conn = http.serve_connection(TokioIo::new(stream), service_fn(route));
            tokio::task::spawn(async move {
                // Client resets at the end of a wrk run are expected: ignore errors.
                let _ = conn.await;
            });
        }
    });
}
