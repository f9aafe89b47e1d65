//! The transport seam: what the connection future needs from a byte stream.

use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::ops::Deref;

use bytes::BytesMut;
use nanoapi_executor::net::TcpStream;
use nanoapi_executor::{BufResult, PooledBuf};

/// A byte stream the connection future can serve: owned-buffer I/O, so that the same
/// connection code runs over a TCP socket on either reactor, over the in-memory [`Duplex`]
/// (tests, fuzzing, the App's test client, serverless adapters), or over anything else that
/// implements it (a TLS session, later).
///
/// [`Duplex`]: super::Duplex
pub trait Transport {
    /// The bytes of one receive. An empty chunk means end of stream.
    type Chunk: Deref<Target = [u8]>;

    /// Receives the next bytes that arrived.
    fn recv(&self) -> impl Future<Output = io::Result<Self::Chunk>>;

    /// Sends all of `buf`, then gives it back (for reuse), on error too.
    fn send_all(&self, buf: BytesMut) -> impl Future<Output = BufResult<(), BytesMut>>;

    /// Shuts the write side: the peer reads end of stream after what was sent.
    ///
    /// # Errors
    ///
    /// As the underlying shutdown fails (for a socket, `ENOTCONN` once the peer is gone).
    fn shutdown_write(&self) -> io::Result<()>;
}

impl Transport for TcpStream {
    type Chunk = PooledBuf;

    fn recv(&self) -> impl Future<Output = io::Result<PooledBuf>> {
        self.read_pooled()
    }

    fn send_all(&self, buf: BytesMut) -> impl Future<Output = BufResult<(), BytesMut>> {
        self.write_all(buf)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}
