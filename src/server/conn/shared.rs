//! `Conn`: what the connection future, its `Request`, `RequestBody` and `ResponseWriter`
//! share: the receive and send buffers, the exchange state, and the transport.
//!
//! The connection loop holds `Rc<Conn<T>>` and calls the transport directly; the request and
//! the writer hold the same allocation as `Rc<Conn<dyn ErasedIo>>` (so they need no type
//! parameter) and reach the transport through [`ErasedIo`], whose futures are boxed: that is
//! the slow path (a body not yet received, a streamed or very large response), never the
//! fixed-response one.

use std::cell::{Cell, RefCell, RefMut};
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use nanoapi_executor::BufResult;
use nanoapi_executor::time::{Deadline, coarse_now};
use pin_project_lite::pin_project;

use super::ConnOptions;
use super::exchange::ExchangeState;
use super::spare_buffers;
use crate::error::{Error, Result};
use crate::http::{self, Response, StatusCode, Version};
use crate::server::writer::OUT_HIGH_WATER;
use crate::server::{ShutdownSignal, Timeouts, Transport};

/// A boxed future borrowing the connection.
type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// How much to ask for when the receive buffer must grow.
pub(super) const READ_RESERVE: usize = 4096;

/// A connection's shared part. `io` comes last so that `Rc<Conn<T>>` coerces to
/// `Rc<Conn<dyn ErasedIo>>`.
pub(crate) struct Conn<T: ?Sized> {
    /// Bytes received and not yet consumed (the next heads, the current body).
    pub(crate) inbuf: RefCell<BytesMut>,
    /// Bytes queued for the peer.
    out: RefCell<BytesMut>,
    /// The exchange under way.
    pub(crate) exchange: RefCell<ExchangeState>,
    /// When the wait for the peer's bytes (the next head, more of a body) gives up: one
    /// deadline moved for every wait, so a wait costs no timer registration.
    read_deadline: RefCell<Deadline>,
    /// When a send that the peer does not take gives up (the write-stall timeout). Made at
    /// the first send that has to wait: most connections never wait to send, and an idle one
    /// holds 8 bytes for it rather than a deadline.
    write_deadline: RefCell<Option<Box<Deadline>>>,
    settings: Rc<ConnSettings>,
    /// The client's address, when known (the local one is the worker's, in `settings`).
    pub(crate) peer: Option<SocketAddr>,
    /// The peer closed its sending side.
    eof: Cell<bool>,
    io: T,
}

/// The connection as the request and the writer see it.
pub(crate) type DynConn = Conn<dyn ErasedIo>;

/// The transport's operations with their futures boxed, so that a `Conn` can be used without
/// naming its transport type.
pub(crate) trait ErasedIo {
    /// [`Transport::recv_owned`].
    fn recv_owned_boxed(&self, buf: BytesMut) -> LocalBoxFuture<'_, BufResult<usize, BytesMut>>;

    /// [`Transport::recv_lent`] into `inbuf`; the number of bytes (0 at end of stream).
    fn recv_lent_boxed<'a>(
        &'a self,
        inbuf: &'a RefCell<BytesMut>,
    ) -> LocalBoxFuture<'a, io::Result<usize>>;

    /// Sends all of `buf` and gives it back.
    fn send_all_boxed(&self, buf: BytesMut) -> LocalBoxFuture<'_, BufResult<(), BytesMut>>;

    /// Half-closes.
    fn shutdown_write(&self) -> io::Result<()>;

    /// [`Transport::poll_started`].
    fn poll_started_erased(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

impl<T: Transport> ErasedIo for T {
    fn recv_owned_boxed(&self, buf: BytesMut) -> LocalBoxFuture<'_, BufResult<usize, BytesMut>> {
        Box::pin(self.recv_owned(buf))
    }

    fn recv_lent_boxed<'a>(
        &'a self,
        inbuf: &'a RefCell<BytesMut>,
    ) -> LocalBoxFuture<'a, io::Result<usize>> {
        Box::pin(self.recv_lent(move || LentInbuf::new(inbuf)))
    }

    fn send_all_boxed(&self, buf: BytesMut) -> LocalBoxFuture<'_, BufResult<(), BytesMut>> {
        Box::pin(self.send_all(buf))
    }

    fn shutdown_write(&self) -> io::Result<()> {
        Transport::shutdown_write(self)
    }

    fn poll_started_erased(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_started(cx)
    }
}

/// The receive buffer lent to a receive: a spare buffer when it held none, with room for one
/// receive. A receive that left it empty (a spurious readiness) gives the buffer back to the
/// worker's spare list, so that a connection waiting for bytes holds none.
struct LentInbuf<'a>(RefMut<'a, BytesMut>);

