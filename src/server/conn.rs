//! The connection future: reads requests (pipelined), calls the dispatcher for each, writes
//! the responses in order, in as few sends as possible.

use std::any::Any;
use std::cell::{Cell, RefCell, RefMut};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use nanoapi_executor::BufResult;
use nanoapi_executor::time::{timeout, timeout_at};
use pin_project_lite::pin_project;

use super::request::BodySource;
use super::serve::first_of;
use super::static_cache::StaticCache;
use super::writer::{OUT_HIGH_WATER, ResponseSink};
use super::{
    Dispatch, Limits, Options, Request, ResponseWriter, ShutdownSignal, Timeouts, Transport,
};
use super::{Metrics, MetricsHook};
use crate::error::{Error, Result};
use crate::http::{self, RequestHead, Response, Status, StatusCode, Version};

/// What one connection needs to know.
#[derive(Debug, Clone)]
pub struct ConnOptions {
    /// Request size limits.
    pub limits: Limits,
    /// Connection timeouts.
    pub timeouts: Timeouts,
    /// The `Server` header value.
    pub server_header: Option<Arc<str>>,
    /// Requests after which the connection closes.
    pub max_requests: Option<u64>,
    /// The client's address, if known.
    pub peer: Option<SocketAddr>,
    /// The local address, if known.
    pub local: Option<SocketAddr>,
    /// Raised when the server drains: idle keep-alive connections close, and responses from
    /// then on carry `Connection: close`.
    pub shutdown: Option<ShutdownSignal>,
    /// Responses answered without calling the dispatcher (see
    /// [`Options::static_response`](super::Options::static_response)).
    pub static_cache: Option<Arc<StaticCache>>,
    /// Called on connection and request events.
    pub metrics: Option<MetricsHook>,
}

impl Default for ConnOptions {
    fn default() -> ConnOptions {
        ConnOptions {
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            server_header: Some(Arc::from("nanoapi")),
            max_requests: None,
            peer: None,
            local: None,
            shutdown: None,
            static_cache: None,
            metrics: None,
        }
    }
}

impl ConnOptions {
    /// What a connection of a server with `options` gets: its limits, timeouts, `Server`
    /// header, requests per connection, metrics hook, and its static responses, rendered here
    /// (once: clone the result for each connection). No addresses and no shutdown signal.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::http::{Response, StatusCode};
    /// use nanoapi::server::{ConnOptions, Options};
    ///
    /// let options = Options::default()
    ///     .static_response("GET", "/health", Response::text(StatusCode::OK, "ok"));
    /// let conn = ConnOptions::from_options(&options);
    /// assert_eq!(conn.limits, options.limits);
    /// assert!(conn.static_cache.is_some());
    /// ```
    pub fn from_options(options: &Options) -> ConnOptions {
        let server = options.server_header.as_deref().map(str::as_bytes);
        ConnOptions {
            limits: options.limits.clone(),
            timeouts: options.timeouts.clone(),
            server_header: options.server_header.as_deref().map(Arc::from),
            max_requests: options.max_requests_per_connection,
            peer: None,
            local: None,
            shutdown: None,
            static_cache: Some(Arc::new(options.static_routes.render(server))),
            metrics: options.metrics.clone(),
        }
    }
}

/// How much to ask for when the receive buffer must grow.
const READ_RESERVE: usize = 4096;

/// Serves one connection over `io` until the peer closes, an error closes it, or a request
/// asks for close. Every request of a pipelined batch is answered in order; the responses go
/// out together when no complete request remains in the buffer.
///
/// # Errors
///
/// Transport errors; malformed requests are answered (400, 413, ...) and end the connection
/// with `Ok`.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::http::{Response, StatusCode};
/// use nanoapi::server::{ConnOptions, Request, ResponseWriter, Transport, duplex, serve_connection};
///
/// async fn hello(_: &(), _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
///     w.send(Response::text(StatusCode::OK, "hello")).await
/// }
///
/// nanoapi::executor::block_on(async {
///     let (client, server) = duplex(64 * 1024);
///     let conn = nanoapi::executor::spawn_local(async move {
///         serve_connection(server, &(), &hello, &ConnOptions::default()).await
///     });
///     client.send_all(BytesMut::from(&b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..])).await.0.unwrap();
///     let response = client.read_to_end().await.unwrap();
///     assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"));
///     assert!(response.ends_with(b"\r\n\r\nhello"));
///     conn.await.unwrap().unwrap();
/// });
/// ```
pub async fn serve_connection<T, C, D>(
    io: T,
    ctx: &C,
    dispatch: &D,
    options: &ConnOptions,
) -> Result<()>
where
    T: Transport + 'static,
    D: Dispatch<C>,
{
    let Some(MetricsHook(metrics)) = &options.metrics else {
        return serve(io, ctx, dispatch, options).await;
    };
    metrics.connection_opened(options.peer);
    let res = serve(io, ctx, dispatch, options).await;
    metrics.connection_closed(options.peer);
    res
}

