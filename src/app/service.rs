//! The compiled app: an immutable router and the `Dispatch` implementation the runtime calls.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use super::MultipartLimits;
use super::doc::OperationDoc;
use super::extract::{RequestContext, TrustedProxies, decode_path_param};
use super::handler::{Endpoint, LocalBoxFuture};
use super::lifecycle::{BackgroundTasks, Hooks};
use super::middleware::{Inner, Middleware, Next};
use super::response::{HttpException, IntoResponse};
use super::router::{Captures, PathTree, Pattern, RouteError};
use super::routes::FixedResponse;
use super::small_list::SmallList;
use super::state::AppState;
use super::{App, AppExtension};
use crate::http::{Response, StatusCode};
use crate::server::{Dispatch, Request, ResponseWriter};

/// One compiled route.
pub(crate) struct CompiledRoute {
    pub method: String,
    pub path: String,
    pub param_names: Vec<String>,
    pub endpoint: Arc<dyn Endpoint>,
    pub middleware: Vec<Arc<dyn Middleware>>,
    pub doc: OperationDoc,
    pub fixed: Option<FixedResponse>,
    /// The status of the handler's `200 OK` answers ([`Route::status`](super::Route::status)).
    pub status: Option<StatusCode>,
}

/// The routes sharing one path shape, by method.
struct PathEndpoint {
    /// Indexes into `routes`, in registration order.
    routes: Vec<usize>,
    /// The `Allow` value of a 405.
    allow: Bytes,
}

/// An [`App`] compiled for serving: immutable, shared by every worker. It implements
/// [`Dispatch<()>`](Dispatch), so any runtime entry point serves it; [`App::serve`] and
/// [`App::run`] do that for you.
pub struct AppService {
    tree: PathTree,
    endpoints: Vec<PathEndpoint>,
    pub(crate) routes: Vec<CompiledRoute>,
    middleware: Vec<Arc<dyn Middleware>>,
    pub(crate) state: AppState,
    multipart: MultipartLimits,
    proxies: TrustedProxies,
    redirect_slashes: bool,
    pub(crate) hooks: Hooks,
    pub(crate) meta: super::AppMeta,
    #[cfg(coding)]
    pub(crate) compression: Option<crate::http::coding::Compression>,
    extensions: super::extension::Extensions,
}

