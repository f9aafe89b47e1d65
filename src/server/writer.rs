//! `ResponseWriter`: how a dispatcher answers. Responses are encoded into the connection's out
//! buffer and written at the end of the pipelined batch (or sooner, past a high-water mark);
//! chunked streams reach the socket chunk by chunk.

use std::cell::RefMut;
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use nanoapi_executor::BufResult;

use super::Transport;

use crate::error::{Error, Result};

use crate::http::{
    Body, Framing, FramingKind, Response, ResponseContext, StatusCode, Version, encode_chunk,
    encode_last_chunk, http_date, send_response,
};

/// Where a writer's bytes go: the connection's out buffer and transport.
pub(crate) trait ResponseSink {
    /// The bytes queued for the peer.
    fn out(&self) -> RefMut<'_, BytesMut>;

    /// Writes everything queued (within the write-stall timeout).
    fn flush(&self) -> Pin<Box<dyn Future<Output = Result<()>> + '_>>;

    /// The `Server` header value, if any.
    fn server_header(&self) -> Option<&[u8]>;

    /// The head of the final response to the current request was queued: no `100 Continue`
    /// may follow it on the wire.
    fn response_started(&self);

    /// Whether the connection cannot carry another request (a read of this request's body
    /// failed): the response must say `Connection: close`.
    fn must_close(&self) -> bool;

    /// After a 101: the next bytes from the peer, those already received first.
    fn recv_raw(&self) -> Pin<Box<dyn Future<Output = io::Result<Bytes>> + '_>>;

    /// After a 101: sends `buf` as it is.
    fn send_raw(
        &self,
        buf: BytesMut,
    ) -> Pin<Box<dyn Future<Output = BufResult<(), BytesMut>> + '_>>;

    /// After a 101: half-closes.
    fn shutdown_raw(&self) -> io::Result<()>;
}

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
    sink: Rc<dyn ResponseSink>,
    version: Version,
    keep_alive: bool,
    head_request: bool,
    state: WriterState,
    /// The status sent, once sent.
    status: Option<StatusCode>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriterState {
    /// Nothing sent yet.
    Ready,
    /// A whole response was queued.
    Sent { keep_alive_after: bool },
    /// A streamed body is being written.
    Streaming,
    /// A stream ended badly (error, or dropped unfinished): the connection must be closed
    /// without another byte, so the peer sees a truncated body rather than a wrong one.
    Aborted,
    /// A 101 was sent: the connection now speaks another protocol, through [`Upgraded`].
    Upgraded,
}

impl ResponseWriter {
    pub(crate) fn new(
        sink: Rc<dyn ResponseSink>,
        version: Version,
        keep_alive: bool,
        head_request: bool,
    ) -> ResponseWriter {
        ResponseWriter {
            sink,
            version,
            keep_alive,
            head_request,
            state: WriterState::Ready,
            status: None,
        }
    }

    /// Queues `resp` (a stream body is written out as it is produced).
    ///
    /// # Errors
    ///
    /// A second response for the same request; a transport failure while flushing; an error
    /// from a streamed body (the connection is then aborted).
    pub async fn send(&mut self, resp: Response) -> Result<()> {
        if self.state != WriterState::Ready {
            return Err(Error::new("a response was already sent for this request"));
        }
        let framing = self.encode_head(&resp);
        if framing.streams_body() {
            let (_, _, body) = resp.into_parts();
            let (Body::Stream(stream) | Body::SizedStream { stream, .. }) = body else {
                unreachable!("only stream bodies are streamed")
            };
            return self.stream_body(framing, stream).await;
        }
        self.state = WriterState::Sent {
            keep_alive_after: framing.keep_alive_after,
        };
        if self.sink.out().len() >= OUT_HIGH_WATER {
            self.sink.flush().await?;
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
        self.sink.flush().await
    }

    /// Sends the head of `head` (its body is ignored) and returns a sink for the body, chunked
    /// on HTTP/1.1 and close-delimited on HTTP/1.0. Everything queued before goes out first.
    ///
    /// # Errors
    ///
    /// A second response for the same request, or a transport failure.
    pub async fn start_chunked(&mut self, head: Response) -> Result<ChunkedBody<'_>> {
        if self.state != WriterState::Ready {
            return Err(Error::new("a response was already sent for this request"));
        }
        let (status, headers, _) = head.into_parts();
        let head = Response::from_parts(status, headers, Body::stream(futures_empty()));
        let framing = self.encode_head(&head);
        self.state = if framing.streams_body() {
            WriterState::Streaming
        } else {
            WriterState::Sent {
                keep_alive_after: framing.keep_alive_after,
            }
        };
        self.sink.flush().await?;
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
        if self.state != WriterState::Ready {
            return Err(Error::new("a response was already sent for this request"));
        }
        self.encode_head(&resp);
        self.state = WriterState::Upgraded;
        self.sink.flush().await?;
        Ok(Upgraded {
            sink: self.sink.clone(),
        })
    }