async fn serve<T, C, D>(io: T, ctx: &C, dispatch: &D, options: &ConnOptions) -> Result<()>
where
    T: Transport + 'static,
    D: Dispatch<C>,
{
    let metrics = options
        .metrics
        .as_ref()
        .map(|MetricsHook(metrics)| &**metrics);
    let conn = Rc::new(Conn {
        io,
        inbuf: RefCell::new(BytesMut::new()),
        out: RefCell::new(BytesMut::new()),
        timeouts: options.timeouts.clone(),
        server_header: options.server_header.clone(),
        eof: Cell::new(false),
        answered: Cell::new(false),
        body_failed: Cell::new(false),
    });
    let head_limits = http::Limits {
        max_target: options.limits.max_target,
        max_head: options.limits.max_head,
        max_headers: options.limits.max_headers,
    };
    let mut state = ConnState {
        head: RequestHead::new(),
        served: 0,
        // The header deadline is absolute: from accept, then from the first byte of each
        // request.
        header_deadline: Instant::now() + options.timeouts.header,
        first_request: true,
    };
    loop {
        // Answering is boxed, once per batch of received requests: the connection future
        // itself stays small while idle, whatever size the dispatcher's future is.
        if !conn.inbuf.borrow().is_empty() {
            let batch = answer_batch(
                &conn,
                &mut state,
                ctx,
                dispatch,
                options,
                &head_limits,
                metrics,
            );
            if !Box::pin(batch).await? {
                return Ok(());
            }
        }
        conn.release_idle_buffers();
        let idle = conn.inbuf.borrow().is_empty();
        let deadline = if idle && !state.first_request {
            Instant::now() + options.timeouts.keep_alive
        } else {
            state.header_deadline
        };
        if idle
            && !state.first_request
            && options
                .shutdown
                .as_ref()
                .is_some_and(ShutdownSignal::is_raised)
        {
            return conn.flush_and_close().await;
        }
        let received = async {
            let fill = pin!(conn.fill_inbuf());
            match (&options.shutdown, idle) {
                // An idle connection closes as soon as the server drains.
                (Some(signal), true) => {
                    let stop = pin!(signal.raised());
                    first_of(fill, stop).await.unwrap_or(Ok(0))
                }
                _ => fill.await,
            }
        };
        match timeout_at(deadline, received).await {
            Err(_elapsed) if idle => return Ok(()),
            Err(_elapsed) => {
                return conn
                    .fail_and_close(StatusCode::REQUEST_TIMEOUT, version_of(&state.head))
                    .await;
            }
            Ok(Err(err)) => return Err(err),
            Ok(Ok(0)) => return Ok(()),
            Ok(Ok(_)) if idle && !state.first_request => {
                state.header_deadline = Instant::now() + options.timeouts.header
            }
            Ok(Ok(_)) => {}
        }
    }
}

/// What a connection keeps between batches.
struct ConnState {
    /// The parsed head, reused (its field list keeps its capacity).
    head: RequestHead,
    served: u64,
    header_deadline: Instant,
    first_request: bool,
}

