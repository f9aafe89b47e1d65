//! Conversions between nanoapi's requests and responses and the `http` crate's (feature
//! `http-compat`), so code written for tower or axum moves over a piece at a time.
//!
//! | from | to | with |
//! |---|---|---|
//! | `http::Response<B>` | [`Response`] | `From`; and handlers may return it ([`IntoResponse`]) |
//! | [`Response`] | `http::Response<Bytes>` | [`response_to_http`] (async: collects a streamed body) |
//! | [`Request`] | `http::Request<Bytes>` | [`request_to_http`] (async: reads the body); a handler argument ([`FromRequest`]) |
//! | [`Request`]'s head | `http::Request<()>` | [`request_head_to_http`] |
//! | `http::Request<B>` | [`Request`] | [`request_from_http`] |
//!
//! What does not carry over: the fields the encoder writes itself (`Content-Length`,
//! `Transfer-Encoding`, `Trailer`, `Connection`, `Keep-Alive`, `Date`) are dropped from an
//! `http` response, as the server frames every response; `http`'s version and extensions are
//! not kept.
//!
//! # Examples
//!
//! ```
//! use bytes::Bytes;
//! use nanoapi::app::App;
//!
//! async fn legacy(req: http::Request<Bytes>) -> http::Response<Bytes> {
//!     http::Response::builder()
//!         .status(201)
//!         .header("x-method", req.method().as_str())
//!         .body(req.into_body())
//!         .unwrap()
//! }
//!
//! let client = App::new().post("/legacy", legacy).test_client();
//! let resp = client.post("/legacy").body("hello").send();
//! assert_eq!(resp.status(), 201);
//! assert_eq!(resp.header("x-method"), Some("POST"));
//! assert_eq!(resp.text(), "hello");
//! ```

use crate::app::logging::event;
use std::future::poll_fn;

use bytes::{Bytes, BytesMut};

use super::doc::OperationDoc;
use super::{FromRequest, HttpException, IntoResponse, Rejection, RequestContext, body_error};
use crate::http::{Body, HeaderList, Response, StatusCode, Version};
use crate::server::Request;
use crate::{Error, Result};

impl<B: Into<Bytes>> From<http::Response<B>> for Response {
    /// The status, the header fields (less those the encoder writes) and the body.
    fn from(resp: http::Response<B>) -> Response {
        let (parts, body) = resp.into_parts();
        let status = StatusCode::from_u16(parts.status.as_u16())
            .expect("http's status codes are 100 to 999, as ours");
        let mut headers = HeaderList::with_capacity(parts.headers.len());
        for (name, value) in &parts.headers {
            let name = Bytes::copy_from_slice(name.as_str().as_bytes());
            if let Err(err) = headers.append(name, Bytes::copy_from_slice(value.as_bytes())) {
                // `http` validated the field, so only the encoder's own fields end up here.
                event!(debug, error = %err, "http response field dropped");
            }
        }
        Response::from_parts(status, headers, Body::Bytes(body.into()))
    }
}

impl<B: Into<Bytes>> IntoResponse for http::Response<B> {
    fn into_response(self) -> Response {
        Response::from(self)
    }

    fn explicit_status(&self) -> bool {
        true
    }
}

/// The whole request as an `http::Request<Bytes>`: a handler argument that reads the body
/// (413 over the limit, as [`Bytes`]). A head that `http` cannot represent is a 400.
impl<S> FromRequest<S> for http::Request<Bytes> {
    async fn from_request(
        req: &mut Request,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        let head = request_head_to_http(req).map_err(|err| {
            event!(debug, error = %err, "request head not representable as http::Request");
            Rejection::from(HttpException::new(StatusCode::BAD_REQUEST, "Bad Request"))
        })?;
        let body = req.read_to_end().await.map_err(body_error)?;
        Ok(head.map(|()| body))
    }

    fn describe(doc: &mut OperationDoc) {
        <Bytes as FromRequest<S>>::describe(doc);
    }
}

