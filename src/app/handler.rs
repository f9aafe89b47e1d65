//! Handlers: plain `async fn`s whose arguments are extractors and whose output converts into a
//! response, erased into one endpoint type the router stores.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use super::doc::OperationDoc;
use super::extract::{FromRequest, FromRequestParts, Rejection, RequestContext, RequestParts};
use super::response::IntoResponse;
use super::validation::ValidationError;
use crate::http::Response;
use crate::server::Request;

/// A boxed, thread-local future: what [`Middleware::call`](super::Middleware::call) returns.
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A function usable as a route handler: `async fn(A, B, ..., Z) -> R` where every argument
/// but the last is a head extractor ([`FromRequestParts`]), the last may also read the body
/// ([`FromRequest`]), and `R` is [`IntoResponse`] (up to 12 arguments). `Args` is the
/// arguments' types, with the last one's kind first: leave it to inference. `S` is the state
/// type of the app the handler serves ([`App<S>`](super::App)).
///
/// All extractors run before the handler, in order; the validation failures of all of them are
/// answered together with one 422.
///
/// An argument that is not an extractor is a compile error that names it:
///
/// ```compile_fail
/// use nanoapi::app::App;
///
/// struct NotAnExtractor;
///
/// async fn handler(_: NotAnExtractor) -> &'static str {
///     "never"
/// }
///
/// let app = App::new().get("/", handler);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a handler",
    note = "a handler is an `async fn` of up to 12 extractors (`FromRequestParts`; the last may read the body, `FromRequest`) returning a type that implements `IntoResponse`, and is `Send + Sync + 'static`"
)]
pub trait Handler<Args, S = ()>: Send + Sync + 'static {
    /// Extracts the arguments from `req`, calls the handler, converts its output.
    fn call<'a>(
        &'a self,
        req: &'a mut Request,
        cx: &'a RequestContext<'a, S>,
    ) -> impl Future<Output = Response> + 'a;

    /// Describes the arguments and the output for the OpenAPI document.
    fn describe(doc: &mut OperationDoc);
}

/// What one extractor's result means for the handler call.
enum Gathered<T> {
    /// The value, or `None` when its errors joined the others (a 422 follows).
    Value(Option<T>),
    /// An answer that ends the request at once (not a validation error).
    Respond(Response),
}

/// Folds one extractor's result into the errors gathered so far.
fn gather<T>(result: Result<T, Rejection>, errors: &mut Vec<super::ErrorItem>) -> Gathered<T> {
    match result {
        Ok(value) => Gathered::Value(Some(value)),
        Err(Rejection::Invalid(items)) => {
            errors.extend(items);
            Gathered::Value(None)
        }
        Err(Rejection::Response(resp) | Rejection::Missing(resp)) => Gathered::Respond(resp),
    }
}

impl<F, Fut, R, S> Handler<(), S> for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R>,
    R: IntoResponse,
{
    // As an `async fn` the future would need `Fut: 'a` and `R: 'a`, which `Handler` cannot
    // promise; the block borrows only `self`.
    #[allow(clippy::manual_async_fn)]
    fn call<'a>(
        &'a self,
        _req: &'a mut Request,
        cx: &'a RequestContext<'a, S>,
    ) -> impl Future<Output = Response> + 'a {
        async move { respond(self().await, cx.status) }
    }

    fn describe(doc: &mut OperationDoc) {
        R::describe(doc);
    }
}

/// What a handler returned, as its response: a `200 OK` with the route's status instead
/// ([`Route::status`](super::Route::status)) unless the value chose its status.
fn respond(value: impl IntoResponse, status: Option<crate::http::StatusCode>) -> Response {
    let status = status.filter(|_| !value.explicit_status());
    let mut resp = value.into_response();
    if let Some(status) = status
        && resp.status() == crate::http::StatusCode::OK
    {
        resp.set_status(status);
    }
    resp
}

