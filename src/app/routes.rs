//! Route definitions and `APIRouter`: what an app is built from before it is compiled.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use bytes::Bytes;

use super::doc::OperationDoc;
use super::extract::RequestContext;
use super::handler::{Endpoint, Handler, HandlerEndpoint, LocalBoxFuture};
use super::middleware::{FnMiddleware, Middleware, Next};
use crate::http::{Body, HeaderList, Response, StatusCode};
use crate::server::Request;

/// One route: a method, a path pattern, a handler, its middleware and its documentation. `S`
/// is the state type of the app it is for ([`App<S>`](super::App)): its handler's extractors
/// may take parts of that state. A route is for exactly that type: not even a subtype (a
/// higher-ranked function type) stands in for it.
///
/// ```compile_fail,E0308
/// use std::sync::Arc;
/// use nanoapi::app::{App, Route, State};
///
/// type Any = Arc<dyn for<'a> Fn(&'a u8) + Send + Sync>;
/// type Static = Arc<dyn Fn(&'static u8) + Send + Sync>;
///
/// async fn call(State(f): State<Static>) -> &'static str {
///     f(&1);
///     "called"
/// }
///
/// let route: Route<Static> = Route::get("/", call);
/// let state: Any = Arc::new(|_: &u8| {});
/// let app = App::new().with_state(state).route(route);
/// ```
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, Route};
///
/// async fn create() -> &'static str { "created" }
///
/// let app = App::new().route(
///     Route::post("/items", create)
///         .summary("Create an item")
///         .tag("items")
///         .status(201),
/// );
/// ```
pub struct Route<S = ()> {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) endpoint: Arc<dyn Endpoint>,
    pub(crate) middleware: Vec<Arc<dyn Middleware>>,
    pub(crate) doc: OperationDoc,
    /// Set for routes made by `get_static`: the response, for the runtime's cache.
    pub(crate) fixed: Option<FixedResponse>,
    // Invariant in `S`: a route made for one state type is never taken for another (a
    // variant marker would let higher-ranked types coerce, and the downcast fail).
    _state: PhantomData<fn(S) -> S>,
}

macro_rules! method_constructors {
    ($($name:ident => $method:literal),*) => {
        $(
            #[doc = concat!("A `", $method, "` route.")]
            pub fn $name<H: Handler<Args, S>, Args: 'static>(path: &str, handler: H) -> Route<S> {
                Route::new($method, path, handler)
            }
        )*
    };
}

impl<S: 'static> Route<S> {
    /// A route for `method` (any token: custom methods are kept distinct).
    pub fn new<H: Handler<Args, S>, Args: 'static>(
        method: &str,
        path: &str,
        handler: H,
    ) -> Route<S> {
        let mut doc = OperationDoc::new();
        H::describe(&mut doc);
        Route::with_endpoint(
            method,
            path,
            Arc::new(HandlerEndpoint::<H, Args, S>::new(handler)),
            doc,
        )
    }

    method_constructors!(
        get => "GET", post => "POST", put => "PUT", patch => "PATCH",
        delete => "DELETE", head => "HEAD", options => "OPTIONS"
    );
}

impl<S> Route<S> {
    fn with_endpoint(
        method: &str,
        path: &str,
        endpoint: Arc<dyn Endpoint>,
        doc: OperationDoc,
    ) -> Route<S> {
        Route {
            method: method.to_owned(),
            path: path.to_owned(),
            endpoint,
            middleware: Vec::new(),
            doc,
            fixed: None,
            _state: PhantomData,
        }
    }

    /// The same route as the routes of every app see it (what extensions are given): its
    /// endpoint still gives its handler the state it was made for.
    pub(crate) fn erase(self) -> Route {
        Route {
            method: self.method,
            path: self.path,
            endpoint: self.endpoint,
            middleware: self.middleware,
            doc: self.doc,
            fixed: self.fixed,
            _state: PhantomData,
        }
    }

    /// The OpenAPI summary.
    pub fn summary(mut self, summary: impl Into<String>) -> Route<S> {
        self.doc.summary = Some(summary.into());
        self
    }

