//! `Timeout`: a deadline for the response head.

use crate::app::logging::event;
use std::time::Duration;

use super::{Middleware, Next};
use crate::app::handler::LocalBoxFuture;
use crate::app::response::{HttpException, IntoResponse};
use crate::executor::time::timeout;
use crate::http::{Response, StatusCode};
use crate::server::Request;

/// Answers `504 {"detail":"Gateway Timeout"}` when the rest of the chain has not produced a
/// response within the deadline; the handler's future is then dropped (cancelled at its next
/// await point: a handler that blocks its thread cannot be stopped this way).
///
/// The deadline covers the response head: a streamed body may take longer. Added to an app, a
/// router or a route, it applies there (an app-level deadline also covers the router's 404s).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use nanoapi::app::{App, Route, Timeout};
///
/// async fn slow() -> &'static str {
///     std::future::pending::<()>().await;
///     "never"
/// }
///
/// let client = App::new()
///     .route(Route::get("/slow", slow).add_middleware(Timeout::new(Duration::from_millis(20))))
///     .test_client();
/// let resp = client.get("/slow").send();
/// assert_eq!(resp.status(), 504);
/// assert_eq!(resp.text(), r#"{"detail":"Gateway Timeout"}"#);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Timeout {
    duration: Duration,
}

impl Timeout {
    /// A deadline of `duration` from the moment the middleware runs.
    pub fn new(duration: Duration) -> Timeout {
        Timeout { duration }
    }
}

impl Middleware for Timeout {
    fn call<'a>(&'a self, req: &'a mut Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        Box::pin(async move {
            match timeout(self.duration, next.run(req)).await {
                Ok(resp) => resp,
                Err(_elapsed) => {
                    event!(warn,
                        path = %String::from_utf8_lossy(req.path()),
                        timeout_ms = u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
                        "request timed out"
                    );
                    HttpException::new(StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout")
                        .into_response()
                }
            }
        })
    }
}
