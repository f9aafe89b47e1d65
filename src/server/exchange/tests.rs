use std::cell::{Cell, RefCell};
use std::io;
use std::task::Waker;

use super::*;
use crate::executor::{Runtime, block_on};
use crate::http::{Body, Response, Version};
use crate::server::{Options, Request, ResponseWriter};

async fn echo(_: &(), req: &mut Request, w: &mut ResponseWriter) -> Result<()> {
    match req.path() {
        b"/panic" => panic!("dispatch panicked on purpose"),
        b"/big" => {
            w.send(Response::text(StatusCode::OK, vec![b'x'; 200_000]))
                .await
        }
        b"/sized" => {
            let body = Body::sized_stream(12, pieces(&["hello, ", "world"]));
            w.send(Response::from_parts(
                StatusCode::OK,
                Default::default(),
                body,
            ))
            .await
        }
        b"/sized-short" => {
            let body = Body::sized_stream(10, pieces(&["short"]));
            w.send(Response::from_parts(
                StatusCode::OK,
                Default::default(),
                body,
            ))
            .await
        }
        b"/sized-long" => {
            let body = Body::sized_stream(3, pieces(&["ab", "cd"]));
            w.send(Response::from_parts(
                StatusCode::OK,
                Default::default(),
                body,
            ))
            .await
        }
        b"/chunked" => {
            let mut body = w.start_chunked(Response::new(StatusCode::OK)).await?;
            body.send("one,".into()).await?;
            body.send("two".into()).await?;
            body.finish().await
        }
        _ => {
            let body = req.read_to_end().await?;
            w.send(Response::text(StatusCode::OK, body)).await
        }
    }
}

/// A stream of these pieces, all ready at once.
fn pieces(pieces: &'static [&'static str]) -> impl futures_core::Stream<Item = io::Result<Bytes>> {
    let mut pieces = pieces.iter();
    stream_from_fn(move || pieces.next().map(|p| Ok(Bytes::from_static(p.as_bytes()))))
}

/// A stream over a closure that is always ready.
fn stream_from_fn<T>(
    next: impl FnMut() -> Option<T> + Unpin,
) -> impl futures_core::Stream<Item = T> {
    struct FromFn<F>(F);
    impl<T, F: FnMut() -> Option<T> + Unpin> futures_core::Stream for FromFn<F> {
        type Item = T;
        fn poll_next(mut self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
            Poll::Ready((self.0)())
        }
    }
    FromFn(next)
}

fn run(wire: &[u8]) -> Vec<ClientResponse> {
    block_on(exchange(
        &(),
        &echo,
        &ConnOptions::default(),
        Bytes::copy_from_slice(wire),
    ))
    .unwrap()
}

fn summary(responses: &[ClientResponse]) -> Vec<(u16, &[u8], bool)> {
    responses
        .iter()
        .map(|r| (r.status().as_u16(), &r.body[..], r.closed))
        .collect()
}

