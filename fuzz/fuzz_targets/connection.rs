//! The whole connection state machine: any bytes, delivered in pieces of arbitrary sizes
//! through the in-memory transport to `serve_connection` and a dispatcher that uses bodies the
//! ways applications do (read whole, read in chunks, ignore, a low body limit, stream a chunked
//! answer, fail, answer nothing).
//!
//! Input: the first byte `n` (mod 8) is how many of the following bytes are piece sizes
//! (cycled; none: one piece); the rest is what the client sends, then it half-closes.
//!
//! Invariants checked on every input:
//! - nothing panics and nothing hangs (libFuzzer's `-timeout` catches a hang), and
//!   `serve_connection` ends with `Ok`;
//! - the output is a sequence of well-formed responses (`100 Continue` interim responses
//!   aside), each framed by `Content-Length`, chunked coding, or the close (then last);
//! - each dispatched request has exactly one response, in order; at most one more follows, an
//!   error status with `Connection: close`;
//! - never more answered requests than complete heads (CRLF CRLF) in the input;
//! - nothing follows a response that says `Connection: close`.
#![no_main]

#[path = "common/worker.rs"]
mod worker;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use nanoapi::executor::{spawn_local, yield_now};
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::testing::duplex;
use nanoapi::server::{ConnOptions, Request, ResponseWriter, Transport, serve_connection};
use worker::on_worker;

/// What the dispatcher saw, in order: whether each request was a `HEAD`; whether one failed
/// after its response had started (the runtime then cuts the connection: the body cannot be
/// finished honestly).
#[derive(Default)]
struct Seen {
    head: RefCell<Vec<bool>>,
    cut: Cell<bool>,
}

async fn dispatch(
    seen: &Rc<Seen>,
    req: &mut Request,
    w: &mut ResponseWriter,
) -> nanoapi::Result<()> {
    seen.head.borrow_mut().push(req.is_head());
    let res = answer(req, w).await;
    if res.is_err() && w.is_sent() {
        seen.cut.set(true);
    }
    res
}

async fn answer(req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    match req.path().get(1).copied() {
        Some(b'c') => {
            // Echo the body back, chunk by chunk, as it arrives.
            let mut echo = w.start_chunked(Response::new(StatusCode::OK)).await?;
            while let Some(chunk) = req.read_chunk().await? {
                echo.send(chunk).await?;
            }
            echo.finish().await
        }
        Some(b'i') => w.send(Response::text(StatusCode::OK, "ignored")).await,
        Some(b'l') => {
            req.set_body_limit(16);
            let body = req.read_to_end().await?;
            w.send(Response::text(StatusCode::OK, body)).await
        }
        Some(b's') => {
            let mut body = w.start_chunked(Response::new(StatusCode::OK)).await?;
            for part in ["one", "two", "three"] {
                body.send(Bytes::from_static(part.as_bytes())).await?;
            }
            body.finish().await
        }
        Some(b'e') => Err(nanoapi::Error::with_status(
            StatusCode::CONFLICT,
            "on purpose",
        )),
        Some(b'n') => Ok(()),
        _ => {
            let body = req.read_to_end().await?;
            w.send(Response::text(StatusCode::OK, body.len().to_string()))
                .await
        }
    }
}

fn options() -> ConnOptions {
    let mut options = ConnOptions::default();
    options.limits.max_target = 512;
    options.limits.max_head = 2048;
    options.limits.max_headers = 16;
    options.limits.max_body = 4096;
    options.limits.max_drain = 256;
    options
}

/// Runs the connection over `stream` cut into pieces by `sizes`; returns what the server sent
/// and what the dispatcher saw: `HEAD` or not per request, and whether one was cut.
fn serve(sizes: &[u8], stream: &[u8]) -> (Vec<u8>, Vec<bool>, bool) {
    let pieces: Vec<Bytes> = if sizes.is_empty() {
        vec![Bytes::copy_from_slice(stream)]
    } else {
        let mut pieces = Vec::new();
        let mut rest = stream;
        for &size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, after) = rest.split_at(usize::from(size).clamp(1, rest.len()));
            pieces.push(Bytes::copy_from_slice(piece));
            rest = after;
        }
        pieces
    };
    on_worker(move || exchange(pieces))
}

/// The client's side: sends `pieces` one at a time, reads everything back.
async fn exchange(pieces: Vec<Bytes>) -> (Vec<u8>, Vec<bool>, bool) {
    // A small pipe: the server meets backpressure on large answers.
    let (client, server) = duplex(1024);
    let client = Rc::new(client);
    let seen = Rc::new(Seen::default());
    let options = options();
    let conn = {
        let seen = seen.clone();
        spawn_local(async move { serve_connection(server, &seen, &dispatch, &options).await })
    };
    let writer = {
        let client = client.clone();
        spawn_local(async move {
            for piece in pieces {
                client.push(piece);
                // Let the server take this piece alone before the next arrives.
                for _ in 0..3 {
                    yield_now().await;
                }
            }
            client.shutdown_write().unwrap();
        })
    };
    let out = client.read_to_end().await.unwrap();
    writer.await.unwrap();
    conn.await
        .unwrap()
        .unwrap_or_else(|err| panic!("serve_connection failed: {err}"));
    let heads = seen.head.borrow().clone();
    (out, heads, seen.cut.get())
}

