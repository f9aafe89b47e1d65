//! Starting servers: `run` (blocking, from the environment, signals), `serve` (a handle),
//! `Server::bind(..).serve(..)` (a future on the current worker), and the accept loops.

use std::cell::Cell;
use std::fmt;
use std::future::{Future, poll_fn};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::ops::Deref;
use std::os::unix::thread::JoinHandleExt;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use nanoapi_executor::future::{CatchUnwind, first_of, panic_message};
use nanoapi_executor::net::{TcpListener, TcpStream};
use nanoapi_executor::time::{coarse_now, sleep};
use nanoapi_executor::{Runtime, StuckWorkers, spawn_local};

use super::conn::{Conn, ConnSettings, Opened, encode_error, serve_conn};
use super::workers::{FnWorkers, Lifecycle, PerWorker, SharedContext};
use super::{ConnOptions, Dispatch, Options, ShutdownSignal, Workers};

/// Serves `dispatch` with options from the environment ([`Options::from_env`]) until SIGINT or
/// SIGTERM, then drains gracefully (in-flight requests finish, up to the shutdown timeout).
/// Blocks the calling thread. Only `run` and [`ServerHandle::wait_for_signal`] handle signals.
///
/// # Errors
///
/// Bad environment values, or the address cannot be bound.
pub fn run<C, D>(ctx: C, dispatch: D) -> io::Result<()>
where
    C: Send + Sync + 'static,
    D: Dispatch<C>,
{
    run_with(Options::from_env()?, ctx, dispatch)
}

/// [`run`] with the given options (start from [`Options::from_env`] to keep the environment's
/// say): serves until SIGINT or SIGTERM, then drains. Blocks the calling thread.
///
/// # Errors
///
/// The address cannot be bound, or the runtime cannot start.
pub fn run_with<C, D>(options: Options, ctx: C, dispatch: D) -> io::Result<()>
where
    C: Send + Sync + 'static,
    D: Dispatch<C>,
{
    serve(options, ctx, dispatch)?.wait_for_signal()
}

/// Blocks until SIGINT or SIGTERM, then drains `handle`; a second signal during the drain ends
/// the process at once (status 128 + the signal's number).
///
/// # Errors
///
/// `TimedOut` when workers were still stuck at the shutdown deadline: returned from `main`, the
/// error ends the process although their threads still run.
fn wait_for_signal(handle: &ServerHandle, signals: &libc::sigset_t) -> io::Result<()> {
    announce(format_args!(
        "nanoapi listening on {}://{}",
        if handle.reloads_on_sighup() {
            "https"
        } else {
            "http"
        },
        handle.local_addr()
    ));
    let first = wait_termination(handle, signals);
    announce(format_args!(
        "signal {first}: draining (up to {:?}; a second signal exits at once)",
        handle.shutdown_timeout
    ));
    let drained = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (drained, signals) = (drained.clone(), *signals);
        std::thread::Builder::new()
            .name("nanoapi-signals".to_owned())
            .spawn(move || {
                let second = loop {
                    match wait_signal(&signals) {
                        libc::SIGHUP => {}
                        signal => break signal,
                    }
                };
                if !drained.load(Ordering::SeqCst) {
                    announce(format_args!(
                        "signal {second} during the drain: exiting now"
                    ));
                    std::process::exit(128 + second);
                }
            })?
    };
    let stuck = handle.drain();
    drained.store(true, Ordering::SeqCst);
    // Ends the watcher's wait: the signal is blocked in every thread, so it goes to the
    // watcher's `sigwait`, which sees `drained`.
    // SAFETY: the watcher has not been joined, so its pthread_t names a live thread.
    unsafe { libc::pthread_kill(watcher.as_pthread_t(), libc::SIGTERM) };
    let _ = watcher.join();
    stuck.map_err(|stuck| {
        let err = io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the shutdown deadline passed with workers still running: {stuck}"),
        );
        log::error!("{err}");
        err
    })
}