#[test]
fn pipelined_requests_are_answered_in_order_with_their_framing() {
    let responses = run(
        b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc\
HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n\
POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n\
GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n\
GET /big HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let big = vec![b'x'; 200_000];
    assert_eq!(
        summary(&responses),
        [
            (200, &b"abc"[..], false),
            (200, b"", false),
            (200, b"hi", false),
            (200, b"one,two", false),
            (200, &big[..], false),
        ]
    );
    assert_eq!(
        responses[1].header("content-length"),
        Some(&b"0"[..]),
        "HEAD of an empty body"
    );
    assert_eq!(
        responses[3].header("transfer-encoding"),
        Some(&b"chunked"[..])
    );
    assert_eq!(responses[0].version(), Version::Http11);
}

#[test]
fn connection_close_ends_the_exchange_after_its_response() {
    let responses = run(b"GET /1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n\
GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(summary(&responses), [(200, &b""[..], true)]);
}

#[test]
fn a_panicking_dispatcher_is_a_500_and_a_close() {
    let responses = run(b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(
        summary(&responses),
        [(500, &b"Internal Server Error"[..], true)]
    );
}

#[test]
fn a_bad_request_after_good_ones_is_a_400_and_a_close() {
    let responses = run(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    assert_eq!(
        summary(&responses),
        [(200, &b""[..], false), (400, b"Bad Request", true)]
    );
}

#[test]
fn incomplete_requests_end_with_the_client_side() {
    assert!(run(b"").is_empty());
    assert!(run(b"GET / HTTP/1.1\r\nHost").is_empty());
    // The head is complete, so the dispatcher runs and reads a body cut short.
    let responses = run(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab");
    assert_eq!(summary(&responses), [(400, &b"Bad Request"[..], true)]);
}

#[test]
fn interim_continue_responses_are_skipped() {
    let responses =
        run(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok");
    assert_eq!(summary(&responses), [(200, &b"ok"[..], false)]);
}

#[test]
fn static_responses_are_served_as_over_a_socket() {
    let options = Options::default().static_response(
        "GET",
        "/static",
        Response::text(StatusCode::OK, "cached"),
    );
    let conn_options = ConnOptions {
        static_cache: Some(std::sync::Arc::new(
            options.static_routes.render(Some(b"nanoapi")),
        )),
        ..ConnOptions::default()
    };
    let wire =
        &b"GET /static HTTP/1.1\r\nHost: x\r\n\r\nHEAD /static HTTP/1.1\r\nHost: x\r\n\r\n"[..];
    let responses = block_on(exchange(&(), &echo, &conn_options, wire)).unwrap();
    assert_eq!(
        summary(&responses),
        [(200, &b"cached"[..], false), (200, b"", false)]
    );
    assert_eq!(responses[1].header("content-length"), Some(&b"6"[..]));
}

/// A gate the test opens while the dispatcher waits on it.
#[derive(Default)]
struct Gate {
    open: Cell<bool>,
    waiter: RefCell<Option<Waker>>,
}

impl Gate {
    async fn wait(&self) {
        poll_fn(|cx| {
            if self.open.get() {
                return Poll::Ready(());
            }
            *self.waiter.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    fn open(&self) {
        self.open.set(true);
        if let Some(waker) = self.waiter.take() {
            waker.wake();
        }
    }
}

async fn gated_stream(gate: &Gate, _: &mut Request, w: &mut ResponseWriter) -> Result<()> {
    let mut body = w.start_chunked(Response::new(StatusCode::OK)).await?;
    body.send("first".into()).await?;
    gate.wait().await;
    body.send("second".into()).await?;
    body.finish().await
}

#[test]
fn streamed_chunks_arrive_before_the_response_ends() {
    block_on(async {
        let gate = Gate::default();
        let options = ConnOptions::default();
        let wire = Bytes::from_static(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut exchange = Exchange::new(&gate, &gated_stream, &options, wire);
        assert!(matches!(
            exchange.next_event().await.unwrap(),
            Some(ResponseEvent::Head(_))
        ));
        assert_eq!(
            exchange.next_event().await.unwrap(),
            Some(ResponseEvent::Data("first".into()))
        );
        assert!(
            !gate.open.get(),
            "the first chunk came while the dispatcher waits"
        );
        gate.open();
        assert_eq!(
            exchange.next_event().await.unwrap(),
            Some(ResponseEvent::Data("second".into()))
        );
        assert_eq!(
            exchange.next_event().await.unwrap(),
            Some(ResponseEvent::End)
        );
        assert_eq!(exchange.next_event().await.unwrap(), None);
        exchange.finish().await.unwrap();
    });
}

#[test]
fn an_exchange_runs_on_a_worker() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let statuses = rt.block_on_each(|_| async {
        let wire = Bytes::from_static(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let responses = exchange(&(), &echo, &ConnOptions::default(), wire)
            .await
            .unwrap();
        responses
            .iter()
            .map(|r| r.status().as_u16())
            .collect::<Vec<_>>()
    });
    assert_eq!(statuses, [vec![200]]);
}

#[test]
fn encoded_requests_frame_their_bodies() {
    let get = encode_request("GET", "/", [("Host", "h")], b"").unwrap();
    assert_eq!(&get[..], b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let delete = encode_request::<&str, &str>("DELETE", "/x", [], b"").unwrap();
    assert_eq!(
        &delete[..],
        b"DELETE /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
    );
    let responses = run(&encode_request("PUT", "/", [("X-A", "1")], b"body").unwrap());
    assert_eq!(summary(&responses), [(200, &b"body"[..], false)]);
}

#[test]
fn encoding_refuses_what_would_split_the_request() {
    let refused = |method: &str, target: &str, name: &str, value: &str| {
        encode_request(method, target, [(name, value)], b"")
            .unwrap_err()
            .status()
    };
    let bad = Some(StatusCode::BAD_REQUEST);
    assert_eq!(refused("GE T", "/", "A", "b"), bad);
    assert_eq!(refused("GET", "/a b", "A", "b"), bad);
    assert_eq!(refused("GET", "", "A", "b"), bad);
    assert_eq!(refused("GET", "/\r\n", "A", "b"), bad);
    assert_eq!(refused("GET", "/", "A:", "b"), bad);
    assert_eq!(refused("GET", "/", "A", "b\r\nX: y"), bad);
    assert_eq!(refused("GET", "/", "A", "b\0"), bad);
}

#[test]
fn a_sized_stream_goes_out_with_its_length_and_keeps_the_connection() {
    let responses =
        run(b"GET /sized HTTP/1.1\r\nHost: x\r\n\r\nHEAD /sized HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(
        summary(&responses),
        [(200, &b"hello, world"[..], false), (200, b"", false)]
    );
    for resp in &responses {
        assert_eq!(resp.header("content-length"), Some(&b"12"[..]));
        assert_eq!(resp.header("transfer-encoding"), None);
    }
}

#[test]
fn a_sized_stream_that_breaks_its_length_aborts_the_connection() {
    for path in ["/sized-short", "/sized-long"] {
        let wire =
            format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let result = block_on(exchange(
            &(),
            &echo,
            &ConnOptions::default(),
            Bytes::from(wire),
        ));
        let err = result.expect_err("the client sees a body cut short");
        assert!(err.to_string().contains("clos"), "{path}: {err}");
    }
}