/// Answers every complete request in the receive buffer, in order, then writes the batch's
/// responses; `Ok(false)` once the connection has been closed.
async fn answer_batch<T, C, D>(
    conn: &Rc<Conn<T>>,
    state: &mut ConnState,
    ctx: &C,
    dispatch: &D,
    options: &ConnOptions,
    head_limits: &http::Limits,
    metrics: Option<&dyn Metrics>,
) -> Result<bool>
where
    T: Transport + 'static,
    D: Dispatch<C>,
{
    let batch_started = Instant::now();
    loop {
        let parsed = state.head.parse_into(&conn.inbuf.borrow(), head_limits);
        let len = match parsed {
            Ok(Status::Complete(len)) => len,
            Ok(Status::Partial) => break,
            Err(err) => {
                let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
                log::debug!("{:?}: bad request: {}", options.peer, err.description());
                conn.fail_and_close(status, version_of(&state.head)).await?;
                return Ok(false);
            }
        };
        let head_bytes = conn.inbuf.borrow_mut().split_to(len).freeze();
        state.served += 1;
        let last = options.max_requests.is_some_and(|max| state.served >= max);
        let draining = options
            .shutdown
            .as_ref()
            .is_some_and(ShutdownSignal::is_raised);
        let keep_alive = state.head.keep_alive() && !last && !draining;
        let version = state.head.version();
        let is_head = state.head.method() == http::Method::Head;
        let prepared = options
            .static_cache
            .as_deref()
            .filter(|cache| !cache.is_empty())
            .and_then(|cache| {
                // A request with a body goes to the dispatcher, which knows what to do with it.
                if state.head.framing() != http::BodyFraming::None {
                    return None;
                }
                cache.lookup(
                    state.head.method_bytes(&head_bytes),
                    state.head.path(&head_bytes),
                )
            });
        let started = metrics.map(|_| Instant::now());
        if let Some(prepared) = prepared {
            if let (Some(metrics), Some(started)) = (metrics, started) {
                metrics.request_completed(prepared.status(), started.elapsed());
            }
            prepared.append(
                version,
                keep_alive,
                is_head,
                &http::http_date(),
                &mut conn.out.borrow_mut(),
            );
            if !keep_alive {
                conn.flush_and_close().await?;
                return Ok(false);
            }
            conn.after_response(&mut state.header_deadline, batch_started, &options.timeouts)
                .await?;
            state.first_request = false;
            continue;
        }
        let mut req = Request::new(
            std::mem::take(&mut state.head),
            head_bytes,
            options.peer,
            options.local,
            options.limits.max_body,
            conn.clone(),
        );
        conn.answered.set(false);
        conn.body_failed.set(false);
        let mut writer = ResponseWriter::new(conn.clone(), version, keep_alive, is_head);
        let outcome = CatchUnwind::new(dispatch.dispatch(ctx, &mut req, &mut writer)).await;
        let mut close = !keep_alive;
        match outcome {
            Ok(Ok(())) if writer.is_sent() => {}
            Ok(Ok(())) => {
                log::error!("dispatch returned without sending a response");
                writer
                    .send(Response::text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    ))
                    .await?;
            }
            Ok(Err(err)) if !writer.is_sent() => {
                let status = err.status_or_500();
                if status.is_server_error() {
                    log::error!("dispatch failed: {err}");
                }
                writer
                    .send(Response::text(status, status.reason().unwrap_or("")))
                    .await?;
            }
            Ok(Err(err)) => log::error!("dispatch failed after its response: {err}"),
            Err(panic) => {
                log::error!("dispatch panicked: {}", panic_message(&panic));
                if !writer.is_sent() {
                    writer
                        .send(Response::text(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "Internal Server Error",
                        ))
                        .await?;
                }
                close = true;
            }
        }
        if let (Some(metrics), Some(started), Some(status)) = (metrics, started, writer.status()) {
            metrics.request_completed(status, started.elapsed());
        }
        if writer.is_aborted() {
            // A streamed body stopped halfway (or the connection was upgraded): close without
            // another byte.
            return Ok(false);
        }
        close |= !writer.keep_alive_after();
        if !close && !req.body_done() && !drain_body(&mut req, options.limits.max_drain).await {
            close = true;
        }
        if close {
            conn.flush_and_close().await?;
            return Ok(false);
        }
        state.head = req.into_head();
        conn.after_response(&mut state.header_deadline, batch_started, &options.timeouts)
            .await?;
        state.first_request = false;
    }

    // No complete request left: send what the batch produced.
    conn.flush().await?;
    Ok(true)
}

/// Buffers of connections that went idle, reused by the next busy ones on the same worker.
mod spare_buffers {
    use std::cell::RefCell;

    use bytes::BytesMut;

    use super::READ_RESERVE;

    /// How many spare buffers a worker keeps; more are freed.
    const MAX_SPARE: usize = 1024;
    /// Buffers that grew past this (a large response) are freed rather than kept.
    const MAX_KEPT_CAPACITY: usize = 64 * 1024;

    thread_local! {
        static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
    }

    /// A cleared buffer with room for at least one receive.
    pub(super) fn take() -> BytesMut {
        SPARE
            .with(|spare| spare.borrow_mut().pop())
            .unwrap_or_else(|| BytesMut::with_capacity(READ_RESERVE))
    }

    /// Keeps `buf` for reuse if nothing else shares its memory any more.
    pub(super) fn give_back(mut buf: BytesMut) {
        buf.clear();
        if buf.capacity() > MAX_KEPT_CAPACITY || !buf.try_reclaim(READ_RESERVE) {
            return;
        }
        SPARE.with(|spare| {
            let mut spare = spare.borrow_mut();
            if spare.len() < MAX_SPARE {
                spare.push(buf);
            }
        });
    }
}

