//! Synchronisation between the tasks of one worker.
//!
//! # Locks across `.await` on a thread-per-core executor
//!
//! Tasks need not be `Send`, so the compiler lets a task hold a `std::sync::MutexGuard` across
//! an `.await`. Do not: while the task waits, another task of the same worker that takes the
//! lock blocks the worker's thread, and the task holding it can never run again to release
//! it; the worker is frozen, with every connection on it (a shutdown then gives up on it at
//! its deadline). Turn on clippy's `await_holding_lock` (and `await_holding_refcell_ref`) to
//! catch it at compile time:
//!
//! ```toml
//! [lints.clippy]
//! await_holding_lock = "deny"
//! await_holding_refcell_ref = "deny"
//! ```
//!
//! Release a `std` lock before awaiting; for state that one worker's tasks share across
//! awaits, use [`Mutex`] here (no atomics, no thread blocking: a contended `lock().await`
//! parks the task, not the thread); for state shared between workers, keep the critical
//! sections free of awaits, or use a `Send` async mutex (tokio's).

use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// An async mutex for the tasks of one worker: `lock().await` waits without blocking the
/// thread, and waiters get the lock in the order they asked. It is neither `Send` nor `Sync`
/// (share it with `Rc`); an uncontended lock costs a flag test and set.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use nanoapi_executor::sync::Mutex;
/// use nanoapi_executor::{spawn_local, time::sleep};
///
/// nanoapi_executor::block_on(async {
///     let log = Rc::new(Mutex::new(Vec::new()));
///     let writer = {
///         let log = log.clone();
///         spawn_local(async move {
///             let mut entries = log.lock().await;
///             entries.push("first");
///             // Held across an await: other tasks of this worker wait, the worker does not.
///             sleep(std::time::Duration::from_millis(1)).await;
///             entries.push("second");
///         })
///     };
///     nanoapi_executor::yield_now().await;
///     log.lock().await.push("third");
///     writer.await.unwrap();
///     assert_eq!(*log.lock().await, ["first", "second", "third"]);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    locked: Cell<bool>,
    /// The tasks waiting, oldest first, by ticket.
    waiters: RefCell<VecDeque<(u64, Waker)>>,
    next_ticket: Cell<u64>,
    value: UnsafeCell<T>,
}

impl<T> Mutex<T> {
    /// A mutex holding `value`, unlocked.
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            locked: Cell::new(false),
            waiters: RefCell::new(VecDeque::new()),
            next_ticket: Cell::new(0),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock.
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            mutex: self,
            ticket: None,
        }
    }

    /// The lock, if nobody holds it or waits for it.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        if self.locked.get() || !self.waiters.borrow().is_empty() {
            return None;
        }
        self.locked.set(true);
        Some(MutexGuard { mutex: self })
    }

    /// The value, through a unique borrow of the mutex (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Hands the lock on: wakes the oldest waiter, which takes it when it runs.
    fn unlock(&self) {
        self.locked.set(false);
        self.wake_first();
    }

    fn wake_first(&self) {
        let first = self
            .waiters
            .borrow()
            .front()
            .map(|(_, waker)| waker.clone());
        if let Some(waker) = first {
            waker.wake();
        }
    }
}

/// The future of [`Mutex::lock`].
#[must_use = "futures do nothing unless awaited"]
pub struct Lock<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// Our place in the queue, once we waited.
    ticket: Option<u64>,
}

impl<'a, T: ?Sized> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let mutex = self.mutex;
        let mut waiters = mutex.waiters.borrow_mut();
        // First come, first served: free and nobody ahead of us.
        let first = waiters.front().map(|&(ticket, _)| ticket);
        if !mutex.locked.get() && (first.is_none() || first == self.ticket) {
            if self.ticket.take().is_some() {
                waiters.pop_front();
            }
            mutex.locked.set(true);
            return Poll::Ready(MutexGuard { mutex });
        }
        match self.ticket {
            Some(ticket) => {
                if let Some((_, waker)) = waiters.iter_mut().find(|(t, _)| *t == ticket) {
                    waker.clone_from(cx.waker());
                }
            }
            None => {
                let ticket = mutex.next_ticket.get();
                mutex.next_ticket.set(ticket + 1);
                waiters.push_back((ticket, cx.waker().clone()));
                self.ticket = Some(ticket);
            }
        }
        Poll::Pending
    }
}

impl<T: ?Sized> Drop for Lock<'_, T> {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket else { return };
        let mut waiters = self.mutex.waiters.borrow_mut();
        let was_first = waiters.front().is_some_and(|&(t, _)| t == ticket);
        waiters.retain(|&(t, _)| t != ticket);
        drop(waiters);
        // A first waiter that gives up may have been woken to take a free lock: pass it on.
        if was_first && !self.mutex.locked.get() {
            self.mutex.wake_first();
        }
    }
}

/// The lock of a [`Mutex`], released when dropped.
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while `locked` is set by it, so no other guard and no
        // `&mut` from `get_mut` (which needs the mutex uniquely borrowed) can reach the value;
        // the mutex is not `Sync`, so no other thread can either.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow through the guard.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("value", &&*guard),
            None => d.field("value", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<T: ?Sized> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("waiting", &self.ticket.is_some())
            .finish()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::{block_on, spawn_local, yield_now};

    #[test]
    fn waiters_get_the_lock_in_order_while_the_holder_awaits() {
        let order = block_on(async {
            let mutex = Rc::new(Mutex::new(Vec::new()));
            let held = mutex.lock().await;
            let tasks: Vec<_> = (0..4)
                .map(|n| {
                    let mutex = mutex.clone();
                    spawn_local(async move { mutex.lock().await.push(n) })
                })
                .collect();
            yield_now().await;
            assert!(mutex.try_lock().is_none(), "held and waited for");
            drop(held);
            for task in tasks {
                task.await.unwrap();
            }
            mutex.lock().await.clone()
        });
        assert_eq!(order, [0, 1, 2, 3]);
    }

    #[test]
    fn a_woken_waiter_that_gives_up_passes_the_lock_on() {
        block_on(async {
            let mutex = Rc::new(Mutex::new(0));
            let held = mutex.lock().await;
            let mut cx = Context::from_waker(Waker::noop());
            // The first waiter queues, then is dropped after the lock was released.
            let mut first = Box::pin(mutex.lock());
            assert!(first.as_mut().poll(&mut cx).is_pending());
            let second = {
                let mutex = mutex.clone();
                spawn_local(async move { *mutex.lock().await += 1 })
            };
            yield_now().await;
            drop(held);
            drop(first);
            second.await.unwrap();
            assert_eq!(*mutex.lock().await, 1);
        });
    }
}
