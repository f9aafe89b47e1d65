//! Wire tests for the response encoder, written as the bytes on the wire (one field per line),
//! and tests for the chunk, decimal and fast-JSON helpers.
//!
//! Every response encoded through [`encode`] is also parsed back with httparse, and checked to
//! have been written into exactly one reservation.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_core::Stream;

use super::*;
use crate::http::chunked::{Chunk, ChunkedDecoder, ChunkedLimits};
use crate::http::response::APPLICATION_JSON;

const DATE_VALUE: &[u8; DATE_VALUE_LENGTH] = b"Sun, 06 Nov 1994 08:49:37 GMT";

fn ctx(version: Version, keep_alive: bool, head_request: bool) -> ResponseContext<'static> {
    ResponseContext {
        version,
        keep_alive,
        head_request,
        date: DATE_VALUE,
        server: None,
    }
}

/// HTTP/1.1, keep-alive, GET.
fn ctx11() -> ResponseContext<'static> {
    ctx(Version::Http11, true, false)
}

/// Encodes `resp` after some bytes already in the buffer, checks that those stay, that the
/// head parses with httparse and that one reservation was enough; returns the new bytes.
fn encode(resp: &Response, ctx: &ResponseContext<'_>) -> (Vec<u8>, Framing) {
    let mut out = BytesMut::new();
    let framing = send_response(resp, ctx, &mut out);
    // `reserve` on an empty buffer allocates what it is asked for: an exact count leaves no
    // spare room, and a second reservation would have grown it past the length.
    assert_eq!(out.capacity(), out.len(), "one exact reservation");

    let mut appended = BytesMut::from(&b"earlier response"[..]);
    let framing_again = send_response(resp, ctx, &mut appended);
    assert_eq!(framing, framing_again);
    assert_eq!(&appended[..16], b"earlier response");
    assert_eq!(&appended[16..], &out[..]);

    check_parses(&out, resp, ctx);
    (out.to_vec(), framing)
}

/// The head parses as a response with the status and the response's fields in order; the
/// content length, if any, matches what follows (a sized stream follows later, from its caller).
fn check_parses(wire: &[u8], resp: &Response, ctx: &ResponseContext<'_>) {
    let mut fields = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut fields);
    let status = parsed.parse(wire).expect("httparse reads the head");
    let httparse::Status::Complete(head_len) = status else {
        panic!("incomplete head: {}", wire.escape_ascii());
    };
    assert_eq!(parsed.version, Some(1));
    assert_eq!(parsed.code, Some(resp.status().as_u16()));
    assert_eq!(
        parsed.reason,
        Some(resp.status().reason().unwrap_or("")),
        "reason phrase"
    );
    let user: Vec<(&[u8], &[u8])> = parsed
        .headers
        .iter()
        .filter(|h| {
            ![
                "server",
                "date",
                "content-length",
                "transfer-encoding",
                "connection",
            ]
            .iter()
            .any(|own| h.name.eq_ignore_ascii_case(own))
                || (h.name.eq_ignore_ascii_case("server") && resp.headers().has_server())
        })
        .map(|h| (h.name.as_bytes(), h.value))
        .collect();
    let expected: Vec<(&[u8], &[u8])> = resp.headers().iter().collect();
    assert_eq!(user, expected, "the response's fields, in order");
    let content_length = parsed
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .map(|h| {
            std::str::from_utf8(h.value)
                .unwrap()
                .parse::<usize>()
                .unwrap()
        });
    let after_head = wire.len() - head_len;
    match content_length {
        Some(n)
            if !ctx.head_request
                && resp.status() != StatusCode::RESET_CONTENT
                && resp.body().as_slice().is_some() =>
        {
            assert_eq!(after_head, n)
        }
        _ => assert_eq!(after_head, 0, "nothing after a head without content"),
    }
}

/// Asserts `actual == expected`, showing both escaped.
fn assert_wire(actual: &[u8], expected: &[u8]) {
    assert!(
        actual == expected,
        "\n  actual: {}\nexpected: {}",
        actual.escape_ascii(),
        expected.escape_ascii()
    );
}

