//! State reaching handlers, dependencies and security checks: the app's typed state and its
//! parts (`FromRef`) as handler arguments (a handler asking for state the app lacks does not
//! compile: see the `compile_fail` example of `State`); a dependency (an extractor built from
//! other extractors and the state, FastAPI's `Depends`) and a check of a security scheme's
//! credentials against the state; and the server's drain signal as a handler argument ends a
//! long poll at shutdown, over real sockets on both backends.
#![cfg(feature = "openapi")]

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nanoapi::app::{
    APIRouter, App, FromRef, FromRequestParts, HttpException, IntoResponse, Next, OperationDoc,
    Path, Query, Rejection, RequestContext, RequestParts, Route, State,
};
use nanoapi::executor::future::first_of;
use nanoapi::executor::time::sleep;
use nanoapi::http::{Response, StatusCode};
use nanoapi::openapi::DocumentExt;
use nanoapi::openapi::security::SecurityExt;
use nanoapi::openapi::security::{CredentialsOf, Denied, HTTPBearer, Security, SecurityScheme};
use nanoapi::server::{Options, Request, ShutdownSignal};
use serde::Deserialize;

/// Users by token: the database of a real service.
#[derive(Clone, Default)]
struct Users(Arc<HashMap<String, String>>);

/// The app's state: the users, and a count of the writes.
#[derive(Clone)]
struct AppState {
    users: Users,
    writes: Arc<AtomicU64>,
}

impl FromRef<AppState> for Users {
    fn from_ref(state: &AppState) -> Users {
        state.users.clone()
    }
}

fn state() -> AppState {
    AppState {
        users: Users(Arc::new(HashMap::from([
            ("t-ada".to_owned(), "ada".to_owned()),
            ("t-bob".to_owned(), "bob".to_owned()),
        ]))),
        writes: Arc::default(),
    }
}

#[test]
fn handlers_take_the_state_or_its_parts() {
    async fn count(State(users): State<Users>) -> String {
        users.0.len().to_string()
    }
    async fn writes(State(state): State<AppState>) -> String {
        state.writes.load(Ordering::Relaxed).to_string()
    }
    let state = state();
    state.writes.store(7, Ordering::Relaxed);
    let client = App::new()
        .with_state(state)
        .get("/count", count)
        .get("/writes", writes)
        .test_client();
    assert_eq!(client.get("/count").send().text(), "2");
    assert_eq!(client.get("/writes").send().text(), "7");
}

#[test]
fn routers_and_the_routes_of_a_stateless_app_keep_working_in_a_stateful_one() {
    async fn count(State(users): State<Users>) -> String {
        users.0.len().to_string()
    }
    async fn health() -> &'static str {
        "ok"
    }
    // Routes added before the state (made for `()`), a router made for the state, and the
    // documentation's routes (an extension's, made for any app).
    let users = APIRouter::new().prefix("/users").get("/count", count);
    let client = App::new()
        .get("/health", health)
        .with_state(state())
        .include_router(users)
        .test_client();
    assert_eq!(client.get("/health").send().text(), "ok");
    assert_eq!(client.get("/users/count").send().text(), "2");
    let doc = client.service().openapi();
    assert!(doc["paths"]["/users/count"]["get"].is_object(), "{doc}");
    assert_eq!(client.get("/docs").send().status(), 200);
}

