//! The I/O operations, one per file, each with its io_uring submission and its readiness
//! syscall side by side. Handles (`net`, `fs`) call these; they pick the path by how the fd is
//! registered.

pub(crate) mod accept;
pub(crate) mod connect;
pub(crate) mod file;
pub(crate) mod recv;
pub(crate) mod send;
pub(crate) mod send_detached;
pub(crate) mod sys;
pub(crate) mod writev;

use std::future::{Future, poll_fn};
use std::io;
use std::task::{Context, Poll};

use crate::driver::poll::Direction;
use crate::fd::SharedFd;
use crate::runtime::with_current;

/// Flags for every send: a peer that went away yields `EPIPE`, never a `SIGPIPE` that would
/// kill the process (Apple systems get `SO_NOSIGPIPE` on the socket instead).
#[cfg(not(target_vendor = "apple"))]
pub(crate) const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
pub(crate) const SEND_FLAGS: libc::c_int = 0;

/// Runs `syscall` whenever the poll reactor reports `fd` ready in `direction`, until it stops
/// failing with `EAGAIN`/`EINTR`.
///
/// Not an `async fn`, which would keep its arguments twice in the future: a connection waiting
/// for its next request holds this future.
pub(crate) fn readiness<'a, T>(
    fd: &'a SharedFd,
    key: usize,
    direction: Direction,
    mut syscall: impl FnMut(&SharedFd) -> io::Result<T> + 'a,
) -> impl Future<Output = io::Result<T>> + 'a {
    poll_fn(move |cx| poll_readiness(fd, key, direction, cx, &mut syscall))
}

/// [`readiness`] as a poll function, for a future that keeps its own state.
pub(crate) fn poll_readiness<T>(
    fd: &SharedFd,
    key: usize,
    direction: Direction,
    cx: &mut Context<'_>,
    syscall: &mut impl FnMut(&SharedFd) -> io::Result<T>,
) -> Poll<io::Result<T>> {
    loop {
        if with_current(|ctx| {
            ctx.driver
                .borrow_mut()
                .poll()
                .poll_ready(key, direction, cx)
        })
        .is_pending()
        {
            return Poll::Pending;
        }
        match syscall(fd) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                with_current(|ctx| ctx.driver.borrow_mut().poll().clear_ready(key, direction));
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            res => return Poll::Ready(res),
        }
    }
}

/// Records that the last syscall on `key` in `direction` left the socket drained: a send that
/// took less than it was given filled the send buffer. The next attempt then waits for the
/// reactor's next edge instead of paying for a syscall that would fail with `EAGAIN`. Stream
/// sockets only. Not used for receives: a short receive empties the data but not a FIN that
/// arrived with it, and that FIN raised no edge of its own.
pub(crate) fn mark_drained(key: usize, direction: Direction) {
    with_current(|ctx| ctx.driver.borrow_mut().poll().clear_ready(key, direction));
}

/// A libc return value as an `io::Result`: `-1` means `errno`.
pub(crate) fn cvt(res: libc::ssize_t) -> io::Result<usize> {
    usize::try_from(res).map_err(|_| io::Error::last_os_error())
}