/// A stream of static pieces.
struct Chunks(std::slice::Iter<'static, &'static [u8]>);

impl Stream for Chunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.next().map(|piece| Ok(Bytes::from_static(piece))))
    }
}

fn chunks(pieces: &'static [&'static [u8]]) -> Chunks {
    Chunks(pieces.iter())
}

/// Encodes `resp` and, when the framing says so, its stream the way a connection would.
fn encode_with_stream(resp: &mut Response, ctx: &ResponseContext<'_>) -> (Vec<u8>, Framing) {
    let (mut wire, framing) = encode(resp, ctx);
    if !framing.streams_body() {
        return (wire, framing);
    }
    let (Body::Stream(stream) | Body::SizedStream { stream, .. }) = resp.body_mut() else {
        panic!("streaming framing for a bytes body");
    };
    let mut out = BytesMut::new();
    let mut cx = Context::from_waker(Waker::noop());
    while let Poll::Ready(Some(piece)) = stream.as_mut().poll_next(&mut cx) {
        let piece = piece.unwrap();
        match framing.kind {
            FramingKind::Chunked => encode_chunk(&mut out, &piece),
            _ => out.extend_from_slice(&piece),
        }
    }
    if framing.kind == FramingKind::Chunked {
        encode_last_chunk(&mut out);
    }
    wire.extend_from_slice(&out);
    (wire, framing)
}

// Every body kind × HTTP/1.1 and 1.0 × keep-alive and close × GET and HEAD.

struct Case {
    body: fn() -> Body,
    version: Version,
    keep_alive: bool,
    head: bool,
    wire: &'static [u8],
    framing: Framing,
}

