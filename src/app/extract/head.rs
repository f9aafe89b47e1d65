//! Head extractors of the request as a whole: its head owned ([`RequestHead`], [`HeaderMap`]),
//! the app's state ([`State`]) and what middleware attached ([`Extension`]).

use crate::app::logging::event;
use std::net::SocketAddr;

use bytes::Bytes;

use super::text_pairs::{TextPairs, TextPairsBuilder, text};
use super::{FromRef, FromRequestParts, Rejection, RequestContext, RequestParts};
use crate::app::response::HttpException;
use crate::http::Version;

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
    /// The client's address (the socket's peer; see [`ClientAddr`](super::ClientAddr) behind proxies).
    pub peer: Option<SocketAddr>,
}

impl<S> FromRequestParts<S> for RequestHead {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Ok(RequestHead {
            method: lossy(req.method_bytes()),
            target: lossy(req.target()),
            path: lossy(req.path()),
            query: req.query().map(lossy),
            version: req.version(),
            headers: HeaderMap::from_request_parts(req, cx).await?,
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
    /// Extracted from a request: spans into its head, shared rather than copied.
    fields: TextPairs,
}

impl HeaderMap {
    /// A map of these fields.
    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> HeaderMap {
        let pairs = pairs.into_iter();
        let mut fields = TextPairsBuilder::new(Bytes::new(), pairs.size_hint().0);
        for (name, value) in pairs {
            fields.push(name.as_ref(), value.as_ref());
        }
        HeaderMap {
            fields: fields.finish(),
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.first(name, true)
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields.values(name, true)
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter()
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.len() == 0
    }
}

impl<S> FromRequestParts<S> for HeaderMap {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        let mut fields = TextPairsBuilder::new(req.head_bytes().clone(), req.headers().count());
        for (name, value) in req.headers() {
            fields.push(&text(name), &text(value));
        }
        Ok(HeaderMap {
            fields: fields.finish(),
        })
    }
}

/// A part of the app's state ([`App::with_state`](crate::app::App::with_state), or this
/// worker's, [`App::per_worker`](crate::app::App::per_worker)), taken with [`FromRef`]: the
/// whole state (cloned: wrap large state in an `Arc`) or a field of it. A handler that asks
/// for state the app does not have does not compile.
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
/// let client = App::new()
///     .with_state(Arc::new(Db { name: "main".into() }))
///     .get("/db", db_name)
///     .test_client();
/// assert_eq!(client.get("/db").send().text(), "main");
/// ```
///
/// State built on each worker, which need not be `Send`: a cache per core, no lock.
///
/// ```
/// use std::cell::RefCell;
/// use std::collections::HashMap;
/// use std::rc::Rc;
/// use nanoapi::app::{App, Path, State};
///
/// type Cache = Rc<RefCell<HashMap<u64, String>>>;
///
/// async fn user(Path(id): Path<u64>, State(cache): State<Cache>) -> String {
///     cache.borrow_mut().entry(id).or_insert_with(|| format!("user {id}")).clone()
/// }
///
/// let client = App::new()
///     .per_worker(|_worker| Cache::default())
///     .get("/users/{id}", user)
///     .test_client();
/// assert_eq!(client.get("/users/7").send().text(), "user 7");
/// ```
///
/// An app without that state refuses the handler at compile time:
///
/// ```compile_fail,E0277
/// use std::sync::Arc;
/// use nanoapi::app::{App, State};
///
/// async fn db_name(State(db): State<Arc<String>>) -> String {
///     db.to_string()
/// }
///
/// let app = App::new().get("/db", db_name);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

impl<S, T: FromRef<S>> FromRequestParts<S> for State<T> {
    async fn from_request_parts(
        _req: &mut RequestParts<'_>,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        Ok(State(T::from_ref(cx.state)))
    }
}

/// A value a middleware attached to the request (see
/// [`Request::extensions_mut`](crate::server::Request::extensions_mut)), cloned.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extension<T>(pub T);

impl<S, T: Clone + 'static> FromRequestParts<S> for Extension<T> {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        match req.extensions().get::<T>() {
            Some(value) => Ok(Extension(value.clone())),
            None => {
                event!(
                    error,
                    extension = std::any::type_name::<T>(),
                    "a handler asks for a request extension no middleware set"
                );
                Err(HttpException::internal_server_error().into())
            }
        }
    }
}
