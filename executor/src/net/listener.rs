use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, BorrowedFd};

use socket2::SockRef;

use super::{TcpStream, new_socket, register};
use crate::fd::SharedFd;
use crate::op::accept::Acceptor;

/// A TCP listening socket.
///
/// Accept from one task at a time per listener. For one listener per worker on the same port
/// (the kernel then spreads connections across workers), bind with
/// [`reuse_port`](TcpListenerBuilder::reuse_port).
///
/// # Examples
///
/// ```
/// use nanoapi_executor::net::{TcpListener, TcpStream};
///
/// nanoapi_executor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = nanoapi_executor::spawn_local(async move {
///         let stream = TcpStream::connect(addr).await.unwrap();
///         stream.write_all(b"hi" as &'static [u8]).await.0.unwrap();
///     });
///     let (stream, _peer) = listener.accept().await.unwrap();
///     let (res, buf) = stream.read(Vec::with_capacity(2)).await;
///     assert_eq!(res.unwrap(), 2);
///     assert_eq!(buf, b"hi");
///     client.await.unwrap();
/// });
/// ```
pub struct TcpListener {
    fd: SharedFd,
    acceptor: Acceptor,
}

/// Options for binding a [`TcpListener`].
#[derive(Debug, Clone)]
pub struct TcpListenerBuilder {
    addr: SocketAddr,
    reuse_port: bool,
    backlog: i32,
    only_v6: Option<bool>,
}

impl TcpListenerBuilder {
    /// Sets `SO_REUSEPORT`, so several listeners (one per worker) can bind the same port.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// The accept queue length (default 1024; the kernel caps it at `somaxconn`).
    pub fn backlog(mut self, backlog: i32) -> Self {
        self.backlog = backlog;
        self
    }

    /// For an IPv6 address: accept IPv6 only (`true`) or IPv4-mapped addresses too (`false`);
    /// unset leaves the system default.
    pub fn only_v6(mut self, only: bool) -> Self {
        self.only_v6 = Some(only);
        self
    }

    /// Binds and listens, on the current worker.
    ///
    /// # Errors
    ///
    /// As `socket`, `bind` and `listen` fail (address in use, permission denied, ...).
    ///
    /// # Panics
    ///
    /// Off a worker thread.
    pub fn bind(self) -> io::Result<TcpListener> {
        let socket = new_socket(&self.addr)?;
        socket.set_reuse_address(true)?;
        #[cfg(all(
            unix,
            not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
        ))]
        if self.reuse_port {
            socket.set_reuse_port(true)?;
        }
        if let (Some(only), SocketAddr::V6(_)) = (self.only_v6, self.addr) {
            socket.set_only_v6(only)?;
        }
        socket.bind(&self.addr.into())?;
        socket.listen(self.backlog)?;
        Ok(TcpListener {
            fd: register(socket)?,
            acceptor: Acceptor::default(),
        })
    }
}

impl TcpListener {
    /// Binds to the first address `addr` resolves to, with `SO_REUSEADDR` and a backlog of 1024.
    ///
    /// # Errors
    ///
    /// As [`TcpListenerBuilder::bind`], or if `addr` resolves to nothing.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind to"))?;
        TcpListener::builder(addr).bind()
    }

    /// A builder for finer control (`SO_REUSEPORT`, backlog, IPv6-only).
    pub fn builder(addr: SocketAddr) -> TcpListenerBuilder {
        TcpListenerBuilder {
            addr,
            reuse_port: false,
            backlog: 1024,
            only_v6: None,
        }
    }

    /// Serves an already-bound, listening std socket (inherited, socket activation, ...).
    ///
    /// # Errors
    ///
    /// If the socket cannot be registered with the reactor.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            fd: register(listener.into())?,
            acceptor: Acceptor::default(),
        })
    }

    /// Waits for a connection.
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of descriptors (the listener stays usable: back off and call
    /// again), `ECONNABORTED` for a connection reset while queued, and other `accept` errors.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let fd = self.acceptor.accept(&self.fd).await?;
        let stream = TcpStream::from_fd(fd)?;
        let peer = stream.peer_addr()?;
        Ok((stream, peer))
    }

    /// The address the listener is bound to (with the port the kernel chose for port 0).
    ///
    /// # Errors
    ///
    /// As `getsockname` fails.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket_addr(SockRef::from(&self.fd.borrowed()).local_addr()?)
    }
}

impl AsFd for TcpListener {
    /// For socket options this type does not wrap.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.borrowed()
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        self.acceptor.release(&self.fd);
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("fd", &self.fd.raw())
            .field("addr", &self.local_addr().ok())
            .finish()
    }
}

pub(super) fn socket_addr(addr: socket2::SockAddr) -> io::Result<SocketAddr> {
    addr.as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP socket address"))
}
