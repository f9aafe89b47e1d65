//! `BodyLimit`: a request-body size limit for an app, a router or a route.

use super::{Middleware, Next};
use crate::app::handler::LocalBoxFuture;
use crate::http::Response;
use crate::server::Request;

/// Sets the body limit of the requests it sees (the server's `Limits::max_body` is the
/// default, 2 MiB): a body over it makes the body extractors answer `413 {"detail":"Request
/// body too large"}` (at once when a declared `Content-Length` is over it, before anything
/// is read). It can raise the limit as well as lower it. The innermost `BodyLimit` wins, so
/// a route's overrides its app's.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use nanoapi::app::{App, BodyLimit, Route};
///
/// async fn upload(body: Bytes) -> String { body.len().to_string() }
///
/// let client = App::new()
///     .route(Route::post("/small", upload).add_middleware(BodyLimit::new(4)))
///     .post("/large", upload)
///     .test_client();
/// assert_eq!(client.post("/small").body("12345").send().status(), 413);
/// assert_eq!(client.post("/large").body("12345").send().text(), "5");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    limit: u64,
}

impl BodyLimit {
    /// A limit of `bytes`.
    pub fn new(bytes: u64) -> BodyLimit {
        BodyLimit { limit: bytes }
    }
}

impl Middleware for BodyLimit {
    fn call<'a>(&'a self, req: &'a mut Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        req.set_body_limit(self.limit);
        Box::pin(next.run(req))
    }
}
