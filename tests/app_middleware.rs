//! App middleware: order across app, router and route, short-circuits, and the built-ins (CORS,
//! request id, access log, timeout, body limit), through the test client and, for CORS and the
//! timeout, over real sockets on both backends; and the `http-compat` conversions.
#![cfg(feature = "app")]

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use nanoapi::app::{
    APIRouter, AccessLog, App, BodyLimit, Cors, Extension, HttpException, Next, Path, RequestId,
    RequestIdMiddleware, Route, State, TestClient, Timeout,
};
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Options, Request};

// ---------------------------------------------------------------------------------------------
// Order and short-circuit

/// The names of the middleware a request went through, inward.
#[derive(Clone, Default)]
struct Trace(Vec<&'static str>);

/// A middleware that records `name` on the way in (request extension) and on the way out
/// (an `x-out` field appended to the response).
fn tracer(
    name: &'static str,
) -> impl for<'a> AsyncFn(&'a mut Request, Next<'a>) -> Response + Send + Sync + 'static {
    async move |req: &mut Request, next: Next<'_>| {
        match req.extensions_mut().get_mut::<Trace>() {
            Some(trace) => trace.0.push(name),
            None => {
                req.extensions_mut().insert(Trace(vec![name]));
            }
        }
        let mut resp = next.run(req).await;
        resp.headers_mut().append("x-out", name).unwrap();
        resp
    }
}

async fn traced(Extension(trace): Extension<Trace>) -> String {
    trace.0.join(",")
}

/// Answers 401 without calling the rest of the chain unless `Authorization` is present.
async fn require_auth(req: &mut Request, next: Next<'_>) -> Response {
    if req.header("authorization").is_none() {
        return Response::text(StatusCode::UNAUTHORIZED, "no credentials");
    }
    next.run(req).await
}

fn ordered_app() -> App {
    let router = APIRouter::new()
        .prefix("/r")
        .middleware(tracer("router"))
        .route(Route::get("/x", traced).middleware(tracer("route")))
        .route(
            Route::get("/private", traced)
                .middleware(require_auth)
                .middleware(tracer("route")),
        );
    App::new()
        .middleware(tracer("app1"))
        .middleware(tracer("app2"))
        .include_router(router)
}

#[test]
fn app_middleware_wraps_404_and_405_but_route_middleware_does_not_run() {
    // (The plain order across app, router and route is tests/app.rs's.)
    let client = ordered_app().test_client();
    let resp = client.get("/nowhere").send();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.header_all("x-out"), ["app2", "app1"]);
    let resp = client.post("/r/x").send();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.header_all("x-out"), ["app2", "app1"]);
}

#[test]
fn a_short_circuit_skips_the_inner_chain_and_the_handler_but_outer_middleware_sees_it() {
    let client = ordered_app().test_client();
    let resp = client.get("/r/private").send();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.text(), "no credentials");
    // The route's own tracer (inside require_auth) never ran.
    assert_eq!(resp.header_all("x-out"), ["router", "app2", "app1"]);

    let resp = client.get("/r/private").header("Authorization", "x").send();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text(), "app1,app2,router,route");
}

// ---------------------------------------------------------------------------------------------
// CORS

async fn item(Path(id): Path<u32>) -> Result<String, HttpException> {
    match id {
        500 => Err(HttpException::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "boom",
        )),
        _ => Ok(format!("item {id}")),
    }
}

async fn varies() -> Response {
    Response::text(StatusCode::OK, "v")
        .header("Vary", "Accept-Encoding")
        .unwrap()
        .header("Vary", "Cookie")
        .unwrap()
}

/// An app with `cors`, whose handlers count their calls.
fn cors_app(cors: Cors) -> (TestClient, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let client = App::new()
        .add_middleware(cors)
        .middleware(async move |req: &mut Request, next: Next<'_>| {
            counter.fetch_add(1, Ordering::SeqCst);
            next.run(req).await
        })
        .get("/items/{id}", item)
        .get("/varies", varies)
        .test_client();
    (client, calls)
}

fn listed() -> Cors {
    Cors::new()
        .allow_origins(["https://app.example", "https://admin.example"])
        .allow_methods(["GET", "POST"])
        .allow_headers(["X-Token"])
}