/// Waits for a termination signal; a `SIGHUP` meanwhile reloads the TLS certificates.
fn wait_termination(handle: &ServerHandle, signals: &libc::sigset_t) -> i32 {
    loop {
        match wait_signal(signals) {
            libc::SIGHUP => handle.reload_on_sighup(),
            signal => return signal,
        }
    }
}

/// Waits for one of `signals` (blocked in this thread); returns its number.
fn wait_signal(signals: &libc::sigset_t) -> i32 {
    let mut signal = 0;
    // SAFETY: waits for one of the blocked signals; both pointers are to live values.
    unsafe { libc::sigwait(signals, &mut signal) };
    signal
}

/// Runs `f` with the server's signals (SIGINT and SIGTERM, and SIGHUP with `reload`) blocked on
/// this thread: the threads it starts inherit the mask, so those signals reach whichever
/// thread waits for them ([`ServerHandle::wait_for_signal`]) or takes them by default (the main
/// thread), never a worker.
fn with_server_signals_blocked<T>(reload: bool, f: impl FnOnce() -> T) -> T {
    let previous = block_signals(&server_signals(reload));
    let output = f();
    restore_signal_mask(&previous);
    output
}

/// Blocks `signals` on this thread; the mask before, for [`restore_signal_mask`].
fn block_signals(signals: &libc::sigset_t) -> libc::sigset_t {
    // SAFETY: `signals` is an initialised set and `previous` a valid out-pointer; changing the
    // mask has no memory effects.
    unsafe {
        let mut previous = std::mem::zeroed::<libc::sigset_t>();
        libc::pthread_sigmask(libc::SIG_BLOCK, signals, &mut previous);
        previous
    }
}

fn restore_signal_mask(previous: &libc::sigset_t) {
    // SAFETY: `previous` is a mask `block_signals` saved; changing the mask has no memory
    // effects.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, previous, std::ptr::null_mut()) };
}

/// A line for whoever runs the server: logged at info, and written to stderr as well when no
/// logger takes info records (the start-up address and the drain must be seen).
fn announce(line: fmt::Arguments<'_>) {
    if log::log_enabled!(log::Level::Info) {
        log::info!("{line}");
    } else {
        let _ = writeln!(io::stderr(), "{line}");
    }
}

/// SIGINT and SIGTERM, and with `reload` SIGHUP (a server with TLS reloads its certificates
/// on it; without, SIGHUP keeps its default action).
fn server_signals(reload: bool) -> libc::sigset_t {
    // SAFETY: `sigemptyset` initialises the set before `sigaddset` uses it.
    unsafe {
        let mut set = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        if reload {
            libc::sigaddset(&mut set, libc::SIGHUP);
        }
        set
    }
}

/// Starts a runtime per `options` and serves `dispatch` on every worker (one `SO_REUSEPORT`
/// listener each; with port 0 the first worker's port is shared by all). Returns at once.
///
/// # Errors
///
/// The runtime cannot start or the address cannot be bound.
pub fn serve<C, D>(options: Options, ctx: C, dispatch: D) -> io::Result<ServerHandle>
where
    C: Send + Sync + 'static,
    D: Dispatch<C>,
{
    start(options, dispatch, SharedContext(Arc::new(ctx)))
}

/// [`serve`] with a context per worker: `make_ctx(worker_index)` runs on each worker and what it
/// builds stays there, so it need not be `Send` (per-core caches, connection pools, `Rc`s).
///
/// # Errors
///
/// As [`serve`].
pub fn serve_per_worker<C, D, M>(
    options: Options,
    make_ctx: M,
    dispatch: D,
) -> io::Result<ServerHandle>
where
    C: 'static,
    D: Dispatch<C>,
    M: Fn(usize) -> C + Send + Sync + 'static,
{
    serve_workers(options, FnWorkers(make_ctx), dispatch)
}

/// [`serve_per_worker`] with an `async` start and stop on each worker (see [`Workers`]): returns
/// once every worker has bound its listener and finished its `start`.
///
/// # Errors
///
/// As [`serve`]; and `Other` when a worker's `start` panicked (the server is stopped then).
pub fn serve_workers<W, D>(options: Options, workers: W, dispatch: D) -> io::Result<ServerHandle>
where
    W: Workers,
    D: Dispatch<W::Context>,
{
    start(options, dispatch, PerWorker(workers))
}