    /// Whether a response (or the start of one) was sent.
    pub fn is_sent(&self) -> bool {
        self.state != WriterState::Ready
    }

    /// Whether the connection may serve another request after this response.
    pub(crate) fn keep_alive_after(&self) -> bool {
        matches!(
            self.state,
            WriterState::Sent {
                keep_alive_after: true
            }
        )
    }

    /// Whether the connection must close at once: a stream failed or was abandoned, or the
    /// connection was upgraded (and its new protocol has ended with the dispatcher).
    pub(crate) fn is_aborted(&self) -> bool {
        matches!(
            self.state,
            WriterState::Aborted | WriterState::Streaming | WriterState::Upgraded
        )
    }

    /// The status of the response sent, if any.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    fn encode_head(&mut self, resp: &Response) -> Framing {
        self.status = Some(resp.status());
        self.keep_alive &= !self.sink.must_close();
        self.sink.response_started();
        let date = http_date();
        let ctx = ResponseContext {
            version: self.version,
            keep_alive: self.keep_alive,
            head_request: self.head_request,
            date: &date,
            server: self.sink.server_header(),
        };
        send_response(resp, &ctx, &mut self.sink.out())
    }

    async fn stream_body(
        &mut self,
        framing: Framing,
        mut stream: crate::http::BodyStream,
    ) -> Result<()> {
        self.state = WriterState::Streaming;
        let mut body = ChunkedBody {
            writer: self,
            kind: framing.kind,
            finished: false,
            pending_flush: None,
        };
        // A sized stream must yield exactly its declared length: anything else would
        // desynchronise the peer, so the connection is aborted (the early returns drop `body`
        // unfinished).
        let mut left = match framing.kind {
            FramingKind::SizedStream(len) => Some(len),
            _ => None,
        };
        while let Some(chunk) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
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
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
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
        self.queue(&chunk);
        self.flush().await
    }

    /// Writes everything queued.
    ///
    /// # Errors
    ///
    /// A transport failure; the connection is then aborted.
    pub async fn flush(&mut self) -> Result<()> {
        let res = self.writer.sink.flush().await;
        if res.is_err() {
            self.writer.state = WriterState::Aborted;
        }
        res
    }

    /// Ends the body (the last chunk on HTTP/1.1).
    ///
    /// # Errors
    ///
    /// A transport failure; the connection is then aborted.
    pub async fn finish(mut self) -> Result<()> {
        if self.kind == FramingKind::Chunked {
            encode_last_chunk(&mut self.writer.sink.out());
        }
        self.finished = true;
        let keep_alive_after = ends_in_band(self.kind) && self.writer.keep_alive;
        self.writer.state = WriterState::Sent { keep_alive_after };
        if self.kind == FramingKind::None {
            return Ok(());
        }
        self.flush().await
    }

    fn queue(&mut self, chunk: &[u8]) {
        match self.kind {
            FramingKind::Chunked => encode_chunk(&mut self.writer.sink.out(), chunk),
            FramingKind::CloseDelimited | FramingKind::SizedStream(_) => {
                self.writer.sink.out().extend_from_slice(chunk)
            }
            // HEAD, 204, 304: the head went out, the body does not.
            FramingKind::None | FramingKind::Length(_) => {}
        }
    }
}

/// Whether the peer can tell where a streamed body ends without the connection closing (the
/// last chunk, or the declared length), so the connection may carry another request.
fn ends_in_band(kind: FramingKind) -> bool {
    matches!(kind, FramingKind::Chunked | FramingKind::SizedStream(_))
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
        self.queue(&chunk);
        Ok(())
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<()>> {
        if self.pending_flush.is_none() && !self.writer.sink.out().is_empty() {
            let sink = self.writer.sink.clone();
            self.pending_flush = Some(Box::pin(async move { sink.flush().await }));
        }
        self.poll_pending_flush(cx)
    }

    fn poll_close(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<()>> {
        if !self.finished {
            if self.kind == FramingKind::Chunked {
                encode_last_chunk(&mut self.writer.sink.out());
            }
            self.finished = true;
            let keep_alive_after = ends_in_band(self.kind) && self.writer.keep_alive;
            self.writer.state = WriterState::Sent { keep_alive_after };
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
            self.writer.state = WriterState::Aborted;
        }
        std::task::Poll::Ready(res)
    }
}

impl Drop for ChunkedBody<'_> {
    fn drop(&mut self) {
        if !self.finished && self.kind != FramingKind::None {
            self.writer.state = WriterState::Aborted;
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
    sink: Rc<dyn ResponseSink>,
}

impl Transport for Upgraded {
    type Chunk = Bytes;

    fn recv(&self) -> impl Future<Output = io::Result<Bytes>> {
        self.sink.recv_raw()
    }

    fn send_all(&self, buf: BytesMut) -> impl Future<Output = BufResult<(), BytesMut>> {
        self.sink.send_raw(buf)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.sink.shutdown_raw()
    }
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Upgraded")
    }
}