/// The version to answer a request that could not be fully parsed in: the parser's, if it got
/// that far, else HTTP/1.1.
fn version_of(head: &RequestHead) -> Version {
    if head.is_empty() {
        Version::Http11
    } else {
        head.version()
    }
}

/// Reads and discards what the dispatcher left of the body, up to `max`; whether the body
/// ended within it (the connection can then carry the next request). A client still waiting
/// for `100 Continue` is not drained: it may send the body or give up, so the connection
/// closes (a `100` after the final response would corrupt the stream).
async fn drain_body(req: &mut Request, max: u64) -> bool {
    if req.awaits_continue() {
        return false;
    }
    if req
        .body_remaining()
        .is_some_and(|remaining| remaining > max)
    {
        return false;
    }
    let mut drained: u64 = 0;
    loop {
        match req.read_chunk().await {
            Ok(None) => return true,
            Ok(Some(chunk)) => {
                drained += chunk.len() as u64;
                if drained > max {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
}

/// A connection's shared state: the receive and send buffers and the transport.
struct Conn<T> {
    io: T,
    inbuf: RefCell<BytesMut>,
    out: RefCell<BytesMut>,
    timeouts: Timeouts,
    server_header: Option<Arc<str>>,
    /// The peer closed its sending side.
    eof: Cell<bool>,
    /// A final response to the current request was queued: a `100 Continue` now would land
    /// after it and corrupt the stream, so none is sent.
    answered: Cell<bool>,
    /// A read of the current request's body failed: its response says close (whoever sends
    /// it: the dispatcher's own error answer or the connection's), and nothing is drained.
    body_failed: Cell<bool>,
}

impl<T: Transport> Conn<T> {
    /// Receives once into the receive buffer; the number of bytes (0 at end of stream).
    async fn fill_inbuf(&self) -> Result<usize> {
        if self.eof.get() {
            return Ok(0);
        }
        let chunk = self.io.recv().await?;
        if chunk.is_empty() {
            self.eof.set(true);
            return Ok(0);
        }
        let mut inbuf = self.inbuf.borrow_mut();
        if inbuf.capacity() == 0 {
            *inbuf = spare_buffers::take();
        }
        inbuf.reserve(chunk.len().max(READ_RESERVE));
        inbuf.put_slice(&chunk);
        Ok(chunk.len())
    }

    /// While the connection waits idle, its buffers go back to the worker's spare list: an
    /// idle connection holds no buffer memory.
    fn release_idle_buffers(&self) {
        for slot in [&self.inbuf, &self.out] {
            let mut buf = slot.borrow_mut();
            if buf.is_empty() && buf.capacity() > 0 {
                spare_buffers::give_back(std::mem::take(&mut *buf));
            }
        }
    }

    /// Between two requests of a batch: writes early past the high-water mark, and starts the
    /// next request's header deadline if its first bytes are already here. Those bytes arrived
    /// with the batch, so the deadline counts from the batch's start: one clock read per batch,
    /// not per pipelined request, and never a later deadline than the rule gives.
    async fn after_response(
        &self,
        header_deadline: &mut Instant,
        batch_started: Instant,
        timeouts: &Timeouts,
    ) -> Result<()> {
        if self.out.borrow().len() >= OUT_HIGH_WATER {
            self.flush().await?;
        }
        if !self.inbuf.borrow().is_empty() {
            *header_deadline = batch_started + timeouts.header;
        }
        Ok(())
    }

    /// Writes everything queued, within the write-stall timeout.
    async fn flush(&self) -> Result<()> {
        if self.out.borrow().is_empty() {
            return Ok(());
        }
        let out = std::mem::take(&mut *self.out.borrow_mut());
        match timeout(self.timeouts.write_stall, self.io.send_all(out)).await {
            Ok((res, mut out)) => {
                out.clear();
                // Keep the buffer (and its capacity) unless something was queued meanwhile.
                let mut slot = self.out.borrow_mut();
                if slot.is_empty() {
                    *slot = out;
                }
                res.map_err(Error::from)
            }
            Err(_) => Err(Error::with_status(
                StatusCode::REQUEST_TIMEOUT,
                "write stalled",
            )),
        }
    }

    /// Sends what is queued, then closes gracefully: half-close, and drain the peer's bytes for
    /// a while so that the close does not turn into a reset that destroys the response.
    async fn flush_and_close(&self) -> Result<()> {
        self.flush().await?;
        let _ = self.io.shutdown_write();
        let linger = Instant::now() + self.timeouts.linger;
        let drain = async {
            while !self.eof.get() {
                self.inbuf.borrow_mut().clear();
                if self.fill_inbuf().await.is_err() {
                    break;
                }
            }
        };
        let _ = timeout_at(linger, drain).await;
        Ok(())
    }

    /// Answers `status` with `Connection: close` after everything queued, and closes.
    async fn fail_and_close(&self, status: StatusCode, version: Version) -> Result<()> {
        let date = http::http_date();
        let ctx = http::ResponseContext {
            version,
            keep_alive: false,
            head_request: false,
            date: &date,
            server: self.server_header.as_deref().map(str::as_bytes),
        };
        http::send_response(
            &Response::text(status, status.reason().unwrap_or("")),
            &ctx,
            &mut self.out.borrow_mut(),
        );
        self.flush_and_close().await
    }
}

impl<T: Transport> BodySource for Conn<T> {
    fn buffered(&self) -> RefMut<'_, BytesMut> {
        self.inbuf.borrow_mut()
    }

    fn fill(&self) -> Pin<Box<dyn Future<Output = Result<usize>> + '_>> {
        Box::pin(async move {
            // Never wait on the client while holding output it may be waiting for (earlier
            // pipelined responses, or this request's own answer during a drain).
            self.flush().await?;
            match timeout(self.timeouts.body_idle, self.fill_inbuf()).await {
                Ok(res) => res,
                Err(_) => Err(Error::with_status(
                    StatusCode::REQUEST_TIMEOUT,
                    "request body stalled",
                )),
            }
        })
    }

    fn send_continue(&self) -> Pin<Box<dyn Future<Output = Result<()>> + '_>> {
        Box::pin(async move {
            if self.answered.get() {
                return Ok(());
            }
            self.out
                .borrow_mut()
                .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            self.flush().await
        })
    }

    fn read_failed(&self) {
        self.body_failed.set(true);
    }
}

impl<T: Transport> ResponseSink for Conn<T> {
    fn out(&self) -> RefMut<'_, BytesMut> {
        let mut out = self.out.borrow_mut();
        if out.capacity() == 0 {
            *out = spare_buffers::take();
        }
        out
    }

    fn flush(&self) -> Pin<Box<dyn Future<Output = Result<()>> + '_>> {
        Box::pin(Conn::flush(self))
    }

    fn server_header(&self) -> Option<&[u8]> {
        self.server_header.as_deref().map(str::as_bytes)
    }

    fn response_started(&self) {
        self.answered.set(true);
    }

    fn must_close(&self) -> bool {
        self.body_failed.get()
    }

    fn recv_raw(&self) -> Pin<Box<dyn Future<Output = io::Result<Bytes>> + '_>> {
        Box::pin(async move {
            {
                let mut inbuf = self.inbuf.borrow_mut();
                if !inbuf.is_empty() {
                    return Ok(inbuf.split().freeze());
                }
            }
            if self.eof.get() {
                return Ok(Bytes::new());
            }
            let chunk = self.io.recv().await?;
            Ok(Bytes::copy_from_slice(&chunk))
        })
    }

    fn send_raw(
        &self,
        buf: BytesMut,
    ) -> Pin<Box<dyn Future<Output = BufResult<(), BytesMut>> + '_>> {
        Box::pin(async move {
            if let Err(err) = Conn::flush(self).await {
                return (Err(err.into()), buf);
            }
            self.io.send_all(buf).await
        })
    }

    fn shutdown_raw(&self) -> io::Result<()> {
        self.io.shutdown_write()
    }
}

pin_project! {
    /// Turns a panic in the dispatch future into an `Err`, so one bad request cannot take the
    /// worker (or the other connections on it) down.
    pub(crate) struct CatchUnwind<F> {
        #[pin]
        fut: F,
    }
}

impl<F> CatchUnwind<F> {
    pub(crate) fn new(fut: F) -> CatchUnwind<F> {
        CatchUnwind { fut }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::result::Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.project().fut;
        // A panicked dispatch future is never polled again: it is dropped with its request.
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

pub(crate) fn panic_message(panic: &Box<dyn Any + Send>) -> &str {
    panic
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn tiny(_: &(), _: &mut Request, w: &mut ResponseWriter) -> Result<()> {
        w.send(Response::text(StatusCode::OK, "x")).await
    }

    /// The connection task is what an idle keep-alive connection costs (with its `Conn`);
    /// answering is boxed per batch so the dispatcher's future never makes it bigger.
    #[test]
    fn an_idle_connection_future_stays_small() {
        let (a, _b) = crate::server::duplex(16);
        let options = ConnOptions::default();
        let fut = serve_connection(a, &(), &tiny, &options);
        let size = std::mem::size_of_val(&fut);
        assert!(size <= 640, "serve_connection future grew to {size} bytes");
    }
}
