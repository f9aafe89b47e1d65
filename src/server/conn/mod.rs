//! The connection future: reads requests (pipelined), calls the dispatcher for each, writes
//! the responses in order, in as few sends as possible.
//!
//! `exchange.rs` holds each request/response exchange's protocol state and the keep-alive
//! decision, `shared.rs` what the loop shares with the request and the writer (buffers,
//! exchange state, transport), `spare_buffers.rs` the per-worker buffer free list.

mod exchange;
mod recycled;
mod shared;
pub(crate) mod spare_buffers;

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use nanoapi_executor::future::{CatchUnwind, panic_message};
use nanoapi_executor::time::coarse_now;

use exchange::Next;
pub(crate) use exchange::{BodyStep, ResponseProgress};
use recycled::Recycled;
pub(crate) use shared::{Conn, ConnSettings, DynConn, encode_error, error_response};

use super::static_cache::StaticCache;
use super::{
    Dispatch, Limits, Options, Request, ResponseWriter, ShutdownSignal, Timeouts, Transport,
};
use super::{Metrics, MetricsHook};
use crate::error::Result;
use crate::http::{self, RequestHead, Status, StatusCode, Version};

/// What one connection needs to know.
///
/// Non-exhaustive, so that a new field is not a breaking change: start from `default()` and set
/// the fields you need.
#[derive(Debug, Clone)]
#[non_exhaustive]
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
/// use nanoapi::server::testing::duplex;
/// use nanoapi::server::{ConnOptions, Request, ResponseWriter, Transport, serve_connection};
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
    let _opened = Opened::connection(options, &options.peer);
    let settings = Rc::new(ConnSettings::new(options));
    serve_conn(
        Rc::new(Conn::new(io, settings, options.peer)),
        ctx,
        dispatch,
        options,
        coarse_now(),
    )
    .await
}

/// [`serve_connection`] over a connection already set up: the accept loop builds `conn` before
/// it spawns the connection's task, so that the task holds one pointer rather than the
/// transport and the addresses, and every connection of a worker shares one `ConnOptions`.
/// The first request's head must be complete by `accepted` plus the header timeout (a TLS
/// handshake or the HTTP/2 sniff before it counts within it).
///
/// The caller tells the metrics hook of the connection ([`Opened`]): the accept loop does at
/// accept, before a TLS handshake or the HTTP/2 sniff.
///
/// Not an `async fn`: its arguments would be kept twice in the future (once as arguments,
/// once moved into the body), and this future is most of what an idle connection costs.
pub(crate) fn serve_conn<'a, T, C, D>(
    conn: Rc<Conn<T>>,
    ctx: &'a C,
    dispatch: &'a D,
    options: &'a ConnOptions,
    accepted: Instant,
) -> impl Future<Output = Result<()>> + 'a
where
    T: Transport + 'static,
    D: Dispatch<C>,
{
    let mut state = ConnState {
        served: 0,
        // The header deadline is absolute: from accept, then from the first byte of each
        // request (by the worker's clock, read once per pass of its loop, not per request).
        header_deadline: accepted + options.timeouts.header,
        first_request: true,
    };
    async move {
        // One registration with the drain signal for the connection's life, not one per wait.
        let mut drain = options.shutdown.as_ref().map(ShutdownSignal::raised);
        loop {
            // Answering is boxed (in memory the worker recycles), once per batch of received
            // requests: the connection future itself stays small while idle, whatever size the
            // dispatcher's future is.
            if !conn.inbuf.borrow().is_empty() {
                let (conn, state) = (&conn, &mut state);
                let batch = move || {
                    // Moved out of the closure (not reborrowed), so that the future may keep it.
                    let state = state;
                    answer_batch(conn, state, ctx, dispatch, options)
                };
                if !Recycled::new_with(batch).await? {
                    return Ok(());
                }
            }
            // Idle: the buffers go back to the worker.
            conn.release_idle_buffers();
            let idle = conn.inbuf.borrow().is_empty();
            let deadline = if idle && !state.first_request {
                coarse_now() + options.timeouts.keep_alive
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
                return Box::pin(conn.flush_and_close()).await;
            }
            let mut fill = pin!(conn.fill_inbuf());
            let received = poll_fn(|cx| {
                if let Poll::Ready(filled) = fill.as_mut().poll(cx) {
                    return Poll::Ready(filled);
                }
                match &mut drain {
                    // An idle connection closes as soon as the server drains.
                    Some(drain) if idle => Pin::new(drain).poll(cx).map(|_| Ok(0)),
                    _ => Poll::Pending,
                }
            });
            // The outcome is matched in a statement of its own, so that it is not kept across
            // the await below (in the future every idle connection holds).
            let timed_out = match conn.read_until(deadline, received).await {
                None if idle => return Ok(()),
                None => true,
                Some(Err(err)) => return Err(err),
                Some(Ok(0)) => return Ok(()),
                Some(Ok(_)) if idle && !state.first_request => {
                    state.header_deadline = coarse_now() + options.timeouts.header;
                    false
                }
                Some(Ok(_)) => false,
            };
            if timed_out {
                // Closing paths are boxed: their futures would otherwise size every idle
                // connection.
                let closing = conn.fail_and_close(StatusCode::REQUEST_TIMEOUT, Version::Http11);
                return Box::pin(closing).await;
            }
        }
    }
}

