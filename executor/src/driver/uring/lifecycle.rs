//! The life of one io_uring operation slot.
//!
//! ```text
//! Submitted ──poll──▶ Waiting(waker) ──CQE──▶ Completed(res, flags) ──poll──▶ (slot freed)
//!     │                   │
//!     └──future dropped───┴──▶ Ignored(payload) ──CQE──▶ (slot freed, payload dropped)
//!
//! Detached(send) ──short CQE──▶ Detached(send) (the rest resubmitted)
//!                ──last CQE───▶ (slot freed, buffer to its `done`, waiter woken)
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
    /// A send nobody awaits: the driver finishes it (`op::send_detached`).
    Detached(crate::op::send_detached::uring::DetachedSend),
}

/// The payload of an abandoned operation.
pub(crate) struct Orphan {
    pub(crate) payload: Box<dyn Any>,
    /// A successful result is a new fd nobody will take: close it.
    pub(crate) result_is_fd: bool,
}

/// What a multishot slot produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MultishotKind {
    /// Accepted fds: one the owner never takes must be closed.
    Accept,
    /// Received data in provided buffers: one the owner never takes goes back to the ring.
    Recv,
}

/// A multishot slot's queued results: the oldest inline and the rest on the heap, so that a
/// slot whose results are taken as they come (an idle connection's receive) holds no heap
/// memory.
#[derive(Debug, Default)]
pub(crate) struct Results {
    first: Option<(i32, u32)>,
    /// Made when a second result is queued before the first was taken. Boxed: 8 bytes in
    /// the slot instead of a `VecDeque`'s 32, and every entry of the op slab is as large as
    /// its largest kind.
    #[allow(clippy::box_collection)]
    rest: Option<Box<VecDeque<(i32, u32)>>>,
}

impl Results {
    pub(crate) fn push_back(&mut self, result: (i32, u32)) {
        if self.first.is_none() {
            self.first = Some(result);
        } else {
            self.rest.get_or_insert_default().push_back(result);
        }
    }

    pub(crate) fn pop_front(&mut self) -> Option<(i32, u32)> {
        let oldest = self.first.take()?;
        self.first = self.rest.as_mut().and_then(|rest| rest.pop_front());
        Some(oldest)
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.as_ref().map_or(0, |rest| rest.len())
    }

    /// Takes every result, oldest first.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (i32, u32)> + '_ {
        std::iter::from_fn(|| self.pop_front())
    }
}

/// The slot of a multishot operation (accept, receive).
pub(crate) struct Multishot {
    pub(crate) kind: MultishotKind,
    /// Results (and their CQE flags) not yet taken, in completion order.
    pub(crate) results: Results,
    pub(crate) waker: Option<Waker>,
    /// The kernel will post more completions for this submission (`IORING_CQE_F_MORE`).
    pub(crate) armed: bool,
    /// The last submission ended because the buffer ring was empty (`ENOBUFS`).
    pub(crate) ran_dry: bool,
    /// The owner is gone: discard every result that still arrives, free the slot on the last.
    pub(crate) orphaned: bool,
    /// What the owner left to keep alive until the last CQE (its fd, so that the number is
    /// not reused while the kernel may still act on it).
    pub(crate) keep_alive: Option<Box<dyn Any>>,
}

impl Multishot {
    pub(crate) fn new(kind: MultishotKind) -> Multishot {
        Multishot {
            kind,
            results: Results::default(),
            waker: None,
            armed: false,
            ran_dry: false,
            orphaned: false,
            keep_alive: None,
        }
    }
}

