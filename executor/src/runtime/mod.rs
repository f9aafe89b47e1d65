//! Runtimes, their builder and handles, and the free functions that reach the current worker.

mod context;
mod shared;
mod spawn;
mod worker;

use std::fmt;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

pub(crate) use context::{Context, try_with_current, with_current};
pub(crate) use shared::lock;

use self::shared::WorkerShared;
use crate::blocking::BlockingPool;
use crate::driver::{Driver, DriverConfig, DriverKind};
use crate::task::JoinHandle;

/// Which reactor the workers use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    /// `NANOAPI_BACKEND` if set (`uring`, `poll` or `auto`); otherwise io_uring when a ring can
    /// be set up on this machine, else poll (with one log line saying why).
    #[default]
    Auto,
    /// io_uring (Linux only). Fails to build rather than fall back.
    IoUring,
    /// Readiness: epoll on Linux, kqueue on macOS and the BSDs (through `polling`).
    Poll,
}

impl Backend {
    /// Reads `NANOAPI_BACKEND` (`uring`, `io_uring`, `poll` or `auto`; unset means `Auto`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for any other value.
    pub fn from_env() -> io::Result<Backend> {
        match std::env::var("NANOAPI_BACKEND") {
            Err(_) => Ok(Backend::Auto),
            Ok(value) => value.parse(),
        }
    }

    /// Settles `Auto` into the backend this machine gives.
    fn resolve(self, config: &DriverConfig) -> io::Result<DriverKind> {
        match self {
            Backend::IoUring => Ok(DriverKind::IoUring),
            Backend::Poll => Ok(DriverKind::Poll),
            Backend::Auto => match Backend::from_env()? {
                Backend::Auto => Ok(DriverKind::probe(config)),
                explicit => explicit.resolve(config),
            },
        }
    }
}

impl std::str::FromStr for Backend {
    type Err = io::Error;

    fn from_str(s: &str) -> io::Result<Backend> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(Backend::Auto),
            "uring" | "io_uring" | "io-uring" | "iouring" => Ok(Backend::IoUring),
            "poll" | "epoll" | "kqueue" => Ok(Backend::Poll),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown backend {other:?}: expected uring, poll or auto"),
            )),
        }
    }
}

impl From<DriverKind> for Backend {
    fn from(kind: DriverKind) -> Backend {
        match kind {
            DriverKind::IoUring => Backend::IoUring,
            DriverKind::Poll => Backend::Poll,
        }
    }
}

/// Settings shared by every worker of a runtime.
#[derive(Clone, Debug)]
pub(crate) struct RuntimeConfig {
    pub(crate) driver: DriverConfig,
    pub(crate) max_blocking_threads: usize,
    pub(crate) blocking_keep_alive: Duration,
    pub(crate) thread_name: String,
    /// The tokio runtime every thread enters (feature `tokio`): settled by `build`.
    #[cfg(feature = "tokio")]
    pub(crate) tokio: Option<tokio::runtime::Handle>,
}

impl RuntimeConfig {
    /// Runs `f` on this thread inside the tokio runtime's context, when there is one.
    pub(crate) fn in_context<R>(&self, f: impl FnOnce() -> R) -> R {
        #[cfg(feature = "tokio")]
        let _tokio = self.tokio.as_ref().map(tokio::runtime::Handle::enter);
        f()
    }

    /// Settles which tokio runtime the threads enter (feature `tokio`).
    fn settle_tokio(&mut self) -> io::Result<()> {
        #[cfg(feature = "tokio")]
        if self.tokio.is_none() {
            self.tokio = Some(crate::tokio_compat::handle()?);
        }
        Ok(())
    }
}

/// Configures and builds a [`Runtime`].
///
/// # Examples
///
/// ```
/// use nanoapi_executor::{Backend, Runtime};
///
/// let rt = Runtime::builder().workers(1).backend(Backend::Poll).build().unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    workers: Option<usize>,
    backend: Backend,
    config: RuntimeConfig,
}

