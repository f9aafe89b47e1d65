//! The App overlay: an async router with typed extraction, FastAPI-style responses and 422
//! errors, middleware, lifecycle hooks and a test client (feature `app`, on by default).
//!
//! An [`App`] is one consumer of the runtime: compiled, it is an [`AppService`] implementing
//! the same [`Dispatch`](crate::server::Dispatch) seam as any other dispatcher, served by
//! [`crate::serve`] / [`crate::run`].
//!
//! # Examples
//!
//! ```
//! use nanoapi::app::{App, Json, Path, Query};
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Options { #[serde(default)] verbose: bool }
//!
//! #[derive(serde::Serialize, schemars::JsonSchema)]
//! struct User { user_id: u64, verbose: bool }
//!
//! async fn get_user(Path(user_id): Path<u64>, Query(o): Query<Options>) -> Json<User> {
//!     Json(User { user_id, verbose: o.verbose })
//! }
//!
//! let app = App::new().title("Users").get("/users/{user_id}", get_user);
//! let client = app.test_client();
//! let resp = client.get("/users/42?verbose=yes").send();
//! assert_eq!(resp.status(), 200);
//! assert_eq!(resp.text(), r#"{"user_id":42,"verbose":true}"#);
//!
//! let resp = client.get("/users/abc").send();
//! assert_eq!(resp.status(), 422);
//! assert_eq!(
//!     resp.text(),
//!     r#"{"detail":[{"type":"int_parsing","loc":["path","user_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]}"#
//! );
//! ```

#[cfg(feature = "http-compat")]
#[cfg_attr(docsrs, doc(cfg(feature = "http-compat")))]
pub mod compat;
mod doc;
mod extension;
pub(crate) mod extract;
mod handler;
mod lifecycle;
pub(crate) mod logging;
mod middleware;
mod response;
mod router;
pub(crate) mod routes;
mod service;
mod small_list;
mod state;
mod static_files;
mod test_client;
#[cfg(feature = "ws")]
mod test_websocket;
mod validation;
#[cfg(feature = "ws")]
mod websocket;

use std::future::Future;
use std::io;
use std::sync::Arc;

#[cfg(coding)]
pub use crate::http::coding::Compression;
pub use doc::{
    ApiSchema, BodyDoc, OperationDoc, ParamLocation, ParamsDoc, ResponseDoc, SchemaFn, SecurityDoc,
    schema_inline, schema_ref,
};
pub use extension::AppExtension;
pub use extract::{
    ClientAddr, Cookie, Cookies, Extension, Field, Form, FromRef, FromRequest, FromRequestParts,
    Header, HeaderMap, Multipart, MultipartError, MultipartLimits, Path, Query, Rejection,
    RequestContext, RequestHead, RequestParts, State, TrustedProxies, body_error, via,
};
pub use handler::{Handler, LocalBoxFuture};
pub use lifecycle::BackgroundTasks;
#[cfg(coding)]
pub use middleware::RequestDecompression;
pub use middleware::{
    AccessLog, BodyEnd, BodyLimit, Cors, MAX_REQUEST_ID_LEN, Middleware, Next, RequestId,
    RequestIdMiddleware, Timeout, on_body_end,
};
#[cfg(feature = "macros")]
#[doc(inline)]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use nanoapi_macros::{FromRef, debug_handler};
pub use response::{
    Conditional, Content, Event, EventSource, FileResponse, Html, HttpException, IntoResponse,
    Json, KeepAlive, LastEventId, Redirect, SameSite, SetCookie, StreamingResponse,
};
pub use router::RouteError;
pub use routes::{APIRouter, Route};
pub use service::AppService;
pub use static_files::StaticFiles;
pub use test_client::{TestClient, TestRequest, TestResponse};
#[cfg(feature = "ws")]
#[cfg_attr(docsrs, doc(cfg(feature = "ws")))]
pub use test_websocket::TestWebSocket;
pub use validation::{ErrorItem, LocPart, ValidationError};
#[cfg(feature = "ws")]
#[cfg_attr(docsrs, doc(cfg(feature = "ws")))]
pub use websocket::WebSocketUpgrade;

pub(crate) use extension::Extensions;
use lifecycle::{AppWorkers, Hook, Hooks};
use middleware::FnMiddleware;
use routes::method_routes;
use state::AppState;

use crate::http::Response;
use crate::server::{Options, Request, ServerHandle};

/// The app's descriptive metadata (the OpenAPI `info`).
#[derive(Debug, Clone)]
pub struct AppMeta {
    /// Title.
    pub title: String,
    /// Version of the API.
    pub version: String,
    /// Description.
    pub description: Option<String>,
}

/// An application: routes, middleware, state and lifecycle hooks, built once and then served.
///
/// `S` is the state its handlers share ([`with_state`](App::with_state), or built on each
/// worker: [`per_worker`](App::per_worker)), taken by handlers with [`State<T>`]; a handler
/// that asks for state the app does not have is a compile error. An app without state is an
/// `App<()>`.
///
/// See the [module documentation](self) for a complete example.
pub struct App<S = ()> {
    meta: AppMeta,
    router: APIRouter<S>,
    middleware: Vec<Arc<dyn Middleware>>,
    state: AppState,
    multipart: MultipartLimits,
    proxies: TrustedProxies,
    hooks: Hooks,
    redirect_slashes: bool,
    /// The app-wide compression ([`App::compression`]).
    #[cfg(coding)]
    compression: Option<crate::http::coding::Compression>,
    /// What other parts of the program add ([`App::extension`]).
    extensions: Extensions,
}

impl<S> std::fmt::Debug for App<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("meta", &self.meta)
            .field("router", &self.router)
            .field("middleware", &self.middleware.len())
            .finish_non_exhaustive()
    }
}