/// Every `Access-Control-*` and `Vary` field of a response, in order, names lowercased.
fn cors_fields(resp: &nanoapi::app::TestResponse) -> Vec<(String, String)> {
    resp.0
        .head
        .headers()
        .filter(|(name, _)| {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            name.starts_with("access-control-") || name == "vary"
        })
        .map(|(name, value)| {
            (
                String::from_utf8_lossy(name).to_ascii_lowercase(),
                String::from_utf8_lossy(value).into_owned(),
            )
        })
        .collect()
}

fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn cors_preflight_from_an_allowed_origin_is_answered_by_the_middleware() {
    let (client, calls) = cors_app(listed());
    let resp = client
        .options("/items/1")
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "x-token, content-type")
        .send();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text(), "OK");
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        cors_fields(&resp),
        fields(&[
            ("access-control-allow-origin", "https://app.example"),
            ("vary", "Origin"),
            ("access-control-allow-methods", "GET, POST"),
            ("access-control-max-age", "600"),
            (
                "access-control-allow-headers",
                "Accept, Accept-Language, Content-Language, Content-Type, X-Token"
            ),
        ])
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the chain is not called");
}

#[test]
fn cors_preflight_refusals_name_every_failure_with_400() {
    let (client, calls) = cors_app(listed());
    let resp = client
        .options("/items/1")
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "GET")
        .send();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.text(), "Disallowed CORS origin");
    assert_eq!(resp.header("access-control-allow-origin"), None);
    assert_eq!(
        resp.header("access-control-allow-methods"),
        Some("GET, POST")
    );

    let resp = client
        .options("/items/1")
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "DELETE")
        .header("Access-Control-Request-Headers", "X-Token, X-Other")
        .send();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.text(), "Disallowed CORS method, headers");
    assert_eq!(
        resp.header("access-control-allow-origin"),
        Some("https://app.example")
    );

    let resp = client
        .options("/items/1")
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "PUT")
        .header("Access-Control-Request-Headers", "X-Other")
        .send();
    assert_eq!(resp.text(), "Disallowed CORS origin, method, headers");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn cors_preflight_header_check_ignores_case_and_empty_elements() {
    let (client, _) = cors_app(listed());
    let resp = client
        .options("/items/1")
        .header("Origin", "https://admin.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "X-TOKEN, , accept")
        .send();
    assert_eq!(resp.status(), 200, "{}", resp.text());
}

#[test]
fn cors_options_without_request_method_is_not_a_preflight() {
    let (client, calls) = cors_app(listed());
    let resp = client
        .options("/items/1")
        .header("Origin", "https://app.example")
        .send();
    // The router's answer to a method without a route (405, as in FastAPI), decorated as a
    // simple response.
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));
    assert_eq!(
        resp.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn cors_simple_requests_get_the_origin_on_success_and_on_errors() {
    let (client, _) = cors_app(
        listed()
            .allow_credentials(true)
            .expose_headers(["X-Total", "X-Page"]),
    );
    let expected = fields(&[
        ("vary", "Origin"),
        ("access-control-allow-origin", "https://app.example"),
        ("access-control-allow-credentials", "true"),
        ("access-control-expose-headers", "X-Total, X-Page"),
    ]);
    for (target, status) in [
        ("/items/7", 200),
        ("/nowhere", 404),
        ("/items/abc", 422),
        ("/items/500", 500),
    ] {
        let resp = client
            .get(target)
            .header("Origin", "https://app.example")
            .send();
        assert_eq!(resp.status(), status, "{target}");
        assert_eq!(cors_fields(&resp), expected, "{target}");
    }
}

#[test]
fn cors_simple_request_from_a_disallowed_origin_or_without_origin_only_varies() {
    let (client, _) = cors_app(listed().allow_credentials(true));
    let resp = client
        .get("/items/1")
        .header("Origin", "https://evil.example")
        .send();
    assert_eq!(resp.status(), 200);
    assert_eq!(cors_fields(&resp), fields(&[("vary", "Origin")]));

    let resp = client.get("/items/1").send();
    assert_eq!(resp.status(), 200);
    assert_eq!(cors_fields(&resp), fields(&[("vary", "Origin")]));
}

#[test]
fn cors_vary_is_merged_into_the_handlers_fields() {
    let (client, _) = cors_app(listed());
    let resp = client
        .get("/varies")
        .header("Origin", "https://app.example")
        .send();
    assert_eq!(resp.header_all("vary"), ["Accept-Encoding, Cookie, Origin"]);
}

#[test]
fn cors_wildcard_without_credentials_sends_a_star_and_no_vary() {
    let (client, _) = cors_app(Cors::new().allow_origins(["*"]).allow_methods(["*"]));
    let resp = client
        .get("/items/1")
        .header("Origin", "https://any.example")
        .send();
    assert_eq!(
        cors_fields(&resp),
        fields(&[("access-control-allow-origin", "*")])
    );

    let resp = client
        .options("/items/1")
        .header("Origin", "https://any.example")
        .header("Access-Control-Request-Method", "PATCH")
        .send();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        cors_fields(&resp),
        fields(&[
            ("access-control-allow-origin", "*"),
            (
                "access-control-allow-methods",
                "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
            ),
            ("access-control-max-age", "600"),
            (
                "access-control-allow-headers",
                "Accept, Accept-Language, Content-Language, Content-Type"
            ),
        ])
    );

    // A request with a cookie gets its origin echoed, as Starlette does.
    let resp = client
        .get("/items/1")
        .header("Origin", "https://any.example")
        .header("Cookie", "s=1")
        .send();
    assert_eq!(
        cors_fields(&resp),
        fields(&[
            ("vary", "Origin"),
            ("access-control-allow-origin", "https://any.example"),
        ])
    );
}

