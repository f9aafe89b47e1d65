//! One HTTP/2 stream served by the dispatcher: the request's head becomes a [`Request`] (its
//! fields written once as an HTTP/1.1 head and parsed by the runtime's parser, so every rule
//! and limit of HTTP/1.1 applies), its DATA frames the request body; the [`ResponseWriter`]
//! sends the response as frames ([`StreamResponse`]).

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::io;
use std::rc::Rc;
use std::task::Poll;

use ::http as http_types;
use bytes::{BufMut, Bytes, BytesMut};
use h2::RecvStream;
use h2::server::SendResponse;
use nanoapi_executor::BufResult;

use super::respond::{CONNECTION_SPECIFIC, StreamResponse, h2_error};
use crate::http::{
    self, HeaderList, RequestHead, Status, StatusCode, encode_chunk,
    encode_last_chunk_with_trailers,
};
use crate::server::conn::{
    Conn, ConnSettings, DynConn, ResponseProgress, dispatch_exchange, error_response,
};
use crate::server::{ConnOptions, Dispatch, MetricsHook, Request, ResponseWriter, Transport};

/// What every stream of one HTTP/2 connection shares.
pub(super) struct StreamContext<'a, C, D> {
    pub(super) ctx: &'a C,
    pub(super) dispatch: &'a D,
    pub(super) options: &'a ConnOptions,
    pub(super) settings: Rc<ConnSettings>,
    /// The `Server` field of every response head that has none.
    pub(super) server: Option<::http::HeaderValue>,
}

/// Serves one stream: `request` through the static cache or the dispatcher, the answer to
/// `respond`.
pub(super) async fn serve_stream<C, D: Dispatch<C>>(
    shared: &StreamContext<'_, C, D>,
    request: http_types::Request<RecvStream>,
    respond: SendResponse<Bytes>,
) {
    let options = shared.options;
    let (parts, body) = request.into_parts();
    let has_body = !body.is_end_stream();
    let chunked = has_body
        && !parts
            .headers
            .contains_key(http_types::header::CONTENT_LENGTH);
    let head_bytes = http1_head(&parts, chunked);
    let is_head = parts.method == http_types::Method::HEAD;
    let response = Rc::new(StreamResponse::new(respond, shared.server.clone()));
    let limits = http::Limits {
        max_target: options.limits.max_target,
        max_head: options.limits.max_head,
        max_headers: options.limits.max_headers,
    };
    let mut head = RequestHead::default();
    let parsed = head.parse_into(&head_bytes, &limits);
    if !matches!(parsed, Ok(Status::Complete(_))) {
        // The codec let through what HTTP/1.1's rules refuse (a field value with a control
        // character, a target too long, too many fields): the status HTTP/1.1 would give.
        let status = match parsed {
            Err(err) => StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST),
            Ok(_) => StatusCode::BAD_REQUEST,
        };
        log::debug!("{:?}: bad HTTP/2 request: {status}", options.peer);
        answer_error(&response, status, is_head);
        return;
    }
    if !has_body
        && let Some(cache) = options.static_cache.as_deref().filter(|c| !c.is_empty())
        && let Some(entry) = cache.lookup(head.method_bytes(&head_bytes), head.path(&head_bytes))
    {
        let prepared = entry.select(|| head.header_all(&head_bytes, b"accept-encoding"));
        if let Some(MetricsHook(metrics)) = &options.metrics {
            metrics.request_completed(prepared.status(), std::time::Duration::ZERO);
        }
        if let Err(err) = prepared.send_http2(&response, is_head) {
            log::debug!("HTTP/2 stream: {err}");
        }
        return;
    }
    let body = StreamBody {
        body: RefCell::new(Some(body)),
        chunked,
    };
    let conn = Rc::new(Conn::new(body, shared.settings.clone(), options.peer));
    conn.exchange.borrow_mut().begin(
        head.framing(),
        false,
        true,
        options.limits.max_body,
        options.limits.max_drain,
    );
    let conn: Rc<DynConn> = conn;
    let mut req = Request::new(head, Bytes::from(head_bytes), conn.clone());
    let mut writer = ResponseWriter::for_http2(conn.clone(), is_head, response.clone());
    let metrics = options
        .metrics
        .as_ref()
        .map(|MetricsHook(metrics)| &**metrics);
    let settled = dispatch_exchange(shared.ctx, shared.dispatch, &mut req, &mut writer, metrics);
    if let Err(err) = settled.await {
        log::debug!("HTTP/2 stream: {err}");
    }
    // A streamed body stopped halfway (or never started): the client learns it from a reset.
    let progress = conn.exchange.borrow().response_progress();
    if !response.is_done() || !matches!(progress, ResponseProgress::Sent { .. }) {
        response.reset();
    }
}

/// Answers a request refused before the dispatcher with the runtime's error response.
fn answer_error(response: &StreamResponse, status: StatusCode, is_head: bool) {
    let (status, fields, body) = error_response(status).into_parts();
    let body = body.into_bytes().unwrap_or_default();
    let end = is_head || body.is_empty();
    let sent = response
        .send_head(status, &fields, Some(body.len() as u64), end)
        .and_then(|()| {
            if end {
                Ok(())
            } else {
                response.send_whole(body)
            }
        });
    if let Err(err) = sent {
        log::debug!("HTTP/2 stream: {err}");
    }
}

