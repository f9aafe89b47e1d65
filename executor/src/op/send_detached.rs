//! Sends that nobody awaits (io_uring only): the stream hands the buffer to the driver and
//! goes on; the completion wakes no task. The driver finishes a short send, passes the buffer to
//! the caller's `done` function, and keeps an error for the stream's next operation.
//!
//! A server answering a request then waiting for the next one saves a task wake-up per request
//! this way: the send's completion arrives while the task waits for bytes anyway. Order on the
//! wire is kept by allowing one such send at a time: the next write of the stream first waits
//! (`poll_sent`) until the previous one is done, which it normally long is.

use std::cell::Cell;
use std::io;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;

use crate::fd::SharedFd;

/// What a stream knows of its detached send.
#[derive(Default)]
pub(crate) struct DetachedState {
    /// The slot of the send in flight.
    in_flight: Cell<Option<usize>>,
    /// The errno of a send that failed, reported once by the next `poll_sent`.
    error: Cell<Option<i32>>,
    /// Who waits for the send in flight to finish.
    waker: Cell<Option<Waker>>,
}

impl DetachedState {
    /// Ready once no send is in flight: `Err` with the error of one that failed.
    pub(crate) fn poll_sent(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.in_flight.get().is_some() {
            self.waker.set(Some(cx.waker().clone()));
            return Poll::Pending;
        }
        match self.error.take() {
            Some(errno) => Poll::Ready(Err(io::Error::from_raw_os_error(errno))),
            None => Poll::Ready(Ok(())),
        }
    }

    /// The slot of the send in flight, if any.
    pub(crate) fn in_flight(&self) -> Option<usize> {
        self.in_flight.get()
    }
}

/// Starts sending all of `buf` on `fd` (an io_uring stream); `Err(buf)` while another detached
/// send of the stream is in flight.
#[cfg(target_os = "linux")]
pub(crate) fn start(
    fd: &SharedFd,
    state: &std::rc::Rc<DetachedState>,
    buf: BytesMut,
    done: fn(BytesMut),
) -> Result<(), BytesMut> {
    if state.in_flight.get().is_some() || buf.is_empty() {
        return Err(buf);
    }
    let send = uring::DetachedSend {
        fd: fd.clone(),
        buf,
        sent: 0,
        state: state.clone(),
        done,
    };
    let key = crate::runtime::with_current(|ctx| ctx.driver.borrow_mut().uring().detach(send));
    state.in_flight.set(Some(key));
    Ok(())
}

#[cfg(target_os = "linux")]
pub(crate) mod uring {
    use std::rc::Rc;
    use std::task::Waker;

    use bytes::BytesMut;
    use io_uring::opcode;
    use io_uring::squeue::Entry;
    use io_uring::types::Fd;

    use super::DetachedState;
    use crate::fd::SharedFd;
    use crate::op::SEND_FLAGS;

    /// The payload of a detached send, kept in its driver slot until the last completion.
    pub(crate) struct DetachedSend {
        /// Keeps the fd open (its number unused by another) while the kernel may send on it.
        pub(crate) fd: SharedFd,
        pub(crate) buf: BytesMut,
        /// Bytes the kernel took so far.
        pub(crate) sent: usize,
        pub(crate) state: Rc<DetachedState>,
        pub(crate) done: fn(BytesMut),
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
                    self.state.error.set(Some(libc::EPIPE));
                    Progress::Done
                }
                Ok(_) => Progress::Done,
                Err(_) => {
                    self.state.error.set(Some(-res));
                    Progress::Done
                }
            }
        }

        /// The send is over: the stream may send again, its waiter (if any) is woken, and the
        /// buffer goes to `done`. `done` runs inside the reactor: it must not use the
        /// executor (it puts the buffer on a free list).
        pub(crate) fn finish(self) -> Option<Waker> {
            self.state.in_flight.set(None);
            let waker = self.state.waker.take();
            (self.done)(self.buf);
            waker
        }
    }
}
