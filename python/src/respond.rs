//! Calling a handler and sending what it returns: ``(status, content_type, body)`` or
//! ``(status, content_type, body, headers)``, the body ``bytes``, ``str``, ``bytearray`` or an
//! iterable of those (streamed, one chunk per item).

use std::io;

use bytes::Bytes;
use nanoapi::http::{HeaderError, Response, StatusCode};
use nanoapi::server::{BlockingWriter, OwnedRequest};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyIterator, PyString, PyTuple};

use crate::request::Request;

/// Why a handler's answer did not reach the client.
pub(crate) enum Failure {
    /// The handler raised, or returned something that is not a response.
    Python(PyErr),
    /// The connection is gone (the client left, the server stops).
    Connection(io::Error),
}

impl From<PyErr> for Failure {
    fn from(err: PyErr) -> Failure {
        Failure::Python(err)
    }
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Failure {
        Failure::Connection(err)
    }
}

/// Runs `handler(Request)` and sends its answer through `w`.
pub(crate) fn handle(
    py: Python<'_>,
    handler: &Py<PyAny>,
    req: &OwnedRequest,
    w: &mut BlockingWriter,
) -> nanoapi::Result<()> {
    let outcome = handler
        .call1(py, (Request::new(req.clone()),))
        .map_err(Failure::from)
        .and_then(|answer| respond(py, answer.bind(py), w));
    conclude(py, outcome)
}

/// What the runtime is told of a handler's outcome: an exception is logged (logger
/// `nanoapi`) and becomes a 500, or aborts the connection once a streamed body has begun.
pub(crate) fn conclude(py: Python<'_>, outcome: Result<(), Failure>) -> nanoapi::Result<()> {
    match outcome {
        Ok(()) => Ok(()),
        Err(Failure::Python(err)) => {
            log_exception(py, &err);
            Err(nanoapi::Error::with_status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the Python handler failed",
            ))
        }
        Err(Failure::Connection(err)) => Err(err.into()),
    }
}

fn respond(
    py: Python<'_>,
    answer: &Bound<'_, PyAny>,
    w: &mut BlockingWriter,
) -> Result<(), Failure> {
    let tuple = answer
        .cast::<PyTuple>()
        .ok()
        .filter(|tuple| matches!(tuple.len(), 3 | 4))
        .ok_or_else(|| {
            PyTypeError::new_err(format!(
                "a handler returns (status, content_type, body[, headers]), not {answer}"
            ))
        })?;
    let mut response = head(tuple)?;
    let body = tuple.get_item(2)?;
    if let Some(bytes) = whole(&body)? {
        response.set_body(bytes);
        w.send(response)?;
        return Ok(());
    }
    let chunks = body.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "a body is bytes, str, bytearray or an iterable of those, not {}",
            body.get_type()
        ))
    })?;
    stream(py, w, response, None, &chunks, &body)
}

/// Sends `head`, then `first` and every chunk `chunks` yields as a chunked body; `body` (what
/// `chunks` iterates) is closed at the end whatever happened, as a generator must be (its
/// `finally` blocks run).
pub(crate) fn stream(
    py: Python<'_>,
    w: &mut BlockingWriter,
    head: Response,
    first: Option<Bytes>,
    chunks: &Bound<'_, PyIterator>,
    body: &Bound<'_, PyAny>,
) -> Result<(), Failure> {
    let streamed = (|| -> Result<(), Failure> {
        w.start_chunked(head)?;
        if let Some(first) = first {
            w.write_chunk(first)?;
        }
        for chunk in chunks {
            let chunk = chunk?;
            let bytes = whole(&chunk)?.ok_or_else(|| {
                PyTypeError::new_err(format!(
                    "a streamed chunk is bytes, str or bytearray, not {}",
                    chunk.get_type()
                ))
            })?;
            // A slow client fills the connection's queue: wait without the interpreter lock.
            py.detach(|| w.write_chunk(bytes))?;
        }
        Ok(())
    })();
    close(body)?;
    streamed?;
    py.detach(|| w.end_chunked())?;
    Ok(())
}

