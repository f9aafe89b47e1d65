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

use std::fmt;
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

/// An async function as a [`Middleware`].
pub(crate) struct FnMiddleware<F>(pub F);

impl<F> Middleware for FnMiddleware<F>
where
    F: for<'a> AsyncFn(&'a mut Request, Next<'a>) -> Response + Send + Sync + 'static,
{
    fn call<'a>(&'a self, req: &'a mut Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        Box::pin((self.0)(req, next))
    }
}

/// What a chain ends in: the router (app middleware) or the handler (route middleware).
pub(crate) trait Inner {
    fn call<'a>(&'a self, req: &'a mut Request) -> LocalBoxFuture<'a, Response>;

    /// What the end of the chain knows about the request: the route's path parameters once
    /// routed, the app's state always.
    fn context(&self) -> RequestContext<'_>;
}

/// The rest of the chain after the current middleware.
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
#[derive(Clone, Copy)]
pub struct Next<'a> {
    chain: &'a [Arc<dyn Middleware>],
    inner: &'a dyn Inner,
}

impl<'a> Next<'a> {
    pub(crate) fn new(chain: &'a [Arc<dyn Middleware>], inner: &'a dyn Inner) -> Next<'a> {
        Next { chain, inner }
    }

    /// In a route's middleware ([`Route::middleware`](crate::app::Route::middleware), a
    /// router's), the route's path parameters; an app-wide middleware runs before routing and
    /// sees none. Middleware is not typed by the app's state, so the context's state is `()`:
    /// a middleware that needs the state holds its own handle to it.
    pub fn context(&self) -> RequestContext<'a> {
        self.inner.context()
    }

    /// Runs the rest of the chain on `req`.
    pub async fn run(self, req: &mut Request) -> Response {
        match self.chain.split_first() {
            Some((first, rest)) => {
                first
                    .call(
                        req,
                        Next {
                            chain: rest,
                            inner: self.inner,
                        },
                    )
                    .await
            }
            None => self.inner.call(req).await,
        }
    }
}

impl fmt::Debug for Next<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next")
            .field("remaining", &self.chain.len())
            .finish_non_exhaustive()
    }
}
