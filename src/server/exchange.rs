//! The in-memory exchange: requests as bytes in, parsed responses out, with
//! [`serve_connection`] on the other end of a [`duplex`], inside one future.
//!
//! This is how tests, fuzzing, the `App`'s test client and the serverless adapters talk to a
//! dispatcher: through the same connection code as a socket, so framing, `HEAD`, static
//! responses, errors and panics behave exactly as over HTTP. No task is spawned and nothing
//! needs `'static`: [`Exchange`] polls the server future itself, beside the client side. It
//! needs the executor's timers, so run it under [`block_on`](crate::executor::block_on) or on a
//! worker.
//!
//! The client side writes all the request bytes at once, reads the responses with
//! [`ResponseParser`], and half-closes its side once it has read as many final responses as
//! complete requests were sent (the server then ends the connection as a peer's close makes
//! it).

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::ops::Deref;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};

use super::duplex::{Duplex, duplex};
use super::{ConnOptions, Dispatch, Transport, serve_connection};
use crate::error::{Error, Result};
use crate::http::{
    self, BodyFraming, Chunk, ChunkedDecoder, ChunkedLimits, Method, RequestHead, ResponseEvent,
    ResponseHead, ResponseParser, StatusCode,
};

/// How many response bytes the in-memory connection buffers before the server waits for the
/// client to read, as a socket's buffer would.
const RESPONSE_BUFFER: usize = 64 * 1024;

/// One complete response as a client received it.
///
/// Dereferences to its [`ResponseHead`]: `status()`, `reason()`, `version()`, `headers()`,
/// `header(name)`, `header_all(name)`.
///
/// # Examples
///
/// ```
/// use nanoapi::http::{Response, StatusCode};
/// use nanoapi::server::testing::exchange;
/// use nanoapi::server::{ConnOptions, Request, ResponseWriter};
///
/// async fn hello(_: &(), _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
///     w.send(Response::text(StatusCode::OK, "hello")).await
/// }
///
/// let responses = nanoapi::executor::block_on(exchange(
///     &(),
///     &hello,
///     &ConnOptions::default(),
///     &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
/// ))
/// .unwrap();
/// assert_eq!(responses[0].status(), StatusCode::OK);
/// assert_eq!(responses[0].header("content-type"), Some(&b"text/plain; charset=utf-8"[..]));
/// assert_eq!(responses[0].body, "hello");
/// assert!(!responses[0].closed);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientResponse {
    /// The status line and header fields.
    pub head: ResponseHead,
    /// The body, de-chunked.
    pub body: Bytes,
    /// The trailer fields that followed a chunked body (name, value), if any.
    pub trailers: Vec<(Bytes, Bytes)>,
    /// The server had closed the connection when this response was complete: it said
    /// `Connection: close`, or it ended the stream right after the response.
    pub closed: bool,
}

impl Deref for ClientResponse {
    type Target = ResponseHead;

    fn deref(&self) -> &ResponseHead {
        &self.head
    }
}

/// Sends `request` (raw HTTP/1.1 bytes: one request or several pipelined) to `dispatch` over
/// an in-memory connection served by [`serve_connection`] with `options`, and returns every
/// final response (interim `1xx` ones are skipped), in order.
///
/// # Errors
///
/// A response the client cannot parse, or an error [`serve_connection`] returned (a transport
/// or write-stall error; requests the server refuses are answered, not errors).
///
/// # Examples
///
/// ```
/// use nanoapi::http::{Response, StatusCode};
/// use nanoapi::server::testing::exchange;
/// use nanoapi::server::{ConnOptions, Request, ResponseWriter};
///
/// async fn echo(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
///     let body = req.read_to_end().await?;
///     w.send(Response::text(StatusCode::OK, body)).await
/// }
///
/// let wire = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi\
///              HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
/// let responses =
///     nanoapi::executor::block_on(exchange(&(), &echo, &ConnOptions::default(), &wire[..]))
///         .unwrap();
/// assert_eq!(responses.len(), 2);
/// assert_eq!(responses[0].body, "hi");
/// assert_eq!(responses[1].header("content-length"), Some(&b"0"[..]));
/// assert!(responses[1].body.is_empty() && responses[1].closed);
/// ```
pub async fn exchange<C, D: Dispatch<C>>(
    ctx: &C,
    dispatch: &D,
    options: &ConnOptions,
    request: impl Into<Bytes>,
) -> Result<Vec<ClientResponse>> {
    let mut exchange = Exchange::new(ctx, dispatch, options, request.into());
    let mut responses = Vec::new();
    while let Some(response) = exchange.next_response().await? {
        responses.push(response);
    }
    exchange.finish().await?;
    Ok(responses)
}

