//! `ResponseWriter`: how a dispatcher answers. Responses are encoded into the connection's out
//! buffer and written at the end of the pipelined batch (or sooner, past a high-water mark);
//! chunked streams reach the socket chunk by chunk.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use nanoapi_executor::BufResult;
use nanoapi_executor::future::first_of;

use super::conn::{DynConn, ResponseProgress};
#[cfg(feature = "http2")]
use super::http2::StreamResponse;
use super::{ShutdownSignal, Transport};
use crate::error::{Error, Result};
use crate::http::{
    Body, Framing, FramingKind, HeaderList, Response, ResponseContext, StatusCode, Version,
    encode_chunk, encode_last_chunk, encode_last_chunk_with_trailers, http_date, send_response,
};

/// Queued output past which `send` writes before returning: one response that large is sent
/// at once, and a pipelined batch does not grow without bound while the client is not reading.
pub(crate) const OUT_HIGH_WATER: usize = 64 * 1024;

/// Answers one request: [`send`](ResponseWriter::send) a [`Response`], or
/// [`start_chunked`](ResponseWriter::start_chunked) and stream.
///
/// The writer owns the framing: it adds `Date`, `Server`, `Content-Length` or
/// `Transfer-Encoding`, and `Connection`; answers `HEAD` with the headers of `GET` and no body;
/// sends no body and no length for 1xx, 204 and 304. One response per request.
pub struct ResponseWriter {
    /// The connection, which holds the out buffer and the exchange's state.
    conn: Rc<DynConn>,
    version: Version,
    head_request: bool,
    /// The status sent, once sent.
    status: Option<StatusCode>,
    /// The HTTP/2 stream the response goes to, for a request that came in one (the connection
    /// then carries only the request).
    #[cfg(feature = "http2")]
    http2: Option<Rc<StreamResponse>>,
}

impl ResponseWriter {
    /// The writer of the exchange under way on `conn`.
    pub(crate) fn new(conn: Rc<DynConn>, version: Version, head_request: bool) -> ResponseWriter {
        ResponseWriter {
            conn,
            version,
            head_request,
            status: None,
            #[cfg(feature = "http2")]
            http2: None,
        }
    }

    /// The writer of an HTTP/2 stream's exchange: the response goes out as frames.
    #[cfg(feature = "http2")]
    pub(crate) fn for_http2(
        conn: Rc<DynConn>,
        head_request: bool,
        stream: Rc<StreamResponse>,
    ) -> ResponseWriter {
        ResponseWriter {
            http2: Some(stream),
            ..ResponseWriter::new(conn, Version::Http11, head_request)
        }
    }

    /// Queues `resp` (a stream body is written out as it is produced).
    ///
    /// # Errors
    ///
    /// A second response for the same request; a transport failure while flushing; an error
    /// from a streamed body (the connection is then aborted).
    pub async fn send(&mut self, resp: Response) -> Result<()> {
        self.check_unsent()?;
        #[cfg(feature = "http2")]
        if let Some(stream) = self.http2.clone() {
            return self.send_http2(&stream, resp).await;
        }
        let framing = self.encode_head(&resp);
        if framing.streams_body() {
            let events = is_event_stream(&resp);
            let (_, _, body) = resp.into_parts();
            let (Body::Stream(stream) | Body::SizedStream { stream, .. }) = body else {
                unreachable!("only stream bodies are streamed")
            };
            // An event stream never ends on its own, and its clients reconnect: at a drain it
            // ends after the event in progress, rather than hold the shutdown to its timeout.
            let drain = if events {
                self.conn.shutdown_signal().cloned()
            } else {
                None
            };
            self.set_progress(ResponseProgress::Streaming {
                keep_alive_after: framing.keep_alive_after,
            });
            return self.stream_body(framing.kind, stream, drain).await;
        }
        self.set_progress(ResponseProgress::Sent {
            keep_alive_after: framing.keep_alive_after,
        });
        if self.conn.queued() >= OUT_HIGH_WATER {
            self.conn.flush_dyn().await?;
        }
        Ok(())
    }

