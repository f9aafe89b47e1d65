//! Compression with the App (feature `compression`): responses compressed as the request's
//! `Accept-Encoding` allows, event streams flushed event by event, compressed request bodies
//! decoded. For `.ci/compression.sh` (Python's decoders and curl against it) and
//! `benches/compression.sh`.
//!
//! - `GET /report`: a 10 KiB JSON document (the benchmark's response);
//! - `GET /events`: an event stream, `data: first` at once, `data: second` three seconds later;
//! - `POST /echo`: the request body, decoded from its `Content-Encoding`.
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

/// 10 KiB of JSON: a page of order lines, as an API returns them.
fn report() -> Bytes {
    let lines: Vec<String> = (0..128)
        .map(|i| {
            format!(
                r#"{{"id":{i},"sku":"SKU-{:05}","name":"Item number {i}","quantity":{},"price":"{}.99"}}"#,
                i * 7919 % 100_000,
                i % 9 + 1,
                i % 50 + 3
            )
        })
        .collect();
    Bytes::from(format!(r#"{{"page":1,"lines":[{}]}}"#, lines.join(",")))
}

fn main() -> std::io::Result<()> {
    let body = report();
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
    App::new()
        .add_middleware(Compression::new())
        .get("/report", report)
        .get("/events", events)
        .route(Route::post("/echo", echo).add_middleware(RequestDecompression::new()))
        .run()
}
