//! The seam every consumer implements: `dispatch(ctx, req, writer)`.

use std::future::Future;

use super::{Request, ResponseWriter};
use crate::error::Result;

/// Handles one request: reads what it needs of `req`, answers through `w`.
///
/// Implemented for every `async fn(&C, &mut Request, &mut ResponseWriter) -> Result<()>` (any
/// `AsyncFn` of that shape that is `Send + Sync + 'static`), and by consumers such as the `App`
/// overlay. `ctx` is the state shared by every worker.
///
/// The future need not be `Send`: it runs on the worker that accepted the connection.
///
/// # Examples
///
/// ```
/// use nanoapi::http::{Response, StatusCode};
/// use nanoapi::server::{Dispatch, Request, ResponseWriter};
///
/// struct Ctx;
///
/// async fn dispatch(_ctx: &Ctx, req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
///     let status = if req.path() == b"/" { StatusCode::OK } else { StatusCode::NOT_FOUND };
///     w.send(Response::text(status, "ok")).await
/// }
///
/// fn assert_dispatch<D: Dispatch<Ctx>>(_: &D) {}
/// assert_dispatch(&dispatch);
/// ```
pub trait Dispatch<C>: Send + Sync + 'static {
    /// Handles `req`; the response goes out through `w`.
    fn dispatch<'a>(
        &'a self,
        ctx: &'a C,
        req: &'a mut Request,
        w: &'a mut ResponseWriter,
    ) -> impl Future<Output = Result<()>> + 'a;
}

impl<C, F> Dispatch<C> for F
where
    F: for<'a> AsyncFn(&'a C, &'a mut Request, &'a mut ResponseWriter) -> Result<()>
        + Send
        + Sync
        + 'static,
{
    fn dispatch<'a>(
        &'a self,
        ctx: &'a C,
        req: &'a mut Request,
        w: &'a mut ResponseWriter,
    ) -> impl Future<Output = Result<()>> + 'a {
        self(ctx, req, w)
    }
}