impl AppService {
    pub(crate) fn compile<S: 'static>(app: App<S>) -> Result<AppService, RouteError> {
        let App {
            meta,
            router,
            middleware,
            state,
            multipart,
            proxies,
            hooks,
            redirect_slashes,
            #[cfg(coding)]
            compression,
            extensions,
        } = app;
        let mut tree = PathTree::default();
        let mut endpoints: Vec<PathEndpoint> = Vec::new();
        let mut shapes: HashMap<String, usize> = HashMap::new();
        let mut routes: Vec<CompiledRoute> = Vec::new();
        for route in router.into_routes() {
            let pattern = Pattern::parse(&route.path)?;
            if !route
                .method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
                || route.method.is_empty()
            {
                return Err(RouteError(format!(
                    "route {:?}: method {:?} is not a token",
                    route.path, route.method
                )));
            }
            let endpoint_index = *shapes.entry(pattern.shape()).or_insert_with(|| {
                tree.insert(&pattern, endpoints.len());
                endpoints.push(PathEndpoint {
                    routes: Vec::new(),
                    allow: Bytes::new(),
                });
                endpoints.len() - 1
            });
            let endpoint = &mut endpoints[endpoint_index];
            if let Some(&clash) = endpoint
                .routes
                .iter()
                .find(|&&i| routes[i].method == route.method)
            {
                return Err(RouteError(format!(
                    "{} {} conflicts with {} {}: both match the same requests",
                    route.method, route.path, routes[clash].method, routes[clash].path
                )));
            }
            let mut endpoint_fn = route.endpoint;
            let mut fixed = route.fixed;
            let status = match route.doc.status.filter(|&code| code != 200) {
                Some(code) => Some(StatusCode::from_u16(code).map_err(|_| {
                    RouteError(format!(
                        "{} {}: {code} is not an HTTP status (Route::status)",
                        route.method, route.path
                    ))
                })?),
                None => None,
            };
            // A fixed response takes the route's status once, here.
            if let (Some(status), Some(response)) = (status, &mut fixed)
                && response.status == StatusCode::OK
            {
                response.status = status;
                endpoint_fn = Arc::new(response.clone());
            }
            endpoint.routes.push(routes.len());
            routes.push(CompiledRoute {
                method: route.method,
                param_names: pattern.param_names().map(str::to_owned).collect(),
                path: route.path,
                endpoint: endpoint_fn,
                middleware: route.middleware,
                doc: route.doc,
                fixed,
                status,
            });
        }
        for endpoint in &mut endpoints {
            endpoint.allow =
                allow_value(endpoint.routes.iter().map(|&i| routes[i].method.as_str()));
        }
        Ok(AppService {
            tree,
            endpoints,
            routes,
            middleware,
            state,
            multipart,
            proxies,
            redirect_slashes,
            hooks,
            meta,
            #[cfg(coding)]
            compression,
            extensions,
        })
    }

    /// Every route: method, path pattern and documentation, in registration order (for the
    /// OpenAPI document and deploy manifests).
    pub fn operations(&self) -> impl Iterator<Item = (&str, &str, &OperationDoc)> {
        self.routes
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str(), &r.doc))
    }

    /// The app's extension of type `T` (see [`App::extension`]), if it has one.
    pub fn extension<T: AppExtension>(&self) -> Option<&T> {
        self.extensions.get::<T>()
    }

    /// The app's metadata (title, version, description).
    pub fn meta(&self) -> &super::AppMeta {
        &self.meta
    }

    /// Whether a request for this route could skip dispatch entirely (no middleware anywhere).
    pub(crate) fn cacheable(&self, route: &CompiledRoute) -> bool {
        route.fixed.is_some() && route.middleware.is_empty() && self.middleware.is_empty()
    }

    /// Answers `req` (app middleware, routing, route middleware, handler).
    pub async fn handle(&self, req: &mut Request) -> Response {
        let resp = if self.middleware.is_empty() {
            self.route(req, None).await
        } else {
            let state = self.state.get();
            let inner = AppInner {
                app: self,
                state: state.get(),
            };
            Next::new(&self.middleware, &inner).run(req).await
        };
        #[cfg(coding)]
        if let Some(compression) = &self.compression {
            return super::middleware::compress_once(compression, req, resp);
        }
        resp
    }

    /// Routes `req` and runs the route's chain; `state` is the request's, if the app's
    /// middleware already took it (else it is taken here, once a handler needs it).
    async fn route(&self, req: &mut Request, state: Option<&dyn Any>) -> Response {
        let mut captures = Captures::default();
        // Matched (and captured from) with unreserved characters decoded: `/%69tems` is
        // `/items`, as for Starlette; `%2F` stays encoded, so it never splits a segment.
        let path = decode_unreserved(req.path());
        let Some(index) = self.tree.find(&path, &mut captures) else {
            return self.not_found(req, &path);
        };
        let endpoint = &self.endpoints[index];
        let method = req.method_bytes();
        let find = |name: &[u8]| {
            endpoint
                .routes
                .iter()
                .map(|&i| &self.routes[i])
                .find(|r| r.method.as_bytes() == name)
        };
        let route = crate::http::route_for_method(method, find);
        // OPTIONS without a route of its own is a 405 as any other method, as in FastAPI (CORS
        // preflights are answered by the CORS middleware before routing).
        let route = match route {
            Some(route) => route,
            None => {
                return HttpException::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
                    .header("Allow", endpoint.allow.clone())
                    .into_response();
            }
        };
        // A fixed response needs neither parameters nor a call through its endpoint.
        if let Some(fixed) = &route.fixed
            && route.middleware.is_empty()
        {
            return fixed.to_response();
        }
        // Path parameters outlive this borrow of the request (the handler takes it mutably), so
        // they borrow the head's bytes, shared (a reference count), or the decoded path.
        let path_text: Bytes;
        let mut params: SmallList<(Cow<'_, str>, Cow<'_, str>), 4>;
        let params = if route.param_names.is_empty() {
            &[][..]
        } else {
            path_text = match path {
                Cow::Borrowed(_) => req.head_bytes().slice_ref(req.path()),
                Cow::Owned(decoded) => Bytes::from(decoded),
            };
            params = SmallList::with_capacity(route.param_names.len());
            for (name, &(start, end)) in route.param_names.iter().zip(captures.as_slice()) {
                params.push((
                    Cow::Borrowed(name.as_str()),
                    decode_path_param(&path_text[start..end]),
                ));
            }
            params.as_slice()
        };
        let taken;
        let state = match state {
            Some(state) => state,
            None => {
                taken = self.state.get();
                taken.get()
            }
        };
        let cx = RequestContext {
            params,
            state,
            proxies: &self.proxies,
            multipart: &self.multipart,
            status: route.status,
        };
        if route.middleware.is_empty() {
            route.endpoint.call(req, &cx).await
        } else {
            let inner = RouteInner {
                endpoint: &*route.endpoint,
                cx: &cx,
            };
            Next::new(&route.middleware, &inner).run(req).await
        }
    }

    /// The answer for a path no route matches: a 307 to the same path with its trailing
    /// slash removed (or one added) when that matches a route (Starlette's
    /// `redirect_slashes`), else 404.
    fn not_found(&self, req: &Request, path: &[u8]) -> Response {
        let not_found = || HttpException::new(StatusCode::NOT_FOUND, "Not Found").into_response();
        if !self.redirect_slashes || path == b"/" {
            return not_found();
        }
        let other: Vec<u8> = match path.iter().rposition(|&b| b != b'/') {
            Some(last) if last + 1 < path.len() => path[..=last].to_vec(),
            Some(_) => [path, b"/"].concat(),
            None => return not_found(),
        };
        if self.tree.find(&other, &mut Captures::default()).is_none() {
            return not_found();
        }
        // Starlette redirects to the absolute URL of the request, rebuilt from its Host.
        let mut location = match req.header("host") {
            Some(host) => [b"http://", host].concat(),
            None => Vec::new(),
        };
        location.extend_from_slice(&other);
        if let Some(query) = req.query() {
            location.push(b'?');
            location.extend_from_slice(query);
        }
        Response::empty(StatusCode::TEMPORARY_REDIRECT)
            .header("Location", Bytes::from(location))
            .unwrap_or_else(|_| not_found())
    }
}