/// `resp` as an `http::Response<Bytes>`, a streamed body collected.
///
/// # Errors
///
/// The error a streamed body ended with.
///
/// # Examples
///
/// ```
/// use nanoapi::http::{Response, StatusCode};
///
/// let resp = Response::text(StatusCode::CREATED, "made").header("x-id", "7")?;
/// let resp = nanoapi::executor::block_on(nanoapi::app::compat::response_to_http(resp))?;
/// assert_eq!(resp.status(), 201);
/// assert_eq!(resp.headers()["x-id"], "7");
/// assert_eq!(resp.body(), "made");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn response_to_http(resp: Response) -> Result<http::Response<Bytes>> {
    let (status, headers, body) = resp.into_parts();
    let body = match body.into_bytes() {
        Ok(bytes) => bytes,
        Err(Body::Stream(mut stream) | Body::SizedStream { mut stream, .. }) => {
            let mut all = BytesMut::new();
            while let Some(chunk) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
                all.extend_from_slice(&chunk.map_err(Error::new)?);
            }
            all.freeze()
        }
        Err(_) => unreachable!("into_bytes hands back only streams"),
    };
    let mut builder = http::Response::builder().status(status.as_u16());
    for (name, value) in &headers {
        builder = builder.header(name, value);
    }
    // A HeaderList holds only fields `http` accepts, and the status is in range.
    builder.body(body).map_err(Error::new)
}

/// The request's head as an `http::Request<()>`: method, target, version and header fields.
///
/// # Errors
///
/// 400 if `http` refuses a part the server's parser accepted.
pub fn request_head_to_http(req: &Request) -> Result<http::Request<()>> {
    let version = match req.version() {
        Version::Http10 => http::Version::HTTP_10,
        Version::Http11 => http::Version::HTTP_11,
    };
    let mut builder = http::Request::builder()
        .method(req.method_bytes())
        .uri(req.target())
        .version(version);
    for (name, value) in req.headers() {
        builder = builder.header(name, value);
    }
    builder
        .body(())
        .map_err(|err| Error::with_status(StatusCode::BAD_REQUEST, err))
}

/// The whole request as an `http::Request<Bytes>`, reading the body (up to its limit).
///
/// # Errors
///
/// As [`request_head_to_http`], and the body errors of [`Request::read_to_end`].
///
/// # Examples
///
/// ```
/// use nanoapi::app::compat::request_to_http;
/// use nanoapi::server::Request;
///
/// let mut req = Request::from_parts("POST", "/items?limit=5", &[("X-Token", "t")], "hi")?;
/// let req = nanoapi::executor::block_on(request_to_http(&mut req))?;
/// assert_eq!(req.method(), http::Method::POST);
/// assert_eq!(req.uri(), "/items?limit=5");
/// assert_eq!(req.headers()["x-token"], "t");
/// assert_eq!(req.body(), "hi");
/// # Ok::<(), nanoapi::Error>(())
/// ```
pub async fn request_to_http(req: &mut Request) -> Result<http::Request<Bytes>> {
    let head = request_head_to_http(req)?;
    let body = req.read_to_end().await?;
    Ok(head.map(|()| body))
}

/// A nanoapi [`Request`] from an `http` one (for tests and adapters), through the server's own
/// parser. The target is the URI's path and query; without a `Host` field, the URI's
/// authority becomes one (else `localhost`). `Content-Length` is set from the body, and any
/// `Transfer-Encoding` dropped: the body is already whole.
///
/// # Errors
///
/// 400 for a header value that is not UTF-8, and what the parser refuses, with its status.
///
/// # Examples
///
/// ```
/// use nanoapi::app::compat::request_from_http;
///
/// let req = http::Request::post("http://api.example/items?x=1").body("hi")?;
/// let req = request_from_http(req)?;
/// assert_eq!(req.path(), b"/items");
/// assert_eq!(req.header("host"), Some(&b"api.example"[..]));
/// assert_eq!(req.content_length(), Some(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn request_from_http<B: Into<Bytes>>(req: http::Request<B>) -> Result<Request> {
    let (parts, body) = req.into_parts();
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut fields: Vec<(&str, &str)> = Vec::with_capacity(parts.headers.len() + 1);
    for (name, value) in &parts.headers {
        if name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING {
            continue;
        }
        let value = value
            .to_str()
            .map_err(|err| Error::with_status(StatusCode::BAD_REQUEST, err))?;
        fields.push((name.as_str(), value));
    }
    if !parts.headers.contains_key(http::header::HOST)
        && let Some(authority) = parts.uri.authority()
    {
        fields.push(("host", authority.as_str()));
    }
    Request::from_parts(parts.method.as_str(), target, &fields, body)
}
