//! A one-way, many-waiter signal that crosses threads: how a server tells its workers to drain.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use slab::Slab;

/// Raised once, seen by every waiter on any thread.
#[derive(Clone, Default)]
pub struct ShutdownSignal {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    raised: AtomicBool,
    /// Wakers of pending `raised()` futures; each removes its own when dropped, so waiting
    /// many times (every idle keep-alive period of every connection) leaves nothing behind.
    waiters: Mutex<Slab<Waker>>,
}

impl Inner {
    fn waiters(&self) -> MutexGuard<'_, Slab<Waker>> {
        self.waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ShutdownSignal {
    /// A signal not raised yet.
    pub fn new() -> ShutdownSignal {
        ShutdownSignal::default()
    }

    /// Raises the signal and wakes every waiter.
    pub fn raise(&self) {
        self.inner.raised.store(true, Ordering::SeqCst);
        let waiters = std::mem::take(&mut *self.inner.waiters());
        for (_, waker) in waiters {
            waker.wake();
        }
    }

    /// Whether it was raised.
    pub fn is_raised(&self) -> bool {
        self.inner.raised.load(Ordering::SeqCst)
    }

    /// Completes once the signal is raised.
    pub fn raised(&self) -> Raised<'_> {
        Raised {
            signal: self,
            waiting: Waiting::default(),
        }
    }
}

/// The future of [`ShutdownSignal::raised`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Raised<'a> {
    signal: &'a ShutdownSignal,
    waiting: Waiting,
}

/// A waiter's registration with a signal, kept across polls.
#[derive(Debug, Default)]
struct Waiting {
    key: Option<usize>,
    /// The waker registered under `key`: polled again by the same task, the wait costs one
    /// atomic load (a connection keeps one `Raised` for its whole life).
    waker: Option<Waker>,
}

impl Waiting {
    fn poll(&mut self, signal: &ShutdownSignal, cx: &mut Context<'_>) -> Poll<()> {
        if signal.is_raised() {
            return Poll::Ready(());
        }
        // `raise` sets the flag before it wakes the registered wakers, so a registration with
        // this very waker needs no lock to stay valid.
        if self.key.is_some() && self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            return Poll::Pending;
        }
        let mut waiters = signal.inner.waiters();
        // Checked again under the lock: `raise` empties the waiters under it after setting.
        if signal.is_raised() {
            return Poll::Ready(());
        }
        match self.key.and_then(|key| waiters.get_mut(key)) {
            Some(waker) => waker.clone_from(cx.waker()),
            None => {
                let key = waiters.insert(cx.waker().clone());
                drop(waiters);
                self.key = Some(key);
            }
        }
        self.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    fn leave(&mut self, signal: &ShutdownSignal) {
        if let Some(key) = self.key.take() {
            signal.inner.waiters().try_remove(key);
        }
    }
}

impl Future for Raised<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.waiting.poll(this.signal, cx)
    }
}

impl Drop for Raised<'_> {
    fn drop(&mut self) {
        self.waiting.leave(self.signal);
    }
}

/// A wait for a signal that owns its handle on it, for a waiter that lives apart from whoever
/// holds the signal (an upgraded connection's protocol): polled as often as wanted, registered
/// once.
#[cfg(feature = "ws")]
#[derive(Debug)]
pub(crate) struct Watch {
    signal: ShutdownSignal,
    waiting: Waiting,
}

#[cfg(feature = "ws")]
impl Watch {
    pub(crate) fn new(signal: ShutdownSignal) -> Watch {
        Watch {
            signal,
            waiting: Waiting::default(),
        }
    }

    /// `Ready` once the signal is raised.
    pub(crate) fn poll_raised(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.waiting.poll(&self.signal, cx)
    }
}

#[cfg(feature = "ws")]
impl Drop for Watch {
    fn drop(&mut self) {
        self.waiting.leave(&self.signal);
    }
}

impl fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownSignal")
            .field("raised", &self.is_raised())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_waits_leave_no_waker_behind() {
        let signal = ShutdownSignal::new();
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..100 {
            let mut wait = Box::pin(signal.raised());
            assert!(wait.as_mut().poll(&mut cx).is_pending());
        }
        assert!(signal.inner.waiters().is_empty());
    }

    #[test]
    fn raising_from_another_thread_wakes_a_waiter() {
        let signal = ShutdownSignal::new();
        let remote = signal.clone();
        crate::executor::block_on(async move {
            let raiser = std::thread::spawn(move || remote.raise());
            signal.raised().await;
            raiser.join().unwrap();
        });
    }
}
