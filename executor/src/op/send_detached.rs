//! Sends that nobody awaits (io_uring): the stream hands the buffer to the driver and goes on;
//! the completion wakes no task. The driver finishes a short send, passes the buffer to the
//! caller's `done` function, and keeps an error for the stream's next operation (as the poll
//! backend does for a send it made at once and that failed, `op::send::send_now`).
//!
//! A server answering a request then waiting for the next one saves a task wake-up per request
//! this way: the send's completion arrives while the task waits for bytes anyway. Order on the
//! wire is kept by allowing one such send at a time: the next write of the stream first waits
//! (`poll_sent`) until the previous one is done, which it normally long is.

use std::cell::Cell;
use std::io;
use std::task::{Context, Poll};

use bytes::BytesMut;

use crate::fd::SharedFd;

/// What a stream knows of its detached send, kept in the fd's shared allocation (every
/// connection has one) rather than in one of its own. The waiter's waker, needed only while a
/// send is in flight, is kept in the send's driver slot.
#[derive(Default)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) struct DetachedState {
    /// The slot of the send in flight, plus one (0: none).
    in_flight: Cell<u32>,
    /// The errno of a send that failed (0: none), reported once by the next `poll_sent`.
    error: Cell<i32>,
    /// Where the buffer of the send in flight goes once the kernel is done with it.
    done: Cell<Option<fn(BytesMut)>>,
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
impl DetachedState {
    /// Keeps the errno of a send nobody awaits for the next [`poll_sent`].
    pub(crate) fn fail(&self, errno: i32) {
        self.error.set(errno);
    }

    /// The slot of the send in flight, if any.
    pub(crate) fn in_flight(&self) -> Option<usize> {
        self.in_flight.get().checked_sub(1).map(|key| key as usize)
    }
}

/// Ready once `fd`'s stream has no detached send in flight: `Err` with the error of one that
/// failed.
pub(crate) fn poll_sent(fd: &SharedFd, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    let state = fd.detached();
    #[cfg(target_os = "linux")]
    if let Some(key) = state.in_flight() {
        crate::runtime::with_current(|ctx| {
            ctx.driver
                .borrow_mut()
                .uring()
                .wait_detached(key, cx.waker())
        });
        return Poll::Pending;
    }
    let _ = cx;
    match state.error.replace(0) {
        0 => Poll::Ready(Ok(())),
        errno => Poll::Ready(Err(io::Error::from_raw_os_error(errno))),
    }
}

/// Starts sending all of `buf` on `fd` (an io_uring stream); `Err(buf)` while another detached
/// send of the stream is in flight.
#[cfg(target_os = "linux")]
pub(crate) fn start(fd: &SharedFd, buf: BytesMut, done: fn(BytesMut)) -> Result<(), BytesMut> {
    let state = fd.detached();
    if state.in_flight().is_some() || buf.is_empty() {
        return Err(buf);
    }
    let send = uring::DetachedSend {
        fd: fd.clone(),
        buf,
        sent: 0,
        waiter: None,
    };
    state.done.set(Some(done));
    let key = crate::runtime::with_current(|ctx| ctx.driver.borrow_mut().uring().detach(send));
    // Four billion operations in flight on one worker would take hundreds of gigabytes of
    // slots: a key always fits the state's four bytes.
    let Ok(tag) = u32::try_from(key + 1) else {
        unreachable!("operation slot {key} beyond u32")
    };
    state.in_flight.set(tag);
    Ok(())
}

#[cfg(target_os = "linux")]
pub(crate) mod uring {
    use std::task::Waker;

    use bytes::BytesMut;
    use io_uring::opcode;
    use io_uring::squeue::Entry;
    use io_uring::types::Fd;

    use crate::fd::SharedFd;
    use crate::op::SEND_FLAGS;

    /// The payload of a detached send, kept in its driver slot until the last completion.
    pub(crate) struct DetachedSend {
        /// Keeps the fd open (its number unused by another) while the kernel may send on it.
        pub(crate) fd: SharedFd,
        pub(crate) buf: BytesMut,
        /// Bytes the kernel took so far.
        pub(crate) sent: usize,
        /// Who waits for the send to finish (the stream's next write), if anyone.
        pub(crate) waiter: Option<Waker>,
    }

    /// What the driver does after a completion of a detached send.
    pub(crate) enum Progress {
        /// The kernel took part of the buffer: send the rest (this entry).
        More(Entry),
        /// Finished (or failed): free the slot.
        Done,
    }

    impl DetachedSend {
        /// The send of what is left. `MSG_WAITALL`: the kernel retries a stream send until all
        /// of it is taken, so a short completion is rare (a signal, an error).
        pub(crate) fn sqe(&self) -> Entry {
            let rest = &self.buf[self.sent..];
            let len = u32::try_from(rest.len()).unwrap_or(u32::MAX);
            opcode::Send::new(Fd(self.fd.raw()), rest.as_ptr(), len)
                .flags(SEND_FLAGS | libc::MSG_WAITALL)
                .build()
        }

        /// Records a completion (`res`: bytes taken, or `-errno`).
        pub(crate) fn complete(&mut self, res: i32) -> Progress {
            match usize::try_from(res) {
                Ok(n) if n > 0 && self.sent + n < self.buf.len() => {
                    self.sent += n;
                    Progress::More(self.sqe())
                }
                Ok(0) if !self.buf.is_empty() => {
                    self.fd.detached().error.set(libc::EPIPE);
                    Progress::Done
                }
                Ok(_) => Progress::Done,
                Err(_) => {
                    self.fd.detached().error.set(-res);
                    Progress::Done
                }
            }
        }

        /// The send is over: the stream may send again, its waiter (if any) is woken, and the
        /// buffer goes to `done`. `done` runs inside the reactor: it must not use the
        /// executor (it puts the buffer on a free list).
        pub(crate) fn finish(self) -> Option<Waker> {
            let state = self.fd.detached();
            state.in_flight.set(0);
            if let Some(done) = state.done.take() {
                done(self.buf);
            }
            self.waiter
        }
    }
}
