//! The WSGI server's core (PEP 3333): the environ built, the application called with a
//! `start_response` of ours, and its iterable sent whole (a list or tuple of one piece) or
//! streamed, all without a Python frame of nanoapi's own per request.

use std::sync::Mutex;

use bytes::Bytes;
use nanoapi::http::Version;
use nanoapi::server::{BlockingWriter, OwnedRequest};
use pyo3::exceptions::{PyAssertionError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::request::string;
use crate::respond::{self, Failure};

/// What the server writes itself (message framing, connection management): an application's
/// own values for these are left out rather than refused.
const SERVER_FIELDS: [&str; 8] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "date",
    "trailer",
    "upgrade",
    "proxy-connection",
];

/// A WSGI application as a handler of :class:`nanoapi.Server`: ``Server(WSGIHandler(app))``.
///
/// ``server_name`` and ``server_port`` fill ``SERVER_NAME`` and ``SERVER_PORT`` (see
/// ``set_server_port`` for a server bound to port 0); ``multithread`` is
/// ``wsgi.multithread``.
#[pyclass(frozen, module = "nanoapi._nanoapi")]
pub struct WSGIHandler {
    app: Py<PyAny>,
    base: Mutex<Py<PyDict>>,
}

#[pymethods]
impl WSGIHandler {
    #[new]
    #[pyo3(signature = (app, server_name = "127.0.0.1", server_port = 8000, multithread = false))]
    fn new(
        py: Python<'_>,
        app: Py<PyAny>,
        server_name: &str,
        server_port: u16,
        multithread: bool,
    ) -> PyResult<WSGIHandler> {
        let base = PyDict::new(py);
        base.set_item("SERVER_NAME", server_name)?;
        base.set_item("SERVER_PORT", server_port.to_string())?;
        base.set_item("wsgi.version", (1, 0))?;
        base.set_item("wsgi.url_scheme", "http")?;
        base.set_item("wsgi.errors", py.import("sys")?.getattr("stderr")?)?;
        base.set_item("wsgi.multithread", multithread)?;
        base.set_item("wsgi.multiprocess", false)?;
        base.set_item("wsgi.run_once", false)?;
        base.set_item("wsgi.input_terminated", true)?;
        Ok(WSGIHandler {
            app,
            base: Mutex::new(base.unbind()),
        })
    }

    /// ``SERVER_PORT`` from now on (the port a server bound to port 0 got).
    fn set_server_port(&self, py: Python<'_>, port: u16) -> PyResult<()> {
        let base = self.base.lock().unwrap_or_else(|p| p.into_inner());
        base.bind(py).set_item("SERVER_PORT", port.to_string())
    }
}

/// One request's `start_response` (callable) and its `write`.
#[pyclass(module = "nanoapi._nanoapi")]
struct StartResponse {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    written: Vec<u8>,
    sent: bool,
}

#[pymethods]
impl StartResponse {
    #[pyo3(signature = (status, headers, exc_info = None))]
    fn __call__<'py>(
        mut slf: PyRefMut<'py, Self>,
        status: &str,
        headers: &Bound<'py, PyList>,
        exc_info: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match exc_info.filter(|info| !info.is_none()) {
            // The head is out: the application's error is all that can be reported.
            Some(info) if slf.sent => return Err(PyErr::from_value(info.get_item(1)?)),
            Some(_) => {}
            None if slf.status.is_some() => {
                return Err(PyAssertionError::new_err(
                    "start_response called a second time without exc_info",
                ));
            }
            None => {}
        }
        let code = status
            .split(' ')
            .next()
            .and_then(|code| code.parse::<u16>().ok())
            .filter(|_| status.len() > 4)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "a status is a str such as '200 OK', not {status:?}"
                ))
            })?;
        let mut fields = Vec::with_capacity(headers.len());
        for field in headers {
            let (name, value): (String, String) = field.extract()?;
            if !SERVER_FIELDS.iter().any(|f| name.eq_ignore_ascii_case(f)) {
                fields.push((name, value));
            }
        }
        slf.status = Some(code);
        slf.headers = fields;
        let py = slf.py();
        slf.into_pyobject(py)?.getattr(intern!(py, "write"))
    }

    /// Queues `data` ahead of the iterable's chunks (sent with them).
    fn write(&mut self, data: &Bound<'_, PyBytes>) -> PyResult<()> {
        if self.status.is_none() {
            return Err(PyAssertionError::new_err("write() before start_response()"));
        }
        self.written.extend_from_slice(data.as_bytes());
        Ok(())
    }
}

impl StartResponse {
    /// The response head; from now on a call with `exc_info` re-raises.
    fn head(&mut self) -> PyResult<nanoapi::http::Response> {
        let status = self.status.ok_or_else(|| {
            PyAssertionError::new_err("the application returned without calling start_response()")
        })?;
        self.sent = true;
        respond::response_head(status, "", std::mem::take(&mut self.headers))
    }
}

