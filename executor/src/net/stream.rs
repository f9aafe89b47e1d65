use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::ops::DerefMut;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::task::{Context, Poll};

use socket2::SockRef;

use super::listener::socket_addr;
use super::{new_socket, register};
use bytes::BytesMut;

use crate::buf::{BufResult, IoBuf, IoBufMut, PooledBuf};
use crate::fd::{FdBackend, SharedFd};
use crate::op;
use crate::op::recv::Receiver;
use crate::op::send_detached;

/// A TCP connection.
///
/// Reads and writes take owned buffers and give them back with the result. Dropping the
/// stream closes the socket once no operation on it is in flight any more.
pub struct TcpStream {
    fd: SharedFd,
    receiver: Receiver,
}

impl TcpStream {
    /// Connects to the first address `addr` resolves to that accepts.
    ///
    /// # Errors
    ///
    /// The last connection error, or `InvalidInput` if `addr` resolves to nothing.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last_err = None;
        for addr in addr.to_socket_addrs()? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(err) => last_err = Some(err),
            }
        }
        Err(last_err.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to")
        }))
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let fd = register(new_socket(&addr)?)?;
        op::connect::connect(&fd, addr.into()).await?;
        Ok(TcpStream::new(fd))
    }

    fn new(fd: SharedFd) -> TcpStream {
        TcpStream {
            fd,
            receiver: Receiver::default(),
        }
    }

    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<TcpStream> {
        Ok(TcpStream::new(SharedFd::new(fd)?))
    }

    /// Serves a connected std socket on the current worker.
    ///
    /// # Errors
    ///
    /// If the socket cannot be made non-blocking or registered.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream::new(register(stream.into())?))
    }

    /// Reads into `buf` after its initialised bytes, up to its capacity. `Ok(0)` means end of
    /// stream (or a buffer with no spare capacity).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops `buf` with it. On poll no received byte is lost (the receive
    /// is made only when it completes at once). On io_uring the kernel owns `buf` once the
    /// receive is submitted, so dropping the future before it completes (a `timeout` or a
    /// race around it) cancels the receive, and bytes the kernel had already put in `buf` go
    /// with it (except on a stream that has read with `read_pooled`, whose reads all come
    /// through its pooled receive). To wait for data beside something else, use
    /// [`read_pooled`](TcpStream::read_pooled).
    ///
    /// # Errors
    ///
    /// As `recv` fails (`ECONNRESET`, ...).
    pub async fn read<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        self.receiver.recv(&self.fd, buf).await
    }

    /// Reads into a buffer borrowed from the worker's pool only when data arrives, so a
    /// connection waiting for data holds no buffer. An empty result means end of stream.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses no bytes; the next read returns them (on io_uring the
    /// stream's receive stays armed and keeps what arrives). One exception on io_uring: a read
    /// made while the worker's buffer ring is empty falls back to a receive into a buffer of
    /// its own, which, dropped in flight, behaves as [`read`](TcpStream::read).
    ///
    /// # Errors
    ///
    /// As `recv` fails.
    pub fn read_pooled(&self) -> impl Future<Output = io::Result<PooledBuf>> + '_ {
        // Not an `async fn`: the receive's future is what every idle connection holds, and a
        // wrapper would add a copy of `self` to it.
        self.receiver.recv_pooled(&self.fd)
    }

    /// Receives the next bytes that arrive into the buffer `lend` returns, which is asked for
    /// only once they are here: a stream waiting for data holds no buffer, as with
    /// [`read_pooled`](TcpStream::read_pooled), and on poll the bytes go straight into the
    /// lent buffer, up to its spare capacity (on io_uring they arrive in a pooled buffer and
    /// are appended to it). `lend` must give a buffer with spare capacity. On poll it is
    /// called for every attempt, and an attempt that receives nothing (a spurious readiness,
    /// an error, the end of stream) gives the buffer back unchanged. `Ok(0)` means end of
    /// stream (or, on poll, a lent buffer with no spare capacity).
    ///
    /// # Cancel safety
    ///
    /// As [`read_pooled`](TcpStream::read_pooled): dropping the future loses no bytes, except
    /// on io_uring while the worker's buffer ring is empty (the receive into a buffer of its
    /// own that it then makes is cancelled with the future).
    ///
    /// # Errors
    ///
    /// As `recv` fails.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::cell::RefCell;
    /// use bytes::BytesMut;
    /// use nanoapi_executor::net::TcpStream;
    ///
    /// # async fn f(stream: TcpStream) -> std::io::Result<()> {
    /// let inbuf = RefCell::new(BytesMut::new());
    /// let n = stream
    ///     .read_lent(|| {
    ///         let mut buf = inbuf.borrow_mut();
    ///         buf.reserve(4096);
    ///         buf
    ///     })
    ///     .await?;
    /// assert_eq!(inbuf.borrow().len(), n);
    /// # Ok(())
    /// # }
    /// ```
    pub fn read_lent<B: DerefMut<Target = BytesMut>>(
        &self,
        lend: impl FnMut() -> B,
    ) -> impl Future<Output = io::Result<usize>> {
        self.receiver.recv_lent(&self.fd, lend)
    }

    /// Writes what the kernel takes of `buf` (at least one byte unless `buf` is empty).
    ///
    /// # Errors
    ///
    /// As `send` fails (`EPIPE`, `ECONNRESET`, ...).
    pub async fn write<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        op::send::send(&self.fd, buf, 0).await
    }

    /// Writes all of `buf`, resuming after short writes.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropped partway, an unknown prefix of `buf` has been sent (on io_uring
    /// the send in flight is cancelled, or completes). A protocol that needs whole messages
    /// closes the stream after a dropped write.
    ///
    /// # Errors
    ///
    /// As `send` fails; `WriteZero` if the kernel takes nothing.
    pub async fn write_all<B: IoBuf>(&self, mut buf: B) -> BufResult<(), B> {
        let total = buf.bytes_init();
        let mut written = 0;
        while written < total {
            let (res, returned) = op::send::send(&self.fd, buf, written).await;
            buf = returned;
            match res {
                Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), buf),
                Ok(n) => written += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return (Err(err), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Writes what the kernel takes of `bufs`, in order, in one call.
    ///
    /// # Errors
    ///
    /// As `sendmsg` fails.
    pub async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        op::writev::writev(&self.fd, bufs, 0).await
    }

    /// Writes all of `bufs`, in order, resuming after short writes.
    ///
    /// # Errors
    ///
    /// As `sendmsg` fails; `WriteZero` if the kernel takes nothing.
    pub async fn writev_all<B: IoBuf>(&self, mut bufs: Vec<B>) -> BufResult<(), Vec<B>> {
        let total: usize = bufs.iter().map(IoBuf::bytes_init).sum();
        let mut written = 0;
        while written < total {
            let (res, returned) = op::writev::writev(&self.fd, bufs, written).await;
            bufs = returned;
            match res {
                Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), bufs),
                Ok(n) => written += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return (Err(err), bufs),
            }
        }
        (Ok(()), bufs)
    }

    /// Sends all of `buf` without waiting. On the io_uring backend the send is started and
    /// nobody awaits it: the completion wakes no task, `buf` is handed to `done` once the
    /// kernel is done with it (`done` runs inside the reactor: it must not use the executor; it
    /// is meant to put the buffer on a free list), and an error is kept for
    /// [`poll_sent`](TcpStream::poll_sent). On the poll backend it is sent at once, as far as
    /// the socket takes it: `buf` goes to `done` when all of it was (or the send failed, its
    /// error kept for `poll_sent` likewise).
    ///
    /// One such send at a time keeps the bytes in order: before anything else is written,
    /// wait for [`poll_sent`](TcpStream::poll_sent). Dropping the stream cancels a send still
    /// in flight.
    ///
    /// # Errors
    ///
    /// `Err` with the bytes still to send when it cannot send them all this way (an empty
    /// buffer, a send still in flight, or on poll a socket that is full): send them with
    /// [`write_all`](TcpStream::write_all). On poll some of `buf` may have been sent already:
    /// what comes back is only the rest.
    pub fn start_send(&self, buf: BytesMut, done: fn(BytesMut)) -> Result<(), BytesMut> {
        match self.fd.backend() {
            #[cfg(target_os = "linux")]
            FdBackend::Uring => send_detached::start(&self.fd, buf, done),
            FdBackend::Poll(key) => crate::op::send::send_now(&self.fd, key, buf, done),
        }
    }

    /// Ready once no send started by [`start_send`](TcpStream::start_send) is in flight.
    ///
    /// # Errors
    ///
    /// The error of a started send that failed (reported once).
    pub fn poll_sent(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        send_detached::poll_sent(&self.fd, cx)
    }

    /// Shuts down the read side, the write side (the peer reads end of stream) or both.
    ///
    /// # Errors
    ///
    /// As `shutdown` fails (`ENOTCONN`, ...).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        SockRef::from(&self.fd.borrowed()).shutdown(how)
    }

    /// Sets `TCP_NODELAY`: small writes go out at once instead of waiting to coalesce.
    ///
    /// # Errors
    ///
    /// As `setsockopt` fails.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        SockRef::from(&self.fd.borrowed()).set_tcp_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// As `getsockopt` fails.
    pub fn nodelay(&self) -> io::Result<bool> {
        SockRef::from(&self.fd.borrowed()).tcp_nodelay()
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// As `getpeername` fails (`ENOTCONN` once the peer is gone).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket_addr(SockRef::from(&self.fd.borrowed()).peer_addr()?)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// As `getsockname` fails.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket_addr(SockRef::from(&self.fd.borrowed()).local_addr()?)
    }
}

impl AsFd for TcpStream {
    /// For socket options this type does not wrap. Do not read or write through it: bytes
    /// would bypass (and reorder against) the stream's own operations.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.borrowed()
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        self.receiver.release(&self.fd);
        // A started send the peer does not take would keep the fd open: stop it (its slot
        // still frees its buffer at the completion).
        #[cfg(target_os = "linux")]
        if let Some(key) = self.fd.detached().in_flight() {
            crate::runtime::try_with_current(|ctx| ctx.driver.borrow_mut().uring().cancel_op(key));
        }
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.fd.raw())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
