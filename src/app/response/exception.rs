//! `HttpException`: an error answered as `{"detail": ...}`.

use crate::app::logging::event;
use std::fmt;

use bytes::Bytes;
use serde_json::Value;

use super::IntoResponse;
use crate::app::doc::OperationDoc;
use crate::http::{HeaderList, Response, StatusCode};

/// An HTTP error with a JSON `detail`, as FastAPI's `HTTPException`: return it (or
/// `Err(it)`) from a handler.
///
/// # Examples
///
/// ```
/// use nanoapi::app::{HttpException, IntoResponse};
/// use nanoapi::http::StatusCode;
///
/// let resp = HttpException::new(StatusCode::NOT_FOUND, "Item not found")
///     .header("X-Error", "gone")
///     .into_response();
/// assert_eq!(resp.status(), StatusCode::NOT_FOUND);
/// assert_eq!(resp.headers().get("x-error"), Some(&b"gone"[..]));
/// assert_eq!(resp.body().as_slice(), Some(&br#"{"detail":"Item not found"}"#[..]));
/// ```
#[derive(Debug, Clone)]
pub struct HttpException {
    status: StatusCode,
    detail: Value,
    headers: HeaderList,
}

impl HttpException {
    /// An error with `status` and a `detail` (a string, or any JSON value).
    pub fn new(status: StatusCode, detail: impl Into<Value>) -> HttpException {
        HttpException {
            status,
            detail: detail.into(),
            headers: HeaderList::new(),
        }
    }

    /// Adds a header field (an invalid one is logged and skipped).
    pub fn header(mut self, name: &str, value: impl Into<Bytes>) -> HttpException {
        if let Err(err) = self
            .headers
            .append(Bytes::copy_from_slice(name.as_bytes()), value)
        {
            event!(error, error = %err, "HttpException header refused");
        }
        self
    }

    /// 500 `{"detail":"Internal Server Error"}`: the answer to a failure on the server's side,
    /// whose cause belongs in the log, not in the response.
    pub fn internal_server_error() -> HttpException {
        HttpException::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The detail.
    pub fn detail(&self) -> &Value {
        &self.detail
    }
}

impl fmt::Display for HttpException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.status, self.detail)
    }
}

impl std::error::Error for HttpException {}

/// A runtime error as the client should see it: its status with the status's reason phrase as
/// `detail` (a 4xx such as a body over its limit, 413), or a 500 when it names no status. Server
/// errors are logged with their cause; the response never carries the error's text.
///
/// This is what lets `?` apply a [`nanoapi::Error`](crate::Error) in a handler that returns
/// `Result<_, HttpException>`.
impl From<crate::Error> for HttpException {
    fn from(err: crate::Error) -> HttpException {
        let status = err.status_or_500();
        if status.is_client_error() {
            event!(debug, error = %err, "a handler failed with a client error");
        } else {
            event!(error, error = %err, "a handler failed");
        }
        HttpException::new(status, status.reason().unwrap_or("Error"))
    }
}

/// An I/O error in a handler (a file, a socket to a backend) is the server's failure: a 500,
/// its cause logged.
///
/// # Examples
///
/// ```
/// use nanoapi::app::HttpException;
///
/// async fn motd() -> Result<String, HttpException> {
///     Ok(std::fs::read_to_string("/etc/motd")?)
/// }
/// ```
impl From<std::io::Error> for HttpException {
    fn from(err: std::io::Error) -> HttpException {
        HttpException::from(crate::Error::new(err))
    }
}

/// A JSON error in a handler (serializing a value, decoding a backend's answer) is the server's
/// failure: a 500, its cause logged. Request bodies are decoded by the extractors, whose errors
/// are 422s.
impl From<serde_json::Error> for HttpException {
    fn from(err: serde_json::Error) -> HttpException {
        HttpException::from(crate::Error::new(err))
    }
}

/// A runtime error returned by a handler (`Result<_, nanoapi::Error>`): answered as its
/// [`HttpException`].
impl IntoResponse for crate::Error {
    fn into_response(self) -> Response {
        HttpException::from(self).into_response()
    }

    fn describe(_doc: &mut OperationDoc) {}
}

impl IntoResponse for HttpException {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(32);
        body.extend_from_slice(b"{\"detail\":");
        // Serializing a Value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut body, &self.detail);
        body.push(b'}');
        let mut resp = Response::json_bytes(self.status, body.into());
        for (name, value) in &self.headers {
            // The fields were checked when added.
            let _ = resp
                .headers_mut()
                .append(Bytes::copy_from_slice(name), Bytes::copy_from_slice(value));
        }
        resp
    }

    fn describe(_doc: &mut OperationDoc) {}
}