#[test]
fn cors_wildcard_with_credentials_never_sends_a_star() {
    let (client, _) = cors_app(
        Cors::new()
            .allow_origins(["*"])
            .allow_headers(["*"])
            .allow_credentials(true)
            .max_age(60),
    );
    let resp = client
        .get("/items/1")
        .header("Origin", "https://any.example")
        .send();
    assert_eq!(
        cors_fields(&resp),
        fields(&[
            ("vary", "Origin"),
            ("access-control-allow-origin", "https://any.example"),
            ("access-control-allow-credentials", "true"),
        ])
    );

    let resp = client
        .options("/items/1")
        .header("Origin", "https://any.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "X-Anything, X-Else")
        .send();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        cors_fields(&resp),
        fields(&[
            ("access-control-allow-origin", "https://any.example"),
            ("vary", "Origin"),
            ("access-control-allow-methods", "GET"),
            ("access-control-max-age", "60"),
            ("access-control-allow-headers", "X-Anything, X-Else"),
            ("access-control-allow-credentials", "true"),
        ])
    );
}

#[test]
fn cors_origin_regex_must_match_the_whole_origin() {
    let (client, _) = cors_app(Cors::new().allow_origin_regex(r"https://[a-z]+\.example\.org"));
    let allowed = client
        .get("/items/1")
        .header("Origin", "https://shop.example.org")
        .send();
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://shop.example.org")
    );
    for origin in [
        "https://shop.example.org.evil.com",
        "http://shop.example.org",
        "https://a.b.example.org",
    ] {
        let resp = client.get("/items/1").header("Origin", origin).send();
        assert_eq!(resp.header("access-control-allow-origin"), None, "{origin}");
    }
}

#[test]
fn cors_origin_predicate_decides_with_the_list() {
    let (client, _) = cors_app(
        Cors::new()
            .allow_origins(["https://app.example"])
            .allow_origin_fn(|origin| origin.ends_with(".internal")),
    );
    for (origin, allowed) in [
        ("https://app.example", true),
        ("http://build.internal", true),
        ("https://app.example.evil", false),
    ] {
        let resp = client.get("/items/1").header("Origin", origin).send();
        let expected = allowed.then_some(origin);
        assert_eq!(
            resp.header("access-control-allow-origin"),
            expected,
            "{origin}"
        );
    }
}

#[test]
#[should_panic(expected = "is not a token")]
fn cors_refuses_a_method_that_is_not_a_token() {
    let _ = Cors::new().allow_methods(["GET POST"]);
}

// ---------------------------------------------------------------------------------------------
// Request id

async fn echo_id(Extension(id): Extension<RequestId>) -> String {
    id.to_string()
}

fn id_client(middleware: RequestIdMiddleware) -> TestClient {
    App::new()
        .add_middleware(middleware)
        .get("/", echo_id)
        .test_client()
}

