//! Extractors: the typed arguments of a handler, built from the request.
//!
//! Two kinds, told apart by their trait so that the rule is the compiler's: head extractors
//! ([`FromRequestParts`]: path, query, headers, state, ...) read the request without its body and
//! may stand anywhere; a body extractor ([`FromRequest`]: `Json`, `Form`, `String`, ...) consumes
//! the body and may only be a handler's last argument.
//!
//! Every extractor of a handler runs (in argument order) before the handler is called, and the
//! validation failures of all of them are reported together in one 422, as FastAPI does.

mod body;
mod client;
mod head;
mod multipart;
mod optional;
pub(crate) mod params;
pub(crate) mod text_pairs;

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::future::Future;
use std::ops::Deref;

pub use body::{Form, body_error};
pub use client::{ClientAddr, TrustedProxies};
pub use head::{Extension, HeaderMap, RequestHead, State};
pub use multipart::{Field, Multipart, MultipartError, MultipartLimits};
pub(crate) use params::decode_path_param;
pub use params::{Cookie, Cookies, Header, Path, Query};

use super::doc::OperationDoc;
use super::response::{HttpException, IntoResponse};
use super::validation::{ErrorItem, ValidationError};
use crate::http::Response;
use crate::server::{Extensions, Request};

/// What the App knows about the request beyond the request itself: the path parameters the
/// router captured, the app's state `S` ([`App::with_state`](super::App::with_state),
/// [`App::per_worker`](super::App::per_worker)) and its settings.
pub struct RequestContext<'a, S: ?Sized = ()> {
    pub(crate) params: &'a [(Cow<'a, str>, Cow<'a, str>)],
    pub(crate) state: &'a S,
    pub(crate) proxies: &'a TrustedProxies,
    pub(crate) multipart: &'a MultipartLimits,
    /// The route's status for the `200 OK` answers of values that leave it
    /// ([`Route::status`](super::Route::status)).
    pub(crate) status: Option<crate::http::StatusCode>,
}

impl<S: ?Sized> Clone for RequestContext<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: ?Sized> Copy for RequestContext<'_, S> {}

impl<S: ?Sized> std::fmt::Debug for RequestContext<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("params", &self.params)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl<'a, S: ?Sized> RequestContext<'a, S> {
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

    /// The app's state (the value of [`App::with_state`](super::App::with_state), or this
    /// worker's of [`App::per_worker`](super::App::per_worker)), for extractors that need it
    /// (a database pool, a token store). Handlers take parts of it with [`State<T>`].
    pub fn state(&self) -> &'a S {
        self.state
    }

    /// The same context with another state.
    pub(crate) fn with_state<T: ?Sized>(&self, state: &'a T) -> RequestContext<'a, T> {
        RequestContext {
            params: self.params,
            state,
            proxies: self.proxies,
            multipart: self.multipart,
            status: self.status,
        }
    }
}

impl<'a> RequestContext<'a, dyn Any> {
    /// The context as a route made for state `S` sees it: the app's state, which has type `S`
    /// (`App<S>` only takes such routes), or `()` for a route that needs none (the routes of
    /// extensions, made for any app).
    pub(crate) fn typed<S: 'static>(&self) -> RequestContext<'a, S> {
        let unit: &'static dyn Any = &();
        // Known when compiled: a route without state never looks at the app's.
        let state = match TypeId::of::<S>() == TypeId::of::<()>() {
            true => unit.downcast_ref::<S>(),
            false => self.state.downcast_ref::<S>(),
        };
        self.with_state(state.expect("an App<S> holds routes made for S or for ()"))
    }
}

/// How a handler's [`State<T>`] is taken from the app's state `S`: the whole of it (every
/// `Clone` type is its own part), or a field of it. With feature `macros`,
/// `#[derive(FromRef)]` on the state struct writes one such impl per field.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use nanoapi::app::{App, FromRef, State};
///
/// #[derive(Clone)]
/// struct AppState {
///     db: Db,
///     name: Arc<str>,
/// }
///
/// #[derive(Clone)]
/// struct Db(Arc<Vec<String>>);
///
/// impl FromRef<AppState> for Db {
///     fn from_ref(state: &AppState) -> Db {
///         state.db.clone()
///     }
/// }
///
/// async fn count(State(db): State<Db>) -> String {
///     db.0.len().to_string()
/// }
///
/// async fn name(State(state): State<AppState>) -> String {
///     state.name.to_string()
/// }
///
/// let state = AppState { db: Db(Arc::new(vec!["ada".into()])), name: "users".into() };
/// let client = App::new().with_state(state).get("/count", count).get("/name", name).test_client();
/// assert_eq!(client.get("/count").send().text(), "1");
/// assert_eq!(client.get("/name").send().text(), "users");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the app's state `{S}` nor a part of it",
    label = "a handler of an app with state `{S}` asks for `{Self}`",
    note = "give the app this state (`App::with_state`, `App::per_worker`) before adding the route, or implement `FromRef<{S}>` for `{Self}`"
)]
pub trait FromRef<S> {
    /// The part of `state`.
    fn from_ref(state: &S) -> Self;
}

