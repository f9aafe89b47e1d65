//! Receiving: into a caller's buffer, or into one borrowed from the worker's pool.
//!
//! On io_uring, pooled receives are one multishot receive per stream, armed on the first read:
//! the kernel picks a buffer from the worker's ring for each arrival and posts it, with no new
//! submission per read. A stream that leaves too many buffers unread is paused (see
//! `UringDriver::reap`) and re-armed when it catches up; an empty ring makes one receive fall
//! back to a buffer of its own. On poll, a pooled buffer is taken only once the socket is
//! readable.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::io;
use std::ops::DerefMut;
#[cfg(target_os = "linux")]
use std::pin::Pin;
use std::task::Poll;
#[cfg(target_os = "linux")]
use std::task::{Context, ready};

use bytes::BytesMut;

use crate::buf::{BufResult, IoBufMut, PooledBuf};
use crate::driver::PooledStorage;
use crate::driver::poll::Direction;
#[cfg(target_os = "linux")]
use crate::driver::uring::MultishotEvent;
use crate::fd::{FdBackend, SharedFd};
use crate::op::{cvt, poll_readiness, readiness};
use crate::runtime::with_current;

/// The receive an io_uring stream makes into a buffer of its own when the buffer ring ran dry.
#[cfg(target_os = "linux")]
type FallbackRecv<'a> = Pin<Box<dyn Future<Output = io::Result<PooledBuf>> + 'a>>;

/// The receive state a stream keeps between reads.
pub(crate) struct Receiver {
    /// The multishot receive, once armed (io_uring only).
    #[cfg(target_os = "linux")]
    multishot: crate::driver::uring::MultishotOp,
    /// Bytes received into a pooled buffer but not yet read by `read(buf)`, which copies.
    /// Boxed: rare (reads of both kinds on one stream), and every stream carries the slot (a
    /// `Cell`, not a `RefCell`: one word).
    leftover: Cell<Option<Box<PooledBuf>>>,
}

impl Default for Receiver {
    fn default() -> Self {
        Receiver {
            #[cfg(target_os = "linux")]
            multishot: crate::driver::uring::MultishotOp::new(
                crate::driver::uring::MultishotKind::Recv,
            ),
            leftover: Cell::new(None),
        }
    }
}

impl Receiver {
    /// Receives into the spare capacity of `buf` (after its initialised bytes).
    pub(crate) async fn recv<B: IoBufMut>(&self, fd: &SharedFd, mut buf: B) -> BufResult<usize, B> {
        if self.has_pooled_bytes() {
            // Bytes may already wait in pooled buffers: reading around them would reorder the
            // stream, so take them from there and copy.
            let chunk = match self.recv_pooled(fd).await {
                Ok(chunk) => chunk,
                Err(err) => return (Err(err), buf),
            };
            let n = copy_into(&chunk, &mut buf);
            let mut chunk = chunk;
            chunk.advance(n);
            if !chunk.is_empty() {
                self.leftover.set(Some(Box::new(chunk)));
            }
            return (Ok(n), buf);
        }
        match fd.backend() {
            #[cfg(target_os = "linux")]
            FdBackend::Uring => {
                uring::Op::submit(uring::Recv {
                    fd: fd.clone(),
                    buf,
                })
                .await
            }
            FdBackend::Poll(key) => {
                // A short read is not taken for "drained" (as a short send is): a FIN that came
                // with the data raised no edge of its own, and only the next receive sees it.
                let res = readiness(fd, key, Direction::Read, |fd| recv_into(fd, &mut buf)).await;
                (res, buf)
            }
        }
    }