    /// Writes everything queued to the peer now, instead of at the end of the pipelined batch:
    /// for work that should start only once the response is on its way (background tasks).
    ///
    /// # Errors
    ///
    /// A transport failure or the write-stall timeout.
    pub async fn flush(&mut self) -> Result<()> {
        #[cfg(feature = "http2")]
        if let Some(stream) = &self.http2 {
            return stream.flush().await;
        }
        self.conn.flush_dyn().await
    }

    /// Sends the head of `head` (its body is ignored) and returns a sink for the body, chunked
    /// on HTTP/1.1 and close-delimited on HTTP/1.0. Everything queued before goes out first.
    ///
    /// # Errors
    ///
    /// A second response for the same request, or a transport failure.
    pub async fn start_chunked(&mut self, head: Response) -> Result<ChunkedBody<'_>> {
        self.check_unsent()?;
        let (status, headers, _) = head.into_parts();
        let head = Response::from_parts(status, headers, Body::stream(futures_empty()));
        #[cfg(feature = "http2")]
        if let Some(stream) = self.http2.clone() {
            let kind = self.send_http2_head(&stream, &head)?;
            return Ok(ChunkedBody {
                writer: self,
                kind,
                finished: false,
                pending_flush: None,
            });
        }
        let framing = self.encode_head(&head);
        let keep_alive_after = framing.keep_alive_after;
        self.set_progress(if framing.streams_body() {
            ResponseProgress::Streaming { keep_alive_after }
        } else {
            ResponseProgress::Sent { keep_alive_after }
        });
        self.conn.flush_dyn().await?;
        Ok(ChunkedBody {
            writer: self,
            kind: framing.kind,
            finished: false,
            pending_flush: None,
        })
    }

    /// Answers with `resp` (which must be `101 Switching Protocols`, with its `Upgrade`
    /// header) and hands over the connection: bytes the client sent after its request (already
    /// read) come first out of the returned transport. When the dispatcher returns, the
    /// connection closes; HTTP is over on it.
    ///
    /// # Errors
    ///
    /// A status other than 101, a second response, or a transport failure.
    pub async fn upgrade(&mut self, resp: Response) -> Result<Upgraded> {
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            return Err(Error::new(
                "upgrade needs a 101 Switching Protocols response",
            ));
        }
        self.check_unsent()?;
        #[cfg(feature = "http2")]
        if self.http2.is_some() {
            return Err(Error::new("an HTTP/2 stream cannot be upgraded"));
        }
        self.encode_head(&resp);
        self.set_progress(ResponseProgress::Upgraded);
        self.conn.flush_dyn().await?;
        // The new protocol reads and writes with buffers of its own: the connection's go back
        // to the worker (the receive buffer unless it holds bytes sent after the request).
        self.conn.release_idle_buffers();
        Ok(Upgraded {
            conn: self.conn.clone(),
        })
    }

    /// Whether a response (or the start of one) was sent.
    pub fn is_sent(&self) -> bool {
        self.progress() != ResponseProgress::None
    }

    /// The status of the response sent, if any.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    fn progress(&self) -> ResponseProgress {
        self.conn.exchange.borrow().response_progress()
    }

    fn set_progress(&self, progress: ResponseProgress) {
        self.conn.exchange.borrow_mut().set_response(progress);
    }

    fn check_unsent(&self) -> Result<()> {
        if self.is_sent() {
            return Err(Error::new("a response was already sent for this request"));
        }
        Ok(())
    }

    fn encode_head(&mut self, resp: &Response) -> Framing {
        self.status = Some(resp.status());
        let keep_alive = self.conn.exchange.borrow_mut().start_response();
        let date = http_date();
        let ctx = ResponseContext {
            version: self.version,
            keep_alive,
            head_request: self.head_request,
            date: &date,
            server: self.conn.server_header(),
        };
        send_response(resp, &ctx, &mut self.conn.out())
    }

    /// [`send`](ResponseWriter::send) on an HTTP/2 stream.
    #[cfg(feature = "http2")]
    async fn send_http2(&mut self, stream: &StreamResponse, resp: Response) -> Result<()> {
        let kind = self.send_http2_head(stream, &resp)?;
        let events = is_event_stream(&resp);
        let (_, _, body) = resp.into_parts();
        match (kind, body) {
            (FramingKind::None | FramingKind::Length(0), _) => Ok(()),
            (FramingKind::Length(_), Body::Bytes(bytes)) => stream.send_whole(bytes),
            (FramingKind::Length(_), Body::Static(bytes)) => {
                stream.send_whole(Bytes::from_static(bytes))
            }
            (_, Body::Stream(body) | Body::SizedStream { stream: body, .. }) => {
                let drain = if events {
                    self.conn.shutdown_signal().cloned()
                } else {
                    None
                };
                self.stream_body(kind, body, drain).await
            }
            (_, Body::Empty | Body::Bytes(_) | Body::Static(_)) => {
                unreachable!("a body in memory has a length")
            }
        }
    }

    /// Sends `resp`'s head on an HTTP/2 stream (ending the stream when no body follows) and
    /// records the response as started; what follows the head.
    #[cfg(feature = "http2")]
    fn send_http2_head(&mut self, stream: &StreamResponse, resp: &Response) -> Result<FramingKind> {
        self.status = Some(resp.status());
        self.conn.exchange.borrow_mut().start_response();
        let (length, kind) = crate::http::encode::http2_framing(resp, self.head_request);
        let ends = matches!(kind, FramingKind::None | FramingKind::Length(0));
        let sent = stream.send_head(resp.status(), resp.headers(), length, ends);
        // HTTP/2 ends each response with its stream: the connection goes on either way.
        self.set_progress(if ends || matches!(kind, FramingKind::Length(_)) {
            ResponseProgress::Sent {
                keep_alive_after: true,
            }
        } else {
            ResponseProgress::Streaming {
                keep_alive_after: true,
            }
        });
        sent.map(|()| kind)
    }

    async fn stream_body(
        &mut self,
        kind: FramingKind,
        mut stream: crate::http::BodyStream,
        drain: Option<ShutdownSignal>,
    ) -> Result<()> {
        let mut body = ChunkedBody {
            writer: self,
            kind,
            finished: false,
            pending_flush: None,
        };
        // A sized stream must yield exactly its declared length: anything else would
        // desynchronise the peer, so the connection is aborted (the early returns drop `body`
        // unfinished).
        let mut left = match kind {
            FramingKind::SizedStream(len) => Some(len),
            _ => None,
        };
        loop {
            let next = pin!(poll_fn(|cx| stream.as_mut().poll_next(cx)));
            let next = match &drain {
                Some(drain) => match first_of(next, pin!(drain.raised())).await {
                    Some(next) => next,
                    None => break,
                },
                None => next.await,
            };
            let Some(chunk) = next else { break };
            let chunk = chunk?;
            if let Some(left) = &mut left {
                *left = left.checked_sub(chunk.len() as u64).ok_or_else(|| {
                    Error::new("a sized response body yielded more than its Content-Length")
                })?;
            }
            body.send(chunk).await?;
        }
        if left.is_some_and(|left| left > 0) {
            return Err(Error::new(
                "a sized response body ended before its Content-Length",
            ));
        }
        body.finish().await
    }
}