impl Builder {
    fn new() -> Builder {
        Builder {
            workers: None,
            backend: Backend::Auto,
            config: RuntimeConfig {
                driver: DriverConfig::default(),
                max_blocking_threads: 64,
                blocking_keep_alive: Duration::from_secs(10),
                thread_name: "nanoapi-worker".to_owned(),
                #[cfg(feature = "tokio")]
                tokio: None,
            },
        }
    }

    /// The number of worker threads; defaults to the number of cores.
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n.max(1));
        self
    }

    /// The reactor; defaults to [`Backend::Auto`].
    pub fn backend(mut self, backend: Backend) -> Builder {
        self.backend = backend;
        self
    }

    /// The io_uring submission queue size per worker (rounded up to a power of two by the
    /// kernel); defaults to 1024. Ignored by the poll backend.
    pub fn ring_entries(mut self, entries: u32) -> Builder {
        self.config.driver.ring_entries = entries.max(8);
        self
    }

    /// The pooled receive buffers per worker: how many and how large each is (defaults: 512 of
    /// 4 KiB). On io_uring they form the provided-buffer ring; when it runs dry, receives fall
    /// back to buffers allocated on demand. `count` is rounded up to a power of two.
    pub fn recv_buffers(mut self, count: u16, size: usize) -> Builder {
        self.config.driver.recv_buf_count = count.clamp(1, 1 << 15).next_power_of_two();
        self.config.driver.recv_buf_size = size.clamp(64, 1 << 20);
        self
    }

    /// The most threads the blocking pool starts (default 64); more jobs wait in its queue.
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.config.max_blocking_threads = n.max(1);
        self
    }

    /// The name prefix of the worker threads (default `nanoapi-worker`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.config.thread_name = name.into();
        self
    }

    /// The tokio runtime whose handle every worker and blocking thread enters (feature
    /// `tokio`; see [`tokio_compat`](crate::tokio_compat) for the default).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn tokio_handle(mut self, handle: tokio::runtime::Handle) -> Builder {
        self.config.tokio = Some(handle);
        self
    }

    /// Starts the worker threads, each with its own reactor.
    ///
    /// # Errors
    ///
    /// `NANOAPI_BACKEND` holds an unknown value, an explicitly chosen backend is not available
    /// here, or a worker's reactor or thread could not be created.
    pub fn build(mut self) -> io::Result<Runtime> {
        self.config.settle_tokio()?;
        let n_workers = self.workers.unwrap_or_else(default_workers);
        let kind = self.backend.resolve(&self.config.driver)?;
        let blocking = BlockingPool::new(&self.config);
        let (ready_tx, ready_rx) = mpsc::channel();
        let (exit_tx, exits) = mpsc::channel();
        let mut starts = Vec::with_capacity(n_workers);
        let mut threads = Vec::with_capacity(n_workers);
        for index in 0..n_workers {
            let (start_tx, start_rx) = mpsc::channel::<Option<Handle>>();
            let ready_tx = ready_tx.clone();
            let config = self.config.clone();
            let exit_notice = ExitNotice(exit_tx.clone(), index);
            let spawned = thread::Builder::new()
                .name(format!("{}-{index}", self.config.thread_name))
                .spawn(move || {
                    let _exit_notice = exit_notice;
                    let driver = match Driver::new(kind, &config.driver) {
                        Ok(driver) => driver,
                        Err(err) => {
                            let _ = ready_tx.send((index, Err(err)));
                            return;
                        }
                    };
                    let shared = Arc::new(WorkerShared::new(index, driver.unparker()));
                    let _ = ready_tx.send((index, Ok(shared.clone())));
                    drop(ready_tx);
                    if let Ok(Some(handle)) = start_rx.recv() {
                        let ctx = Rc::new(Context::new(shared, handle, driver));
                        let _guard = context::enter(ctx.clone());
                        config.in_context(|| worker::run(&ctx, std::future::pending::<()>()));
                    }
                });
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(err) => {
                    abort_start(starts, threads);
                    return Err(err);
                }
            }
            starts.push(start_tx);
        }
        drop(ready_tx);
        let mut workers: Vec<Option<Arc<WorkerShared>>> = vec![None; n_workers];
        let mut failure = None;
        for (index, res) in ready_rx.iter().take(n_workers) {
            match res {
                Ok(shared) => workers[index] = Some(shared),
                Err(err) => failure = Some(err),
            }
        }
        let workers: Option<Vec<_>> = workers.into_iter().collect();
        let workers = match (failure, workers) {
            (None, Some(workers)) => workers,
            (failure, _) => {
                abort_start(starts, threads);
                return Err(failure
                    .unwrap_or_else(|| io::Error::other("a worker thread died while starting")));
            }
        };
        let handle = Handle {
            inner: Arc::new(RuntimeInner {
                workers,
                next: AtomicUsize::new(0),
                blocking,
                backend: kind.into(),
                config: self.config,
            }),
        };
        for start in starts {
            let _ = start.send(Some(handle.clone()));
        }
        Ok(Runtime {
            handle,
            threads,
            exits: std::sync::Mutex::new(exits),
        })
    }
}