    /// Receives into a pooled buffer, taken only once data has arrived.
    ///
    /// Not an `async fn`: one poll function over the stream's own state, as small as the
    /// receive can be (an idle TLS or WebSocket connection waits in it).
    pub(crate) fn recv_pooled<'a>(
        &'a self,
        fd: &'a SharedFd,
    ) -> impl Future<Output = io::Result<PooledBuf>> + 'a {
        #[cfg(target_os = "linux")]
        let mut fallback = None;
        poll_fn(move |cx| match fd.backend() {
            #[cfg(target_os = "linux")]
            FdBackend::Uring => self.poll_ring_chunk(fd, &mut fallback, cx),
            FdBackend::Poll(key) => {
                if let Some(leftover) = self.leftover.take() {
                    return Poll::Ready(Ok(*leftover));
                }
                poll_readiness(fd, key, Direction::Read, cx, &mut |fd| {
                    // A buffer is taken only now that the socket is readable; on EAGAIN it goes
                    // straight back to the pool. Not marked drained when short: see `recv`.
                    let mut heap = with_current(|ctx| ctx.heap_pool.take());
                    recv_into(fd, &mut heap.buf)?;
                    Ok(PooledBuf::new(PooledStorage::Heap(heap)))
                })
            }
        })
    }

    /// Receives into the buffer `lend` returns, asked for only once bytes have arrived: on
    /// poll straight into its spare capacity; on io_uring (and for a leftover chunk) a pooled
    /// chunk appended to it.
    ///
    /// One poll function over the stream's own state rather than a future around
    /// `recv_pooled`: a connection waiting for its next request holds this future, and it is
    /// smaller that way (the stream, its fd, `lend` and the rare fallback's box).
    pub(crate) fn recv_lent<'a, B: DerefMut<Target = BytesMut>>(
        &'a self,
        fd: &'a SharedFd,
        mut lend: impl FnMut() -> B,
    ) -> impl Future<Output = io::Result<usize>> {
        #[cfg(target_os = "linux")]
        let mut fallback = None;
        poll_fn(move |cx| match fd.backend() {
            #[cfg(target_os = "linux")]
            FdBackend::Uring => {
                let chunk = ready!(self.poll_ring_chunk(fd, &mut fallback, cx));
                Poll::Ready(chunk.map(|chunk| append_chunk(&mut lend, &chunk)))
            }
            FdBackend::Poll(key) => {
                if let Some(leftover) = self.leftover.take() {
                    return Poll::Ready(Ok(append_chunk(&mut lend, &leftover)));
                }
                poll_readiness(fd, key, Direction::Read, cx, &mut |fd| {
                    let mut buf = lend();
                    debug_assert!(buf.capacity() > buf.len(), "a lent buffer has no room");
                    // Not marked drained when short: see `recv`.
                    recv_into(fd, &mut *buf)
                })
            }
        })
    }

    /// The next chunk of an io_uring stream: the leftover one, else the multishot receive's,
    /// or, once the buffer ring ran dry, that of a receive into a buffer of its own, kept in
    /// `fallback` (boxed: rare, and inline it would size every idle connection's receive).
    /// The fallback is checked first: a leftover chunk set meanwhile (a `read(buf)` on the
    /// same stream) comes after the bytes it receives.
    #[cfg(target_os = "linux")]
    fn poll_ring_chunk<'a>(
        &'a self,
        fd: &'a SharedFd,
        fallback: &mut Option<FallbackRecv<'a>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<PooledBuf>> {
        loop {
            if let Some(recv) = fallback {
                let received = ready!(recv.as_mut().poll(cx));
                *fallback = None;
                return Poll::Ready(received);
            }
            if let Some(leftover) = self.leftover.take() {
                return Poll::Ready(Ok(*leftover));
            }
            // SAFETY: the receive points to no memory of ours (the kernel picks ring buffers);
            // the stream's fd outlives the slot (`release` hands a clone of it to the slot until
            // the last completion).
            match ready!(unsafe { self.multishot.poll_next(|| recv_multi(fd), cx) }) {
                MultishotEvent::RanDry => *fallback = Some(Box::pin(recv_heap(fd))),
                MultishotEvent::Completion(res, flags) => {
                    return Poll::Ready(ring_chunk(res, flags));
                }
            }
        }
    }

    fn has_pooled_bytes(&self) -> bool {
        #[cfg(target_os = "linux")]
        if self.multishot.is_active() {
            return true;
        }
        let leftover = self.leftover.take();
        let some = leftover.is_some();
        self.leftover.set(leftover);
        some
    }

    /// The stream is closing: stops the multishot receive, keeping `fd` open until the kernel
    /// has let go of it.
    pub(crate) fn release(&self, fd: &SharedFd) {
        #[cfg(target_os = "linux")]
        self.multishot.release(fd);
        let _ = fd;
    }
}

/// Appends `chunk` to the buffer `lend` gives (asked for only when there is something to
/// append); its length.
fn append_chunk<B: DerefMut<Target = BytesMut>>(
    lend: &mut impl FnMut() -> B,
    chunk: &[u8],
) -> usize {
    if !chunk.is_empty() {
        lend().extend_from_slice(chunk);
    }
    chunk.len()
}

/// The multishot receive's submission for `fd`.
#[cfg(target_os = "linux")]
fn recv_multi(fd: &SharedFd) -> io_uring::squeue::Entry {
    use io_uring::opcode::RecvMulti;
    use io_uring::types::Fd;

    RecvMulti::new(Fd(fd.raw()), crate::driver::uring::BUF_GROUP).build()
}