/// Middleware functions of a stateful app take the state typed: app-wide (before routing),
/// a router's and a route's (with the path parameters); stateless ones keep working anywhere.
#[test]
fn middleware_reads_the_state_typed() {
    async fn signed_in(req: &mut Request, next: Next<'_, AppState>) -> Response {
        let token = req
            .header("x-token")
            .and_then(|t| std::str::from_utf8(t).ok());
        if !token.is_some_and(|token| next.state().users.0.contains_key(token)) {
            return HttpException::new(StatusCode::UNAUTHORIZED, "Not authenticated")
                .into_response();
        }
        next.run(req).await
    }
    async fn count_writes(req: &mut Request, next: Next<'_, AppState>) -> Response {
        next.state().writes.fetch_add(1, Ordering::Relaxed);
        next.run(req).await
    }
    async fn owner(req: &mut Request, next: Next<'_, AppState>) -> Response {
        let cx = next.context();
        let name = cx.param("name").unwrap_or_default().to_owned();
        let known = cx.state().users.0.values().any(|user| *user == name);
        let mut resp = next.run(req).await;
        let _ = resp
            .headers_mut()
            .append("x-known", if known { "yes" } else { "no" });
        resp
    }
    async fn stamped(req: &mut Request, next: Next<'_>) -> Response {
        let mut resp = next.run(req).await;
        let _ = resp.headers_mut().append("x-stamped", "1");
        resp
    }
    async fn writes(State(state): State<AppState>) -> String {
        state.writes.load(Ordering::Relaxed).to_string()
    }
    async fn hello(Path(name): Path<String>) -> String {
        format!("hello {name}")
    }
    let router = APIRouter::new()
        .prefix("/w")
        .middleware_with_state(count_writes)
        .post("/write", writes);
    let client = App::new()
        .with_state(state())
        .middleware_with_state(signed_in)
        .middleware(stamped)
        .route(Route::get("/health", async || "ok").middleware(stamped))
        .include_router(router)
        .route(Route::get("/hello/{name}", hello).middleware_with_state(owner))
        .test_client();

    assert_eq!(client.get("/health").send().status(), 401);
    let health = client.get("/health").header("x-token", "t-ada").send();
    assert_eq!(
        (health.text(), health.header("x-stamped")),
        ("ok".to_owned(), Some("1"))
    );
    // Counted by the router's middleware before the handler reads the count.
    let first = client.post("/w/write").header("x-token", "t-bob").send();
    assert_eq!(first.text(), "1");
    assert_eq!(
        client
            .post("/w/write")
            .header("x-token", "t-bob")
            .send()
            .text(),
        "2"
    );
    let ada = client.get("/hello/ada").header("x-token", "t-ada").send();
    assert_eq!(
        (ada.text(), ada.header("x-known")),
        ("hello ada".to_owned(), Some("yes"))
    );
    let eve = client.get("/hello/eve").header("x-token", "t-ada").send();
    assert_eq!(eve.header("x-known"), Some("no"));
    // A 404 passes through the app's middleware too, which turns the stranger away first.
    assert_eq!(client.get("/nowhere").send().status(), 401);
    assert_eq!(
        client
            .get("/nowhere")
            .header("x-token", "t-ada")
            .send()
            .status(),
        404
    );
}

/// Typed middleware of a router nested in another router runs inside the outer one's, both
/// reading the same state; a stateless router's typed middleware (`()`) works in a stateful app.
#[test]
fn nested_routers_middleware_reads_the_state_in_order() {
    async fn outer(req: &mut Request, next: Next<'_, AppState>) -> Response {
        next.state().writes.fetch_add(1, Ordering::Relaxed);
        next.run(req).await
    }
    async fn inner(req: &mut Request, next: Next<'_, AppState>) -> Response {
        // The outer middleware has counted this request already.
        let seen = next.state().writes.load(Ordering::Relaxed).to_string();
        let mut resp = next.run(req).await;
        let _ = resp.headers_mut().append("x-seen", seen);
        resp
    }
    async fn unit(req: &mut Request, next: Next<'_, ()>) -> Response {
        let () = *next.state();
        next.run(req).await
    }
    async fn users(State(users): State<Users>) -> String {
        users.0.len().to_string()
    }
    let inner_router = APIRouter::new()
        .prefix("/in")
        .middleware_with_state(inner)
        .get("/users", users);
    let outer_router = APIRouter::new()
        .prefix("/out")
        .middleware_with_state(outer)
        .include_router(inner_router);
    let health = APIRouter::new()
        .middleware_with_state(unit)
        .get("/health", async || "ok");
    let client = App::new()
        .include_router(health)
        .with_state(state())
        .include_router(outer_router)
        .test_client();
    let first = client.get("/out/in/users").send();
    assert_eq!(
        (first.text(), first.header("x-seen")),
        ("2".to_owned(), Some("1"))
    );
    let second = client.get("/out/in/users").send();
    assert_eq!(second.header("x-seen"), Some("2"));
    assert_eq!(client.get("/health").send().text(), "ok");
}

