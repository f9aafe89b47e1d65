//! Sending the bytes of one buffer from an offset.

use crate::buf::{BufResult, IoBuf};
use crate::driver::poll::Direction;
use crate::fd::{FdBackend, SharedFd};
use crate::op::{SEND_FLAGS, cvt, mark_drained, readiness};

/// Sends `buf[offset..]` (what the kernel takes of it: possibly fewer bytes).
pub(crate) async fn send<B: IoBuf>(fd: &SharedFd, buf: B, offset: usize) -> BufResult<usize, B> {
    debug_assert!(offset <= buf.bytes_init());
    match fd.backend() {
        #[cfg(target_os = "linux")]
        FdBackend::Uring => {
            crate::driver::uring::op::Op::submit(uring::Send {
                fd: fd.clone(),
                buf,
                offset,
            })
            .await
        }
        FdBackend::Poll(key) => {
            let res = readiness(fd, key, Direction::Write, |fd| {
                // SAFETY: `offset <= bytes_init`, and `bytes_init` bytes are readable.
                let ptr = unsafe { buf.stable_ptr().add(offset) };
                // SAFETY: `ptr` is valid for the `bytes_init - offset` bytes after it.
                cvt(unsafe {
                    super::sys::send(fd.raw(), ptr.cast(), buf.bytes_init() - offset, SEND_FLAGS)
                })
            })
            .await;
            if matches!(res, Ok(n) if n < buf.bytes_init() - offset) {
                mark_drained(key, Direction::Write);
            }
            (res, buf)
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

    pub(super) struct Send<B> {
        pub(super) fd: SharedFd,
        pub(super) buf: B,
        pub(super) offset: usize,
    }

    // SAFETY: the SQE points into `buf`'s memory, stable across moves (IoBuf).
    unsafe impl<B: IoBuf> UringOp for Send<B> {
        type Output = BufResult<usize, B>;

        fn sqe(&mut self) -> Entry {
            // SAFETY: `offset <= bytes_init` (checked by the caller).
            let ptr = unsafe { self.buf.stable_ptr().add(self.offset) };
            let len = u32::try_from(self.buf.bytes_init() - self.offset).unwrap_or(u32::MAX);
            opcode::Send::new(Fd(self.fd.raw()), ptr, len)
                .flags(SEND_FLAGS)
                .build()
        }

        fn complete(self, res: io::Result<u32>, _flags: u32) -> Self::Output {
            (res.map(|n| n as usize), self.buf)
        }
    }
}