#[rustfmt::skip]
const MATRIX: &[Case] = &[
    Case {
        body: || Body::Empty,
        version: Version::Http11,
        keep_alive: true,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 0\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::Length(0), keep_alive_after: true },
    },
    Case {
        body: || Body::Empty,
        version: Version::Http11,
        keep_alive: true,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 0\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: true },
    },
    Case {
        body: || Body::Empty,
        version: Version::Http11,
        keep_alive: false,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 0\r\n\
         Connection: close\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::Length(0), keep_alive_after: false },
    },
    Case {
        body: || Body::Empty,
        version: Version::Http11,
        keep_alive: false,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 0\r\n\
         Connection: close\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: false },
    },
    Case {
        body: || Body::Empty,
        version: Version::Http10,
        keep_alive: true,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 0\r\n\
         Connection: keep-alive\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::Length(0), keep_alive_after: true },
    },
    Case {
        body: || Body::Empty,
        version: Version::Http10,
        keep_alive: true,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 0\r\n\
         Connection: keep-alive\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: true },
    },
    Case {
        body: || Body::Empty,
        version: Version::Http10,
        keep_alive: false,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 0\r\n\
         Connection: close\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::Length(0), keep_alive_after: false },
    },
    Case {
        body: || Body::Empty,
        version: Version::Http10,
        keep_alive: false,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 0\r\n\
         Connection: close\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: false },
    },
    Case {
        body: || Body::Bytes(Bytes::from_static(b"hello")),
        version: Version::Http11,
        keep_alive: true,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 5\r\n\
         \r\nhello",
        framing: Framing { kind: FramingKind::Length(5), keep_alive_after: true },
    },
    Case {
        body: || Body::Bytes(Bytes::from_static(b"hello")),
        version: Version::Http11,
        keep_alive: true,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 5\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: true },
    },
    Case {
        body: || Body::Bytes(Bytes::from_static(b"hello")),
        version: Version::Http11,
        keep_alive: false,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 5\r\n\
         Connection: close\r\n\
         \r\nhello",
        framing: Framing { kind: FramingKind::Length(5), keep_alive_after: false },
    },
    Case {
        body: || Body::Bytes(Bytes::from_static(b"hello")),
        version: Version::Http11,
        keep_alive: false,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 5\r\n\
         Connection: close\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: false },
    },
    Case {
        body: || Body::Bytes(Bytes::from_static(b"hello")),
        version: Version::Http10,
        keep_alive: true,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 5\r\n\
         Connection: keep-alive\r\n\
         \r\nhello",
        framing: Framing { kind: FramingKind::Length(5), keep_alive_after: true },
    },
    Case {
        body: || Body::Bytes(Bytes::from_static(b"hello")),
        version: Version::Http10,
        keep_alive: true,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 5\r\n\
         Connection: keep-alive\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: true },
    },
    Case {
        body: || Body::Bytes(Bytes::from_static(b"hello")),
        version: Version::Http10,
        keep_alive: false,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 5\r\n\
         Connection: close\r\n\
         \r\nhello",
        framing: Framing { kind: FramingKind::Length(5), keep_alive_after: false },
    },
    Case {
        body: || Body::Bytes(Bytes::from_static(b"hello")),
        version: Version::Http10,
        keep_alive: false,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 5\r\n\
         Connection: close\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: false },
    },
    Case {
        body: || Body::Static(b"static!"),
        version: Version::Http11,
        keep_alive: true,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 7\r\n\
         \r\nstatic!",
        framing: Framing { kind: FramingKind::Length(7), keep_alive_after: true },
    },
    Case {
        body: || Body::Static(b"static!"),
        version: Version::Http11,
        keep_alive: true,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 7\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: true },
    },
    Case {
        body: || Body::Static(b"static!"),
        version: Version::Http11,
        keep_alive: false,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 7\r\n\
         Connection: close\r\n\
         \r\nstatic!",
        framing: Framing { kind: FramingKind::Length(7), keep_alive_after: false },
    },
    Case {
        body: || Body::Static(b"static!"),
        version: Version::Http11,
        keep_alive: false,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 7\r\n\
         Connection: close\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: false },
    },
    Case {
        body: || Body::Static(b"static!"),
        version: Version::Http10,
        keep_alive: true,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 7\r\n\
         Connection: keep-alive\r\n\
         \r\nstatic!",
        framing: Framing { kind: FramingKind::Length(7), keep_alive_after: true },
    },
    Case {
        body: || Body::Static(b"static!"),
        version: Version::Http10,
        keep_alive: true,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 7\r\n\
         Connection: keep-alive\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: true },
    },
    Case {
        body: || Body::Static(b"static!"),
        version: Version::Http10,
        keep_alive: false,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 7\r\n\
         Connection: close\r\n\
         \r\nstatic!",
        framing: Framing { kind: FramingKind::Length(7), keep_alive_after: false },
    },
    Case {
        body: || Body::Static(b"static!"),
        version: Version::Http10,
        keep_alive: false,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Length: 7\r\n\
         Connection: close\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: false },
    },
    Case {
        body: || Body::stream(chunks(&[])),
        version: Version::Http11,
        keep_alive: true,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Transfer-Encoding: chunked\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::Chunked, keep_alive_after: true },
    },
    Case {
        body: || Body::stream(chunks(&[])),
        version: Version::Http11,
        keep_alive: true,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Transfer-Encoding: chunked\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: true },
    },
    Case {
        body: || Body::stream(chunks(&[])),
        version: Version::Http11,
        keep_alive: false,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Transfer-Encoding: chunked\r\n\
         Connection: close\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::Chunked, keep_alive_after: false },
    },
    Case {
        body: || Body::stream(chunks(&[])),
        version: Version::Http11,
        keep_alive: false,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Transfer-Encoding: chunked\r\n\
         Connection: close\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: false },
    },
    Case {
        body: || Body::stream(chunks(&[])),
        version: Version::Http10,
        keep_alive: true,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Connection: close\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::CloseDelimited, keep_alive_after: false },
    },
    Case {
        body: || Body::stream(chunks(&[])),
        version: Version::Http10,
        keep_alive: true,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Connection: keep-alive\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: true },
    },
    Case {
        body: || Body::stream(chunks(&[])),
        version: Version::Http10,
        keep_alive: false,
        head: false,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Connection: close\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::CloseDelimited, keep_alive_after: false },
    },
    Case {
        body: || Body::stream(chunks(&[])),
        version: Version::Http10,
        keep_alive: false,
        head: true,
        wire: b"\
         HTTP/1.1 200 OK\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Connection: close\r\n\
         \r\n",
        framing: Framing { kind: FramingKind::None, keep_alive_after: false },
    },
];

