//! Security schemes, enforced and documented: API keys (header, query, cookie), HTTP Bearer and
//! Basic, OAuth2 password bearer and OpenID Connect, as FastAPI's `fastapi.security` has them.
//!
//! # Design: configuration as types
//!
//! A scheme's configuration (the header name, the token URL, the scopes) is data, while a
//! handler's extractors are types, and an extractor describes itself for the document before
//! any request exists. So a scheme is declared once as a type implementing [`SecurityScheme`]:
//! its configuration is an associated `const` built with `const fn`s, and an optional
//! [`check`](SecurityScheme::check) decides whether valid-looking credentials are accepted.
//! The same type is then used as an extractor ([`Security<S>`], or `Option<Security<S>>`) or
//! as a dependency of a route or router ([`Route::security`], [`APIRouter::security`]), and
//! every use documents it: the scheme lands in `components.securitySchemes` under its name and
//! in the operation's `security` with its scopes.
//!
//! # Failures (FastAPI 0.122 and later)
//!
//! - Missing or malformed credentials: `401 {"detail":"Not authenticated"}` with the scheme's
//!   challenge in `WWW-Authenticate`: `APIKey` for API keys, `Bearer` for HTTP Bearer, OAuth2
//!   and OpenID Connect, `Basic` (or `Basic realm="..."`) for HTTP Basic. Before 0.122 FastAPI
//!   answered some of these with 403; nanoapi follows the current behaviour.
//! - [`check`](SecurityScheme::check) returning [`Denied::Unauthenticated`]: `401
//!   {"detail":"Invalid authentication credentials"}` with the same challenge.
//! - [`check`](SecurityScheme::check) returning [`Denied::Forbidden`]: `403
//!   {"detail":"Not enough permissions"}`.
//! - `Option<Security<S>>` is FastAPI's `auto_error=False`: missing or malformed credentials
//!   give the handler `None`; credentials that [`check`](SecurityScheme::check) refuses are
//!   still answered 401 or 403 (FastAPI leaves that check to the handler's own code).
//!
//! # Examples
//!
//! ```
//! use nanoapi::app::App;
//! use nanoapi::openapi::DocumentExt;
//! use nanoapi::openapi::security::{
//!     APIKeyHeader, Denied, Security, SecurityScheme, constant_time_eq,
//! };
//!
//! struct ApiKey;
//!
//! impl SecurityScheme for ApiKey {
//!     type Scheme = APIKeyHeader;
//!     const SCHEME: APIKeyHeader = APIKeyHeader::new("X-API-Key");
//!
//!     async fn check(key: &String) -> Result<(), Denied> {
//!         if constant_time_eq(key, "secret") { Ok(()) } else { Err(Denied::Forbidden) }
//!     }
//! }
//!
//! async fn me(Security(key): Security<ApiKey>) -> String {
//!     format!("key of {} bytes", key.len())
//! }
//!
//! let client = App::new().get("/me", me).test_client();
//! let resp = client.get("/me").send();
//! assert_eq!(resp.status(), 401);
//! assert_eq!(resp.header("www-authenticate"), Some("APIKey"));
//! assert_eq!(resp.text(), r#"{"detail":"Not authenticated"}"#);
//! assert_eq!(client.get("/me").header("x-api-key", "guess").send().status(), 403);
//! assert_eq!(client.get("/me").header("x-api-key", "secret").send().text(), "key of 6 bytes");
//!
//! let doc = client.service().openapi();
//! assert_eq!(doc["paths"]["/me"]["get"]["security"], serde_json::json!([{"APIKeyHeader": []}]));
//! assert_eq!(
//!     doc["components"]["securitySchemes"]["APIKeyHeader"],
//!     serde_json::json!({"type": "apiKey", "in": "header", "name": "X-API-Key"})
//! );
//! ```

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::app::extract::params::parse_urlencoded;
use crate::app::{
    APIRouter, Cookies, FromRequestParts, HttpException, IntoResponse, LocalBoxFuture, Middleware,
    Next, OperationDoc, Rejection, RequestContext, RequestParts, Route, SecurityDoc,
};
use crate::http::{Response, StatusCode};
use crate::server::Request;