#[test]
fn request_id_keeps_a_valid_incoming_id_for_the_handler_and_the_response() {
    let client = id_client(RequestIdMiddleware::new());
    let max = "x".repeat(nanoapi::app::MAX_REQUEST_ID_LEN);
    for incoming in [
        "abc-123",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        max.as_str(),
    ] {
        let resp = client.get("/").header("X-Request-ID", incoming).send();
        assert_eq!(resp.text(), incoming);
        assert_eq!(resp.header("x-request-id"), Some(incoming));
    }
}

#[test]
fn request_id_replaces_an_invalid_incoming_id() {
    let client = id_client(RequestIdMiddleware::new());
    let too_long = "x".repeat(nanoapi::app::MAX_REQUEST_ID_LEN + 1);
    for incoming in [too_long.as_str(), "has space", "caf\u{e9}"] {
        let resp = client.get("/").header("X-Request-ID", incoming).send();
        let id = resp.header("x-request-id").unwrap().to_owned();
        assert_ne!(id, incoming);
        assert_eq!(id.len(), 32);
        assert_eq!(resp.text(), id, "the handler sees the same id");
    }
}

#[test]
fn request_id_generated_ids_are_hex_and_unique() {
    let client = id_client(RequestIdMiddleware::new());
    let ids: Vec<String> = (0..50)
        .map(|_| {
            client
                .get("/")
                .send()
                .header("x-request-id")
                .unwrap()
                .to_owned()
        })
        .collect();
    for id in &ids {
        assert_eq!(id.len(), 32);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{id}"
        );
    }
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    // One process, one random half.
    assert!(ids.iter().all(|id| id[..16] == ids[0][..16]));
}

#[test]
fn request_id_with_another_header_and_untrusted_input() {
    let client = id_client(
        RequestIdMiddleware::new()
            .header("X-Correlation-ID")
            .trust_incoming(false),
    );
    let resp = client.get("/").header("X-Correlation-ID", "mine").send();
    let id = resp.header("x-correlation-id").unwrap();
    assert_ne!(id, "mine");
    assert_eq!(resp.text(), id);
    assert_eq!(resp.header("x-request-id"), None);
}

// ---------------------------------------------------------------------------------------------
// Access log

mod capture {
    //! A `tracing` subscriber that keeps every event's target, level and fields.

    use std::collections::BTreeMap;
    use std::fmt;
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    #[derive(Debug, Clone)]
    pub struct Captured {
        pub target: String,
        pub level: Level,
        pub fields: BTreeMap<String, String>,
    }

    #[derive(Clone, Default)]
    pub struct Capture(pub Arc<Mutex<Vec<Captured>>>);

    struct Fields<'a>(&'a mut BTreeMap<String, String>);

    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0.insert(field.name().to_owned(), format!("{value:?}"));
        }

        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().to_owned(), value.to_owned());
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }

        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }

        fn record(&self, _: &Id, _: &Record<'_>) {}

        fn record_follows_from(&self, _: &Id, _: &Id) {}

        fn event(&self, event: &Event<'_>) {
            let mut fields = BTreeMap::new();
            event.record(&mut Fields(&mut fields));
            self.0.lock().unwrap().push(Captured {
                target: event.metadata().target().to_owned(),
                level: *event.metadata().level(),
                fields,
            });
        }

        fn enter(&self, _: &Id) {}

        fn exit(&self, _: &Id) {}
    }
}

#[test]
fn access_log_emits_one_info_event_per_request_with_its_fields() {
    let client = App::new()
        .add_middleware(RequestIdMiddleware::new())
        .add_middleware(AccessLog::new())
        .get("/items/{id}", item)
        .test_client();
    let capture = capture::Capture::default();
    let (ok, missing) = tracing::subscriber::with_default(capture.clone(), || {
        let ok = client
            .get("/items/7?token=secret")
            .header("X-Request-ID", "req-1")
            .send();
        let missing = client.get("/nowhere").send();
        (ok, missing)
    });
    assert_eq!(ok.status(), 200);
    let events: Vec<capture::Captured> = capture
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.target == "nanoapi::access")
        .cloned()
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.iter().all(|e| e.level == tracing::Level::INFO));

    let first = &events[0].fields;
    assert_eq!(first["method"], "GET");
    assert_eq!(first["path"], "/items/7", "the query is not logged");
    assert_eq!(first["status"], "200");
    assert_eq!(first["bytes"], "6");
    assert_eq!(first["request_id"], "req-1");
    assert_eq!(first["message"], "request");
    assert!(first["duration_us"].parse::<u64>().is_ok(), "{first:?}");
    assert!(
        !first.contains_key("client"),
        "no socket in the test client"
    );

    let second = &events[1].fields;
    assert_eq!(second["status"], "404");
    assert_eq!(second["path"], "/nowhere");
    assert_eq!(
        second["request_id"],
        missing.header("x-request-id").unwrap(),
        "the generated id is logged"
    );
}

