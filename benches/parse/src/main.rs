//! Parses one request head `N` times with nanoapi's parser or httparse, for callgrind.
//!
//! `nanoapi-bench-parse <ours|httparse> <plaintext|json> <N>`
//!
//! Both parsers reuse their header storage across iterations (nanoapi: one `RequestHead`,
//! httparse: one 16-entry header array), so the loop measures parsing, not allocation.
//! `callgrind.sh` runs this with two values of `N` and divides the difference, which cancels
//! process start-up.

use std::hint::black_box;
use std::process::ExitCode;

use nanoapi::http::parse::{Limits, RequestHead, Status};

/// The TechEmpower plaintext request, as wrk sends it in the benchmark.
const PLAINTEXT: &[u8] = b"GET /plaintext HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n\
Connection: keep-alive\r\n\
\r\n";

/// The TechEmpower JSON request.
const JSON: &[u8] = b"GET /json HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Accept: application/json,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n\
Connection: keep-alive\r\n\
\r\n";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: nanoapi-bench-parse <ours|httparse> <plaintext|json> <N>";
    let (Some(parser), Some(request), Some(n)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("{usage}");
        return ExitCode::FAILURE;
    };
    let request = match request.as_str() {
        "plaintext" => PLAINTEXT,
        "json" => JSON,
        _ => {
            eprintln!("{usage}");
            return ExitCode::FAILURE;
        }
    };
    let Ok(n) = n.parse::<u64>() else {
        eprintln!("{usage}");
        return ExitCode::FAILURE;
    };
    let total = match parser.as_str() {
        "ours" => ours(request, n),
        "httparse" => theirs(request, n),
        _ => {
            eprintln!("{usage}");
            return ExitCode::FAILURE;
        }
    };
    // Every parse must have consumed the whole head.
    assert_eq!(total, request.len() as u64 * n);
    ExitCode::SUCCESS
}

#[inline(never)]
fn ours(request: &[u8], n: u64) -> u64 {
    let limits = Limits::default();
    let mut head = RequestHead::with_capacity(16);
    let mut total = 0;
    for _ in 0..n {
        let buf = black_box(request);
        match head.parse_into(buf, &limits) {
            Ok(Status::Complete(len)) => total += len as u64,
            other => panic!("nanoapi: {other:?}"),
        }
        black_box(&head);
    }
    total
}

#[inline(never)]
fn theirs(request: &[u8], n: u64) -> u64 {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut total = 0;
    for _ in 0..n {
        let buf = black_box(request);
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(buf) {
            Ok(httparse::Status::Complete(len)) => total += len as u64,
            other => panic!("httparse: {other:?}"),
        }
        black_box(&req);
    }
    total
}