/// A kind of security scheme (an API key in a header, HTTP Bearer, ...) with its
/// configuration: how credentials are read from a request and how the scheme is documented.
///
/// Implemented by [`APIKeyHeader`], [`APIKeyQuery`], [`APIKeyCookie`], [`HTTPBearer`],
/// [`HTTPBasic`], [`OAuth2PasswordBearer`] and [`OpenIdConnect`].
pub trait Scheme: Send + Sync + 'static {
    /// What a request that carries credentials yields.
    type Credentials: Send + 'static;

    /// The scheme's name in `components.securitySchemes`.
    fn name(&self) -> &'static str;

    /// The OpenAPI Security Scheme Object.
    fn object(&self) -> Value;

    /// The `WWW-Authenticate` value of a 401.
    fn challenge(&self) -> String;

    /// The credentials `req` carries, or `None` when they are missing or malformed.
    fn credentials(&self, req: &Request) -> Option<Self::Credentials>;
}

/// A security scheme as an application declares it: a type naming a configured [`Scheme`],
/// the scopes its uses require, and an optional check of the credentials.
///
/// See the [module documentation](self) for an example.
pub trait SecurityScheme: Send + Sync + 'static {
    /// The kind of scheme.
    type Scheme: Scheme;

    /// Its configuration.
    const SCHEME: Self::Scheme;

    /// The scopes an operation protected by this type requires (OAuth2, OpenID Connect),
    /// listed in the operation's `security`.
    const SCOPES: &'static [&'static str] = &[];

    /// Decides whether well-formed credentials are accepted (the default accepts all).
    /// Compare secrets with [`constant_time_eq`].
    fn check(credentials: &CredentialsOf<Self>) -> impl Future<Output = Result<(), Denied>> {
        let _ = credentials;
        std::future::ready(Ok(()))
    }

    /// [`check`](SecurityScheme::check) with the request at hand, for checks that look at
    /// other parts of it. The default calls `check`. A check against the app's state (a token
    /// store, a database) is a dependency of its own over [`Security<S>`] (see its example).
    fn check_request(
        credentials: &CredentialsOf<Self>,
        req: &Request,
    ) -> impl Future<Output = Result<(), Denied>> {
        let _ = req;
        Self::check(credentials)
    }
}

/// The credentials type of a [`SecurityScheme`].
pub type CredentialsOf<S> = <<S as SecurityScheme>::Scheme as Scheme>::Credentials;

/// Why [`SecurityScheme::check`] refused credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The credentials are not valid (an unknown key, a wrong password): 401 with the scheme's
    /// challenge.
    Unauthenticated,
    /// The credentials are valid but do not allow this: 403.
    Forbidden,
}

/// The credentials of a request, checked: a handler argument that answers 401 or 403 itself
/// (see the [module documentation](self)); `Option<Security<S>>` yields `None` when there are
/// none.
///
/// # Examples
///
/// A check against the app's state: a dependency that reads the credentials with
/// `Security<S>`, then looks them up in a token store the app holds (FastAPI's
/// `Depends(get_current_user)` over a `Security` dependency).
///
/// ```
/// use std::collections::HashSet;
/// use std::sync::Arc;
/// use nanoapi::app::{
///     App, FromRef, FromRequestParts, HttpException, OperationDoc, Rejection, RequestContext,
///     RequestParts,
/// };
/// use nanoapi::http::StatusCode;
/// use nanoapi::openapi::DocumentExt;
/// use nanoapi::openapi::security::{HTTPBearer, Security, SecurityScheme};
///
/// /// The tokens issued so far: a database in a real service.
/// #[derive(Clone, Default)]
/// struct Tokens(Arc<HashSet<String>>);
///
/// struct Bearer;
///
/// impl SecurityScheme for Bearer {
///     type Scheme = HTTPBearer;
///     const SCHEME: HTTPBearer = HTTPBearer::new();
/// }
///
/// /// The holder of a token the app issued.
/// struct Holder(String);
///
/// impl<S> FromRequestParts<S> for Holder
/// where
///     Tokens: FromRef<S>,
/// {
///     async fn from_request_parts(
///         req: &mut RequestParts<'_>,
///         cx: &RequestContext<'_, S>,
///     ) -> Result<Self, Rejection> {
///         let Security(token) = Security::<Bearer>::from_request_parts(req, cx).await?;
///         if Tokens::from_ref(cx.state()).0.contains(&token.credentials) {
///             return Ok(Holder(token.credentials));
///         }
///         let refusal = HttpException::new(StatusCode::UNAUTHORIZED, "Invalid authentication credentials")
///             .header("WWW-Authenticate", "Bearer");
///         Err(refusal.into())
///     }
///
///     fn describe(doc: &mut OperationDoc) {
///         <Security<Bearer> as FromRequestParts<S>>::describe(doc);
///     }
/// }
///
/// async fn me(Holder(token): Holder) -> String {
///     format!("hello, holder of {token}")
/// }
///
/// let tokens = Tokens(Arc::new(HashSet::from(["t0k3n".to_owned()])));
/// let client = App::new().with_state(tokens).get("/me", me).test_client();
/// let ok = client.get("/me").header("authorization", "Bearer t0k3n").send();
/// assert_eq!(ok.text(), "hello, holder of t0k3n");
/// let refused = client.get("/me").header("authorization", "Bearer guess").send();
/// assert_eq!(refused.status(), 401);
/// assert_eq!(client.service().openapi()["paths"]["/me"]["get"]["security"], serde_json::json!([{"HTTPBearer": []}]));
/// ```
pub struct Security<S: SecurityScheme>(pub CredentialsOf<S>);

