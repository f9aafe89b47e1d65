//! Serverless adapters: the same dispatcher that serves sockets, run as an AWS Lambda function
//! (feature `serverless`, on by default).
//!
//! - [`Invocation::from_event`] decodes an API Gateway HTTP API (payload 2.0) or function URL
//!   event, an API Gateway REST API (1.0) event, or an ALB target-group event (single- or
//!   multi-value headers) into an HTTP/1.1 request;
//! - [`handle`] serves it through the runtime's in-memory [`exchange`](crate::server::testing::exchange),
//!   so framing, `HEAD`, static responses, errors and panics behave exactly as over a socket,
//!   and returns a [`ServerlessResponse`] that [`to_json`](ServerlessResponse::to_json) encodes
//!   back into the event's response shape (cookies, multi-value headers, base64 for binary
//!   bodies);
//! - [`lambda::run`] is the Lambda Runtime API loop (a custom runtime's `bootstrap`), with
//!   response streaming for function URLs;
//! - [`health`] answers `/healthz` and `/readyz` for container fleets behind a load balancer.
//!
//! Everything is generic over the runtime's [`Dispatch`] seam and its context, so any
//! consumer (a raw `async fn`, the `App` overlay) runs unchanged.
//!
//! # Examples
//!
//! ```
//! use nanoapi::http::{Response, StatusCode};
//! use nanoapi::server::{Request, ResponseWriter};
//! use nanoapi::serverless::{Invocation, handle};
//!
//! async fn hello(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
//!     let name = req.query().unwrap_or(b"world").to_vec();
//!     w.send(Response::text(StatusCode::OK, name)).await
//! }
//!
//! let event = br#"{"version": "2.0", "rawPath": "/hi", "rawQueryString": "you",
//!     "headers": {"host": "example.com"}, "isBase64Encoded": false,
//!     "requestContext": {"http": {"method": "GET", "path": "/hi"}}}"#;
//! let invocation = Invocation::from_event(event).unwrap();
//! let response = nanoapi::executor::block_on(handle(&(), &hello, invocation)).unwrap();
//! let json: serde_json::Value = serde_json::from_slice(&response.to_json()).unwrap();
//! assert_eq!(json["statusCode"], 200);
//! assert_eq!(json["body"], "you");
//! assert_eq!(json["isBase64Encoded"], false);
//! ```

mod client;
mod event;
pub mod health;
pub mod lambda;
mod response;

use std::cell::RefCell;

pub use event::{EventKind, Invocation};
pub use response::ServerlessResponse;

use nanoapi_executor::future::{CatchUnwind, panic_message};

use crate::error::{Error, Result};
use crate::server::testing::Exchange;
use crate::server::{ConnOptions, Dispatch, Request, ResponseWriter};

/// Serves `invocation` with `dispatch` (default connection options: the runtime's limits and
/// timeouts, no static responses) and returns the response to encode for the platform.
///
/// An invocation whose request cannot be written as HTTP/1.1 (a header value with a line
/// break, say) is answered `400 Bad Request`, as a socket server would answer it.
///
/// # Errors
///
/// The dispatcher panicked (the message says so; a Lambda loop reports it as an invocation
/// error), or the exchange failed (see [`exchange`](crate::server::testing::exchange)).
///
/// # Examples
///
/// See the [module documentation](self).
pub async fn handle<C, D: Dispatch<C>>(
    ctx: &C,
    dispatch: &D,
    invocation: Invocation,
) -> Result<ServerlessResponse> {
    handle_with(ctx, dispatch, &ConnOptions::default(), invocation).await
}

/// [`handle`] with these connection options (limits, timeouts, `Server` header, static
/// responses: see [`ConnOptions::from_options`]).
///
/// # Errors
///
/// As [`handle`].
///
/// # Examples
///
/// ```
/// use nanoapi::http::{Response, StatusCode};
/// use nanoapi::server::{ConnOptions, Options, Request, ResponseWriter};
/// use nanoapi::serverless::{Invocation, handle_with};
///
/// async fn not_found(_: &(), _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
///     w.send(Response::text(StatusCode::NOT_FOUND, "no")).await
/// }
///
/// let options = Options::default()
///     .static_response("GET", "/ping", Response::text(StatusCode::OK, "pong"));
/// let conn = ConnOptions::from_options(&options);
/// let event = br#"{"httpMethod": "GET", "path": "/ping", "headers": {}, "body": null,
///     "requestContext": {"stage": "prod"}}"#;
/// let invocation = Invocation::from_event(event).unwrap();
/// let response = nanoapi::executor::block_on(handle_with(&(), &not_found, &conn, invocation));
/// assert_eq!(response.unwrap().body(), "pong");
/// ```
pub async fn handle_with<C, D: Dispatch<C>>(
    ctx: &C,
    dispatch: &D,
    options: &ConnOptions,
    invocation: Invocation,
) -> Result<ServerlessResponse> {
    let kind = invocation.kind;
    let Ok(wire) = invocation.to_http() else {
        return Ok(ServerlessResponse::bad_request(kind));
    };
    let guard = PanicGuard::new(ctx, dispatch);
    let mut exchange = Exchange::new(&guard, &Guarded, options, wire);
    let response = exchange.next_response().await;
    let finished = exchange.finish().await;
    guard.check()?;
    let response = response?.ok_or_else(|| Error::new("the server sent no response"))?;
    finished?;
    Ok(ServerlessResponse::from_response(kind, response))
}

/// The context under which [`Guarded`] runs the real dispatcher: it notes a panic (which
/// `serve_connection` turns into a 500) so that the platform hears of it as an error.
struct PanicGuard<'a, C, D> {
    ctx: &'a C,
    dispatch: &'a D,
    panic: RefCell<Option<String>>,
}

impl<'a, C, D> PanicGuard<'a, C, D> {
    fn new(ctx: &'a C, dispatch: &'a D) -> Self {
        PanicGuard {
            ctx,
            dispatch,
            panic: RefCell::new(None),
        }
    }

    /// `Err` if the dispatcher panicked.
    fn check(&self) -> Result<()> {
        match self.panic.borrow().as_deref() {
            Some(message) => Err(Error::new(format!("dispatch panicked: {message}"))),
            None => Ok(()),
        }
    }
}

/// Dispatches to [`PanicGuard`]'s dispatcher, noting a panic before passing it on.
struct Guarded;

impl<'g, C, D: Dispatch<C>> Dispatch<PanicGuard<'g, C, D>> for Guarded {
    async fn dispatch<'a>(
        &'a self,
        guard: &'a PanicGuard<'g, C, D>,
        req: &'a mut Request,
        w: &'a mut ResponseWriter,
    ) -> Result<()> {
        match CatchUnwind::new(guard.dispatch.dispatch(guard.ctx, req, w)).await {
            Ok(res) => res,
            Err(panic) => {
                *guard.panic.borrow_mut() = Some(
                    panic_message(&*panic)
                        .unwrap_or("(non-string panic payload)")
                        .to_owned(),
                );
                std::panic::resume_unwind(panic)
            }
        }
    }
}
