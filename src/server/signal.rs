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
            key: None,
            waker: None,
        }
    }
}

/// The future of [`ShutdownSignal::raised`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Raised<'a> {
    signal: &'a ShutdownSignal,
    key: Option<usize>,
    /// The waker registered under `key`: polled again by the same task, the wait costs one
    /// atomic load (a connection keeps one `Raised` for its whole life).
    waker: Option<Waker>,
}

impl Future for Raised<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.is_raised() {
            return Poll::Ready(());
        }
        // `raise` sets the flag before it wakes the registered wakers, so a registration with
        // this very waker needs no lock to stay valid.
        if self.key.is_some() && self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            return Poll::Pending;
        }
        let mut waiters = self.signal.inner.waiters();
        // Checked again under the lock: `raise` empties the waiters under it after setting.
        if self.signal.is_raised() {
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
}

impl Drop for Raised<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.signal.inner.waiters().try_remove(key);
        }
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
