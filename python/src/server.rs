//! `Server`: configure (handler, static routes), start, run until stopped, close.
//!
//! `run` waits on a socket pair: `stop()` (any thread) writes a byte to it, and so does a
//! signal when the pair's write end is Python's wakeup fd (`signal.set_wakeup_fd`), which
//! `run` installs on the main thread. Woken, `run` lets Python run its signal handlers
//! (`KeyboardInterrupt` stops the server, then propagates). No polling, no timer.

use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, MutexGuard};

use nanoapi::ServerHandle;
use nanoapi::executor::Backend;
use nanoapi::server::{BlockingPool, Options, serve_blocking_with};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::respond;
use crate::wsgi::{self, WSGIHandler};

/// A server calling ``handler(request)`` for every request that no static route answers.
///
/// ``host``/``port`` (0 picks a free port, see ``port``), ``workers`` (reactor threads; default
/// one per core), ``backend`` (``"uring"``, ``"poll"`` or ``None`` for the best available),
/// ``threads`` (Python threads running handlers: one by default, since the interpreter lock
/// lets one run at a time; raise it when handlers block — sleep, I/O, a stream that waits —
/// which costs ~30 % of throughput in lock hand-offs), ``queue`` (requests that may wait for a
/// thread; beyond that a 503), ``batch`` (waiting requests a thread runs under one acquisition
/// of the interpreter lock), ``max_body`` (bytes; 413 beyond). Every other setting comes from
/// the ``NANOAPI_*`` environment variables the runtime reads.
#[pyclass(module = "nanoapi._nanoapi")]
pub struct Server {
    state: Mutex<State>,
    stop_rx: UnixStream,
    stop_tx: UnixStream,
}

/// A WSGI request body longer than this is read by the application while it arrives; a
/// shorter one is read whole first (one hand-off fewer).
const STREAM_BODIES_OVER: u64 = 64 * 1024;

/// What the pool threads call: a function of the tuple protocol, or a WSGI application.
enum Handler {
    Tuple(Py<PyAny>),
    Wsgi(Py<WSGIHandler>),
}

enum State {
    Configuring {
        options: Box<Options>,
        handler: Py<PyAny>,
        pool: BlockingPool,
    },
    Running(ServerHandle),
    Stopped,
}

fn runtime_error(err: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(err.to_string())
}

