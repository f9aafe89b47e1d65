//! The transport seam: what the connection future needs from a byte stream.

use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::ops::{Deref, DerefMut};
use std::task::{Context, Poll};

use bytes::BytesMut;
use nanoapi_executor::net::TcpStream;
use nanoapi_executor::{BufResult, PooledBuf};

use super::ShutdownSignal;

/// A byte stream the connection future can serve: owned-buffer I/O, so that the same
/// connection code runs over a TCP socket on either reactor, over the in-memory [`Duplex`]
/// (tests, fuzzing, the App's test client, serverless adapters), or over anything else that
/// implements it (a TLS session, later).
///
/// [`Duplex`]: super::testing::Duplex
pub trait Transport {
    /// The bytes of one receive. An empty chunk means end of stream.
    type Chunk: Deref<Target = [u8]>;

    /// Receives the next bytes that arrived.
    fn recv(&self) -> impl Future<Output = io::Result<Self::Chunk>>;

    /// Receives the next bytes that arrived after `buf`'s and gives it back with how many came
    /// (0 at end of stream): into its spare capacity where the transport can read in place and
    /// `buf` has room for at least 1 KiB (a TCP stream: one receive of up to
    /// that room, no copy), else a pooled receive appended (one copy, and no buffer held while
    /// the peer is quiet). A reader that knows a large read is coming (the rest of a long
    /// frame) reserves room first.
    ///
    /// The default appends a [`recv`](Transport::recv)'s chunk.
    fn recv_owned(&self, mut buf: BytesMut) -> impl Future<Output = BufResult<usize, BytesMut>> {
        async move {
            match self.recv().await {
                Ok(chunk) => {
                    buf.extend_from_slice(&chunk);
                    (Ok(chunk.len()), buf)
                }
                Err(err) => (Err(err), buf),
            }
        }
    }

    /// Receives the next bytes that arrived into the buffer `lend` returns, which is asked for
    /// only once they are here (so that a connection waiting on a quiet peer holds no buffer);
    /// how many came (0 at end of stream). `lend` gives a buffer with spare room; it may be
    /// called, and its buffer dropped unchanged, for a receive that finds nothing after all.
    ///
    /// The default appends a [`recv`](Transport::recv)'s chunk; a TCP stream on poll receives
    /// straight into the lent buffer (no copy).
    fn recv_lent<B: DerefMut<Target = BytesMut>>(
        &self,
        mut lend: impl FnMut() -> B,
    ) -> impl Future<Output = io::Result<usize>> {
        async move {
            let chunk = self.recv().await?;
            if !chunk.is_empty() {
                lend().extend_from_slice(&chunk);
            }
            Ok(chunk.len())
        }
    }

    /// Sends all of `buf`, then gives it back (for reuse), on error too.
    fn send_all(&self, buf: BytesMut) -> impl Future<Output = BufResult<(), BytesMut>>;

    /// Shuts the write side: the peer reads end of stream after what was sent.
    ///
    /// # Errors
    ///
    /// As the underlying shutdown fails (for a socket, `ENOTCONN` once the peer is gone).
    fn shutdown_write(&self) -> io::Result<()>;

    /// The drain signal of the server this transport's connection belongs to, if any: a
    /// protocol that outlives its HTTP exchange (a WebSocket) watches it to close in time.
    /// The default: none.
    fn shutdown_signal(&self) -> Option<&ShutdownSignal> {
        None
    }

    /// Sends all of `buf` without waiting for it to complete, where the transport can (a TCP
    /// stream: started and not awaited on io_uring, made at once on poll): no task waits for
    /// it, `buf` goes to `done` once sent, and an error waits for
    /// [`poll_started`](Transport::poll_started). The connection uses this for the last write
    /// before it waits for the next request.
    ///
    /// # Errors
    ///
    /// `Err` with the bytes still to send (all of `buf`, the default) when it cannot send them
    /// this way: send them with [`send_all`](Transport::send_all). Some of `buf` may have gone
    /// already (a TCP stream on poll sends what the socket takes): what comes back is the rest.
    fn start_send(&self, buf: BytesMut, done: fn(BytesMut)) -> Result<(), BytesMut> {
        let _ = done;
        Err(buf)
    }

    /// Ready once no send begun by [`start_send`](Transport::start_send) is in flight: call it
    /// before any other write or a shutdown, so that bytes stay in order.
    ///
    /// # Errors
    ///
    /// The error of a started send that failed.
    fn poll_started(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let _ = cx;
        Poll::Ready(Ok(()))
    }
}

/// The least spare room in a buffer for [`Transport::recv_owned`] to read into it in place
/// rather than append a pooled receive: smaller reads would cost a receive for a few bytes.
const IN_PLACE_MIN: usize = 1024;

impl Transport for TcpStream {
    type Chunk = PooledBuf;

    fn recv(&self) -> impl Future<Output = io::Result<PooledBuf>> {
        self.read_pooled()
    }

    async fn recv_owned(&self, mut buf: BytesMut) -> BufResult<usize, BytesMut> {
        if buf.capacity() - buf.len() >= IN_PLACE_MIN {
            return self.read(buf).await;
        }
        match self.read_pooled().await {
            Ok(chunk) => {
                buf.extend_from_slice(&chunk);
                (Ok(chunk.len()), buf)
            }
            Err(err) => (Err(err), buf),
        }
    }

    fn recv_lent<B: DerefMut<Target = BytesMut>>(
        &self,
        lend: impl FnMut() -> B,
    ) -> impl Future<Output = io::Result<usize>> {
        self.read_lent(lend)
    }

    fn send_all(&self, buf: BytesMut) -> impl Future<Output = BufResult<(), BytesMut>> {
        self.write_all(buf)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    fn start_send(&self, buf: BytesMut, done: fn(BytesMut)) -> Result<(), BytesMut> {
        TcpStream::start_send(self, buf, done)
    }

    fn poll_started(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_sent(cx)
    }
}
