//! The connection future over real sockets, on both backends: a table of raw requests and
//! what must come back, plus pipelining, split reads, bodies and dispatcher failures.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use nanoapi::executor::Backend;
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{ConnOptions, Request, ResponseWriter, Transport};

/// The dispatcher under test: a black-box view of what the runtime understood.
async fn echo(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    match req.path() {
        b"/panic" => panic!("dispatch panicked on purpose"),
        b"/error" => Err(nanoapi::Error::with_status(
            StatusCode::CONFLICT,
            "conflict on purpose",
        )),
        b"/silent" => Ok(()),
        b"/ignore-body" => w.send(Response::text(StatusCode::OK, "ignored")).await,
        b"/catch-body" => {
            // Answers a failed body read itself, as a framework does (its own error body).
            let answer = match req.read_to_end().await {
                Ok(body) => Response::text(StatusCode::OK, body),
                Err(err) => Response::text(err.status_or_500(), "caught"),
            };
            w.send(answer).await
        }
        b"/stream-body" => {
            // The response starts before the body is read, then echoes it chunk by chunk.
            let mut echo = w.start_chunked(Response::new(StatusCode::OK)).await?;
            while let Some(chunk) = req.read_chunk().await? {
                echo.send(chunk).await?;
            }
            echo.finish().await
        }
        b"/sink" => {
            use futures_util_lite::SinkExt;
            let mut body = w.start_chunked(Response::new(StatusCode::OK)).await?;
            for part in ["alpha", "beta"] {
                body.send_item(bytes::Bytes::from_static(part.as_bytes()))
                    .await?;
            }
            body.close_sink().await
        }
        b"/upgrade" => {
            let switching =
                Response::new(StatusCode::SWITCHING_PROTOCOLS).header("Upgrade", "shout")?;
            let io = w.upgrade(switching).await?;
            // The new protocol: every chunk comes back upper-cased, until the client closes.
            loop {
                let chunk = io.recv().await?;
                if chunk.is_empty() {
                    return Ok(());
                }
                io.send_all(bytes::BytesMut::from(&chunk.to_ascii_uppercase()[..]))
                    .await
                    .0?;
            }
        }
        _ => {
            let body = req.read_to_end().await?;
            let text = format!(
                "{} {} body={}",
                String::from_utf8_lossy(req.method_bytes()),
                String::from_utf8_lossy(req.target()),
                String::from_utf8_lossy(&body)
            );
            w.send(Response::text(StatusCode::OK, text)).await
        }
    }
}

/// The two `Sink` calls the test needs, without pulling in `futures-util`.
mod futures_util_lite {
    use std::future::poll_fn;
    use std::pin::Pin;

    use futures_sink::Sink;

    pub trait SinkExt<T>: Sink<T> + Unpin + Sized {
        async fn send_item(&mut self, item: T) -> Result<(), Self::Error> {
            poll_fn(|cx| Pin::new(&mut *self).poll_ready(cx)).await?;
            Pin::new(&mut *self).start_send(item)?;
            poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
        }

        async fn close_sink(&mut self) -> Result<(), Self::Error> {
            poll_fn(|cx| Pin::new(&mut *self).poll_close(cx)).await
        }
    }

    impl<T, S: Sink<T> + Unpin> SinkExt<T> for S {}
}

/// Runs a server of `echo` on `backend` and `client(addr)` on a blocking thread; returns what
/// the client returned.
fn with_server<R: Send + 'static>(
    backend: Backend,
    options: ConnOptions,
    client: impl FnOnce(SocketAddr) -> R + Send + 'static,
) -> R {
    common::with_dispatch(backend, (), options, echo, client)
}

/// Sends `pieces` one after the other, then reads until the server closes (or 5 s pass: a
/// failure the caller reports).
fn exchange(addr: SocketAddr, pieces: &[&[u8]]) -> (Vec<u8>, bool) {
    let mut stream = common::connect(addr);
    for piece in pieces {
        stream.write_all(piece).unwrap();
        stream.flush().unwrap();
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let closed = loop {
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break false;
            }
            Err(_) => break true,
        }
    };
    (got, closed)
}

fn statuses(response: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(response);
    text.match_indices("HTTP/1.1 ")
        .filter_map(|(at, _)| text.get(at + 9..at + 12)?.parse().ok())
        .collect()
}

/// Asks the server to close after answering.
const CLOSER: &[u8] = b"GET /closer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

struct Case {
    name: &'static str,
    request: &'static [u8],
    statuses: &'static [u16],
    closed: bool,
    contains: &'static str,
}

