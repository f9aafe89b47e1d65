//! `nanoapi._nanoapi`: the compiled part of the `nanoapi` Python package.
//!
//! A [`Server`](server::Server) serves a Python callable through the runtime's blocking
//! dispatch: the body is read on a worker, the callable runs on a pool thread that takes the
//! interpreter lock once per batch of waiting requests, and what it returns goes back to the
//! worker as frames. The Python side (`nanoapi/__init__.py`) adds `serve()` and the WSGI server.

use pyo3::prelude::*;

mod request;
mod respond;
mod server;
mod wsgi;

/// The extension module.
#[pymodule]
fn _nanoapi(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The runtime logs through `log`: its records go to Python's `logging` (logger names are
    // the Rust module paths, e.g. `nanoapi.server.conn`).
    let _ = pyo3_log::try_init();
    m.add_class::<server::Server>()?;
    m.add_class::<request::Request>()?;
    m.add_class::<wsgi::WSGIHandler>()?;
    Ok(())
}