/// The chunk a multishot receive's completion carries.
#[cfg(target_os = "linux")]
fn ring_chunk(res: i32, flags: u32) -> io::Result<PooledBuf> {
    // The kernel may attach a buffer even to a zero-byte result: take it either way, so that
    // it goes back to the ring.
    let buf = io_uring::cqueue::buffer_select(flags).map(|bid| {
        let len = usize::try_from(res).unwrap_or(0);
        with_current(|ctx| ctx.driver.borrow_mut().uring().buf_ring().lend(bid, len))
    });
    crate::driver::uring::op::to_result(res)?;
    Ok(PooledBuf::new(
        buf.map_or(PooledStorage::Empty, PooledStorage::Ring),
    ))
}

/// Copies as much of `chunk` as fits into the spare capacity of `buf`.
fn copy_into<B: IoBufMut>(chunk: &[u8], buf: &mut B) -> usize {
    let init = buf.bytes_init();
    let n = chunk.len().min(buf.bytes_total() - init);
    // SAFETY: `buf` is valid for writes of `bytes_total` bytes, so `n` from `init`; `chunk` is
    // worker memory distinct from the caller's buffer.
    unsafe { std::ptr::copy_nonoverlapping(chunk.as_ptr(), buf.stable_mut_ptr().add(init), n) };
    // SAFETY: the `n` bytes after `init` were just written.
    unsafe { buf.set_init(init + n) };
    n
}

#[cfg(target_os = "linux")]
async fn recv_heap(fd: &SharedFd) -> io::Result<PooledBuf> {
    let mut heap = with_current(|ctx| ctx.heap_pool.take());
    let buf = std::mem::take(&mut heap.buf);
    let (res, buf) = uring::Op::submit(uring::Recv {
        fd: fd.clone(),
        buf,
    })
    .await;
    heap.buf = buf;
    res?;
    Ok(PooledBuf::new(PooledStorage::Heap(heap)))
}

/// `recv(2)` into the spare capacity of `buf`.
pub(crate) fn recv_into<B: IoBufMut>(fd: &SharedFd, buf: &mut B) -> io::Result<usize> {
    let init = buf.bytes_init();
    let spare = buf.bytes_total() - init;
    // SAFETY: the pointer is valid for `bytes_total` bytes (IoBufMut's contract), so for
    // `spare` bytes from `init` on.
    let n = cvt(unsafe {
        super::sys::recv(fd.raw(), buf.stable_mut_ptr().add(init).cast(), spare, 0)
    })?;
    // SAFETY: the kernel initialised `n <= spare` bytes after the first `init`.
    unsafe { buf.set_init(init + n) };
    Ok(n)
}

#[cfg(target_os = "linux")]
mod uring {
    use std::io;

    use io_uring::opcode;
    use io_uring::squeue::Entry;
    use io_uring::types::Fd;

    use crate::buf::{BufResult, IoBufMut};
    pub(super) use crate::driver::uring::op::Op;
    use crate::driver::uring::op::UringOp;
    use crate::fd::SharedFd;

    /// `IORING_RECVSEND_POLL_FIRST`: wait for readiness before trying to receive. A receive is
    /// usually issued right after the previous data was consumed, when the socket is empty, so
    /// an immediate attempt would mostly fail and cost the kernel a wasted pass.
    const POLL_FIRST: u16 = 1;

    pub(super) struct Recv<B> {
        pub(super) fd: SharedFd,
        pub(super) buf: B,
    }

    // SAFETY: the SQE points into `buf`'s heap memory, stable across moves (IoBufMut).
    unsafe impl<B: IoBufMut> UringOp for Recv<B> {
        type Output = BufResult<usize, B>;

        fn sqe(&mut self) -> Entry {
            let init = self.buf.bytes_init();
            let spare = u32::try_from(self.buf.bytes_total() - init).unwrap_or(u32::MAX);
            // SAFETY: `init <= bytes_total`, inside the buffer.
            let ptr = unsafe { self.buf.stable_mut_ptr().add(init) };
            opcode::Recv::new(Fd(self.fd.raw()), ptr, spare)
                .ioprio(POLL_FIRST)
                .build()
        }

        fn complete(mut self, res: io::Result<u32>, _flags: u32) -> Self::Output {
            let res = res.map(|n| {
                let n = n as usize;
                let init = self.buf.bytes_init();
                // SAFETY: the kernel wrote `n` bytes after the first `init`.
                unsafe { self.buf.set_init(init + n) };
                n
            });
            (res, self.buf)
        }
    }
}