    /// The OpenAPI description.
    pub fn description(mut self, description: impl Into<String>) -> Route<S> {
        self.doc.description = Some(description.into());
        self
    }

    /// Adds an OpenAPI tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Route<S> {
        self.doc.tags.push(tag.into());
        self
    }

    /// Marks the operation deprecated.
    pub fn deprecated(mut self) -> Route<S> {
        self.doc.deprecated = true;
        self
    }

    /// Sets the `operationId` (default: FastAPI's, from the handler path and method).
    pub fn operation_id(mut self, id: impl Into<String>) -> Route<S> {
        self.doc.operation_id = Some(id.into());
        self
    }

    /// The route's success status, as FastAPI's `status_code`: a body the handler returns
    /// (`Json`, text, ...) is sent with `status` instead of `200 OK` (and documented so). A
    /// status the handler chooses is kept, `200` included: a [`Response`], a
    /// `(StatusCode, ..)` tuple or a `StatusCode` (see
    /// [`IntoResponse::explicit_status`](super::IntoResponse::explicit_status)), as FastAPI
    /// keeps the status of a `Response` a handler returns; so are errors and redirects. A
    /// fixed route ([`get_static`](Route::get_static)) is served with `status`.
    ///
    /// [`App::build`](super::App::build) refuses a number that is not a status (100–999).
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::app::{App, Route};
    /// use nanoapi::http::StatusCode;
    ///
    /// async fn create() -> &'static str { "created" }
    ///
    /// let client = App::new().route(Route::post("/items", create).status(201)).test_client();
    /// assert_eq!(client.post("/items").send().status(), 201);
    ///
    /// async fn exists() -> (StatusCode, &'static str) { (StatusCode::OK, "already there") }
    ///
    /// let client = App::new().route(Route::put("/items", exists).status(201)).test_client();
    /// assert_eq!(client.put("/items").send().status(), 200);
    /// ```
    pub fn status(mut self, status: u16) -> Route<S> {
        self.doc.status = Some(status);
        self
    }

    /// Leaves the route out of the OpenAPI document.
    pub fn include_in_schema(mut self, include: bool) -> Route<S> {
        self.doc.include_in_schema = include;
        self
    }

    /// Documents another response (`description` for `status`).
    pub fn response(mut self, status: u16, description: impl Into<String>) -> Route<S> {
        self.doc.responses.push(super::doc::ResponseDoc {
            status: Some(status),
            content_type: "application/json",
            schema: None,
            description: Some(description.into()),
        });
        self
    }

    /// Adds a middleware function around this route only.
    pub fn middleware<F>(self, f: F) -> Route<S>
    where
        F: for<'a> AsyncFn(&'a mut Request, Next<'a>) -> Response + Send + Sync + 'static,
    {
        self.add_middleware(FnMiddleware::<F, ()>::new(f))
    }

    /// Adds a middleware function around this route only that reads the app's state.
    /// It takes a [`Next<'_, S>`](Next), whose [`state`](Next::state) and
    /// [`context`](Next::context) hold the state typed.
    pub fn middleware_with_state<F>(self, f: F) -> Route<S>
    where
        F: for<'a> AsyncFn(&'a mut Request, Next<'a, S>) -> Response + Send + Sync + 'static,
        S: 'static,
    {
        self.add_middleware(FnMiddleware::<F, S>::new(f))
    }

    /// Adds a middleware value around this route only.
    pub fn add_middleware(mut self, middleware: impl Middleware) -> Route<S> {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// A `GET` (and `HEAD`) route answered with a fixed `response`, rendered once: what
    /// [`App::get_static`](super::App::get_static) adds.
    ///
    /// # Panics
    ///
    /// If `response` has a streamed body (a fixed response must be replayable).
    pub fn get_static(path: &str, response: Response) -> Route<S> {
        let fixed = FixedResponse::new(response);
        let mut doc = OperationDoc::new();
        doc.success_plain("application/octet-stream");
        let mut route = Route::with_endpoint("GET", path, Arc::new(fixed.clone()), doc);
        route.fixed = Some(fixed);
        route
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path pattern (with the prefixes of the routers it was included through).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The documentation the route records (what the OpenAPI document shows of it).
    pub fn doc(&self) -> &OperationDoc {
        &self.doc
    }

    /// Lets the caller change the documentation directly (security extractors used as route
    /// dependencies add themselves this way).
    pub fn doc_mut(&mut self) -> &mut OperationDoc {
        &mut self.doc
    }
}

impl<S> fmt::Debug for Route<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("middleware", &self.middleware.len())
            .finish_non_exhaustive()
    }
}