impl<S: SecurityScheme> fmt::Debug for Security<S>
where
    CredentialsOf<S>: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Security").field(&self.0).finish()
    }
}

impl<St, S: SecurityScheme> FromRequestParts<St> for Security<S> {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        _cx: &RequestContext<'_, St>,
    ) -> Result<Self, Rejection> {
        authenticate::<S>(req).await.map(Security)
    }

    fn describe(doc: &mut OperationDoc) {
        describe::<S>(doc);
    }
}

/// Security required by a route or by every route of a router, as a method of either
/// (FastAPI's `dependencies=[Security(...)]`): the scheme is checked before the handler runs
/// and documented on the operation.
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub trait SecurityExt: Sized {
    /// Requires `S` before the handler runs (before every handler of a router, nested routers
    /// included), and documents it.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::app::{App, Route};
    /// use nanoapi::openapi::security::{HTTPBearer, SecurityExt, SecurityScheme};
    ///
    /// struct Bearer;
    /// impl SecurityScheme for Bearer {
    ///     type Scheme = HTTPBearer;
    ///     const SCHEME: HTTPBearer = HTTPBearer::new();
    /// }
    ///
    /// async fn ping() -> &'static str { "pong" }
    ///
    /// let client = App::new().route(Route::get("/ping", ping).security::<Bearer>()).test_client();
    /// let resp = client.get("/ping").send();
    /// assert_eq!((resp.status(), resp.header("www-authenticate")), (401, Some("Bearer")));
    /// assert_eq!(client.get("/ping").header("authorization", "Bearer t").send().text(), "pong");
    /// ```
    fn security<S: SecurityScheme>(self) -> Self;
}

impl<St: 'static> SecurityExt for Route<St> {
    fn security<S: SecurityScheme>(mut self) -> Route<St> {
        describe::<S>(self.doc_mut());
        self.add_middleware(Guard::<S>(PhantomData))
    }
}

impl<St: 'static> SecurityExt for APIRouter<St> {
    fn security<S: SecurityScheme>(self) -> APIRouter<St> {
        self.describe_routes(describe::<S>)
            .add_middleware(Guard::<S>(PhantomData))
    }
}

/// Reads and checks `S`'s credentials, or gives the refusal: [`Rejection::Missing`] when there
/// are none (or none the scheme can read), [`Rejection::Response`] when `check` refuses them.
async fn authenticate<S: SecurityScheme>(req: &Request) -> Result<CredentialsOf<S>, Rejection> {
    let scheme = S::SCHEME;
    let refuse = |detail: &str| {
        HttpException::new(StatusCode::UNAUTHORIZED, detail)
            .header("WWW-Authenticate", scheme.challenge())
            .into_response()
    };
    let Some(credentials) = scheme.credentials(req) else {
        return Err(Rejection::Missing(refuse("Not authenticated")));
    };
    match S::check_request(&credentials, req).await {
        Ok(()) => Ok(credentials),
        Err(Denied::Unauthenticated) => Err(refuse("Invalid authentication credentials").into()),
        Err(Denied::Forbidden) => {
            Err(HttpException::new(StatusCode::FORBIDDEN, "Not enough permissions").into())
        }
    }
}

