//! OpenAPI 3.1 for the App overlay (feature `openapi`, on by default): the document generated
//! from the registered routes, the pages that show it (Swagger UI at `/docs`, ReDoc at
//! `/redoc`), a deploy manifest, and enforced [security schemes](security).
//!
//! Nothing is declared twice: every extractor and response type records what it reads and
//! returns when its route is registered ([`OperationDoc`]), and the schemas come from the
//! types' `schemars::JsonSchema` derives, constraints included, the same schemas that drive
//! the 422 checks.
//!
//! [`App::build`](crate::app::App::build) renders the document once and serves it, with the two
//! pages, as fixed responses (from the runtime's static cache when no middleware applies).
//!
//! # Operation ids
//!
//! FastAPI's default id is the handler's name followed by the path and the method, every
//! non-word character replaced by `_` (`read_user` + `/users/{user_id}` + `get` gives
//! `read_user_users__user_id__get`). A Rust handler has no name at run time, so nanoapi drops
//! that prefix and its separator: `GET /users/{user_id}` is `users__user_id__get`, and `GET /`
//! is `root_get`. Ids are unique within a document: a path that maps onto an id already taken
//! gets `_2`, `_3`, ... appended. [`Route::operation_id`](crate::app::Route::operation_id)
//! overrides the id.
//!
//! # Examples
//!
//! ```
//! use nanoapi::app::{App, Json, Path};
//!
//! #[derive(serde::Serialize, schemars::JsonSchema)]
//! struct User { user_id: u64 }
//!
//! async fn read_user(Path(user_id): Path<u64>) -> Json<User> {
//!     Json(User { user_id })
//! }
//!
//! let client = App::new().title("Users").get("/users/{user_id}", read_user).test_client();
//! let doc: serde_json::Value = client.get("/openapi.json").send().json();
//! assert_eq!(doc["openapi"], "3.1.0");
//! let op = &doc["paths"]["/users/{user_id}"]["get"];
//! assert_eq!(op["operationId"], "users__user_id__get");
//! assert_eq!(op["parameters"][0]["name"], "user_id");
//! assert_eq!(op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
//!            "#/components/schemas/User");
//! assert!(doc["components"]["schemas"]["HTTPValidationError"].is_object());
//! assert!(client.get("/docs").send().text().contains("SwaggerUIBundle"));
//! ```

mod document;
mod pages;
pub mod security;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::app::routes::FixedResponse;
use crate::app::{App, AppExtension, AppMeta, AppService, OperationDoc, Route};
use crate::http::{Response, StatusCode};

pub(crate) use document::OperationIds;

/// The OpenAPI document and the pages that show it, as an [`AppExtension`]: where they are
/// served and what the document says beyond the routes. Every new [`App`] has one (with
/// feature `openapi`); change it with the [`DocsExt`] methods of the app.
///
/// # Examples
///
/// ```
/// use nanoapi::app::App;
/// use nanoapi::openapi::{Docs, DocsExt};
///
/// let service = App::new().docs_url(None).build().unwrap();
/// assert!(service.extension::<Docs>().is_some());
/// ```
#[derive(Debug, Clone)]
pub struct Docs {
    openapi_url: Option<String>,
    docs_url: Option<String>,
    redoc_url: Option<String>,
    /// The base URL of self-hosted page assets; `None`: the CDN.
    assets: Option<String>,
    servers: Vec<Value>,
}

impl Default for Docs {
    /// The document at `/openapi.json`, Swagger UI at `/docs`, ReDoc at `/redoc`, assets from
    /// the CDN, no `servers`: FastAPI's defaults.
    fn default() -> Docs {
        Docs {
            openapi_url: Some("/openapi.json".into()),
            docs_url: Some("/docs".into()),
            redoc_url: Some("/redoc".into()),
            assets: None,
            servers: Vec::new(),
        }
    }
}

impl AppExtension for Docs {
    /// The document and the pages, as fixed responses left out of the document.
    fn routes(&self, meta: &AppMeta, routes: &[Route]) -> Vec<Route> {
        docs_routes(meta, self, routes)
    }
}

/// Where an [`App`]'s OpenAPI document and pages are served, as methods of the app
/// (FastAPI's `openapi_url=`, `docs_url=`, `redoc_url=` and `servers=`); they change its
/// [`Docs`].
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub trait DocsExt: Sized {
    /// Where the OpenAPI document is served (default `/openapi.json`); `None` serves neither
    /// the document nor the pages that read it.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::app::App;
    /// use nanoapi::openapi::DocsExt;
    ///
    /// let client = App::new().openapi_url(Some("/api/schema.json")).test_client();
    /// assert_eq!(client.get("/api/schema.json").send().status(), 200);
    /// assert_eq!(client.get("/openapi.json").send().status(), 404);
    /// assert!(client.get("/docs").send().text().contains("url: \"/api/schema.json\""));
    ///
    /// let client = App::new().openapi_url(None).test_client();
    /// assert_eq!(client.get("/docs").send().status(), 404);
    /// ```
    fn openapi_url(self, url: Option<&str>) -> Self;

    /// Where Swagger UI is served (default `/docs`); `None` turns it off.
    fn docs_url(self, url: Option<&str>) -> Self;

    /// Where ReDoc is served (default `/redoc`); `None` turns it off.
    fn redoc_url(self, url: Option<&str>) -> Self;

    /// Loads the pages' scripts and styles from `base_url` instead of the CDN (jsDelivr, as
    /// FastAPI does): `swagger-ui-bundle.js`, `swagger-ui.css` and `favicon-32x32.png` from the
    /// `swagger-ui-dist` package and `redoc.standalone.js` from `redoc`, side by side, for a
    /// site without internet access.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::app::App;
    /// use nanoapi::openapi::DocsExt;
    ///
    /// let client = App::new().docs_assets("/static/").test_client();
    /// let page = client.get("/docs").send().text();
    /// assert!(page.contains(r#"<script src="/static/swagger-ui-bundle.js">"#));
    /// ```
    fn docs_assets(self, base_url: &str) -> Self;

    /// Adds an entry to the document's `servers` (its URL and an optional description).
    fn server(self, url: &str, description: Option<&str>) -> Self;
}

