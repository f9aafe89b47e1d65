//! `nanoapi_server`: create from options, configure (dispatch callback, static routes), start,
//! run until stopped, free.
//!
//! Stopping goes through a socket pair used as a self-pipe: `nanoapi_server_stop` (any thread)
//! and the optional signal handler write one byte, and `nanoapi_server_run` blocks reading it.
//! So `run` holds no lock while it waits, and a stop that comes before `run` is not lost.

use std::ffi::{c_int, c_void};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use nanoapi::ServerHandle;
use nanoapi::server::{serve, serve_blocking};

pub use crate::dispatch::nanoapi_dispatch_fn;
use crate::dispatch::{Calls, HostDispatch, InlineDispatch};
use crate::error::{Failure, guard, guard_value};
use crate::options::{Config, nanoapi_options, nanoapi_options_init};
use crate::signals::SignalGuard;
use crate::types::{nanoapi_header, nanoapi_str};
use crate::writer::head;

/// A server. Create with [`nanoapi_server_new`], free with [`nanoapi_server_free`].
/// [`nanoapi_server_stop`] and [`nanoapi_server_port`] may be called from any thread at any
/// time; the other functions from one thread at a time.
#[derive(Debug)]
pub struct nanoapi_server {
    state: Mutex<State>,
    /// Read by `run`; one byte means "stop".
    stop_rx: UnixStream,
    /// Written by `stop` and the signal handler (non-blocking: a full pipe already says stop).
    stop_tx: UnixStream,
    calls: Arc<Calls>,
    port: AtomicU16,
}

#[derive(Debug)]
enum State {
    /// Created, not started: options and routes may change.
    Configuring {
        config: Box<Config>,
        dispatch: Option<HostDispatch>,
        /// The callback runs on the workers (`nanoapi_server_set_dispatch_inline`).
        inline: bool,
    },
    /// Serving.
    Running {
        handle: ServerHandle,
        signals: Option<Box<SignalGuard>>,
        /// A thread is inside `nanoapi_server_run`.
        run_active: bool,
    },
    /// Stopped: every callback has returned and none will start.
    Stopped,
}

impl nanoapi_server {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Binds and starts serving, if not yet done.
    fn start(&self) -> Result<(), Failure> {
        let mut state = self.lock();
        let handle_signals = match &*state {
            State::Running { .. } => return Ok(()),
            State::Stopped => return Err(Failure::state("the server was stopped")),
            State::Configuring { dispatch: None, .. } => {
                return Err(Failure::state(
                    "no dispatch callback: call nanoapi_server_set_dispatch first",
                ));
            }
            State::Configuring { config, .. } => config.handle_signals,
        };
        let signals = match handle_signals {
            true => Some(Box::new(SignalGuard::install(self.stop_tx.as_raw_fd())?)),
            false => None,
        };
        let State::Configuring {
            config,
            dispatch: Some(dispatch),
            inline,
        } = std::mem::replace(&mut *state, State::Stopped)
        else {
            unreachable!("checked above, under the same lock");
        };
        let served = match inline {
            true => {
                let body_limit = config.options.limits.max_body;
                let inline = InlineDispatch {
                    host: dispatch,
                    body_limit,
                };
                serve(config.options, (), inline)
            }
            false => serve_blocking(
                config.options,
                dispatch,
                |dispatch: &HostDispatch, req, w| dispatch.handle(req, w),
                config.dispatch_threads,
                config.dispatch_queue,
            ),
        };
        // A server that cannot bind stays stopped: its callback and options were consumed.
        let handle = served.map_err(|err| Failure::io(&err))?;
        self.port
            .store(handle.local_addr().port(), Ordering::SeqCst);
        *state = State::Running {
            handle,
            signals,
            run_active: false,
        };
        Ok(())
    }