const CASES: &[Case] = &[
    Case { name: "get_keeps_alive", request: b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n", statuses: &[200], closed: false, contains: "GET /a?b=1 body=" },
    Case { name: "connection_close_closes", request: b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", statuses: &[200], closed: true, contains: "Connection: close" },
    Case { name: "close_token_anywhere_in_the_list", request: b"GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n", statuses: &[200], closed: true, contains: "" },
    Case { name: "http10_closes_by_default", request: b"GET / HTTP/1.0\r\n\r\n", statuses: &[200], closed: true, contains: "" },
    Case { name: "http10_keep_alive_is_echoed", request: b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", statuses: &[200], closed: false, contains: "Connection: keep-alive" },
    Case { name: "content_length_body", request: b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", statuses: &[200], closed: false, contains: "body=hello" },
    Case { name: "chunked_body", request: b"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", statuses: &[200], closed: false, contains: "body=hello" },
    Case { name: "pipelined_three_in_order", request: b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n", statuses: &[200, 200, 200], closed: false, contains: "GET /3" },
    Case { name: "bad_request_after_good_ones", request: b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n", statuses: &[200, 200, 400], closed: true, contains: "GET /2" },
    Case { name: "cl_and_te_is_400", request: b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", statuses: &[400], closed: true, contains: "" },
    Case { name: "smuggled_request_after_bad_chunk_is_not_served", request: b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\nGET /sneaky HTTP/1.1\r\nHost: x\r\n\r\n", statuses: &[400], closed: true, contains: "" },
    Case { name: "missing_host_is_400", request: b"GET / HTTP/1.1\r\n\r\n", statuses: &[400], closed: true, contains: "" },
    Case { name: "http2_preface_is_505", request: b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", statuses: &[505], closed: true, contains: "" },
    Case { name: "te_without_final_chunked_is_400", request: b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", statuses: &[400], closed: true, contains: "" },
    Case { name: "unknown_coding_before_chunked_is_501", request: b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", statuses: &[501], closed: true, contains: "" },
    Case { name: "head_has_length_and_no_body", request: b"HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n", statuses: &[200], closed: false, contains: "Content-Length: 13\r\n" },
    Case { name: "dispatch_error_status_and_keep_alive", request: b"GET /error HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n", statuses: &[409, 200], closed: false, contains: "GET /after" },
    Case { name: "dispatch_panic_is_500_and_close", request: b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n", statuses: &[500], closed: true, contains: "" },
    Case { name: "dispatch_without_response_is_500", request: b"GET /silent HTTP/1.1\r\nHost: x\r\n\r\n", statuses: &[500], closed: false, contains: "" },
    Case { name: "unread_body_is_drained_and_the_next_request_served", request: b"POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /next HTTP/1.1\r\nHost: x\r\n\r\n", statuses: &[200, 200], closed: false, contains: "GET /next" },
    Case { name: "chunked_body_through_the_sink", request: b"GET /sink HTTP/1.1\r\nHost: x\r\n\r\n", statuses: &[200], closed: false, contains: "5\r\nalpha\r\n4\r\nbeta\r\n0\r\n\r\n" },
    Case { name: "body_over_the_limit_is_413", request: b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n", statuses: &[413], closed: true, contains: "" },
];

#[test]
fn conformance_table() {
    for backend in common::backends() {
        with_server(backend, ConnOptions::default(), move |addr| {
            for case in CASES {
                // A closing request after the case: it is answered only if the case left the
                // connection open, and its close ends the read without waiting for a timeout.
                let (response, closed) = exchange(addr, &[case.request, CLOSER]);
                let mut expected = case.statuses.to_vec();
                if !case.closed {
                    expected.push(200);
                }
                assert_eq!(
                    statuses(&response),
                    expected,
                    "{backend:?} {}: {}",
                    case.name,
                    String::from_utf8_lossy(&response)
                );
                assert!(closed, "{backend:?} {}: the connection ends", case.name);
                let text = String::from_utf8_lossy(&response);
                assert!(
                    text.contains(case.contains),
                    "{backend:?} {}: {text}",
                    case.name
                );
                assert!(
                    text.contains("\r\nDate: "),
                    "{backend:?} {}: Date on every response",
                    case.name
                );
            }
        });
    }
}

#[test]
fn a_request_split_at_every_byte_is_understood() {
    let request: &[u8] = b"POST /split?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody";
    for backend in common::backends() {
        with_server(backend, ConnOptions::default(), move |addr| {
            for at in [1, 5, 17, 30, request.len() - 4, request.len() - 1] {
                let (response, _) = exchange(addr, &[&request[..at], &request[at..], CLOSER]);
                let text = String::from_utf8_lossy(&response);
                assert!(
                    text.contains("POST /split?q=1 body=body"),
                    "{backend:?} split at {at}: {text}"
                );
            }
        });
    }
}

#[test]
fn pipelining_depth_64_answers_in_order() {
    for backend in common::backends() {
        with_server(backend, ConnOptions::default(), move |addr| {
            let batch: Vec<u8> = (0..64)
                .flat_map(|i| format!("GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes())
                .collect();
            let (response, _) = exchange(addr, &[&batch, CLOSER]);
            let text = String::from_utf8_lossy(&response);
            let order: Vec<usize> = text
                .match_indices("GET /")
                .filter_map(|(at, _)| text[at + 5..].split(' ').next()?.parse().ok())
                .collect();
            assert_eq!(order, (0..64).collect::<Vec<_>>(), "{backend:?}");
        });
    }
}

#[test]
fn expect_continue_gets_100_before_the_body_is_read() {
    for backend in common::backends() {
        with_server(backend, ConnOptions::default(), move |addr| {
            let mut stream = common::connect(addr);
            stream.write_all(b"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n").unwrap();
            let mut buf = [0u8; 256];
            let n = stream.read(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"HTTP/1.1 100 Continue\r\n\r\n", "{backend:?}");
            stream.write_all(b"data").unwrap();
            let n = stream.read(&mut buf).unwrap();
            let text = String::from_utf8_lossy(&buf[..n]);
            assert!(
                text.starts_with("HTTP/1.1 200 OK") && text.ends_with("body=data"),
                "{backend:?}: {text}"
            );
        });
    }
}

/// Found by the `connection` fuzz target: a `100 Continue` sent when the body was read after
/// the final response had started landed inside the chunked body.
#[test]
fn expect_continue_after_the_response_started_sends_no_100() {
    for backend in common::backends() {
        with_server(backend, ConnOptions::default(), move |addr| {
            let mut stream = common::connect(addr);
            stream
                .write_all(b"POST /stream-body HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
                .unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).unwrap();
                assert!(n > 0, "{backend:?}: closed before the response head");
                got.extend_from_slice(&buf[..n]);
            }
            // The body goes only now: whatever the server queued while waiting for it (a
            // stray 100) comes before the echoed chunk.
            stream.write_all(b"data").unwrap();
            while !got.ends_with(b"0\r\n\r\n") {
                let n = stream.read(&mut buf).unwrap();
                assert!(
                    n > 0,
                    "{backend:?}: closed early: {}",
                    String::from_utf8_lossy(&got)
                );
                got.extend_from_slice(&buf[..n]);
            }
            let text = String::from_utf8_lossy(&got);
            assert_eq!(statuses(&got), [200], "{backend:?}: {text}");
            assert!(
                text.ends_with("\r\n\r\n4\r\ndata\r\n0\r\n\r\n"),
                "{backend:?}: {text}"
            );
        });
    }
}

/// Found by the `connection` fuzz target: draining an unread body sent `100 Continue` after
/// the final response. A client still waiting for the 100 now gets the response and a close.
#[test]
fn a_failed_body_read_answered_by_the_dispatcher_still_says_close() {
    for backend in common::backends() {
        with_server(backend, ConnOptions::default(), move |addr| {
            // A malformed chunk size, then a request smuggled behind it.
            let request: &[u8] = b"POST /catch-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
            let (response, closed) = exchange(addr, &[request]);
            let text = String::from_utf8_lossy(&response);
            assert_eq!(statuses(&response), [400], "{backend:?}: {text}");
            assert!(
                text.contains("\r\nConnection: close\r\n"),
                "{backend:?}: {text}"
            );
            assert!(text.ends_with("caught"), "{backend:?}: {text}");
            assert!(closed, "{backend:?}: the connection closes");
        });
    }
}

#[test]
fn expect_continue_with_an_unread_body_closes_without_100() {
    for backend in common::backends() {
        with_server(backend, ConnOptions::default(), move |addr| {
            let request: &[u8] = b"POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
            let (response, closed) = exchange(addr, &[request]);
            let text = String::from_utf8_lossy(&response);
            assert_eq!(statuses(&response), [200], "{backend:?}: {text}");
            assert!(text.ends_with("ignored"), "{backend:?}: {text}");
            assert!(closed, "{backend:?}: the connection closes");
        });
    }
}

#[test]
fn slow_headers_get_408_at_the_absolute_deadline() {
    let mut options = ConnOptions::default();
    options.timeouts.header = Duration::from_millis(200);
    for backend in common::backends() {
        with_server(backend, options.clone(), move |addr| {
            let mut stream = common::connect(addr);
            // Progress does not extend the deadline: a byte every 50 ms still ends at ~200 ms.
            let start = std::time::Instant::now();
            let mut response = Vec::new();
            for byte in b"GET / HTTP/1.1\r\nHost: x\r\n" {
                if stream.write_all(&[*byte]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
                if start.elapsed() > Duration::from_secs(2) {
                    break;
                }
            }
            let _ = stream.read_to_end(&mut response);
            assert_eq!(
                statuses(&response),
                [408],
                "{backend:?}: {}",
                String::from_utf8_lossy(&response)
            );
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "{backend:?}: the deadline is absolute"
            );
        });
    }
}

#[test]
fn size_limits_at_and_past_the_limit() {
    for backend in common::backends() {
        with_server(backend, ConnOptions::default(), move |addr| {
            // A target of 8,000 octets works (RFC 9112 §3 asks for at least that).
            let long_path = format!("/{}", "a".repeat(7_999));
            let request = format!("GET {long_path} HTTP/1.1\r\nHost: x\r\n\r\n");
            let (response, _) = exchange(addr, &[request.as_bytes(), CLOSER]);
            assert_eq!(
                statuses(&response),
                [200, 200],
                "{backend:?}: 8,000-octet target"
            );

            // Past 8 KiB: 414, sent as soon as the target is known to be too long (the rest of
            // the request never arrives, and the answer comes anyway).
            let too_long = format!("GET /{} HTTP/1.1\r\n", "b".repeat(9_000));
            let (response, closed) = exchange(addr, &[too_long.as_bytes()]);
            assert_eq!(statuses(&response), [414], "{backend:?}");
            assert!(closed, "{backend:?}: 414 closes");

            // A head over 16 KiB: 431.
            let big_header = format!(
                "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "c".repeat(17_000)
            );
            let (response, _) = exchange(addr, &[big_header.as_bytes()]);
            assert_eq!(statuses(&response), [431], "{backend:?}: head too large");

            // 100 fields pass; 101 are 431.
            for (fields, expected) in [(99, vec![200, 200]), (100, vec![431])] {
                let mut request = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
                for i in 0..fields {
                    request.push_str(&format!("X-F{i}: v\r\n"));
                }
                request.push_str("\r\n");
                let (response, _) = exchange(addr, &[request.as_bytes(), CLOSER]);
                assert_eq!(
                    statuses(&response),
                    expected,
                    "{backend:?}: Host + {fields} fields"
                );
            }
        });
    }
}

#[test]
fn a_thousand_concurrent_keep_alive_clients() {
    common::raise_fd_limit();
    for backend in common::backends() {
        with_server(backend, ConnOptions::default(), move |addr| {
            let mut clients: Vec<TcpStream> = (0..1000)
                .map(|_| TcpStream::connect(addr).unwrap())
                .collect();
            // Two requests on each connection, interleaved across all of them.
            for round in 0..2 {
                for (i, client) in clients.iter_mut().enumerate() {
                    client
                        .write_all(
                            format!("GET /c{i}/r{round} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
                        )
                        .unwrap();
                }
                for (i, client) in clients.iter_mut().enumerate() {
                    client
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    let expected = format!("GET /c{i}/r{round} body=");
                    let mut got = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !String::from_utf8_lossy(&got).ends_with(&expected) {
                        let n = client.read(&mut buf).unwrap();
                        assert!(n > 0, "{backend:?}: connection {i} closed");
                        got.extend_from_slice(&buf[..n]);
                    }
                }
            }
        });
    }
}

#[test]
fn upgrade_hands_over_the_stream_with_the_bytes_already_read() {
    for backend in common::backends() {
        with_server(backend, ConnOptions::default(), move |addr| {
            let mut stream = common::connect(addr);
            // The first bytes of the new protocol travel with the request.
            stream
                .write_all(b"GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: shout\r\n\r\nhello")
                .unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !got.ends_with(b"HELLO") {
                let n = stream.read(&mut buf).unwrap();
                assert!(
                    n > 0,
                    "{backend:?}: closed early: {}",
                    String::from_utf8_lossy(&got)
                );
                got.extend_from_slice(&buf[..n]);
            }
            let text = String::from_utf8_lossy(&got);
            assert!(
                text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
                "{backend:?}: {text}"
            );
            assert!(
                text.contains("Upgrade: shout\r\n") && text.contains("Connection: upgrade\r\n"),
                "{backend:?}: {text}"
            );
            stream.write_all(b"again").unwrap();
            let n = stream.read(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"AGAIN", "{backend:?}");
        });
    }
}