/// An in-memory connection in progress, read event by event: each final response's head,
/// then its body chunks as the server sends them, then its end. For streamed bodies (server-
/// sent events, Lambda response streaming) and for tests that watch a response arrive.
///
/// # Examples
///
/// ```
/// use nanoapi::http::{ResponseEvent, Response, StatusCode};
/// use nanoapi::server::testing::Exchange;
/// use nanoapi::server::{ConnOptions, Request, ResponseWriter};
///
/// async fn events(_: &(), _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
///     let mut body = w.start_chunked(Response::new(StatusCode::OK)).await?;
///     body.send("data: 1\n\n".into()).await?;
///     body.send("data: 2\n\n".into()).await?;
///     body.finish().await
/// }
///
/// nanoapi::executor::block_on(async {
///     let options = ConnOptions::default();
///     let wire = &b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n"[..];
///     let mut exchange = Exchange::new(&(), &events, &options, wire.into());
///     let Some(ResponseEvent::Head(head)) = exchange.next_event().await.unwrap() else {
///         panic!("a head comes first")
///     };
///     assert_eq!(head.header("transfer-encoding"), Some(&b"chunked"[..]));
///     let mut chunks = Vec::new();
///     while let Some(ResponseEvent::Data(chunk)) = exchange.next_event().await.unwrap() {
///         chunks.push(chunk);
///     }
///     assert_eq!(chunks, ["data: 1\n\n", "data: 2\n\n"]);
///     assert!(exchange.next_event().await.unwrap().is_none());
///     exchange.finish().await.unwrap();
/// });
/// ```
pub struct Exchange<'a> {
    /// `serve_connection` on the server's end; `None` once it returned.
    server: Option<Pin<Box<dyn Future<Output = Result<()>> + 'a>>>,
    /// What it returned, until someone takes it.
    server_result: Option<Result<()>>,
    client: Duplex,
    received: BytesMut,
    parser: ResponseParser,
    /// For each complete request sent and not yet answered: whether it is a `HEAD`.
    unanswered: VecDeque<bool>,
    /// The server's side ended.
    eof: bool,
    /// The current response is an interim (1xx) one, not reported.
    interim: bool,
    /// The last response's end was followed by the end of the stream.
    closed: bool,
}

