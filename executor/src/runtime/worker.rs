//! The worker loop: run ready tasks, fire timers, wait in the reactor; and the orderly exit.

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use super::context::Context;
use super::shared::WorkerShared;

/// Runs the worker until `main` completes (`Some(output)`) or, when `main` never completes,
/// until shutdown was requested and either every task finished or the deadline passed (`None`).
/// Every task still alive on this worker is then dropped here, on its own thread.
pub(crate) fn run<F: Future>(ctx: &Rc<Context>, main: F) -> Option<F::Output> {
    let output = run_until(ctx, main);
    close(ctx);
    output
}

fn run_until<F: Future>(ctx: &Rc<Context>, main: F) -> Option<F::Output> {
    let main_waker = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
        shared: ctx.shared.clone(),
    });
    let waker = Waker::from(main_waker.clone());
    let mut main = pin!(main);
    loop {
        if main_waker.woken.swap(false, Ordering::AcqRel)
            && let Poll::Ready(output) = main.as_mut().poll(&mut TaskContext::from_waker(&waker))
        {
            return Some(output);
        }
        run_ready_tasks(ctx);

        let now = Instant::now();
        let shutdown = ctx.shared.shutdown_deadline();
        if let Some(deadline) = shutdown
            && (now >= deadline || ctx.shared.live_tasks.load(Ordering::Acquire) == 0)
        {
            return None;
        }

        let has_work = !ctx.local.borrow().is_empty() || main_waker.woken.load(Ordering::Acquire);
        let timeout = if has_work {
            Some(Duration::ZERO)
        } else {
            let next = ctx.timers.borrow().next_deadline();
            let deadline = match (next, shutdown) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            deadline.map(|deadline| round_up_to_millis(deadline.saturating_duration_since(now)))
        };
        if timeout == Some(Duration::ZERO) {
            ctx.park(timeout);
        } else if ctx.shared.prepare_to_sleep() {
            // `woken` is re-checked after announcing sleep: a wake of the main future from
            // another thread either happened before (and is seen here) or sees `sleeping`.
            if main_waker.woken.load(Ordering::SeqCst) {
                ctx.shared.woke_up();
                ctx.park(Some(Duration::ZERO));
            } else {
                ctx.park(timeout);
                ctx.shared.woke_up();
            }
        } else {
            ctx.park(Some(Duration::ZERO));
        }
        // One clock read per pass, after the wait: the tasks of the pass read it through
        // `time::coarse_now` instead of the clock.
        let now = Instant::now();
        ctx.now.set(now);
        if !ctx.timers.borrow().is_empty() {
            ctx.fire_timers(now);
        }
    }
}

/// Runs the tasks that were ready when this pass began; tasks they wake run next pass, after
/// the reactor was polled, so that a task that keeps waking itself cannot starve I/O.
fn run_ready_tasks(ctx: &Context) {
    ctx.shared.drain_remote(&mut ctx.local.borrow_mut());
    let n_ready = ctx.local.borrow().len();
    if n_ready == 0 {
        return;
    }
    let pass = ctx.passes.get() + 1;
    ctx.passes.set(pass);
    ctx.shared.set_running_pass(pass);
    for _ in 0..n_ready {
        let Some(runnable) = ctx.local.borrow_mut().pop_front() else {
            break;
        };
        ctx.task_runs.set(ctx.task_runs.get() + 1);
        runnable.run();
    }
    ctx.shared.set_running_pass(0);
}

/// Timers have millisecond resolution: waking a little late is fine, waking early means a
/// wasted pass through the loop.
fn round_up_to_millis(d: Duration) -> Duration {
    let millis = d.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// Drops every task of this worker on this thread: runnables still queued are dropped, and
/// every task parked somewhere (on I/O, a timer, a channel) is woken so that its runnable comes
/// back here to be dropped. Then the remote queue is closed.
fn close(ctx: &Context) {
    loop {
        ctx.shared.drain_remote(&mut ctx.local.borrow_mut());
        loop {
            let runnable = ctx.local.borrow_mut().pop_front();
            match runnable {
                // Dropping a runnable cancels its task and drops the future.
                Some(runnable) => drop(runnable),
                None => break,
            }
        }
        let parked: Vec<_> = ctx
            .active
            .borrow()
            .iter()
            .map(|(_, waker)| waker.clone())
            .collect();
        if parked.is_empty() {
            break;
        }
        for waker in parked {
            waker.wake();
        }
        // A task woken here whose runnable is being run on no thread right now is now queued;
        // one that was already queued stays so. Either way the next pass drops it.
        if ctx.local.borrow().is_empty() {
            // The wakers went to a remote queue or were no-ops: poll the reactor once so that
            // wakes in flight land, rather than spinning.
            ctx.park(Some(Duration::ZERO));
        }
    }
    for runnable in ctx.shared.close() {
        drop(runnable);
    }
}

/// The waker of the future given to `block_on`: it is polled by the loop itself, not as a task.
struct MainWaker {
    woken: AtomicBool,
    shared: Arc<WorkerShared>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.shared.unpark();
    }
}