impl<S: 'static> DocsExt for App<S> {
    fn openapi_url(mut self, url: Option<&str>) -> App<S> {
        self.extension_mut::<Docs>().openapi_url = url.map(str::to_owned);
        self
    }

    fn docs_url(mut self, url: Option<&str>) -> App<S> {
        self.extension_mut::<Docs>().docs_url = url.map(str::to_owned);
        self
    }

    fn redoc_url(mut self, url: Option<&str>) -> App<S> {
        self.extension_mut::<Docs>().redoc_url = url.map(str::to_owned);
        self
    }

    fn docs_assets(mut self, base_url: &str) -> App<S> {
        self.extension_mut::<Docs>().assets = Some(base_url.trim_end_matches('/').to_owned());
        self
    }

    fn server(mut self, url: &str, description: Option<&str>) -> App<S> {
        let mut server = json!({ "url": url });
        if let Some(description) = description {
            server["description"] = description.into();
        }
        self.extension_mut::<Docs>().servers.push(server);
        self
    }
}

/// The OpenAPI document and the deploy manifest of a built app.
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub trait DocumentExt {
    /// The OpenAPI 3.1 document of this app (the one served at `/openapi.json`).
    fn openapi(&self) -> Value;

    /// The route manifest for deploy tooling: every route this app serves (the documentation
    /// routes and those left out of the document included), with the operation id the
    /// document gives it.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::app::App;
    /// use nanoapi::openapi::{DocsExt, DocumentExt};
    ///
    /// async fn list() -> &'static str { "[]" }
    ///
    /// let service = App::new().get("/items", list).openapi_url(None).build().unwrap();
    /// assert_eq!(
    ///     service.manifest().to_string(),
    ///     r#"{"runtime":"nanoapi","version":1,"routes":[{"method":"GET","path":"/items","operationId":"items_get"}]}"#
    /// );
    /// ```
    fn manifest(&self) -> Value;
}

impl DocumentExt for AppService {
    fn openapi(&self) -> Value {
        let operations = self
            .routes
            .iter()
            .map(|r| Operation::new(&r.method, &r.path, &r.doc, r.fixed.as_ref()));
        let default = Docs::default();
        let docs = self.extension::<Docs>().unwrap_or(&default);
        document::generate(self.meta(), docs, operations)
    }

    fn manifest(&self) -> Value {
        let mut ids = OperationIds::default();
        let routes: Vec<Value> = self
            .operations()
            .map(|(method, path, doc)| {
                let id = ids.assign(method, path, doc.operation_id.as_deref());
                json!({ "method": method, "path": path, "operationId": id })
            })
            .collect();
        json!({ "runtime": "nanoapi", "version": 1, "routes": routes })
    }
}

/// One route as the document sees it.
pub(crate) struct Operation<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub doc: &'a OperationDoc,
    /// The `Content-Type` of a fixed (`get_static`) response.
    pub fixed_media: Option<&'a [u8]>,
}

impl<'a> Operation<'a> {
    fn new(
        method: &'a str,
        path: &'a str,
        doc: &'a OperationDoc,
        fixed: Option<&'a FixedResponse>,
    ) -> Operation<'a> {
        Operation {
            method,
            path,
            doc,
            fixed_media: fixed.and_then(|f| f.headers.get("content-type")),
        }
    }
}

/// The routes [`Docs`] adds after the app's own: the document and the pages, as fixed
/// responses left out of the document. Called with the app's routes flattened.
fn docs_routes(meta: &AppMeta, config: &Docs, routes: &[Route]) -> Vec<Route> {
    let Some(openapi_url) = &config.openapi_url else {
        return Vec::new();
    };
    let operations = routes
        .iter()
        .map(|r| Operation::new(&r.method, &r.path, &r.doc, r.fixed.as_ref()));
    let document = document::generate(meta, config, operations);
    // Serializing a Value cannot fail.
    let body = serde_json::to_vec(&document).unwrap_or_default();
    let mut fixed = vec![(
        openapi_url.as_str(),
        Response::json_bytes(StatusCode::OK, Bytes::from(body)),
    )];
    let assets = pages::Assets::new(config.assets.as_deref());
    if let Some(url) = &config.docs_url {
        let page = pages::swagger_ui(&meta.title, openapi_url, &assets);
        fixed.push((url, Response::html(StatusCode::OK, page)));
        // FastAPI's swagger_ui_oauth2_redirect_url, at its default path.
        let redirect = Response::html(StatusCode::OK, pages::SWAGGER_OAUTH2_REDIRECT);
        fixed.push((pages::SWAGGER_OAUTH2_REDIRECT_URL, redirect));
    }
    if let Some(url) = &config.redoc_url {
        let page = pages::redoc(&meta.title, openapi_url, &assets);
        fixed.push((url, Response::html(StatusCode::OK, page)));
    }
    fixed
        .into_iter()
        .map(|(path, response)| Route::get_static(path, response).include_in_schema(false))
        .collect()
}
