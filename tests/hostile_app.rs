//! Hostile clients against App responses that do I/O of their own: resets in the middle of a
//! file response and of a server-sent event stream, on both backends. The server must release
//! every connection (the metrics hook counts them) and keep serving.
#![cfg(feature = "app")]

mod common;

use common::{Counters, read_some, reset};

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use nanoapi::app::{App, Event, EventSource, FileResponse, HttpException, State};
use nanoapi::executor::time::sleep;
use nanoapi::http::StatusCode;
use nanoapi::server::Options;

#[derive(Clone)]
struct Big(Arc<PathBuf>);

async fn file(State(big): State<Big>) -> Result<FileResponse, HttpException> {
    FileResponse::open(big.0.as_path())
        .await
        .map_err(|_| HttpException::new(StatusCode::NOT_FOUND, "gone"))
}

async fn events() -> EventSource {
    EventSource::new(stream::iter(0..1000).then(|n| async move {
        sleep(Duration::from_millis(1)).await;
        Event::default().data(format!("event {n} {}", "x".repeat(1000)))
    }))
}

#[test]
fn resets_in_the_middle_of_file_and_event_responses_leave_nothing_behind() {
    common::raise_fd_limit();
    let dir = std::env::temp_dir().join(format!("nanoapi-hostile-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.bin");
    std::fs::write(&path, vec![b'f'; 4 << 20]).unwrap();
    for backend in common::backends() {
        let open = Arc::new(Counters::default());
        let server = App::new()
            .with_state(Big(Arc::new(path.clone())))
            .get("/file", file)
            .get("/events", events)
            .serve(
                Options::default()
                    .port(0)
                    .workers(1)
                    .backend(backend)
                    .metrics(open.clone()),
            )
            .unwrap();
        let addr = server.handle().local_addr();
        for _ in 0..10 {
            for target in ["/file", "/events"] {
                let mut stream = common::connect(addr);
                stream
                    .write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                    .unwrap();
                let mut buf = [0u8; 16 * 1024];
                let n = read_some(&mut stream, &mut buf).unwrap();
                assert!(
                    buf[..n].starts_with(b"HTTP/1.1 200 OK\r\n"),
                    "{backend:?} {target}"
                );
                reset(stream);
            }
        }
        assert_eq!(
            open.wait_all_closed(Duration::from_secs(30)),
            0,
            "{backend:?}: connections left open"
        );
        // Still serving, the whole file.
        let mut stream = common::connect(addr);
        stream
            .write_all(b"GET /file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut all = Vec::new();
        stream.read_to_end(&mut all).unwrap();
        let text_end = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(all.starts_with(b"HTTP/1.1 200 OK\r\n"), "{backend:?}");
        assert_eq!(all.len() - text_end, 4 << 20, "{backend:?}");
        drop(stream);
        server.shutdown_blocking();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
