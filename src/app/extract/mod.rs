//! Extractors: the typed arguments of a handler, built from the request.
//!
//! Every extractor of a handler runs (in argument order) before the handler is called, and the
//! validation failures of all of them are reported together in one 422, as FastAPI does.

mod body;
mod client;
mod multipart;
mod params;

use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;

pub use body::{Form, body_error};
pub use client::{ClientAddr, TrustedProxies};
pub use multipart::{Field, Multipart, MultipartError, MultipartLimits};
pub(crate) use params::decode_path_param;
#[cfg(feature = "openapi")]
pub(crate) use params::parse_urlencoded;
pub use params::{Cookie, Cookies, Header, Path, Query};

use super::doc::{OperationDoc, StateNeed};
use super::response::{HttpException, IntoResponse};
use super::state::StateMap;
use super::validation::ErrorItem;
use crate::http::{Response, Version};
use crate::server::{Request, RequestBody};

/// What the App knows about the request beyond the request itself: the path parameters the
/// router captured and the app's shared state.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    pub(crate) params: &'a [(Cow<'a, str>, Cow<'a, str>)],
    pub(crate) state: &'a StateMap,
    pub(crate) proxies: &'a TrustedProxies,
}

impl<'a> RequestContext<'a> {
    /// The path parameters, decoded, in pattern order.
    pub fn params(&self) -> &'a [(Cow<'a, str>, Cow<'a, str>)] {
        self.params
    }

    /// The path parameter `name`, decoded.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_ref())
    }

    /// The app's state of type `T` ([`App::state`](super::App::state)), for extractors and
    /// security checks that need it (a database pool, a token store). An extractor that reads
    /// state should declare it in its `describe` (call `State::<T>::describe(doc)`), so that
    /// `App::build` refuses an app that lacks it.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&'a T> {
        self.state.get::<T>()
    }
}

/// Why an extractor gave no value.
#[derive(Debug)]
pub enum Rejection {
    /// Input failed validation: reported with every other extractor's failures in one 422.
    Invalid(Vec<ErrorItem>),
    /// Answer with this response at once (415, 413, 401, ...).
    Response(Response),
}

impl From<HttpException> for Rejection {
    fn from(err: HttpException) -> Rejection {
        Rejection::Response(err.into_response())
    }
}

impl From<Response> for Rejection {
    fn from(resp: Response) -> Rejection {
        Rejection::Response(resp)
    }
}

/// A handler argument built from the request.
///
/// Implement it for your own types to extract them (an authenticated user from a header, say).
///
/// # Examples
///
/// ```
/// use nanoapi::app::{FromRequest, HttpException, Rejection, RequestContext};
/// use nanoapi::http::StatusCode;
/// use nanoapi::server::Request;
///
/// struct ApiVersion(u8);
///
/// impl FromRequest for ApiVersion {
///     async fn from_request(req: &mut Request, _cx: &RequestContext<'_>) -> Result<Self, Rejection> {
///         match req.header("x-api-version") {
///             Some(b"2") => Ok(ApiVersion(2)),
///             None | Some(b"1") => Ok(ApiVersion(1)),
///             Some(_) => Err(HttpException::new(StatusCode::BAD_REQUEST, "unknown API version").into()),
///         }
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor: it cannot be a handler argument",
    note = "handler arguments implement `FromRequest`: `Path<T>`, `Query<T>`, `Json<T>`, `Form<T>`, `Header<T>`, `State<T>`, ... (types of `nanoapi::app`)"
)]
pub trait FromRequest: Sized {
    /// Builds the value (it may read the body: at most one argument of a handler should).
    fn from_request(
        req: &mut Request,
        cx: &RequestContext<'_>,
    ) -> impl Future<Output = Result<Self, Rejection>>;

    /// Describes what this extractor reads, for the OpenAPI document.
    fn describe(_doc: &mut OperationDoc) {}
}

impl FromRequest for Bytes {
    async fn from_request(req: &mut Request, _cx: &RequestContext<'_>) -> Result<Self, Rejection> {
        req.read_to_end().await.map_err(body_error)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.body = Some(super::doc::BodyDoc {
            content_type: "application/octet-stream",
            schema: None,
            required: false,
        });
    }
}

impl FromRequest for String {
    async fn from_request(req: &mut Request, _cx: &RequestContext<'_>) -> Result<Self, Rejection> {
        let bytes = req.read_to_end().await.map_err(body_error)?;
        String::from_utf8(bytes.into()).map_err(|_| {
            let msg =
                "Input should be a valid string, unable to parse raw data as a unicode string";
            Rejection::Invalid(vec![ErrorItem::new(
                "string_unicode",
                vec!["body".into()],
                msg,
                serde_json::Value::Null,
            )])
        })
    }

