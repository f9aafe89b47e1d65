//! The worker a thread is running, reachable from anywhere on that thread.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use async_task::Runnable;
use slab::Slab;

use super::Handle;
use super::shared::WorkerShared;
use crate::driver::{Driver, HeapPool};
use crate::time::Timers;

/// Everything a worker owns. Only its own thread touches it, so it needs no locks; the parts
/// other threads reach (the remote queue, the wake-up) live in [`WorkerShared`].
pub(crate) struct Context {
    pub(crate) shared: Arc<WorkerShared>,
    pub(crate) handle: Handle,
    /// Runnables woken on this thread: pushed and popped without synchronisation.
    pub(crate) local: RefCell<VecDeque<Runnable>>,
    pub(crate) driver: RefCell<Driver>,
    pub(crate) timers: RefCell<Timers>,
    /// The instant read when the worker last came back from its reactor (timers due by then
    /// have fired): the clock of [`crate::time::coarse_now`].
    pub(crate) now: Cell<Instant>,
    /// Tasks run so far (see `runtime::task_runs`).
    pub(crate) task_runs: Cell<u64>,
    /// Passes that ran tasks so far (the number shutdown reports watch).
    pub(crate) passes: Cell<u64>,
    /// A waker for every task of this worker that has been polled and not yet dropped, so that
    /// shutdown can wake them all and drop their futures here, on their own thread.
    pub(crate) active: RefCell<Slab<Waker>>,
    /// Receive buffers for the poll backend (and for io_uring when its ring runs dry).
    pub(crate) heap_pool: Rc<HeapPool>,
    /// Reused between parks so that waking costs no allocation.
    wake_list: RefCell<Vec<Waker>>,
    graveyard: RefCell<Vec<Box<dyn Any>>>,
}

thread_local! {
    /// The context of the worker this thread runs, or null. Set only by [`enter`], whose guard
    /// owns a strong reference to the context for as long as the pointer is set.
    static CURRENT: Cell<*const Context> = const { Cell::new(ptr::null()) };
}

impl Context {
    pub(crate) fn new(shared: Arc<WorkerShared>, handle: Handle, driver: Driver) -> Context {
        let heap_pool = Rc::new(HeapPool::new(handle.inner.config.driver.recv_buf_size));
        Context {
            shared,
            handle,
            local: RefCell::new(VecDeque::with_capacity(256)),
            driver: RefCell::new(driver),
            timers: RefCell::new(Timers::default()),
            now: Cell::new(Instant::now()),
            task_runs: Cell::new(0),
            passes: Cell::new(0),
            active: RefCell::new(Slab::new()),
            heap_pool,
            wake_list: RefCell::new(Vec::new()),
            graveyard: RefCell::new(Vec::new()),
        }
    }

    /// Waits for I/O events or timers for up to `timeout` (`None`: until an event), then wakes
    /// the tasks they are for.
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        let mut wakers = std::mem::take(&mut *self.wake_list.borrow_mut());
        let mut graveyard = std::mem::take(&mut *self.graveyard.borrow_mut());
        let res = self
            .driver
            .borrow_mut()
            .park(timeout, &mut wakers, &mut graveyard);
        if let Err(err) = res {
            log::error!("worker {}: reactor wait failed: {err}", self.shared.index);
        }
        // Wakers and dropped payloads run foreign code: never while the driver is borrowed.
        for waker in wakers.drain(..) {
            waker.wake();
        }
        graveyard.clear();
        *self.wake_list.borrow_mut() = wakers;
        *self.graveyard.borrow_mut() = graveyard;
    }

    /// Wakes every timer whose deadline has passed.
    pub(crate) fn fire_timers(&self, now: Instant) {
        let mut wakers = std::mem::take(&mut *self.wake_list.borrow_mut());
        self.timers.borrow_mut().expire(now, &mut wakers);
        for waker in wakers.drain(..) {
            waker.wake();
        }
        *self.wake_list.borrow_mut() = wakers;
    }
}

/// Makes `ctx` the current worker of this thread until the guard drops.
pub(crate) fn enter(ctx: Rc<Context>) -> EnterGuard {
    assert!(
        !is_worker_thread(),
        "cannot start a nanoapi-executor runtime from within a worker thread: \
         `block_on` would block the worker that should drive it; \
         spawn the future instead, or await it"
    );
    CURRENT.with(|current| current.set(Rc::as_ptr(&ctx)));
    EnterGuard { ctx: Some(ctx) }
}

/// Clears the thread's current worker when dropped.
pub(crate) struct EnterGuard {
    ctx: Option<Rc<Context>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // Clear the pointer before the reference it borrows from can go: dropping the context
        // runs the driver's destructor, which must not find it still installed.
        CURRENT.with(|current| current.set(ptr::null()));
        drop(self.ctx.take());
    }
}

/// Whether this thread is running a worker.
pub(crate) fn is_worker_thread() -> bool {
    CURRENT
        .try_with(|current| !current.get().is_null())
        .unwrap_or(false)
}

/// Runs `f` with this thread's worker, or returns `None` off a worker thread.
pub(crate) fn try_with_current<R>(f: impl FnOnce(&Context) -> R) -> Option<R> {
    let ctx = CURRENT.try_with(Cell::get).ok()?;
    // SAFETY: a non-null pointer was set by `enter`, whose guard keeps the `Rc` it points into
    // alive and clears the pointer before releasing it; the guard lives in a frame below this
    // call on the same thread, so the context outlives `f`.
    unsafe { ctx.as_ref() }.map(f)
}

/// Runs `f` with this thread's worker.
///
/// # Panics
///
/// Off a worker thread: I/O, timers and `spawn_local` need the worker that will drive them.
pub(crate) fn with_current<R>(f: impl FnOnce(&Context) -> R) -> R {
    try_with_current(f).unwrap_or_else(|| {
        panic!(
            "this operation must run on a nanoapi-executor worker thread \
             (inside `block_on`, a spawned task, or `Runtime::block_on`)"
        )
    })
}