    /// Blocks until stopped, then drains and waits for the callbacks.
    fn run(&self) -> Result<(), Failure> {
        self.start()?;
        match &mut *self.lock() {
            State::Running { run_active, .. } if !*run_active => *run_active = true,
            State::Running { .. } => return Err(Failure::state("the server is already running")),
            _ => return Err(Failure::state("the server was stopped")),
        }
        let mut byte = [0u8; 1];
        loop {
            match (&self.stop_rx).read(&mut byte) {
                Ok(_) => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    log::error!("nanoapi_server_run: the stop pipe failed: {err}");
                    break;
                }
            }
        }
        let State::Running {
            handle, signals, ..
        } = std::mem::replace(&mut *self.lock(), State::Stopped)
        else {
            unreachable!("only run leaves Running, and one run is active");
        };
        handle.shutdown_blocking();
        self.calls.close_and_wait();
        drop(signals);
        Ok(())
    }

    fn stop(&self) {
        match (&self.stop_tx).write(&[1]) {
            // A full pipe already holds a stop.
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => log::error!("nanoapi_server_stop: {err}"),
        }
    }

    fn configuring(&self) -> Result<MutexGuard<'_, State>, Failure> {
        let state = self.lock();
        match *state {
            State::Configuring { .. } => Ok(state),
            _ => Err(Failure::state("the server was already started")),
        }
    }
}

/// The server behind `server`.
///
/// # Safety
///
/// `server` must be NULL or a live server from [`nanoapi_server_new`].
unsafe fn view<'a>(server: *const nanoapi_server) -> Result<&'a nanoapi_server, Failure> {
    // SAFETY: the caller promises a live server (not yet freed) or NULL.
    unsafe { server.as_ref() }.ok_or_else(|| Failure::invalid("server is NULL"))
}

/// Creates a server from `options` (NULL: the defaults of [`nanoapi_options_init`]) and stores
/// it in `*out`. Nothing is bound yet. The options' strings are copied.
///
/// # Errors
///
/// `NANOAPI_ERR_INVALID` for bad options or a NULL `out`; `NANOAPI_ERR_IO` if the stop pipe
/// cannot be made.
///
/// # Safety
///
/// `options` must be NULL or point to initialised options whose strings are readable; `out`
/// must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_server_new(
    options: *const nanoapi_options,
    out: *mut *mut nanoapi_server,
) -> c_int {
    guard("nanoapi_server_new", || {
        if out.is_null() {
            return Err(Failure::invalid("out is NULL"));
        }
        let raw = match options.is_null() {
            false => {
                // SAFETY: the caller promises initialised options.
                unsafe { *options }
            }
            true => {
                let mut raw = std::mem::MaybeUninit::uninit();
                // SAFETY: `raw` is writable memory for one options struct.
                unsafe { nanoapi_options_init(raw.as_mut_ptr()) };
                // SAFETY: initialised by `nanoapi_options_init`, which cannot fail here.
                unsafe { raw.assume_init() }
            }
        };
        // SAFETY: the caller promises the options' strings are readable.
        let config = unsafe { Config::from_raw(&raw) }?;
        let (stop_rx, stop_tx) = UnixStream::pair().map_err(|err| Failure::io(&err))?;
        stop_tx
            .set_nonblocking(true)
            .map_err(|err| Failure::io(&err))?;
        let server = Box::new(nanoapi_server {
            state: Mutex::new(State::Configuring {
                config: Box::new(config),
                dispatch: None,
                inline: false,
            }),
            stop_rx,
            stop_tx,
            calls: Arc::new(Calls::default()),
            port: AtomicU16::new(0),
        });
        // SAFETY: `out` is non-null and the caller promises it is writable.
        unsafe { out.write(Box::into_raw(server)) };
        Ok(())
    })
}

/// Sets the dispatch callback and its context. The callback will be called on the dispatch
/// threads, several at once, each with `ctx`: both must allow that. `ctx` must stay valid until
/// [`nanoapi_server_run`] has returned (or the server is freed).
///
/// # Errors
///
/// `NANOAPI_ERR_INVALID` for a NULL server or callback; `NANOAPI_ERR_STATE` once started.
///
/// # Safety
///
/// `server` must be NULL or live; `callback` must be safe to call as documented by
/// [`nanoapi_dispatch_fn`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_server_set_dispatch(
    server: *mut nanoapi_server,
    callback: nanoapi_dispatch_fn,
    ctx: *mut c_void,
) -> c_int {
    guard("nanoapi_server_set_dispatch", || {
        // SAFETY: forwarded from the caller.
        unsafe { set_dispatch(server, callback, ctx, false) }
    })
}

