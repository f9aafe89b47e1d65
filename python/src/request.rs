//! `Request`: what a handler is called with. Its fields are read from the request when asked
//! for, not copied into Python objects up front.

use std::borrow::Cow;

use nanoapi::http::Version;
use nanoapi::server::OwnedRequest;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

/// An HTTP request: ``method``, ``target``, ``path``, ``query`` (``None`` without a ``?``),
/// ``version`` (10 or 11), ``headers`` (``(name, value)`` pairs in order), ``body`` (bytes),
/// ``client`` (``(host, port)`` or ``None``). Strings are the bytes sent, decoded as Latin-1.
#[pyclass(frozen, module = "nanoapi._nanoapi")]
pub struct Request {
    inner: OwnedRequest,
}

impl Request {
    pub(crate) fn new(inner: OwnedRequest) -> Request {
        Request { inner }
    }
}

/// `bytes` as Latin-1 (each byte one character): borrowed when they are ASCII.
fn latin1(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) if bytes.is_ascii() => Cow::Borrowed(text),
        _ => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

pub(crate) fn string<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    PyString::new(py, &latin1(bytes))
}

#[pymethods]
impl Request {
    /// The method, e.g. ``"GET"``.
    #[getter]
    fn method<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        string(py, self.inner.method())
    }

    /// The request-target as sent: path and query.
    #[getter]
    fn target<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        string(py, self.inner.target())
    }

    /// The path, not decoded.
    #[getter]
    fn path<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        string(py, self.inner.path())
    }

    /// What follows the ``?`` (``""`` for a bare ``?``), or ``None``.
    #[getter]
    fn query<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.inner.query().map(|query| string(py, query))
    }

    /// 10 for HTTP/1.0, 11 for HTTP/1.1.
    #[getter]
    fn version(&self) -> u8 {
        match self.inner.version() {
            Version::Http10 => 10,
            _ => 11,
        }
    }

    /// The header fields, in order, as ``(name, value)`` tuples.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let pairs = self
            .inner
            .headers()
            .iter()
            .map(|(name, value)| PyTuple::new(py, [string(py, name), string(py, value)]));
        let list = PyList::empty(py);
        for pair in pairs {
            list.append(pair?)?;
        }
        Ok(list)
    }

    /// The first field named ``name`` (any case), or ``default``.
    #[pyo3(signature = (name, default = None))]
    fn header<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        default: Option<Bound<'py, PyAny>>,
    ) -> Option<Bound<'py, PyAny>> {
        match self.inner.header(name) {
            Some(value) => Some(string(py, value).into_any()),
            None => default,
        }
    }

    /// The whole body.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.body())
    }

    /// The client's address as ``(host, port)``, or ``None``.
    #[getter]
    fn client(&self) -> Option<(String, u16)> {
        self.inner
            .peer_addr()
            .map(|addr| (addr.ip().to_string(), addr.port()))
    }

    fn __repr__(&self) -> String {
        format!(
            "<Request {} {}>",
            latin1(self.inner.method()),
            latin1(self.inner.target())
        )
    }
}