/// The HTTP/1.1 head of an HTTP/2 request: the request line from `:method` and `:path`, `Host`
/// from `:authority`, the fields (cookies joined as RFC 9113 §8.2.3 says), and `chunked`
/// framing when a body comes without a length.
fn http1_head(parts: &http_types::request::Parts, chunked: bool) -> BytesMut {
    let mut head = BytesMut::with_capacity(256);
    head.put_slice(parts.method.as_str().as_bytes());
    head.put_u8(b' ');
    let target = match &parts.method {
        &http_types::Method::CONNECT => parts.uri.authority().map_or("", |a| a.as_str()),
        _ => parts.uri.path_and_query().map_or("/", |p| p.as_str()),
    };
    head.put_slice(target.as_bytes());
    head.put_slice(b" HTTP/1.1\r\n");
    let authority = parts.uri.authority().map(|a| a.as_str().as_bytes());
    let host = authority.or_else(|| {
        parts
            .headers
            .get(http_types::header::HOST)
            .map(|h| h.as_bytes())
    });
    if let Some(host) = host {
        put_field(&mut head, b"host", host);
    }
    let mut cookies = parts.headers.get_all(http_types::header::COOKIE).iter();
    if let Some(first) = cookies.next() {
        head.put_slice(b"cookie: ");
        head.put_slice(first.as_bytes());
        for cookie in cookies {
            head.put_slice(b"; ");
            head.put_slice(cookie.as_bytes());
        }
        head.put_slice(b"\r\n");
    }
    for (name, value) in &parts.headers {
        // `expect`: the body comes as it is sent, so no interim response is wanted.
        if matches!(name.as_str(), "host" | "cookie" | "expect" | "te")
            || CONNECTION_SPECIFIC.contains(&name.as_str())
        {
            continue;
        }
        put_field(&mut head, name.as_str().as_bytes(), value.as_bytes());
    }
    if chunked {
        head.put_slice(b"transfer-encoding: chunked\r\n");
    }
    head.put_slice(b"\r\n");
    head
}

fn put_field(head: &mut BytesMut, name: &[u8], value: &[u8]) {
    head.put_slice(name);
    head.put_slice(b": ");
    head.put_slice(value);
    head.put_slice(b"\r\n");
}

/// The request body of a stream as the connection code reads a body: its DATA frames (as
/// chunks when the request declared no length, then its trailing HEADERS as the trailer
/// section), the client's window given back as each frame is taken.
struct StreamBody {
    /// `None` once the body has ended.
    body: RefCell<Option<RecvStream>>,
    chunked: bool,
}

impl StreamBody {
    /// The next DATA frame's bytes, or `None` at the end of the body.
    async fn next_data(&self) -> io::Result<Option<Bytes>> {
        poll_fn(|cx| {
            let mut slot = self.body.borrow_mut();
            let Some(body) = slot.as_mut() else {
                return Poll::Ready(Ok(None));
            };
            loop {
                match body.poll_data(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(None) => return Poll::Ready(Ok(None)),
                    Poll::Ready(Some(Err(err))) => return Poll::Ready(Err(io_error(err))),
                    Poll::Ready(Some(Ok(data))) if data.is_empty() => {}
                    Poll::Ready(Some(Ok(data))) => {
                        let released = body.flow_control().release_capacity(data.len());
                        return Poll::Ready(released.map(|()| Some(data)).map_err(io_error));
                    }
                }
            }
        })
        .await
    }

    /// The trailing HEADERS, once the DATA frames are over, as a last chunk.
    async fn last_chunk(&self) -> io::Result<Bytes> {
        let trailers = poll_fn(|cx| match self.body.borrow_mut().as_mut() {
            Some(body) => body.poll_trailers(cx),
            None => Poll::Ready(Ok(None)),
        })
        .await
        .map_err(io_error)?;
        // Checked as header fields are: the framing fields are left out.
        let mut fields = HeaderList::new();
        for (name, value) in trailers.iter().flatten() {
            if let Err(err) = fields.append(name.as_str().to_owned(), value.as_bytes().to_vec()) {
                log::debug!("HTTP/2 request trailer {name} left out: {err}");
            }
        }
        let mut last = BytesMut::new();
        encode_last_chunk_with_trailers(&mut last, &fields);
        Ok(last.freeze())
    }
}

impl Transport for StreamBody {
    type Chunk = Bytes;

    async fn recv(&self) -> io::Result<Bytes> {
        if self.body.borrow().is_none() {
            return Ok(Bytes::new());
        }
        match self.next_data().await? {
            Some(data) if self.chunked => {
                let mut chunk = BytesMut::with_capacity(data.len() + 12);
                encode_chunk(&mut chunk, &data);
                Ok(chunk.freeze())
            }
            Some(data) => Ok(data),
            None => {
                let last = if self.chunked {
                    self.last_chunk().await?
                } else {
                    Bytes::new()
                };
                self.body.borrow_mut().take();
                Ok(last)
            }
        }
    }

    /// The response goes out through [`StreamResponse`]; nothing is written here.
    fn send_all(&self, buf: BytesMut) -> impl Future<Output = BufResult<(), BytesMut>> {
        std::future::ready((Ok(()), buf))
    }

    fn shutdown_write(&self) -> io::Result<()> {
        Ok(())
    }
}

fn io_error(err: h2::Error) -> io::Error {
    io::Error::other(h2_error(err))
}