/// Records `S` in an operation's documentation.
fn describe<S: SecurityScheme>(doc: &mut OperationDoc) {
    doc.security.push(SecurityDoc {
        name: S::SCHEME.name().to_owned(),
        scheme: S::SCHEME.object(),
        scopes: S::SCOPES.iter().map(|&s| s.to_owned()).collect(),
    });
}

/// The middleware [`Route::security`] and [`APIRouter::security`] add.
struct Guard<S>(PhantomData<fn() -> S>);

impl<S: SecurityScheme> Middleware for Guard<S> {
    fn call<'a>(&'a self, req: &'a mut Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        Box::pin(async move {
            match authenticate::<S>(req).await {
                Ok(_) => next.run(req).await,
                Err(refusal) => refusal.into_response(),
            }
        })
    }
}

/// Compares two secrets in time that depends on their lengths only, never on where they
/// differ (as Python's `secrets.compare_digest`).
///
/// # Examples
///
/// ```
/// use nanoapi::openapi::security::constant_time_eq;
///
/// assert!(constant_time_eq("s3cret", "s3cret"));
/// assert!(!constant_time_eq("s3cret", "s3creT"));
/// assert!(!constant_time_eq("s3cret", "s3cret!"));
/// ```
pub fn constant_time_eq(a: impl AsRef<[u8]>, b: impl AsRef<[u8]>) -> bool {
    let (a, b) = (a.as_ref(), b.as_ref());
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keeps the optimizer from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

/// The `scheme_name` and `description` builders every scheme kind has.
macro_rules! common_builders {
    () => {
        /// The name in `components.securitySchemes` (default: the kind's name, as in FastAPI).
        pub const fn scheme_name(mut self, name: &'static str) -> Self {
            self.scheme_name = Some(name);
            self
        }

        /// The scheme's description in the document.
        pub const fn description(mut self, description: &'static str) -> Self {
            self.description = Some(description);
            self
        }
    };
}

/// A Security Scheme Object: `type`, then `description` if any, then `fields` (FastAPI's
/// key order).
fn scheme_object(kind: &str, description: Option<&str>, fields: Value) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), kind.into());
    if let Some(description) = description {
        object.insert("description".into(), description.into());
    }
    if let Value::Object(fields) = fields {
        object.extend(fields);
    }
    Value::Object(object)
}

/// The `Authorization` value split at its first space into scheme and parameter, the
/// parameter trimmed (FastAPI's `get_authorization_scheme_param`: `Bearer  token` is the
/// token `token`).
fn authorization(req: &Request) -> Option<(&str, &str)> {
    let value = std::str::from_utf8(req.header("authorization")?).ok()?;
    let (scheme, param) = value.split_once(' ').unwrap_or((value, ""));
    Some((scheme, param.trim()))
}

macro_rules! api_key_scheme {
    ($(#[$doc:meta])* $name:ident, $place:literal, |$this:ident, $req:ident| $read:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name {
            name: &'static str,
            scheme_name: Option<&'static str>,
            description: Option<&'static str>,
        }

        impl $name {
            /// The scheme for the key named `name`.
            pub const fn new(name: &'static str) -> $name {
                $name {
                    name,
                    scheme_name: None,
                    description: None,
                }
            }

            common_builders!();
        }

        impl Scheme for $name {
            type Credentials = String;

            fn name(&self) -> &'static str {
                self.scheme_name.unwrap_or(stringify!($name))
            }

            fn object(&self) -> Value {
                scheme_object("apiKey", self.description, json!({ "in": $place, "name": self.name }))
            }

            fn challenge(&self) -> String {
                // No challenge is standard for API keys, but a 401 must carry one: FastAPI's.
                "APIKey".into()
            }

            fn credentials(&self, req: &Request) -> Option<String> {
                let ($this, $req) = (self, req);
                let key: Option<String> = $read;
                key.filter(|key| !key.is_empty())
            }
        }
    };
}

api_key_scheme!(
    /// An API key in a request header; the credentials are its value.
    APIKeyHeader, "header", |this, req| {
        req.header(this.name).and_then(|v| String::from_utf8(v.to_vec()).ok())
    }
);

api_key_scheme!(
    /// An API key in a query parameter (its last value, as FastAPI reads it); the credentials
    /// are its value.
    APIKeyQuery, "query", |this, req| {
        parse_urlencoded(req.query().unwrap_or_default())
            .into_iter()
            .rfind(|(name, _)| name == this.name)
            .map(|(_, value)| value.into_owned())
    }
);

