//! The HTTP/2 connection: the client preface and an empty SETTINGS frame, then any bytes (as
//! frames, or not), through the in-memory transport to `serve_http2` with a dispatcher that
//! reads bodies and answers.
//!
//! Invariants checked on every input:
//! - nothing panics and nothing hangs (libFuzzer's `-timeout` catches a hang);
//! - what the server sends is a sequence of whole frames, the first its SETTINGS, none longer
//!   than the default maximum frame size (16,384 bytes), and nothing after a GOAWAY but other
//!   frames (the codec may finish streams it had begun).
#![no_main]

#[path = "common/worker.rs"]
mod worker;

use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use nanoapi::executor::{spawn_local, yield_now};
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::http2::{Http2Options, PREFACE, serve_http2};
use nanoapi::server::testing::duplex;
use nanoapi::server::{ConnOptions, Request, ResponseWriter, Transport};
use worker::on_worker;

async fn dispatch(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    let body = req.read_to_end().await?;
    w.send(Response::text(StatusCode::OK, body.len().to_string()))
        .await
}

fn options() -> ConnOptions {
    let mut options = ConnOptions::default();
    options.limits.max_head = 4096;
    options.limits.max_body = 4096;
    options
}

async fn exchange(input: Vec<u8>) -> Vec<u8> {
    let (client, server) = duplex(64 * 1024);
    let client = Rc::new(client);
    let conn = spawn_local(async move {
        let http2 = Http2Options::default();
        let _ = serve_http2(server, &(), &dispatch, &options(), &http2).await;
    });
    let mut hello = PREFACE.to_vec();
    hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    client.push(hello);
    // In two pieces, so that a frame may arrive split.
    let (first, second) = input.split_at(input.len() / 2);
    client.push(first.to_vec());
    yield_now().await;
    client.push(second.to_vec());
    client.shutdown_write().unwrap();
    let out = client.read_to_end().await.unwrap();
    conn.await.unwrap();
    out
}

fuzz_target!(|input: &[u8]| {
    let input = input.to_vec();
    let out = on_worker(move || exchange(input));
    let mut at = 0;
    let mut first = true;
    while at < out.len() {
        assert!(out.len() - at >= 9, "a cut frame header: {:?}", &out[at..]);
        let len = u32::from_be_bytes([0, out[at], out[at + 1], out[at + 2]]) as usize;
        assert!(len <= 16_384, "a frame of {len} bytes");
        assert!(out.len() - at - 9 >= len, "a cut frame");
        if first {
            assert_eq!(out[at + 3], 4, "the server's first frame is its SETTINGS");
            first = false;
        }
        at += 9 + len;
    }
});