/// The signed-in user: a dependency built from another extractor (`Query`) and the state, for
/// any app whose state holds the users.
struct CurrentUser(String);

#[derive(Deserialize, schemars::JsonSchema)]
struct TokenParam {
    token: String,
}

impl<S> FromRequestParts<S> for CurrentUser
where
    Users: FromRef<S>,
{
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        let Query(TokenParam { token }) = Query::from_request_parts(req, cx).await?;
        match Users::from_ref(cx.state()).0.get(&token) {
            Some(name) => Ok(CurrentUser(name.clone())),
            None => Err(HttpException::new(StatusCode::UNAUTHORIZED, "unknown token").into()),
        }
    }

    fn describe(doc: &mut OperationDoc) {
        <Query<TokenParam> as FromRequestParts<S>>::describe(doc);
    }
}

async fn me(CurrentUser(name): CurrentUser) -> String {
    name
}

/// A bearer token of the form the app issues (`t-...`); whose it is, the state says.
struct UserToken;

impl SecurityScheme for UserToken {
    type Scheme = HTTPBearer;
    const SCHEME: HTTPBearer = HTTPBearer::new();

    async fn check(token: &CredentialsOf<Self>) -> Result<(), Denied> {
        match token.credentials.starts_with("t-") {
            true => Ok(()),
            false => Err(Denied::Unauthenticated),
        }
    }
}

/// The holder of a `UserToken` the state knows.
struct Holder(String);

impl<S> FromRequestParts<S> for Holder
where
    Users: FromRef<S>,
{
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        let Security(token) = Security::<UserToken>::from_request_parts(req, cx).await?;
        match Users::from_ref(cx.state()).0.get(&token.credentials) {
            Some(name) => Ok(Holder(name.clone())),
            None => Err(
                HttpException::new(StatusCode::UNAUTHORIZED, "unknown token")
                    .header("WWW-Authenticate", "Bearer")
                    .into(),
            ),
        }
    }

    fn describe(doc: &mut OperationDoc) {
        <Security<UserToken> as FromRequestParts<S>>::describe(doc);
    }
}

async fn read_doc(Holder(name): Holder) -> String {
    format!("read by {name}")
}

/// Only ada may write.
async fn write_doc(Holder(name): Holder, State(state): State<AppState>) -> Response {
    if name != "ada" {
        return HttpException::new(StatusCode::FORBIDDEN, "Not enough permissions").into_response();
    }
    let n = state.writes.fetch_add(1, Ordering::Relaxed) + 1;
    format!("written ({n})").into_response()
}

/// `/me` behind the `CurrentUser` dependency, `/doc` behind the `Holder` dependency (and, for
/// POST, the scheme as a route guard too), the users in the state.
fn users_app() -> App<AppState> {
    App::new()
        .with_state(state())
        .get("/me", me)
        .get("/doc", read_doc)
        .route(Route::post("/doc", write_doc).security::<UserToken>())
}