api_key_scheme!(
    /// An API key in a cookie (its last value); the credentials are its value.
    APIKeyCookie, "cookie", |this, req| {
        Cookies::from_request_ref(req)
            .get(this.name)
            .map(str::to_owned)
    }
);

/// What [`HTTPBearer`] yields: the `Authorization` value split at its first space.
#[derive(Clone, PartialEq, Eq)]
pub struct HTTPAuthorizationCredentials {
    /// The scheme as sent (`Bearer`, any case).
    pub scheme: String,
    /// The token.
    pub credentials: String,
}

impl fmt::Debug for HTTPAuthorizationCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HTTPAuthorizationCredentials")
            .field("scheme", &self.scheme)
            .field("credentials", &"<redacted>")
            .finish()
    }
}

/// An HTTP Bearer token in `Authorization: Bearer <token>`.
#[derive(Debug, Clone, Copy)]
pub struct HTTPBearer {
    bearer_format: Option<&'static str>,
    scheme_name: Option<&'static str>,
    description: Option<&'static str>,
}

impl HTTPBearer {
    /// The scheme.
    pub const fn new() -> HTTPBearer {
        HTTPBearer {
            bearer_format: None,
            scheme_name: None,
            description: None,
        }
    }

    /// Documents the token's format (`JWT`).
    pub const fn bearer_format(mut self, format: &'static str) -> HTTPBearer {
        self.bearer_format = Some(format);
        self
    }

    common_builders!();
}

impl Default for HTTPBearer {
    fn default() -> HTTPBearer {
        HTTPBearer::new()
    }
}

impl Scheme for HTTPBearer {
    type Credentials = HTTPAuthorizationCredentials;

    fn name(&self) -> &'static str {
        self.scheme_name.unwrap_or("HTTPBearer")
    }

    fn object(&self) -> Value {
        let mut fields = json!({ "scheme": "bearer" });
        if let Some(format) = self.bearer_format {
            fields["bearerFormat"] = format.into();
        }
        scheme_object("http", self.description, fields)
    }

    fn challenge(&self) -> String {
        "Bearer".into()
    }

    fn credentials(&self, req: &Request) -> Option<HTTPAuthorizationCredentials> {
        let (scheme, token) = authorization(req)?;
        if scheme.is_empty() || token.is_empty() || !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        Some(HTTPAuthorizationCredentials {
            scheme: scheme.to_owned(),
            credentials: token.to_owned(),
        })
    }
}

/// What [`HTTPBasic`] yields: the decoded user name and password.
#[derive(Clone, PartialEq, Eq)]
pub struct HTTPBasicCredentials {
    /// The user name (before the first `:`).
    pub username: String,
    /// The password.
    pub password: String,
}

impl HTTPBasicCredentials {
    /// Whether these are `username` and `password`, comparing both in constant time (and
    /// both always, so the time does not tell which one was wrong).
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::openapi::security::HTTPBasicCredentials;
    ///
    /// let creds = HTTPBasicCredentials { username: "ana".into(), password: "pw".into() };
    /// assert!(creds.matches("ana", "pw"));
    /// assert!(!creds.matches("ana", "pW"));
    /// ```
    pub fn matches(&self, username: &str, password: &str) -> bool {
        constant_time_eq(&self.username, username) & constant_time_eq(&self.password, password)
    }
}

impl fmt::Debug for HTTPBasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HTTPBasicCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// HTTP Basic authentication: `Authorization: Basic base64(user:password)`.
///
/// The decoded text may be any UTF-8 (RFC 7617's `charset="UTF-8"`), where FastAPI accepts
/// ASCII only.
#[derive(Debug, Clone, Copy)]
pub struct HTTPBasic {
    realm: Option<&'static str>,
    scheme_name: Option<&'static str>,
    description: Option<&'static str>,
}

impl HTTPBasic {
    /// The scheme.
    pub const fn new() -> HTTPBasic {
        HTTPBasic {
            realm: None,
            scheme_name: None,
            description: None,
        }
    }

    /// The realm named in the challenge.
    pub const fn realm(mut self, realm: &'static str) -> HTTPBasic {
        self.realm = Some(realm);
        self
    }

    common_builders!();
}

impl Default for HTTPBasic {
    fn default() -> HTTPBasic {
        HTTPBasic::new()
    }
}