/// Tells the metrics hook of a connection's end when dropped (however the connection ends).
/// Two thin references: every connection's future has room for one.
pub(crate) struct Opened<'a> {
    hook: &'a MetricsHook,
    peer: &'a Option<SocketAddr>,
}

impl<'a> Opened<'a> {
    /// Tells the metrics hook of `options`, if it has one, of a connection from `peer`; the
    /// guard tells it of the end.
    pub(crate) fn connection(
        options: &'a ConnOptions,
        peer: &'a Option<SocketAddr>,
    ) -> Option<Opened<'a>> {
        let hook = options.metrics.as_ref()?;
        hook.0.connection_opened(*peer);
        Some(Opened { hook, peer })
    }
}

impl Drop for Opened<'_> {
    fn drop(&mut self) {
        self.hook.0.connection_closed(*self.peer);
    }
}

/// What a connection keeps between batches.
struct ConnState {
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
) -> Result<bool>
where
    T: Transport + 'static,
    D: Dispatch<C>,
{
    let metrics = options
        .metrics
        .as_ref()
        .map(|MetricsHook(metrics)| &**metrics);
    let batch_started = coarse_now();
    let head_limits = http::Limits {
        max_target: options.limits.max_target,
        max_head: options.limits.max_head,
        max_headers: options.limits.max_headers,
    };
    // The parsed head, reused for every request of the batch (its field list keeps its
    // capacity), then handed back to the worker for the next batch of any connection.
    let mut head = spare_buffers::take_head();
    loop {
        let parsed = head.parse_into(&conn.inbuf.borrow(), &head_limits);
        let len = match parsed {
            Ok(Status::Complete(len)) => len,
            Ok(Status::Partial) => break,
            Err(err) => {
                let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
                log::debug!("{:?}: bad request: {}", conn.peer, err.description());
                conn.fail_and_close(status, version_of(&head)).await?;
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
        let keep_alive = head.keep_alive() && !last && !draining;
        let version = head.version();
        let is_head = head.method() == http::Method::Head;
        let prepared = options
            .static_cache
            .as_deref()
            .filter(|cache| !cache.is_empty())
            .and_then(|cache| {
                // A request with a body goes to the dispatcher, which knows what to do with it.
                if head.framing() != http::BodyFraming::None {
                    return None;
                }
                let entry = cache.lookup(head.method_bytes(&head_bytes), head.path(&head_bytes))?;
                Some(entry.select(|| head.header_all(&head_bytes, b"accept-encoding")))
            });
        if let Some(prepared) = prepared {
            if let Some(metrics) = metrics {
                // Answered from memory: no time to speak of.
                metrics.request_completed(prepared.status(), Duration::ZERO);
            }
            prepared.append(
                version,
                keep_alive,
                is_head,
                &http::http_date(),
                &mut conn.out(),
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
        let expect_continue = head.expect_continue() && conn.inbuf.borrow().is_empty();
        conn.exchange.borrow_mut().begin(
            head.framing(),
            expect_continue,
            keep_alive,
            options.limits.max_body,
            options.limits.max_drain,
        );
        let dyn_conn: Rc<DynConn> = conn.clone();
        let mut req = Request::new(std::mem::take(&mut head), head_bytes, dyn_conn.clone());
        let mut writer = ResponseWriter::new(dyn_conn, version, is_head);
        let panicked = dispatch_exchange(ctx, dispatch, &mut req, &mut writer, metrics).await?;
        let next = conn.exchange.borrow().next(panicked);
        let carry_on = match next {
            Next::KeepAlive => true,
            Next::Drain => drain_body(conn, &mut req).await,
            Next::Close => false,
            // A streamed body stopped halfway (or the connection was upgraded): close without
            // another byte.
            Next::Abort => return Ok(false),
        };
        if !carry_on {
            conn.flush_and_close().await?;
            return Ok(false);
        }
        head = req.into_head();
        conn.after_response(&mut state.header_deadline, batch_started, &options.timeouts)
            .await?;
        state.first_request = false;
    }

    // No complete request left: send what the batch produced.
    spare_buffers::give_back_head(head);
    conn.flush().await?;
    Ok(true)
}

/// Runs the dispatcher on one exchange and makes sure the request is answered: a dispatcher
/// that returned without a response, failed before one or panicked gets a runtime error
/// response (500, or the error's status) sent for it; the metrics hook hears of the response.
/// Whether the dispatcher panicked.
pub(crate) async fn dispatch_exchange<C, D: Dispatch<C>>(
    ctx: &C,
    dispatch: &D,
    req: &mut Request,
    writer: &mut ResponseWriter,
    metrics: Option<&dyn Metrics>,
) -> Result<bool> {
    let started = metrics.map(|_| Instant::now());
    let outcome = CatchUnwind::new(dispatch.dispatch(ctx, req, writer)).await;
    let panicked = outcome.is_err();
    match outcome {
        Ok(Ok(())) if writer.is_sent() => {}
        Ok(Ok(())) => {
            log::error!("dispatch returned without sending a response");
            writer
                .send(error_response(StatusCode::INTERNAL_SERVER_ERROR))
                .await?;
        }
        Ok(Err(err)) if !writer.is_sent() => {
            let status = err.status_or_500();
            if status.is_server_error() {
                log::error!("dispatch failed: {err}");
            }
            writer.send(error_response(status)).await?;
        }
        Ok(Err(err)) => log::error!("dispatch failed after its response: {err}"),
        Err(panic) => {
            log::error!(
                "dispatch panicked: {}",
                panic_message(&*panic).unwrap_or("(non-string panic payload)")
            );
            if !writer.is_sent() {
                writer
                    .send(error_response(StatusCode::INTERNAL_SERVER_ERROR))
                    .await?;
            }
        }
    }
    if let (Some(metrics), Some(started), Some(status)) = (metrics, started, writer.status()) {
        metrics.request_completed(status, started.elapsed());
    }
    Ok(panicked)
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

/// Reads and discards what the dispatcher left of the body, up to the drain limit; whether
/// the body ended within it (the connection can then carry the next request).
async fn drain_body<T>(conn: &Conn<T>, req: &mut Request) -> bool {
    let mut drained: u64 = 0;
    loop {
        match req.read_chunk().await {
            Ok(None) => return true,
            Ok(Some(chunk)) => {
                drained += chunk.len() as u64;
                if !conn.exchange.borrow().drain_allows(drained) {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Response;

    async fn tiny(_: &(), _: &mut Request, w: &mut ResponseWriter) -> Result<()> {
        w.send(Response::text(StatusCode::OK, "x")).await
    }

    /// The connection task is what an idle keep-alive connection costs (with its `Conn`):
    /// answering is boxed per batch so the dispatcher's future never makes it bigger, closing
    /// is boxed, and the transport lives in the `Conn`, not in the task.
    #[test]
    fn an_idle_connection_future_stays_small() {
        let (a, _b) = crate::server::testing::duplex(16);
        let options = ConnOptions::default();
        let conn = Rc::new(Conn::new(a, Rc::default(), None));
        let fut = serve_conn(conn, &(), &tiny, &options, coarse_now());
        let size = std::mem::size_of_val(&fut);
        assert!(size <= 208, "serve_conn future grew to {size} bytes");
    }

    /// The same over a TCP stream, whose receive is what an idle connection waits in.
    #[test]
    fn an_idle_tcp_connection_future_stays_small() {
        nanoapi_executor::Runtime::builder()
            .block_on(async {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
                let (accepted, _) = listener.accept().unwrap();
                let stream = nanoapi_executor::net::TcpStream::from_std(accepted).unwrap();
                let options = ConnOptions::default();
                let conn = Rc::new(Conn::new(stream, Rc::default(), None));
                let fut = serve_conn(conn, &(), &tiny, &options, coarse_now());
                let size = std::mem::size_of_val(&fut);
                assert!(
                    size <= 208,
                    "serve_conn future over TCP grew to {size} bytes"
                );
            })
            .unwrap();
    }
}
