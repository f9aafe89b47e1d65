//! The part of a worker that other threads reach: its remote queue and its wake-up.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use async_task::Runnable;

use super::context;
use crate::driver::Unparker;

/// One worker as seen from any thread.
pub(crate) struct WorkerShared {
    pub(crate) index: usize,
    remote: Mutex<RemoteQueue>,
    /// Set by the worker just before it blocks in its reactor, cleared by whoever wakes it:
    /// so that only one cross-thread wake per sleep costs a syscall.
    sleeping: AtomicBool,
    unparker: Unparker,
    /// Tasks spawned on this worker whose futures have not been dropped yet.
    pub(crate) live_tasks: AtomicUsize,
    shutdown: Mutex<Option<Instant>>,
    shutdown_requested: AtomicBool,
}

struct RemoteQueue {
    runnables: Vec<Runnable>,
    /// The worker has exited: nothing it would run may be queued any more.
    closed: bool,
}

impl WorkerShared {
    pub(crate) fn new(index: usize, unparker: Unparker) -> WorkerShared {
        WorkerShared {
            index,
            remote: Mutex::new(RemoteQueue { runnables: Vec::new(), closed: false }),
            sleeping: AtomicBool::new(false),
            unparker,
            live_tasks: AtomicUsize::new(0),
            shutdown: Mutex::new(None),
            shutdown_requested: AtomicBool::new(false),
        }
    }

    /// The schedule function of every task of this worker: a wake on the worker's own thread
    /// goes to its local queue without synchronisation; a wake from anywhere else goes to the
    /// remote queue and wakes the worker's reactor.
    pub(crate) fn schedule(self: &Arc<Self>, runnable: Runnable) {
        let mut runnable = Some(runnable);
        context::try_with_current(|ctx| {
            if Arc::ptr_eq(&ctx.shared, self) {
                ctx.local.borrow_mut().extend(runnable.take());
            }
        });
        if let Some(runnable) = runnable {
            self.push_remote(runnable);
        }
    }

    fn push_remote(&self, runnable: Runnable) {
        let mut remote = lock(&self.remote);
        if remote.closed {
            drop(remote);
            // Only a task that was never polled can be scheduled after its worker closed
            // (every polled task was woken and dropped on the worker before it closed), so its
            // future holds nothing but what `spawn`/`spawn_on` required to be `Send`.
            drop(runnable);
            return;
        }
        remote.runnables.push(runnable);
        drop(remote);
        self.unpark();
    }

    /// Wakes the worker if it is blocked in its reactor.
    pub(crate) fn unpark(&self) {
        // Pairs with the SeqCst store in `prepare_to_sleep`: either the worker sees what was
        // queued before it blocks, or this swap sees `true` and wakes it.
        if self.sleeping.swap(false, Ordering::SeqCst) {
            self.unparker.unpark();
        }
    }

    /// Moves every remotely woken runnable into `local`.
    pub(crate) fn drain_remote(&self, local: &mut std::collections::VecDeque<Runnable>) {
        let mut remote = lock(&self.remote);
        local.extend(remote.runnables.drain(..));
    }

    /// Announces that the worker is about to block; returns `false` (and stays awake) if work
    /// arrived in the meantime.
    pub(crate) fn prepare_to_sleep(&self) -> bool {
        self.sleeping.store(true, Ordering::SeqCst);
        if !lock(&self.remote).runnables.is_empty() {
            self.sleeping.store(false, Ordering::SeqCst);
            return false;
        }
        true
    }

    pub(crate) fn woke_up(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }

    /// Refuses remote work from now on; returns what was still queued (to drop on the worker).
    pub(crate) fn close(&self) -> Vec<Runnable> {
        let mut remote = lock(&self.remote);
        remote.closed = true;
        std::mem::take(&mut remote.runnables)
    }

    pub(crate) fn request_shutdown(&self, deadline: Instant) {
        *lock(&self.shutdown) = Some(deadline);
        self.shutdown_requested.store(true, Ordering::SeqCst);
        self.sleeping.store(false, Ordering::SeqCst);
        self.unparker.unpark();
    }

    /// The shutdown deadline, once shutdown was requested.
    pub(crate) fn shutdown_deadline(&self) -> Option<Instant> {
        if !self.shutdown_requested.load(Ordering::Relaxed) {
            return None;
        }
        *lock(&self.shutdown)
    }
}

/// Locks a mutex, recovering from poisoning: the queues stay consistent across a panic because
/// every critical section is a single push, drain or flag store.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