#[test]
fn a_dependency_reads_other_extractors_and_the_state() {
    let client = users_app().test_client();
    assert_eq!(client.get("/me?token=t-ada").send().text(), "ada");
    let unknown = client.get("/me?token=nope").send();
    assert_eq!(unknown.status(), 401);
    assert_eq!(unknown.text(), r#"{"detail":"unknown token"}"#);
    // The dependency's own extractor validates as a handler argument would.
    assert_eq!(client.get("/me").send().status(), 422);
    // And documents its query parameter.
    let doc = client.service().openapi();
    assert_eq!(doc["paths"]["/me"]["get"]["parameters"][0]["name"], "token");
}

#[test]
fn a_security_dependency_checks_credentials_against_the_state() {
    let client = users_app().test_client();
    let bearer = |token: &str| format!("Bearer {token}");
    let get = |token: &str| {
        client
            .get("/doc")
            .header("authorization", &bearer(token))
            .send()
    };
    let post = |token: &str| {
        client
            .post("/doc")
            .header("authorization", &bearer(token))
            .send()
    };
    assert_eq!(get("t-bob").text(), "read by bob");
    // Known to the scheme's form, unknown to the state.
    let unknown = get("t-eve");
    assert_eq!(
        (unknown.status(), unknown.header("www-authenticate")),
        (401, Some("Bearer"))
    );
    // Refused by the scheme's own check before the state is asked.
    let malformed = get("eve");
    assert_eq!(
        malformed.text(),
        r#"{"detail":"Invalid authentication credentials"}"#
    );
    assert_eq!(post("t-ada").text(), "written (1)");
    assert_eq!(post("t-bob").status(), 403);
    assert_eq!(post("t-eve").status(), 401);
    // The route guard answers before the handler's extractors run.
    assert_eq!(client.post("/doc").send().status(), 401);
    let doc = client.service().openapi();
    assert_eq!(
        doc["paths"]["/doc"]["get"]["security"],
        serde_json::json!([{"HTTPBearer": []}])
    );
}

#[test]
fn dependencies_and_security_checks_read_the_state_over_sockets() {
    for backend in common::backends() {
        let server = users_app()
            .serve(Options::default().port(0).workers(1).backend(backend))
            .unwrap();
        let addr = server.handle().local_addr();
        let exchange = |request: &str| {
            let mut stream = common::connect(addr);
            stream.write_all(request.as_bytes()).unwrap();
            let mut got = String::new();
            stream.read_to_string(&mut got).unwrap();
            got
        };
        let cases = [
            ("GET /me?token=t-ada", "", "200 OK", "ada"),
            (
                "GET /me?token=nope",
                "",
                "401 Unauthorized",
                r#"{"detail":"unknown token"}"#,
            ),
            ("GET /doc", "Bearer t-bob", "200 OK", "read by bob"),
            ("POST /doc", "Bearer t-ada", "200 OK", "written (1)"),
            ("POST /doc", "Bearer t-bob", "403 Forbidden", ""),
            ("POST /doc", "Bearer t-eve", "401 Unauthorized", ""),
        ];
        for (line, authorization, status, body) in cases {
            let got = exchange(&format!(
                "{line} HTTP/1.1\r\nHost: t\r\nAuthorization: {authorization}\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            ));
            assert!(
                got.starts_with(&format!("HTTP/1.1 {status}\r\n")),
                "{backend:?} {line} {authorization}: {got}"
            );
            assert!(got.ends_with(body), "{backend:?} {line}: {got}");
        }
        server.shutdown_blocking();
    }
}

/// Tells the test that a request reached its handler.
#[derive(Clone)]
struct Started(std::sync::mpsc::Sender<()>);

/// A long poll: news after 60 s, or a "come back" as soon as the server drains.
async fn news(draining: ShutdownSignal, State(started): State<Started>) -> &'static str {
    let _ = started.0.send(());
    let wait = pin!(sleep(Duration::from_secs(60)));
    match first_of(wait, pin!(draining.raised())).await {
        Some(()) => "news",
        None => "draining: come back",
    }
}

#[test]
fn the_drain_signal_ends_a_long_poll_at_shutdown() {
    for backend in common::backends() {
        let (started, handler_started) = std::sync::mpsc::channel();
        let server = App::new()
            .with_state(Started(started))
            .get("/news", news)
            .serve(Options::default().port(0).workers(1).backend(backend))
            .unwrap();
        let mut stream = common::connect(server.handle().local_addr());
        stream
            .write_all(b"GET /news HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        handler_started
            .recv_timeout(Duration::from_secs(10))
            .unwrap();
        let began = std::time::Instant::now();
        // Read (and close) while the server drains, so that its lingering close ends at once.
        let reader = std::thread::spawn(move || {
            let mut got = String::new();
            stream.read_to_string(&mut got).map(|_| got)
        });
        server.shutdown_blocking();
        let got = reader.join().unwrap().unwrap();
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{backend:?}: {got}");
        assert!(got.ends_with("draining: come back"), "{backend:?}: {got}");
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "{:?}",
            began.elapsed()
        );
    }
}