/// Calls `body.close()` when it has one.
pub(crate) fn close(body: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(close) = body.getattr(intern!(body.py(), "close")) {
        close.call0()?;
    }
    Ok(())
}

/// The status, content type and extra headers of `tuple`.
fn head(tuple: &Bound<'_, PyTuple>) -> PyResult<Response> {
    let headers = match tuple.len() {
        4 => tuple
            .get_item(3)?
            .try_iter()?
            .map(|field| field?.extract::<(String, String)>())
            .collect::<PyResult<Vec<_>>>()?,
        _ => Vec::new(),
    };
    response_head(
        tuple.get_item(0)?.extract()?,
        &tuple.get_item(1)?.extract::<String>()?,
        headers,
    )
}

/// A response with `status`, `content_type` (none when empty) and `headers`, no body; a
/// status or field the encoder refuses is a `ValueError`.
pub(crate) fn response_head(
    status: u16,
    content_type: &str,
    headers: Vec<(String, String)>,
) -> PyResult<Response> {
    let status = StatusCode::from_u16(status)
        .map_err(|err| PyValueError::new_err(format!("status {status}: {err}")))?;
    let mut response = Response::new(status);
    let fields = response.headers_mut();
    let invalid = |err: HeaderError| PyValueError::new_err(err.to_string());
    if !content_type.is_empty() {
        fields
            .append("Content-Type", content_type.to_owned())
            .map_err(invalid)?;
    }
    for (name, value) in headers {
        fields.append(name, value).map_err(invalid)?;
    }
    Ok(response)
}

/// From this size on, a `bytes` body is sent from the Python object itself rather than from a
/// copy (below it, the copy costs no more than sharing the object).
const SHARE_FROM: usize = 4096;

/// A Python `bytes` object as the owner of a `Bytes`: the response is written from its buffer,
/// which cannot change while the object lives.
struct SharedPyBytes {
    /// Held for its lifetime only: the buffer below is its.
    _object: Py<PyBytes>,
    start: *const u8,
    len: usize,
}

// SAFETY: `start..start + len` is the buffer of `_object`, an immutable `bytes` object kept alive
// by the strong reference beside it; reading it needs no interpreter lock, and `Py` may be sent
// and dropped on any thread (its decref waits for the lock when dropped without it).
unsafe impl Send for SharedPyBytes {}

impl AsRef<[u8]> for SharedPyBytes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: see the `Send` impl: the buffer of the live, immutable `_object`.
        unsafe { std::slice::from_raw_parts(self.start, self.len) }
    }
}

/// The bytes of `body` when it is one piece (`bytes`, `str`, `bytearray`), else `None`.
pub(crate) fn whole(body: &Bound<'_, PyAny>) -> PyResult<Option<Bytes>> {
    if let Ok(bytes) = body.cast::<PyBytes>() {
        let data = bytes.as_bytes();
        if data.len() < SHARE_FROM {
            return Ok(Some(Bytes::copy_from_slice(data)));
        }
        return Ok(Some(Bytes::from_owner(SharedPyBytes {
            start: data.as_ptr(),
            len: data.len(),
            _object: bytes.clone().unbind(),
        })));
    }
    if let Ok(text) = body.cast::<PyString>() {
        return Ok(Some(Bytes::from(text.to_cow()?.into_owned())));
    }
    if let Ok(array) = body.cast::<PyByteArray>() {
        return Ok(Some(Bytes::from(array.to_vec())));
    }
    Ok(None)
}

/// Logs `err` with its traceback through Python's `logging` (logger `nanoapi`); prints it
/// when logging itself fails.
fn log_exception(py: Python<'_>, err: &PyErr) {
    let logged = (|| -> PyResult<()> {
        let logger = py
            .import("logging")?
            .call_method1("getLogger", ("nanoapi",))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("exc_info", err.value(py))?;
        logger.call_method("error", ("the handler failed",), Some(&kwargs))?;
        Ok(())
    })();
    if logged.is_err() {
        err.print(py);
    }
}