/// Runs the application of `handler` for `req` and sends its answer through `w`.
pub(crate) fn handle(
    py: Python<'_>,
    handler: &WSGIHandler,
    req: &OwnedRequest,
    w: &mut BlockingWriter,
) -> nanoapi::Result<()> {
    let outcome = (|| -> Result<(), Failure> {
        let base = handler
            .base
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone_ref(py);
        let environ = environ(py, req, base.bind(py))?;
        let start = Bound::new(
            py,
            StartResponse {
                status: None,
                headers: Vec::new(),
                written: Vec::new(),
                sent: false,
            },
        )?;
        let result = handler.app.bind(py).call1((environ, &start))?;
        send(py, &start, &result, w)
    })();
    respond::conclude(py, outcome)
}

fn send(
    py: Python<'_>,
    start: &Bound<'_, StartResponse>,
    result: &Bound<'_, PyAny>,
    w: &mut BlockingWriter,
) -> Result<(), Failure> {
    let written = std::mem::take(&mut start.borrow_mut().written);
    // The common case: a list or tuple of at most one piece, sent whole.
    let one = match (result.cast::<PyList>(), result.cast::<PyTuple>()) {
        (Ok(list), _) if list.len() <= 1 => Some(list.iter().next()),
        (_, Ok(tuple)) if tuple.len() <= 1 => Some(tuple.iter().next()),
        _ => None,
    };
    if let Some(piece) = one.filter(|_| written.is_empty()) {
        let mut response = start.borrow_mut().head()?;
        if let Some(piece) = piece {
            response.set_body(body_bytes(&piece)?);
        }
        w.send(response)?;
        return Ok(());
    }
    let mut chunks = result.try_iter()?;
    let mut first = Bytes::from(written);
    // The head goes out with the first non-empty piece (PEP 3333).
    let looked = (|| -> PyResult<()> {
        while first.is_empty() {
            match chunks.next() {
                Some(chunk) => first = body_bytes(&chunk?)?,
                None => break,
            }
        }
        Ok(())
    })();
    let head = looked.and_then(|()| start.borrow_mut().head());
    let head = match head {
        Ok(head) => head,
        Err(err) => {
            respond::close(result)?;
            return Err(err.into());
        }
    };
    if first.is_empty() {
        // Nothing to send: a whole, empty body.
        respond::close(result)?;
        w.send(head)?;
        return Ok(());
    }
    respond::stream(py, w, head, Some(first), &chunks, result)
}

/// A piece of a WSGI body: bytes only (PEP 3333).
fn body_bytes(piece: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    match piece.cast::<PyBytes>() {
        Ok(bytes) => Ok(Bytes::copy_from_slice(bytes.as_bytes())),
        Err(_) => Err(PyTypeError::new_err(format!(
            "a WSGI body yields bytes, not {}",
            piece.get_type()
        ))),
    }
}

/// The request's part of a WSGI environ (PEP 3333), added to a copy of `base` (the
/// server's constant keys): `REQUEST_METHOD`, `SCRIPT_NAME`, `PATH_INFO` (percent-decoded,
/// as Latin-1), `QUERY_STRING`, `CONTENT_TYPE`, `CONTENT_LENGTH`, `SERVER_PROTOCOL`,
/// `REMOTE_ADDR`, `REMOTE_PORT`, `wsgi.input` and an `HTTP_*` key per header (repeated fields
/// joined with `,`). A header whose name holds `_` is left out, as gunicorn and nginx do: it
/// would collide with the `-` form of the same name.
fn environ<'py>(
    py: Python<'py>,
    req: &OwnedRequest,
    base: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let environ = base.copy()?;
    static BYTES_IO: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let bytes_io = BYTES_IO.import(py, "io", "BytesIO")?;
    environ.set_item(
        intern!(py, "wsgi.input"),
        bytes_io.call1((PyBytes::new(py, req.body()),))?,
    )?;
    environ.set_item("REQUEST_METHOD", string(py, req.method()))?;
    environ.set_item("SCRIPT_NAME", "")?;
    let path = percent_encoding::percent_decode(req.path()).collect::<Vec<u8>>();
    environ.set_item("PATH_INFO", string(py, &path))?;
    environ.set_item("QUERY_STRING", string(py, req.query().unwrap_or_default()))?;
    environ.set_item(
        "SERVER_PROTOCOL",
        match req.version() {
            Version::Http10 => "HTTP/1.0",
            _ => "HTTP/1.1",
        },
    )?;
    if let Some(addr) = req.peer_addr() {
        environ.set_item("REMOTE_ADDR", addr.ip().to_string())?;
        environ.set_item("REMOTE_PORT", addr.port().to_string())?;
    }
    environ.set_item("CONTENT_LENGTH", req.body().len().to_string())?;
    let mut key = String::with_capacity(64);
    for (name, value) in req.headers() {
        if name.contains(&b'_') {
            continue;
        }
        if name.eq_ignore_ascii_case(b"content-type") {
            environ.set_item("CONTENT_TYPE", string(py, value))?;
            continue;
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            continue;
        }
        key.clear();
        key.push_str("HTTP_");
        key.extend(name.iter().map(|&b| match b {
            b'-' => '_',
            b => char::from(b.to_ascii_uppercase()),
        }));
        let value = string(py, value);
        match environ.get_item(&key)? {
            Some(earlier) => {
                let joined = format!("{},{}", earlier.extract::<String>()?, value);
                environ.set_item(&key, joined)?;
            }
            None => environ.set_item(&key, value)?,
        }
    }
    Ok(environ)
}
