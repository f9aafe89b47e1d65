//! The blocking pool: threads for work that would stall a worker (blocking syscalls, CPU-heavy
//! jobs, foreign code).
//!
//! Jobs are `async-task` tasks whose schedule function queues them here, so `spawn_blocking`
//! returns the same [`JoinHandle`] as any task. Threads start on demand up to a bound; past it,
//! jobs wait in the queue. Idle threads exit after a keep-alive period.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use async_task::Runnable;

use crate::future::CatchUnwind;
use crate::runtime::{RuntimeConfig, lock};
use crate::task::JoinHandle;

#[derive(Clone)]
pub(crate) struct BlockingPool {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    job_ready: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
    /// What the threads run inside (a tokio runtime's context, with feature `tokio`).
    config: RuntimeConfig,
}

struct State {
    queue: VecDeque<Runnable>,
    n_threads: usize,
    n_idle: usize,
    shutdown: bool,
}

impl BlockingPool {
    pub(crate) fn new(config: &RuntimeConfig) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    n_threads: 0,
                    n_idle: 0,
                    shutdown: false,
                }),
                job_ready: Condvar::new(),
                max_threads: config.max_blocking_threads,
                keep_alive: config.blocking_keep_alive,
                thread_name: format!("{}-blocking", config.thread_name),
                config: config.clone(),
            }),
        }
    }

    pub(crate) fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.inner.clone();
        let fut = CatchUnwind::new(async move { f() });
        let (runnable, task) =
            async_task::spawn(fut, move |runnable| Inner::submit(&pool, runnable));
        runnable.schedule();
        JoinHandle::new(task)
    }

    /// Refuses new jobs and drops the queued ones; running jobs finish on their threads, which
    /// then exit.
    pub(crate) fn shutdown(&self) {
        let queued = {
            let mut state = lock(&self.inner.state);
            state.shutdown = true;
            std::mem::take(&mut state.queue)
        };
        self.inner.job_ready.notify_all();
        drop(queued);
    }
}

impl Inner {
    fn submit(self: &Arc<Self>, runnable: Runnable) {
        let mut state = lock(&self.state);
        if state.shutdown {
            drop(state);
            drop(runnable);
            return;
        }
        state.queue.push_back(runnable);
        // Each idle thread takes one queued job; start a thread only for jobs none will take.
        if state.n_idle >= state.queue.len() {
            drop(state);
            self.job_ready.notify_one();
            return;
        }
        if state.n_threads < self.max_threads {
            state.n_threads += 1;
            drop(state);
            let inner = self.clone();
            let started = thread::Builder::new()
                .name(self.thread_name.clone())
                .spawn(move || inner.config.in_context(|| inner.run()));
            if let Err(err) = started {
                log::error!("blocking pool: cannot start a thread: {err}");
                lock(&self.state).n_threads -= 1;
            }
        }
    }

    fn run(&self) {
        let mut state = lock(&self.state);
        loop {
            if let Some(runnable) = state.queue.pop_front() {
                drop(state);
                // The job's panic, if any, is caught by `CatchUnwind` and given to its handle.
                runnable.run();
                state = lock(&self.state);
                continue;
            }
            if state.shutdown {
                break;
            }
            state.n_idle += 1;
            let (next, timeout) = self
                .job_ready
                .wait_timeout(state, self.keep_alive)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state = next;
            state.n_idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() {
                break;
            }
        }
        state.n_threads -= 1;
    }
}

impl std::fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingPool")
            .field("max_threads", &self.inner.max_threads)
            .finish()
    }
}