impl<T: Clone> FromRef<T> for T {
    fn from_ref(state: &T) -> T {
        state.clone()
    }
}

/// Why an extractor gave no value.
#[derive(Debug)]
pub enum Rejection {
    /// Input failed validation: reported with every other extractor's failures in one 422.
    Invalid(Vec<ErrorItem>),
    /// Answer with this response at once (415, 413, 403, ...).
    Response(Response),
    /// What the extractor reads is absent (no credentials: a 401 "Not authenticated"): answered
    /// with this response, unless the extractor is optional (`Option<T>` gives `None`).
    Missing(Response),
}

impl Rejection {
    /// Whether the input is absent rather than malformed: a [`Missing`](Rejection::Missing)
    /// rejection, or validation errors that are all `missing` (no body, no such parameter).
    /// `Option<T>` turns exactly these into `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::app::{ErrorItem, Rejection};
    ///
    /// let absent = Rejection::Invalid(vec![ErrorItem::missing(vec!["query".into(), "q".into()])]);
    /// assert!(absent.is_missing());
    /// let bad = Rejection::Invalid(vec![ErrorItem::new(
    ///     "int_parsing", vec!["query".into(), "q".into()], "Input should be a valid integer", "x".into(),
    /// )]);
    /// assert!(!bad.is_missing());
    /// ```
    pub fn is_missing(&self) -> bool {
        match self {
            Rejection::Missing(_) => true,
            Rejection::Invalid(items) => {
                !items.is_empty() && items.iter().all(|item| item.kind == "missing")
            }
            Rejection::Response(_) => false,
        }
    }
}

/// A rejection as the answer the handler would have given: a 422 of its validation errors, or
/// its response (for handlers that take `Result<T, Rejection>` and pass some on).
impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::Invalid(items) => ValidationError::new(items).into_response(),
            Rejection::Response(resp) | Rejection::Missing(resp) => resp,
        }
    }
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

/// The request without its body: what a head extractor ([`FromRequestParts`]) sees. It reads
/// as a [`Request`] (method, path, headers, addresses, extensions) and can attach extensions,
/// but it cannot read the body, which belongs to the handler's last argument.
pub struct RequestParts<'a> {
    req: &'a mut Request,
}

impl<'a> RequestParts<'a> {
    /// The head of `req`.
    pub fn new(req: &'a mut Request) -> RequestParts<'a> {
        RequestParts { req }
    }

    /// The whole request again, body included: for the handler's last argument.
    pub(crate) fn into_request(self) -> &'a mut Request {
        self.req
    }

    /// The request's extensions, to attach a value for later extractors, the handler or
    /// middleware (see [`Request::extensions_mut`]).
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        self.req.extensions_mut()
    }
}

impl Deref for RequestParts<'_> {
    type Target = Request;

    fn deref(&self) -> &Request {
        self.req
    }
}

impl std::fmt::Debug for RequestParts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.req, f)
    }
}