// ---------------------------------------------------------------------------------------------
// Timeout

/// Sets its flag when dropped: shows the handler's future was cancelled.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn never(State(dropped): State<Arc<AtomicBool>>) -> &'static str {
    let _guard = SetOnDrop(dropped);
    std::future::pending::<()>().await;
    "unreachable"
}

async fn quick() -> &'static str {
    "quick"
}

fn timeout_app(dropped: Arc<AtomicBool>) -> App<Arc<AtomicBool>> {
    let limit = Timeout::new(Duration::from_millis(50));
    App::new()
        .with_state(dropped)
        .route(Route::get("/never", never).add_middleware(limit))
        .route(Route::get("/quick", quick).add_middleware(limit))
        .get("/unlimited", quick)
}

#[test]
fn timeout_answers_504_and_drops_the_handler() {
    let dropped = Arc::new(AtomicBool::new(false));
    let client = timeout_app(dropped.clone()).test_client();
    let resp = client.get("/never").send();
    assert_eq!(resp.status(), 504);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.text(), r#"{"detail":"Gateway Timeout"}"#);
    assert!(
        dropped.load(Ordering::SeqCst),
        "the handler future was dropped"
    );
    assert!(!resp.closed(), "the connection stays usable");

    let resp = client.get("/quick").send();
    assert_eq!((resp.status(), resp.text().as_str()), (200, "quick"));
}

#[test]
fn access_log_outside_a_timeout_logs_the_504() {
    let client = timeout_app(Arc::new(AtomicBool::new(false)))
        .add_middleware(AccessLog::new())
        .test_client();
    let capture = capture::Capture::default();
    let resp = tracing::subscriber::with_default(capture.clone(), || client.get("/never").send());
    assert_eq!(resp.status(), 504);
    let events = capture.0.lock().unwrap();
    let access: Vec<_> = events
        .iter()
        .filter(|e| e.target == "nanoapi::access")
        .collect();
    assert_eq!(access.len(), 1, "{events:?}");
    assert_eq!(access[0].fields["status"], "504");
    assert_eq!(access[0].fields["path"], "/never");
}

// ---------------------------------------------------------------------------------------------
// Body limit

async fn length(body: Bytes) -> String {
    body.len().to_string()
}

fn limit_client() -> TestClient {
    let router = APIRouter::new()
        .prefix("/r")
        .add_middleware(BodyLimit::new(10))
        .post("/ten", length)
        .route(Route::post("/four", length).add_middleware(BodyLimit::new(4)));
    App::new()
        .route(Route::post("/small", length).add_middleware(BodyLimit::new(4)))
        .route(Route::post("/large", length).add_middleware(BodyLimit::new(4 << 20)))
        .post("/default", length)
        .include_router(router)
        .test_client()
}

