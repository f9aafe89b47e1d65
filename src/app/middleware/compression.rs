//! `Compression` as middleware (responses compressed as the request's `Accept-Encoding`
//! allows) and `RequestDecompression` (request bodies decoded by their `Content-Encoding`).

use super::{Middleware, Next};
use crate::app::HttpException;
use crate::app::handler::LocalBoxFuture;
use crate::app::response::IntoResponse;
use crate::http::coding::{Coding, Compression};
use crate::http::{Response, StatusCode};
use crate::server::Request;

/// Set on a request once a `Compression` has handled its response, so that an outer one
/// (the app's, around a route's) leaves it alone: the innermost decides.
struct Decided;

/// Compresses responses with gzip, Brotli or Zstandard as the request's `Accept-Encoding`
/// allows (see [`Compression`] for which responses and how), streamed bodies and event
/// streams chunk by chunk with a flush after each chunk, so every event still reaches the
/// client at once.
///
/// Register it on the app (`App::add_middleware(Compression::new())`), a router or a route.
/// The innermost one decides: [`Compression::none()`] on a route opts that route out of the
/// app's, and a route's own levels or codings override the app's.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "compression-gzip")] {
/// use nanoapi::app::{App, Route};
/// use nanoapi::http::coding::{Coding, Compression};
///
/// async fn report() -> String {
///     "a long report, ".repeat(100)
/// }
///
/// let client = App::new()
///     .add_middleware(Compression::new().codings([Coding::Gzip]))
///     .get("/report", report)
///     .route(Route::get("/raw", report).add_middleware(Compression::none()))
///     .test_client();
/// let gzipped = client.get("/report").header("accept-encoding", "gzip").send();
/// assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
/// let raw = client.get("/raw").header("accept-encoding", "gzip").send();
/// assert_eq!(raw.header("content-encoding"), None);
/// assert_eq!(raw.text(), "a long report, ".repeat(100));
/// # }
/// ```
impl Middleware for Compression {
    fn call<'a>(&'a self, req: &'a mut Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        Box::pin(async move {
            let resp = next.run(req).await;
            compress_once(self, req, resp)
        })
    }
}

/// `resp` compressed for `req` by `compression`, unless a `Compression` nearer the handler
/// has decided already.
pub(crate) fn compress_once(
    compression: &Compression,
    req: &mut Request,
    resp: Response,
) -> Response {
    if req.extensions_mut().insert(Decided).is_some() {
        return resp;
    }
    compression.compress(req.header_all("accept-encoding"), resp)
}

/// Decodes request bodies sent with a `Content-Encoding` (gzip, br or zstd, as accepted): the
/// body extractors then read the decoded bytes, and the body limit holds for the decoded
/// size, so a small body that expands without bound (a "decompression bomb") gets 413 once it
/// passes the limit, with the connection closed and no more than the limit held in memory. A
/// body in another coding, or in more than one, gets 415 with an `Accept-Encoding` naming
/// the codings accepted (RFC 9110 §15.5.16). Bodies without the field pass as they are.
///
/// Opt-in: register it on the app, a router or the routes that take compressed bodies.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "compression-gzip")] {
/// use nanoapi::app::{App, RequestDecompression, Route};
/// use nanoapi::http::coding::{Coding, Encoder, Levels};
///
/// async fn upload(body: String) -> String {
///     body
/// }
///
/// let client = App::new()
///     .route(Route::post("/upload", upload).add_middleware(RequestDecompression::new()))
///     .test_client();
/// let gzip = Encoder::encode_all(Coding::Gzip, &Levels::default(), b"hello").unwrap();
/// let sent = client.post("/upload").header("content-encoding", "gzip").body(gzip).send();
/// assert_eq!(sent.text(), "hello");
/// let refused = client.post("/upload").header("content-encoding", "compress").body("x").send();
/// assert_eq!(refused.status(), 415);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RequestDecompression {
    accepted: Vec<Coding>,
    /// `Accept-Encoding` of the 415: the accepted codings, comma-separated.
    accept_encoding: String,
}

impl Default for RequestDecompression {
    fn default() -> RequestDecompression {
        RequestDecompression::new()
    }
}

impl RequestDecompression {
    /// Every coding of the build.
    pub fn new() -> RequestDecompression {
        RequestDecompression::accepting(Coding::available().iter().copied())
    }

    /// Only these codings.
    ///
    /// # Panics
    ///
    /// If this build does not carry one of them (its feature is off).
    pub fn codings(self, codings: impl IntoIterator<Item = Coding>) -> RequestDecompression {
        RequestDecompression::accepting(codings)
    }

    fn accepting(codings: impl IntoIterator<Item = Coding>) -> RequestDecompression {
        let accepted: Vec<Coding> = codings.into_iter().collect();
        for coding in &accepted {
            assert!(
                coding.is_available(),
                "content coding {coding} needs feature compression-{coding}"
            );
        }
        let accept_encoding = accepted
            .iter()
            .map(|coding| coding.token())
            .collect::<Vec<_>>()
            .join(", ");
        RequestDecompression {
            accepted,
            accept_encoding,
        }
    }
}

impl Middleware for RequestDecompression {
    fn call<'a>(&'a self, req: &'a mut Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        Box::pin(async move {
            match req.decode_body(&self.accepted) {
                Ok(_) => next.run(req).await,
                Err(err) => {
                    let accept = if self.accept_encoding.is_empty() {
                        "identity"
                    } else {
                        &self.accept_encoding
                    };
                    HttpException::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, err.to_string())
                        .header("Accept-Encoding", accept.to_owned())
                        .into_response()
                }
            }
        })
    }
}
