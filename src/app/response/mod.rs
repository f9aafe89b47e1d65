//! What handlers return: anything that converts into a [`Response`].

mod cookie;
mod exception;
mod file;
mod redirect;
mod sse;
mod stream;

use crate::app::logging::event;
use std::cell::RefCell;

use bytes::Bytes;
use serde::Serialize;

pub use cookie::{SameSite, SetCookie};
pub use exception::HttpException;
pub(crate) use file::guess_content_type;
pub use file::{Conditional, FileResponse};
pub use redirect::Redirect;
pub use sse::{Event, EventSource, KeepAlive, LastEventId};
pub use stream::StreamingResponse;

use super::doc::{ApiSchema, OperationDoc};
use super::validation::ValidationError;
use crate::http::{Body, HeaderList, Response, StatusCode};

/// A value a handler can return.
///
/// Implemented for [`Response`], strings (`text/plain`), [`Json`], [`Html`], [`Redirect`],
/// [`HttpException`], `(StatusCode, T)`, `(StatusCode, HeaderList, T)`, `Result<T, E>` and the
/// streaming types; implement it for your own types to return them directly.
///
/// # Examples
///
/// ```
/// use nanoapi::app::{IntoResponse, Json};
/// use nanoapi::http::StatusCode;
///
/// let resp = (StatusCode::CREATED, Json(serde_json::json!({"id": 1}))).into_response();
/// assert_eq!(resp.status(), StatusCode::CREATED);
/// assert_eq!(resp.body().as_slice(), Some(&br#"{"id":1}"#[..]));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a handler",
    note = "handlers return a type implementing `IntoResponse`: `Json<T>`, `String`, `Response`, `(StatusCode, T)`, `Result<T, HttpException>`, ..."
)]
pub trait IntoResponse {
    /// The response.
    fn into_response(self) -> Response;

    /// Whether the value chose its status, so that a route's
    /// [`status`](super::Route::status) (FastAPI's `status_code`) leaves it alone: `true` for a
    /// [`Response`], a [`StatusCode`] and a `(StatusCode, ..)` tuple, whatever status they
    /// carry; `false` (the default) for bodies (`Json`, text, bytes, `Html`, streams, ...),
    /// whose `200 OK` the route's status replaces.
    fn explicit_status(&self) -> bool {
        false
    }

    /// Describes the responses this type produces, for the OpenAPI document.
    fn describe(_doc: &mut OperationDoc)
    where
        Self: Sized,
    {
    }
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }

    fn explicit_status(&self) -> bool {
        true
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::empty(StatusCode::OK)
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        Response::empty(self)
    }

    fn explicit_status(&self) -> bool {
        true
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::text(StatusCode::OK, Bytes::from_static(self.as_bytes()))
    }

    fn describe(doc: &mut OperationDoc) {
        doc.success_plain("text/plain");
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(StatusCode::OK, self)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.success_plain("text/plain");
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        Response::bytes(StatusCode::OK, "application/octet-stream", self)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.success_plain("application/octet-stream");
    }
}

impl IntoResponse for ValidationError {
    fn into_response(self) -> Response {
        ValidationError::into_response(self)
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        let mut resp = self.1.into_response();
        resp.set_status(self.0);
        resp
    }

    fn explicit_status(&self) -> bool {
        true
    }

    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, HeaderList, T) {
    fn explicit_status(&self) -> bool {
        true
    }

    fn into_response(self) -> Response {
        let (status, headers, body) = self;
        let mut resp = body.into_response();
        resp.set_status(status);
        for (name, value) in &headers {
            // A HeaderList holds only valid fields, so appending cannot fail.
            let _ = resp
                .headers_mut()
                .append(Bytes::copy_from_slice(name), Bytes::copy_from_slice(value));
        }
        resp
    }

    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(ok) => ok.into_response(),
            Err(err) => err.into_response(),
        }
    }

    fn explicit_status(&self) -> bool {
        match self {
            Ok(ok) => ok.explicit_status(),
            Err(err) => err.explicit_status(),
        }
    }

    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
        E::describe(doc);
    }
}

/// A JSON body: as an extractor, the request body parsed and validated into `T` (422 on any
/// failure; as in FastAPI, a body without a JSON `Content-Type` is not parsed but validated as
/// text, and JSON that is not UTF-8 is a 400); as a response, `T` serialized with
/// `Content-Type: application/json`.
///
/// # Examples
///
/// ```
/// use nanoapi::app::{IntoResponse, Json};
///
/// #[derive(serde::Serialize, schemars::JsonSchema)]
/// struct User { id: u64, name: String }
///
/// let resp = Json(User { id: 1, name: "ana \"quoted\"".into() }).into_response();
/// assert_eq!(resp.body().as_slice(), Some(&br#"{"id":1,"name":"ana \"quoted\""}"#[..]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: Serialize + ApiSchema> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match json_bytes(&self.0) {
            Ok(body) => Response::json_bytes(StatusCode::OK, body),
            Err(err) => {
                event!(error, error = %err, "a response body failed to serialize");
                HttpException::internal_server_error().into_response()
            }
        }
    }

    fn describe(doc: &mut OperationDoc) {
        doc.success_json::<T>();
    }
}

/// `value` as JSON, serialized into a buffer the thread keeps and copied out at its exact size:
/// one allocation per body, where a `Vec` with spare capacity handed to `Bytes` costs two.
pub(crate) fn json_bytes<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Bytes> {
    /// Past this, the buffer is not kept for the next body.
    const KEEP: usize = 64 * 1024;
    thread_local! {
        static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    BUF.with(|buf| match buf.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            let body =
                serde_json::to_writer(&mut *buf, value).map(|()| Bytes::copy_from_slice(&buf));
            if buf.capacity() > KEEP {
                *buf = Vec::new();
            }
            body
        }
        // A body serialized while another is (a `Serialize` impl that renders a response).
        Err(_) => serde_json::to_vec(value).map(Bytes::from),
    })
}

/// An HTML body (`text/html; charset=utf-8`).
///
/// # Examples
///
/// ```
/// use nanoapi::app::{Html, IntoResponse};
///
/// let resp = Html("<h1>hi</h1>").into_response();
/// assert_eq!(resp.headers().get("content-type"), Some(&b"text/html; charset=utf-8"[..]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Html<T>(pub T);

impl<T: Into<Bytes>> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        Response::html(StatusCode::OK, self.0)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.success_plain("text/html");
    }
}

/// A body of any type from bytes in memory, with the `Content-Type` given.
///
/// # Examples
///
/// ```
/// use nanoapi::app::{IntoResponse, Content};
///
/// let resp = Content("image/svg+xml", "<svg/>").into_response();
/// assert_eq!(resp.headers().get("content-type"), Some(&b"image/svg+xml"[..]));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Content<T>(pub &'static str, pub T);

impl<T: Into<Bytes>> IntoResponse for Content<T> {
    fn into_response(self) -> Response {
        Response::bytes(StatusCode::OK, self.0, self.1.into())
    }
}

impl IntoResponse for Body {
    fn into_response(self) -> Response {
        let mut resp = Response::new(StatusCode::OK);
        resp.set_body(self);
        resp
    }
}
