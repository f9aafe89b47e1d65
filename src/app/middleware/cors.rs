//! `Cors`: Cross-Origin Resource Sharing, with the semantics of Starlette's `CORSMiddleware`
//! (the type's documentation lists them and where they differ).

use crate::app::logging::event;
use std::fmt;

use bytes::Bytes;
use regex_lite::Regex;

use super::{Middleware, Next};
use crate::app::handler::LocalBoxFuture;
use crate::http::{HeaderList, Response, StatusCode, is_token_byte};
use crate::server::Request;

/// Request headers a browser sends without asking (the CORS-safelisted ones Starlette always
/// allows).
const SAFELISTED_HEADERS: [&str; 4] = [
    "Accept",
    "Accept-Language",
    "Content-Language",
    "Content-Type",
];

/// What `allow_methods(["*"])` allows (Starlette's `ALL_METHODS`).
const ALL_METHODS: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

/// A test of an origin beyond the exact list: a regular expression or a predicate.
type OriginCheck = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// The CORS middleware, with the semantics of Starlette's `CORSMiddleware`.
///
/// A request without `Origin` passes through. An `OPTIONS` request with `Origin` and
/// `Access-Control-Request-Method` is a preflight, answered here without calling the rest of
/// the chain: 200 `OK`, or 400 `Disallowed CORS origin, method, headers` (the failures found,
/// in that order), with the allow headers either way. Any other request with `Origin` is a
/// simple request: the rest of the chain answers it, whatever the status (404, 405, 422 and
/// handler errors included), and the response gets `Access-Control-Allow-Origin` and the
/// fields that go with it if the origin is allowed.
///
/// The defaults are Starlette's: no origin allowed, methods `GET`, no header beyond the
/// safelisted ones, no credentials, nothing exposed, max-age 600 s.
///
/// Where this departs from Starlette, on purpose:
///
/// - With credentials allowed, `Access-Control-Allow-Origin` is never `*`: the origin is echoed
///   and `Vary: Origin` added, on simple requests too (Starlette echoes only when the request
///   carries a cookie, and otherwise sends `*` with `Allow-Credentials: true`, which browsers
///   refuse).
/// - A disallowed origin's simple response gets no CORS field (Starlette still adds
///   `Allow-Credentials` and `Expose-Headers`, which mean nothing without an allowed origin).
/// - When the allowed origin depends on the request (any policy but `*` without credentials),
///   every response gets `Vary: Origin`, those to requests without `Origin` or from a
///   disallowed origin included, so a shared cache never serves one origin's answer to
///   another.
/// - Empty elements of `Access-Control-Request-Headers` (`a, , b`) are skipped, as RFC 9110
///   §5.6.1 allows, rather than failing the preflight.
///
/// Add it at the app level: the router answers `OPTIONS` itself for a path with no `OPTIONS`
/// route, before any route middleware, so a router's or a route's `Cors` sees no preflight
/// there. A panic in a handler is answered by the runtime outside every middleware, so that
/// 500 has no CORS field (as with Starlette, whose `ServerErrorMiddleware` sits outside).
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, Cors};
///
/// async fn items() -> &'static str { "[]" }
///
/// let cors = Cors::new()
///     .allow_origins(["https://app.example"])
///     .allow_methods(["GET", "POST"])
///     .allow_headers(["X-Token"])
///     .allow_credentials(true);
/// let client = App::new().add_middleware(cors).get("/items", items).test_client();
///
/// let resp = client.get("/items").header("Origin", "https://app.example").send();
/// assert_eq!(resp.header("access-control-allow-origin"), Some("https://app.example"));
/// assert_eq!(resp.header("access-control-allow-credentials"), Some("true"));
/// assert_eq!(resp.header("vary"), Some("Origin"));
///
/// let resp = client
///     .options("/items")
///     .header("Origin", "https://evil.example")
///     .header("Access-Control-Request-Method", "DELETE")
///     .send();
/// assert_eq!(resp.status(), 400);
/// assert_eq!(resp.text(), "Disallowed CORS origin, method");
/// ```
pub struct Cors {
    any_origin: bool,
    origins: Vec<Bytes>,
    origin_checks: Vec<OriginCheck>,
    methods: Vec<String>,
    /// `Access-Control-Allow-Methods`.
    methods_value: Bytes,
    any_header: bool,
    /// The allowed request headers, lowercased, the safelisted ones included.
    headers_lower: Vec<String>,
    /// `Access-Control-Allow-Headers` (when not `*`): the allowed headers, sorted.
    headers_value: Bytes,
    /// `Access-Control-Expose-Headers`, if any header is exposed.
    expose_value: Option<Bytes>,
    credentials: bool,
    /// `Access-Control-Max-Age`.
    max_age_value: Bytes,
}

