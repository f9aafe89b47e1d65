//! `AccessLog`: one `tracing` event per request.

use std::time::Instant;

use super::{Middleware, Next, RequestId};
use crate::app::handler::LocalBoxFuture;
use crate::http::Response;
use crate::server::Request;

/// Logs one event per request at `INFO` under the target `nanoapi::access`, with the fields
/// `method`, `path` (without the query, which may carry secrets), `status`, `duration_us` (to
/// the response head: a streamed body is still being sent), `bytes` (the body's length, when
/// it is in memory), `request_id` (when a [`RequestIdMiddleware`](crate::app::RequestIdMiddleware)
/// runs outside this one, or inside it: the id is read after the response) and `client` (the
/// peer address, when there is a socket).
///
/// A request whose future is dropped before its response logs nothing: add `AccessLog` before
/// (outside) a [`Timeout`](crate::app::Timeout) to log the 504s. Nothing is formatted unless a
/// subscriber takes the event.
///
/// # Examples
///
/// ```
/// use nanoapi::app::{AccessLog, App, RequestIdMiddleware};
///
/// async fn index() -> &'static str { "hi" }
///
/// let app = App::new()
///     .add_middleware(RequestIdMiddleware::new())
///     .add_middleware(AccessLog::new())
///     .get("/", index);
/// assert_eq!(app.test_client().get("/").send().status(), 200);
/// ```
#[derive(Debug, Clone, Default)]
pub struct AccessLog {
    _private: (),
}

impl AccessLog {
    /// The access log middleware.
    pub fn new() -> AccessLog {
        AccessLog::default()
    }
}

impl Middleware for AccessLog {
    fn call<'a>(&'a self, req: &'a mut Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        Box::pin(async move {
            let start = Instant::now();
            let resp = next.run(req).await;
            let duration_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
            tracing::info!(
                target: "nanoapi::access",
                method = %String::from_utf8_lossy(req.method_bytes()),
                path = %String::from_utf8_lossy(req.path()),
                status = resp.status().as_u16(),
                duration_us,
                bytes = resp.body().len(),
                request_id = req.extensions().get::<RequestId>().map(RequestId::as_str),
                client = req.peer_addr().map(tracing::field::display),
                "request"
            );
            resp
        })
    }
}