impl Default for App {
    fn default() -> App {
        App::new()
    }
}

impl App {
    /// An empty app titled "nanoapi", version "0.1.0", without state.
    pub fn new() -> App {
        App {
            meta: AppMeta {
                title: "nanoapi".into(),
                version: "0.1.0".into(),
                description: None,
            },
            router: APIRouter::new(),
            middleware: Vec::new(),
            state: AppState::default(),
            multipart: MultipartLimits::default(),
            proxies: TrustedProxies::default(),
            hooks: Hooks::default(),
            redirect_slashes: true,
            #[cfg(coding)]
            compression: None,
            extensions: crate::default_extensions(),
        }
    }

    /// The app with `state` shared by every worker, which its handlers take with
    /// [`State<T>`] (the whole state, or the parts [`FromRef`] gives). Each request's
    /// `State<T>` is a clone: wrap large state in an `Arc`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use nanoapi::app::{App, State};
    ///
    /// async fn hit(State(hits): State<Arc<AtomicU64>>) -> String {
    ///     (hits.fetch_add(1, Ordering::Relaxed) + 1).to_string()
    /// }
    ///
    /// let client = App::new().with_state(Arc::new(AtomicU64::new(0))).get("/", hit).test_client();
    /// assert_eq!(client.get("/").send().text(), "1");
    /// assert_eq!(client.get("/").send().text(), "2");
    /// ```
    pub fn with_state<S: Send + Sync + 'static>(self, state: S) -> App<S> {
        self.into_state(AppState::shared(state))
    }

    /// The app with state built on each worker: `make(worker_index)` runs on the worker, before
    /// it accepts a connection, and the value stays there, so it need not be `Send` (an `Rc`
    /// cache, a connection pool per core: the thread-per-core runtime's
    /// [`serve_per_worker`](crate::server::serve_per_worker) for the App). Handlers take it
    /// with [`State<T>`], as shared state. Outside a server (the [`TestClient`], the serverless
    /// adapters) the value is built on the thread that first needs it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use nanoapi::app::{App, State};
    ///
    /// /// This worker's number and its count of requests: no lock, no atomics.
    /// #[derive(Clone)]
    /// struct Local { worker: usize, served: Rc<Cell<u64>> }
    ///
    /// async fn hit(State(local): State<Local>) -> String {
    ///     local.served.set(local.served.get() + 1);
    ///     format!("worker {} served {}", local.worker, local.served.get())
    /// }
    ///
    /// let client = App::new()
    ///     .per_worker(|worker| Local { worker, served: Rc::default() })
    ///     .get("/", hit)
    ///     .test_client();
    /// assert_eq!(client.get("/").send().text(), "worker 0 served 1");
    /// assert_eq!(client.get("/").send().text(), "worker 0 served 2");
    /// ```
    pub fn per_worker<S, F>(self, make: F) -> App<S>
    where
        S: 'static,
        F: Fn(usize) -> S + Send + Sync + 'static,
    {
        self.into_state(AppState::per_worker(make))
    }

    /// The app with another state, its routes kept (they need none).
    fn into_state<S>(self, state: AppState) -> App<S> {
        App {
            router: self.router.into_state(),
            state,
            meta: self.meta,
            middleware: self.middleware,
            multipart: self.multipart,
            proxies: self.proxies,
            hooks: self.hooks,
            redirect_slashes: self.redirect_slashes,
            #[cfg(coding)]
            compression: self.compression,
            extensions: self.extensions,
        }
    }
}

