//! `on_body_end`: a callback when a response's body has been produced, for middleware that
//! times or logs whole responses (a streamed body ends long after `next.run` returns).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use crate::http::{Body, BodyStream, Response};

/// How a response body ended, as [`on_body_end`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyEnd {
    /// The bytes of body produced.
    pub bytes: u64,
    /// Whether the body was produced to its end: `false` when its stream failed or was
    /// dropped before its end (the client went away, the server shut down).
    pub complete: bool,
}

/// Calls `f` once `resp`'s body has been produced: for a body in memory, at once; for a
/// streamed body, when its stream ends, fails or is dropped. The server writes what a stream
/// yields before asking for more, so the end of the stream is the end of the response (give or
/// take the last write).
///
/// # Examples
///
/// ```
/// use std::time::Instant;
/// use nanoapi::app::{App, BodyEnd, Next, StreamingResponse, on_body_end};
/// use nanoapi::http::Response;
/// use nanoapi::server::Request;
///
/// /// Logs how long each whole response took, streamed or not.
/// async fn timing(req: &mut Request, next: Next<'_>) -> Response {
///     let start = Instant::now();
///     let mut resp = next.run(req).await;
///     on_body_end(&mut resp, move |end: BodyEnd| {
///         eprintln!("{} bytes in {:?}", end.bytes, start.elapsed());
///     });
///     resp
/// }
///
/// async fn ticks() -> StreamingResponse {
///     StreamingResponse::new(futures_util::stream::iter(["a", "b"]))
/// }
///
/// let client = App::new().middleware(timing).get("/ticks", ticks).test_client();
/// assert_eq!(client.get("/ticks").send().text(), "ab");
/// ```
pub fn on_body_end(resp: &mut Response, f: impl FnOnce(BodyEnd) + 'static) {
    let body = std::mem::take(resp.body_mut());
    let watched = match body {
        Body::Stream(stream) => Body::Stream(Box::pin(Watched::new(stream, f))),
        Body::SizedStream { len, stream } => Body::SizedStream {
            len,
            stream: Box::pin(Watched::new(stream, f)),
        },
        in_memory => {
            f(BodyEnd {
                bytes: in_memory.len().unwrap_or(0),
                complete: true,
            });
            in_memory
        }
    };
    *resp.body_mut() = watched;
}

/// A body stream that reports its end.
struct Watched<F: FnOnce(BodyEnd)> {
    stream: BodyStream,
    bytes: u64,
    /// Taken when called.
    on_end: Option<F>,
}

impl<F: FnOnce(BodyEnd)> Watched<F> {
    fn new(stream: BodyStream, on_end: F) -> Watched<F> {
        Watched {
            stream,
            bytes: 0,
            on_end: Some(on_end),
        }
    }

    fn end(&mut self, complete: bool) {
        if let Some(on_end) = self.on_end.take() {
            on_end(BodyEnd {
                bytes: self.bytes,
                complete,
            });
        }
    }
}

// `Watched` pins nothing of its own: the stream is boxed.
impl<F: FnOnce(BodyEnd)> Unpin for Watched<F> {}

impl<F: FnOnce(BodyEnd)> Stream for Watched<F> {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.stream.as_mut().poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => self.bytes += chunk.len() as u64,
            Poll::Ready(Some(Err(_))) => self.end(false),
            Poll::Ready(None) => self.end(true),
            Poll::Pending => {}
        }
        polled
    }
}

impl<F: FnOnce(BodyEnd)> Drop for Watched<F> {
    fn drop(&mut self) {
        self.end(false);
    }
}