    fn describe(doc: &mut OperationDoc) {
        doc.body = Some(super::doc::BodyDoc {
            content_type: "text/plain",
            schema: None,
            required: false,
        });
    }
}

/// The body, streamed: read it chunk by chunk inside the handler.
impl FromRequest for RequestBody {
    async fn from_request(req: &mut Request, _cx: &RequestContext<'_>) -> Result<Self, Rejection> {
        Ok(req.take_body())
    }
}

/// The request's head, owned: method, target, path, query, version and headers.
///
/// # Examples
///
/// ```
/// use nanoapi::app::RequestHead;
///
/// async fn handler(head: RequestHead) -> String {
///     format!("{} {}", head.method, head.path)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// The method.
    pub method: String,
    /// The raw request target.
    pub target: String,
    /// The path, not decoded.
    pub path: String,
    /// The raw query, if any.
    pub query: Option<String>,
    /// The protocol version.
    pub version: Version,
    /// The header fields, in order.
    pub headers: HeaderMap,
    /// The client's address (the socket's peer; see [`ClientAddr`] behind proxies).
    pub peer: Option<SocketAddr>,
}

impl FromRequest for RequestHead {
    async fn from_request(req: &mut Request, cx: &RequestContext<'_>) -> Result<Self, Rejection> {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Ok(RequestHead {
            method: lossy(req.method_bytes()),
            target: lossy(req.target()),
            path: lossy(req.path()),
            query: req.query().map(lossy),
            version: req.version(),
            headers: HeaderMap::from_request(req, cx).await?,
            peer: req.peer_addr(),
        })
    }
}

/// The request's header fields, owned, in order, duplicates kept; lookups ignore case.
///
/// # Examples
///
/// ```
/// use nanoapi::app::HeaderMap;
///
/// let headers = HeaderMap::from_pairs([("Accept", "text/html"), ("X-Tag", "a"), ("x-tag", "b")]);
/// assert_eq!(headers.get("accept"), Some("text/html"));
/// assert_eq!(headers.get_all("X-TAG").collect::<Vec<_>>(), ["a", "b"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderMap {
    fields: Vec<(String, String)>,
}

impl HeaderMap {
    /// A map of these fields.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> HeaderMap {
        HeaderMap {
            fields: pairs
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl FromRequest for HeaderMap {
    async fn from_request(req: &mut Request, _cx: &RequestContext<'_>) -> Result<Self, Rejection> {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Ok(HeaderMap {
            fields: req.headers().map(|(n, v)| (lossy(n), lossy(v))).collect(),
        })
    }
}

/// App state registered with [`App::state`](super::App::state): a clone of it per request
/// (wrap large state in an `Arc`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use nanoapi::app::{App, State};
///
/// struct Db { name: String }
///
/// async fn db_name(State(db): State<Arc<Db>>) -> String {
///     db.name.clone()
/// }
///
/// let app = App::new().state(Arc::new(Db { name: "main".into() })).get("/db", db_name);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromRequest for State<T> {
    async fn from_request(_req: &mut Request, cx: &RequestContext<'_>) -> Result<Self, Rejection> {
        cx.state::<T>()
            .cloned()
            .map(State)
            .ok_or_else(|| missing_state::<T>().into())
    }

    fn describe(doc: &mut OperationDoc) {
        doc.states.push(StateNeed {
            type_id: std::any::TypeId::of::<T>(),
            name: std::any::type_name::<T>(),
        });
    }
}

/// The answer to a request whose handler extracts state the app does not have: `App::build`
/// refuses such handlers, so only an extractor that looks state up by hand
/// ([`RequestContext::state`]) without declaring it meets this.
fn missing_state<T>() -> HttpException {
    tracing::error!(
        state = std::any::type_name::<T>(),
        "a handler asks for state the app was never given (App::state)"
    );
    HttpException::internal_server_error()
}

/// A value a middleware attached to the request (see
/// [`Request::extensions_mut`](crate::server::Request::extensions_mut)), cloned.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extension<T>(pub T);

impl<T: Clone + 'static> FromRequest for Extension<T> {
    async fn from_request(req: &mut Request, _cx: &RequestContext<'_>) -> Result<Self, Rejection> {
        match req.extensions().get::<T>() {
            Some(value) => Ok(Extension(value.clone())),
            None => {
                tracing::error!(
                    extension = std::any::type_name::<T>(),
                    "a handler asks for a request extension no middleware set"
                );
                Err(HttpException::internal_server_error().into())
            }
        }
    }
}

/// An optional extractor: `None` where the inner one would reject.
impl<T: FromRequest> FromRequest for Option<T> {
    async fn from_request(req: &mut Request, cx: &RequestContext<'_>) -> Result<Self, Rejection> {
        Ok(T::from_request(req, cx).await.ok())
    }

    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
    }
}
