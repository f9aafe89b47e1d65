//! Compression with the App (feature `compression`): responses compressed as the request's
//! `Accept-Encoding` allows, event streams flushed event by event, compressed request bodies
//! decoded. For `.ci/compression.sh` (Python's decoders and curl against it) and
//! `benches/compression.sh`.
//!
//! - `GET /report`: a 10 KiB JSON document (the benchmark's response), compressed per request;
//! - `GET /static-report`: the same document as a static route, its compressed variants
//!   rendered once at start-up and served from the runtime's static-response cache;
//! - `GET /events`: an event stream, `data: first` at once, `data: second` three seconds later;
//! - `POST /echo`: the request body, decoded from its `Content-Encoding`.
//!
//! The levels are the defaults (gzip 6, br 4, zstd 3), or all `COMPRESSION_LEVEL` when set
//! (the benchmark sets the level of the coding each run asks for, as for axum's peer).
//!
//! ```sh
//! cargo run --release --features compression --example compression
//! curl --compressed -v http://127.0.0.1:8080/report
//! ```

use std::time::Duration;

use bytes::Bytes;
use nanoapi::app::{App, Event, EventSource, RequestDecompression, Route};
use nanoapi::executor::time::sleep;
use nanoapi::http::coding::Compression;
use nanoapi::http::{Response, StatusCode};

/// 10 KiB of JSON, a page of order lines as an API returns them; the compression benchmark's
/// peers send the same bytes.
fn report_body() -> Bytes {
    Bytes::from_static(include_bytes!("../benches/data/report.json"))
}

fn main() -> std::io::Result<()> {
    let body = report_body();
    let report = move || {
        let body = body.clone();
        async move { Response::json_bytes(StatusCode::OK, body) }
    };
    let events = || async {
        let stream = futures_util::stream::unfold(0, |sent| async move {
            match sent {
                0 => Some((Event::default().data("first"), 1)),
                1 => {
                    sleep(Duration::from_secs(3)).await;
                    Some((Event::default().data("second"), 2))
                }
                _ => None,
            }
        });
        EventSource::new(stream).without_keep_alive()
    };
    let echo = |body: Bytes| async move { body };
    let fixed = Response::json_bytes(StatusCode::OK, report_body());
    let mut compression = Compression::new();
    if let Ok(level) = std::env::var("COMPRESSION_LEVEL") {
        let level: u32 = level
            .parse()
            .expect("COMPRESSION_LEVEL: a level from 1 to 9");
        compression = compression
            .gzip_level(level)
            .brotli_level(level)
            .zstd_level(level as i32);
    }
    App::new()
        .compression(compression)
        .get("/report", report)
        .get_static("/static-report", fixed)
        .get("/events", events)
        .route(Route::post("/echo", echo).add_middleware(RequestDecompression::new()))
        .run()
}
