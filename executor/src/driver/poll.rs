//! The readiness reactor: epoll on Linux, kqueue on macOS and the BSDs, through `polling`.
//!
//! Every source is registered once, edge-triggered for both directions. The reactor keeps a
//! "ready" flag per direction: an operation tries its syscall while the flag is set, clears it
//! on `EAGAIN` and parks its waker; the next edge sets the flag again and wakes the waker. The
//! worker is single-threaded, so no edge can slip between the `EAGAIN` and the parking: events
//! are only read in `park`.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use polling::{Event, Events, PollMode, Poller};
use slab::Slab;

pub(crate) struct PollDriver {
    poller: Arc<Poller>,
    events: Events,
    sources: Slab<Source>,
}

#[derive(Default)]
struct Source {
    read: Readiness,
    write: Readiness,
}

struct Readiness {
    ready: bool,
    waker: Option<Waker>,
}

impl Default for Readiness {
    /// New sources start ready: the first attempt is the syscall itself, not a wait.
    fn default() -> Self {
        Readiness {
            ready: true,
            waker: None,
        }
    }
}

/// Which side of a source an operation waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl PollDriver {
    pub(crate) fn new() -> io::Result<PollDriver> {
        let poller = Poller::new()?;
        if !poller.supports_edge() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the poll backend needs edge-triggered readiness (epoll or kqueue)",
            ));
        }
        Ok(PollDriver {
            poller: Arc::new(poller),
            events: Events::new(),
            sources: Slab::new(),
        })
    }

    pub(crate) fn poller(&self) -> Arc<Poller> {
        self.poller.clone()
    }

    /// Registers `fd` for both directions and returns its key.
    ///
    /// # Safety
    ///
    /// `fd` must be [`deregister`](Self::deregister)ed before it is closed.
    pub(crate) unsafe fn register(&mut self, fd: RawFd) -> io::Result<usize> {
        let key = self.sources.insert(Source::default());
        // SAFETY: the caller promises to deregister `fd` before closing it.
        let res = unsafe {
            self.poller
                .add_with_mode(fd, Event::all(key), PollMode::Edge)
        };
        if let Err(err) = res {
            self.sources.remove(key);
            return Err(err);
        }
        Ok(key)
    }

    pub(crate) fn deregister(&mut self, fd: BorrowedFd<'_>, key: usize) {
        if let Err(err) = self.poller.delete(fd) {
            log::warn!("poll backend: cannot deregister fd {fd:?}: {err}");
        }
        self.sources.try_remove(key);
    }

    /// Ready when the last attempt in `direction` did not hit `EAGAIN` since the last edge;
    /// otherwise parks `cx`'s waker.
    pub(crate) fn poll_ready(
        &mut self,
        key: usize,
        direction: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let source = &mut self.sources[key];
        let side = match direction {
            Direction::Read => &mut source.read,
            Direction::Write => &mut source.write,
        };
        if side.ready {
            return Poll::Ready(());
        }
        match &mut side.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Whether the last attempt in `direction` did not hit `EAGAIN` since the last edge.
    pub(crate) fn is_ready(&self, key: usize, direction: Direction) -> bool {
        let source = &self.sources[key];
        match direction {
            Direction::Read => source.read.ready,
            Direction::Write => source.write.ready,
        }
    }

    /// Records that the syscall in `direction` hit `EAGAIN`.
    pub(crate) fn clear_ready(&mut self, key: usize, direction: Direction) {
        let source = &mut self.sources[key];
        match direction {
            Direction::Read => source.read.ready = false,
            Direction::Write => source.write.ready = false,
        }
    }

    pub(crate) fn park(
        &mut self,
        timeout: Option<Duration>,
        wakers: &mut Vec<Waker>,
    ) -> io::Result<()> {
        self.events.clear();
        match self.poller.wait(&mut self.events, timeout) {
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(err) => return Err(err),
        }
        for event in self.events.iter() {
            let Some(source) = self.sources.get_mut(event.key) else {
                continue;
            };
            if event.readable {
                source.read.ready = true;
                wakers.extend(source.read.waker.take());
            }
            if event.writable {
                source.write.ready = true;
                wakers.extend(source.write.waker.take());
            }
        }
        Ok(())
    }
}