/// Sets the dispatch callback and its context for inline mode: the callback runs on the
/// runtime's worker (reactor) threads themselves, with no hand-off to a dispatch thread, once
/// the request's body was read. What it writes is sent after it returns (a chunked response's
/// chunks too, all at once). For hosts whose callback never blocks and returns quickly (C,
/// Zig, Rust): a callback that blocks stalls every connection of its worker. No interpreter
/// lock may be taken in it, and WebSockets are refused (`NANOAPI_ERR_STATE`). Several workers
/// call it at once, each with `ctx`. `ctx` must stay valid until [`nanoapi_server_run`] has
/// returned (or the server is freed).
///
/// # Errors
///
/// As [`nanoapi_server_set_dispatch`].
///
/// # Safety
///
/// As [`nanoapi_server_set_dispatch`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_server_set_dispatch_inline(
    server: *mut nanoapi_server,
    callback: nanoapi_dispatch_fn,
    ctx: *mut c_void,
) -> c_int {
    guard("nanoapi_server_set_dispatch_inline", || {
        // SAFETY: forwarded from the caller.
        unsafe { set_dispatch(server, callback, ctx, true) }
    })
}

/// The body of both `set_dispatch` calls.
///
/// # Safety
///
/// As [`nanoapi_server_set_dispatch`].
unsafe fn set_dispatch(
    server: *mut nanoapi_server,
    callback: nanoapi_dispatch_fn,
    ctx: *mut c_void,
    inline_mode: bool,
) -> Result<(), Failure> {
    // SAFETY: forwarded from the caller.
    let server = unsafe { view(server) }?;
    let callback = callback.ok_or_else(|| Failure::invalid("callback is NULL"))?;
    let mut state = server.configuring()?;
    if let State::Configuring {
        dispatch, inline, ..
    } = &mut *state
    {
        *dispatch = Some(HostDispatch::new(callback, ctx, server.calls.clone()));
        *inline = inline_mode;
    }
    Ok(())
}

/// Answers `method` `path` (the raw path; the query is ignored) with a response rendered once
/// at start-up, without calling the host: `status`, `content_type` (none if empty), `headers`,
/// `body`. A `GET` route answers `HEAD` too. Requests with a body still go to the callback.
///
/// # Errors
///
/// `NANOAPI_ERR_INVALID` for a bad method, path, status or header field;
/// `NANOAPI_ERR_STATE` once started.
///
/// # Safety
///
/// `server` must be NULL or live; every string must be readable; `headers` must point to
/// `n_headers` fields (or be NULL with 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_server_add_static(
    server: *mut nanoapi_server,
    method: nanoapi_str,
    path: nanoapi_str,
    status: u16,
    content_type: nanoapi_str,
    headers: *const nanoapi_header,
    n_headers: usize,
    body: nanoapi_str,
) -> c_int {
    guard("nanoapi_server_add_static", || {
        // SAFETY: forwarded from the caller.
        let server = unsafe { view(server) }?;
        // SAFETY: forwarded from the caller.
        let (method, path) = unsafe { (method.as_bytes(), path.as_bytes()) };
        let method = std::str::from_utf8(method)
            .ok()
            .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()))
            .ok_or_else(|| Failure::invalid("method must be letters, e.g. GET"))?;
        let path = std::str::from_utf8(path)
            .ok()
            .filter(|p| p.starts_with('/') && !p.contains(['?', ' ', '\r', '\n']))
            .ok_or_else(|| Failure::invalid("path must start with / and hold no query"))?;
        // SAFETY: forwarded from the caller.
        let mut response = unsafe { head(status, content_type, headers, n_headers) }?;
        // SAFETY: forwarded from the caller.
        response.set_body(Bytes::copy_from_slice(unsafe { body.as_bytes() }));
        let mut state = server.configuring()?;
        if let State::Configuring { config, .. } = &mut *state {
            config.options.static_routes.add(method, path, response);
        }
        Ok(())
    })
}

