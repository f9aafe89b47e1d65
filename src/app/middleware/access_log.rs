//! `AccessLog`: one `tracing` event per request.

use crate::app::logging::event;
use std::time::Instant;

use super::{Middleware, Next, RequestId, on_body_end};
use crate::app::handler::LocalBoxFuture;
use crate::http::{Body, Response};
use crate::server::Request;

/// Logs one event per request at `INFO` under the target `nanoapi::access`, with the fields
/// `method`, `path` (without the query, which may carry secrets), `status`, `duration_us` (to
/// the response head: a streamed body is still being sent), `bytes` (the body's length, when
/// it is in memory), `request_id` (when a [`RequestIdMiddleware`](crate::app::RequestIdMiddleware)
/// runs outside this one, or inside it: the id is read after the response) and `client` (the
/// peer address, when there is a socket). A streamed body logs a second event when it ends,
/// `"response body end"`, with `method`, `path`, `status`, `request_id`, the whole
/// `duration_us`, the `bytes` sent and `complete` (false when the stream failed or the client
/// left).
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
            let mut resp = next.run(req).await;
            let duration_us = micros_since(start);
            let request_id = req.extensions().get::<RequestId>().map(RequestId::as_str);
            if matches!(resp.body(), Body::Stream(_) | Body::SizedStream { .. }) {
                let method = String::from_utf8_lossy(req.method_bytes()).into_owned();
                let path = String::from_utf8_lossy(req.path()).into_owned();
                let (status, request_id) = (resp.status().as_u16(), request_id.map(str::to_owned));
                on_body_end(&mut resp, move |end| {
                    event!(info,
                        target: "nanoapi::access",
                        method,
                        path,
                        status,
                        duration_us = micros_since(start),
                        bytes = end.bytes,
                        complete = end.complete,
                        request_id,
                        "response body end"
                    );
                });
            }
            event!(info,
                target: "nanoapi::access",
                method = %String::from_utf8_lossy(req.method_bytes()),
                path = %String::from_utf8_lossy(req.path()),
                status = resp.status().as_u16(),
                duration_us,
                bytes = resp.body().len(),
                request_id,
                client = req.peer_addr().map(tracing::field::display),
                "request"
            );
            resp
        })
    }
}

fn micros_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
}