#[test]
fn every_body_kind_version_connection_and_method() {
    assert_eq!(MATRIX.len(), 4 * 2 * 2 * 2);
    for (i, case) in MATRIX.iter().enumerate() {
        let mut resp = Response::new(StatusCode::OK);
        resp.set_body((case.body)());
        let ctx = ctx(case.version, case.keep_alive, case.head);
        let (wire, framing) = encode(&resp, &ctx);
        assert!(
            wire == case.wire,
            "case {i}:\n  actual: {}\nexpected: {}",
            wire.escape_ascii(),
            case.wire.escape_ascii()
        );
        assert_eq!(framing, case.framing, "case {i}");
    }
}

#[test]
fn a_chunked_stream_follows_its_head() {
    let mut resp = Response::text(StatusCode::OK, "")
        .header("X-A", "1")
        .unwrap();
    resp.set_body(Body::stream(chunks(&[b"hello", b"", b", world"])));
    let (wire, framing) = encode_with_stream(&mut resp, &ctx11());
    assert_wire(
        &wire,
        b"\
        HTTP/1.1 200 OK\r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        X-A: 1\r\n\
        Transfer-Encoding: chunked\r\n\
        \r\n\
        5\r\nhello\r\n\
        7\r\n, world\r\n\
        0\r\n\r\n",
    );
    assert_eq!(
        framing,
        Framing {
            kind: FramingKind::Chunked,
            keep_alive_after: true
        }
    );
}

#[test]
fn a_close_delimited_stream_follows_its_head_on_http_10() {
    let mut resp = Response::new(StatusCode::OK);
    resp.set_body(Body::stream(chunks(&[b"hello", b", world"])));
    let (wire, framing) = encode_with_stream(&mut resp, &ctx(Version::Http10, true, false));
    assert_wire(
        &wire,
        b"\
        HTTP/1.1 200 OK\r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
        Connection: close\r\n\
        \r\n\
        hello, world",
    );
    assert!(!framing.keep_alive_after && framing.streams_body());
}

// Statuses without content.

#[test]
fn no_content_and_not_modified_send_no_length_and_no_body() {
    for status in [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED] {
        for body in [
            Body::Empty,
            Body::Static(b"dropped"),
            Body::stream(chunks(&[b"dropped"])),
            Body::sized_stream(7, chunks(&[b"dropped"])),
        ] {
            for head in [false, true] {
                let mut resp = Response::new(status).header("ETag", "\"v1\"").unwrap();
                resp.set_body(body_clone(&body));
                let (wire, framing) = encode(&resp, &ctx(Version::Http11, true, head));
                let expected = format!(
                    "HTTP/1.1 {status}\r\n\
                     Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
                     ETag: \"v1\"\r\n\
                     \r\n"
                );
                assert_wire(&wire, expected.as_bytes());
                assert_eq!(
                    framing,
                    Framing {
                        kind: FramingKind::None,
                        keep_alive_after: true
                    }
                );
            }
        }
    }
}

#[test]
fn a_sized_stream_declares_its_length_on_both_versions_and_for_head() {
    for version in [Version::Http11, Version::Http10] {
        for head in [false, true] {
            let mut resp = Response::new(StatusCode::OK);
            resp.set_body(Body::sized_stream(12, chunks(&[b"hello, ", b"world"])));
            let (wire, framing) = encode_with_stream(&mut resp, &ctx(version, true, head));
            let connection = match version {
                Version::Http10 => "Connection: keep-alive\r\n",
                Version::Http11 => "",
            };
            let body = if head { "" } else { "hello, world" };
            let expected = format!(
                "HTTP/1.1 200 OK\r\n\
                 Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
                 Content-Length: 12\r\n\
                 {connection}\r\n\
                 {body}"
            );
            assert_wire(&wire, expected.as_bytes());
            let kind = if head {
                FramingKind::None
            } else {
                FramingKind::SizedStream(12)
            };
            assert_eq!(
                framing,
                Framing {
                    kind,
                    keep_alive_after: true
                }
            );
        }
    }
}

