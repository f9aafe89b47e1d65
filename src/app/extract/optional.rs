//! `Option<T>` and `Result<T, Rejection>` as extractors: absent input as `None`, or every
//! rejection left to the handler.

use super::{FromRequest, FromRequestParts, Rejection, RequestContext, RequestParts};
use crate::app::doc::OperationDoc;
use crate::server::Request;

/// `None` when what `T` reads is absent ([`Rejection::is_missing`]: no such parameter, no
/// credentials); input that is present but malformed is still rejected (422, 401, ...).
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, Header};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Page { page: u32 }
///
/// async fn list(page: Option<Header<Page>>) -> String {
///     match page {
///         Some(Header(p)) => format!("page {}", p.page),
///         None => "first page".to_owned(),
///     }
/// }
///
/// let client = App::new().get("/", list).test_client();
/// assert_eq!(client.get("/").send().text(), "first page");
/// assert_eq!(client.get("/").header("page", "3").send().text(), "page 3");
/// assert_eq!(client.get("/").header("page", "three").send().status(), 422);
/// ```
impl<S, T: FromRequestParts<S>> FromRequestParts<S> for Option<T> {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        absent_as_none(T::from_request_parts(req, cx).await)
    }

    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
    }
}

/// `None` when `T` finds its input absent (for `Json<T>` an empty body, for `Form<T>` no
/// fields; an empty `String` or `Bytes` body is a value, not an absence); a body that is
/// present but malformed, too large or of the wrong type is still rejected. The body is
/// documented as optional.
impl<S, T: FromRequest<S>> FromRequest<S> for Option<T> {
    async fn from_request(
        req: &mut Request,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        absent_as_none(T::from_request(req, cx).await)
    }

    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
        if let Some(body) = &mut doc.body {
            body.required = false;
        }
    }
}

// The rejection is only moved, on the error path.
#[allow(clippy::result_large_err)]
fn absent_as_none<T>(result: Result<T, Rejection>) -> Result<Option<T>, Rejection> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(rejection) if rejection.is_missing() => Ok(None),
        Err(rejection) => Err(rejection),
    }
}

/// The extractor's result, whatever it is: the handler decides what a rejection means (a
/// [`Rejection`] is itself a response, the one the handler would otherwise have answered).
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, Json, Rejection};
///
/// async fn lenient(body: Result<Json<u32>, Rejection>) -> String {
///     match body {
///         Ok(Json(n)) => format!("got {n}"),
///         Err(_) => "not a number: ignored".to_owned(),
///     }
/// }
///
/// let client = App::new().post("/", lenient).test_client();
/// assert_eq!(client.post("/").json(&7).send().text(), "got 7");
/// assert_eq!(client.post("/").json(&"seven").send().text(), "not a number: ignored");
/// ```
impl<S, T: FromRequestParts<S>> FromRequestParts<S> for Result<T, Rejection> {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        Ok(T::from_request_parts(req, cx).await)
    }

    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
    }
}

impl<S, T: FromRequest<S>> FromRequest<S> for Result<T, Rejection> {
    async fn from_request(
        req: &mut Request,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        Ok(T::from_request(req, cx).await)
    }

    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
    }
}
