//! Logs reach one place: with a `log` logger installed (and no tracing subscriber), the
//! overlay's `tracing` events (the access log) arrive beside the runtime's `log` records (a
//! malformed request), and a streamed response's access log has its end.
#![cfg(feature = "app")]

use std::sync::Mutex;

use nanoapi::app::{AccessLog, App, StreamingResponse};

/// Every record, as `target: message`.
static RECORDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{}: {}", record.target(), record.args());
        RECORDS.lock().unwrap().push(line);
    }

    fn flush(&self) {}
}

fn records_with(needle: &str) -> Vec<String> {
    let records = RECORDS.lock().unwrap();
    records
        .iter()
        .filter(|r| r.contains(needle))
        .cloned()
        .collect()
}

async fn ticks() -> StreamingResponse {
    StreamingResponse::new(futures_util::stream::iter(["tick ", "tock"]))
}

#[test]
fn runtime_records_and_overlay_events_reach_the_same_logger() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let client = App::new()
        .add_middleware(AccessLog::new())
        .get("/ticks", ticks)
        .test_client();

    assert_eq!(client.get("/ticks").send().text(), "tick tock");
    let access = records_with("nanoapi::access: request");
    assert_eq!(access.len(), 1, "{access:?}");
    assert!(access[0].contains("path=/ticks"), "{access:?}");
    assert!(access[0].contains("status=200"), "{access:?}");
    let end = records_with("nanoapi::access: response body end");
    assert_eq!(end.len(), 1, "{end:?}");
    assert!(end[0].contains("bytes=9"), "{end:?}");
    assert!(end[0].contains("complete=true"), "{end:?}");

    // The runtime's own record of a request it refused before any handler.
    let refused = client.raw("GET /ticks HTTP/9.9\r\n\r\n");
    assert_eq!(refused[0].status(), 505);
    let runtime = records_with("bad request");
    assert_eq!(runtime.len(), 1, "{runtime:?}");
    assert!(runtime[0].starts_with("nanoapi::server"), "{runtime:?}");
}