impl Default for Cors {
    fn default() -> Cors {
        Cors::new()
    }
}

impl Cors {
    /// A policy that allows nothing yet (Starlette's defaults).
    pub fn new() -> Cors {
        Cors {
            any_origin: false,
            origins: Vec::new(),
            origin_checks: Vec::new(),
            methods: Vec::new(),
            methods_value: Bytes::new(),
            any_header: false,
            headers_lower: Vec::new(),
            headers_value: Bytes::new(),
            expose_value: None,
            credentials: false,
            max_age_value: Bytes::from_static(b"600"),
        }
        .allow_methods(["GET"])
        .allow_headers(std::iter::empty::<&str>())
    }

    /// Allows these origins (`https://app.example`, compared exactly); `*` allows any.
    ///
    /// # Panics
    ///
    /// On an origin with a space or a control character.
    pub fn allow_origins<I>(mut self, origins: I) -> Cors
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        for origin in origins {
            let origin = origin.as_ref();
            if origin == "*" {
                self.any_origin = true;
            } else {
                assert!(
                    origin.bytes().all(|b| b > 0x20 && b != 0x7f),
                    "CORS origin {origin:?} is not a valid header value"
                );
                self.origins.push(Bytes::copy_from_slice(origin.as_bytes()));
            }
        }
        self
    }

    /// Also allows the origins that `pattern` matches in full (Starlette's
    /// `allow_origin_regex`), e.g. `https://.*\.example\.org`.
    ///
    /// # Panics
    ///
    /// If `pattern` is not a valid regular expression.
    pub fn allow_origin_regex(self, pattern: &str) -> Cors {
        let regex = Regex::new(&format!("^(?:{pattern})$"))
            .unwrap_or_else(|err| panic!("CORS origin regex {pattern:?}: {err}"));
        self.allow_origin_fn(move |origin| regex.is_match(origin))
    }

    /// Also allows the origins for which `allowed` returns true.
    pub fn allow_origin_fn(
        mut self,
        allowed: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Cors {
        self.origin_checks.push(Box::new(allowed));
        self
    }

    /// The methods a preflight may ask for (replacing the default `GET`); `*` allows
    /// `DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT`.
    ///
    /// # Panics
    ///
    /// On a method that is not a token.
    pub fn allow_methods<I>(mut self, methods: I) -> Cors
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut list: Vec<String> = Vec::new();
        for method in methods {
            let method = method.as_ref();
            if method == "*" {
                list = ALL_METHODS.map(str::to_owned).to_vec();
                break;
            }
            assert_token("method", method);
            list.push(method.to_owned());
        }
        self.methods_value = Bytes::from(list.join(", "));
        self.methods = list;
        self
    }

    /// The request headers a preflight may ask for, beyond the safelisted `Accept`,
    /// `Accept-Language`, `Content-Language` and `Content-Type`; `*` allows any (the
    /// preflight then echoes what was asked).
    ///
    /// # Panics
    ///
    /// On a name that is not a token.
    pub fn allow_headers<I>(mut self, headers: I) -> Cors
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut list: Vec<String> = SAFELISTED_HEADERS.map(str::to_owned).to_vec();
        self.any_header = false;
        for header in headers {
            let header = header.as_ref();
            if header == "*" {
                self.any_header = true;
                continue;
            }
            assert_token("header", header);
            list.push(header.to_owned());
        }
        // Starlette's `sorted(set(...))`: byte order, exact duplicates removed.
        list.sort();
        list.dedup();
        self.headers_value = Bytes::from(list.join(", "));
        self.headers_lower = list.iter().map(|h| h.to_ascii_lowercase()).collect();
        self
    }

    /// The response headers a page's script may read (`Access-Control-Expose-Headers`).
    ///
    /// # Panics
    ///
    /// On a name that is not a token.
    pub fn expose_headers<I>(mut self, headers: I) -> Cors
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut list: Vec<String> = Vec::new();
        for header in headers {
            let header = header.as_ref();
            assert_token("expose header", header);
            list.push(header.to_owned());
        }
        self.expose_value = (!list.is_empty()).then(|| Bytes::from(list.join(", ")));
        self
    }

    /// Whether requests may carry credentials (cookies, `Authorization`): adds
    /// `Access-Control-Allow-Credentials: true`, and the allowed origin is then always echoed,
    /// never `*`.
    pub fn allow_credentials(mut self, allow: bool) -> Cors {
        self.credentials = allow;
        self
    }

    /// How long a browser may cache a preflight's answer, in seconds (default 600).
    pub fn max_age(mut self, seconds: u32) -> Cors {
        self.max_age_value = Bytes::from(seconds.to_string());
        self
    }

    fn is_allowed_origin(&self, origin: &[u8]) -> bool {
        self.any_origin
            || self.origins.iter().any(|allowed| allowed == origin)
            || std::str::from_utf8(origin)
                .is_ok_and(|origin| self.origin_checks.iter().any(|check| check(origin)))
    }

    /// Whether the allowed origin depends on the request's `Origin` (anything but `*`).
    fn echoes_origin(&self) -> bool {
        !self.any_origin || self.credentials
    }

    /// Answers a preflight.
    fn preflight(&self, req: &Request, origin: &[u8]) -> Response {
        let origin_allowed = self.is_allowed_origin(origin);
        let requested_method = req
            .header("access-control-request-method")
            .unwrap_or_default();
        let requested_headers = req.header("access-control-request-headers");
        let mut failures: Vec<&str> = Vec::new();
        if !origin_allowed {
            failures.push("origin");
        }
        if !self
            .methods
            .iter()
            .any(|m| m.as_bytes() == requested_method)
        {
            failures.push("method");
        }
        if !self.any_header && requested_headers.is_some_and(|h| !self.headers_allowed(h)) {
            failures.push("headers");
        }
        let mut resp = if failures.is_empty() {
            Response::text(StatusCode::OK, "OK")
        } else {
            let text = format!("Disallowed CORS {}", failures.join(", "));
            Response::text(StatusCode::BAD_REQUEST, text)
        };
        let headers = resp.headers_mut();
        if !self.echoes_origin() {
            set(
                headers,
                "Access-Control-Allow-Origin",
                Bytes::from_static(b"*"),
            );
        } else if origin_allowed {
            set(
                headers,
                "Access-Control-Allow-Origin",
                Bytes::copy_from_slice(origin),
            );
        }
        if self.echoes_origin() {
            set(headers, "Vary", Bytes::from_static(b"Origin"));
        }
        set(
            headers,
            "Access-Control-Allow-Methods",
            self.methods_value.clone(),
        );
        set(
            headers,
            "Access-Control-Max-Age",
            self.max_age_value.clone(),
        );
        if !self.any_header {
            set(
                headers,
                "Access-Control-Allow-Headers",
                self.headers_value.clone(),
            );
        } else if let Some(requested) = requested_headers {
            // Any header is allowed: echo what was asked.
            set(
                headers,
                "Access-Control-Allow-Headers",
                Bytes::copy_from_slice(requested),
            );
        }
        if self.credentials {
            set(
                headers,
                "Access-Control-Allow-Credentials",
                Bytes::from_static(b"true"),
            );
        }
        resp
    }

    /// Whether every header of an `Access-Control-Request-Headers` value is allowed.
    fn headers_allowed(&self, requested: &[u8]) -> bool {
        requested
            .split(|&b| b == b',')
            .map(|name| name.trim_ascii())
            .filter(|name| !name.is_empty())
            .all(|name| {
                self.headers_lower
                    .iter()
                    .any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(name))
            })
    }

    /// Adds the CORS fields to a simple request's response.
    fn decorate(&self, resp: &mut Response, origin: Option<&[u8]>, has_cookie: bool) {
        let headers = resp.headers_mut();
        let allowed = origin.filter(|origin| self.is_allowed_origin(origin));
        // A cookie-bearing request to a `*` policy gets its origin echoed, as Starlette does
        // (a browser refuses `*` for a request sent with credentials).
        let echo = self.echoes_origin() || (allowed.is_some() && has_cookie);
        if echo {
            add_vary_origin(headers);
        }
        let Some(origin) = allowed else {
            return;
        };
        if echo {
            set(
                headers,
                "Access-Control-Allow-Origin",
                Bytes::copy_from_slice(origin),
            );
        } else {
            set(
                headers,
                "Access-Control-Allow-Origin",
                Bytes::from_static(b"*"),
            );
        }
        if self.credentials {
            set(
                headers,
                "Access-Control-Allow-Credentials",
                Bytes::from_static(b"true"),
            );
        }
        if let Some(expose) = &self.expose_value {
            set(headers, "Access-Control-Expose-Headers", expose.clone());
        }
    }
}

