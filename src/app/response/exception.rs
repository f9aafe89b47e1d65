//! `HttpException`: an error answered as `{"detail": ...}`.

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
            tracing::error!(error = %err, "HttpException header refused");
        }
        self
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
