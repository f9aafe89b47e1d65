//! `StreamingResponse`: a body produced over time, sent chunked as it is produced.

use crate::app::logging::event;
use std::error::Error as StdError;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use super::IntoResponse;
use crate::app::doc::OperationDoc;
use crate::http::{Body, BodyStream, HeaderList, Response, StatusCode};

/// A response whose body comes from a [`Stream`]: each item goes to the client as one chunk
/// of a chunked body (close-delimited for HTTP/1.0) as soon as it is produced. A `HEAD`
/// request gets the head only; the stream is never polled.
///
/// The default status is 200 and the default `Content-Type` `application/octet-stream`. An
/// error from the stream ([`try_new`](StreamingResponse::try_new)) ends the response: the
/// head is out, so the only way to tell the client is to close the connection, which is what
/// the runtime does (and the error is logged).
///
/// # Examples
///
/// ```
/// use futures_util::{StreamExt, stream};
/// use nanoapi::app::{App, StreamingResponse};
///
/// async fn numbers() -> StreamingResponse {
///     let lines = stream::iter(1..=3).map(|n| format!("{n}\n"));
///     StreamingResponse::new(lines).content_type("text/plain; charset=utf-8")
/// }
///
/// let client = App::new().get("/numbers", numbers).test_client();
/// let (resp, chunks) = client.get("/numbers").send_streamed();
/// assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
/// assert_eq!(chunks, ["1\n", "2\n", "3\n"]);
/// ```
pub struct StreamingResponse {
    status: StatusCode,
    headers: HeaderList,
    body: BodyStream,
}

impl StreamingResponse {
    /// A response streaming `stream`'s items (`Bytes`, `String`, `Vec<u8>`, `&'static str`,
    /// ...).
    pub fn new<S>(stream: S) -> StreamingResponse
    where
        S: Stream + 'static,
        S::Item: Into<Bytes>,
    {
        StreamingResponse::from_body(Box::pin(MapItems::new(stream, |item: S::Item| {
            Ok(item.into())
        })))
    }

    /// A response streaming the `Ok` items of `stream`; the first `Err` ends the response and
    /// closes the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::stream;
    /// use nanoapi::app::StreamingResponse;
    ///
    /// let pieces = stream::iter([Ok("a"), Err(std::io::Error::other("disk gone"))]);
    /// let resp = StreamingResponse::try_new(pieces);
    /// # let _ = resp;
    /// ```
    pub fn try_new<S, T, E>(stream: S) -> StreamingResponse
    where
        S: Stream<Item = Result<T, E>> + 'static,
        T: Into<Bytes>,
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        StreamingResponse::from_body(Box::pin(MapItems::new(stream, |item: S::Item| {
            item.map(Into::into).map_err(stream_error)
        })))
    }

    fn from_body(body: BodyStream) -> StreamingResponse {
        let mut headers = HeaderList::new();
        // A static, valid field: appending cannot fail.
        let _ = headers.append("Content-Type", "application/octet-stream");
        StreamingResponse {
            status: StatusCode::OK,
            headers,
            body,
        }
    }

    /// Sets the status.
    pub fn status(mut self, status: StatusCode) -> StreamingResponse {
        self.status = status;
        self
    }

    /// Replaces the `Content-Type` (an invalid value is logged and ignored).
    pub fn content_type(mut self, content_type: impl Into<Bytes>) -> StreamingResponse {
        set_header(&mut self.headers, "Content-Type", content_type.into(), true);
        self
    }

    /// Adds a header field (an invalid one, or one the runtime owns such as
    /// `Content-Length`, is logged and ignored).
    pub fn header(mut self, name: &str, value: impl Into<Bytes>) -> StreamingResponse {
        set_header(&mut self.headers, name, value.into(), false);
        self
    }
}

impl IntoResponse for StreamingResponse {
    fn into_response(self) -> Response {
        Response::from_parts(self.status, self.headers, Body::Stream(self.body))
    }

    fn describe(doc: &mut OperationDoc) {
        doc.success_plain("application/octet-stream");
    }
}

impl std::fmt::Debug for StreamingResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// Appends (or, with `replace`, inserts) a field, logging a refused one: a builder that
/// returned a `Result` at every step would make every handler noisier for a programming error
/// that shows at the first request.
pub(super) fn set_header(headers: &mut HeaderList, name: &str, value: Bytes, replace: bool) {
    let name = Bytes::copy_from_slice(name.as_bytes());
    let res = if replace {
        headers.insert(name, value)
    } else {
        headers.append(name, value)
    };
    if let Err(err) = res {
        event!(error, error = %err, "response header refused");
    }
}

/// A stream's error as the runtime's I/O error, logged: the client only sees the connection
/// close.
pub(super) fn stream_error(err: impl Into<Box<dyn StdError + Send + Sync>>) -> io::Error {
    let err = io::Error::other(err);
    event!(warn, error = %err, "a streamed response body failed; closing the connection");
    err
}

pin_project_lite::pin_project! {
    /// Maps every item of a stream (the one adapter the streaming responses need, without
    /// depending on a futures utility crate).
    pub(super) struct MapItems<S, F> {
        #[pin]
        stream: S,
        map: F,
    }
}

impl<S, F> MapItems<S, F> {
    pub(super) fn new(stream: S, map: F) -> MapItems<S, F> {
        MapItems { stream, map }
    }
}

impl<S: Stream, T, F: FnMut(S::Item) -> T> Stream for MapItems<S, F> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.project();
        this.stream.poll_next(cx).map(|item| item.map(this.map))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}