/// Starts the runtime, binds one listener per worker, builds each worker's context there
/// (`life.start`), then runs the accept loops; after a worker's drain, `life.stop`.
fn start<C, D, L>(options: Options, dispatch: D, life: L) -> io::Result<ServerHandle>
where
    C: 'static,
    D: Dispatch<C>,
    L: Lifecycle<C>,
{
    let mut builder = Runtime::builder().backend(options.backend);
    if let Some(workers) = options.workers {
        builder = builder.workers(workers);
    }
    let runtime = with_server_signals_blocked(reloads_on_sighup(&options), || builder.build())?;
    let signal = ShutdownSignal::new();
    let shared = Arc::new(Shared::new(dispatch, options.clone(), signal.clone()));
    let life = Arc::new(life);

    // The first worker binds (and learns the port if it was 0); then the others bind that port.
    // Each starts (builds its context) once bound, all at the same time.
    let (bound_tx, bound_rx) = std::sync::mpsc::channel();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let mut addr = options.addr();
    let workers = runtime.handle().workers();
    for worker in 0..workers {
        let (shared, life) = (shared.clone(), life.clone());
        let (bound_tx, started_tx) = (bound_tx.clone(), started_tx.clone());
        runtime
            .handle()
            .spawn_on(worker, move || async move {
                let listener = match bind(&shared.options, addr) {
                    Ok(listener) => listener,
                    Err(err) => {
                        let _ = bound_tx.send(Err(err));
                        return;
                    }
                };
                let _ = bound_tx.send(listener.local_addr());
                let ctx = match CatchUnwind::new(life.start(worker)).await {
                    Ok(ctx) => ctx,
                    Err(panic) => {
                        let what = panic_message(&*panic).unwrap_or("a panic").to_owned();
                        let _ = started_tx.send(Err(io::Error::other(format!(
                            "worker {worker} failed to start: {what}"
                        ))));
                        return;
                    }
                };
                let _ = started_tx.send(Ok(()));
                let open = accept_loop(listener, ctx.clone(), shared.clone()).await;
                // Stop once the drain has closed every connection, or before the shutdown
                // deadline cancels this task with the connections still open.
                let drained = pin!(open.wait_below(1));
                let deadline = pin!(sleep(shared.options.shutdown_timeout.mul_f64(0.9)));
                first_of(drained, deadline).await;
                life.stop(worker, &ctx).await;
            })
            .detach();
        addr = bound_rx
            .recv()
            .map_err(|_| io::Error::other("a worker stopped while binding"))??;
    }
    drop(started_tx);
    for _ in 0..workers {
        let started = started_rx
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("a worker stopped while starting")));
        if let Err(err) = started {
            signal.raise();
            let _ = runtime.shutdown_within(options.shutdown_timeout, SHUTDOWN_GRACE);
            return Err(err);
        }
    }
    Ok(ServerHandle {
        addr,
        signal,
        runtime: Mutex::new(Some(runtime)),
        shutdown_timeout: options.shutdown_timeout,
        done: ShutdownSignal::new(),
        #[cfg(feature = "tls")]
        tls: options.tls.clone(),
    })
}

/// This worker's listener: the inherited one, or a new `SO_REUSEPORT` one on `addr`.
fn bind(options: &Options, addr: SocketAddr) -> io::Result<TcpListener> {
    match &options.listener {
        Some(inherited) => inherited.try_clone().and_then(|listener| {
            listener.set_nonblocking(true)?;
            TcpListener::from_std(listener)
        }),
        None => TcpListener::builder(addr)
            .reuse_port(true)
            .backlog(4096)
            .bind()
            .map_err(|err| naming(addr, err)),
    }
}

/// A bind error that says which address could not be bound ("Address already in use" alone
/// does not).
fn naming(addr: SocketAddr, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("cannot listen on {addr}: {err}"))
}

/// What every worker of a server shares.
struct Shared<D> {
    dispatch: D,
    options: Options,
    signal: ShutdownSignal,
    /// Every connection's options but its addresses.
    conn: ConnOptions,
}