/// A response kept as parts, rebuilt for each request that reaches it through dispatch, and
/// handed to the runtime's static cache when no middleware applies.
#[derive(Clone)]
pub(crate) struct FixedResponse {
    pub status: StatusCode,
    pub headers: HeaderList,
    pub body: Bytes,
}

impl FixedResponse {
    /// Takes a response with an in-memory body.
    ///
    /// # Panics
    ///
    /// On a streamed body: a fixed response must be replayable.
    pub(crate) fn new(resp: Response) -> FixedResponse {
        let (status, headers, body) = resp.into_parts();
        let Ok(body) = body.into_bytes() else {
            panic!("a static route's response needs an in-memory body")
        };
        FixedResponse {
            status,
            headers,
            body,
        }
    }

    pub(crate) fn to_response(&self) -> Response {
        Response::from_parts(
            self.status,
            self.headers.clone(),
            Body::Bytes(self.body.clone()),
        )
    }
}

impl Endpoint for FixedResponse {
    fn call<'a>(
        &'a self,
        _req: &'a mut Request,
        _cx: &'a RequestContext<'a, dyn Any>,
    ) -> LocalBoxFuture<'a, Response> {
        Box::pin(std::future::ready(self.to_response()))
    }
}

/// A group of routes under a prefix, with tags and middleware of its own, included into an app
/// (or another router) with `include_router`. `S` is the state type of the app, as for
/// [`Route<S>`].
///
/// # Examples
///
/// ```
/// use nanoapi::app::{APIRouter, App};
///
/// async fn list_users() -> &'static str { "[]" }
///
/// let users = APIRouter::new().prefix("/users").tag("users").get("/", list_users);
/// let app = App::new().include_router(APIRouter::new().prefix("/v1").include_router(users));
/// ```
pub struct APIRouter<S = ()> {
    prefix: String,
    tags: Vec<String>,
    /// The routes, their state type forgotten (`Route<S>` all of them).
    pub(crate) routes: Vec<Route>,
    middleware: Vec<Arc<dyn Middleware>>,
    /// Applied to every route's documentation when the router is flattened (router-wide
    /// security requirements).
    doc_hooks: Vec<fn(&mut OperationDoc)>,
    // Invariant in `S`: a route made for one state type is never taken for another (a
    // variant marker would let higher-ranked types coerce, and the downcast fail).
    _state: PhantomData<fn(S) -> S>,
}

impl<S> Default for APIRouter<S> {
    fn default() -> APIRouter<S> {
        APIRouter {
            prefix: String::new(),
            tags: Vec::new(),
            routes: Vec::new(),
            middleware: Vec::new(),
            doc_hooks: Vec::new(),
            _state: PhantomData,
        }
    }
}

macro_rules! method_routes {
    ($($name:ident => $method:literal),*) => {
        $(
            #[doc = concat!("Adds a `", $method, "` route.")]
            pub fn $name<H: Handler<Args, S>, Args: 'static>(self, path: &str, handler: H) -> Self {
                self.route(Route::new($method, path, handler))
            }
        )*
    };
}
pub(crate) use method_routes;

