//! Middleware: code around every request of an app, a router or a route, in registration
//! order, that can answer early or change the response.
//!
//! Built-ins, one file each: [`Cors`], [`RequestIdMiddleware`], [`AccessLog`], [`Timeout`],
//! [`BodyLimit`]; with a content-coding feature, `Compression` and `RequestDecompression`.

mod access_log;
mod body_end;
mod body_limit;
#[cfg(coding)]
mod compression;
mod cors;
mod request_id;
mod timeout;

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use super::extract::RequestContext;
use super::handler::LocalBoxFuture;
use crate::http::Response;
use crate::server::Request;

pub use access_log::AccessLog;
pub use body_end::{BodyEnd, on_body_end};
pub use body_limit::BodyLimit;
#[cfg(coding)]
pub use compression::RequestDecompression;
#[cfg(coding)]
pub(crate) use compression::compress_once;
pub use cors::Cors;
pub use request_id::{MAX_REQUEST_ID_LEN, RequestId, RequestIdMiddleware};
pub use timeout::Timeout;

/// A middleware: implement it for configurable middleware types; plain async functions
/// `async fn(&mut Request, Next<'_>) -> Response` are registered with
/// [`App::middleware`](super::App::middleware).
pub trait Middleware: Send + Sync + 'static {
    /// Handles `req`, calling `next.run(req)` for the rest of the chain (or not, to answer
    /// early).
    fn call<'a>(&'a self, req: &'a mut Request, next: Next<'a>) -> LocalBoxFuture<'a, Response>;
}

/// An async function as a [`Middleware`], made for an app (router, route) with state `S`: it
/// gets the chain as a [`Next<'_, S>`], whose context holds the state typed.
pub(crate) struct FnMiddleware<F, S> {
    f: F,
    /// Invariant in `S`, as [`Next`].
    state: PhantomData<fn(S) -> S>,
}

impl<F, S> FnMiddleware<F, S> {
    pub(crate) fn new(f: F) -> FnMiddleware<F, S> {
        FnMiddleware {
            f,
            state: PhantomData,
        }
    }
}

impl<F, S> Middleware for FnMiddleware<F, S>
where
    F: for<'a> AsyncFn(&'a mut Request, Next<'a, S>) -> Response + Send + Sync + 'static,
    S: 'static,
{
    fn call<'a>(&'a self, req: &'a mut Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        Box::pin((self.f)(req, next.with_state()))
    }
}

/// What a chain ends in: the router (app middleware) or the handler (route middleware).
pub(crate) trait Inner {
    fn call<'a>(&'a self, req: &'a mut Request) -> LocalBoxFuture<'a, Response>;

    /// What the end of the chain knows about the request: the route's path parameters once
    /// routed, the app's state always.
    fn context(&self) -> RequestContext<'_, dyn Any>;
}

/// The rest of the chain after the current middleware. A middleware function added with
/// `middleware_with_state` ([`App`](super::App::middleware_with_state), router, route) takes a
/// `Next<'_, S>`, whose [`state`](Next::state) and [`context`](Next::context) hold the app's
/// state typed; one added with `middleware`, and [`Middleware`] values, made for any app, take
/// a `Next<'_>` (state `()`).
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, Next};
/// use nanoapi::http::Response;
/// use nanoapi::server::Request;
///
/// async fn powered_by(req: &mut Request, next: Next<'_>) -> Response {
///     let mut resp = next.run(req).await;
///     let _ = resp.headers_mut().append("x-powered-by", "nanoapi");
///     resp
/// }
///
/// let app = App::new().middleware(powered_by);
/// ```
///
/// With state:
///
/// ```
/// use nanoapi::app::{App, Next};
/// use nanoapi::http::Response;
/// use nanoapi::server::Request;
///
/// #[derive(Clone)]
/// struct Settings {
///     name: &'static str,
/// }
///
/// async fn served_by(req: &mut Request, next: Next<'_, Settings>) -> Response {
///     let name = next.state().name;
///     let mut resp = next.run(req).await;
///     let _ = resp.headers_mut().append("x-served-by", name);
///     resp
/// }
///
/// let client = App::new()
///     .with_state(Settings { name: "users-1" })
///     .middleware_with_state(served_by)
///     .get("/", async || "hi")
///     .test_client();
/// assert_eq!(client.get("/").send().header("x-served-by"), Some("users-1"));
/// ```
///
/// A middleware function made for another state than the app's does not compile:
///
/// ```compile_fail,E0631
/// use nanoapi::app::{App, Next};
/// use nanoapi::http::Response;
/// use nanoapi::server::Request;
///
/// async fn needs_text(req: &mut Request, next: Next<'_, String>) -> Response {
///     next.run(req).await
/// }
///
/// let app = App::new().with_state(7u32).middleware_with_state(needs_text);
/// ```
///
/// Nor does a `Next` of the app's state passed on as one of a subtype's:
///
/// ```compile_fail,E0308
/// use std::sync::Arc;
/// use nanoapi::app::Next;
/// use nanoapi::http::Response;
/// use nanoapi::server::Request;
///
/// type Any = Arc<dyn for<'a> Fn(&'a u8) + Send + Sync>;
/// type Static = Arc<dyn Fn(&'static u8) + Send + Sync>;
///
/// async fn helper(req: &mut Request, next: Next<'_, Static>) -> Response {
///     next.run(req).await
/// }
///
/// async fn middleware(req: &mut Request, next: Next<'_, Any>) -> Response {
///     helper(req, next).await
/// }
/// ```
pub struct Next<'a, S = ()> {
    chain: &'a [Arc<dyn Middleware>],
    inner: &'a dyn Inner,
    /// Invariant in `S`: a `Next` of the app's state never passes for one of another type (a
    /// subtype, a higher-ranked function type), whose context would not be the app's.
    state: PhantomData<fn(S) -> S>,
}

impl<S> Clone for Next<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Next<'_, S> {}

impl<'a> Next<'a> {
    pub(crate) fn new(chain: &'a [Arc<dyn Middleware>], inner: &'a dyn Inner) -> Next<'a> {
        Next {
            chain,
            inner,
            state: PhantomData,
        }
    }

    /// The same chain, for a middleware made for state `S`.
    fn with_state<S>(self) -> Next<'a, S> {
        Next {
            chain: self.chain,
            inner: self.inner,
            state: PhantomData,
        }
    }
}

impl<'a, S: 'static> Next<'a, S> {
    /// What the App knows about the request: its state, and in a route's middleware
    /// ([`Route::middleware`](crate::app::Route::middleware), a router's) the route's path
    /// parameters (an app-wide middleware runs before routing and sees none).
    pub fn context(&self) -> RequestContext<'a, S> {
        self.inner.context().typed::<S>()
    }

    /// The app's state (the value of [`App::with_state`](super::App::with_state), or this
    /// worker's of [`App::per_worker`](super::App::per_worker)).
    pub fn state(&self) -> &'a S {
        self.context().state()
    }
}

impl<S> Next<'_, S> {
    /// Runs the rest of the chain on `req`.
    pub async fn run(self, req: &mut Request) -> Response {
        match self.chain.split_first() {
            Some((first, rest)) => first.call(req, Next::new(rest, self.inner)).await,
            None => self.inner.call(req).await,
        }
    }
}

impl<S> fmt::Debug for Next<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next")
            .field("remaining", &self.chain.len())
            .finish_non_exhaustive()
    }
}
