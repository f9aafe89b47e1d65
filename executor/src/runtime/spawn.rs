//! Putting futures on workers: the task wrapper every worker task wears, and the spawn paths.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;

use super::context;
use super::shared::WorkerShared;
use crate::future::CatchUnwind;
use crate::task::JoinHandle;

pin_project! {
    /// Counts the task as live on its worker until its future is dropped, and registers its
    /// waker in the worker's `active` set from the first poll on, so that a closing worker can
    /// wake it and drop it on its own thread.
    struct Tracked<F> {
        #[pin]
        fut: F,
        shared: Arc<WorkerShared>,
        active_key: Option<usize>,
    }

    impl<F> PinnedDrop for Tracked<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(key) = this.active_key.take() {
                // A polled task is only ever dropped on its worker (see `worker::close`).
                context::try_with_current(|ctx| ctx.active.borrow_mut().try_remove(key));
            }
            this.shared.live_tasks.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        if this.active_key.is_none() {
            *this.active_key = Some(context::with_current(|ctx| {
                ctx.active.borrow_mut().insert(cx.waker().clone())
            }));
        }
        this.fut.poll(cx)
    }
}

pin_project! {
    /// A future built on its worker, from a `Send` closure: before its first poll it holds only
    /// the closure.
    #[project = SpawnOnProj]
    enum SpawnOn<C, F> {
        Closure { closure: Option<C> },
        Running { #[pin] fut: F },
    }
}

impl<C: FnOnce() -> F, F: Future> Future for SpawnOn<C, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        loop {
            match self.as_mut().project() {
                SpawnOnProj::Closure { closure } => {
                    let closure = closure
                        .take()
                        .expect("SpawnOn polled after its closure panicked");
                    let fut = closure();
                    self.set(SpawnOn::Running { fut });
                }
                SpawnOnProj::Running { fut } => return fut.poll(cx),
            }
        }
    }
}

fn scheduler(shared: &Arc<WorkerShared>) -> impl Fn(async_task::Runnable) + Send + Sync + 'static {
    let shared = shared.clone();
    move |runnable| shared.schedule(runnable)
}

/// Spawns a `Send` future on `shared`'s worker.
pub(crate) fn spawn_send<F>(shared: &Arc<WorkerShared>, fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    shared.live_tasks.fetch_add(1, Ordering::AcqRel);
    let fut = Tracked {
        fut: CatchUnwind::new(fut),
        shared: shared.clone(),
        active_key: None,
    };
    let (runnable, task) = async_task::spawn(fut, scheduler(shared));
    runnable.schedule();
    JoinHandle::new(task)
}

/// Spawns a possibly non-`Send` future on the current thread's worker.
pub(crate) fn spawn_local_on_current<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let shared = context::with_current(|ctx| ctx.shared.clone());
    shared.live_tasks.fetch_add(1, Ordering::AcqRel);
    let fut = Tracked {
        fut: CatchUnwind::new(fut),
        shared: shared.clone(),
        active_key: None,
    };
    // SAFETY: `spawn_unchecked` needs, for a future that is not `Send`, that its runnable is
    // only run and dropped on the thread that spawned it, which is this worker's thread:
    // - `schedule` (the scheduler) puts the runnable on this worker's local queue when woken
    //   here, or on its remote queue when woken elsewhere; only this worker pops either queue.
    // - Before the worker exits, `worker::close` wakes every task it has polled and drops the
    //   runnables here, and only then closes the remote queue. This task is polled here before
    //   anything else can schedule it (the runnable is scheduled locally just below), so it is
    //   in the worker's `active` set from its first poll until it is dropped.
    // The future is `'static` and the schedule function is `Send + Sync + 'static`, so the
    // other preconditions of `spawn_unchecked` hold without argument.
    let (runnable, task) = unsafe { async_task::spawn_unchecked(fut, scheduler(&shared)) };
    runnable.schedule();
    JoinHandle::new(task)
}

/// Spawns, on `shared`'s worker, the future that `closure` builds there.
pub(crate) fn spawn_on_worker<C, F>(shared: &Arc<WorkerShared>, closure: C) -> JoinHandle<F::Output>
where
    C: FnOnce() -> F + Send + 'static,
    F: Future + 'static,
    F::Output: Send + 'static,
{
    shared.live_tasks.fetch_add(1, Ordering::AcqRel);
    let fut = SpawnOn::Closure {
        closure: Some(closure),
    };
    let fut = Tracked {
        fut: CatchUnwind::new(fut),
        shared: shared.clone(),
        active_key: None,
    };
    // SAFETY: the future is not `Send` only through `F`, which exists only from the first
    // poll on, and every poll happens on the target worker: the scheduler routes the runnable
    // to that worker's queues and only it runs them. Until that first poll the future holds
    // just the `Send` closure, so dropping it anywhere (for example when a closed worker
    // refuses the runnable) is sound. From the first poll on the task is in the worker's
    // `active` set, so `worker::close` drops it on the worker before the worker goes away.
    // The future and the schedule function are `'static`, the latter `Send + Sync`.
    let (runnable, task) = unsafe { async_task::spawn_unchecked(fut, scheduler(shared)) };
    runnable.schedule();
    JoinHandle::new(task)
}