/// A fresh body of the same kind and content (a stream becomes an empty one).
fn body_clone(body: &Body) -> Body {
    match body {
        Body::Empty => Body::Empty,
        Body::Bytes(bytes) => Body::Bytes(bytes.clone()),
        Body::Static(bytes) => Body::Static(bytes),
        Body::Stream(_) => Body::stream(chunks(&[])),
        Body::SizedStream { len, .. } => Body::sized_stream(*len, chunks(&[])),
    }
}

#[test]
fn no_content_on_a_closing_connection_still_says_close() {
    let resp = Response::empty(StatusCode::NO_CONTENT);
    let (wire, framing) = encode(&resp, &ctx(Version::Http10, false, false));
    assert_wire(
        &wire,
        b"\
        HTTP/1.1 204 No Content\r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
        Connection: close\r\n\
        \r\n",
    );
    assert!(!framing.keep_alive_after);
    let (wire, _) = encode(&resp, &ctx(Version::Http10, true, false));
    assert_wire(
        &wire,
        b"\
        HTTP/1.1 204 No Content\r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
        Connection: keep-alive\r\n\
        \r\n",
    );
}

#[test]
fn informational_responses_have_no_framing_and_leave_persistence_alone() {
    let resp = Response::new(StatusCode::CONTINUE);
    for keep_alive in [true, false] {
        let (wire, framing) = encode(&resp, &ctx(Version::Http11, keep_alive, false));
        assert_wire(
            &wire,
            b"\
            HTTP/1.1 100 Continue\r\n\
            Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
            \r\n",
        );
        assert_eq!(
            framing,
            Framing {
                kind: FramingKind::None,
                keep_alive_after: keep_alive
            }
        );
    }
    // 103 has no reason phrase in the table: the phrase is empty, the space stays.
    let resp = Response::new(StatusCode::from_u16(103).unwrap())
        .header("Link", "</style.css>; rel=preload")
        .unwrap();
    let (wire, _) = encode(&resp, &ctx11());
    assert_wire(
        &wire,
        b"\
        HTTP/1.1 103 \r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
        Link: </style.css>; rel=preload\r\n\
        \r\n",
    );
}