#[test]
fn body_limit_applies_per_route_and_other_routes_keep_the_default() {
    let client = limit_client();
    assert_eq!(client.post("/small").body("1234").send().text(), "4");
    let resp = client.post("/small").body("12345").send();
    assert_eq!(resp.status(), 413);
    assert_eq!(resp.text(), r#"{"detail":"Request body too large"}"#);
    assert_eq!(client.post("/default").body("12345").send().text(), "5");

    // Over the server's default of 2 MiB: refused by default, allowed where raised.
    let big = vec![b'x'; 3 << 20];
    assert_eq!(
        client.post("/default").body(big.clone()).send().status(),
        413
    );
    assert_eq!(
        client.post("/large").body(big).send().text(),
        (3 << 20).to_string()
    );
}

#[test]
fn body_limit_counts_chunked_bodies_as_they_arrive() {
    let client = limit_client();
    let responses = client.raw(
        "POST /small HTTP/1.1\r\n\
         Host: x\r\n\
         Transfer-Encoding: chunked\r\n\
         \r\n\
         3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
    );
    assert_eq!(responses[0].status(), 413);
}

#[test]
fn body_limit_of_a_route_overrides_its_routers() {
    let client = limit_client();
    assert_eq!(client.post("/r/ten").body("1234567890").send().text(), "10");
    assert_eq!(
        client.post("/r/ten").body("12345678901").send().status(),
        413
    );
    assert_eq!(client.post("/r/four").body("12345").send().status(), 413);
}

// ---------------------------------------------------------------------------------------------
// Over real sockets, both backends

/// Sends `request` (which asks to close) and reads the whole response.
fn exchange(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = common::connect(addr);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn cors_and_timeout_over_sockets_on_every_backend() {
    for backend in common::backends() {
        let dropped = Arc::new(AtomicBool::new(false));
        let app = timeout_app(dropped.clone())
            .add_middleware(listed().allow_credentials(true))
            .get("/items/{id}", item);
        let options = Options::default().port(0).workers(1).backend(backend);
        let server = app.serve(options).unwrap();
        let addr = server.handle().local_addr();

        let preflight = exchange(
            addr,
            "OPTIONS /items/1 HTTP/1.1\r\n\
             Host: x\r\n\
             Origin: https://app.example\r\n\
             Access-Control-Request-Method: POST\r\n\
             Access-Control-Request-Headers: X-Token\r\n\
             Connection: close\r\n\
             \r\n",
        );
        assert!(
            preflight.starts_with("HTTP/1.1 200 OK\r\n"),
            "{backend:?}: {preflight}"
        );
        for line in [
            "\r\nAccess-Control-Allow-Origin: https://app.example\r\n",
            "\r\nVary: Origin\r\n",
            "\r\nAccess-Control-Allow-Methods: GET, POST\r\n",
            "\r\nAccess-Control-Allow-Headers: Accept, Accept-Language, Content-Language, Content-Type, X-Token\r\n",
            "\r\nAccess-Control-Allow-Credentials: true\r\n",
            "\r\nAccess-Control-Max-Age: 600\r\n",
        ] {
            assert!(
                preflight.contains(line),
                "{backend:?}: {line:?} in {preflight}"
            );
        }
        assert!(
            preflight.ends_with("\r\n\r\nOK"),
            "{backend:?}: {preflight}"
        );

        let refused = exchange(
            addr,
            "OPTIONS /items/1 HTTP/1.1\r\n\
             Host: x\r\n\
             Origin: https://evil.example\r\n\
             Access-Control-Request-Method: GET\r\n\
             Connection: close\r\n\
             \r\n",
        );
        assert!(
            refused.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{backend:?}: {refused}"
        );
        assert!(refused.ends_with("\r\n\r\nDisallowed CORS origin"));

        let not_found = exchange(
            addr,
            "GET /nowhere HTTP/1.1\r\n\
             Host: x\r\n\
             Origin: https://app.example\r\n\
             Connection: close\r\n\
             \r\n",
        );
        assert!(not_found.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(
            not_found.contains("\r\nAccess-Control-Allow-Origin: https://app.example\r\n"),
            "{backend:?}: {not_found}"
        );

        let timed_out = exchange(
            addr,
            "GET /never HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(
            timed_out.starts_with("HTTP/1.1 504 Gateway Timeout\r\n"),
            "{backend:?}: {timed_out}"
        );
        assert!(timed_out.ends_with("\r\n\r\n{\"detail\":\"Gateway Timeout\"}"));
        assert!(dropped.load(Ordering::SeqCst), "{backend:?}");

        let quick = exchange(
            addr,
            "GET /quick HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(
            quick.starts_with("HTTP/1.1 200 OK\r\n"),
            "{backend:?}: {quick}"
        );
        server.shutdown_blocking();
    }
}

// ---------------------------------------------------------------------------------------------
// http-compat

#[cfg(feature = "http-compat")]
mod compat {
    use super::*;
    use nanoapi::app::compat::{
        request_from_http, request_head_to_http, request_to_http, response_to_http,
    };

    #[test]
    fn http_response_round_trips_through_a_nanoapi_response() {
        let original = http::Response::builder()
            .status(418)
            .header("content-type", "text/plain")
            .header("set-cookie", "a=1")
            .header("set-cookie", "b=2")
            .header("x-custom", "yes")
            .body(Bytes::from_static(b"short and stout"))
            .unwrap();
        let ours = Response::from(original.clone());
        assert_eq!(ours.status().as_u16(), 418);
        assert_eq!(ours.headers().get_all("set-cookie").count(), 2);
        let back = nanoapi::executor::block_on(response_to_http(ours)).unwrap();
        assert_eq!(back.status(), original.status());
        assert_eq!(back.headers(), original.headers());
        assert_eq!(back.body(), original.body());
    }

    #[test]
    fn http_response_fields_the_encoder_owns_are_dropped() {
        let original = http::Response::builder()
            .header("content-length", "2")
            .header("connection", "close")
            .header("x-kept", "1")
            .body("hi")
            .unwrap();
        let ours = Response::from(original);
        let names: Vec<&[u8]> = ours.headers().iter().map(|(n, _)| n).collect();
        assert_eq!(names, [&b"x-kept"[..]]);
        assert_eq!(ours.body().as_slice(), Some(&b"hi"[..]));
    }

    #[test]
    fn a_streamed_response_is_collected() {
        let chunks = stream_of(&[b"ab", b"cd"]);
        let mut ours = Response::new(StatusCode::OK);
        ours.set_body(nanoapi::http::Body::stream(chunks));
        let back = nanoapi::executor::block_on(response_to_http(ours)).unwrap();
        assert_eq!(back.body(), "abcd");
    }

    /// A stream yielding `parts`, one chunk each.
    fn stream_of(
        parts: &'static [&'static [u8]],
    ) -> impl futures_core::Stream<Item = std::io::Result<Bytes>> {
        struct Parts(std::slice::Iter<'static, &'static [u8]>);
        impl futures_core::Stream for Parts {
            type Item = std::io::Result<Bytes>;
            fn poll_next(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Self::Item>> {
                std::task::Poll::Ready(self.0.next().map(|p| Ok(Bytes::from_static(p))))
            }
        }
        Parts(parts.iter())
    }

    #[test]
    fn http_request_round_trips_through_a_nanoapi_request() {
        let original = http::Request::builder()
            .method("PATCH")
            .uri("/items/7?verbose=1")
            .header("host", "api.example")
            .header("accept", "application/json")
            .header("x-tag", "a")
            .header("x-tag", "b")
            .header("content-length", "5")
            .body(Bytes::from_static(b"hello"))
            .unwrap();
        let mut ours = request_from_http(original.clone()).unwrap();
        assert_eq!(ours.path(), b"/items/7");
        assert_eq!(ours.header_all("x-tag").count(), 2);
        let back = nanoapi::executor::block_on(request_to_http(&mut ours)).unwrap();
        assert_eq!(back.method(), original.method());
        assert_eq!(back.uri(), original.uri());
        assert_eq!(back.version(), http::Version::HTTP_11);
        assert_eq!(back.headers(), original.headers());
        assert_eq!(back.body(), original.body());
    }

    #[test]
    fn http_request_authority_becomes_the_host() {
        let req = http::Request::get("https://api.example:8443/a")
            .body(Bytes::new())
            .unwrap();
        let ours = request_from_http(req).unwrap();
        assert_eq!(ours.header("host"), Some(&b"api.example:8443"[..]));
        assert_eq!(ours.target(), b"/a");
        let head = request_head_to_http(&ours).unwrap();
        assert_eq!(head.uri(), "/a");
        assert_eq!(head.headers()["host"], "api.example:8443");
    }

    async fn legacy(req: http::Request<Bytes>) -> http::Response<String> {
        let body = format!(
            "{} {} {}",
            req.method(),
            req.uri(),
            String::from_utf8_lossy(req.body())
        );
        http::Response::builder()
            .status(202)
            .header("x-seen", req.headers().len().to_string())
            .body(body)
            .unwrap()
    }

    #[test]
    fn handlers_take_http_requests_and_return_http_responses() {
        let client = App::new()
            .route(Route::post("/legacy", legacy).add_middleware(BodyLimit::new(8)))
            .test_client();
        let resp = client.post("/legacy?q=1").body("payload").send();
        assert_eq!(resp.status(), 202);
        assert_eq!(resp.text(), "POST /legacy?q=1 payload");
        // Host and Content-Length, as the test client sent them.
        assert_eq!(resp.header("x-seen"), Some("2"));
        assert_eq!(
            client.post("/legacy").body("too large!").send().status(),
            413
        );
    }
}
