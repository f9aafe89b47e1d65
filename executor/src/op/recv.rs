//! Receiving: into a caller's buffer, or into one borrowed from the worker's pool.

use std::io;

use crate::buf::{BufResult, IoBufMut, PooledBuf};
use crate::driver::PooledStorage;
use crate::driver::poll::Direction;
use crate::fd::{FdBackend, SharedFd};
use crate::op::{cvt, mark_drained, readiness};
use crate::runtime::with_current;

/// Receives into the spare capacity of `buf` (after its initialised bytes).
pub(crate) async fn recv<B: IoBufMut>(fd: &SharedFd, mut buf: B) -> BufResult<usize, B> {
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
            let asked = buf.bytes_total() - buf.bytes_init();
            let res = readiness(fd, key, Direction::Read, |fd| recv_into(fd, &mut buf)).await;
            if matches!(res, Ok(n) if n > 0 && n < asked) {
                mark_drained(key, Direction::Read);
            }
            (res, buf)
        }
    }
}

/// Receives into a pooled buffer, taken only once data has arrived.
pub(crate) async fn recv_pooled(fd: &SharedFd) -> io::Result<PooledBuf> {
    match fd.backend() {
        #[cfg(target_os = "linux")]
        FdBackend::Uring => {
            let ring = with_current(|ctx| ctx.driver.borrow_mut().uring().buf_ring().clone());
            match uring::Op::submit(uring::RecvPooled {
                fd: fd.clone(),
                ring,
            })
            .await
            {
                // The ring ran dry: this receive gets a buffer of its own.
                Err(err) if err.raw_os_error() == Some(libc::ENOBUFS) => recv_heap(fd).await,
                res => res,
            }
        }
        FdBackend::Poll(key) => {
            let pool = with_current(|ctx| ctx.heap_pool.clone());
            let buf = readiness(fd, key, Direction::Read, |fd| {
                // A buffer is taken only now that the socket is readable; on EAGAIN it goes
                // straight back to the pool.
                let mut heap = pool.take();
                let n = recv_into(fd, &mut heap.buf)?;
                Ok(PooledBuf {
                    storage: PooledStorage::Heap(heap),
                    len: n,
                })
            })
            .await?;
            if buf.len > 0 && buf.len < pool.buf_size() {
                mark_drained(key, Direction::Read);
            }
            Ok(buf)
        }
    }
}

#[cfg(target_os = "linux")]
async fn recv_heap(fd: &SharedFd) -> io::Result<PooledBuf> {
    let mut heap = with_current(|ctx| ctx.heap_pool.take());
    let (res, buf) = recv(fd, std::mem::take(&mut heap.buf)).await;
    heap.buf = buf;
    let n = res?;
    Ok(PooledBuf {
        storage: PooledStorage::Heap(heap),
        len: n,
    })
}

/// `recv(2)` into the spare capacity of `buf`.
pub(crate) fn recv_into<B: IoBufMut>(fd: &SharedFd, buf: &mut B) -> io::Result<usize> {
    let init = buf.bytes_init();
    let spare = buf.bytes_total() - init;
    // SAFETY: the pointer is valid for `bytes_total` bytes (IoBufMut's contract), so for
    // `spare` bytes from `init` on.
    let n = cvt(unsafe { libc::recv(fd.raw(), buf.stable_mut_ptr().add(init).cast(), spare, 0) })?;
    // SAFETY: the kernel initialised `n <= spare` bytes after the first `init`.
    unsafe { buf.set_init(init + n) };
    Ok(n)
}

#[cfg(target_os = "linux")]
mod uring {
    use std::io;

    use io_uring::squeue::{Entry, Flags};
    use io_uring::types::Fd;
    use io_uring::{cqueue, opcode};

    use crate::buf::{BufResult, IoBufMut, PooledBuf};
    use crate::driver::PooledStorage;
    pub(super) use crate::driver::uring::op::Op;
    use crate::driver::uring::op::UringOp;
    use crate::driver::uring::{BUF_GROUP, BufRing};
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

    pub(super) struct RecvPooled {
        pub(super) fd: SharedFd,
        pub(super) ring: BufRing,
    }

    // SAFETY: the SQE points to no memory of ours: the kernel picks a buffer from the ring,
    // which lives until the driver has seen every completion.
    unsafe impl UringOp for RecvPooled {
        type Output = io::Result<PooledBuf>;

        fn sqe(&mut self) -> Entry {
            opcode::Recv::new(Fd(self.fd.raw()), std::ptr::null_mut(), 0)
                .ioprio(POLL_FIRST)
                .buf_group(BUF_GROUP)
                .build()
                .flags(Flags::BUFFER_SELECT)
        }

        fn complete(self, res: io::Result<u32>, flags: u32) -> Self::Output {
            // A buffer may be taken even by a receive of zero bytes: give it back either way.
            let buf = cqueue::buffer_select(flags).map(|bid| {
                let len = res.as_ref().map_or(0, |&n| n as usize);
                self.ring.lend(bid, len)
            });
            let n = res? as usize;
            match buf {
                Some(buf) => Ok(PooledBuf {
                    storage: PooledStorage::Ring(buf),
                    len: n,
                }),
                None if n == 0 => Ok(PooledBuf {
                    storage: PooledStorage::Empty,
                    len: 0,
                }),
                None => Err(io::Error::other(
                    "io_uring: a receive completed without its buffer",
                )),
            }
        }
    }
}