impl Middleware for Cors {
    fn call<'a>(&'a self, req: &'a mut Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        Box::pin(async move {
            let origin = req.header("origin").map(Bytes::copy_from_slice);
            if let Some(origin) = &origin
                && req.method_bytes() == b"OPTIONS"
                && req.header("access-control-request-method").is_some()
            {
                return self.preflight(req, origin);
            }
            let has_cookie = req.header("cookie").is_some();
            let mut resp = next.run(req).await;
            self.decorate(&mut resp, origin.as_deref(), has_cookie);
            resp
        })
    }
}

impl fmt::Debug for Cors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cors")
            .field("any_origin", &self.any_origin)
            .field("origins", &self.origins)
            .field("origin_checks", &self.origin_checks.len())
            .field("methods", &self.methods)
            .field("any_header", &self.any_header)
            .field("headers", &self.headers_value)
            .field("expose", &self.expose_value)
            .field("credentials", &self.credentials)
            .field("max_age", &self.max_age_value)
            .finish()
    }
}

/// Panics unless `name` is a token: a configuration mistake shows at start-up, not as a
/// response that cannot be sent.
fn assert_token(what: &str, name: &str) {
    assert!(
        !name.is_empty() && name.bytes().all(is_token_byte),
        "CORS {what} {name:?} is not a token"
    );
}

/// Sets a field the middleware built from checked parts (configuration validated by the
/// builder, or bytes of the request head, which the parser validated).
fn set(headers: &mut HeaderList, name: impl Into<Bytes>, value: Bytes) {
    if let Err(err) = headers.insert(name, value) {
        event!(error, error = %err, "CORS header refused");
    }
}

/// Adds `Origin` to the response's `Vary`, merging every `Vary` field into one (Starlette's
/// `add_vary_header`), unless `Origin` is listed already or the response varies on
/// everything (`*`).
fn add_vary_origin(headers: &mut HeaderList) {
    let existing: Vec<&[u8]> = headers.get_all("vary").collect();
    let listed = existing
        .iter()
        .flat_map(|value| value.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|item| item == b"*" || item.eq_ignore_ascii_case(b"origin"));
    if listed {
        return;
    }
    let mut value = existing.join(&b", "[..]);
    if !value.is_empty() {
        value.extend_from_slice(b", ");
    }
    value.extend_from_slice(b"Origin");
    set(headers, "Vary", Bytes::from(value));
}
