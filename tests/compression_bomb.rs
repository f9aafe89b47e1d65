//! A decompression bomb over a real socket, on both backends: gzip members of zeros sent one
//! after another (a terabyte of zeros for the decoder, for as long as the server reads) to a
//! route that decodes request bodies. The server must answer 413 and close at the body limit
//! (2 MiB by default), quickly, with its memory bounded. Alone in its binary, so that the
//! process's peak RSS is the server's and this test's only.
#![cfg(all(feature = "compression-gzip", feature = "app"))]

mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use nanoapi::app::{App, RequestDecompression, Route};
use nanoapi::http::coding::{Coding, Encoder, Levels};
use nanoapi::server::Options;

/// One gzip member of 64 MiB of zeros, compressed piece by piece (no 64 MiB buffer).
fn zeros_member() -> Vec<u8> {
    let mut encoder = Encoder::new(
        Coding::Gzip,
        &Levels {
            gzip: 9,
            ..Levels::default()
        },
    );
    let zeros = vec![0; 1 << 20];
    let mut member = Vec::new();
    for _ in 0..64 {
        member.extend_from_slice(&encoder.encode_chunk(&zeros).unwrap());
    }
    member.extend_from_slice(&encoder.finish().unwrap());
    member
}

/// The process's peak resident set, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn upload(body: Bytes) -> String {
    body.len().to_string()
}

#[test]
fn a_decompression_bomb_gets_413_and_a_close_with_memory_bounded() {
    let member = zeros_member();
    let members = (1u64 << 40) / (64 << 20);
    for backend in common::backends() {
        let server = App::new()
            .route(Route::post("/upload", upload).add_middleware(RequestDecompression::new()))
            .serve(Options::default().port(0).workers(1).backend(backend))
            .unwrap();
        let peak_before = peak_rss_kib();
        let mut stream = common::connect(server.handle().local_addr());
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        let member = member.clone();
        let began = Instant::now();
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        let sender = std::thread::spawn(move || {
            let mut write = |bytes: &[u8]| {
                writer.write_all(bytes)?;
                counter.fetch_add(bytes.len() as u64, Ordering::SeqCst);
                std::io::Result::Ok(())
            };
            let _ = write(
                b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Encoding: gzip\r\n\
                  Transfer-Encoding: chunked\r\n\r\n",
            )
            .and_then(|()| {
                for _ in 0..members {
                    write(format!("{:x}\r\n", member.len()).as_bytes())?;
                    write(&member)?;
                    write(b"\r\n")?;
                }
                Ok(())
            });
        });
        let mut response = Vec::new();
        let mut buf = [0; 4096];
        let mut answered = None;
        while let Ok(n @ 1..) = common::read_some(&mut stream, &mut buf) {
            answered.get_or_insert_with(|| (began.elapsed(), sent.load(Ordering::SeqCst)));
            response.extend_from_slice(&buf[..n]);
        }
        let response = String::from_utf8_lossy(&response);
        assert!(
            response.starts_with("HTTP/1.1 413 Content Too Large\r\n"),
            "{backend:?}: {response}"
        );
        assert!(
            response.contains("\r\nConnection: close\r\n"),
            "{backend:?}: {response}"
        );
        // The answer came after a sliver of the terabyte (the 2 MiB limit is 1/32 of the first
        // member, plus what the socket buffers took); the server then closes lingering, reading
        // and discarding the rest for a while without decoding it, and the writes fail.
        let (elapsed, sent_at_answer) = answered.expect("an answer");
        eprintln!("{backend:?}: answered after {elapsed:?}, {sent_at_answer} bytes sent");
        assert!(
            sent_at_answer < 32 << 20,
            "{backend:?}: {sent_at_answer} bytes sent"
        );
        assert!(elapsed < Duration::from_secs(2), "{backend:?}: {elapsed:?}");
        sender.join().unwrap();
        let grown = peak_rss_kib().saturating_sub(peak_before);
        assert!(
            grown < 32 << 10,
            "{backend:?}: peak RSS grew by {grown} KiB"
        );
        server.shutdown_blocking();
    }
}