impl<'a> LentInbuf<'a> {
    fn new(inbuf: &'a RefCell<BytesMut>) -> LentInbuf<'a> {
        let mut buf = inbuf.borrow_mut();
        if buf.capacity() == 0 {
            *buf = spare_buffers::take();
        }
        buf.reserve(READ_RESERVE);
        LentInbuf(buf)
    }
}

impl Deref for LentInbuf<'_> {
    type Target = BytesMut;

    fn deref(&self) -> &BytesMut {
        &self.0
    }
}

impl DerefMut for LentInbuf<'_> {
    fn deref_mut(&mut self) -> &mut BytesMut {
        &mut self.0
    }
}

impl Drop for LentInbuf<'_> {
    fn drop(&mut self) {
        if self.0.is_empty() {
            spare_buffers::give_back(std::mem::take(&mut *self.0));
        }
    }
}

/// What every connection of a server needs from its options, shared by them.
#[derive(Debug, Default)]
pub(crate) struct ConnSettings {
    timeouts: Timeouts,
    server_header: Option<Arc<str>>,
    /// The server's drain signal (`None` for a connection served on its own).
    shutdown: Option<ShutdownSignal>,
    /// The local address of every connection these settings serve (a worker's connections
    /// share its listener's), when known.
    pub(crate) local: Option<SocketAddr>,
}

impl ConnSettings {
    pub(crate) fn new(options: &ConnOptions) -> ConnSettings {
        ConnSettings {
            timeouts: options.timeouts.clone(),
            server_header: options.server_header.clone(),
            shutdown: options.shutdown.clone(),
            local: options.local,
        }
    }
}

impl<T> Conn<T> {
    pub(crate) fn new(io: T, settings: Rc<ConnSettings>, peer: Option<SocketAddr>) -> Conn<T> {
        Conn {
            inbuf: RefCell::new(BytesMut::new()),
            out: RefCell::new(BytesMut::new()),
            exchange: RefCell::new(ExchangeState::idle()),
            read_deadline: RefCell::new(Deadline::new(coarse_now())),
            write_deadline: RefCell::new(None),
            settings,
            peer,
            eof: Cell::new(false),
            io,
        }
    }
}

impl<T: Transport> Conn<T> {
    /// Takes bytes received before the connection was set up (the first receive of a server
    /// that looked for HTTP/2's preface) as if its own receive had read them.
    #[cfg(feature = "http2")]
    pub(crate) fn push_received(&self, received: &[u8]) {
        LentInbuf::new(&self.inbuf).extend_from_slice(received);
    }

    /// Receives once into the receive buffer; the number of bytes (0 at end of stream).
    ///
    /// Not an `async fn`, which would keep `self` twice in the future an idle connection holds.
    #[allow(clippy::manual_async_fn)]
    pub(super) fn fill_inbuf(&self) -> impl Future<Output = Result<usize>> + '_ {
        async move {
            if self.eof.get() {
                return Ok(0);
            }
            let n = self.io.recv_lent(|| LentInbuf::new(&self.inbuf)).await?;
            self.eof.set(n == 0);
            Ok(n)
        }
    }

    /// Writes everything queued. Where the transport can, the send is only started (io_uring)
    /// or made at once (poll): its completion wakes nobody (the connection waits for the next
    /// request meanwhile), its buffer goes back to the worker's spare list, and the next write
    /// or close waits for it first. Otherwise (or for what the socket did not take) the send is
    /// awaited, within the write-stall timeout.
    pub(super) async fn flush(&self) -> Result<()> {
        self.wait_started().await?;
        let Some(out) = self.take_out() else {
            return Ok(());
        };
        match self.io.start_send(out, spare_buffers::give_back) {
            Ok(()) => Ok(()),
            Err(out) => {
                let sent = self.write_within(self.io.send_all(out)).await;
                self.sent(sent)
            }
        }
    }

    /// Between two requests of a batch: writes early past the high-water mark, and starts the
    /// next request's header deadline if its first bytes are already here. Those bytes arrived
    /// with the batch, so the deadline counts from the batch's start: one clock read per batch,
    /// not per pipelined request, and never a later deadline than the rule gives.
    pub(super) async fn after_response(
        &self,
        header_deadline: &mut Instant,
        batch_started: Instant,
        timeouts: &Timeouts,
    ) -> Result<()> {
        if self.queued() >= OUT_HIGH_WATER {
            self.flush().await?;
        }
        if !self.inbuf.borrow().is_empty() {
            *header_deadline = batch_started + timeouts.header;
        }
        Ok(())
    }

    /// Sends what is queued, then closes gracefully: half-close, and drain the peer's bytes for
    /// a while so that the close does not turn into a reset that destroys the response.
    pub(super) async fn flush_and_close(&self) -> Result<()> {
        self.flush().await?;
        self.wait_started().await?;
        let _ = Transport::shutdown_write(&self.io);
        let linger = coarse_now() + self.settings.timeouts.linger;
        let drain = async {
            while !self.eof.get() {
                self.inbuf.borrow_mut().clear();
                if self.fill_inbuf().await.is_err() {
                    break;
                }
            }
        };
        self.read_until(linger, drain).await;
        Ok(())
    }

    /// Answers `status` (a runtime-made error response, `Connection: close`) after everything
    /// queued, and closes.
    pub(super) async fn fail_and_close(&self, status: StatusCode, version: Version) -> Result<()> {
        encode_error(
            status,
            version,
            self.server_header(),
            &mut self.out.borrow_mut(),
        );
        self.flush_and_close().await
    }
}