/// Sent when a worker thread ends, however it ends (dropped as the thread unwinds too).
struct ExitNotice(mpsc::Sender<usize>, usize);

impl Drop for ExitNotice {
    fn drop(&mut self) {
        let _ = self.0.send(self.1);
    }
}

impl Builder {
    /// Drives `fut` to completion on the calling thread, which becomes the single worker of a
    /// runtime with this configuration (the worker count is ignored) for the duration of the
    /// call; see [`block_on`](crate::block_on).
    ///
    /// # Errors
    ///
    /// When the backend is not available or the reactor cannot be set up.
    ///
    /// # Panics
    ///
    /// When called on a worker thread, and when `fut` panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi_executor::{Backend, Runtime};
    ///
    /// let n = Runtime::builder().backend(Backend::Poll).block_on(async { 3 }).unwrap();
    /// assert_eq!(n, 3);
    /// ```
    pub fn block_on<F: Future>(mut self, fut: F) -> io::Result<F::Output> {
        assert!(
            !context::is_worker_thread(),
            "block_on called on a worker thread: it would block the worker that must drive \
             it; await the future or spawn it instead"
        );
        self.config.settle_tokio()?;
        let kind = self.backend.resolve(&self.config.driver)?;
        let driver = Driver::new(kind, &self.config.driver)?;
        let shared = Arc::new(WorkerShared::new(0, driver.unparker()));
        let handle = Handle {
            inner: Arc::new(RuntimeInner {
                workers: vec![shared.clone()],
                next: AtomicUsize::new(0),
                blocking: BlockingPool::new(&self.config),
                backend: kind.into(),
                config: self.config,
            }),
        };
        let ctx = Rc::new(Context::new(shared, handle.clone(), driver));
        let output = {
            let _guard = context::enter(ctx.clone());
            handle.inner.config.in_context(|| worker::run(&ctx, fut))
        };
        handle.inner.blocking.shutdown();
        Ok(output.expect("the main future of block_on always completes before the worker stops"))
    }
}

fn abort_start(starts: Vec<mpsc::Sender<Option<Handle>>>, threads: Vec<thread::JoinHandle<()>>) {
    for start in starts {
        let _ = start.send(None);
    }
    for thread in threads {
        let _ = thread.join();
    }
}

fn default_workers() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// A set of worker threads, one reactor each, and a blocking pool.
///
/// Dropping a runtime cancels every task still running (each is dropped on its own worker)
/// and joins the worker threads; [`shutdown_timeout`](Runtime::shutdown_timeout) first lets
/// tasks finish for a while.
pub struct Runtime {
    handle: Handle,
    threads: Vec<thread::JoinHandle<()>>,
    /// The index of each worker thread that has ended (behind a mutex only to keep `Runtime`
    /// `Sync`).
    exits: std::sync::Mutex<mpsc::Receiver<usize>>,
}

