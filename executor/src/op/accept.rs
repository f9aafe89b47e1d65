//! Accepting connections: a multishot accept on io_uring (one submission, one completion per
//! connection, re-armed when the kernel ends it, e.g. after `EMFILE`), `accept4` on readiness.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use crate::driver::poll::Direction;
use crate::fd::{FdBackend, SharedFd};
use crate::op::readiness;

/// The accept state a listener keeps between calls.
pub(crate) struct Acceptor {
    /// The multishot accept, once armed (io_uring only).
    #[cfg(target_os = "linux")]
    multishot: crate::driver::uring::MultishotOp,
}

impl Default for Acceptor {
    fn default() -> Self {
        Acceptor {
            #[cfg(target_os = "linux")]
            multishot: crate::driver::uring::MultishotOp::new(
                crate::driver::uring::MultishotKind::Accept,
            ),
        }
    }
}

impl Acceptor {
    /// Accepts one connection; the new fd is close-on-exec, and non-blocking on the poll
    /// backend.
    pub(crate) async fn accept(&self, listener: &SharedFd) -> io::Result<OwnedFd> {
        match listener.backend() {
            #[cfg(target_os = "linux")]
            FdBackend::Uring => self.accept_multishot(listener).await,
            FdBackend::Poll(key) => {
                readiness(listener, key, Direction::Read, accept_nonblocking).await
            }
        }
    }

    #[cfg(target_os = "linux")]
    async fn accept_multishot(&self, listener: &SharedFd) -> io::Result<OwnedFd> {
        use io_uring::opcode::AcceptMulti;
        use io_uring::types::Fd;

        use crate::driver::uring::MultishotEvent;

        let raw = listener.raw();
        let sqe = || AcceptMulti::new(Fd(raw)).flags(libc::SOCK_CLOEXEC).build();
        // SAFETY: the accept points to no memory; the listener's fd outlives the slot
        // (`release` hands a clone of it to the slot until the last completion).
        let MultishotEvent::Completion(res, _) = (unsafe { self.multishot.next(sqe) }).await else {
            unreachable!("accept takes no ring buffers")
        };
        let fd = crate::driver::uring::op::to_result(res)?;
        // SAFETY: a successful accept completion carries a new fd that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }

    /// The listener is closing: stop the multishot accept, keeping `listener`'s fd open until
    /// the kernel has let go of it.
    pub(crate) fn release(&self, listener: &SharedFd) {
        #[cfg(target_os = "linux")]
        self.multishot.release(listener);
        let _ = listener;
    }
}

/// `accept4(2)` with `SOCK_NONBLOCK | SOCK_CLOEXEC` where it exists, else `accept` and `fcntl`.
fn accept_nonblocking(listener: &SharedFd) -> io::Result<OwnedFd> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))]
    {
        // SAFETY: null address arguments are allowed; the fd is a listening socket we own.
        let fd = unsafe {
            libc::accept4(
                listener.raw(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `accept4` returned a new fd that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )))]
    {
        let (socket, _) = socket2::SockRef::from(&listener.borrowed()).accept()?;
        socket.set_nonblocking(true)?;
        Ok(socket.into())
    }
}
