//! A bounded soak: mixed requests (small answers, bodies read, chunked streams, static
//! responses, dispatcher errors), pipelined on connections that come and go, in rounds. After
//! each round every connection is closed and the process's open descriptors and resident
//! memory are sampled; after the first (warm-up) round neither may grow past a bound.
//!
//! `NANOAPI_SOAK_REQUESTS` sets the requests per backend (default 100,000); the long run in
//! docs/RELIABILITY.md is `NANOAPI_SOAK_REQUESTS=5000000 cargo test --release --test soak --
//! --nocapture`; `NANOAPI_SOAK_RSS_SLACK_KIB` widens the RSS bound (default 16 MiB). One test in this binary, so nothing else opens descriptors meanwhile.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Metrics, Options, Request, ResponseWriter};

#[derive(Default)]
struct Open(AtomicUsize, AtomicUsize);

impl Metrics for Open {
    fn connection_opened(&self, _: Option<SocketAddr>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn connection_closed(&self, _: Option<SocketAddr>) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

async fn dispatch(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    match req.path() {
        b"/stream" => {
            let mut body = w.start_chunked(Response::new(StatusCode::OK)).await?;
            for _ in 0..8 {
                body.send(bytes::Bytes::from_static(&[b's'; 1024])).await?;
            }
            body.finish().await
        }
        b"/error" => Err(nanoapi::Error::with_status(
            StatusCode::CONFLICT,
            "conflict",
        )),
        _ => {
            let body = req.read_to_end().await?;
            w.send(Response::text(
                StatusCode::OK,
                format!("len={}", body.len()),
            ))
            .await
        }
    }
}

/// One pipelined batch: each kind of request, and what its response ends with.
const BATCH: &[(&[u8], &[u8])] = &[
    (b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n", b"len=0"),
    (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
        b"len=1000",
    ),
    (b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", b"0\r\n\r\n"),
    (b"GET /static HTTP/1.1\r\nHost: x\r\n\r\n", b"static"),
    (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"len=4000",
    ),
    (
        b"GET /error HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\r\n\r\nConflict",
    ),
];

fn batch_bytes() -> Vec<u8> {
    let mut out = Vec::new();
    for (head, _) in BATCH {
        out.extend_from_slice(head);
        if head.starts_with(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length") {
            out.extend_from_slice(&[b'b'; 1000]);
        } else if head.starts_with(b"POST") {
            for _ in 0..4 {
                out.extend_from_slice(b"3e8\r\n");
                out.extend_from_slice(&[b'c'; 1000]);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
    }
    out
}

/// Sends `batches` batches on connections of `per_connection` batches each; checks every
/// response's ending, in order.
fn client(addr: SocketAddr, batches: usize, per_connection: usize) {
    let batch = batch_bytes();
    let mut stream = None;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..batches {
        if i % per_connection == 0 {
            stream = Some(common::connect(addr));
        }
        let conn = stream.as_mut().unwrap();
        conn.write_all(&batch).unwrap();
        let mut got = Vec::new();
        let mut at = 0;
        for (_, ending) in BATCH {
            loop {
                if let Some(pos) = find(&got[at..], ending) {
                    at += pos + ending.len();
                    break;
                }
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0, "closed mid-batch");
                got.extend_from_slice(&buf[..n]);
            }
        }
        assert_eq!(at, got.len(), "nothing after the batch's last response");
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_soak_of_mixed_requests_grows_neither_descriptors_nor_memory() {
    const ROUNDS: usize = 5;
    const CLIENTS: usize = 4;
    const PER_CONNECTION: usize = 50;
    common::raise_fd_limit();
    let requests: usize = std::env::var("NANOAPI_SOAK_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let batches_per_client_round = (requests / BATCH.len() / CLIENTS / ROUNDS).max(1);
    for backend in common::backends() {
        let open = Arc::new(Open::default());
        let options = Options::default()
            .port(0)
            .workers(2)
            .backend(backend)
            .metrics(open.clone())
            .static_response("GET", "/static", Response::text(StatusCode::OK, "static"));
        let server = nanoapi::serve(options, (), dispatch).unwrap();
        let addr = server.local_addr();
        let started = Instant::now();
        let mut samples = Vec::new();
        for _ in 0..ROUNDS {
            let clients: Vec<_> = (0..CLIENTS)
                .map(|_| {
                    std::thread::spawn(move || {
                        client(addr, batches_per_client_round, PER_CONNECTION)
                    })
                })
                .collect();
            for client in clients {
                client.join().unwrap();
            }
            // Quiescent: every connection closed on both sides.
            let deadline = Instant::now() + Duration::from_secs(30);
            while open.0.load(Ordering::SeqCst) != open.1.load(Ordering::SeqCst) {
                assert!(
                    Instant::now() < deadline,
                    "{backend:?}: connections stay open"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            samples.push((open_fds(), rss_kib()));
        }
        let total = batches_per_client_round * CLIENTS * ROUNDS * BATCH.len();
        eprintln!(
            "soak {backend:?}: {total} requests in {:.1?}, after each round (fds, RSS KiB): {samples:?}",
            started.elapsed()
        );
        // Under valgrind, RSS is valgrind's (its freed-block quarantine grows): .ci/valgrind.sh
        // widens the bound, and checks leaks its own way.
        let rss_slack: u64 = std::env::var("NANOAPI_SOAK_RSS_SLACK_KIB")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(16 * 1024);
        let (fds, rss) = samples[0];
        for &(later_fds, later_rss) in &samples[1..] {
            // Descriptors come back exactly when quiescent; a small margin covers a lazily
            // started thread's. A leak per connection would be hundreds.
            assert!(later_fds <= fds + 2, "{backend:?}: fds grew: {samples:?}");
            // Allocator noise stays far below 16 MiB; a leak per request would not.
            assert!(
                later_rss <= rss + rss_slack,
                "{backend:?}: RSS grew: {samples:?}"
            );
        }
        server.shutdown_blocking();
    }
}