impl Runtime {
    /// A builder with the defaults: one worker per core, [`Backend::Auto`].
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Builds a runtime with the defaults.
    ///
    /// # Errors
    ///
    /// As for [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A handle to spawn on this runtime from any thread.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The backend the workers use (never `Auto`).
    pub fn backend(&self) -> Backend {
        self.handle.backend()
    }

    /// Runs `fut` on one of the workers and blocks this thread until it completes.
    ///
    /// # Panics
    ///
    /// On a worker thread (blocking it would stall every task on it), and if `fut` panics
    /// (the panic is resumed here).
    pub fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        wait_for(self.handle.spawn(fut))
    }

    /// Runs one future per worker, each built on its worker by `f(worker_index)` (so it need
    /// not be `Send`), and blocks until all complete: the thread-per-core pattern.
    ///
    /// # Panics
    ///
    /// As for [`block_on`](Runtime::block_on).
    pub fn block_on_each<F, Fut>(&self, f: F) -> Vec<Fut::Output>
    where
        F: Fn(usize) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.handle
            .spawn_on_each(f)
            .into_iter()
            .map(wait_for)
            .collect()
    }

    /// Stops accepting work and lets the workers finish their tasks for up to `timeout`; tasks
    /// still running then are cancelled. Blocks until every worker thread has exited.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.stop(timeout);
    }

    /// [`shutdown_timeout`](Runtime::shutdown_timeout) that gives up `grace` after the deadline.
    ///
    /// A worker whose thread is stuck inside one task's poll (a handler that blocks: a
    /// `std::sync::Mutex` held across an `.await`, blocking I/O, an endless loop) never comes
    /// back to cancel its tasks, and nothing can stop it from outside. This returns anyway,
    /// with a report naming each worker that did not finish; their threads are left running
    /// (detached), so a process that must end should exit after logging the report.
    ///
    /// # Errors
    ///
    /// [`StuckWorkers`] when some worker threads had not ended `timeout + grace` from now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = nanoapi_executor::Runtime::builder().workers(1).build().unwrap();
    /// rt.handle().spawn(async { 1 }).detach();
    /// assert!(rt.shutdown_within(Duration::from_secs(1), Duration::from_secs(1)).is_ok());
    /// ```
    pub fn shutdown_within(
        mut self,
        timeout: Duration,
        grace: Duration,
    ) -> Result<(), StuckWorkers> {
        let began = Instant::now();
        let deadline = began + timeout;
        let passes_at_start: Vec<_> = (self.handle.inner.workers.iter())
            .map(|worker| worker.running_pass())
            .collect();
        for worker in &self.handle.inner.workers {
            worker.request_shutdown(deadline);
        }
        let give_up = deadline + grace;
        let mut ended = vec![false; self.threads.len()];
        let exits = lock(&self.exits);
        while ended.iter().any(|ended| !ended) {
            let wait = give_up.saturating_duration_since(Instant::now());
            match exits.recv_timeout(wait) {
                Ok(index) => ended[index] = true,
                Err(_) => break,
            }
        }
        drop(exits);
        if ended.iter().all(|&ended| ended) {
            self.stop(Duration::ZERO);
            return Ok(());
        }
        let workers = (self.handle.inner.workers.iter())
            .filter(|worker| !ended[worker.index])
            .map(|worker| {
                let pass = worker.running_pass();
                StuckWorker {
                    index: worker.index,
                    live_tasks: worker.live_tasks.load(Ordering::Acquire),
                    // The same pass as when the shutdown began: stuck in it all along.
                    in_one_poll_for: (pass.is_some() && pass == passes_at_start[worker.index])
                        .then(|| began.elapsed()),
                }
            })
            .collect();
        // Dropping the join handles detaches the stuck threads (and the finished ones, which
        // have ended anyway); the blocking pool stops taking work.
        self.threads.clear();
        self.handle.inner.blocking.shutdown();
        Err(StuckWorkers {
            thread_name: self.handle.inner.config.thread_name.clone(),
            workers,
        })
    }

    fn stop(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for worker in &self.handle.inner.workers {
            worker.request_shutdown(deadline);
        }
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                log::error!("a worker thread panicked while shutting down");
            }
        }
        self.handle.inner.blocking.shutdown();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.handle.workers())
            .field("backend", &self.backend())
            .finish()
    }
}