macro_rules! impl_handler {
    ([$($head:ident),*], $last:ident) => {
        impl<F, Fut, R, M, S, $($head,)* $last> Handler<(M, $($head,)* $last,), S> for F
        where
            F: Fn($($head,)* $last) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = R>,
            R: IntoResponse,
            $($head: FromRequestParts<S>,)*
            $last: FromRequest<S, M>,
        {
            #[allow(non_snake_case, unused_mut)]
            fn call<'a>(
                &'a self,
                req: &'a mut Request,
                cx: &'a RequestContext<'a, S>,
            ) -> impl Future<Output = Response> + 'a {
                async move {
                    let mut errors = Vec::new();
                    let mut parts = RequestParts::new(req);
                    $(
                        let $head = match gather(
                            $head::from_request_parts(&mut parts, cx).await,
                            &mut errors,
                        ) {
                            Gathered::Value(value) => value,
                            Gathered::Respond(resp) => return resp,
                        };
                    )*
                    let $last = match gather(
                        $last::from_request(parts.into_request(), cx).await,
                        &mut errors,
                    ) {
                        Gathered::Value(value) => value,
                        Gathered::Respond(resp) => return resp,
                    };
                    if !errors.is_empty() {
                        return ValidationError::new(errors).into_response();
                    }
                    match ($($head,)* $last,) {
                        ($(Some($head),)* Some($last),) => {
                            respond(self($($head,)* $last).await, cx.status)
                        }
                        _ => unreachable!("every extractor succeeded when no error was gathered"),
                    }
                }
            }

            fn describe(doc: &mut OperationDoc) {
                $(<$head as FromRequestParts<S>>::describe(doc);)*
                <$last as FromRequest<S, M>>::describe(doc);
                R::describe(doc);
            }
        }
    };
}

impl_handler!([], A1);
impl_handler!([A1], A2);
impl_handler!([A1, A2], A3);
impl_handler!([A1, A2, A3], A4);
impl_handler!([A1, A2, A3, A4], A5);
impl_handler!([A1, A2, A3, A4, A5], A6);
impl_handler!([A1, A2, A3, A4, A5, A6], A7);
impl_handler!([A1, A2, A3, A4, A5, A6, A7], A8);
impl_handler!([A1, A2, A3, A4, A5, A6, A7, A8], A9);
impl_handler!([A1, A2, A3, A4, A5, A6, A7, A8, A9], A10);
impl_handler!([A1, A2, A3, A4, A5, A6, A7, A8, A9, A10], A11);
impl_handler!([A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11], A12);

/// A route's handler with its argument and state types erased: it takes the app's state as
/// `dyn Any` and gives its handler the state type the route was made for.
pub(crate) trait Endpoint: Send + Sync {
    fn call<'a>(
        &'a self,
        req: &'a mut Request,
        cx: &'a RequestContext<'a, dyn Any>,
    ) -> LocalBoxFuture<'a, Response>;
}

/// A [`Handler`] of an app with state `S` as an [`Endpoint`].
pub(crate) struct HandlerEndpoint<H, Args, S> {
    handler: H,
    _args: PhantomData<fn() -> (Args, S)>,
}

impl<H, Args, S> HandlerEndpoint<H, Args, S> {
    pub(crate) fn new(handler: H) -> Self {
        HandlerEndpoint {
            handler,
            _args: PhantomData,
        }
    }
}

impl<H, Args, S> Endpoint for HandlerEndpoint<H, Args, S>
where
    H: Handler<Args, S>,
    Args: 'static,
    S: 'static,
{
    fn call<'a>(
        &'a self,
        req: &'a mut Request,
        cx: &'a RequestContext<'a, dyn Any>,
    ) -> LocalBoxFuture<'a, Response> {
        // The typed context is a new value (the erased one's fields with the state downcast),
        // so it lives in the future that lends it to the handler.
        let cx = cx.typed::<S>();
        Box::pin(async move { self.handler.call(req, &cx).await })
    }
}