/// Renders the static routes compressed as well: each in gzip, br and zstd (levels 6, 4 and
/// 3) when the compression applies to it (860 bytes or more, a compressible media type), so
/// that a request's `Accept-Encoding` picks a variant without anything being compressed
/// while serving; every variant of such a route carries `Vary: Accept-Encoding`. Covers the
/// routes added before and after the call.
///
/// # Errors
///
/// `NANOAPI_ERR_INVALID` when the library was built without its `compression` feature;
/// `NANOAPI_ERR_STATE` once started.
///
/// # Safety
///
/// `server` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_server_compress_static(server: *mut nanoapi_server) -> c_int {
    guard("nanoapi_server_compress_static", || {
        // SAFETY: forwarded from the caller.
        let server = unsafe { view(server) }?;
        #[cfg_attr(not(feature = "compression"), allow(unused_mut))]
        let mut state = server.configuring()?;
        #[cfg(feature = "compression")]
        {
            if let State::Configuring { config, .. } = &mut *state {
                config
                    .options
                    .static_routes
                    .compress(nanoapi::http::coding::Compression::new());
            }
            Ok(())
        }
        #[cfg(not(feature = "compression"))]
        {
            drop(state);
            Err(Failure::invalid(
                "this library was built without its compression feature",
            ))
        }
    })
}

/// Binds and starts serving without blocking; afterwards [`nanoapi_server_port`] reports the
/// port. Calling it is optional ([`nanoapi_server_run`] starts a server that was not).
///
/// # Errors
///
/// `NANOAPI_ERR_STATE` without a dispatch callback, or once stopped; `NANOAPI_ERR_IO` if the
/// address cannot be bound or the runtime cannot start.
///
/// # Safety
///
/// `server` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_server_start(server: *mut nanoapi_server) -> c_int {
    guard("nanoapi_server_start", || {
        // SAFETY: forwarded from the caller.
        unsafe { view(server) }?.start()
    })
}

/// The port the server listens on (the kernel's choice for port 0), or 0 before it started.
///
/// # Safety
///
/// `server` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_server_port(server: *const nanoapi_server) -> u16 {
    // SAFETY: forwarded from the caller.
    let server = unsafe { view(server) };
    guard_value("nanoapi_server_port", 0, || {
        server.map_or(0, |server| server.port.load(Ordering::SeqCst))
    })
}

/// Starts the server if needed and blocks until [`nanoapi_server_stop`] is called (from any
/// thread, or from a callback), or a signal arrives if `handle_signals` was set. Then it stops
/// accepting, lets in-flight requests finish (up to the shutdown timeout) and returns once no
/// callback is running; none will start afterwards. It releases no lock of the host's (a host
/// with an interpreter lock releases it around this call itself).
///
/// # Errors
///
/// As [`nanoapi_server_start`]; `NANOAPI_ERR_STATE` if another thread is in
/// `nanoapi_server_run`, or the server was stopped already.
///
/// # Safety
///
/// `server` must be NULL or live, and stay live until this returns.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_server_run(server: *mut nanoapi_server) -> c_int {
    guard("nanoapi_server_run", || {
        // SAFETY: forwarded from the caller.
        unsafe { view(server) }?.run()
    })
}

/// Asks the server to stop: [`nanoapi_server_run`] returns once it has drained. Returns at
/// once; callable from any thread, a callback included, any number of times. A stop before
/// `run` makes `run` return as soon as it has started and drained.
///
/// # Errors
///
/// `NANOAPI_ERR_INVALID` for a NULL server.
///
/// # Safety
///
/// `server` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_server_stop(server: *mut nanoapi_server) -> c_int {
    guard("nanoapi_server_stop", || {
        // SAFETY: forwarded from the caller.
        unsafe { view(server) }?.stop();
        Ok(())
    })
}

/// Frees the server; a server started but never run is stopped and drained first. NULL is
/// ignored.
///
/// # Safety
///
/// `server` must be NULL or live, and no other thread may be using it (in particular,
/// `nanoapi_server_run` must have returned). It is invalid afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_server_free(server: *mut nanoapi_server) {
    if server.is_null() {
        return;
    }
    // SAFETY: the caller gives back the box from `nanoapi_server_new`, used by no one else.
    let server = unsafe { Box::from_raw(server) };
    guard_value("nanoapi_server_free", (), move || {
        if let State::Running { handle, .. } =
            std::mem::replace(&mut *server.lock(), State::Stopped)
        {
            handle.shutdown_blocking();
            server.calls.close_and_wait();
        }
    });
}