/// The workers a [`Runtime::shutdown_within`] left running, and what they were doing.
#[derive(Debug, Clone)]
pub struct StuckWorkers {
    thread_name: String,
    workers: Vec<StuckWorker>,
}

#[derive(Debug, Clone)]
struct StuckWorker {
    index: usize,
    live_tasks: usize,
    /// At least this long inside one pass of task runs, when it was so since the shutdown
    /// began.
    in_one_poll_for: Option<Duration>,
}

impl StuckWorkers {
    /// The indices of the workers whose threads had not ended.
    pub fn workers(&self) -> impl Iterator<Item = usize> + '_ {
        self.workers.iter().map(|worker| worker.index)
    }
}

impl fmt::Display for StuckWorkers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, worker) in self.workers.iter().enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            write!(
                f,
                "worker {} (thread {}-{}) ",
                worker.index, self.thread_name, worker.index
            )?;
            match worker.in_one_poll_for {
                Some(running) => write!(
                    f,
                    "has been inside one task's poll for at least {:.1} s (a task blocking its \
                     thread: a lock held across .await, blocking I/O or a busy loop)",
                    running.as_secs_f64()
                )?,
                None => f.write_str("did not stop")?,
            }
            write!(f, " with {} tasks alive", worker.live_tasks)?;
        }
        Ok(())
    }
}

impl std::error::Error for StuckWorkers {}

/// Blocks a thread that is not a worker until `handle` completes.
fn wait_for<T>(handle: JoinHandle<T>) -> T {
    assert!(
        !context::is_worker_thread(),
        "`Runtime::block_on` called on a worker thread: it would block the worker that must \
         run the future; spawn it or await it instead"
    );
    match park_on(handle) {
        Ok(output) => output,
        Err(err) => match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => panic!("the runtime shut down before the future completed"),
        },
    }
}

/// Polls `fut` on this thread, parking the thread between wakes.
pub(crate) fn park_on<F: Future>(fut: F) -> F::Output {
    struct ThreadWaker(thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = TaskContext::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(output) = fut.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

pub(crate) struct RuntimeInner {
    workers: Vec<Arc<WorkerShared>>,
    next: AtomicUsize,
    pub(crate) blocking: BlockingPool,
    backend: Backend,
    pub(crate) config: RuntimeConfig,
}

/// A cheap, cloneable, `Send + Sync` reference to a runtime, to spawn on it from any thread.
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: Arc<RuntimeInner>,
}

impl Handle {
    /// The handle of the runtime whose worker is running this thread.
    ///
    /// # Panics
    ///
    /// Off a worker thread; see [`try_current`](Handle::try_current).
    pub fn current() -> Handle {
        Handle::try_current().expect("Handle::current() called outside a nanoapi-executor worker")
    }

    /// The handle of the runtime whose worker is running this thread, if any.
    pub fn try_current() -> Option<Handle> {
        try_with_current(|ctx| ctx.handle.clone())
    }

    /// The number of workers.
    pub fn workers(&self) -> usize {
        self.inner.workers.len()
    }

    /// The backend the workers use (never `Auto`).
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Spawns a `Send` future: on the current worker when called from one of this runtime's
    /// workers, otherwise on the workers in turn (round-robin).
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let worker = try_with_current(|ctx| {
            Arc::ptr_eq(&ctx.handle.inner, &self.inner).then(|| ctx.shared.clone())
        })
        .flatten()
        .unwrap_or_else(|| self.next_worker().clone());
        spawn::spawn_send(&worker, fut)
    }

    /// Spawns on worker `worker` (modulo the number of workers) the future that `f` builds
    /// there; the future need not be `Send`, only the closure.
    pub fn spawn_on<C, F>(&self, worker: usize, f: C) -> JoinHandle<F::Output>
    where
        C: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let shared = &self.inner.workers[worker % self.inner.workers.len()];
        spawn::spawn_on_worker(shared, f)
    }

    /// Spawns one future per worker, built there by `f(worker_index)`.
    pub fn spawn_on_each<F, Fut>(&self, f: F) -> Vec<JoinHandle<Fut::Output>>
    where
        F: Fn(usize) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let f = Arc::new(f);
        (0..self.workers())
            .map(|index| {
                let f = f.clone();
                self.spawn_on(index, move || f(index))
            })
            .collect()
    }

    /// Runs a blocking closure on the runtime's blocking pool; await the handle for its result.
    pub fn spawn_blocking<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner.blocking.spawn(f)
    }

    /// Asks every worker to stop once its tasks have finished or `timeout` has passed; does not
    /// wait (use [`Runtime::shutdown_timeout`] to wait).
    pub fn shutdown(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for worker in &self.inner.workers {
            worker.request_shutdown(deadline);
        }
    }

    fn next_worker(&self) -> &Arc<WorkerShared> {
        let n = self.inner.next.fetch_add(1, Ordering::Relaxed);
        &self.inner.workers[n % self.inner.workers.len()]
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.workers())
            .field("backend", &self.backend())
            .finish()
    }
}