impl<T: ?Sized> Conn<T> {
    /// The bytes queued for the peer (a spare buffer is taken if it holds none).
    pub(crate) fn out(&self) -> RefMut<'_, BytesMut> {
        let mut out = self.out.borrow_mut();
        if out.capacity() == 0 {
            *out = spare_buffers::take();
        }
        out
    }

    /// How many bytes are queued.
    pub(crate) fn queued(&self) -> usize {
        self.out.borrow().len()
    }

    /// The `Server` header value, if any.
    pub(crate) fn server_header(&self) -> Option<&[u8]> {
        self.settings.server_header.as_deref().map(str::as_bytes)
    }

    /// The local address the connection arrived on, when known.
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        self.settings.local
    }

    /// The drain signal of the server this connection belongs to, if it belongs to one.
    pub(crate) fn shutdown_signal(&self) -> Option<&ShutdownSignal> {
        self.settings.shutdown.as_ref()
    }

    /// While the connection waits idle, its buffers go back to the worker's spare list: an
    /// idle connection holds no buffer memory.
    #[inline]
    pub(crate) fn release_idle_buffers(&self) {
        for slot in [&self.inbuf, &self.out] {
            let mut buf = slot.borrow_mut();
            if buf.is_empty() && buf.capacity() > 0 {
                spare_buffers::give_back(std::mem::take(&mut *buf));
            }
        }
    }

    /// Waits until no send begun by `start_send` is in flight (within the write-stall
    /// timeout), and reports its error.
    async fn wait_started(&self) -> Result<()>
    where
        T: ErasedIo,
    {
        match self
            .write_within(poll_fn(|cx| self.io.poll_started_erased(cx)))
            .await
        {
            Some(res) => res.map_err(Error::from),
            None => Err(Error::with_status(
                StatusCode::REQUEST_TIMEOUT,
                "write stalled",
            )),
        }
    }

    /// Waits for `fut` until `deadline` at most (`None`: the deadline passed first).
    pub(super) fn read_until<F: Future>(
        &self,
        deadline: Instant,
        fut: F,
    ) -> Within<F, ReadTimer<'_>> {
        self.read_deadline.borrow_mut().set(deadline);
        Within {
            fut,
            deadline: ReadTimer(&self.read_deadline),
        }
    }

    /// The queued bytes, if any, to send.
    fn take_out(&self) -> Option<BytesMut> {
        let mut out = self.out.borrow_mut();
        (!out.is_empty()).then(|| std::mem::take(&mut *out))
    }

    /// Runs a send within the write-stall timeout (`None`: it stalled).
    fn write_within<F: Future>(&self, send: F) -> Within<F, WriteTimer<'_>> {
        Within {
            fut: send,
            deadline: WriteTimer(
                &self.write_deadline,
                coarse_now() + self.settings.timeouts.write_stall,
            ),
        }
    }

    /// After a send: keeps the buffer (and its capacity) unless something was queued
    /// meanwhile; maps a stall to 408.
    fn sent(&self, sent: Option<BufResult<(), BytesMut>>) -> Result<()> {
        let Some((res, mut out)) = sent else {
            return Err(Error::with_status(
                StatusCode::REQUEST_TIMEOUT,
                "write stalled",
            ));
        };
        out.clear();
        let mut slot = self.out.borrow_mut();
        if slot.is_empty() {
            *slot = out;
        }
        res.map_err(Error::from)
    }
}

impl DynConn {
    /// Writes everything queued, within the write-stall timeout (boxed: the slow path), after
    /// a send the loop started.
    pub(crate) async fn flush_dyn(&self) -> Result<()> {
        self.wait_started().await?;
        let Some(out) = self.take_out() else {
            return Ok(());
        };
        let sent = self.write_within(self.io.send_all_boxed(out)).await;
        self.sent(sent)
    }

