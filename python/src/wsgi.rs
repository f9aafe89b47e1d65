//! The WSGI server's core (PEP 3333): the environ built, the application called with a
//! `start_response` of ours, and its iterable sent whole (a list or tuple of one piece) or
//! streamed, all without a Python frame of nanoapi's own per request.

use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use nanoapi::http::Version;
use nanoapi::server::{BlockingBody, BlockingWriter, OwnedRequest};
use pyo3::exceptions::{PyAssertionError, PyOSError, PyTypeError, PyValueError};
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
        let environ = environ(py, req, w.body(), base.bind(py))?;
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

/// `wsgi.input` for a body the application reads while it arrives: each read waits (without
/// the interpreter lock) for the pieces it needs.
#[pyclass(module = "nanoapi._nanoapi")]
struct Input {
    body: BlockingBody,
    buffer: BytesMut,
    eof: bool,
}

impl Input {
    /// Adds the next piece of the body to the buffer (or notes its end).
    fn fill(&mut self, py: Python<'_>) -> PyResult<()> {
        let body = &self.body;
        match py.detach(|| body.read_chunk()) {
            Ok(Some(piece)) => self.buffer.extend_from_slice(&piece),
            Ok(None) => self.eof = true,
            Err(err) => return Err(PyOSError::new_err(err.to_string())),
        }
        Ok(())
    }

    /// The first `n` bytes of the buffer (all of it when shorter), taken out.
    fn take<'py>(&mut self, py: Python<'py>, n: usize) -> Bound<'py, PyBytes> {
        let n = n.min(self.buffer.len());
        PyBytes::new(py, &self.buffer.split_to(n))
    }
}

#[pymethods]
impl Input {
    /// Up to `size` bytes (all that is left when negative), fewer only at the end.
    #[pyo3(signature = (size = -1))]
    fn read<'py>(&mut self, py: Python<'py>, size: isize) -> PyResult<Bound<'py, PyBytes>> {
        let wanted = usize::try_from(size).ok();
        while !self.eof && wanted.is_none_or(|wanted| self.buffer.len() < wanted) {
            self.fill(py)?;
        }
        Ok(self.take(py, wanted.unwrap_or(usize::MAX)))
    }

    /// The next line, with its `\n` (at most `size` bytes when not negative).
    #[pyo3(signature = (size = -1))]
    fn readline<'py>(&mut self, py: Python<'py>, size: isize) -> PyResult<Bound<'py, PyBytes>> {
        let limit = usize::try_from(size).unwrap_or(usize::MAX);
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                return Ok(self.take(py, (end + 1).min(limit)));
            }
            if self.eof || self.buffer.len() >= limit {
                return Ok(self.take(py, limit));
            }
            self.fill(py)?;
        }
    }

    /// The remaining lines (stopping once `hint` bytes were read, when positive).
    #[pyo3(signature = (hint = -1))]
    fn readlines<'py>(
        &mut self,
        py: Python<'py>,
        hint: isize,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let hint = usize::try_from(hint).ok().filter(|&hint| hint > 0);
        let (mut lines, mut total) = (Vec::new(), 0);
        loop {
            let line = self.readline(py, -1)?;
            if line.as_bytes().is_empty() {
                return Ok(lines);
            }
            total += line.as_bytes().len();
            lines.push(line);
            if hint.is_some_and(|hint| total >= hint) {
                return Ok(lines);
            }
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let line = self.readline(py, -1)?;
        Ok(Some(line).filter(|line| !line.as_bytes().is_empty()))
    }
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
    body: BlockingBody,
    base: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let environ = base.copy()?;
    let input = match req.body_is_streamed() {
        true => Bound::new(
            py,
            Input {
                body,
                buffer: BytesMut::new(),
                eof: false,
            },
        )?
        .into_any(),
        false => {
            static BYTES_IO: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
            let bytes_io = BYTES_IO.import(py, "io", "BytesIO")?;
            bytes_io.call1((PyBytes::new(py, req.body()),))?
        }
    };
    environ.set_item(intern!(py, "wsgi.input"), input)?;
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
    // A streamed body's length is what the client declared (none for a chunked one).
    let length = match req.body_is_streamed() {
        true => req
            .header("content-length")
            .map(|length| String::from_utf8_lossy(length).into_owned()),
        false => Some(req.body().len().to_string()),
    };
    if let Some(length) = length {
        environ.set_item("CONTENT_LENGTH", length)?;
    }
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
