//! Logs reach one place, the other way round: with a `tracing` subscriber installed
//! (`tracing_subscriber::fmt().init()`, as the README shows), the runtime's `log` records arrive
//! beside the overlay's `tracing` events, each once.
#![cfg(feature = "app")]

use std::io::Write;
use std::sync::Mutex;

use nanoapi::app::{AccessLog, App};

/// Everything the subscriber wrote.
static OUTPUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Output;

impl Write for Output {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        OUTPUT.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn lines_with(needle: &str) -> Vec<String> {
    let output = OUTPUT.lock().unwrap();
    String::from_utf8_lossy(&output)
        .lines()
        .filter(|line| line.contains(needle))
        .map(str::to_owned)
        .collect()
}

#[test]
fn overlay_events_and_runtime_records_reach_one_subscriber() {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(|| Output)
        .init();
    let client = App::new()
        .add_middleware(AccessLog::new())
        .get("/hello", || async { "hi" })
        .test_client();

    assert_eq!(client.get("/hello").send().text(), "hi");
    let access = lines_with("nanoapi::access");
    assert_eq!(access.len(), 1, "{access:?}");
    assert!(access[0].contains("path=/hello"), "{access:?}");

    let refused = client.raw("GET /hello HTTP/9.9\r\n\r\n");
    assert_eq!(refused[0].status(), 505);
    let runtime = lines_with("bad request");
    assert_eq!(runtime.len(), 1, "{runtime:?}");
    assert!(runtime[0].contains("nanoapi::server"), "{runtime:?}");
}
