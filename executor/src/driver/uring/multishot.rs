//! A handle's multishot operation: created on first use, re-armed by the driver when the kernel
//! ends it, released (cancelled, its fd kept alive until the last completion) with the handle.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::task::{Context, Poll};

use io_uring::squeue::Entry;

use super::{MultishotEvent, MultishotKind};
use crate::fd::SharedFd;
use crate::runtime::{try_with_current, with_current};

/// The multishot slot a listener (accept) or a stream (receive) keeps between calls.
pub(crate) struct MultishotOp {
    kind: MultishotKind,
    slot: Cell<Option<usize>>,
}

impl MultishotOp {
    pub(crate) fn new(kind: MultishotKind) -> MultishotOp {
        MultishotOp {
            kind,
            slot: Cell::new(None),
        }
    }

    /// Whether the operation was ever armed (results may be queued in its slot).
    pub(crate) fn is_active(&self) -> bool {
        self.slot.get().is_some()
    }

    /// The next result, arming the operation with `sqe()` when it is not in the kernel.
    ///
    /// # Safety
    ///
    /// The entry `sqe` builds may point only to memory that outlives the slot: nothing but the
    /// fd given to [`release`](Self::release), which the slot keeps open until its last
    /// completion.
    ///
    /// Not an `async fn`, which would keep `self` and `sqe` twice in the future: a listener
    /// waiting for connections holds this future.
    pub(crate) unsafe fn next<'a>(
        &'a self,
        sqe: impl Fn() -> Entry + 'a,
    ) -> impl Future<Output = MultishotEvent> + 'a {
        // SAFETY: forwarded from the caller.
        poll_fn(move |cx| unsafe { self.poll_next(&sqe, cx) })
    }

    /// [`next`](Self::next) as a poll function, for a future that keeps its own state.
    ///
    /// # Safety
    ///
    /// As for [`next`](Self::next).
    pub(crate) unsafe fn poll_next(
        &self,
        sqe: impl FnOnce() -> Entry,
        cx: &mut Context<'_>,
    ) -> Poll<MultishotEvent> {
        let slot = match self.slot.get() {
            Some(slot) => slot,
            None => {
                let slot =
                    with_current(|ctx| ctx.driver.borrow_mut().uring().multishot_slot(self.kind));
                self.slot.set(Some(slot));
                slot
            }
        };
        // SAFETY: forwarded from the caller.
        with_current(|ctx| unsafe {
            ctx.driver
                .borrow_mut()
                .uring()
                .poll_multishot(slot, sqe, cx)
        })
    }

    /// The owner is closing: stops the operation, keeping `fd` open until the kernel has let
    /// go of it.
    pub(crate) fn release(&self, fd: &SharedFd) {
        if let Some(slot) = self.slot.take() {
            let keep_alive: Box<dyn std::any::Any> = Box::new(fd.clone());
            let leftover = try_with_current(move |ctx| {
                ctx.driver
                    .borrow_mut()
                    .uring()
                    .drop_multishot(slot, keep_alive)
            });
            drop(leftover);
        }
    }
}