/// A handler argument built from the request's head: any argument of a handler may be one.
/// `S` is the app's state type ([`App<S>`](super::App)); an extractor that does not read the
/// state implements it for every `S`.
///
/// Implement it for your own types to extract them (an authenticated user from a header, an
/// API version); it may run other head extractors (FastAPI's `Depends`).
///
/// # Examples
///
/// ```
/// use nanoapi::app::{FromRequestParts, HttpException, Rejection, RequestContext, RequestParts};
/// use nanoapi::http::StatusCode;
///
/// struct ApiVersion(u8);
///
/// impl<S> FromRequestParts<S> for ApiVersion {
///     async fn from_request_parts(
///         req: &mut RequestParts<'_>,
///         _cx: &RequestContext<'_, S>,
///     ) -> Result<Self, Rejection> {
///         match req.header("x-api-version") {
///             Some(b"2") => Ok(ApiVersion(2)),
///             None | Some(b"1") => Ok(ApiVersion(1)),
///             Some(_) => Err(HttpException::new(StatusCode::BAD_REQUEST, "unknown API version").into()),
///         }
///     }
/// }
/// ```
///
/// A dependency that uses another extractor and the app's state, checking a token against the
/// users in a "database"; it works in any app whose state holds the users (`Users: FromRef<S>`):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Arc;
/// use nanoapi::app::{
///     App, FromRef, FromRequestParts, HttpException, OperationDoc, Query, Rejection,
///     RequestContext, RequestParts,
/// };
/// use nanoapi::http::StatusCode;
///
/// #[derive(Clone)]
/// struct Users(Arc<HashMap<String, String>>);
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Token {
///     token: String,
/// }
///
/// struct CurrentUser(String);
///
/// impl<S> FromRequestParts<S> for CurrentUser
/// where
///     Users: FromRef<S>,
/// {
///     async fn from_request_parts(
///         req: &mut RequestParts<'_>,
///         cx: &RequestContext<'_, S>,
///     ) -> Result<Self, Rejection> {
///         let Query(Token { token }) = Query::from_request_parts(req, cx).await?;
///         let users = Users::from_ref(cx.state());
///         match users.0.get(&token) {
///             Some(name) => Ok(CurrentUser(name.clone())),
///             None => Err(HttpException::new(StatusCode::UNAUTHORIZED, "unknown token").into()),
///         }
///     }
///
///     fn describe(doc: &mut OperationDoc) {
///         <Query<Token> as FromRequestParts<S>>::describe(doc);
///     }
/// }
///
/// async fn me(CurrentUser(name): CurrentUser) -> String {
///     name
/// }
///
/// let users = Users(Arc::new(HashMap::from([("t-ada".into(), "ada".into())])));
/// let client = App::new().with_state(users).get("/me", me).test_client();
/// assert_eq!(client.get("/me?token=t-ada").send().text(), "ada");
/// assert_eq!(client.get("/me?token=nope").send().status(), 401);
/// ```
///
/// A head extractor cannot read the body; this does not compile:
///
/// ```compile_fail,E0596
/// use nanoapi::app::{FromRequestParts, Rejection, RequestContext, RequestParts};
///
/// struct Sneaky(bytes::Bytes);
///
/// impl<S> FromRequestParts<S> for Sneaky {
///     async fn from_request_parts(
///         req: &mut RequestParts<'_>,
///         _cx: &RequestContext<'_, S>,
///     ) -> Result<Self, Rejection> {
///         Ok(Sneaky(req.read_to_end().await.unwrap()))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a head extractor (of an app with state `{S}`): only a handler's last argument may read the body",
    note = "arguments before the last implement `FromRequestParts` (`Path<T>`, `Query<T>`, `Header<T>`, `Cookie<T>`, `State<T>`, ...); body extractors (`Json<T>`, `Form<T>`, `String`, `Bytes`, `Multipart`) go last",
    note = "`State<T>` needs `T: FromRef<{S}>`: the app's state (`App::with_state`) or a part of it"
)]
pub trait FromRequestParts<S>: Sized {
    /// Builds the value from the head.
    fn from_request_parts(
        req: &mut RequestParts<'_>,
        cx: &RequestContext<'_, S>,
    ) -> impl Future<Output = Result<Self, Rejection>>;

    /// Describes what this extractor reads, for the OpenAPI document.
    fn describe(_doc: &mut OperationDoc) {}
}

/// Which way a type is a [`FromRequest`]: the parameter that lets every head extractor be a
/// last argument too, without overlapping the body extractors' own implementations.
pub mod via {
    /// Through [`FromRequestParts`](super::FromRequestParts).
    #[derive(Debug)]
    pub enum Parts {}
    /// By reading the body: the default of [`FromRequest`](super::FromRequest).
    #[derive(Debug)]
    pub enum Body {}
}

/// A handler's last argument: it may consume the body (`Json<T>`, `Form<T>`, `String`,
/// `Bytes`, `Multipart`, `RequestBody`). Every head extractor is one too. `S` is the app's
/// state type, as for [`FromRequestParts`].
///
/// Only the last argument may read the body; a body extractor elsewhere does not compile:
///
/// ```compile_fail,E0277
/// use nanoapi::app::{App, Json};
///
/// async fn both(Json(a): Json<u32>, body: String) -> String {
///     format!("{a} {body}")
/// }
///
/// let app = App::new().post("/", both);
/// ```
///
/// # Examples
///
/// ```
/// use nanoapi::app::{FromRequest, Rejection, RequestContext};
/// use nanoapi::server::Request;
///
/// /// The body's lines.
/// struct Lines(Vec<String>);
///
/// impl<S> FromRequest<S> for Lines {
///     async fn from_request(req: &mut Request, cx: &RequestContext<'_, S>) -> Result<Self, Rejection> {
///         let text = String::from_request(req, cx).await?;
///         Ok(Lines(text.lines().map(str::to_owned).collect()))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor (of an app with state `{S}`): it cannot be a handler argument",
    note = "handler arguments implement `FromRequestParts` (`Path<T>`, `Query<T>`, `Header<T>`, `State<T>`, ...) or, last, `FromRequest` (`Json<T>`, `Form<T>`, `String`, ...): types of `nanoapi::app`",
    note = "`State<T>` needs `T: FromRef<{S}>`: the app's state (`App::with_state`) or a part of it"
)]
pub trait FromRequest<S, M = via::Body>: Sized {
    /// Builds the value; it may read the body.
    fn from_request(
        req: &mut Request,
        cx: &RequestContext<'_, S>,
    ) -> impl Future<Output = Result<Self, Rejection>>;

    /// Describes what this extractor reads, for the OpenAPI document.
    fn describe(_doc: &mut OperationDoc) {}
}

impl<S, T: FromRequestParts<S>> FromRequest<S, via::Parts> for T {
    async fn from_request(
        req: &mut Request,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        T::from_request_parts(&mut RequestParts::new(req), cx).await
    }

    fn describe(doc: &mut OperationDoc) {
        <T as FromRequestParts<S>>::describe(doc);
    }
}