impl fmt::Debug for ResponseWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseWriter")
            .field("response", &self.progress())
            .finish_non_exhaustive()
    }
}

/// Whether `resp` is a stream of server-sent events (`Content-Type: text/event-stream`).
fn is_event_stream(resp: &Response) -> bool {
    resp.headers()
        .get("content-type")
        .and_then(|value| value.get(..17))
        .is_some_and(|essence| essence.eq_ignore_ascii_case(b"text/event-stream"))
}

/// A stream that ends at once: the placeholder body of a head sent by `start_chunked`.
fn futures_empty() -> impl futures_core::Stream<Item = std::io::Result<Bytes>> {
    struct Empty;
    impl futures_core::Stream for Empty {
        type Item = std::io::Result<Bytes>;
        fn poll_next(
            self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(None)
        }
    }
    Empty
}

/// The body of a streamed response: each [`send`](ChunkedBody::send) reaches the socket
/// before it returns (real-time streams such as server-sent events), and
/// [`finish`](ChunkedBody::finish) ends the body. Dropping it unfinished aborts the connection.
pub struct ChunkedBody<'w> {
    writer: &'w mut ResponseWriter,
    kind: FramingKind,
    finished: bool,
    /// The write a [`Sink`](futures_sink::Sink) flush started and has not finished.
    pending_flush: Option<Pin<Box<dyn Future<Output = Result<()>>>>>,
}

