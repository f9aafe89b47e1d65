//! The life of one io_uring operation slot.
//!
//! ```text
//! Submitted ──poll──▶ Waiting(waker) ──CQE──▶ Completed(res, flags) ──poll──▶ (slot freed)
//!     │                   │
//!     └──future dropped───┴──▶ Ignored(payload) ──CQE──▶ (slot freed, payload dropped)
//! ```
//!
//! A future may be dropped while the kernel still owns its buffer. The slot then takes the
//! payload (buffer, address storage, fd reference) and keeps it until the completion arrives:
//! the kernel never writes into freed memory, and the fd is never closed (and reused) while an
//! operation on it is queued. Multishot operations (accept) post many completions to one slot.

use std::any::Any;
use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

pub(crate) enum Lifecycle {
    /// In the submission queue or in the kernel; nobody has polled yet.
    Submitted,
    /// In the kernel; this waker wants the completion.
    Waiting(Waker),
    /// The kernel is done: the result (a `-errno` when negative) and the CQE flags.
    Completed(i32, u32),
    /// The future was dropped before the completion; the payload waits for it here.
    Ignored(Orphan),
    /// A multishot operation's queued results.
    Multishot(Multishot),
}

/// The payload of an abandoned operation.
pub(crate) struct Orphan {
    pub(crate) payload: Box<dyn Any>,
    /// A successful result is a new fd nobody will take: close it.
    pub(crate) result_is_fd: bool,
}

/// The slot of a multishot accept.
#[derive(Default)]
pub(crate) struct Multishot {
    /// Results not yet taken, in completion order.
    pub(crate) results: VecDeque<i32>,
    pub(crate) waker: Option<Waker>,
    /// The kernel will post more completions for this submission (`IORING_CQE_F_MORE`).
    pub(crate) armed: bool,
    /// The owner is gone: close every fd that still arrives, free the slot on the last CQE.
    pub(crate) orphaned: bool,
    /// What the owner left to keep alive until the last CQE (its fd, so that the number is
    /// not reused while the kernel may still act on it).
    pub(crate) keep_alive: Option<Box<dyn Any>>,
}

/// What a completion asks of the driver once it is recorded.
pub(crate) enum AfterCompletion {
    Nothing,
    Wake(Waker),
    /// The slot is finished with; free it (and drop this payload, if any).
    Free(Option<Box<dyn Any>>),
}

impl Lifecycle {
    /// Records a completion for this slot.
    pub(crate) fn complete(&mut self, res: i32, flags: u32) -> AfterCompletion {
        let more = io_uring::cqueue::more(flags);
        match self {
            Lifecycle::Submitted => {
                *self = Lifecycle::Completed(res, flags);
                AfterCompletion::Nothing
            }
            Lifecycle::Waiting(_) => match std::mem::replace(self, Lifecycle::Completed(res, flags)) {
                Lifecycle::Waiting(waker) => AfterCompletion::Wake(waker),
                _ => unreachable!("matched Waiting above"),
            },
            Lifecycle::Ignored(orphan) => {
                if orphan.result_is_fd && res >= 0 {
                    close_fd(res);
                }
                let Lifecycle::Ignored(orphan) = std::mem::replace(self, Lifecycle::Submitted) else {
                    unreachable!("matched Ignored above")
                };
                AfterCompletion::Free(Some(orphan.payload))
            }
            Lifecycle::Multishot(multi) => {
                multi.armed = more;
                if multi.orphaned {
                    if res >= 0 {
                        close_fd(res);
                    }
                    return if more { AfterCompletion::Nothing } else { AfterCompletion::Free(multi.keep_alive.take()) };
                }
                multi.results.push_back(res);
                multi.waker.take().map_or(AfterCompletion::Nothing, AfterCompletion::Wake)
            }
            Lifecycle::Completed(..) => {
                log::error!("io_uring: a second completion for a single-shot operation");
                AfterCompletion::Nothing
            }
        }
    }

    /// Polls a single-shot slot: its result once completed, else parks the waker.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<(i32, u32)> {
        match self {
            Lifecycle::Completed(res, flags) => Poll::Ready((*res, *flags)),
            Lifecycle::Waiting(waker) if waker.will_wake(cx.waker()) => Poll::Pending,
            Lifecycle::Submitted | Lifecycle::Waiting(_) => {
                *self = Lifecycle::Waiting(cx.waker().clone());
                Poll::Pending
            }
            Lifecycle::Ignored(_) | Lifecycle::Multishot(_) => {
                unreachable!("a live operation future polls its own single-shot slot")
            }
        }
    }
}

/// Closes an fd the kernel created for an operation nobody waits for any more.
pub(crate) fn close_fd(fd: i32) {
    // SAFETY: `fd` was just created by the kernel for an abandoned operation: nothing else
    // owns it, so closing it cannot affect another owner.
    unsafe { libc::close(fd) };
}