impl<D> Shared<D> {
    fn new(dispatch: D, options: Options, signal: ShutdownSignal) -> Shared<D> {
        let conn = ConnOptions {
            shutdown: Some(signal.clone()),
            ..ConnOptions::from_options(&options)
        };
        Shared {
            dispatch,
            options,
            signal,
            conn,
        }
    }
}

/// Accepts until the shutdown signal, keeping at most `max_connections` open on this worker
/// (beyond, the kernel's backlog holds new connections). Returns the worker's open connections,
/// which the drain is still finishing.
async fn accept_loop<C, D, R>(
    listener: TcpListener,
    ctx: R,
    shared: Arc<Shared<D>>,
) -> Rc<OpenConnections>
where
    C: 'static,
    D: Dispatch<C>,
    R: Deref<Target = C> + Clone + 'static,
{
    let local = listener.local_addr().ok();
    let open = Rc::new(OpenConnections::default());
    let mut settings = ConnSettings::new(&shared.conn);
    settings.local = local;
    let settings = Rc::new(settings);
    // Responses on this worker read the Date from a cache this task keeps current.
    let _date_refresher = spawn_local(crate::http::refresh_every_second());
    loop {
        let below_max = {
            let room = pin!(open.wait_below(shared.options.max_connections));
            let stop = pin!(shared.signal.raised());
            first_of(room, stop).await
        };
        if below_max.is_none() {
            refuse_queued(&listener, &shared).await;
            break;
        }
        let accepted = {
            let accept = pin!(listener.accept());
            let stop = pin!(shared.signal.raised());
            first_of(accept, stop).await
        };
        let (stream, peer) = match accepted {
            None => {
                refuse_queued(&listener, &shared).await;
                break;
            }
            // A connection and the signal can be ready in the same turn (the signal closed the
            // connection that held the last slot): the signal wins.
            Some(Ok((stream, _))) if shared.signal.is_raised() => {
                refuse(stream, &shared);
                refuse_queued(&listener, &shared).await;
                break;
            }
            Some(Ok(accepted)) => accepted,
            Some(Err(err)) => {
                // Out of descriptors (EMFILE/ENFILE) or a connection reset while queued:
                // back off briefly rather than spin, and keep serving.
                log::warn!("accept failed: {err}");
                sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let guard = open.open();
        let peer = Some(peer);
        #[cfg(feature = "tls")]
        if let Some(tls) = &shared.options.tls {
            let served = serve_tls(
                stream,
                tls.clone(),
                settings.clone(),
                peer,
                ctx.clone(),
                shared.clone(),
            );
            spawn_local(async move {
                let _guard = guard;
                served.await;
            })
            .detach();
            continue;
        }
        #[cfg(feature = "http2")]
        if shared.options.http2.cleartext {
            let served =
                serve_sniffing(stream, settings.clone(), peer, ctx.clone(), shared.clone());
            spawn_local(async move {
                let _guard = guard;
                served.await;
            })
            .detach();
            continue;
        }
        let conn = Rc::new(Conn::new(stream, settings.clone(), peer));
        let (shared, ctx) = (shared.clone(), ctx.clone());
        // The task's captures are what every idle connection keeps: four pointers.
        spawn_local(async move {
            let opened = Opened::connection(&shared.conn, &conn.peer);
            let served = serve_conn(
                conn.clone(),
                &*ctx,
                &shared.dispatch,
                &shared.conn,
                coarse_now(),
            );
            if let Err(err) = served.await {
                log::debug!("connection from {:?}: {err}", conn.peer);
            }
            drop(opened);
            drop(guard);
        })
        .detach();
    }
    open
}

/// Serves one HTTPS connection: the TLS handshake within the header timeout (or until the
/// server drains), then HTTP over the session.
#[cfg(feature = "tls")]
async fn serve_tls<C, D, R>(
    stream: TcpStream,
    tls: super::tls::TlsConfig,
    settings: Rc<ConnSettings>,
    peer: Option<SocketAddr>,
    ctx: R,
    shared: Arc<Shared<D>>,
) where
    C: 'static,
    D: Dispatch<C>,
    R: Deref<Target = C>,
{
    let accepted = coarse_now();
    let _opened = Opened::connection(&shared.conn, &peer);
    let handshake = before_first_request(&shared, super::tls::accept(stream, &tls)).await;
    let stream = match handshake {
        Some(Ok(Ok(stream))) => stream,
        Some(Ok(Err(err))) => {
            log::debug!("TLS handshake with {peer:?}: {err}");
            return;
        }
        Some(Err(_)) => {
            log::debug!("TLS handshake with {peer:?}: timed out");
            return;
        }
        // The server drains: a connection that has not finished its handshake just closes.
        None => return,
    };
    #[cfg(feature = "http2")]
    if stream.alpn_protocol().as_deref() == Some(b"h2") {
        let options = connection_options(&shared.conn, peer, settings.local);
        let http2 = &shared.options.http2;
        let served = super::http2::serve_streams(stream, &*ctx, &shared.dispatch, &options, http2);
        if let Err(err) = served.await {
            log::debug!("HTTP/2 connection from {peer:?}: {err}");
        }
        return;
    }
    let conn = Rc::new(Conn::new(stream, settings, peer));
    let served = serve_conn(conn, &*ctx, &shared.dispatch, &shared.conn, accepted);
    if let Err(err) = served.await {
        log::debug!("TLS connection from {peer:?}: {err}");
    }
}

/// `step` (a connection's set-up before its first request: a TLS handshake, the first
/// receive) within the header timeout: `Some(Err)` when the timeout passes, `None` when the
/// server drains first.
#[cfg(any(feature = "tls", feature = "http2"))]
async fn before_first_request<D, T>(
    shared: &Shared<D>,
    step: impl Future<Output = T>,
) -> Option<Result<T, nanoapi_executor::time::Elapsed>> {
    let within = pin!(nanoapi_executor::time::timeout(
        shared.conn.timeouts.header,
        step
    ));
    let stop = pin!(shared.signal.raised());
    first_of(within, stop).await
}

/// The options of one HTTP/2 connection: the worker's, with its addresses (each stream's
/// in-memory exchange reports them).
#[cfg(feature = "http2")]
fn connection_options(
    shared: &ConnOptions,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
) -> ConnOptions {
    ConnOptions {
        peer,
        local,
        ..shared.clone()
    }
}

/// Serves one cleartext connection that may speak HTTP/2 with prior knowledge: its first bytes
/// (within the header timeout, or until the server drains) tell HTTP/2's preface from an
/// HTTP/1.1 request, which the usual connection code then answers.
#[cfg(feature = "http2")]
async fn serve_sniffing<C, D, R>(
    stream: TcpStream,
    settings: Rc<ConnSettings>,
    peer: Option<SocketAddr>,
    ctx: R,
    shared: Arc<Shared<D>>,
) where
    C: 'static,
    D: Dispatch<C>,
    R: Deref<Target = C>,
{
    use super::Transport;
    let accepted = coarse_now();
    let _opened = Opened::connection(&shared.conn, &peer);
    let first = before_first_request(&shared, stream.recv()).await;
    let Some(Ok(Ok(first))) = first else { return };
    if first.is_empty() {
        return;
    }
    let served = if super::http2::may_be_preface(&first) {
        let options = connection_options(&shared.conn, peer, settings.local);
        let stream = super::http2::Prefixed::new(first, stream);
        let http2 = &shared.options.http2;
        super::http2::serve_streams(stream, &*ctx, &shared.dispatch, &options, http2).await
    } else {
        let conn = Rc::new(Conn::new(stream, settings, peer));
        conn.push_received(&first);
        drop(first);
        serve_conn(conn, &*ctx, &shared.dispatch, &shared.conn, accepted).await
    };
    if let Err(err) = served {
        log::debug!("connection from {peer:?}: {err}");
    }
}

/// At shutdown: answers the connections already queued on the listener with 503 and closes
/// them, rather than resetting them when the listener closes.
async fn refuse_queued<D>(listener: &TcpListener, shared: &Shared<D>) {
    // The queue is drained when an accept does not complete at once (a millisecond: queued
    // connections are handed over immediately on either reactor).
    while let Ok(Ok((stream, _))) =
        nanoapi_executor::time::timeout(Duration::from_millis(1), listener.accept()).await
    {
        refuse(stream, shared);
    }
}

/// Answers one connection accepted after the shutdown signal with 503 and closes it (an
/// HTTPS server just closes it: no handshake is started during a drain).
fn refuse<D>(stream: TcpStream, shared: &Shared<D>) {
    #[cfg(feature = "tls")]
    if shared.options.tls.is_some() {
        drop(stream);
        return;
    }
    let server = shared.conn.server_header.clone();
    spawn_local(async move {
        let mut out = bytes::BytesMut::new();
        encode_error(
            crate::http::StatusCode::SERVICE_UNAVAILABLE,
            crate::http::Version::Http11,
            server.as_deref().map(str::as_bytes),
            &mut out,
        );
        let _ = stream.write_all(out).await;
        let _ = stream.shutdown(std::net::Shutdown::Write);
    })
    .detach();
}

/// Whether a server with `options` reloads TLS certificates on `SIGHUP`.
fn reloads_on_sighup(options: &Options) -> bool {
    #[cfg(feature = "tls")]
    return options.tls.is_some();
    #[cfg(not(feature = "tls"))]
    {
        let _ = options;
        false
    }
}

/// The connections open on one worker.
#[derive(Default)]
struct OpenConnections {
    count: Cell<usize>,
    waiter: Cell<Option<Waker>>,
}

impl OpenConnections {
    fn open(self: &Rc<Self>) -> OpenGuard {
        self.count.set(self.count.get() + 1);
        OpenGuard(self.clone())
    }

    async fn wait_below(&self, max: usize) {
        poll_fn(|cx| {
            if self.count.get() < max {
                return Poll::Ready(());
            }
            self.waiter.set(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await;
    }
}

struct OpenGuard(Rc<OpenConnections>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.count.set(self.0.count.get() - 1);
        if let Some(waker) = self.0.waiter.take() {
            waker.wake();
        }
    }
}

/// A running server: its address, and how to stop it.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    signal: ShutdownSignal,
    runtime: Mutex<Option<Runtime>>,
    shutdown_timeout: Duration,
    done: ShutdownSignal,
    /// The certificates `SIGHUP` reloads.
    #[cfg(feature = "tls")]
    tls: Option<super::tls::TlsConfig>,
}

impl ServerHandle {
    /// The address the server listens on (with the port the kernel chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether a shutdown has begun: the server no longer accepts, and finishes what is in
    /// flight (a readiness probe should fail now).
    pub fn is_draining(&self) -> bool {
        self.signal.is_raised()
    }

    /// The signal that starts the drain, for code that must see it without the handle (a
    /// readiness probe inside the dispatcher).
    pub fn shutdown_signal(&self) -> ShutdownSignal {
        self.signal.clone()
    }

    /// Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes
    /// idle connections, and completes when every worker has stopped. Awaitable from any
    /// executor; the waiting happens on a thread of its own.
    ///
    /// The timeout is a deadline: tasks still running then are cancelled, and a worker stuck
    /// inside a handler that blocks its thread is given up on a second later (logged as an
    /// error; its thread is left running).
    pub fn shutdown(&self) -> impl Future<Output = ()> + Send + '_ {
        if let Some(runtime) = self.begin_shutdown() {
            let (done, timeout) = (self.done.clone(), self.shutdown_timeout);
            std::thread::spawn(move || {
                log_stuck(runtime.shutdown_within(timeout, SHUTDOWN_GRACE));
                done.raise();
            });
        }
        self.done.raised()
    }

    /// Blocks this thread until SIGINT or SIGTERM, then drains as
    /// [`shutdown_blocking`](ServerHandle::shutdown_blocking) does; a second signal during the
    /// drain ends the process at once (status 128 + the signal's number). What [`run`] does
    /// after starting the server, for a program that needs the handle first (to print its
    /// port, or to attach a readiness probe).
    ///
    /// Prints where the server listens and when the drain begins (through `log` at info, or
    /// to stderr when no logger takes those records).
    ///
    /// # Errors
    ///
    /// `TimedOut` when workers were still stuck at the shutdown deadline: returned from
    /// `main`, the error ends the process although their threads still run.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use nanoapi::http::{Response, StatusCode};
    /// use nanoapi::server::{Options, Request, ResponseWriter, serve};
    ///
    /// async fn hello(_: &(), _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    ///     w.send(Response::text(StatusCode::OK, "Hello, World!")).await
    /// }
    ///
    /// fn main() -> std::io::Result<()> {
    ///     let server = serve(Options::from_env()?, (), hello)?;
    ///     println!("PORT {}", server.local_addr().port());
    ///     server.wait_for_signal()
    /// }
    /// ```
    pub fn wait_for_signal(&self) -> io::Result<()> {
        let signals = server_signals(self.reloads_on_sighup());
        let previous = block_signals(&signals);
        let waited = wait_for_signal(self, &signals);
        restore_signal_mask(&previous);
        waited
    }

    /// Whether [`wait_for_signal`](ServerHandle::wait_for_signal) reloads TLS certificates on
    /// `SIGHUP` (a server with TLS).
    fn reloads_on_sighup(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// On `SIGHUP`: reloads the TLS certificates, and says how that went.
    fn reload_on_sighup(&self) {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            match tls.reload() {
                Ok(()) => announce(format_args!("SIGHUP: TLS certificates reloaded")),
                Err(err) => {
                    log::error!("SIGHUP: TLS certificates not reloaded, the old ones stay: {err}")
                }
            }
        }
    }

    /// [`shutdown`](ServerHandle::shutdown), blocking this thread until it completes.
    pub fn shutdown_blocking(&self) {
        log_stuck(self.drain());
    }

    /// Drains, blocking; the workers left stuck past the deadline, if any.
    fn drain(&self) -> Result<(), StuckWorkers> {
        let Some(runtime) = self.begin_shutdown() else {
            return Ok(());
        };
        let drained = runtime.shutdown_within(self.shutdown_timeout, SHUTDOWN_GRACE);
        self.done.raise();
        drained
    }

    /// Tells the workers to drain; the runtime to wait for, unless a shutdown already took it.
    fn begin_shutdown(&self) -> Option<Runtime> {
        self.signal.raise();
        self.runtime
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// How long after the shutdown deadline a worker has to drop its cancelled tasks and end.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

fn log_stuck(drained: Result<(), StuckWorkers>) {
    if let Err(stuck) = drained {
        log::error!("the shutdown deadline passed with workers still running: {stuck}");
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown_blocking();
    }
}

/// A server bound to an address, to run as a future on the current worker (for code already
/// on the executor).
#[derive(Debug)]
pub struct Server {
    listener: std::net::TcpListener,
    options: Options,
}

impl Server {
    /// Binds `options.addr()`.
    ///
    /// # Errors
    ///
    /// The address cannot be bound.
    pub fn bind(options: Options) -> io::Result<Server> {
        let addr = options.addr();
        let listener = std::net::TcpListener::bind(addr).map_err(|err| naming(addr, err))?;
        Ok(Server { listener, options })
    }

    /// Serves an already-bound std listener (socket activation, inherited descriptors).
    pub fn from_listener(listener: std::net::TcpListener, options: Options) -> Server {
        Server { listener, options }
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// As `getsockname` fails.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves on the current worker until `shutdown` is raised (then in-flight connections
    /// finish on their own).
    ///
    /// # Errors
    ///
    /// The listener cannot be registered with the worker's reactor.
    ///
    /// # Panics
    ///
    /// Off a worker thread.
    pub async fn serve<C, D>(self, ctx: C, dispatch: D, shutdown: ShutdownSignal) -> io::Result<()>
    where
        C: Send + Sync + 'static,
        D: Dispatch<C>,
    {
        let listener = TcpListener::from_std(self.listener)?;
        let shared = Arc::new(Shared::new(dispatch, self.options, shutdown));
        accept_loop(listener, Rc::new(ctx), shared).await;
        Ok(())
    }
}