impl ChunkedBody<'_> {
    /// Writes one piece of the body (empty pieces are skipped: an empty chunk would end it).
    ///
    /// # Errors
    ///
    /// A transport failure (the peer went away); the connection is then aborted.
    pub async fn send(&mut self, chunk: Bytes) -> Result<()> {
        self.queue(chunk);
        self.flush().await
    }

    /// Writes everything queued.
    ///
    /// # Errors
    ///
    /// A transport failure; the connection is then aborted.
    pub async fn flush(&mut self) -> Result<()> {
        #[cfg(feature = "http2")]
        let res = match &self.writer.http2 {
            Some(stream) => stream.flush().await,
            None => self.writer.conn.flush_dyn().await,
        };
        #[cfg(not(feature = "http2"))]
        let res = self.writer.conn.flush_dyn().await;
        if res.is_err() {
            self.writer.set_progress(ResponseProgress::Aborted);
        }
        res
    }

    /// Ends the body (the last chunk on HTTP/1.1).
    ///
    /// # Errors
    ///
    /// A transport failure; the connection is then aborted.
    pub async fn finish(self) -> Result<()> {
        self.finish_with_trailers(HeaderList::new()).await
    }

    /// Ends the body with trailer fields after it (gRPC's status, a checksum computed while
    /// streaming). They go out in chunked framing (HTTP/1.1) and as HTTP/2's trailing HEADERS;
    /// a response framed otherwise (to a `HEAD`, to an HTTP/1.0 client) drops them. The list
    /// refuses the framing fields; RFC 9110 §6.5.1 also rules out routing, authentication and
    /// content fields (`Host`, `Authorization`, `Content-Type`, ...): do not send those.
    ///
    /// # Errors
    ///
    /// A transport failure; the connection is then aborted.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::http::{HeaderList, Response, StatusCode};
    /// use nanoapi::server::testing::exchange;
    /// use nanoapi::server::{ConnOptions, Request, ResponseWriter};
    ///
    /// async fn stream(_: &(), _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    ///     let mut body = w.start_chunked(Response::new(StatusCode::OK)).await?;
    ///     body.send("data".into()).await?;
    ///     let mut trailers = HeaderList::new();
    ///     trailers.append("x-checksum", "8d777f38")?;
    ///     body.finish_with_trailers(trailers).await
    /// }
    ///
    /// let wire = &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..];
    /// let responses =
    ///     nanoapi::executor::block_on(exchange(&(), &stream, &ConnOptions::default(), wire))
    ///         .unwrap();
    /// assert_eq!(responses[0].body, "data");
    /// assert_eq!(responses[0].trailers, [("x-checksum".into(), "8d777f38".into())]);
    /// ```
    pub async fn finish_with_trailers(mut self, trailers: HeaderList) -> Result<()> {
        self.end(Some(&trailers));
        if self.kind == FramingKind::None {
            return Ok(());
        }
        self.flush().await
    }

    /// Queues the end of the body (with `trailers` in chunked framing) and records the
    /// response as complete.
    fn end(&mut self, trailers: Option<&HeaderList>) {
        self.queue_end(trailers);
        self.finished = true;
        if let ResponseProgress::Streaming { keep_alive_after } = self.writer.progress() {
            self.writer
                .set_progress(ResponseProgress::Sent { keep_alive_after });
        }
    }

    fn queue_end(&mut self, trailers: Option<&HeaderList>) {
        #[cfg(feature = "http2")]
        if let Some(stream) = &self.writer.http2 {
            if self.kind != FramingKind::None {
                stream.queue_end(trailers);
            }
            return;
        }
        if self.kind == FramingKind::Chunked {
            match trailers {
                Some(trailers) if !trailers.is_empty() => {
                    encode_last_chunk_with_trailers(&mut self.writer.conn.out(), trailers);
                }
                _ => encode_last_chunk(&mut self.writer.conn.out()),
            }
        }
    }

    fn queue(&mut self, chunk: Bytes) {
        #[cfg(feature = "http2")]
        if let Some(stream) = &self.writer.http2 {
            if self.kind != FramingKind::None {
                stream.queue(chunk);
            }
            return;
        }
        match self.kind {
            FramingKind::Chunked => encode_chunk(&mut self.writer.conn.out(), &chunk),
            FramingKind::CloseDelimited | FramingKind::SizedStream(_) => {
                self.writer.conn.out().extend_from_slice(&chunk)
            }
            // HEAD, 204, 304: the head went out, the body does not.
            FramingKind::None | FramingKind::Length(_) => {}
        }
    }
}

