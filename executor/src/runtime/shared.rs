//! The part of a worker that other threads reach: its remote queue and its wake-up.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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
    /// The number of the worker's current pass of task runs; 0 between passes. A worker seen
    /// in the same pass at two moments seconds apart is stuck inside a task's poll (a handler
    /// blocking its thread): what a shutdown deadline reports.
    running_pass: AtomicU64,
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
            remote: Mutex::new(RemoteQueue {
                runnables: Vec::new(),
                closed: false,
            }),
            sleeping: AtomicBool::new(false),
            unparker,
            live_tasks: AtomicUsize::new(0),
            shutdown: Mutex::new(None),
            shutdown_requested: AtomicBool::new(false),
            running_pass: AtomicU64::new(0),
        }
    }

    /// Marks the start of pass `pass` (non-zero) of task runs, or the end of one (0).
    pub(crate) fn set_running_pass(&self, pass: u64) {
        self.running_pass.store(pass, Ordering::Relaxed);
    }

    /// The pass of task runs the worker is inside, if any.
    pub(crate) fn running_pass(&self) -> Option<u64> {
        match self.running_pass.load(Ordering::Relaxed) {
            0 => None,
            pass => Some(pass),
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
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::driver::poll::PollDriver;

    fn worker() -> Arc<WorkerShared> {
        let poller = PollDriver::new().unwrap().poller();
        Arc::new(WorkerShared::new(7, Unparker::Poll(poller)))
    }

    /// A task that counts its runs, scheduled through `shared`.
    fn task(shared: &Arc<WorkerShared>, runs: &Arc<AtomicUsize>) -> Runnable {
        let (runs, shared) = (runs.clone(), shared.clone());
        let (runnable, task) = async_task::spawn(
            async move { runs.fetch_add(1, Ordering::SeqCst) },
            move |r| shared.schedule(r),
        );
        task.detach();
        runnable
    }

    #[test]
    fn a_wake_off_the_worker_goes_to_the_remote_queue_in_order() {
        let shared = worker();
        let runs = Arc::new(AtomicUsize::new(0));
        let (a, b) = (task(&shared, &runs), task(&shared, &runs));
        let from = shared.clone();
        std::thread::spawn(move || {
            from.schedule(a);
            from.schedule(b);
        })
        .join()
        .unwrap();
        let mut local = VecDeque::new();
        shared.drain_remote(&mut local);
        assert_eq!(local.len(), 2);
        for runnable in local {
            runnable.run();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_sleeping_worker_is_woken_once_per_sleep() {
        let shared = worker();
        assert!(
            shared.prepare_to_sleep(),
            "nothing queued: the worker may sleep"
        );
        let runs = Arc::new(AtomicUsize::new(0));
        shared.schedule(task(&shared, &runs));
        assert!(
            !shared.sleeping.load(Ordering::SeqCst),
            "the first remote wake clears the flag"
        );
        assert!(
            !shared.prepare_to_sleep(),
            "work is queued: the worker stays awake"
        );
    }

    #[test]
    fn a_closed_worker_drops_what_is_scheduled_to_it() {
        let shared = worker();
        let runs = Arc::new(AtomicUsize::new(0));
        assert!(shared.close().is_empty());
        shared.schedule(task(&shared, &runs));
        let mut local = VecDeque::new();
        shared.drain_remote(&mut local);
        assert!(local.is_empty());
        assert_eq!(runs.load(Ordering::SeqCst), 0);
    }
}