#[test]
fn switching_protocols_names_the_upgrade_in_connection() {
    let resp = Response::new(StatusCode::SWITCHING_PROTOCOLS)
        .header("Upgrade", "websocket")
        .and_then(|r| r.header("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        .unwrap();
    let (wire, framing) = encode(&resp, &ctx11());
    assert_wire(
        &wire,
        b"\
        HTTP/1.1 101 Switching Protocols\r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
        Upgrade: websocket\r\n\
        Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
        Connection: upgrade\r\n\
        \r\n",
    );
    assert_eq!(framing.kind, FramingKind::None);
}

#[test]
fn upgrade_joins_the_other_connection_options() {
    let resp = Response::text(StatusCode::UPGRADE_REQUIRED, "use h2c")
        .header("Upgrade", "h2c")
        .unwrap();
    let expected = |connection: &str| {
        format!(
            "HTTP/1.1 426 Upgrade Required\r\n\
             Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             Upgrade: h2c\r\n\
             Content-Length: 7\r\n\
             {connection}\
             \r\n\
             use h2c"
        )
    };
    let cases = [
        (Version::Http11, true, "Connection: upgrade\r\n"),
        (Version::Http11, false, "Connection: close, upgrade\r\n"),
        (Version::Http10, true, "Connection: keep-alive, upgrade\r\n"),
        (Version::Http10, false, "Connection: close, upgrade\r\n"),
    ];
    for (version, keep_alive, connection) in cases {
        let (wire, _) = encode(&resp, &ctx(version, keep_alive, false));
        assert_wire(&wire, expected(connection).as_bytes());
    }
}

#[test]
fn reset_content_says_zero_length_and_drops_the_body() {
    let mut resp = Response::new(StatusCode::RESET_CONTENT);
    resp.set_body("dropped");
    let (wire, framing) = encode(&resp, &ctx11());
    assert_wire(
        &wire,
        b"\
        HTTP/1.1 205 Reset Content\r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
        Content-Length: 0\r\n\
        \r\n",
    );
    assert_eq!(framing.kind, FramingKind::Length(0));
    resp.set_body(Body::stream(chunks(&[b"dropped"])));
    let (wire2, framing) = encode(&resp, &ctx11());
    assert_wire(&wire2, &wire);
    assert!(!framing.streams_body());
    let (_, framing) = encode(&resp, &ctx(Version::Http11, true, true));
    assert_eq!(framing.kind, FramingKind::None);
}

// Status lines.

#[test]
fn status_lines_carry_the_reason_or_nothing() {
    let cases: &[(u16, &[u8])] = &[
        (200, b"HTTP/1.1 200 OK\r\n"),
        (201, b"HTTP/1.1 201 Created\r\n"),
        (404, b"HTTP/1.1 404 Not Found\r\n"),
        (422, b"HTTP/1.1 422 Unprocessable Content\r\n"),
        (505, b"HTTP/1.1 505 HTTP Version Not Supported\r\n"),
        (299, b"HTTP/1.1 299 \r\n"),
        (418, b"HTTP/1.1 418 \r\n"),
        (599, b"HTTP/1.1 599 \r\n"),
        (999, b"HTTP/1.1 999 \r\n"),
    ];
    for &(code, line) in cases {
        let resp = Response::new(StatusCode::from_u16(code).unwrap());
        let (wire, _) = encode(&resp, &ctx11());
        assert_wire(&wire[..line.len()], line);
    }
}

#[test]
fn the_status_line_says_http_11_to_http_10_clients() {
    let (wire, _) = encode(
        &Response::new(StatusCode::NOT_FOUND),
        &ctx(Version::Http10, false, false),
    );
    assert!(wire.starts_with(b"HTTP/1.1 404 Not Found\r\n"));
}

// Field placement.

#[test]
fn server_and_date_come_first_then_the_fields_in_order() {
    let resp = Response::text(StatusCode::OK, "ok")
        .header("Set-Cookie", "a=1; Path=/")
        .and_then(|r| r.header("Cache-Control", "no-store"))
        .and_then(|r| r.header("Set-Cookie", "b=2"))
        .and_then(|r| r.header("set-cookie", "c=3; HttpOnly"))
        .unwrap();
    let ctx = ResponseContext {
        server: Some(&b"nanoapi"[..]),
        ..ctx11()
    };
    let (wire, _) = encode(&resp, &ctx);
    assert_wire(
        &wire,
        b"\
        HTTP/1.1 200 OK\r\n\
        Server: nanoapi\r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        Set-Cookie: a=1; Path=/\r\n\
        Cache-Control: no-store\r\n\
        Set-Cookie: b=2\r\n\
        set-cookie: c=3; HttpOnly\r\n\
        Content-Length: 2\r\n\
        \r\n\
        ok",
    );
}

#[test]
fn a_server_field_of_the_response_replaces_the_configured_one() {
    let resp = Response::new(StatusCode::OK)
        .header("X-A", "1")
        .and_then(|r| r.header("server", "custom/2"))
        .unwrap();
    let ctx = ResponseContext {
        server: Some(&b"nanoapi"[..]),
        ..ctx11()
    };
    let (wire, _) = encode(&resp, &ctx);
    assert_wire(
        &wire,
        b"\
        HTTP/1.1 200 OK\r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
        X-A: 1\r\n\
        server: custom/2\r\n\
        Content-Length: 0\r\n\
        \r\n",
    );
}

#[test]
fn values_go_out_trimmed_and_names_as_spelled() {
    let resp = Response::new(StatusCode::OK)
        .header("x-LOWER-upper", "  spaced out \t")
        .unwrap();
    let (wire, _) = encode(&resp, &ctx11());
    assert_wire(
        &wire,
        b"\
        HTTP/1.1 200 OK\r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
        x-LOWER-upper: spaced out\r\n\
        Content-Length: 0\r\n\
        \r\n",
    );
}

// Refused fields: whatever was tried, the only framing on the wire is the encoder's.

#[test]
fn refused_fields_never_reach_the_wire() {
    let mut resp = Response::text(StatusCode::OK, "body");
    let attempts: &[(&[u8], &[u8])] = &[
        (b"Content-Length", b"1000"),
        (b"content-length", b"0"),
        (b"CONTENT-LENGTH", b"4"),
        (b"Transfer-Encoding", b"chunked"),
        (b"transfer-encoding", b"gzip, chunked"),
        (b"Connection", b"keep-alive"),
        (b"connection", b"close"),
        (b"Keep-Alive", b"timeout=5"),
        (b"DATE", b"Mon, 01 Jan 2001 00:00:00 GMT"),
        (b"Trailer", b"X-Checksum"),
        (b"X-Split", b"a\r\nContent-Length: 0"),
        (b"X-Split", b"a\nb"),
        (b"X-Split", b"a\rb"),
        (b"X-Nul", b"a\0b"),
        (b"X-Split\r\nContent-Length", b"0"),
        (b"X Space", b"1"),
        (b"X:Colon", b"1"),
        (b"", b"1"),
    ];
    for &(name, value) in attempts {
        let err = resp.headers_mut().append(name, value).unwrap_err();
        assert_eq!(err.name(), name);
        let err = resp.headers_mut().insert(name, value).unwrap_err();
        assert_eq!(err.name(), name);
    }
    let (wire, _) = encode(&resp, &ctx11());
    assert_wire(
        &wire,
        b"\
        HTTP/1.1 200 OK\r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        Content-Length: 4\r\n\
        \r\n\
        body",
    );
}

// The fast JSON path.

#[test]
fn fast_json_is_byte_identical_to_the_general_path() {
    let lengths = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 4096, 65_537];
    let servers: [Option<&[u8]>; 3] = [
        None,
        Some(&b"nanoapi"[..]),
        Some(&b"x/1.0 (linux; \xe9)"[..]),
    ];
    for len in lengths {
        let body: Vec<u8> = (0..len).map(|i| b"{}[]\":,0a"[i % 9]).collect();
        for server in servers {
            let ctx = ResponseContext { server, ..ctx11() };
            let resp = Response::json_bytes(StatusCode::OK, Bytes::from(body.clone()));
            let (general, framing) = encode(&resp, &ctx);
            let mut fast = BytesMut::from(&b"before"[..]);
            send_fast_json_bytes(&body, &ctx, &mut fast);
            assert_eq!(&fast[..6], b"before");
            assert_wire(&fast[6..], &general);
            assert_eq!(
                framing,
                Framing {
                    kind: FramingKind::Length(len as u64),
                    keep_alive_after: true
                }
            );
            let mut exact = BytesMut::new();
            send_fast_json_bytes(&body, &ctx, &mut exact);
            assert_eq!(exact.capacity(), exact.len(), "one exact reservation");
        }
    }
}

#[test]
fn fast_json_writes_the_content_type_json_bytes_sets() {
    assert!(
        JSON_AFTER_DATE.ends_with(
            format!("\r\nContent-Type: {APPLICATION_JSON}\r\nContent-Length: ").as_bytes()
        )
    );
    let mut out = BytesMut::new();
    send_fast_json_bytes(b"[1]", &ctx11(), &mut out);
    assert_wire(
        &out,
        b"\
        HTTP/1.1 200 OK\r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
        Content-Type: application/json\r\n\
        Content-Length: 3\r\n\
        \r\n\
        [1]",
    );
}

#[test]
fn fast_json_only_for_200_keep_alive_http_11_get() {
    let ok = StatusCode::OK;
    assert!(can_use_fast_json_bytes(ok, &ctx11()));
    assert!(!can_use_fast_json_bytes(StatusCode::CREATED, &ctx11()));
    assert!(!can_use_fast_json_bytes(StatusCode::NO_CONTENT, &ctx11()));
    assert!(!can_use_fast_json_bytes(
        ok,
        &ctx(Version::Http10, true, false)
    ));
    assert!(!can_use_fast_json_bytes(
        ok,
        &ctx(Version::Http11, false, false)
    ));
    assert!(!can_use_fast_json_bytes(
        ok,
        &ctx(Version::Http11, true, true)
    ));
    let server = ResponseContext {
        server: Some(&b"nanoapi"[..]),
        ..ctx11()
    };
    assert!(can_use_fast_json_bytes(ok, &server));
}

// Chunks.

#[test]
fn chunk_sizes_are_lower_case_hex() {
    let cases: &[(u64, &[u8])] = &[
        (1, b"1\r\n"),
        (9, b"9\r\n"),
        (10, b"a\r\n"),
        (15, b"f\r\n"),
        (16, b"10\r\n"),
        (255, b"ff\r\n"),
        (256, b"100\r\n"),
        (4096, b"1000\r\n"),
        (0xdead_beef, b"deadbeef\r\n"),
        (1 << 32, b"100000000\r\n"),
        (u64::MAX, b"ffffffffffffffff\r\n"),
        (0, b"0\r\n"),
    ];
    for &(len, line) in cases {
        assert_wire(ChunkHeader::new(len).as_bytes(), line);
    }
}

#[test]
fn encoded_chunks_decode_to_the_same_bytes() {
    let pieces: Vec<Vec<u8>> = [0usize, 1, 2, 15, 16, 17, 255, 256, 4095, 4096, 70_000]
        .iter()
        .map(|&n| (0..n).map(|i| (i * 7 % 256) as u8).collect())
        .collect();
    let mut out = BytesMut::new();
    for piece in &pieces {
        encode_chunk(&mut out, piece);
    }
    encode_last_chunk(&mut out);

    let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
    let (mut at, mut body) = (0, Vec::new());
    loop {
        let (consumed, chunk) = decoder.decode(&out[at..]).unwrap();
        at += consumed;
        match chunk {
            Chunk::Data(data) => body.extend_from_slice(data),
            Chunk::NeedMore => panic!("truncated"),
            Chunk::Done => break,
        }
    }
    assert_eq!(at, out.len());
    assert_eq!(body, pieces.concat());
}

#[test]
fn an_empty_chunk_writes_nothing() {
    let mut out = BytesMut::from(&b"x"[..]);
    encode_chunk(&mut out, b"");
    assert_eq!(&out[..], b"x");
    encode_last_chunk(&mut out);
    assert_eq!(&out[..], b"x0\r\n\r\n");
}

// Decimals.

fn decimal_string(n: u64) -> String {
    let mut out = BytesMut::new();
    append_decimal(&mut out, n);
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn decimals_match_to_string_up_to_a_hundred_thousand() {
    for n in 0..=100_000u64 {
        assert_eq!(decimal_string(n), n.to_string());
    }
}

#[test]
fn decimals_around_every_power_of_ten_and_two_and_the_maximum() {
    let mut edges = vec![u64::MAX, u64::MAX - 1, u64::MAX / 2];
    for k in 0..=19 {
        let p = 10u64.pow(k);
        edges.extend([
            p - 1,
            p,
            p + 1,
            p.saturating_mul(2) - 1,
            p.saturating_mul(5),
        ]);
    }
    for k in 0..64 {
        let p = 1u64 << k;
        edges.extend([p - 1, p, p + 1]);
    }
    for n in edges {
        assert_eq!(decimal_string(n), n.to_string(), "{n}");
    }
    assert_eq!(decimal_string(u64::MAX), "18446744073709551615");
}

#[test]
fn decimals_append() {
    let mut out = BytesMut::from(&b"Content-Length: "[..]);
    append_decimal(&mut out, 1234);
    assert_eq!(&out[..], b"Content-Length: 1234");
}