/// What a completion asks of the driver once it is recorded.
pub(crate) enum AfterCompletion {
    Nothing,
    Wake(Waker),
    /// The slot is finished with; free it (and drop this payload, if any).
    Free(Option<Box<dyn Any>>),
    /// A detached send completed (the result is for the driver to apply to the slot).
    Detached,
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
            Lifecycle::Waiting(_) => {
                match std::mem::replace(self, Lifecycle::Completed(res, flags)) {
                    Lifecycle::Waiting(waker) => AfterCompletion::Wake(waker),
                    _ => unreachable!("matched Waiting above"),
                }
            }
            Lifecycle::Ignored(orphan) => {
                if orphan.result_is_fd && res >= 0 {
                    close_fd(res);
                }
                let Lifecycle::Ignored(orphan) = std::mem::replace(self, Lifecycle::Submitted)
                else {
                    unreachable!("matched Ignored above")
                };
                AfterCompletion::Free(Some(orphan.payload))
            }
            Lifecycle::Multishot(multi) => {
                multi.armed = more;
                if multi.orphaned {
                    // Buffers of an orphan go back to the ring in `UringDriver::reap`.
                    if multi.kind == MultishotKind::Accept && res >= 0 {
                        close_fd(res);
                    }
                    return if more {
                        AfterCompletion::Nothing
                    } else {
                        AfterCompletion::Free(multi.keep_alive.take())
                    };
                }
                if !more && (res == -libc::ECANCELED || res == -libc::ENOBUFS) {
                    // Ended by the driver (to pause a receiver that is not keeping up) or by
                    // an empty buffer ring: not an outcome of the stream. The owner re-arms,
                    // or falls back to a buffer of its own.
                    multi.ran_dry = res == -libc::ENOBUFS;
                } else {
                    multi.results.push_back((res, flags));
                }
                multi
                    .waker
                    .take()
                    .map_or(AfterCompletion::Nothing, AfterCompletion::Wake)
            }
            Lifecycle::Detached(_) => AfterCompletion::Detached,
            Lifecycle::Completed(..) => {
                log::error!("io_uring: a second completion for a single-shot operation");
                AfterCompletion::Nothing
            }
        }
    }

    /// Whether the owner is gone while the kernel may still complete: results are discarded.
    pub(crate) fn is_orphaned(&self) -> bool {
        match self {
            Lifecycle::Ignored(_) => true,
            Lifecycle::Multishot(multi) => multi.orphaned,
            _ => false,
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
            Lifecycle::Ignored(_) | Lifecycle::Multishot(_) | Lifecycle::Detached(_) => {
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// A waker that counts its wakes.
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        (counter.clone(), Waker::from(counter))
    }

    /// `IORING_CQE_F_MORE` from the kernel ABI (`include/uapi/linux/io_uring.h`).
    const MORE: u32 = 1 << 1;

    #[test]
    fn completed_before_first_poll_is_ready_at_once() {
        let mut slot = Lifecycle::Submitted;
        assert!(matches!(slot.complete(5, 0), AfterCompletion::Nothing));
        let (_, waker) = counting_waker();
        assert_eq!(
            slot.poll(&mut Context::from_waker(&waker)),
            Poll::Ready((5, 0))
        );
    }

    #[test]
    fn waiting_then_completed_wakes_the_waiter_once() {
        let mut slot = Lifecycle::Submitted;
        let (counter, waker) = counting_waker();
        assert!(slot.poll(&mut Context::from_waker(&waker)).is_pending());
        assert!(slot.poll(&mut Context::from_waker(&waker)).is_pending());
        match slot.complete(-libc::ECONNRESET, 0) {
            AfterCompletion::Wake(waker) => waker.wake(),
            _ => panic!("a waiting slot must hand back its waker"),
        }
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            slot.poll(&mut Context::from_waker(&waker)),
            Poll::Ready((-libc::ECONNRESET, 0))
        );
    }

    #[test]
    fn ignored_slot_frees_its_payload_only_on_completion() {
        let payload = Arc::new(());
        let mut slot = Lifecycle::Ignored(Orphan {
            payload: Box::new(payload.clone()),
            result_is_fd: false,
        });
        assert_eq!(
            Arc::strong_count(&payload),
            2,
            "the slot keeps the payload alive"
        );
        match slot.complete(-libc::ECANCELED, 0) {
            AfterCompletion::Free(Some(kept)) => drop(kept),
            _ => panic!("an ignored slot is freed on completion"),
        }
        assert_eq!(Arc::strong_count(&payload), 1);
    }

    #[test]
    fn ignored_slot_closes_an_fd_nobody_took() {
        // SAFETY: plain syscall.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        assert!(fd >= 0);
        let mut slot = Lifecycle::Ignored(Orphan {
            payload: Box::new(()),
            result_is_fd: true,
        });
        assert!(matches!(slot.complete(fd, 0), AfterCompletion::Free(_)));
        // SAFETY: F_GETFD on a closed fd fails with EBADF; it touches no memory.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        assert_eq!(flags, -1, "the orphaned fd was closed");
    }

    #[test]
    fn results_come_out_in_completion_order_and_need_the_heap_only_when_they_pile_up() {
        let mut results = Results::default();
        results.push_back((1, 0));
        assert!(results.rest.is_none(), "one queued result is kept inline");
        assert_eq!(results.pop_front(), Some((1, 0)));
        for n in 2..6 {
            results.push_back((n, 0));
        }
        assert_eq!(results.len(), 4);
        assert_eq!(results.pop_front(), Some((2, 0)));
        results.push_back((6, 0));
        assert_eq!(
            results.drain().collect::<Vec<_>>(),
            [(3, 0), (4, 0), (5, 0), (6, 0)]
        );
        assert_eq!((results.len(), results.pop_front()), (0, None));
    }

    #[test]
    fn multishot_queues_results_and_disarms_on_the_last_completion() {
        let mut multi = Lifecycle::Multishot(Multishot {
            armed: true,
            ..Multishot::new(MultishotKind::Accept)
        });
        let (counter, waker) = counting_waker();
        if let Lifecycle::Multishot(m) = &mut multi {
            m.waker = Some(waker);
        }
        match multi.complete(7, MORE) {
            AfterCompletion::Wake(waker) => waker.wake(),
            _ => panic!("the waiting acceptor is woken"),
        }
        assert!(matches!(
            multi.complete(-libc::EMFILE, 0),
            AfterCompletion::Nothing
        ));
        let Lifecycle::Multishot(m) = &mut multi else {
            unreachable!()
        };
        assert_eq!(
            m.results.drain().collect::<Vec<_>>(),
            [(7, MORE), (-libc::EMFILE, 0)]
        );
        assert!(!m.armed, "no F_MORE: the kernel ended the multishot");
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn orphaned_multishot_is_freed_on_its_last_completion() {
        let keep = Arc::new(());
        let mut multi = Lifecycle::Multishot(Multishot {
            armed: true,
            orphaned: true,
            keep_alive: Some(Box::new(keep.clone())),
            ..Multishot::new(MultishotKind::Recv)
        });
        assert!(matches!(
            multi.complete(-libc::ECANCELED, MORE),
            AfterCompletion::Nothing
        ));
        match multi.complete(-libc::ECANCELED, 0) {
            AfterCompletion::Free(Some(kept)) => drop(kept),
            _ => panic!("the last completion frees the slot and what it kept alive"),
        }
        assert_eq!(Arc::strong_count(&keep), 1);
    }
}

#[cfg(test)]
mod recv_tests {
    use super::*;

    #[test]
    fn a_receive_ended_by_an_empty_ring_is_not_a_result() {
        let mut multi = Lifecycle::Multishot(Multishot {
            armed: true,
            ..Multishot::new(MultishotKind::Recv)
        });
        let _ = multi.complete(-libc::ENOBUFS, 0);
        let Lifecycle::Multishot(m) = &mut multi else {
            unreachable!()
        };
        assert_eq!(m.results.len(), 0);
        assert!(m.ran_dry && !m.armed);
    }

    #[test]
    fn end_of_stream_is_a_result() {
        let mut multi = Lifecycle::Multishot(Multishot {
            armed: true,
            ..Multishot::new(MultishotKind::Recv)
        });
        let _ = multi.complete(0, 0);
        let Lifecycle::Multishot(m) = &mut multi else {
            unreachable!()
        };
        assert_eq!(m.results.drain().collect::<Vec<_>>(), [(0, 0)]);
        assert!(!m.armed);
    }
}