/// `path` with the percent-escapes of unreserved characters (RFC 3986: letters, digits,
/// `-._~`) decoded; other escapes kept as sent. Borrowed when there is nothing to decode.
fn decode_unreserved(path: &[u8]) -> Cow<'_, [u8]> {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    let hex = |b: u8| (b as char).to_digit(16);
    let escaped = |i: usize| {
        let (high, low) = (hex(*path.get(i + 1)?)?, hex(*path.get(i + 2)?)?);
        let byte = (high * 16 + low) as u8;
        unreserved(byte).then_some(byte)
    };
    if !path.contains(&b'%') || !(0..path.len()).any(|i| path[i] == b'%' && escaped(i).is_some()) {
        return Cow::Borrowed(path);
    }
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        match (path[i], escaped(i)) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// `GET, HEAD, POST`: the registered methods, HEAD after GET.
fn allow_value<'a>(methods: impl Iterator<Item = &'a str>) -> Bytes {
    let mut list: Vec<&str> = Vec::new();
    for method in methods {
        if !list.contains(&method) {
            list.push(method);
        }
        if method == "GET" && !list.contains(&"HEAD") {
            list.push("HEAD");
        }
    }
    Bytes::from(list.join(", "))
}

/// The end of the app's middleware chain: the router, with the request's state.
struct AppInner<'a> {
    app: &'a AppService,
    state: &'a dyn Any,
}

impl Inner for AppInner<'_> {
    fn call<'b>(&'b self, req: &'b mut Request) -> LocalBoxFuture<'b, Response> {
        Box::pin(self.app.route(req, Some(self.state)))
    }

    fn context(&self) -> RequestContext<'_, dyn Any> {
        RequestContext {
            params: &[],
            state: self.state,
            proxies: &self.app.proxies,
            multipart: &self.app.multipart,
            status: None,
        }
    }
}

/// The end of a route's middleware chain: its handler.
struct RouteInner<'a> {
    endpoint: &'a dyn Endpoint,
    cx: &'a RequestContext<'a, dyn Any>,
}

impl Inner for RouteInner<'_> {
    fn call<'b>(&'b self, req: &'b mut Request) -> LocalBoxFuture<'b, Response> {
        self.endpoint.call(req, self.cx)
    }

    fn context(&self) -> RequestContext<'_, dyn Any> {
        *self.cx
    }
}

impl Dispatch<()> for AppService {
    async fn dispatch<'a>(
        &'a self,
        _ctx: &'a (),
        req: &'a mut Request,
        w: &'a mut ResponseWriter,
    ) -> crate::Result<()> {
        let resp = self.handle(req).await;
        #[cfg(feature = "ws")]
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS
            && let Some(upgrade) = req
                .extensions_mut()
                .remove::<super::websocket::UpgradeSlot>()
                .and_then(|slot| slot.take())
        {
            // A WebSocket route's answer: the connection is the handler's from here on, in a
            // task of its own, so that this exchange (the request, its handler's future) ends
            // and its memory goes back rather than stay with every open socket.
            let io = w.upgrade(resp).await?;
            crate::executor::spawn_local(upgrade(io)).detach();
            return Ok(());
        }
        w.send(resp).await?;
        if let Some(tasks) = req.extensions_mut().remove::<BackgroundTasks>()
            && !tasks.is_empty()
        {
            // As Starlette does: the response is on the wire first, then the tasks run, before
            // this connection's next request.
            w.flush().await?;
            tasks.run().await;
        }
        Ok(())
    }
}

impl fmt::Debug for AppService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppService")
            .field("title", &self.meta.title)
            .field("routes", &self.routes.len())
            .finish_non_exhaustive()
    }
}