impl Server {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn configuring(&self) -> PyResult<MutexGuard<'_, State>> {
        let state = self.lock();
        match *state {
            State::Configuring { .. } => Ok(state),
            _ => Err(runtime_error("the server was already started")),
        }
    }

    /// Waits for a byte on the stop pair; `true` when it was a stop, `false` for a signal's
    /// wake-up (the byte is the signal number; a stop writes 0).
    fn wait(&self) -> io::Result<bool> {
        let mut byte = [0u8; 1];
        loop {
            match (&self.stop_rx).read(&mut byte) {
                Ok(0) => return Ok(true),
                Ok(_) => return Ok(byte[0] == 0),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
    }

    /// Stops serving (drains the connections) without the interpreter lock: the handlers
    /// still running need it to finish.
    fn shutdown(&self, py: Python<'_>) {
        let state = std::mem::replace(&mut *self.lock(), State::Stopped);
        if let State::Running(handle) = state {
            py.detach(|| handle.shutdown_blocking());
        }
    }
}

#[pymethods]
impl Server {
    #[new]
    #[pyo3(signature = (
        handler, host = "127.0.0.1", port = 8000, *, workers = None, backend = None,
        threads = 1, queue = 1024, batch = 16, max_body = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        handler: Py<PyAny>,
        host: &str,
        port: u16,
        workers: Option<usize>,
        backend: Option<&str>,
        threads: usize,
        queue: usize,
        batch: usize,
        max_body: Option<u64>,
    ) -> PyResult<Server> {
        let mut options =
            Options::from_env().map_err(|err| PyValueError::new_err(err.to_string()))?;
        options.host = host
            .parse::<IpAddr>()
            .map_err(|err| PyValueError::new_err(format!("host {host:?}: {err}")))?;
        options.port = port;
        if workers.is_some() {
            options.workers = workers;
        }
        if let Some(backend) = backend {
            options.backend = match backend {
                "uring" => Backend::IoUring,
                "poll" => Backend::Poll,
                "auto" => Backend::Auto,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "backend {other:?}: \"uring\", \"poll\" or \"auto\""
                    )));
                }
            };
        }
        if let Some(max_body) = max_body {
            options.limits.max_body = max_body;
        }
        let pool = BlockingPool::new(threads, queue)
            .batch(batch)
            .scope(|run: &mut dyn FnMut()| Python::attach(|_| run()));
        let (stop_rx, stop_tx) = UnixStream::pair()?;
        // Python's wakeup fd must not block the signal handler that writes to it.
        stop_tx.set_nonblocking(true)?;
        Ok(Server {
            state: Mutex::new(State::Configuring {
                options: Box::new(options),
                handler,
                pool,
            }),
            stop_rx,
            stop_tx,
        })
    }

    /// Answers ``method path`` with a fixed response, without calling Python (rendered once;
    /// HEAD answered from GET's).
    #[pyo3(signature = (method, path, status, content_type, body, headers = Vec::new()))]
    fn add_static(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: &Bound<'_, PyAny>,
        headers: Vec<(String, String)>,
    ) -> PyResult<()> {
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(PyValueError::new_err("method must be letters, e.g. GET"));
        }
        if !path.starts_with('/') || path.contains(['?', ' ', '\r', '\n']) {
            return Err(PyValueError::new_err(
                "path must start with / and hold no query",
            ));
        }
        let mut response = respond::response_head(status, content_type, headers)?;
        let body = respond::whole(body)?
            .ok_or_else(|| PyValueError::new_err("a static body is bytes, str or bytearray"))?;
        response.set_body(body);
        if let State::Configuring { options, .. } = &mut *self.configuring()? {
            options.static_routes.add(method, path, response);
        }
        Ok(())
    }

    /// Renders the static routes in gzip, br and zstd too, picked per request by
    /// ``Accept-Encoding``.
    fn compress_static(&self) -> PyResult<()> {
        if let State::Configuring { options, .. } = &mut *self.configuring()? {
            options
                .static_routes
                .compress(nanoapi::http::coding::Compression::new());
        }
        Ok(())
    }

    /// Binds and starts serving (on the runtime's own threads); returns the port.
    fn start(&self, py: Python<'_>) -> PyResult<u16> {
        let mut state = self.lock();
        match &*state {
            State::Running(handle) => return Ok(handle.local_addr().port()),
            State::Stopped => return Err(runtime_error("the server was stopped")),
            State::Configuring { .. } => {}
        }
        let State::Configuring {
            options,
            handler,
            pool,
        } = std::mem::replace(&mut *state, State::Stopped)
        else {
            unreachable!("checked above, under the same lock");
        };
        let (handler, pool) = match handler.bind(py).cast::<WSGIHandler>() {
            // A WSGI application reads a large body from `wsgi.input` while it arrives.
            Ok(wsgi) => (
                Handler::Wsgi(wsgi.clone().unbind()),
                pool.stream_bodies_over(STREAM_BODIES_OVER),
            ),
            Err(_) => (Handler::Tuple(handler), pool),
        };
        let handle = py
            .detach(|| {
                serve_blocking_with(
                    *options,
                    handler,
                    |handler: &Handler, req, w| {
                        Python::attach(|py| match handler {
                            Handler::Tuple(handler) => respond::handle(py, handler, req, w),
                            Handler::Wsgi(handler) => wsgi::handle(py, handler.get(), req, w),
                        })
                    },
                    pool,
                )
            })
            .map_err(PyErr::from)?;
        let port = handle.local_addr().port();
        *state = State::Running(handle);
        Ok(port)
    }

    /// The port served on (after ``start``).
    #[getter]
    fn port(&self) -> PyResult<u16> {
        match &*self.lock() {
            State::Running(handle) => Ok(handle.local_addr().port()),
            _ => Err(runtime_error("the server is not running")),
        }
    }

    /// The descriptor ``stop()`` writes to: give it to ``signal.set_wakeup_fd`` so that a
    /// signal wakes ``run`` (which does so itself on the main thread).
    fn wakeup_fd(&self) -> i32 {
        self.stop_tx.as_raw_fd()
    }

    /// Starts if needed, serves until ``stop()`` (or SIGINT on the main thread, which raises
    /// ``KeyboardInterrupt`` after the drain), then drains the connections.
    fn run(&self, py: Python<'_>) -> PyResult<()> {
        self.start(py)?;
        let signal = py.import("signal")?;
        // Only the main thread may set it; elsewhere signals are not this loop's business.
        let quiet = PyDict::new(py);
        quiet.set_item("warn_on_full_buffer", false)?;
        let previous = signal
            .call_method("set_wakeup_fd", (self.wakeup_fd(),), Some(&quiet))
            .ok();
        let outcome = loop {
            match py.detach(|| self.wait()) {
                Ok(true) => break Ok(()),
                Ok(false) => {}
                Err(err) => break Err(PyErr::from(err)),
            }
            // A signal arrived: its Python handler runs here (and may call stop()).
            if let Err(err) = py.check_signals() {
                break Err(err);
            }
        };
        if let Some(previous) = previous {
            signal.call_method1("set_wakeup_fd", (previous,))?;
        }
        self.shutdown(py);
        outcome
    }

    /// Asks ``run`` to return (from any thread, a signal handler included).
    fn stop(&self) {
        match (&self.stop_tx).write(&[0]) {
            // A full pair already holds a wake-up.
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => log::error!("stop: {err}"),
        }
    }

    /// Stops serving now (drains the connections) when ``run`` is not used.
    fn close(&self, py: Python<'_>) {
        self.shutdown(py);
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.borrow().start(slf.py())?;
        Ok(slf)
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) {
        self.shutdown(py);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let state = std::mem::replace(
            self.state.get_mut().unwrap_or_else(|p| p.into_inner()),
            State::Stopped,
        );
        if let State::Running(handle) = state {
            // Dropped with the interpreter lock held: it is released for the drain, since
            // the handlers still running need it.
            Python::attach(|py| py.detach(|| handle.shutdown_blocking()));
        }
    }
}
