//! Gathered sends: several buffers in one `sendmsg`.

use crate::buf::{BufResult, IoBuf};
use crate::driver::poll::Direction;
use crate::fd::{FdBackend, SharedFd};
use crate::op::{SEND_FLAGS, cvt, mark_drained, readiness};

/// The most buffers one call passes (POSIX's minimum `IOV_MAX`, and Linux's value).
const MAX_IOVECS: usize = 1024;

/// Sends the bytes of `bufs` after skipping the first `skip` of them (what the kernel takes:
/// possibly fewer).
pub(crate) async fn writev<B: IoBuf>(
    fd: &SharedFd,
    bufs: Vec<B>,
    skip: usize,
) -> BufResult<usize, Vec<B>> {
    match fd.backend() {
        #[cfg(target_os = "linux")]
        FdBackend::Uring => {
            let payload = uring::SendMsg::new(fd.clone(), bufs, skip);
            crate::driver::uring::op::Op::submit(payload).await
        }
        FdBackend::Poll(key) => {
            let mut iovecs = Vec::new();
            let res = readiness(fd, key, Direction::Write, |fd| {
                fill_iovecs(&bufs, skip, &mut iovecs);
                // SAFETY: a zeroed msghdr is valid (no name, no control data).
                let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
                msg.msg_iov = iovecs.as_mut_ptr();
                msg.msg_iovlen = iovecs.len() as _;
                // SAFETY: `msg` points at `iovecs`, which point into `bufs`' initialised bytes;
                // all outlive the call.
                cvt(unsafe { super::sys::sendmsg(fd.raw(), &msg, SEND_FLAGS) })
            })
            .await;
            let asked: usize = iovecs.iter().map(|iovec| iovec.iov_len).sum();
            if matches!(res, Ok(n) if n < asked) {
                mark_drained(key, Direction::Write);
            }
            (res, bufs)
        }
    }
}

/// Describes the bytes of `bufs` after the first `skip`, empty buffers left out.
fn fill_iovecs<B: IoBuf>(bufs: &[B], mut skip: usize, iovecs: &mut Vec<libc::iovec>) {
    iovecs.clear();
    for buf in bufs {
        let len = buf.bytes_init();
        if skip >= len {
            skip -= len;
            continue;
        }
        iovecs.push(libc::iovec {
            // SAFETY: `skip < len`, inside the initialised bytes.
            iov_base: unsafe { buf.stable_ptr().add(skip) }.cast_mut().cast(),
            iov_len: len - skip,
        });
        skip = 0;
        if iovecs.len() == MAX_IOVECS {
            break;
        }
    }
}

#[cfg(target_os = "linux")]
mod uring {
    use std::io;

    use io_uring::opcode;
    use io_uring::squeue::Entry;
    use io_uring::types::Fd;

    use crate::buf::{BufResult, IoBuf};
    use crate::driver::uring::op::UringOp;
    use crate::fd::SharedFd;
    use crate::op::SEND_FLAGS;

    pub(super) struct SendMsg<B> {
        fd: SharedFd,
        bufs: Vec<B>,
        iovecs: Vec<libc::iovec>,
        msg: Box<libc::msghdr>,
    }

    impl<B: IoBuf> SendMsg<B> {
        pub(super) fn new(fd: SharedFd, bufs: Vec<B>, skip: usize) -> Self {
            let mut iovecs = Vec::new();
            super::fill_iovecs(&bufs, skip, &mut iovecs);
            // SAFETY: a zeroed msghdr is valid (no name, no control data).
            let msg = Box::new(unsafe { std::mem::zeroed::<libc::msghdr>() });
            SendMsg {
                fd,
                bufs,
                iovecs,
                msg,
            }
        }
    }

    // SAFETY: the SQE points at `msg` (boxed), which points at `iovecs` (heap), which point
    // into the buffers' stable memory; moving `self` moves none of them.
    unsafe impl<B: IoBuf> UringOp for SendMsg<B> {
        type Output = BufResult<usize, Vec<B>>;

        fn sqe(&mut self) -> Entry {
            self.msg.msg_iov = self.iovecs.as_mut_ptr();
            self.msg.msg_iovlen = self.iovecs.len() as _;
            opcode::SendMsg::new(Fd(self.fd.raw()), &raw const *self.msg)
                .flags(SEND_FLAGS as u32)
                .build()
        }

        fn complete(self, res: io::Result<u32>, _flags: u32) -> Self::Output {
            (res.map(|n| n as usize), self.bufs)
        }
    }
}