impl<S: 'static> App<S> {
    /// Whether a path that matches no route but would with its trailing slash removed (or
    /// one added) is answered with a 307 redirect to that path (default: yes, as FastAPI's
    /// `redirect_slashes=True`); with `false`, it is a 404.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::app::App;
    ///
    /// async fn items() -> &'static str { "items" }
    ///
    /// let client = App::new().get("/items", items).test_client();
    /// let resp = client.get("/items/?page=2").header("host", "api.example").send();
    /// assert_eq!(resp.status(), 307);
    /// assert_eq!(resp.header("location"), Some("http://api.example/items?page=2"));
    ///
    /// let client = App::new().get("/items", items).redirect_slashes(false).test_client();
    /// assert_eq!(client.get("/items/").send().status(), 404);
    /// ```
    pub fn redirect_slashes(mut self, redirect: bool) -> App<S> {
        self.redirect_slashes = redirect;
        self
    }

    /// The API title.
    pub fn title(mut self, title: impl Into<String>) -> App<S> {
        self.meta.title = title.into();
        self
    }

    /// The API version.
    pub fn version(mut self, version: impl Into<String>) -> App<S> {
        self.meta.version = version.into();
        self
    }

    /// The API description.
    pub fn description(mut self, description: impl Into<String>) -> App<S> {
        self.meta.description = Some(description.into());
        self
    }

    /// Adds a route.
    pub fn route(mut self, route: Route<S>) -> App<S> {
        self.router = self.router.route(route);
        self
    }

    method_routes!(
        get => "GET", post => "POST", put => "PUT", patch => "PATCH",
        delete => "DELETE", head => "HEAD", options => "OPTIONS"
    );

    /// A `GET` (and `HEAD`) route answered with a fixed `response`, rendered once. When no
    /// middleware applies to it, the runtime answers it from its static-response cache without
    /// calling the app at all; otherwise (and in the test client and serverless adapters) the
    /// same response goes through dispatch. The bytes on the wire are the same either way.
    ///
    /// # Panics
    ///
    /// If `response` has a streamed body.
    pub fn get_static(self, path: &str, response: Response) -> App<S> {
        self.route(Route::get_static(path, response))
    }

    /// Serves the files of a directory under `prefix` (`/static/{*path}`), with everything
    /// [`FileResponse`] does and no way out of the directory (see [`StaticFiles`]).
    ///
    /// # Panics
    ///
    /// If the directory does not exist.
    pub fn mount(self, prefix: &str, files: StaticFiles) -> App<S> {
        self.route(files.into_route(prefix))
    }

    /// Includes a router's routes.
    pub fn include_router(mut self, router: APIRouter<S>) -> App<S> {
        self.router = self.router.include_router(router);
        self
    }

    /// Adds a middleware function around every request (404s and 405s included), in
    /// registration order: the first added runs first.
    pub fn middleware<F>(self, f: F) -> App<S>
    where
        F: for<'a> AsyncFn(&'a mut Request, Next<'a>) -> Response + Send + Sync + 'static,
    {
        self.add_middleware(FnMiddleware::<F, ()>::new(f))
    }

    /// Adds a middleware function around every request (404s and 405s included) that reads
    /// the app's state. It takes a [`Next<'_, S>`](Next), whose [`state`](Next::state) and
    /// [`context`](Next::context) hold the state typed.
    pub fn middleware_with_state<F>(self, f: F) -> App<S>
    where
        F: for<'a> AsyncFn(&'a mut Request, Next<'a, S>) -> Response + Send + Sync + 'static,
        S: 'static,
    {
        self.add_middleware(FnMiddleware::<F, S>::new(f))
    }

    /// Adds a middleware value (CORS, request id, ...) around every request.
    pub fn add_middleware(mut self, middleware: impl Middleware) -> App<S> {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// Compresses every response as the request's `Accept-Encoding` allows (see
    /// [`Compression`]), around all middleware, and lets the server render the compressed
    /// variants of [`get_static`](App::get_static) routes once at start-up: those stay in the
    /// static-response cache, picked per request without compressing anything. A route or router with `Compression::none()` (or its own
    /// `Compression` as middleware) decides for itself.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "compression-br")] {
    /// use nanoapi::app::App;
    /// use nanoapi::http::coding::Compression;
    /// use nanoapi::http::{Response, StatusCode};
    ///
    /// let page = Response::html(StatusCode::OK, "<p>static page</p>".repeat(100));
    /// let client = App::new()
    ///     .compression(Compression::new())
    ///     .get_static("/", page)
    ///     .test_client();
    /// let resp = client.get("/").header("accept-encoding", "gzip, br").send();
    /// assert_eq!(resp.header("content-encoding"), Some("br"));
    /// # }
    /// ```
    #[cfg(coding)]
    pub fn compression(mut self, compression: crate::http::coding::Compression) -> App<S> {
        self.compression = Some(compression);
        self
    }

    /// The limits of every [`Multipart`] body (default: [`MultipartLimits::default`]).
    pub fn multipart_limits(mut self, limits: MultipartLimits) -> App<S> {
        self.multipart = limits;
        self
    }

    /// Trusts forwarding headers from these proxies (see [`ClientAddr`]).
    ///
    /// # Panics
    ///
    /// On an entry that is not an address or CIDR network.
    pub fn trusted_proxies<'a>(mut self, proxies: impl IntoIterator<Item = &'a str>) -> App<S> {
        self.proxies = TrustedProxies::parse(proxies).unwrap_or_else(|err| panic!("{err}"));
        self
    }

    /// Runs `hook` on each worker when the server starts, on that worker's executor, before it
    /// accepts connections (as a server with several worker processes runs FastAPI's start-up
    /// events once in each); the server has started when every worker's hooks have finished.
    pub fn on_startup<F, Fut>(mut self, hook: F) -> App<S>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.hooks.startup.push(boxed_hook(hook));
        self
    }

    /// Runs `hook` on each worker, on its executor, once its connections have closed after the
    /// server began to drain (or when 90 % of the shutdown timeout has passed, if some are
    /// still open).
    pub fn on_shutdown<F, Fut>(mut self, hook: F) -> App<S>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.hooks.shutdown.push(boxed_hook(hook));
        self
    }

    /// Adds `extension` (in the place of one of the same type): routes it makes from the
    /// app's when the app is built, and settings readable on the built service through
    /// [`AppService::extension`]. A new app starts with the crate's own: with feature
    /// `openapi`, the OpenAPI document and its pages (`nanoapi::openapi::Docs`).
    pub fn extension(mut self, extension: impl AppExtension) -> App<S> {
        self.extensions.insert(extension);
        self
    }

    /// The app's extension of type `T`, added with its default value if it had none: how an
    /// extension's settings are changed in place (the `nanoapi::openapi::DocsExt` methods do).
    pub fn extension_mut<T: AppExtension + Default>(&mut self) -> &mut T {
        self.extensions.get_or_default::<T>()
    }

    /// Compiles the app for serving: its routes, then those its [extensions](App::extension)
    /// make from them (with feature `openapi`, the document rendered once and its pages).
    ///
    /// # Errors
    ///
    /// A bad path pattern, or two routes that would match the same requests.
    pub fn build(mut self) -> Result<AppService, RouteError> {
        let mut routes = std::mem::take(&mut self.router).into_routes();
        self.extensions.add_routes(&self.meta, &mut routes);
        self.router.routes = routes;
        AppService::compile(self)
    }

    /// A client that drives this app in-process (see [`TestClient`]).
    ///
    /// # Panics
    ///
    /// If the app does not compile (see [`build`](App::build)).
    pub fn test_client(self) -> TestClient {
        TestClient::new(self.build().unwrap_or_else(|err| panic!("{err}")))
    }

    /// Starts serving with `options` and returns once every worker has run the start-up hooks
    /// and built its [`per_worker`](App::per_worker) state; static routes go into the runtime's
    /// cache.
    ///
    /// # Errors
    ///
    /// A route error, the address cannot be bound, or a start-up hook or a `per_worker`
    /// function panicked.
    pub fn serve(self, options: Options) -> io::Result<AppServer> {
        let (service, options) = self.prepare(options)?;
        let service = Arc::new(service);
        let workers = AppWorkers {
            service: service.clone(),
        };
        let handle = crate::server::serve_workers(options, workers, SharedService(service))?;
        Ok(AppServer { handle })
    }

    /// Serves with options from the environment until SIGINT/SIGTERM, drains, then runs the
    /// shutdown hooks. Blocks.
    ///
    /// # Errors
    ///
    /// Bad environment values, a route error, or the address cannot be bound.
    pub fn run(self) -> io::Result<()> {
        self.serve(Options::from_env()?)?.wait_for_signal()
    }

    /// Serves the app as an AWS Lambda function (the Runtime API loop of
    /// [`serverless::lambda`](crate::serverless::lambda)): start-up hooks run first; a route
    /// error is reported to Lambda as an init error. Every route behaves as over HTTP (static
    /// routes go through dispatch).
    ///
    /// # Errors
    ///
    /// `AWS_LAMBDA_RUNTIME_API` unset, a route error, or a failure of the Runtime API.
    #[cfg(feature = "serverless")]
    #[cfg_attr(docsrs, doc(cfg(feature = "serverless")))]
    pub fn run_lambda(self) -> io::Result<()> {
        let service = match self.build() {
            Ok(service) => service,
            Err(err) => {
                return crate::serverless::lambda::run_with(|| Err::<((), AppService), _>(err));
            }
        };
        let config = crate::serverless::lambda::Config::from_env()?;
        crate::executor::block_on(async {
            Hooks::run(&service.hooks.startup).await;
            crate::serverless::lambda::serve(&config, &(), &service).await
        })
    }

    fn prepare(self, mut options: Options) -> io::Result<(AppService, Options)> {
        let service = self
            .build()
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
        for route in &service.routes {
            if service.cacheable(route)
                && let Some(fixed) = &route.fixed
            {
                options = options.static_response("GET", &route.path, fixed.to_response());
            }
        }
        #[cfg(coding)]
        if let Some(compression) = &service.compression {
            options = options.static_compression(compression.clone());
        }
        Ok((service, options))
    }
}