impl<'a> Exchange<'a> {
    /// Starts serving `request` (raw bytes, one request or several pipelined) with `dispatch`;
    /// nothing runs until the exchange is polled.
    pub fn new<C, D: Dispatch<C>>(
        ctx: &'a C,
        dispatch: &'a D,
        options: &'a ConnOptions,
        request: Bytes,
    ) -> Exchange<'a> {
        let (client, server) = duplex(RESPONSE_BUFFER);
        let unanswered = complete_requests(&request);
        client.push(request);
        let mut parser = ResponseParser::default();
        parser.set_head_request(unanswered.front().copied().unwrap_or(false));
        let exchange = Exchange {
            server: Some(Box::pin(serve_connection(server, ctx, dispatch, options))),
            server_result: None,
            client,
            received: BytesMut::new(),
            parser,
            unanswered,
            eof: false,
            interim: false,
            closed: false,
        };
        if exchange.unanswered.is_empty() {
            exchange.end_requests();
        }
        exchange
    }

    /// The next part of the next final response (`Head`, then `Data` chunks, then `End`);
    /// `None` once the connection has ended.
    ///
    /// # Errors
    ///
    /// A response that does not parse, or the error [`serve_connection`] returned.
    pub async fn next_event(&mut self) -> Result<Option<ResponseEvent>> {
        poll_fn(|cx| self.poll_event(cx)).await
    }

    /// The next whole final response; `None` once the connection has ended.
    ///
    /// # Errors
    ///
    /// As [`next_event`](Self::next_event).
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::http::{Response, StatusCode};
    /// use nanoapi::server::testing::Exchange;
    /// use nanoapi::server::{ConnOptions, Request, ResponseWriter};
    ///
    /// async fn ok(_: &(), _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    ///     w.send(Response::text(StatusCode::OK, "ok")).await
    /// }
    ///
    /// nanoapi::executor::block_on(async {
    ///     let options = ConnOptions::default();
    ///     let wire = &b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..];
    ///     let mut exchange = Exchange::new(&(), &ok, &options, wire.into());
    ///     let response = exchange.next_response().await.unwrap().unwrap();
    ///     assert_eq!((response.status(), &response.body[..]), (StatusCode::OK, &b"ok"[..]));
    ///     assert!(response.closed && exchange.closed());
    ///     assert!(exchange.next_response().await.unwrap().is_none());
    ///     exchange.finish().await.unwrap();
    /// });
    /// ```
    pub async fn next_response(&mut self) -> Result<Option<ClientResponse>> {
        let Some(event) = self.next_event().await? else {
            return Ok(None);
        };
        let ResponseEvent::Head(head) = event else {
            return Err(Error::new("a response event before its head"));
        };
        let mut body = BytesMut::new();
        let mut trailers = Vec::new();
        loop {
            match self.next_event().await? {
                Some(ResponseEvent::Data(data)) => body.put_slice(&data),
                Some(ResponseEvent::Trailers(fields)) => trailers = fields,
                Some(ResponseEvent::End) => break,
                Some(ResponseEvent::Head(_)) | None => {
                    return Err(Error::new("a response ended without its end"));
                }
            }
        }
        let closed = head.closes() || self.closed;
        Ok(Some(ClientResponse {
            head,
            body: body.freeze(),
            trailers,
            closed,
        }))
    }

    /// Whether the server had ended the connection when the last response was complete.
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// Ends the client's side, reads and drops what the server still sends, and waits for
    /// [`serve_connection`] to return.
    ///
    /// # Errors
    ///
    /// The error [`serve_connection`] returned, or a response that does not parse.
    pub async fn finish(mut self) -> Result<()> {
        self.end_requests();
        while self.next_event().await?.is_some() {}
        if let Some(server) = self.server.take() {
            server.await?;
        }
        self.server_result.take().unwrap_or(Ok(()))
    }

    /// The client will send nothing more: the server reads end of stream after the requests.
    fn end_requests(&self) {
        // A duplex shutdown cannot fail.
        let _ = self.client.shutdown_write();
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<ResponseEvent>>> {
        loop {
            if let Some(server) = &mut self.server
                && let Poll::Ready(res) = server.as_mut().poll(cx)
            {
                self.server = None;
                self.server_result = Some(res);
            }
            if let Some(event) = self.parser.parse(&mut self.received).map_err(Error::new)? {
                if let Some(event) = self.on_event(event, cx) {
                    return Poll::Ready(Ok(Some(event)));
                }
                continue;
            }
            if self.eof {
                if let Some(Err(err)) = self.server_result.take() {
                    return Poll::Ready(Err(err));
                }
                let end = self.parser.end_of_stream(&self.received);
                return match end.map_err(Error::new)? {
                    Some(event) => match self.on_event(event, cx) {
                        Some(event) => Poll::Ready(Ok(Some(event))),
                        None => continue,
                    },
                    None => Poll::Ready(Ok(None)),
                };
            }
            match self.poll_recv(cx) {
                Poll::Ready(res) => res?,
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Receives once into `received`, or notes the end of the stream.
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let chunk = match pin!(self.client.recv()).poll(cx) {
            Poll::Ready(chunk) => chunk?,
            Poll::Pending => return Poll::Pending,
        };
        if chunk.is_empty() {
            self.eof = true;
        } else {
            self.received.put_slice(&chunk);
        }
        Poll::Ready(Ok(()))
    }

    /// Filters and books one parser event: interim responses are dropped, and the end of a
    /// final response moves on to the next request.
    fn on_event(&mut self, event: ResponseEvent, cx: &mut Context<'_>) -> Option<ResponseEvent> {
        match &event {
            ResponseEvent::Head(head) => {
                let status = head.status();
                self.interim = status.as_u16() < 200 && status != StatusCode::SWITCHING_PROTOCOLS;
                if self.interim {
                    return None;
                }
            }
            ResponseEvent::Data(_) | ResponseEvent::Trailers(_) => {}
            ResponseEvent::End if self.interim => {
                self.interim = false;
                return None;
            }
            ResponseEvent::End => {
                self.unanswered.pop_front();
                self.parser
                    .set_head_request(self.unanswered.front().copied().unwrap_or(false));
                // Did the server end the stream right after this response? Look once, before
                // this side's own half-close makes the server end it anyway.
                if self.received.is_empty() && !self.eof {
                    let _ = self.poll_recv(cx);
                }
                self.closed = self.eof && self.received.is_empty();
                if self.unanswered.is_empty() {
                    self.end_requests();
                }
            }
        }
        Some(event)
    }
}

impl fmt::Debug for Exchange<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("serving", &self.server.is_some())
            .field("unanswered", &self.unanswered.len())
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

/// For each complete request at the front of `wire`, in order: whether it is a `HEAD`. Counting
/// stops at the first incomplete or invalid one (the server answers or awaits that one).
fn complete_requests(wire: &[u8]) -> VecDeque<bool> {
    let limits = http::Limits {
        max_target: usize::MAX,
        max_head: usize::MAX,
        max_headers: usize::MAX,
    };
    let mut head = RequestHead::new();
    let mut requests = VecDeque::new();
    let mut at = 0;
    while let Ok(http::Status::Complete(len)) = head.parse_into(&wire[at..], &limits) {
        at += len;
        let body = match head.framing() {
            BodyFraming::None => Some(0),
            BodyFraming::Length(n) => usize::try_from(n).ok().filter(|&n| n <= wire.len() - at),
            BodyFraming::Chunked => chunked_len(&wire[at..]),
        };
        let Some(body) = body else { break };
        at += body;
        requests.push_back(head.method() == Method::Head);
    }
    requests
}

/// The length of the complete chunked body at the front of `wire`, if it is all there.
fn chunked_len(wire: &[u8]) -> Option<usize> {
    let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
    let mut at = 0;
    loop {
        match decoder.decode(&wire[at..]).ok()? {
            (consumed, Chunk::Data(_)) => at += consumed,
            (consumed, Chunk::Done) => return Some(at + consumed),
            (_, Chunk::NeedMore) => return None,
        }
    }
}

/// Encodes one HTTP/1.1 request: the request line, `headers` in order, `Host: localhost` if
/// they have no `Host`, `Content-Length` unless they frame the body themselves (added when
/// `body` is not empty or the method is neither `GET` nor `HEAD`), then `body`.
///
/// # Errors
///
/// A method that is not a token, a target with a byte outside visible ASCII, or a header name
/// or value that could not be sent as it is (a CR, LF or NUL would split the request): errors
/// with status 400, since the bytes usually come from outside (an event of a serverless
/// platform).
///
/// # Examples
///
/// ```
/// use nanoapi::server::testing::encode_request;
///
/// let wire = encode_request("POST", "/items?x=1", [("Content-Type", "application/json")], b"{}").unwrap();
/// assert_eq!(
///     &wire[..],
///     b"POST /items?x=1 HTTP/1.1\r\nContent-Type: application/json\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}"
/// );
/// assert!(encode_request("GET", "/", [("X", "a\r\nInjected: 1")], b"").is_err());
/// ```
pub fn encode_request<N, V>(
    method: &str,
    target: &str,
    headers: impl IntoIterator<Item = (N, V)>,
    body: &[u8],
) -> Result<Bytes>
where
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let bad = |what: &'static str| Error::with_status(StatusCode::BAD_REQUEST, what);
    if !is_token(method.as_bytes()) {
        return Err(bad("invalid request method"));
    }
    if target.is_empty() || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("invalid request target"));
    }
    let mut wire = BytesMut::with_capacity(64 + target.len() + body.len());
    wire.put_slice(method.as_bytes());
    wire.put_u8(b' ');
    wire.put_slice(target.as_bytes());
    wire.put_slice(b" HTTP/1.1\r\n");
    let (mut host, mut framed) = (false, false);
    for (name, value) in headers {
        let (name, value) = (name.as_ref(), value.as_ref());
        if !is_token(name) {
            return Err(bad("invalid header name"));
        }
        if !http::response::valid_field_value(value) {
            return Err(bad("invalid header value"));
        }
        host |= name.eq_ignore_ascii_case(b"host");
        framed |= name.eq_ignore_ascii_case(b"content-length")
            || name.eq_ignore_ascii_case(b"transfer-encoding");
        wire.put_slice(name);
        wire.put_slice(b": ");
        wire.put_slice(value);
        wire.put_slice(b"\r\n");
    }
    if !host {
        wire.put_slice(b"Host: localhost\r\n");
    }
    if !framed && (!body.is_empty() || !matches!(method, "GET" | "HEAD")) {
        wire.put_slice(b"Content-Length: ");
        http::append_decimal(&mut wire, body.len() as u64);
        wire.put_slice(b"\r\n");
    }
    wire.put_slice(b"\r\n");
    wire.put_slice(body);
    Ok(wire.freeze())
}

fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| http::is_token_byte(b))
}

#[cfg(test)]
mod tests;