    /// Receives more of a request body into the receive buffer, after writing what is queued
    /// (never wait on the client while holding output it may be waiting for: earlier pipelined
    /// responses, or this request's own answer during a drain). `Ok(0)` at end of stream; 408
    /// when the body-idle timeout passes first.
    pub(crate) async fn fill_body(&self) -> Result<usize> {
        self.flush_dyn().await?;
        if self.eof.get() {
            return Ok(0);
        }
        let deadline = coarse_now() + self.settings.timeouts.body_idle;
        match self
            .read_until(deadline, self.io.recv_lent_boxed(&self.inbuf))
            .await
        {
            Some(res) => {
                let n = res?;
                self.eof.set(n == 0);
                Ok(n)
            }
            None => Err(Error::with_status(
                StatusCode::REQUEST_TIMEOUT,
                "request body stalled",
            )),
        }
    }

    /// Queues `100 Continue` and writes it (with everything queued before it).
    pub(crate) async fn send_continue(&self) -> Result<()> {
        self.out()
            .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        self.flush_dyn().await
    }

    /// After a 101: the next bytes from the peer, those already received first.
    pub(crate) async fn recv_raw(&self) -> io::Result<Bytes> {
        let (received, buf) = self.recv_raw_owned(BytesMut::new()).await;
        received.map(|_| buf.freeze())
    }

    /// After a 101: appends the next bytes to `buf` ([`Transport::recv_owned`]), what was
    /// received before the 101 first.
    pub(crate) async fn recv_raw_owned(&self, mut buf: BytesMut) -> BufResult<usize, BytesMut> {
        {
            let mut inbuf = self.inbuf.borrow_mut();
            if !inbuf.is_empty() {
                buf.extend_from_slice(&inbuf);
                let n = inbuf.len();
                inbuf.clear();
                return (Ok(n), buf);
            }
        }
        if self.eof.get() {
            return (Ok(0), buf);
        }
        self.io.recv_owned_boxed(buf).await
    }

    /// After a 101: sends `buf` as it is, after anything still queued.
    pub(crate) async fn send_raw(&self, buf: BytesMut) -> BufResult<(), BytesMut> {
        if let Err(err) = self.flush_dyn().await {
            return (Err(err.into()), buf);
        }
        self.io.send_all_boxed(buf).await
    }

    /// After a 101: half-closes.
    pub(crate) fn shutdown_raw(&self) -> io::Result<()> {
        self.io.shutdown_write()
    }
}

pin_project! {
    /// Polls `fut` until it completes (`Some`) or the connection's `deadline` passes (`None`).
    pub(super) struct Within<F, D> {
        #[pin]
        fut: F,
        deadline: D,
    }
}

/// The deadline a [`Within`] waits against: one type per kind, so that the wait an idle
/// connection holds (a read) keeps one pointer for it.
pub(super) trait Timer {
    fn poll_elapsed(&self, cx: &mut Context<'_>) -> Poll<()>;
}

/// The connection's read deadline, already set.
pub(super) struct ReadTimer<'a>(&'a RefCell<Deadline>);

impl Timer for ReadTimer<'_> {
    fn poll_elapsed(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.borrow_mut().poll_elapsed(cx)
    }
}

/// The write deadline's slot and the instant to set it to (the deadline made if this is the
/// connection's first send that waits).
pub(super) struct WriteTimer<'a>(&'a RefCell<Option<Box<Deadline>>>, Instant);

impl Timer for WriteTimer<'_> {
    fn poll_elapsed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let WriteTimer(slot, at) = *self;
        let mut slot = slot.borrow_mut();
        let deadline = slot.get_or_insert_with(|| Box::new(Deadline::new(at)));
        deadline.set(at);
        deadline.poll_elapsed(cx)
    }
}

impl<F: Future, D: Timer> Future for Within<F, D> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.fut.poll(cx) {
            return Poll::Ready(Some(output));
        }
        this.deadline.poll_elapsed(cx).map(|()| None)
    }
}

/// The one builder of the runtime's own error responses (a malformed request, a timeout, a
/// dispatcher that failed or sent nothing, a refused connection): the status and its reason
/// phrase as a text body.
pub(crate) fn error_response(status: StatusCode) -> Response {
    Response::text(status, status.reason().unwrap_or(""))
}

/// Encodes [`error_response`] with `Connection: close` into `out`.
pub(crate) fn encode_error(
    status: StatusCode,
    version: Version,
    server: Option<&[u8]>,
    out: &mut BytesMut,
) {
    let date = http::http_date();
    let ctx = http::ResponseContext {
        version,
        keep_alive: false,
        head_request: false,
        date: &date,
        server,
    };
    http::send_response(&error_response(status), &ctx, out);
}