impl<S: 'static> APIRouter<S> {
    /// An empty router with no prefix.
    pub fn new() -> APIRouter<S> {
        APIRouter::default()
    }

    /// The path prefix of every route (`/users`).
    pub fn prefix(mut self, prefix: &str) -> APIRouter<S> {
        self.prefix = prefix.trim_end_matches('/').to_owned();
        self
    }

    /// Adds a tag to every route.
    pub fn tag(mut self, tag: impl Into<String>) -> APIRouter<S> {
        self.tags.push(tag.into());
        self
    }

    /// Adds a route.
    pub fn route(mut self, route: Route<S>) -> APIRouter<S> {
        self.routes.push(route.erase());
        self
    }

    method_routes!(
        get => "GET", post => "POST", put => "PUT", patch => "PATCH",
        delete => "DELETE", head => "HEAD", options => "OPTIONS"
    );

    /// A `GET` route answered with a fixed response (see [`App::get_static`](super::App::get_static)).
    pub fn get_static(self, path: &str, response: Response) -> APIRouter<S> {
        self.route(Route::get_static(path, response))
    }

    /// Serves a directory under `prefix` (see [`App::mount`](super::App::mount)).
    pub fn mount(self, prefix: &str, files: super::StaticFiles) -> APIRouter<S> {
        self.route(files.into_route(prefix))
    }

    /// Adds a middleware function around every route of this router.
    pub fn middleware<F>(self, f: F) -> APIRouter<S>
    where
        F: for<'a> AsyncFn(&'a mut Request, Next<'a>) -> Response + Send + Sync + 'static,
    {
        self.add_middleware(FnMiddleware::<F, ()>::new(f))
    }

    /// Adds a middleware function around this router's routes that reads the app's state.
    /// It takes a [`Next<'_, S>`](Next), whose [`state`](Next::state) and
    /// [`context`](Next::context) hold the state typed.
    pub fn middleware_with_state<F>(self, f: F) -> APIRouter<S>
    where
        F: for<'a> AsyncFn(&'a mut Request, Next<'a, S>) -> Response + Send + Sync + 'static,
        S: 'static,
    {
        self.add_middleware(FnMiddleware::<F, S>::new(f))
    }

    /// Adds a middleware value around every route of this router.
    pub fn add_middleware(mut self, middleware: impl Middleware) -> APIRouter<S> {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// Runs `describe` on the documentation of every route of this router when it is
    /// flattened, whenever the route was added.
    /// Applies `describe` to the documentation of every route of this router (nested routers
    /// included, as they are when the app is built): how something that guards all of them,
    /// a security scheme for one, records itself on each operation.
    pub fn describe_routes(mut self, describe: fn(&mut OperationDoc)) -> APIRouter<S> {
        self.doc_hooks.push(describe);
        self
    }

    /// Includes every route of `router` (its prefix after this one's; tags, middleware and
    /// static responses kept).
    pub fn include_router(mut self, router: APIRouter<S>) -> APIRouter<S> {
        self.routes.extend(router.into_routes());
        self
    }

    /// The routes with this router's prefix, tags and middleware applied (the router's
    /// middleware runs outside the route's own).
    pub(crate) fn into_routes(self) -> Vec<Route> {
        let APIRouter {
            prefix,
            tags,
            routes,
            middleware,
            doc_hooks,
            _state,
        } = self;
        routes
            .into_iter()
            .map(|mut route| {
                for describe in &doc_hooks {
                    describe(&mut route.doc);
                }
                route.path = join_path(&prefix, &route.path);
                let mut all_tags = tags.clone();
                all_tags.append(&mut route.doc.tags);
                route.doc.tags = all_tags;
                let mut chain = middleware.clone();
                chain.append(&mut route.middleware);
                route.middleware = chain;
                route
            })
            .collect()
    }
}

impl APIRouter {
    /// The same routes in a router for an app with state `S` (they need none).
    pub(crate) fn into_state<S>(self) -> APIRouter<S> {
        APIRouter {
            prefix: self.prefix,
            tags: self.tags,
            routes: self.routes,
            middleware: self.middleware,
            doc_hooks: self.doc_hooks,
            _state: PhantomData,
        }
    }
}

impl<S> fmt::Debug for APIRouter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("APIRouter")
            .field("prefix", &self.prefix)
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

/// `prefix` + `path`, with `/` in the root position handled as FastAPI does (`/users` + `/` is
/// `/users/`; an empty path is the prefix itself).
fn join_path(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        return path.to_owned();
    }
    if path.is_empty() {
        return prefix.to_owned();
    }
    format!("{prefix}{path}")
}
