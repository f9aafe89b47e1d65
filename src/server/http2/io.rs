//! tokio's I/O traits over a [`Transport`], which is what the `h2` codec reads and writes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use bytes::BytesMut;
use nanoapi_executor::BufResult;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::server::Transport;
use crate::server::conn::spare_buffers;

/// Written bytes held before a write must wait for the send in flight.
const MAX_PENDING: usize = 64 * 1024;

type Receive<C> = Pin<Box<dyn Future<Output = io::Result<C>>>>;
type Send = Pin<Box<dyn Future<Output = BufResult<(), BytesMut>>>>;

/// A transport read and written through `AsyncRead`/`AsyncWrite`: a receive in progress and
/// a send in progress are boxed futures over the shared transport; writes gather in a buffer
/// that a flush sends whole.
pub(super) struct TokioIo<T: Transport> {
    io: Rc<T>,
    receiving: Option<Receive<T::Chunk>>,
    /// A received chunk not yet read whole, and how much of it was.
    unread: Option<(T::Chunk, usize)>,
    sending: Option<Send>,
    /// Written, not yet sent.
    pending: BytesMut,
}

impl<T: Transport + 'static> TokioIo<T>
where
    T::Chunk: 'static,
{
    pub(super) fn new(io: Rc<T>) -> TokioIo<T> {
        TokioIo {
            io,
            receiving: None,
            unread: None,
            sending: None,
            pending: BytesMut::new(),
        }
    }

    /// Drives the send in flight to its end, then sends what is pending, until all is sent.
    fn poll_send_all(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if let Some(sending) = &mut self.sending {
                let (sent, buf) = ready!(sending.as_mut().poll(cx));
                self.sending = None;
                spare_buffers::give_back(buf);
                sent?;
            }
            if self.pending.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let out = std::mem::take(&mut self.pending);
            let io = self.io.clone();
            self.sending = Some(Box::pin(async move { io.send_all(out).await }));
        }
    }
}

impl<T: Transport + 'static> AsyncRead for TokioIo<T>
where
    T::Chunk: Unpin + 'static,
{
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if let Some((chunk, read)) = &mut this.unread {
                let n = buf.remaining().min(chunk.len() - *read);
                buf.put_slice(&chunk[*read..*read + n]);
                *read += n;
                if *read == chunk.len() {
                    this.unread = None;
                }
                return Poll::Ready(Ok(()));
            }
            let receiving = this.receiving.get_or_insert_with(|| {
                let io = this.io.clone();
                Box::pin(async move { io.recv().await })
            });
            let chunk = ready!(receiving.as_mut().poll(cx));
            this.receiving = None;
            let chunk = chunk?;
            if chunk.is_empty() {
                // End of stream: a read of nothing.
                return Poll::Ready(Ok(()));
            }
            this.unread = Some((chunk, 0));
        }
    }
}

impl<T: Transport + 'static> AsyncWrite for TokioIo<T>
where
    T::Chunk: Unpin + 'static,
{
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.len() >= MAX_PENDING {
            ready!(this.poll_send_all(cx))?;
        }
        if this.pending.capacity() == 0 {
            this.pending = spare_buffers::take();
        }
        this.pending.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_send_all(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send_all(cx))?;
        Poll::Ready(self.io.shutdown_write())
    }
}