fn boxed_hook<F, Fut>(hook: F) -> Hook
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    Box::new(move || Box::pin(hook()))
}

/// An [`AppService`] behind an `Arc`, so the server and the [`AppServer`] share it.
struct SharedService(Arc<AppService>);

impl crate::server::Dispatch<()> for SharedService {
    fn dispatch<'a>(
        &'a self,
        ctx: &'a (),
        req: &'a mut Request,
        w: &'a mut crate::server::ResponseWriter,
    ) -> impl Future<Output = crate::Result<()>> + 'a {
        self.0.dispatch(ctx, req, w)
    }
}

/// A running app: its server handle (the shutdown hooks run on the workers as they drain).
pub struct AppServer {
    handle: ServerHandle,
}

impl AppServer {
    /// The runtime's handle (address, draining state).
    pub fn handle(&self) -> &ServerHandle {
        &self.handle
    }

    /// Drains the server, the workers running the shutdown hooks (awaitable from any
    /// executor).
    pub async fn shutdown(&self) {
        self.handle.shutdown().await;
    }

    /// Drains the server, the workers running the shutdown hooks, blocking this thread.
    pub fn shutdown_blocking(&self) {
        self.handle.shutdown_blocking();
    }

    /// Serves until SIGINT or SIGTERM, then drains ([`ServerHandle::wait_for_signal`]: a
    /// second signal exits at once, the shutdown timeout is a deadline), the workers running
    /// the shutdown hooks. What [`App::run`] does once the server has started, for a program
    /// that needs the handle first (to print its port).
    ///
    /// # Errors
    ///
    /// `TimedOut` when workers were still stuck at the shutdown deadline.
    pub fn wait_for_signal(&self) -> io::Result<()> {
        self.handle.wait_for_signal()
    }
}

impl std::fmt::Debug for AppServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppServer")
            .field("addr", &self.handle.local_addr())
            .finish_non_exhaustive()
    }
}