/// Drives `fut` to completion on the calling thread, which becomes the single worker of a new
/// runtime (backend from [`Backend::Auto`]) for the duration of the call. This is how other code
/// embeds the executor; tasks spawned meanwhile run on this thread too, and those still alive
/// when `fut` completes are cancelled.
///
/// # Panics
///
/// When called on a worker thread, when no reactor can be set up, and when `fut` panics.
///
/// # Examples
///
/// ```
/// let n = nanoapi_executor::block_on(async { 7 });
/// assert_eq!(n, 7);
/// ```
pub fn block_on<F: Future>(fut: F) -> F::Output {
    Builder::new()
        .block_on(fut)
        .unwrap_or_else(|err| panic!("nanoapi_executor::block_on: {err}"))
}

/// Spawns a `Send` future on the current worker.
///
/// # Panics
///
/// Off a worker thread: use [`Handle::spawn`] there.
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let shared = with_current(|ctx| ctx.shared.clone());
    spawn::spawn_send(&shared, fut)
}

/// Spawns a future that need not be `Send` on the current worker; it runs only there.
///
/// # Panics
///
/// Off a worker thread.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// nanoapi_executor::block_on(async {
///     let shared = Rc::new(5);
///     let task = nanoapi_executor::spawn_local(async move { *shared * 2 });
///     assert_eq!(task.await.unwrap(), 10);
/// });
/// ```
pub fn spawn_local<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn::spawn_local_on_current(fut)
}

/// Runs a blocking closure on the current runtime's blocking pool.
///
/// # Panics
///
/// Off a worker thread: use [`Handle::spawn_blocking`] there.
///
/// # Examples
///
/// ```
/// nanoapi_executor::block_on(async {
///     let sum = nanoapi_executor::spawn_blocking(|| (1..=10).sum::<u32>()).await.unwrap();
///     assert_eq!(sum, 55);
/// });
/// ```
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    with_current(|ctx| ctx.handle.spawn_blocking(f))
}

/// The index of the worker running this thread, if any.
pub fn worker_index() -> Option<usize> {
    try_with_current(|ctx| ctx.shared.index)
}

/// How many times this worker has run a task so far (0 off a worker): each run is one wake-up
/// of a task. For counting wake-ups per request in tests and benchmarks.
///
/// # Examples
///
/// ```
/// nanoapi_executor::block_on(async {
///     let before = nanoapi_executor::task_runs();
///     nanoapi_executor::spawn_local(async {}).await.unwrap();
///     assert!(nanoapi_executor::task_runs() > before);
/// });
/// ```
pub fn task_runs() -> u64 {
    try_with_current(|ctx| ctx.task_runs.get()).unwrap_or(0)
}