impl Scheme for HTTPBasic {
    type Credentials = HTTPBasicCredentials;

    fn name(&self) -> &'static str {
        self.scheme_name.unwrap_or("HTTPBasic")
    }

    fn object(&self) -> Value {
        scheme_object("http", self.description, json!({ "scheme": "basic" }))
    }

    fn challenge(&self) -> String {
        match self.realm {
            Some(realm) => format!("Basic realm=\"{}\"", realm.replace(['\\', '"'], "")),
            None => "Basic".into(),
        }
    }

    fn credentials(&self, req: &Request) -> Option<HTTPBasicCredentials> {
        let (scheme, encoded) = authorization(req)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (username, password) = text.split_once(':')?;
        Some(HTTPBasicCredentials {
            username: username.to_owned(),
            password: password.to_owned(),
        })
    }
}

/// OAuth2's password flow: the client gets a token at `token_url` and sends it as
/// `Authorization: Bearer <token>`; the credentials are the token.
#[derive(Debug, Clone, Copy)]
pub struct OAuth2PasswordBearer {
    token_url: &'static str,
    refresh_url: Option<&'static str>,
    scopes: &'static [(&'static str, &'static str)],
    scheme_name: Option<&'static str>,
    description: Option<&'static str>,
}

impl OAuth2PasswordBearer {
    /// The scheme whose tokens come from `token_url`.
    pub const fn new(token_url: &'static str) -> OAuth2PasswordBearer {
        OAuth2PasswordBearer {
            token_url,
            refresh_url: None,
            scopes: &[],
            scheme_name: None,
            description: None,
        }
    }

    /// The scopes a token may carry: (name, description) pairs.
    pub const fn scopes(
        mut self,
        scopes: &'static [(&'static str, &'static str)],
    ) -> OAuth2PasswordBearer {
        self.scopes = scopes;
        self
    }

    /// Where tokens are refreshed.
    pub const fn refresh_url(mut self, url: &'static str) -> OAuth2PasswordBearer {
        self.refresh_url = Some(url);
        self
    }

    common_builders!();
}

impl Scheme for OAuth2PasswordBearer {
    type Credentials = String;

    fn name(&self) -> &'static str {
        self.scheme_name.unwrap_or("OAuth2PasswordBearer")
    }

    fn object(&self) -> Value {
        let mut flow = Map::new();
        if let Some(url) = self.refresh_url {
            flow.insert("refreshUrl".into(), url.into());
        }
        let scopes: Map<String, Value> = self
            .scopes
            .iter()
            .map(|&(name, description)| (name.to_owned(), description.into()))
            .collect();
        flow.insert("scopes".into(), Value::Object(scopes));
        flow.insert("tokenUrl".into(), self.token_url.into());
        scheme_object(
            "oauth2",
            self.description,
            json!({ "flows": { "password": flow } }),
        )
    }

    fn challenge(&self) -> String {
        "Bearer".into()
    }

    fn credentials(&self, req: &Request) -> Option<String> {
        // As FastAPI's OAuth2PasswordBearer: any Bearer value, even an empty one, is the
        // token, and the check decides.
        let (scheme, token) = authorization(req)?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.to_owned())
    }
}

/// OpenID Connect: the document names the provider's discovery URL; the credentials are the
/// whole `Authorization` value, for the application to verify.
#[derive(Debug, Clone, Copy)]
pub struct OpenIdConnect {
    url: &'static str,
    scheme_name: Option<&'static str>,
    description: Option<&'static str>,
}

impl OpenIdConnect {
    /// The scheme whose provider is described at `url`.
    pub const fn new(url: &'static str) -> OpenIdConnect {
        OpenIdConnect {
            url,
            scheme_name: None,
            description: None,
        }
    }

    common_builders!();
}

impl Scheme for OpenIdConnect {
    type Credentials = String;

    fn name(&self) -> &'static str {
        self.scheme_name.unwrap_or("OpenIdConnect")
    }

    fn object(&self) -> Value {
        scheme_object(
            "openIdConnect",
            self.description,
            json!({ "openIdConnectUrl": self.url }),
        )
    }

    fn challenge(&self) -> String {
        "Bearer".into()
    }

    fn credentials(&self, req: &Request) -> Option<String> {
        let value = std::str::from_utf8(req.header("authorization")?).ok()?;
        (!value.is_empty()).then(|| value.to_owned())
    }
}