/// The body as a `Sink<Bytes>`: `start_send` queues a chunk, `poll_flush` writes what is
/// queued, `poll_close` ends the body and writes it.
impl futures_sink::Sink<Bytes> for ChunkedBody<'_> {
    type Error = Error;

    fn poll_ready(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<()>> {
        // Backpressure: a chunk is accepted once the previous flush is done.
        self.poll_pending_flush(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, chunk: Bytes) -> Result<()> {
        self.queue(chunk);
        Ok(())
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<()>> {
        #[cfg(feature = "http2")]
        if let Some(stream) = &self.writer.http2
            && self.pending_flush.is_none()
            && stream.has_queued()
        {
            let stream = stream.clone();
            self.pending_flush = Some(Box::pin(async move { stream.flush().await }));
        }
        if self.pending_flush.is_none() && self.writer.conn.queued() > 0 {
            let conn = self.writer.conn.clone();
            self.pending_flush = Some(Box::pin(async move { conn.flush_dyn().await }));
        }
        self.poll_pending_flush(cx)
    }

    fn poll_close(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<()>> {
        if !self.finished {
            self.end(None);
        }
        self.poll_flush(cx)
    }
}

impl ChunkedBody<'_> {
    fn poll_pending_flush(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<()>> {
        let Some(flush) = self.pending_flush.as_mut() else {
            return std::task::Poll::Ready(Ok(()));
        };
        let res = std::task::ready!(flush.as_mut().poll(cx));
        self.pending_flush = None;
        if res.is_err() {
            self.writer.set_progress(ResponseProgress::Aborted);
        }
        std::task::Poll::Ready(res)
    }
}

impl Drop for ChunkedBody<'_> {
    fn drop(&mut self) {
        if !self.finished && self.kind != FramingKind::None {
            self.writer.set_progress(ResponseProgress::Aborted);
        }
    }
}

impl fmt::Debug for ChunkedBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkedBody")
            .field("kind", &self.kind)
            .field("finished", &self.finished)
            .finish()
    }
}

/// A connection after `101 Switching Protocols`: a [`Transport`] over the same socket, for the
/// protocol the client asked for (WebSocket, ...).
pub struct Upgraded {
    conn: Rc<DynConn>,
}

impl Transport for Upgraded {
    type Chunk = Bytes;

    fn recv(&self) -> impl Future<Output = io::Result<Bytes>> {
        self.conn.recv_raw()
    }

    fn recv_owned(&self, buf: BytesMut) -> impl Future<Output = BufResult<usize, BytesMut>> {
        self.conn.recv_raw_owned(buf)
    }

    fn shutdown_signal(&self) -> Option<&super::ShutdownSignal> {
        self.conn.shutdown_signal()
    }

    fn send_all(&self, buf: BytesMut) -> impl Future<Output = BufResult<(), BytesMut>> {
        self.conn.send_raw(buf)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.conn.shutdown_raw()
    }
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Upgraded")
    }
}
