//! Sending the bytes of one buffer from an offset.

use bytes::BytesMut;

use crate::buf::{BufResult, IoBuf};
use crate::driver::poll::Direction;
use crate::fd::{FdBackend, SharedFd};
use crate::op::{SEND_FLAGS, cvt, mark_drained, readiness};
use crate::runtime::with_current;

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

/// Sends what a poll-backend stream's socket takes of `buf` at once, without waiting: `Ok` once
/// all of it is sent, or once the send failed (the error is kept for the stream's next
/// `poll_sent`, as a detached send's on io_uring), and `done` gets the buffer; else `Err` with
/// the bytes still to send: all of `buf` when the socket is full, or, when it took a part, the
/// rest copied into a buffer of its own (`buf` then goes to `done`).
pub(crate) fn send_now(
    fd: &SharedFd,
    key: usize,
    buf: BytesMut,
    done: fn(BytesMut),
) -> Result<(), BytesMut> {
    let ready = with_current(|ctx| {
        ctx.driver
            .borrow_mut()
            .poll()
            .is_ready(key, Direction::Write)
    });
    if !ready || buf.is_empty() {
        return Err(buf);
    }
    // SAFETY: `buf` is valid for reads of its `len()` initialised bytes.
    let sent =
        cvt(unsafe { super::sys::send(fd.raw(), buf.as_ptr().cast(), buf.len(), SEND_FLAGS) });
    match sent {
        Ok(n) if n == buf.len() => {
            done(buf);
            Ok(())
        }
        Ok(n) => {
            mark_drained(key, Direction::Write);
            // The rest in a buffer of its own, and `buf` whole to `done`: a buffer whose start
            // was advanced would hide its size from whoever recycles it.
            let rest = BytesMut::from(&buf[n..]);
            done(buf);
            Err(rest)
        }
        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
            mark_drained(key, Direction::Write);
            Err(buf)
        }
        Err(err) => match err.raw_os_error() {
            Some(errno) if err.kind() != std::io::ErrorKind::Interrupted => {
                fd.detached().fail(errno);
                done(buf);
                Ok(())
            }
            _ => Err(buf),
        },
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
