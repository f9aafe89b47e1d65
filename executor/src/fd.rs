//! File descriptors shared between a handle and its operations in flight.

use std::io;
use std::os::fd::{BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;

use crate::driver::Driver;
use crate::op::send_detached::DetachedState;
use crate::runtime::{try_with_current, with_current};

/// An fd registered with the current worker's reactor, closed when the handle and every
/// operation holding a clone are gone.
///
/// Operations clone it into their payload: an fd is never closed while an SQE naming it may
/// still be submitted or a completion may still arrive, so its number cannot be reused under
/// an operation of the old owner.
#[derive(Clone)]
pub(crate) struct SharedFd {
    inner: Rc<Inner>,
}

struct Inner {
    fd: RawFd,
    /// The key of the fd's registration with the poll backend; [`NOT_POLLED`] on io_uring.
    /// Four bytes rather than an `FdBackend` (sixteen): every connection keeps this
    /// allocation.
    poll_key: u32,
    /// The stream's send started without a waiter (io_uring), kept here rather than in an
    /// allocation of its own.
    detached: DetachedState,
}

/// `Inner::poll_key` of an fd the poll backend does not know.
const NOT_POLLED: u32 = u32::MAX;

/// How the reactor knows this fd.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FdBackend {
    /// Completion-based: nothing to register.
    #[cfg(target_os = "linux")]
    Uring,
    /// Readiness-based: the key of its registration.
    Poll(usize),
}

impl SharedFd {
    /// Takes ownership of `fd` and registers it with the current worker's reactor. On the poll
    /// backend the fd must already be non-blocking.
    ///
    /// # Panics
    ///
    /// Off a worker thread.
    pub(crate) fn new(fd: OwnedFd) -> io::Result<SharedFd> {
        let fd = fd.into_raw_fd();
        let poll_key = with_current(|ctx| match &mut *ctx.driver.borrow_mut() {
            #[cfg(target_os = "linux")]
            Driver::Uring(_) => Ok(NOT_POLLED),
            // SAFETY: `Inner::drop` deregisters the fd before closing it.
            Driver::Poll(poll) => unsafe { poll.register(fd) }.and_then(|key| {
                match u32::try_from(key).ok().filter(|&key| key != NOT_POLLED) {
                    Some(key) => Ok(key),
                    None => {
                        // SAFETY: `fd` is open (closed below, after this).
                        poll.deregister(unsafe { BorrowedFd::borrow_raw(fd) }, key);
                        Err(io::Error::other("too many registered fds"))
                    }
                }
            }),
        });
        match poll_key {
            Ok(poll_key) => Ok(SharedFd {
                inner: Rc::new(Inner {
                    fd,
                    poll_key,
                    detached: DetachedState::default(),
                }),
            }),
            Err(err) => {
                // SAFETY: we own `fd` (taken from an `OwnedFd` above) and it is not registered.
                unsafe { libc::close(fd) };
                Err(err)
            }
        }
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.inner.fd
    }

    pub(crate) fn backend(&self) -> FdBackend {
        match self.inner.poll_key {
            #[cfg(target_os = "linux")]
            NOT_POLLED => FdBackend::Uring,
            key => FdBackend::Poll(key as usize),
        }
    }

    /// The state of the stream's detached send (`op::send_detached`).
    pub(crate) fn detached(&self) -> &DetachedState {
        &self.inner.detached
    }

    pub(crate) fn borrowed(&self) -> BorrowedFd<'_> {
        // SAFETY: the fd stays open while `self` (a strong reference) lives.
        unsafe { BorrowedFd::borrow_raw(self.inner.fd) }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.poll_key != NOT_POLLED {
            let key = self.poll_key as usize;
            // SAFETY: the fd is open until the `close` below.
            let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
            try_with_current(|ctx| ctx.driver.borrow_mut().poll().deregister(fd, key));
        }
        // SAFETY: this `Inner` owns the fd, and no operation holds it any more (each holds a
        // strong reference to this `Inner`).
        unsafe { libc::close(self.fd) };
    }
}

/// Whether the current worker uses the poll backend (its sockets must be non-blocking).
pub(crate) fn current_is_poll() -> bool {
    with_current(|ctx| matches!(*ctx.driver.borrow(), Driver::Poll(_)))
}