/// One response read off the wire.
struct Answer {
    status: u16,
    close: bool,
}

/// Splits `out` into responses, panicking on anything ill-formed. `heads[i]` says whether the
/// i-th final response answers a `HEAD` (no body); `cut` whether the last chunked body may end
/// short (its dispatcher failed).
fn responses(mut out: &[u8], heads: &[bool], cut: bool) -> Vec<Answer> {
    let mut answers: Vec<Answer> = Vec::new();
    while !out.is_empty() {
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut fields);
        let len = match response.parse(out) {
            Ok(httparse::Status::Complete(len)) => len,
            other => panic!(
                "ill-formed response {other:?} after {} answers: {:?}",
                answers.len(),
                String::from_utf8_lossy(out)
            ),
        };
        let status = response.code.unwrap();
        let field = |name: &str| {
            response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value)
        };
        out = &out[len..];
        if status == 100 {
            assert!(response.headers.is_empty(), "100 Continue has no fields");
            continue;
        }
        assert!((200..600).contains(&status), "unexpected status {status}");
        assert!(field("date").is_some(), "every response has a Date");
        let close = field("connection").is_some_and(|v| v.eq_ignore_ascii_case(b"close"));
        let is_head = heads.get(answers.len()).copied().unwrap_or(false);
        let length = field("content-length");
        let chunked = field("transfer-encoding").is_some_and(|v| v == b"chunked");
        assert!(
            !(length.is_some() && chunked),
            "Content-Length with chunked"
        );
        if is_head || status == 204 || status == 304 {
            // No body, whatever the framing fields say.
        } else if let Some(length) = length {
            let n: usize = std::str::from_utf8(length).unwrap().parse().unwrap();
            assert!(n <= out.len(), "response body cut short");
            out = &out[n..];
        } else if chunked {
            match skip_chunked(out) {
                Some(after) => out = after,
                None => {
                    assert!(cut, "a chunked body cut short, its dispatcher did not fail");
                    out = &[];
                }
            }
        } else {
            // Delimited by the close: the rest is its body.
            assert!(close, "a close-delimited body says Connection: close");
            out = &[];
        }
        answers.push(Answer { status, close });
        assert!(
            !close || out.is_empty(),
            "bytes after a response that closed: {:?}",
            String::from_utf8_lossy(out)
        );
    }
    answers
}

/// Skips one chunked body (the server's own output, so strict: hex size, CRLF, data, CRLF);
/// `None` if the output ends before the last chunk, at a chunk boundary.
fn skip_chunked(mut out: &[u8]) -> Option<&[u8]> {
    loop {
        if out.is_empty() {
            return None;
        }
        let line = out
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line ends");
        let size = std::str::from_utf8(&out[..line])
            .ok()
            .and_then(|size| usize::from_str_radix(size, 16).ok())
            .unwrap_or_else(|| panic!("bad chunk size line: {:?}", String::from_utf8_lossy(out)));
        out = &out[line + 2..];
        if size == 0 {
            assert!(out.starts_with(b"\r\n"), "no trailers from the server");
            return Some(&out[2..]);
        }
        assert!(
            out.len() >= size + 2 && &out[size..size + 2] == b"\r\n",
            "chunk cut short"
        );
        out = &out[size + 2..];
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let (sizes, stream) = rest.split_at(usize::from(n % 8).min(rest.len()));
    let (out, heads, cut) = serve(sizes, stream);
    let answers = responses(&out, &heads, cut);

    let complete_heads = stream.windows(4).filter(|w| w == b"\r\n\r\n").count();
    assert!(
        heads.len() <= complete_heads,
        "{} requests dispatched from {complete_heads} complete heads",
        heads.len()
    );
    assert!(
        answers.len() >= heads.len(),
        "{} dispatched, {} answered",
        heads.len(),
        answers.len()
    );
    assert!(
        answers.len() <= heads.len() + 1,
        "{} dispatched, {} answered",
        heads.len(),
        answers.len()
    );
    if answers.len() == heads.len() + 1 {
        let last = answers.last().unwrap();
        assert!(
            matches!(last.status, 400 | 408 | 413 | 414 | 417 | 431 | 501 | 505),
            "a refusal without dispatch is an error status, not {}",
            last.status
        );
        assert!(last.close, "a refused request closes the connection");
    }
});
